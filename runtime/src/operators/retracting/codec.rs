//! How a group's state is kept in keyed state: its row count, then each aggregate's
//! state, length-prefixed (a DataFusion accumulator's state in Arrow's row format, or the
//! kept values with their counts or arrival numbers).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array};

use super::{
    state_columns, Arrivals, DistinctCounts, GroupAccumulator, GroupState, Kind,
    RetractingAggregation, ValueFunction,
};
use crate::error::{Result, RuntimeError};

impl RetractingAggregation {
    /// The groups' states from their stored values (`None`: a group not seen before).
    pub fn restore(&self, stored: &[Option<Vec<u8>>]) -> Result<Vec<GroupState>> {
        if self.append_only {
            return self.restore_partial(stored);
        }
        let damaged = || RuntimeError::Internal("a group's stored state is truncated".into());
        let mut rows = Vec::with_capacity(stored.len());
        // Per group, each aggregate's bytes.
        let mut parts: Vec<Vec<&[u8]>> = Vec::with_capacity(stored.len());
        for value in stored {
            let Some(value) = value else {
                rows.push(0);
                parts.push(Vec::new());
                continue;
            };
            let (count, mut rest) = value.split_at_checked(8).ok_or_else(damaged)?;
            rows.push(i64::from_be_bytes(count.try_into().map_err(|_| damaged())?));
            let mut group = Vec::with_capacity(self.kinds.len());
            for _ in &self.kinds {
                let (bytes, tail) = split_prefixed(rest).ok_or_else(damaged)?;
                group.push(bytes);
                rest = tail;
            }
            parts.push(group);
        }
        let mut states: Vec<GroupState> = rows
            .into_iter()
            .map(|rows| {
                Ok(GroupState {
                    rows,
                    accumulators: Vec::with_capacity(self.kinds.len()),
                    sets: Vec::new(),
                })
            })
            .collect::<Result<_>>()?;
        for (j, kind) in self.kinds.iter().enumerate() {
            match kind {
                Kind::Ordered { .. } => {
                    for (state, group) in states.iter_mut().zip(&parts) {
                        let mut arrivals = Arrivals::default();
                        if let Some(bytes) = group.get(j).copied() {
                            let (next, mut rest) = bytes.split_at_checked(8).ok_or_else(damaged)?;
                            arrivals.next =
                                u64::from_be_bytes(next.try_into().map_err(|_| damaged())?);
                            while !rest.is_empty() {
                                let (at, tail) = rest.split_at_checked(8).ok_or_else(damaged)?;
                                let at = u64::from_be_bytes(at.try_into().map_err(|_| damaged())?);
                                let (value, tail) = split_prefixed(tail).ok_or_else(damaged)?;
                                arrivals.by_arrival.insert(at, value.to_vec());
                                arrivals
                                    .by_value
                                    .entry(value.to_vec())
                                    .or_default()
                                    .push_back(at);
                                rest = tail;
                            }
                        }
                        state.accumulators.push(GroupAccumulator::Ordered(arrivals));
                    }
                }
                Kind::Values { function, .. } => {
                    let distinct = matches!(function, ValueFunction::CountDistinct);
                    for (state, group) in states.iter_mut().zip(&parts) {
                        let mut ordered = BTreeMap::new();
                        let mut hashed = DistinctCounts::default();
                        if let Some(mut rest) = group.get(j).copied() {
                            while !rest.is_empty() {
                                let (value, tail) = split_prefixed(rest).ok_or_else(damaged)?;
                                let (count, tail) = tail.split_at_checked(8).ok_or_else(damaged)?;
                                let count =
                                    i64::from_be_bytes(count.try_into().map_err(|_| damaged())?);
                                match distinct {
                                    true => hashed.insert(value.to_vec(), count),
                                    false => ordered.insert(value.to_vec(), count),
                                };
                                rest = tail;
                            }
                        }
                        state.accumulators.push(match distinct {
                            true => GroupAccumulator::Distinct(hashed),
                            false => GroupAccumulator::Values(ordered),
                        });
                    }
                }
                Kind::SharedDistinct { .. } => {
                    return Err(RuntimeError::Internal(
                        "a shared distinct set over an updating input".into(),
                    ))
                }
                Kind::Count { state: converter } => {
                    let restored: Vec<(usize, &[u8])> = parts
                        .iter()
                        .enumerate()
                        .filter_map(|(g, group)| group.get(j).map(|b| (g, *b)))
                        .collect();
                    let counts = match restored.is_empty() {
                        true => None,
                        false => {
                            let parser = converter.parser();
                            let columns = converter
                                .convert_rows(restored.iter().map(|(_, b)| parser.parse(b)))?;
                            let counts = columns
                                .first()
                                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                                .ok_or_else(damaged)?
                                .clone();
                            Some(counts)
                        }
                    };
                    let mut next = restored.iter().enumerate().peekable();
                    for (g, state) in states.iter_mut().enumerate() {
                        let count = match (next.next_if(|(_, (s, _))| *s == g), &counts) {
                            (Some((row, _)), Some(counts)) => counts.value(row),
                            _ => 0,
                        };
                        state.accumulators.push(GroupAccumulator::Count(count));
                    }
                }
                Kind::Accumulator { state: converter } => {
                    // One conversion for every stored group, then each merges its row.
                    let restored: Vec<(usize, &[u8])> = parts
                        .iter()
                        .enumerate()
                        .filter_map(|(g, group)| group.get(j).map(|b| (g, *b)))
                        .collect();
                    let parser = converter.parser();
                    let columns = match restored.is_empty() {
                        true => Vec::new(),
                        false => {
                            converter.convert_rows(restored.iter().map(|(_, b)| parser.parse(b)))?
                        }
                    };
                    let mut next = restored.iter().enumerate().peekable();
                    for (g, state) in states.iter_mut().enumerate() {
                        let mut accumulator = self.new_accumulator(j)?;
                        if let Some((row, _)) = next.next_if(|(_, (s, _))| *s == g) {
                            let slice: Vec<ArrayRef> =
                                columns.iter().map(|c| c.slice(row, 1)).collect();
                            accumulator.merge_batch(&slice)?;
                        }
                        state.accumulators.push(GroupAccumulator::Row(accumulator));
                    }
                }
            }
        }
        Ok(states)
    }

