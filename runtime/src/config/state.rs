//! Flink's `StateBackendOptions`.

use super::{ConfigOption, ValueKind};

/// Which keyed state backend stateful operators use.
pub const BACKEND_TYPE: ConfigOption = ConfigOption {
    key: "state.backend.type",
    default: "hashmap",
    kind: ValueKind::Enum(&["hashmap", "rocksdb"]),
    description: "Keyed state backend of stateful operators: hashmap (on the heap; hot window state stays in vectorised tables) or rocksdb (one RocksDB instance per subtask on local disk; state may exceed memory).",
};

/// Where RocksDB instances live.
pub const ROCKSDB_LOCALDIR: ConfigOption = ConfigOption {
    key: "state.backend.rocksdb.localdir",
    default: "",
    kind: ValueKind::String,
    description: "Directory for the RocksDB instances of subtasks; default: eddy-rocksdb/ in the system temp directory. Each subtask's directory is removed when it ends.",
};

/// Whether RocksDB's memory is bounded by managed memory.
pub const ROCKSDB_MEMORY_MANAGED: ConfigOption = ConfigOption {
    key: "state.backend.rocksdb.memory.managed",
    default: "true",
    kind: ValueKind::Bool,
    description: "Bound the block cache and write buffers of all RocksDB instances of a TaskManager by taskmanager.memory.managed.size.",
};

/// Memory RocksDB may use per TaskManager.
pub const MANAGED_MEMORY_SIZE: ConfigOption = ConfigOption {
    key: "taskmanager.memory.managed.size",
    default: "128 mb",
    kind: ValueKind::MemorySize,
    description: "Memory the rocksdb state backend of one TaskManager process may use for its block cache and write buffers, shared by all its subtasks.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    BACKEND_TYPE,
    ROCKSDB_LOCALDIR,
    ROCKSDB_MEMORY_MANAGED,
    MANAGED_MEMORY_SIZE,
];
