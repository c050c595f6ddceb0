//! Flink's `ExecutionConfigOptions` for the table layer.

use super::{ConfigOption, ValueKind};

/// After how long without data a source split stops holding back the watermark.
pub const SOURCE_IDLE_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.source.idle-timeout",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "A source split without data for this long is marked idle; 0 disables it.",
};

/// Whether INSERT statements wait for their job to finish before returning.
pub const DML_SYNC: ConfigOption = ConfigOption {
    key: "table.dml-sync",
    default: "false",
    kind: ValueKind::Bool,
    description: "When true, INSERT returns only after its job has ended.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[SOURCE_IDLE_TIMEOUT, DML_SYNC];
