//! Flink's `ExecutionConfigOptions` for the table layer.

use super::{ConfigOption, ValueKind};

/// After how long without data a source split stops holding back the watermark.
pub const SOURCE_IDLE_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.source.idle-timeout",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "A source split without data for this long is marked idle; 0 disables it.",
};

/// Flink's `table.local-time-zone`, which is PostgreSQL's `TimeZone` of the session.
pub const LOCAL_TIME_ZONE: ConfigOption = ConfigOption {
    key: "table.local-time-zone",
    default: "default",
    kind: ValueKind::String,
    description: "The session's time zone (an IANA name such as Asia/Shanghai, or GMT+08:00): TIMESTAMP_LTZ values are shown in it and a TIMESTAMP cast to TIMESTAMP_LTZ is read in it. The same setting as PostgreSQL's TimeZone (SET TIME ZONE). default is the server's zone, UTC.",
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

/// Groups a group aggregation keeps decoded in memory in front of its keyed state.
pub const GROUP_AGG_CACHE_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.group-agg.cache-size",
    default: "100000",
    kind: ValueKind::Int {
        min: 0,
        max: 100000000,
    },
    description: "Eddy: groups a group aggregation keeps decoded in memory per subtask, in front of its keyed state (Flink reads and writes its state backend per row instead). A count of groups, not bytes: a group with a COUNT(DISTINCT) holds its distinct values. Changed groups are written to keyed state when a checkpoint is taken; a full cache drops the groups touched longest ago, writing those changed, until it is half full. 0, or a table.exec.state.ttl, writes every batch's groups through. Cached: aggregations over an updating input, and over an insert-only one those with a COUNT(DISTINCT) made only of COUNT, COUNT(DISTINCT), SUM, AVG, MIN, MAX and the variances (the others run DataFusion's grouped accumulators, vectorized over groups).",
};

/// Idle state retention of group aggregations, regular joins and Top-N.
pub const STATE_TTL: ConfigOption = ConfigOption {
    key: "table.exec.state.ttl",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "State of a group aggregation, regular join, Top-N or deduplication that has not been written for this long (processing time) is dropped, as in Flink: a group or a row seen again starts afresh. 0 keeps state forever. Window operators and interval joins clean their state by watermark and ignore it. With a TTL, checkpoints of these operators are full, not incremental.",
};

/// Flink's mini-batch: buffer input rows and process them together.
pub const MINI_BATCH_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.mini-batch.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Group aggregations and Top-N buffer their input until 'table.exec.mini-batch.allow-latency' has passed since the first buffered row or 'table.exec.mini-batch.size' rows are buffered, then process it at once: one state access and one change per key for the whole mini-batch. Watermarks, checkpoints and the end of input flush the buffer first. A group aggregation over an insert-only input then also runs in two phases (see 'table.optimizer.agg-phase-strategy'), and inner and outer joins gather both inputs into one mini-batch and fold each side's changes before joining them.",
};

/// The longest a row waits in a mini-batch.
pub const MINI_BATCH_ALLOW_LATENCY: ConfigOption = ConfigOption {
    key: "table.exec.mini-batch.allow-latency",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "With mini-batches, how long the first buffered row may wait; must be more than 0 when they are enabled.",
};

/// The most rows a mini-batch holds.
pub const MINI_BATCH_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.mini-batch.size",
    default: "-1",
    kind: ValueKind::Int {
        min: -1,
        max: 2147483647,
    },
    description:
        "With mini-batches, the most rows one holds; must be more than 0 when they are enabled.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    LOCAL_TIME_ZONE,
    SOURCE_IDLE_TIMEOUT,
    DML_SYNC,
    WINDOW_AGG_BUFFER_SIZE_LIMIT,
    WINDOW_BUFFER_MEMORY_LIMIT,
    GROUP_AGG_CACHE_SIZE,
    STATE_TTL,
    MINI_BATCH_ENABLED,
    MINI_BATCH_ALLOW_LATENCY,
    MINI_BATCH_SIZE,
];
