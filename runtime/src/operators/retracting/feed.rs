//! Rows into groups: each aggregate's accumulator takes the rows a batch adds to its group
//! (and over an updating input takes out the rows it retracts), FILTERs and NULL arguments
//! skipped.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int8Array, UInt32Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::record_batch::RecordBatch;

use super::{
    DistinctCounts, GroupAccumulator, GroupState, Kind, RetractingAggregation, SharedSet,
    ValueFunction,
};
use crate::changelog::ops;
use crate::error::{Result, RuntimeError};
use crate::operators::aggregation::evaluate;
use crate::stream_element::RowKind;

impl RetractingAggregation {
    /// Adds and takes out the rows of `batch` (an updating stream's) in their groups.
    pub fn apply(
        &self,
        states: &mut [GroupState],
        batch: &RecordBatch,
        group_indices: &[usize],
    ) -> Result<()> {
        let kinds = match (ops(batch), self.append_only) {
            (Some(kinds), _) => Some(kinds),
            (None, true) => None,
            (None, false) => {
                return Err(RuntimeError::Internal(
                    "an updating input without row kinds".into(),
                ))
            }
        };
        // Per group, its rows that add and its rows that take out, in arrival order.
        let mut added: Vec<Vec<u32>> = vec![Vec::new(); states.len()];
        let mut retracted: Vec<Vec<u32>> = vec![Vec::new(); states.len()];
        for (row, &g) in group_indices.iter().enumerate() {
            let retraction = match kinds {
                Some(kinds) => is_retraction(kinds, row)?,
                None => false,
            };
            match retraction {
                false => {
                    added[g].push(row as u32);
                    states[g].rows += 1;
                }
                // Row by row, as Flink: a retraction for a group holding no rows (its state
                // expired, or a delete of something never inserted) is ignored.
                true if states[g].rows <= 0 => {}
                true => {
                    retracted[g].push(row as u32);
                    states[g].rows -= 1;
                }
            }
        }
        self.feed(states, batch, &added, &retracted)
    }

