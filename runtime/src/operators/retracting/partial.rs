//! An insert-only aggregation's group states as DataFusion's partial states (each
//! aggregate's `state_fields`): what a local phase sends its global phase, and what keyed
//! state holds, in the bytes DataFusion's grouped accumulators kept there before groups were
//! cached, so that a savepoint restores into either path and across mini-batches on and off.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, Array, ArrayRef, AsArray, Int64Array, ListArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;

use super::codec::{put_prefixed, split_prefixed};
use super::state_columns;
use super::{keep_extreme, GroupAccumulator, GroupState, Kind, RetractingAggregation};
use crate::error::{Result, RuntimeError};

impl RetractingAggregation {
    /// Merges a local phase's rows (group keys, then from column `first` on each
    /// aggregate's state columns) into the groups `group_indices` gives them.
    pub fn merge_partial_batch(
        &self,
        states: &mut [GroupState],
        batch: &RecordBatch,
        first: usize,
        group_indices: &[usize],
    ) -> Result<()> {
        let mut columns = Vec::with_capacity(self.partial.len());
        let mut at = first;
        for fields in &self.state_fields {
            let width = fields.len();
            let part = batch.columns().get(at..at + width).ok_or_else(|| {
                RuntimeError::Internal("a partial aggregate row lacks state columns".into())
            })?;
            columns.push(part.to_vec());
            at += width;
        }
        self.merge_partial(states, &columns, group_indices)
    }

    /// Merges partial states into `states`: `columns[j]` holds aggregate `j`'s state
    /// columns, whose row `i` belongs to group `group_indices[i]`.
    pub fn merge_partial(
        &self,
        states: &mut [GroupState],
        columns: &[Vec<ArrayRef>],
        group_indices: &[usize],
    ) -> Result<()> {
        let damaged = || RuntimeError::Internal("a partial aggregate state is malformed".into());
        for &g in group_indices {
            states[g].rows += 1;
        }
        for (j, kind) in self.kinds.iter().enumerate() {
            let part = columns.get(j).ok_or_else(damaged)?;
            let first = part.first().ok_or_else(damaged)?;
            match kind {
                Kind::Count { .. } => {
                    let counts = first.as_primitive_opt::<Int64Type>().ok_or_else(damaged)?;
                    for (i, &g) in group_indices.iter().enumerate() {
                        if let GroupAccumulator::Count(n) = &mut states[g].accumulators[j] {
                            if counts.is_valid(i) {
                                *n += counts.value(i);
                            }
                        }
                    }
                }
                Kind::Accumulator { .. } => {
                    // Every group's rows, group after group, taken once; each group merges
                    // its slice.
                    let mut by_group: Vec<Vec<u32>> = vec![Vec::new(); states.len()];
                    for (i, &g) in group_indices.iter().enumerate() {
                        by_group[g].push(i as u32);
                    }
                    let ends: Vec<usize> = by_group
                        .iter()
                        .scan(0, |end, rows| {
                            *end += rows.len();
                            Some(*end)
                        })
                        .collect();
                    let indices = UInt32Array::from(by_group.concat());
                    let taken = part
                        .iter()
                        .map(|c| Ok(take(c.as_ref(), &indices, None)?))
                        .collect::<Result<Vec<_>>>()?;
                    let mut start = 0;
                    for (state, end) in states.iter_mut().zip(ends) {
                        let (from, len) = (start, end - start);
                        start = end;
                        if let (GroupAccumulator::Row(a), true) =
                            (&mut state.accumulators[j], len > 0)
                        {
                            let slice: Vec<ArrayRef> =
                                taken.iter().map(|c| c.slice(from, len)).collect();
                            a.merge_batch(&slice)?;
                        }
                    }
                }
                Kind::SharedDistinct { set, bit } => {
                    let shared = self.shared.get(*set).ok_or_else(damaged)?;
                    let lists = first.as_list_opt::<i32>().ok_or_else(damaged)?;
                    let items = lists.values();
                    let encoded = shared.values.convert_columns(std::slice::from_ref(items))?;
                    let offsets = lists.value_offsets();
                    let mask = 1u64 << bit;
                    for (i, &g) in group_indices.iter().enumerate() {
                        if lists.is_null(i) {
                            continue;
                        }
                        let state = &mut states[g];
                        let values = state.sets.get_mut(*set).ok_or_else(damaged)?;
                        let mut added = 0;
                        for k in offsets[i] as usize..offsets[i + 1] as usize {
                            if items.is_null(k) {
                                continue;
                            }
                            let value = encoded.row(k).data();
                            let seen = match values.get_mut(value) {
                                Some(seen) => seen,
                                None => values.entry(value.to_vec()).or_insert(0),
                            };
                            if *seen & mask == 0 {
                                *seen |= mask;
                                added += 1;
                            }
                        }
                        if let GroupAccumulator::SharedCount(n) = &mut state.accumulators[j] {
                            *n += added;
                        }
                    }
                }
                Kind::Values { function, values } => {
                    let encoded = values.convert_columns(std::slice::from_ref(first))?;
                    for (i, &g) in group_indices.iter().enumerate() {
                        if let GroupAccumulator::Values(counts) = &mut states[g].accumulators[j] {
                            if first.is_valid(i) {
                                keep_extreme(counts, *function, encoded.row(i).data());
                            }
                        }
                    }
                }
                Kind::Ordered { .. } => return Err(damaged()),
            }
        }
        Ok(())
    }

