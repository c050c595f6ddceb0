//! Flink's `TaskManagerOptions`.

use super::{ConfigOption, ValueKind};

/// Slots a TaskManager offers; each runs one subtask of each job vertex.
pub const NUM_TASK_SLOTS: ConfigOption = ConfigOption {
    key: "taskmanager.numberOfTaskSlots",
    default: "4",
    kind: ValueKind::Int,
    description: "Number of task slots a TaskManager offers.",
};

/// Capacity of a channel between two subtasks, in batches: the back-pressure bound.
pub const CHANNEL_CAPACITY: ConfigOption = ConfigOption {
    key: "taskmanager.network.channel-capacity",
    default: "8",
    kind: ValueKind::Int,
    description: "Batches buffered per channel between subtasks before the sender blocks.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[NUM_TASK_SLOTS, CHANNEL_CAPACITY];
