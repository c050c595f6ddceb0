//! Flink's `StateBackendOptions`.

use super::{ConfigOption, ValueKind};

/// Which keyed state backend stateful operators use.
pub const BACKEND_TYPE: ConfigOption = ConfigOption {
    key: "state.backend.type",
    default: "hashmap",
    kind: ValueKind::Enum(&["hashmap"]),
    description: "Keyed state backend of stateful operators: hashmap (on the heap). RocksDB is not available yet.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[BACKEND_TYPE];
