//! Flink's `PipelineOptions`.

use super::{ConfigOption, ValueKind};

/// Number of key groups: the upper bound of a keyed operator's parallelism.
pub const MAX_PARALLELISM: ConfigOption = ConfigOption {
    key: "pipeline.max-parallelism",
    default: "128",
    kind: ValueKind::Int { min: 1, max: 32768 },
    description: "Number of key groups keyed state is split into; bounds rescaling.",
};

/// Interval of periodic watermark emission.
pub const AUTO_WATERMARK_INTERVAL: ConfigOption = ConfigOption {
    key: "pipeline.auto-watermark-interval",
    default: "200 ms",
    kind: ValueKind::Duration,
    description: "Interval at which sources emit watermarks; 0 emits one after every batch.",
};

/// Name of the job a statement submits.
pub const NAME: ConfigOption = ConfigOption {
    key: "pipeline.name",
    default: "",
    kind: ValueKind::String,
    description: "Name of the next submitted job; the statement text when empty.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[MAX_PARALLELISM, AUTO_WATERMARK_INTERVAL, NAME];
