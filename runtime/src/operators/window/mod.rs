//! Windowed operators: the window table function (TUMBLE, HOP, CUMULATE, SESSION) and
//! window aggregation, plus the window arithmetic they and the window join share, as
//! Flink's `TimeWindow` computes it.

mod runs;
mod session;
mod slices;
mod window_aggregate;
mod window_table_function;

pub(crate) use runs::window_runs;
pub use window_aggregate::WindowAggregateOperator;
pub use window_table_function::WindowTvfOperator;

use crate::jobgraph::WindowKind;

/// Start of the window of `size` (shifted by `offset`) holding `ts`.
pub fn window_start(ts: i64, offset: i64, size: i64) -> i64 {
    ts - (ts - offset).rem_euclid(size)
}

/// Calls `emit(start, end)` for each window holding `ts`, in ascending order.
pub fn assign(kind: &WindowKind, ts: i64, mut emit: impl FnMut(i64, i64)) {
    match *kind {
        WindowKind::Tumble { size, offset } => {
            let start = window_start(ts, offset, size);
            emit(start, start + size);
        }
        WindowKind::Hop {
            slide,
            size,
            offset,
        } => {
            let last = window_start(ts, offset, slide);
            let mut start = last;
            while start - slide > ts - size {
                start -= slide;
            }
            while start <= last {
                emit(start, start + size);
                start += slide;
            }
        }
        WindowKind::Session { gap } => emit(ts, ts.saturating_add(gap)),
        WindowKind::Cumulate { step, size, offset } => {
            let start = window_start(ts, offset, size);
            let mut end = start + step;
            while end <= start + size {
                if end > ts {
                    emit(start, end);
                }
                end += step;
            }
        }
    }
}

/// The slice holding `ts` when windows of `kind` are kept as slices shared between
/// windows (Flink's `SliceAssigner`s): a HOP window of `size` = k × `slide` is k slices of
/// `slide`, a CUMULATE window the slices of `step` from its cycle's start. `None` for
/// kinds that do not slice (TUMBLE: a slice would be its window; SESSION; a HOP whose size
/// is not a multiple of its slide).
pub fn slice_of(kind: &WindowKind, ts: i64) -> Option<(i64, i64)> {
    match *kind {
        WindowKind::Hop {
            slide,
            size,
            offset,
        } if size % slide == 0 => {
            let start = window_start(ts, offset, slide);
            Some((start, start + slide))
        }
        WindowKind::Cumulate { step, size, offset } => {
            let cycle = window_start(ts, offset, size);
            let start = cycle + (ts - cycle) / step * step;
            Some((start, start + step))
        }
        _ => None,
    }
}

/// Whether windows of `kind` are kept as slices (see [`slice_of`]).
pub fn slices(kind: &WindowKind) -> bool {
    slice_of(kind, 0).is_some()
}

/// The end of the last window that holds the slice starting at `slice_start`: the slice's
/// state is needed until that window fires.
pub fn last_window_end(kind: &WindowKind, slice_start: i64) -> i64 {
    match *kind {
        // The last HOP window holding a slice is the one starting with it.
        WindowKind::Hop { size, .. } => slice_start + size,
        WindowKind::Cumulate { size, offset, .. } => window_start(slice_start, offset, size) + size,
        _ => {
            let mut last = i64::MIN;
            assign(kind, slice_start, |_, end| last = last.max(end));
            last
        }
    }
}

/// Whether a window has fired: its last instant (`end - 1`) is at or below the watermark.
pub fn is_fired(end: i64, watermark: i64) -> bool {
    end.saturating_sub(1) <= watermark
}

/// When a windowed operator's windows close: on watermarks for event-time windows, on the
/// clock for processing-time ones, and all of them when input ends.
#[derive(Debug, Clone, Copy)]
pub struct WindowClock {
    proctime: bool,
    watermark: crate::time::Watermark,
}

impl WindowClock {
    /// A clock for event-time windows, or processing-time ones when `proctime`.
    pub fn new(proctime: bool) -> Self {
        Self {
            proctime,
            watermark: crate::time::Watermark::MIN,
        }
    }

    /// Records a watermark; the time up to which windows close, if they close on it.
    pub fn on_watermark(&mut self, watermark: crate::time::Watermark) -> Option<i64> {
        self.watermark = self.watermark.max(watermark);
        (!self.proctime).then_some(watermark.0)
    }

