//! Flink's `JobManagerOptions` for the store of finished jobs.

use super::{ConfigOption, ValueKind};

/// How long a finished, failed or cancelled job stays listed.
pub const EXPIRATION_TIME: ConfigOption = ConfigOption {
    key: "jobstore.expiration-time",
    default: "3600",
    kind: ValueKind::Int {
        min: 0,
        max: 315360000,
    },
    description: "Seconds a finished, failed or cancelled job stays in SHOW JOBS and the REST API.",
};

/// How many ended jobs are kept at most; the oldest go first.
pub const MAX_CAPACITY: ConfigOption = ConfigOption {
    key: "jobstore.max-capacity",
    default: "1000",
    kind: ValueKind::Int { min: 0, max: 1000000 },
    description: "Most ended jobs kept; past it the oldest are forgotten (Flink's default is unbounded, Eddy bounds it so a long-lived server does not grow).",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[EXPIRATION_TIME, MAX_CAPACITY];
