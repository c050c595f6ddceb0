//! Joins of two inputs. Only the window join exists yet: joins without windows need
//! changelog streams.

mod window_join;

pub use window_join::WindowJoinOperator;
