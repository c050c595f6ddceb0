//! Subtasks: one [`StreamTask`] runs one [`OperatorChain`] on its own thread, fed either
//! by a source reader or by its input channels, whose watermarks the
//! [`StatusWatermarkValve`] merges.

mod operator_chain;
mod status_watermark_valve;
mod stream_task;

pub use operator_chain::OperatorChain;
pub use status_watermark_valve::StatusWatermarkValve;
pub use stream_task::{CancelFlag, SourceTiming, StreamTask, TaskInput};