    /// Adds the rows `added` gives each group and takes out the rows `retracted` gives it,
    /// aggregate by aggregate.
    pub(super) fn feed(
        &self,
        states: &mut [GroupState],
        batch: &RecordBatch,
        added: &[Vec<u32>],
        retracted: &[Vec<u32>],
    ) -> Result<()> {
        for (j, (kind, aggregate)) in self.kinds.iter().zip(&self.aggregates).enumerate() {
            if let Kind::SharedDistinct { .. } = kind {
                continue;
            }
            let mut arguments = evaluate(&aggregate.expressions(), batch)?;
            if let Some(wanted) = self.value_type(j) {
                // Values are kept in their state's type, which the argument may only coerce to.
                for argument in arguments.iter_mut().filter(|a| a.data_type() != &wanted) {
                    *argument = cast(argument, &wanted)?;
                }
            }
            let filter = match &self.filters[j] {
                Some(f) => Some(f.evaluate(batch)?.into_array(batch.num_rows())?),
                None => None,
            };
            let filter = filter
                .as_ref()
                .and_then(|f| f.as_any().downcast_ref::<BooleanArray>());
            let counted = |row: &u32| {
                filter.is_none_or(|f| f.is_valid(*row as usize) && f.value(*row as usize))
            };
            // Aggregates skip rows with a NULL argument (COUNT(*) has none).
            let nulls = arguments.iter().fold(None, |all: Option<NullBuffer>, a| {
                NullBuffer::union(all.as_ref(), a.logical_nulls().as_ref())
            });
            let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
            match kind {
                Kind::Accumulator { .. } => {
                    for (rows_of, retract) in [(added, false), (retracted, true)] {
                        // Every group's rows, group after group, taken in one pass; each
                        // group's accumulator reads its slice.
                        let mut order = Vec::new();
                        let mut ends = Vec::with_capacity(states.len());
                        for rows in rows_of {
                            order.extend(rows.iter().copied().filter(counted));
                            ends.push(order.len());
                        }
                        if order.is_empty() {
                            continue;
                        }
                        let indices = UInt32Array::from(order);
                        let values = arguments
                            .iter()
                            .map(|a| Ok(take(a.as_ref(), &indices, None)?))
                            .collect::<Result<Vec<_>>>()?;
                        let mut start = 0;
                        for (state, end) in states.iter_mut().zip(ends) {
                            let (from, len) = (start, end - start);
                            start = end;
                            let GroupAccumulator::Row(accumulator) = &mut state.accumulators[j]
                            else {
                                continue;
                            };
                            if len == 0 {
                                continue;
                            }
                            let slice: Vec<ArrayRef> =
                                values.iter().map(|v| v.slice(from, len)).collect();
                            match retract {
                                false => accumulator.update_batch(&slice)?,
                                true => accumulator.retract_batch(&slice)?,
                            }
                        }
                    }
                }
                Kind::Count { .. } => {
                    for (g, state) in states.iter_mut().enumerate() {
                        let GroupAccumulator::Count(count) = &mut state.accumulators[j] else {
                            continue;
                        };
                        for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                            let n = rows
                                .iter()
                                .filter(|r| counted(r) && valid(**r as usize))
                                .count();
                            *count += delta * n as i64;
                        }
                    }
                }
                Kind::SharedDistinct { .. } => {}
                Kind::Ordered { values, .. } => {
                    let encoded = values.convert_columns(&arguments)?;
                    // Flink's FIRST_VALUE / LAST_VALUE skip nulls.
                    let kept = |row: &&u32| counted(row) && valid(**row as usize);
                    for (g, state) in states.iter_mut().enumerate() {
                        let GroupAccumulator::Ordered(arrivals) = &mut state.accumulators[j] else {
                            continue;
                        };
                        // One group's adds come before its retractions within a batch: the
                        // rows were split so, and a retraction names an earlier add.
                        for &row in added[g].iter().filter(kept) {
                            arrivals.add(encoded.row(row as usize).data());
                        }
                        for &row in retracted[g].iter().filter(kept) {
                            arrivals.retract(encoded.row(row as usize).data());
                        }
                    }
                }
                Kind::Values { values, function } => {
                    let encoded = values.convert_columns(&arguments)?;
                    // MIN, MAX and COUNT(DISTINCT) skip nulls.
                    let kept = |row: &&u32| counted(row) && valid(**row as usize);
                    for (g, state) in states.iter_mut().enumerate() {
                        match &mut state.accumulators[j] {
                            GroupAccumulator::Distinct(counts) => {
                                for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                                    for &row in rows.iter().filter(kept) {
                                        add_count(counts, encoded.row(row as usize).data(), delta);
                                    }
                                }
                            }
                            // Nothing is taken out: only the least (greatest) value matters.
                            GroupAccumulator::Values(counts) if self.append_only => {
                                // The batch's best row first: one copy per group, not per
                                // row of a rising maximum.
                                let best = added[g]
                                    .iter()
                                    .filter(kept)
                                    .map(|&row| encoded.row(row as usize))
                                    .reduce(|a, b| match (function, b < a) {
                                        (ValueFunction::Min, true)
                                        | (ValueFunction::Max, false) => b,
                                        _ => a,
                                    });
                                if let Some(best) = best {
                                    keep_extreme(counts, *function, best.data());
                                }
                            }
                            GroupAccumulator::Values(counts) => {
                                for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                                    for &row in rows.iter().filter(kept) {
                                        add_count(counts, encoded.row(row as usize).data(), delta);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        for (s, set) in self.shared.iter().enumerate() {
            self.feed_shared(s, set, states, batch, added)?;
        }
        Ok(())
    }

    /// Adds the rows `added` gives each group to the values of shared set `s`: per row, the
    /// bits of the aggregates whose FILTER takes it; a bit newly set counts the value.
    fn feed_shared(
        &self,
        s: usize,
        set: &SharedSet,
        states: &mut [GroupState],
        batch: &RecordBatch,
        added: &[Vec<u32>],
    ) -> Result<()> {
        let first = *set
            .members
            .first()
            .ok_or_else(|| RuntimeError::Internal("a shared set without members".into()))?;
        let mut arguments = evaluate(&self.aggregates[first].expressions(), batch)?;
        for argument in arguments
            .iter_mut()
            .filter(|a| a.data_type() != &set.value_type)
        {
            *argument = cast(argument, &set.value_type)?;
        }
        let nulls = arguments.iter().fold(None, |all: Option<NullBuffer>, a| {
            NullBuffer::union(all.as_ref(), a.logical_nulls().as_ref())
        });
        let encoded = set.values.convert_columns(&arguments)?;
        let filters = set
            .members
            .iter()
            .map(|&j| match &self.filters[j] {
                Some(f) => Ok(Some(f.evaluate(batch)?.into_array(batch.num_rows())?)),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let filters: Vec<Option<&BooleanArray>> = filters
            .iter()
            .map(|f| {
                f.as_ref()
                    .and_then(|f| f.as_any().downcast_ref::<BooleanArray>())
            })
            .collect();
        for (g, state) in states.iter_mut().enumerate() {
            let (values, accumulators) = (&mut state.sets[s], &mut state.accumulators);
            for &row in &added[g] {
                let row = row as usize;
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                let mut bits = 0u64;
                for (bit, filter) in filters.iter().enumerate() {
                    if filter.is_none_or(|f| f.is_valid(row) && f.value(row)) {
                        bits |= 1 << bit;
                    }
                }
                if bits == 0 {
                    continue;
                }
                let value = encoded.row(row).data();
                let mut new = match values.get_mut(value) {
                    Some(seen) => {
                        let new = bits & !*seen;
                        *seen |= bits;
                        new
                    }
                    None => {
                        values.insert(value.to_vec(), bits);
                        bits
                    }
                };
                while new != 0 {
                    let bit = new.trailing_zeros() as usize;
                    new &= new - 1;
                    if let Some(GroupAccumulator::SharedCount(n)) =
                        accumulators.get_mut(set.members[bit])
                    {
                        *n += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Keeps `value` alone when it is less (`MIN`) or greater (`MAX`) than the value kept.
pub(super) fn keep_extreme(
    counts: &mut BTreeMap<Vec<u8>, i64>,
    function: ValueFunction,
    value: &[u8],
) {
    let better = match function {
        ValueFunction::Min => counts
            .first_key_value()
            .is_none_or(|(k, _)| value < k.as_slice()),
        _ => counts
            .last_key_value()
            .is_none_or(|(k, _)| value > k.as_slice()),
    };
    if better {
        counts.clear();
        counts.insert(value.to_vec(), 1);
    }
}

/// Adds `delta` rows holding `value`; a value no row holds any more is forgotten.
pub(super) fn add_count<M: ValueCounts>(counts: &mut M, value: impl AsRef<[u8]>, delta: i64) {
    let value = value.as_ref();
    let now = match counts.count_mut(value) {
        Some(count) => {
            *count += delta;
            *count
        }
        None if delta != 0 => {
            counts.insert_count(value.to_vec(), delta);
            delta
        }
        None => return,
    };
    if now == 0 {
        counts.forget(value);
    }
}

/// The maps value counts are kept in: ordered for MIN / MAX, hashed for COUNT(DISTINCT).
pub(super) trait ValueCounts {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64>;
    fn insert_count(&mut self, value: Vec<u8>, count: i64);
    fn forget(&mut self, value: &[u8]);
}

impl ValueCounts for BTreeMap<Vec<u8>, i64> {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64> {
        self.get_mut(value)
    }
    fn insert_count(&mut self, value: Vec<u8>, count: i64) {
        self.insert(value, count);
    }
    fn forget(&mut self, value: &[u8]) {
        self.remove(value);
    }
}

impl ValueCounts for DistinctCounts {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64> {
        self.get_mut(value)
    }
    fn insert_count(&mut self, value: Vec<u8>, count: i64) {
        self.insert(value, count);
    }
    fn forget(&mut self, value: &[u8]) {
        self.remove(value);
    }
}

/// Whether row `row` takes a row out (`-U`, `-D`) rather than adding one.
pub(super) fn is_retraction(kinds: &Int8Array, row: usize) -> Result<bool> {
    match RowKind::from_i8(kinds.value(row)) {
        Some(RowKind::Insert | RowKind::UpdateAfter) => Ok(false),
        Some(RowKind::UpdateBefore | RowKind::Delete) => Ok(true),
        None => Err(RuntimeError::Internal(format!(
            "a row kind of {}",
            kinds.value(row)
        ))),
    }
}
