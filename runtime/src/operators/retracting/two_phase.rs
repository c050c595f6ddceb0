//! The two phases of an aggregation over an updating input: what a local phase sends per
//! group and mini-batch (what its rows add and what they take out), and how the global
//! phase merges that into a group and takes it apart again.

use datafusion::arrow::array::{ArrayRef, BinaryArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;

use super::codec::{put_prefixed, split_prefixed};
use super::feed::{add_count, is_retraction, ValueCounts};
use super::{is_variance, GroupAccumulator, GroupState, RetractingAggregation};
use crate::changelog::ops;
use crate::error::{Result, RuntimeError};

impl RetractingAggregation {
    /// The local phase of a two-phase aggregation: the change the rows of `batch` (an
    /// updating stream's) make to each of `total` groups, one value per group: what they
    /// add and what they take out, each kept as a group state of its own (the retracted
    /// rows added to it), encoded as [`Self::encode`] does, length-prefixed one after the
    /// other. The global phase merges the first and subtracts the second
    /// ([`Self::merge_changes`]).
    pub fn local_changes(
        &self,
        batch: &RecordBatch,
        group_indices: &[usize],
        total: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let kinds = ops(batch)
            .ok_or_else(|| RuntimeError::Internal("an updating input without row kinds".into()))?;
        let mut added: Vec<Vec<u32>> = vec![Vec::new(); total];
        let mut retracted: Vec<Vec<u32>> = vec![Vec::new(); total];
        for (row, &g) in group_indices.iter().enumerate() {
            match is_retraction(kinds, row)? {
                false => added[g].push(row as u32),
                true => retracted[g].push(row as u32),
            }
        }
        let none = vec![Vec::new(); total];
        let fresh = vec![None; total];
        let mut halves = Vec::with_capacity(2);
        for rows in [&added, &retracted] {
            let mut states = self.restore(&fresh)?;
            for (state, rows) in states.iter_mut().zip(rows) {
                state.rows = rows.len() as i64;
            }
            self.feed(&mut states, batch, rows, &none)?;
            halves.push(self.encode(&mut states)?);
        }
        let (Some(taken), Some(added)) = (halves.pop(), halves.pop()) else {
            return Err(RuntimeError::Internal(
                "a local change without halves".into(),
            ));
        };
        Ok(added
            .into_iter()
            .zip(taken)
            .map(|(added, taken)| {
                let mut value = Vec::with_capacity(added.len() + taken.len() + 8);
                put_prefixed(&mut value, &added);
                put_prefixed(&mut value, &taken);
                value
            })
            .collect())
    }

    /// The global phase: merges local phases' changes (`changes`, one per row, the row's
    /// group in `group_indices`) into the groups' states. A group's rows and value counts
    /// take the difference; a sum and count take what was added, less what was taken out.
    pub fn merge_changes(
        &self,
        states: &mut [GroupState],
        changes: &BinaryArray,
        group_indices: &[usize],
    ) -> Result<()> {
        let damaged = || RuntimeError::Internal("a local aggregate's change is truncated".into());
        for (row, &g) in group_indices.iter().enumerate() {
            let (added, rest) = split_prefixed(changes.value(row)).ok_or_else(damaged)?;
            let (taken, _) = split_prefixed(rest).ok_or_else(damaged)?;
            let mut halves = self.restore(&[Some(added.to_vec()), Some(taken.to_vec())])?;
            let (Some(taken), Some(added)) = (halves.pop(), halves.pop()) else {
                return Err(damaged());
            };
            let state = &mut states[g];
            state.rows += added.rows - taken.rows;
            for (j, (plus, minus)) in added
                .accumulators
                .into_iter()
                .zip(taken.accumulators)
                .enumerate()
            {
                match (&mut state.accumulators[j], plus, minus) {
                    (
                        GroupAccumulator::Count(count),
                        GroupAccumulator::Count(plus),
                        GroupAccumulator::Count(minus),
                    ) => *count += plus - minus,
                    (
                        GroupAccumulator::Distinct(counts),
                        GroupAccumulator::Distinct(plus),
                        GroupAccumulator::Distinct(minus),
                    ) => add_counts(counts, plus, minus),
                    (
                        GroupAccumulator::Values(counts),
                        GroupAccumulator::Values(plus),
                        GroupAccumulator::Values(minus),
                    ) => add_counts(counts, plus, minus),
                    (
                        GroupAccumulator::Row(target),
                        GroupAccumulator::Row(mut plus),
                        GroupAccumulator::Row(mut minus),
                    ) => {
                        target.merge_batch(&state_arrays(plus.as_mut())?)?;
                        if taken.rows > 0 {
                            let aggregate = &self.aggregates[j];
                            subtract(target, minus.as_mut(), aggregate)?;
                        }
                    }
                    _ => {
                        return Err(RuntimeError::Internal(format!(
                            "{} has no local phase over updates",
                            self.aggregates[j].name()
                        )))
                    }
                }
            }
        }
        Ok(())
    }
}

/// An accumulator's state as one-row columns, as `merge_batch` takes it.
pub(super) fn state_arrays(accumulator: &mut dyn Accumulator) -> Result<Vec<ArrayRef>> {
    accumulator
        .state()?
        .into_iter()
        .map(|v| Ok(v.to_array()?))
        .collect()
}

/// Takes what `minus` holds out of `target`, for aggregates whose state is sums and
/// counts (`supports_local_retraction`): each state value less `minus`'s, merged into a
/// fresh accumulator. DataFusion's accumulators cannot retract from an empty state (their
/// counts are unsigned), so the local phase never retracts; the difference is taken here,
/// where the group holds the rows taken out. When it cannot be (more taken out than the
/// group held: its state expired, say) the group keeps what it has, as a retraction for
/// a group holding no rows is ignored.
pub(super) fn subtract(
    target: &mut Box<dyn Accumulator>,
    minus: &mut dyn Accumulator,
    aggregate: &AggregateFunctionExpr,
) -> Result<()> {
    let held = target.state()?;
    let taken = minus.state()?;
    let difference = match is_variance(aggregate.fun().name()) {
        true => match subtract_welford(&held, &taken) {
            Some(d) => d,
            None => return Ok(()),
        },
        false => {
            let mut difference = Vec::with_capacity(held.len());
            for (h, t) in held.iter().zip(&taken) {
                difference.push(match (h.is_null(), t.is_null()) {
                    (_, true) => h.clone(),
                    (true, false) => return Ok(()),
                    // Counts are unsigned: less than nothing is not a count. Sums wrap
                    // around as the accumulators' own arithmetic does.
                    (false, false) => match h.data_type().is_unsigned_integer() {
                        true => match h.sub_checked(t) {
                            Ok(d) => d,
                            Err(_) => return Ok(()),
                        },
                        false => h.sub(t)?,
                    },
                });
            }
            difference
        }
    };
    let difference = difference
        .iter()
        .map(|d| Ok(d.to_array()?))
        .collect::<Result<Vec<_>>>()?;
    let mut fresh = aggregate.create_sliding_accumulator()?;
    fresh.merge_batch(&difference)?;
    *target = fresh;
    Ok(())
}

/// A variance's state (count, mean, sum of squared deviations from it: Welford's) less
/// the state of rows taken out, by Chan's merge of two parts run backwards: the rest's
/// count and mean follow from the sums, and its squared deviations are the whole's less
/// the part's and less what the two means' distance added. None when the part is not in
/// the whole (more rows than it holds).
pub(super) fn subtract_welford(
    held: &[ScalarValue],
    taken: &[ScalarValue],
) -> Option<Vec<ScalarValue>> {
    let parts = |s: &[ScalarValue]| match s {
        [ScalarValue::UInt64(Some(n)), ScalarValue::Float64(Some(mean)), ScalarValue::Float64(Some(m2))] => {
            Some((*n, *mean, *m2))
        }
        _ => None,
    };
    let (n, mean, m2) = parts(held)?;
    let (n_b, mean_b, m2_b) = parts(taken)?;
    let n_a = n.checked_sub(n_b)?;
    let (mean_a, m2_a) = match (n_b, n_a) {
        (0, _) => (mean, m2),
        (_, 0) => (0.0, 0.0),
        // One value deviates from nothing: no rounding residue may stand for a variance.
        (_, 1) => (n as f64 * mean - n_b as f64 * mean_b, 0.0),
        _ => {
            let (n, n_a, n_b) = (n as f64, n_a as f64, n_b as f64);
            let mean_a = (n * mean - n_b * mean_b) / n_a;
            let delta = mean_b - mean_a;
            // Rounding must not leave a negative sum of squares.
            (mean_a, (m2 - m2_b - delta * delta * n_a * n_b / n).max(0.0))
        }
    };
    Some(vec![
        ScalarValue::UInt64(Some(n_a)),
        ScalarValue::Float64(Some(mean_a)),
        ScalarValue::Float64(Some(m2_a)),
    ])
}

/// Adds the counts of `plus` to `counts` and takes those of `minus` away.
fn add_counts<M: ValueCounts>(
    counts: &mut M,
    plus: impl IntoIterator<Item = (Vec<u8>, i64)>,
    minus: impl IntoIterator<Item = (Vec<u8>, i64)>,
) {
    let changes = plus
        .into_iter()
        .chain(minus.into_iter().map(|(v, c)| (v, -c)));
    for (value, delta) in changes {
        add_count(counts, value, delta);
    }
}
