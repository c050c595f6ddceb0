//! Flink's `CoreOptions`.

use super::{ConfigOption, ValueKind};

/// Parallelism of operators that do not set their own.
pub const DEFAULT_PARALLELISM: ConfigOption = ConfigOption {
    key: "parallelism.default",
    default: "1",
    kind: ValueKind::Int { min: 1, max: 32768 },
    description: "Default parallelism of a job's operators.",
};

/// Log level for the `eddy` process when `RUST_LOG` is not set.
pub const LOG_LEVEL: ConfigOption = ConfigOption {
    key: "log.level",
    default: "info",
    kind: ValueKind::Enum(&["trace", "debug", "info", "warn", "error"]),
    description: "Log level written to stderr when RUST_LOG is not set.",
};

/// Whether the gateway offers the fault-injection functions (`eddy_test_panic`).
pub const TESTING_FUNCTIONS: ConfigOption = ConfigOption {
    key: "debug.testing-functions",
    default: "false",
    kind: ValueKind::Bool,
    description: "Offers eddy_test_panic(text), which panics wherever it runs, to test failure handling; set it when the process starts, never in production.",
};

/// Paces every source subtask of a job, so that tests can stop a job part way through a
/// small bounded input.
pub const SOURCE_ROWS_PER_SECOND: ConfigOption = ConfigOption {
    key: "debug.source.rows-per-second",
    default: "0",
    kind: ValueKind::Float,
    description: "Reads at most this many rows per second in each source subtask, the first one interval after the start (0: as fast as possible); for tests that stop a job part way through a small input, not for production.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    DEFAULT_PARALLELISM,
    LOG_LEVEL,
    TESTING_FUNCTIONS,
    SOURCE_ROWS_PER_SECOND,
];
