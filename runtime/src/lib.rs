//! Eddy's streaming runtime: the stream, its operators, subtasks and the `JobGraph`.
//!
//! Reading order follows the data: a [`StreamElement`] flows through
//! [`operators::StreamOperator`]s chained into an [`task::OperatorChain`], driven by one
//! [`task::StreamTask`] per subtask, which exchanges elements with other subtasks through
//! [`exchange`] channels; an updating stream's batches carry their row kinds in a
//! [`changelog`] column. [`checkpoint`] holds what a task needs to take part in
//! checkpoints, and [`state`] the keyed state operators snapshot. What a job is made of is described by a serializable
//! [`jobgraph::JobGraph`]; the connectors crate plugs sources and sinks in through the
//! traits in [`connector`].

pub mod changelog;
pub mod checkpoint;
pub mod config;
pub mod connector;
pub mod error;
pub mod exchange;
pub mod expr_codec;
pub mod fault_injection;
pub mod functions;
pub mod jobgraph;
pub mod limits;
pub mod metrics;
pub mod operators;
pub mod state;
pub mod stream_element;
pub mod task;
pub mod time;

pub use error::{Result, RuntimeError};
pub use stream_element::{RowKind, StreamElement};
pub use time::{TimeAttribute, Watermark, WatermarkStatus};
