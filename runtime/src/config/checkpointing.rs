//! Flink's `CheckpointingOptions` and the checkpoint half of `StateBackendOptions`.

use std::time::Duration;

use super::{ConfigOption, Configuration, ValueKind};

/// Checkpoints are on when this is set.
pub const INTERVAL: ConfigOption = ConfigOption {
    key: "execution.checkpointing.interval",
    default: "",
    kind: ValueKind::OptionalDuration,
    description: "Time between the starts of two checkpoints; checkpointing is off when unset.",
};

/// Aligned or unaligned barriers.
pub const MODE: ConfigOption = ConfigOption {
    key: "execution.checkpointing.mode",
    default: "EXACTLY_ONCE",
    kind: ValueKind::Enum(&["EXACTLY_ONCE", "AT_LEAST_ONCE"]),
    description: "EXACTLY_ONCE aligns barriers at subtasks with several inputs; AT_LEAST_ONCE does not, so rows may be replayed after a restore.",
};

/// A checkpoint not completed by then is aborted.
pub const TIMEOUT: ConfigOption = ConfigOption {
    key: "execution.checkpointing.timeout",
    default: "10 min",
    kind: ValueKind::Duration,
    description: "A checkpoint that has not completed after this long is aborted.",
};

/// How many checkpoints may be in flight at once.
pub const MAX_CONCURRENT: ConfigOption = ConfigOption {
    key: "execution.checkpointing.max-concurrent-checkpoints",
    default: "1",
    kind: ValueKind::Int { min: 1, max: 64 },
    description: "Checkpoints that may be in progress at the same time.",
};

/// Least time between the end of one checkpoint and the start of the next.
pub const MIN_PAUSE: ConfigOption = ConfigOption {
    key: "execution.checkpointing.min-pause",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "Least time between the end of one checkpoint and the start of the next.",
};

/// Failed checkpoints in a row before the job fails.
pub const TOLERABLE_FAILED: ConfigOption = ConfigOption {
    key: "execution.checkpointing.tolerable-failed-checkpoints",
    default: "0",
    kind: ValueKind::Int {
        min: 0,
        max: i32::MAX as i64,
    },
    description: "Checkpoint failures in a row (timeouts, declines, storage errors) tolerated before the job fails and restarts.",
};

/// Whether RocksDB checkpoints upload only new files.
pub const INCREMENTAL: ConfigOption = ConfigOption {
    key: "execution.checkpointing.incremental",
    default: "false",
    kind: ValueKind::Bool,
    description: "With the rocksdb backend, checkpoints upload only the SST files that no completed checkpoint holds yet and reference the others; shared files are deleted once no retained checkpoint needs them. Savepoints and the hashmap backend write full snapshots.",
};

/// Where checkpoints are written.
pub const CHECKPOINTS_DIR: ConfigOption = ConfigOption {
    key: "state.checkpoints.dir",
    default: "",
    kind: ValueKind::String,
    description: "Directory or URL (file://, s3://) for checkpoints; default: checkpoints/ under the JobManager's data directory. All processes of a cluster must reach it.",
};

/// Completed checkpoints kept.
pub const NUM_RETAINED: ConfigOption = ConfigOption {
    key: "state.checkpoints.num-retained",
    default: "1",
    kind: ValueKind::Int { min: 1, max: 1000 },
    description: "Completed checkpoints kept; older ones are deleted.",
};

/// Where savepoints are written by default.
pub const SAVEPOINTS_DIR: ConfigOption = ConfigOption {
    key: "state.savepoints.dir",
    default: "",
    kind: ValueKind::String,
    description: "Default directory or URL for savepoints; default: savepoints/ under the JobManager's data directory.",
};

/// Restore a job from this savepoint or retained checkpoint.
pub const SAVEPOINT_PATH: ConfigOption = ConfigOption {
    key: "execution.savepoint.path",
    default: "",
    kind: ValueKind::String,
    description: "Savepoint, checkpoint, or a job's checkpoint directory (its latest complete checkpoint) that jobs submitted while this is set restore their state from; RESET it afterwards, as in Flink.",
};

/// Whether state that matches no operator may be dropped on restore.
pub const IGNORE_UNCLAIMED_STATE: ConfigOption = ConfigOption {
    key: "execution.savepoint.ignore-unclaimed-state",
    default: "false",
    kind: ValueKind::Bool,
    description:
        "Restore even when the savepoint holds state of an operator the job no longer has.",
};

/// The checkpoint interval, when checkpoints are on.
pub fn interval(config: &Configuration) -> Option<Duration> {
    config
        .get_optional_duration(&INTERVAL)
        .filter(|d| !d.is_zero())
}

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    INTERVAL,
    MODE,
    TIMEOUT,
    MAX_CONCURRENT,
    MIN_PAUSE,
    TOLERABLE_FAILED,
    INCREMENTAL,
    CHECKPOINTS_DIR,
    NUM_RETAINED,
    SAVEPOINTS_DIR,
    SAVEPOINT_PATH,
    IGNORE_UNCLAIMED_STATE,
];