    /// The time up to which windows close as the clock reads `now`, if they close on it.
    pub fn on_processing_time(&self, now: i64) -> Option<i64> {
        self.proctime.then_some(now)
    }

    /// The highest watermark seen.
    pub fn watermark(&self) -> i64 {
        self.watermark.0
    }

    /// The highest watermark seen, for a checkpoint: restored, it keeps late rows late.
    pub fn snapshot(&self) -> Vec<u8> {
        // The final watermark of a drained stop or of the end of input closes every window
        // but says nothing about the data: a job resumed from such a snapshot must not
        // count all its rows late.
        if self.watermark == crate::time::Watermark::MAX {
            return Vec::new();
        }
        self.watermark.0.to_be_bytes().to_vec()
    }

    /// Restores from the snapshots of every old subtask (any of them may have fed this
    /// subtask's key groups): the lowest watermark is one every one of them had passed.
    pub fn restore(&mut self, snapshots: &[Vec<u8>]) -> crate::error::Result<()> {
        let mut lowest: Option<i64> = None;
        for s in snapshots.iter().filter(|s| !s.is_empty()) {
            let bytes: [u8; 8] = s.as_slice().try_into().map_err(|_| {
                crate::RuntimeError::Internal("window clock state is not 8 bytes".into())
            })?;
            let w = i64::from_be_bytes(bytes);
            lowest = Some(lowest.map_or(w, |l| l.min(w)));
        }
        if let Some(w) = lowest {
            self.watermark = self.watermark.max(crate::time::Watermark(w));
        }
        Ok(())
    }

    /// Whether a row for the window ending at `end` comes too late (event time only).
    pub fn is_late(&self, end: i64) -> bool {
        !self.proctime && is_fired(end, self.watermark.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(kind: WindowKind, ts: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        assign(&kind, ts, |s, e| out.push((s, e)));
        out
    }

    #[test]
    fn tumble_hop_cumulate_match_flink() {
        let t = WindowKind::Tumble {
            size: 10,
            offset: 0,
        };
        assert_eq!(windows(t, 0), vec![(0, 10)]);
        assert_eq!(windows(t, 19), vec![(10, 20)]);
        assert_eq!(windows(t, -1), vec![(-10, 0)]);
        let t = WindowKind::Tumble {
            size: 10,
            offset: 3,
        };
        assert_eq!(windows(t, 2), vec![(-7, 3)]);
        assert_eq!(windows(t, 3), vec![(3, 13)]);
        let h = WindowKind::Hop {
            slide: 5,
            size: 15,
            offset: 0,
        };
        assert_eq!(windows(h, 12), vec![(0, 15), (5, 20), (10, 25)]);
        assert_eq!(windows(h, 15), vec![(5, 20), (10, 25), (15, 30)]);
        let c = WindowKind::Cumulate {
            step: 2,
            size: 6,
            offset: 0,
        };
        assert_eq!(windows(c, 0), vec![(0, 2), (0, 4), (0, 6)]);
        assert_eq!(windows(c, 3), vec![(0, 4), (0, 6)]);
        assert_eq!(windows(c, 7), vec![(6, 8), (6, 10), (6, 12)]);
        let h = WindowKind::Hop {
            slide: 5,
            size: 15,
            offset: 0,
        };
        assert_eq!(slice_of(&h, 12), Some((10, 15)));
        assert_eq!(slice_of(&h, -1), Some((-5, 0)));
        assert_eq!(last_window_end(&h, 10), 25);
        let c = WindowKind::Cumulate {
            step: 2,
            size: 6,
            offset: 0,
        };
        assert_eq!(slice_of(&c, 3), Some((2, 4)));
        assert_eq!(slice_of(&c, 7), Some((6, 8)));
        assert_eq!(slice_of(&c, -1), Some((-2, 0)));
        assert_eq!(last_window_end(&c, 2), 6);
        let uneven = WindowKind::Hop {
            slide: 4,
            size: 10,
            offset: 0,
        };
        assert!(!slices(&uneven));
        assert!(!slices(&WindowKind::Tumble { size: 5, offset: 0 }));
        assert!(is_fired(10, 9));
        assert!(!is_fired(10, 8));
    }
}