    /// Each aggregate's partial state columns, one row per group.
    pub fn partial_states(&self, states: &mut [GroupState]) -> Result<Vec<Vec<ArrayRef>>> {
        let mismatched = || RuntimeError::Internal("mismatched accumulator".into());
        let mut all = Vec::with_capacity(self.kinds.len());
        for (j, (kind, fields)) in self.kinds.iter().zip(&self.state_fields).enumerate() {
            let field = fields.first().ok_or_else(mismatched)?;
            all.push(match kind {
                Kind::Count { .. } => {
                    let counts = states
                        .iter()
                        .map(|s| match s.accumulators[j] {
                            GroupAccumulator::Count(n) => Ok(n),
                            _ => Err(mismatched()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    vec![Arc::new(Int64Array::from(counts)) as ArrayRef]
                }
                Kind::Accumulator { .. } => state_columns(states, j)?,
                Kind::SharedDistinct { set, bit } => {
                    let DataType::List(item) = field.data_type() else {
                        return Err(mismatched());
                    };
                    let shared = self.shared.get(*set).ok_or_else(mismatched)?;
                    let parser = shared.values.parser();
                    let mask = 1u64 << bit;
                    let mut rows = Vec::new();
                    let mut offsets = vec![0i32];
                    for state in states.iter() {
                        let values = state.sets.get(*set).ok_or_else(mismatched)?;
                        let counted = values.iter().filter(|(_, bits)| *bits & mask != 0);
                        rows.extend(counted.map(|(k, _)| parser.parse(k)));
                        offsets.push(i32::try_from(rows.len()).map_err(|_| mismatched())?);
                    }
                    let items = match rows.is_empty() {
                        true => new_empty_array(item.data_type()),
                        false => shared
                            .values
                            .convert_rows(rows)?
                            .pop()
                            .ok_or_else(mismatched)?,
                    };
                    let list = ListArray::try_new(
                        Arc::clone(item),
                        OffsetBuffer::new(offsets.into()),
                        items,
                        None,
                    )?;
                    vec![Arc::new(list) as ArrayRef]
                }
                Kind::Values { values, .. } => {
                    let parser = values.parser();
                    let mut scalars = Vec::with_capacity(states.len());
                    for state in states.iter() {
                        let GroupAccumulator::Values(counts) = &state.accumulators[j] else {
                            return Err(mismatched());
                        };
                        scalars.push(match counts.keys().next() {
                            None => ScalarValue::try_from(field.data_type())?,
                            Some(k) => {
                                let column = values.convert_rows([parser.parse(k)])?;
                                let column = column.first().ok_or_else(mismatched)?;
                                ScalarValue::try_from_array(column, 0)?
                            }
                        });
                    }
                    vec![match scalars.is_empty() {
                        true => new_empty_array(field.data_type()),
                        false => ScalarValue::iter_to_array(scalars)?,
                    }]
                }
                Kind::Ordered { .. } => return Err(mismatched()),
            });
        }
        Ok(all)
    }

    /// Groups' states from keyed state, as DataFusion's grouped accumulators stored them:
    /// per aggregate, its state row in Arrow's row format, length-prefixed.
    pub(super) fn restore_partial(&self, stored: &[Option<Vec<u8>>]) -> Result<Vec<GroupState>> {
        let damaged = || RuntimeError::Internal("an aggregate's stored state is truncated".into());
        let mut states = self.fresh_groups(stored.len())?;
        let mut indices = Vec::new();
        let mut parts: Vec<Vec<&[u8]>> = vec![Vec::new(); self.partial.len()];
        for (g, value) in stored.iter().enumerate() {
            let Some(value) = value else { continue };
            indices.push(g);
            let mut rest = value.as_slice();
            for part in parts.iter_mut() {
                let (bytes, tail) = split_prefixed(rest).ok_or_else(damaged)?;
                part.push(bytes);
                rest = tail;
            }
        }
        if indices.is_empty() {
            return Ok(states);
        }
        let columns = parts
            .into_iter()
            .zip(&self.partial)
            .map(|(part, converter)| {
                let parser = converter.parser();
                Ok(converter.convert_rows(part.into_iter().map(|b| parser.parse(b)))?)
            })
            .collect::<Result<Vec<_>>>()?;
        self.merge_partial(&mut states, &columns, &indices)?;
        Ok(states)
    }

    /// The same in reverse: each group's keyed-state value.
    pub(super) fn encode_partial(&self, states: &mut [GroupState]) -> Result<Vec<Vec<u8>>> {
        let mut encoded = vec![Vec::new(); states.len()];
        if states.is_empty() {
            return Ok(encoded);
        }
        for (columns, converter) in self.partial_states(states)?.iter().zip(&self.partial) {
            let rows = converter.convert_columns(columns)?;
            for (g, value) in encoded.iter_mut().enumerate() {
                put_prefixed(value, rows.row(g).data());
            }
        }
        Ok(encoded)
    }
}