    /// Each group's state as one keyed-state value: its row count, then per aggregate its
    /// state, length-prefixed.
    pub fn encode(&self, states: &mut [GroupState]) -> Result<Vec<Vec<u8>>> {
        if self.append_only {
            return self.encode_partial(states);
        }
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let mut encoded: Vec<Vec<u8>> = states
            .iter()
            .map(|s| s.rows.to_be_bytes().to_vec())
            .collect();
        for (j, kind) in self.kinds.iter().enumerate() {
            match kind {
                Kind::Accumulator { state: converter } => {
                    let arrays = state_columns(states, j)?;
                    let rows = converter.convert_columns(&arrays)?;
                    for (g, value) in encoded.iter_mut().enumerate() {
                        put_prefixed(value, rows.row(g).data());
                    }
                }
                Kind::Ordered { .. } => {
                    for (state, value) in states.iter().zip(encoded.iter_mut()) {
                        let GroupAccumulator::Ordered(arrivals) = &state.accumulators[j] else {
                            return Err(RuntimeError::Internal("mismatched accumulator".into()));
                        };
                        let mut bytes = arrivals.next.to_be_bytes().to_vec();
                        for (at, v) in &arrivals.by_arrival {
                            bytes.extend_from_slice(&at.to_be_bytes());
                            put_prefixed(&mut bytes, v);
                        }
                        put_prefixed(value, &bytes);
                    }
                }
                Kind::Values { .. } => {
                    for (state, value) in states.iter().zip(encoded.iter_mut()) {
                        let mut bytes = Vec::new();
                        let mut put = |v: &[u8], count: i64| {
                            put_prefixed(&mut bytes, v);
                            bytes.extend_from_slice(&count.to_be_bytes());
                        };
                        match &state.accumulators[j] {
                            GroupAccumulator::Values(counts) => {
                                counts.iter().for_each(|(v, c)| put(v, *c))
                            }
                            GroupAccumulator::Distinct(counts) => {
                                counts.iter().for_each(|(v, c)| put(v, *c))
                            }
                            _ => {
                                return Err(RuntimeError::Internal("mismatched accumulator".into()))
                            }
                        }
                        put_prefixed(value, &bytes);
                    }
                }
                Kind::SharedDistinct { .. } => {
                    return Err(RuntimeError::Internal(
                        "a shared distinct set over an updating input".into(),
                    ))
                }
                Kind::Count { state: converter } => {
                    let counts = states
                        .iter()
                        .map(|s| match s.accumulators[j] {
                            GroupAccumulator::Count(n) => Ok(n),
                            _ => Err(RuntimeError::Internal("mismatched accumulator".into())),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let column: ArrayRef = Arc::new(Int64Array::from(counts));
                    let rows = converter.convert_columns(&[column])?;
                    for (g, value) in encoded.iter_mut().enumerate() {
                        put_prefixed(value, rows.row(g).data());
                    }
                }
            }
        }
        Ok(encoded)
    }
}

pub(super) fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

pub(super) fn split_prefixed(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_at_checked(4)?;
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    rest.split_at_checked(len)
}
