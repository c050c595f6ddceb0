//! Joins of two inputs: the window join, the regular (unwindowed) join of two changelog
//! streams, and the interval join over event time.

mod interval_join;
mod stream_join;
mod window_join;

pub use interval_join::IntervalJoinOperator;
pub use stream_join::StreamJoinOperator;
pub use window_join::WindowJoinOperator;
