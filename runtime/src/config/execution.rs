//! Flink's `ExecutionOptions`.

use super::{ConfigOption, ValueKind};

/// How long a partially filled batch may wait before it is sent downstream.
pub const BUFFER_TIMEOUT: ConfigOption = ConfigOption {
    key: "execution.buffer-timeout",
    default: "100 ms",
    kind: ValueKind::Duration,
    description: "Longest time a partially filled batch waits before it is flushed downstream.",
};

/// Rows per batch a source fills before sending it on.
pub const BATCH_SIZE: ConfigOption = ConfigOption {
    key: "execution.batch-size",
    default: "8192",
    kind: ValueKind::Int {
        min: 1,
        max: 1048576,
    },
    description: "Rows per Arrow batch a source fills before flushing it downstream.",
};

/// Flink's `execution.runtime-mode`. Eddy's default is Flink's `automatic`, not its
/// `streaming`: a PostgreSQL client asking a bounded table gets its rows as a database
/// answers, not a changelog.
pub const RUNTIME_MODE: ConfigOption = ConfigOption {
    key: "execution.runtime-mode",
    default: "automatic",
    kind: ValueKind::Enum(&["streaming", "batch", "automatic"]),
    description: "streaming: every SELECT over tables runs as a streaming job and answers its changelog, as Flink's SQL client shows it; batch: queries run as batch queries and a query of an unbounded table is refused; automatic: batch over bounded tables, streaming otherwise.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[BUFFER_TIMEOUT, BATCH_SIZE, RUNTIME_MODE];
