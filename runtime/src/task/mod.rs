//! Subtasks: one [`StreamTask`] runs one [`OperatorChain`] on its own thread, fed either
//! by a source reader or by its input channels, whose watermarks the
//! [`StatusWatermarkValve`] merges and whose checkpoint barriers the [`BarrierAligner`]
//! aligns.

mod barrier_aligner;
mod operator_chain;
mod status_watermark_valve;
mod stream_task;

pub use barrier_aligner::{Alignment, BarrierAligner};
pub use operator_chain::OperatorChain;
pub use status_watermark_valve::StatusWatermarkValve;
pub use stream_task::{CancelFlag, SourceTiming, StreamTask, TaskCheckpointing, TaskInput};
