//! Joins of two inputs: the window join, and the regular (unwindowed) join of two streams,
//! inner for now.

mod stream_join;
mod window_join;

pub use stream_join::StreamJoinOperator;
pub use window_join::WindowJoinOperator;
