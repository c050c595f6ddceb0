//! A batch's rows grouped by window in one pass: windowed operators update or store each
//! window's rows together, and a batch usually spans one window or a few.

use std::ops::Range;

use datafusion::arrow::array::UInt32Array;

/// The rows of a batch to keep, in runs of one window each.
pub struct WindowRuns<W> {
    /// The kept rows, grouped by window; `None` when every row is kept in place.
    pub order: Option<UInt32Array>,
    /// Each window with its rows' range in `order`, in window order.
    pub runs: Vec<(W, Range<usize>)>,
    /// Rows whose window is late.
    pub late: u64,
}

/// Groups the `rows` rows of a batch by `window` (`None`: a row without a window, left
/// out), leaving out those whose window is `late`. When every kept row shares one window
/// (the usual case) no order is computed; otherwise the kept rows are sorted by window
/// once, so each window's rows are one slice of a single `take`.
pub fn window_runs<W: Copy + Ord>(
    rows: usize,
    window: impl Fn(usize) -> Option<W>,
    late: impl Fn(W) -> bool,
) -> WindowRuns<W> {
    let mut kept: Vec<u32> = Vec::with_capacity(rows);
    let mut windows: Vec<W> = Vec::with_capacity(rows);
    let mut late_rows = 0u64;
    for row in 0..rows {
        match window(row) {
            None => {}
            Some(w) if late(w) => late_rows += 1,
            Some(w) => {
                kept.push(row as u32);
                windows.push(w);
            }
        }
    }
    let Some(&first) = windows.first() else {
        return WindowRuns {
            order: None,
            runs: Vec::new(),
            late: late_rows,
        };
    };
    if windows.iter().all(|&w| w == first) {
        let all = kept.len();
        return WindowRuns {
            order: (all != rows).then(|| UInt32Array::from(kept)),
            runs: vec![(first, 0..all)],
            late: late_rows,
        };
    }
    // A stable sort keeps each window's rows in arrival order.
    let mut by_window: Vec<u32> = (0..kept.len() as u32).collect();
    by_window.sort_by_key(|&i| windows[i as usize]);
    let mut runs: Vec<(W, Range<usize>)> = Vec::new();
    for (at, &i) in by_window.iter().enumerate() {
        let w = windows[i as usize];
        match runs.last_mut() {
            Some((last, range)) if *last == w => range.end = at + 1,
            _ => runs.push((w, at..at + 1)),
        }
    }
    let order: UInt32Array = by_window.iter().map(|&i| kept[i as usize]).collect();
    WindowRuns {
        order: Some(order),
        runs,
        late: late_rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_window_in_arrival_order_without_late_or_windowless_rows() {
        let windows = [Some(2), Some(1), None, Some(2), Some(0), Some(1)];
        let runs = window_runs(windows.len(), |r| windows[r], |w| w == 0);
        assert_eq!(runs.late, 1);
        assert_eq!(runs.order.unwrap().values().to_vec(), vec![1, 5, 0, 3]);
        assert_eq!(runs.runs, vec![(1, 0..2), (2, 2..4)]);
        // One window, every row: nothing to reorder.
        let one = window_runs(3, |_| Some(7), |_| false);
        assert!(one.order.is_none());
        assert_eq!(one.runs, vec![(7, 0..3)]);
        // One window, some rows left out: the rest, in place.
        let some = window_runs(3, |r| (r != 1).then_some(7), |_| false);
        assert_eq!(some.order.unwrap().values().to_vec(), vec![0, 2]);
        assert!(window_runs(2, |_| None::<i64>, |_| false).runs.is_empty());
    }
}
