//! Flink's `TaskManagerOptions`.

use super::{ConfigOption, ValueKind};

/// Slots a TaskManager offers; each runs one subtask of each job vertex.
pub const NUM_TASK_SLOTS: ConfigOption = ConfigOption {
    key: "taskmanager.numberOfTaskSlots",
    default: "4",
    kind: ValueKind::Int { min: 1, max: 1024 },
    description: "Number of task slots a TaskManager offers.",
};

/// Capacity of a channel between two subtasks, in batches: the back-pressure bound.
pub const CHANNEL_CAPACITY: ConfigOption = ConfigOption {
    key: "taskmanager.network.channel-capacity",
    default: "8",
    kind: ValueKind::Int { min: 1, max: 65536 },
    description: "Batches buffered per channel between subtasks before the sender blocks.",
};

/// How long a job waits for free slots before it fails (Flink's `slot.request.timeout`).
pub const SLOT_REQUEST_TIMEOUT: ConfigOption = ConfigOption {
    key: "slot.request.timeout",
    default: "5 min",
    kind: ValueKind::Duration,
    description: "How long a job waits for enough free slots before it fails.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[NUM_TASK_SLOTS, CHANNEL_CAPACITY, SLOT_REQUEST_TIMEOUT];
