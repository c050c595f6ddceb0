//! Flink's `RestartStrategyOptions`.

use super::{ConfigOption, ValueKind};

/// Which restart strategy a failed job follows.
pub const TYPE: ConfigOption = ConfigOption {
    key: "restart-strategy.type",
    default: "",
    kind: ValueKind::Enum(&[
        "",
        "none",
        "off",
        "disable",
        "fixed-delay",
        "fixeddelay",
        "failure-rate",
        "failurerate",
        "exponential-delay",
        "exponentialdelay",
    ]),
    description: "none, fixed-delay, failure-rate or exponential-delay. Unset: exponential-delay when checkpointing is on, none otherwise (as in Flink).",
};

pub const FIXED_DELAY_ATTEMPTS: ConfigOption = ConfigOption {
    key: "restart-strategy.fixed-delay.attempts",
    default: "1",
    kind: ValueKind::Int {
        min: 0,
        max: i32::MAX as i64,
    },
    description: "fixed-delay: restarts before the job fails for good.",
};

pub const FIXED_DELAY_DELAY: ConfigOption = ConfigOption {
    key: "restart-strategy.fixed-delay.delay",
    default: "1 s",
    kind: ValueKind::Duration,
    description: "fixed-delay: wait before each restart.",
};

pub const FAILURE_RATE_MAX_FAILURES: ConfigOption = ConfigOption {
    key: "restart-strategy.failure-rate.max-failures-per-interval",
    default: "1",
    kind: ValueKind::Int {
        min: 1,
        max: i32::MAX as i64,
    },
    description: "failure-rate: failures within one interval before the job fails for good.",
};

pub const FAILURE_RATE_INTERVAL: ConfigOption = ConfigOption {
    key: "restart-strategy.failure-rate.failure-rate-interval",
    default: "1 min",
    kind: ValueKind::Duration,
    description: "failure-rate: the interval failures are counted over.",
};

pub const FAILURE_RATE_DELAY: ConfigOption = ConfigOption {
    key: "restart-strategy.failure-rate.delay",
    default: "1 s",
    kind: ValueKind::Duration,
    description: "failure-rate: wait before each restart.",
};

pub const EXPONENTIAL_INITIAL_BACKOFF: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.initial-backoff",
    default: "1 s",
    kind: ValueKind::Duration,
    description: "exponential-delay: wait before the first restart.",
};

pub const EXPONENTIAL_MAX_BACKOFF: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.max-backoff",
    default: "1 min",
    kind: ValueKind::Duration,
    description: "exponential-delay: longest wait between restarts.",
};

pub const EXPONENTIAL_MULTIPLIER: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.backoff-multiplier",
    default: "1.5",
    kind: ValueKind::Float,
    description: "exponential-delay: factor the wait grows by after each failure.",
};

pub const EXPONENTIAL_RESET_THRESHOLD: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.reset-backoff-threshold",
    default: "1 h",
    kind: ValueKind::Duration,
    description: "exponential-delay: a job running this long without failure starts again from the initial backoff.",
};

pub const EXPONENTIAL_JITTER: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.jitter-factor",
    default: "0.1",
    kind: ValueKind::Float,
    description: "exponential-delay: random share added to or taken from each wait.",
};

pub const EXPONENTIAL_ATTEMPTS: ConfigOption = ConfigOption {
    key: "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    default: "2147483647",
    kind: ValueKind::Int {
        min: 0,
        max: i32::MAX as i64,
    },
    description: "exponential-delay: restarts before the job fails for good (counted since the last backoff reset).",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    TYPE,
    FIXED_DELAY_ATTEMPTS,
    FIXED_DELAY_DELAY,
    FAILURE_RATE_MAX_FAILURES,
    FAILURE_RATE_INTERVAL,
    FAILURE_RATE_DELAY,
    EXPONENTIAL_INITIAL_BACKOFF,
    EXPONENTIAL_MAX_BACKOFF,
    EXPONENTIAL_MULTIPLIER,
    EXPONENTIAL_RESET_THRESHOLD,
    EXPONENTIAL_JITTER,
    EXPONENTIAL_ATTEMPTS,
];
