//! HOP and CUMULATE windows kept as slices, as Flink's `SliceSharedAssigner`s keep them: a
//! row is aggregated once, into the one slice holding it, and a window, when it fires,
//! merges the states of the slices it spans. A slice stays until the last window holding
//! it has fired.
//!
//! Rows of a slice that arrive after some of its windows fired (late for those, in time
//! for later ones) form a separate closed slice that remembers which windows were emitted
//! without it; so does a slice restored from another subtask's snapshot, whose windows up
//! to that subtask's progress were emitted there.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, TimestampMillisecondArray};
use datafusion::arrow::compute::cast;
use datafusion::logical_expr::EmitTo;

use super::{assign, is_fired, last_window_end};
use crate::error::Result;
use crate::jobgraph::WindowKind;
use crate::operators::aggregation::{Aggregation, Groups};

/// A slice (end, start) with the time through which windows were emitted without its rows:
/// how slices are addressed in keyed state.
pub(super) type Slot = (i64, i64, i64);

/// Where the window bounds sit among the group keys.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub start: usize,
    pub end: usize,
    pub time: Option<usize>,
}

/// A slice whose rows are all in: its groups as arrays, read by every window holding it.
struct ClosedSlice {
    start: i64,
    end: i64,
    /// Group keys, with the slice's bounds in the window columns.
    keys: Vec<ArrayRef>,
    /// Each aggregate's state columns, one row per group.
    states: Vec<Vec<ArrayRef>>,
    /// Windows ending at or below this time were emitted without this slice's rows.
    emitted_through: i64,
}

/// The closed slices of a window aggregation and how far its windows have fired.
pub(super) struct SlicedWindows {
    pub kind: WindowKind,
    closed: Vec<ClosedSlice>,
    /// The time windows were last fired through: rows arriving now are late for every
    /// window ending at or below it.
    pub fired_through: i64,
    /// The earliest end of a window some closed slice still waits for: a watermark below
    /// it fires nothing, without looking at the slices.
    next_due: i64,
}

impl SlicedWindows {
    pub fn new(kind: WindowKind) -> Self {
        Self {
            kind,
            closed: Vec::new(),
            fired_through: i64::MIN,
            next_due: i64::MAX,
        }
    }

    /// The slot open slice `(end, start)` is kept under: its rows came after the windows
    /// fired so far.
    pub fn slot(&self, (end, start): (i64, i64)) -> Slot {
        (end, start, self.fired_through)
    }

    /// Closes a slice: its groups become arrays that the windows holding it merge.
    pub fn close(&mut self, (end, start, emitted_through): Slot, mut groups: Groups) -> Result<()> {
        if groups.groups.is_empty() {
            return Ok(());
        }
        let keys = groups.groups.emit(EmitTo::All)?;
        let states = groups
            .accumulators
            .iter_mut()
            .map(|a| Ok(a.state(EmitTo::All)?))
            .collect::<Result<Vec<_>>>()?;
        let first = self.next_window_end(start, emitted_through.max(self.fired_through));
        self.next_due = self.next_due.min(first);
        self.closed.push(ClosedSlice {
            start,
            end,
            keys,
            states,
            emitted_through,
        });
        Ok(())
    }

    /// Fires, in order of their ends, the windows ending at or below `time` that hold rows
    /// of a closed slice not yet emitted in them; `emit` gets each window's groups, keyed
    /// by the window's bounds. Slices no window needs any more are dropped.
    pub fn fire(
        &mut self,
        time: i64,
        aggregation: &Aggregation,
        bounds: Bounds,
        group_indices: &mut Vec<usize>,
        mut emit: impl FnMut(Groups) -> Result<()>,
    ) -> Result<()> {
        if !is_fired(self.next_due, time) {
            self.fired_through = self.fired_through.max(time);
            return Ok(());
        }
        let mut due = BTreeSet::new();
        for slice in &self.closed {
            assign(&self.kind, slice.start, |start, end| {
                if is_fired(end, time) && !is_fired(end, slice.emitted_through) {
                    due.insert((end, start));
                }
            });
        }
        for (end, start) in due {
            let mut window = aggregation.new_groups()?;
            let parts = self
                .closed
                .iter()
                .filter(|s| s.start >= start && s.end <= end && !is_fired(end, s.emitted_through));
            for slice in parts {
                let rows = slice.keys.first().map_or(0, |k| k.len());
                let mut keys = slice.keys.clone();
                keys[bounds.start] = constant(start, &keys[bounds.start], rows)?;
                keys[bounds.end] = constant(end, &keys[bounds.end], rows)?;
                if let Some(t) = bounds.time {
                    keys[t] = constant(end - 1, &keys[t], rows)?;
                }
                merge(&mut window, &keys, &slice.states, group_indices)?;
            }
            if !window.groups.is_empty() {
                emit(window)?;
            }
        }
        let kind = self.kind;
        for slice in &mut self.closed {
            slice.emitted_through = slice.emitted_through.max(time);
        }
        self.closed
            .retain(|s| !is_fired(last_window_end(&kind, s.start), s.emitted_through));
        self.fired_through = self.fired_through.max(time);
        self.next_due = self
            .closed
            .iter()
            .map(|s| self.next_window_end(s.start, s.emitted_through))
            .min()
            .unwrap_or(i64::MAX);
        Ok(())
    }

    /// The end of the first window holding the slice starting at `start` that has not
    /// fired through `done`; `i64::MAX` when every one has.
    fn next_window_end(&self, start: i64, done: i64) -> i64 {
        let mut next = i64::MAX;
        assign(&self.kind, start, |_, end| {
            if !is_fired(end, done) {
                next = next.min(end);
            }
        });
        next
    }

    /// Moves the closed slices into `slots` (for keyed state), merged per slot.
    pub fn drain_into(
        &mut self,
        slots: &mut BTreeMap<Slot, Groups>,
        aggregation: &Aggregation,
        group_indices: &mut Vec<usize>,
    ) -> Result<()> {
        self.next_due = i64::MAX;
        for slice in self.closed.drain(..) {
            let slot = (slice.end, slice.start, slice.emitted_through);
            let groups = match slots.entry(slot) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(aggregation.new_groups()?)
                }
            };
            merge(groups, &slice.keys, &slice.states, group_indices)?;
        }
        Ok(())
    }
}

/// Merges groups given as key and state arrays into `into`.
fn merge(
    into: &mut Groups,
    keys: &[ArrayRef],
    states: &[Vec<ArrayRef>],
    group_indices: &mut Vec<usize>,
) -> Result<()> {
    into.groups.intern(keys, group_indices)?;
    let total = into.groups.len();
    for (acc, states) in into.accumulators.iter_mut().zip(states) {
        acc.merge_batch(states, group_indices, total)?;
    }
    Ok(())
}

/// `rows` copies of the instant `millis`, typed as the window column `like`.
fn constant(millis: i64, like: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    let array: ArrayRef = Arc::new(TimestampMillisecondArray::from_value(millis, rows));
    Ok(match array.data_type() == like.data_type() {
        true => array,
        false => cast(&array, like.data_type())?,
    })
}
