//! Event-time values: timestamps and watermarks as epoch milliseconds, as in Flink.

use serde::{Deserialize, Serialize};

/// A watermark: "no more rows with an event time at or below this will arrive".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Watermark(pub i64);

impl Watermark {
    /// Before any row: nothing is known yet.
    pub const MIN: Watermark = Watermark(i64::MIN);
    /// End of input: every window may fire.
    pub const MAX: Watermark = Watermark(i64::MAX);
}

impl std::fmt::Display for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Watermark::MIN => write!(f, "-inf"),
            Watermark::MAX => write!(f, "+inf"),
            Watermark(ms) => write!(f, "{ms}"),
        }
    }
}
