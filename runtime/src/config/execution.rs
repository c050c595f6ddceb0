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

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[BUFFER_TIMEOUT, BATCH_SIZE];
