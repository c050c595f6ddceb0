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

/// How many groups a window aggregation buffers in memory before it moves them into its
/// keyed state backend.
pub const WINDOW_AGG_BUFFER_SIZE_LIMIT: ConfigOption = ConfigOption {
    key: "table.exec.window-agg.buffer-size-limit",
    default: "100000",
    kind: ValueKind::Int {
        min: 1,
        max: 100000000,
    },
    description:
        "Groups a window aggregation buffers in memory before flushing them to keyed state.",
};

/// Bytes of rows a window join or a SESSION window aggregation may hold per subtask while
/// they wait for their window (`operators::BufferBudget`).
pub const WINDOW_BUFFER_MEMORY_LIMIT: ConfigOption = ConfigOption {
    key: crate::operators::BUFFER_MEMORY_LIMIT_KEY,
    default: "512 mb",
    kind: ValueKind::MemorySize,
    description: "With the hashmap state backend, bytes of rows a window join or a SESSION window aggregation holds per subtask while they wait for their window; past it the job fails with an error naming this key. The rocksdb backend spills them to disk instead.",
};

/// Idle state retention of group aggregations, regular joins and Top-N.
pub const STATE_TTL: ConfigOption = ConfigOption {
    key: "table.exec.state.ttl",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "State of a group aggregation, regular join, Top-N or deduplication that has not been written for this long (processing time) is dropped, as in Flink: a group or a row seen again starts afresh. 0 keeps state forever. Window operators and interval joins clean their state by watermark and ignore it. With a TTL, checkpoints of these operators are full, not incremental.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    SOURCE_IDLE_TIMEOUT,
    DML_SYNC,
    WINDOW_AGG_BUFFER_SIZE_LIMIT,
    WINDOW_BUFFER_MEMORY_LIMIT,
    STATE_TTL,
];
