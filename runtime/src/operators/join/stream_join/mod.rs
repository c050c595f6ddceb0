//! Regular join of two streams (Flink's `StreamingJoinOperator` and
//! `StreamingSemiAntiJoinOperator`): inner, left, right and full outer, semi and anti joins
//! over insert-only or updating inputs.
//!
//! Each side keeps its rows in keyed state as Flink's `JoinRecordStateView` does: under the
//! join key (the namespace), each distinct row (Arrow's row format, the state key) with how
//! many times it is held and, for an outer or kept side, with how many rows of the other
//! side it matches. An arriving row is joined with the other side's rows of its key, row by
//! row in arrival order, so that a row added and taken out in one batch is seen that way:
//!
//! - a row added (`+I`, `+U`) emits its pairs; an outer row without a match emits itself
//!   padded with nulls (`+I`), and an outer row of the other side that had no match until
//!   now retracts its null-padded row (`-D`) first;
//! - a row taken out (`-U`, `-D`) retracts its pairs (or its null-padded row), and an outer
//!   row of the other side left without a match emits its null-padded row again (`+I`).
//!
//! An inner join forwards its inputs' row kinds; outer joins emit `+I` and `-D`, as Flink
//! does. A semi join emits a kept row while it has a match, an anti join while it has none.
//! Rows with a NULL key never match and are not kept (an outer one emits its null-padded
//! row straight away). State grows with the inputs (there is no state TTL yet).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int8Array, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::{StreamJoinSpec, WindowJoinType};
use crate::operators::mini_batch::{now_ms, TwoInputMiniBatch};
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The states each side's rows are kept under.
const SIDE_STATES: [&str; 2] = ["join-left-records", "join-right-records"];

/// At most this many pairs (more when one row has more candidates) go through the extra
/// join condition at once; a few in unit tests, so that they cross chunks.
#[cfg(not(test))]
const PAIRS_PER_EVALUATION: usize = 64 * 1024;
#[cfg(test)]
const PAIRS_PER_EVALUATION: usize = 4;

struct Side {
    keys: Vec<usize>,
    schema: SchemaRef,
    /// Whole rows in Arrow's row format: a row's address under its key.
    rows: RowConverter,
}

/// What a join emits.
#[derive(Clone, Copy)]
enum Emits {
    /// Pairs (left columns, then right), with the null-padded rows of the outer sides.
    Pairs { outer: [bool; 2] },
    /// The rows of side `kept` with a match (semi) or without one (anti).
    Kept { kept: usize, anti: bool },
}

/// A distinct row of one side under one key.
struct Record {
    /// How many times the row is held.
    count: i64,
    /// How many rows of the other side it matches (for an outer or kept side).
    matches: i64,
}

impl Record {
    fn decode(value: &[u8]) -> Result<Self> {
        let damaged = || RuntimeError::Internal("a join record's state is truncated".into());
        let (count, matches) = value.split_at_checked(8).ok_or_else(damaged)?;
        Ok(Self {
            count: i64::from_be_bytes(count.try_into().map_err(|_| damaged())?),
            matches: i64::from_be_bytes(matches.try_into().map_err(|_| damaged())?),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut value = self.count.to_be_bytes().to_vec();
        value.extend_from_slice(&self.matches.to_be_bytes());
        value
    }
}

/// Rows to emit, in order: for each, the index of its row on each side (none: nulls) and
/// its kind.
#[derive(Default)]
struct Output {
    rows: [Vec<Option<u32>>; 2],
    kinds: Vec<i8>,
}

impl Output {
    fn push(&mut self, left: Option<u32>, right: Option<u32>, kind: RowKind, times: i64) {
        for _ in 0..times.max(0) {
            self.rows[0].push(left);
            self.rows[1].push(right);
            self.kinds.push(kind.to_i8());
        }
    }
}

/// Flink's regular streaming join.
pub struct StreamJoinOperator {
    sides: [Side; 2],
    /// Join keys in Arrow's row format: the namespace rows are kept under.
    keys: RowConverter,
    joined_schema: SchemaRef,
    /// The output's batches: with the row-kind column when the output is updating.
    emitted_schema: SchemaRef,
    updating: bool,
    emits: Emits,
    nulls_equal: bool,
    filter: Option<Arc<dyn PhysicalExpr>>,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    description: String,
    /// With mini-batches on (`StreamJoinSpec::mini_batch`), both inputs gathered.
    mini_batch: Option<TwoInputMiniBatch>,
}

impl StreamJoinOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &StreamJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let (joined_schema, filter) = super::joined_rows(&left, &right, spec.filter.as_ref(), ctx)?;
        let keys = RowConverter::new(
            spec.left_keys
                .iter()
                .map(|&i| SortField::new(left.field(i).data_type().clone()))
                .collect(),
        )?;
        let side = |schema: &SchemaRef, keys: &[usize]| -> Result<Side> {
            Ok(Side {
                keys: keys.to_vec(),
                schema: schema.clone(),
                rows: RowConverter::new(
                    schema
                        .fields()
                        .iter()
                        .map(|f| SortField::new(f.data_type().clone()))
                        .collect(),
                )?,
            })
        };
        let emits = match spec.join_type {
            WindowJoinType::Inner => Emits::Pairs {
                outer: [false, false],
            },
            WindowJoinType::LeftOuter => Emits::Pairs {
                outer: [true, false],
            },
            WindowJoinType::RightOuter => Emits::Pairs {
                outer: [false, true],
            },
            WindowJoinType::FullOuter => Emits::Pairs {
                outer: [true, true],
            },
            WindowJoinType::LeftSemi => Emits::Kept {
                kept: 0,
                anti: false,
            },
            WindowJoinType::LeftAnti => Emits::Kept {
                kept: 0,
                anti: true,
            },
            WindowJoinType::RightSemi => Emits::Kept {
                kept: 1,
                anti: false,
            },
            WindowJoinType::RightAnti => Emits::Kept {
                kept: 1,
                anti: true,
            },
        };
        let output_schema = spec.output_schema.decode()?;
        Ok(Self {
            sides: [
                side(&left, &spec.left_keys)?,
                side(&right, &spec.right_keys)?,
            ],
            keys,
            joined_schema,
            emitted_schema: match spec.updating {
                true => with_op_field(&output_schema),
                false => output_schema,
            },
            updating: spec.updating,
            emits,
            nulls_equal: spec.nulls_equal,
            filter,
            backend: ctx.keyed_state_backend_with_ttl()?,
            max_parallelism: ctx.max_parallelism,
            description: spec.description.clone(),
            mini_batch: match spec.mini_batch {
                true => TwoInputMiniBatch::from_config(ctx.config)?,
                false => None,
            },
        })
    }

    /// Whether side `side` keeps how many rows of the other side each of its rows matches.
    fn counts_matches(&self, side: usize) -> bool {
        match self.emits {
            Emits::Pairs { outer } => outer[side],
            Emits::Kept { kept, .. } => kept == side,
        }
    }

    /// For each of `rows` (side `side`), the indices of `others` it matches under the
    /// extra condition (every one without a condition).
    fn matches(
        &self,
        side: usize,
        rows: &RecordBatch,
        others: &RecordBatch,
    ) -> Result<Vec<Vec<u32>>> {
        let (n, m) = (rows.num_rows(), others.num_rows());
        let Some(filter) = &self.filter else {
            return Ok(vec![(0..m as u32).collect(); n]);
        };
        if m == 0 {
            return Ok(vec![Vec::new(); n]);
        }
        // The condition runs over the pairs of a few rows at a time, so that a hot key's
        // rows times a large batch never become one enormous batch.
        let per_chunk = (PAIRS_PER_EVALUATION / m).max(1);
        let mut matches = Vec::with_capacity(n);
        for first in (0..n).step_by(per_chunk) {
            let last = (first + per_chunk).min(n);
            let mine: UInt32Array = (first as u32..last as u32)
                .flat_map(|i| std::iter::repeat_n(i, m))
                .collect();
            let theirs: UInt32Array = (first..last).flat_map(|_| 0..m as u32).collect();
            let (left, right) = match side {
                0 => ((rows, &mine), (others, &theirs)),
                _ => ((others, &theirs), (rows, &mine)),
            };
            let columns = left
                .0
                .columns()
                .iter()
                .map(|c| Ok(take(c.as_ref(), left.1, None)?))
                .chain(
                    right
                        .0
                        .columns()
                        .iter()
                        .map(|c| Ok(take(c.as_ref(), right.1, None)?)),
                )
                .collect::<Result<Vec<ArrayRef>>>()?;
            let joined = RecordBatch::try_new(self.joined_schema.clone(), columns)?;
            let mask = filter.evaluate(&joined)?.into_array(joined.num_rows())?;
            let mask = mask.as_boolean_opt().ok_or_else(|| {
                RuntimeError::Internal("the join condition is not boolean".into())
            })?;
            matches.extend((0..last - first).map(|i| {
                (0..m)
                    .filter(|&j| {
                        let at = i * m + j;
                        mask.is_valid(at) && mask.value(at)
                    })
                    .map(|j| j as u32)
                    .collect()
            }));
        }
        Ok(matches)
    }

    /// Joins the rows `indices` of `batch` (side `side`), all of one join key, with the
    /// other side's rows of that key, updating both sides' records; appends what is emitted
    /// to `out`, indices into `rows` (this side) and into the returned other side's rows.
    #[allow(clippy::too_many_arguments)]
    fn join_key(
        &mut self,
        side: usize,
        batch: &RecordBatch,
        kinds: Option<&Int8Array>,
        indices: Vec<u32>,
        key: &[u8],
        key_group: u32,
        out: &mut Output,
    ) -> Result<(RecordBatch, RecordBatch)> {
        let other = 1 - side;
        let rows = take_rows(batch, &indices, &self.sides[side].schema)?;
        let entries = self
            .backend
            .get_namespace_in(SIDE_STATES[other], key_group, key)?;
        let converter = &self.sides[other].rows;
        let parser = converter.parser();
        let others = match entries.is_empty() {
            true => RecordBatch::new_empty(self.sides[other].schema.clone()),
            false => RecordBatch::try_new(
                self.sides[other].schema.clone(),
                converter.convert_rows(entries.iter().map(|(k, _)| parser.parse(&k.key)))?,
            )?,
        };
        let mut records = entries
            .iter()
            .map(|(_, v)| Record::decode(v))
            .collect::<Result<Vec<_>>>()?;
        let mut touched = vec![false; records.len()];
        let matches = self.matches(side, &rows, &others)?;
        let encoded = self.sides[side].rows.convert_columns(rows.columns())?;
        let pair = |mine: Option<u32>, theirs: Option<u32>| match side {
            0 => (mine, theirs),
            _ => (theirs, mine),
        };
        for (i, (&row, matched)) in indices.iter().zip(&matches).enumerate() {
            let kind = row_kind(kinds, row as usize)?;
            let adds = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
            let i = i as u32;
            let matched_rows: i64 = matched.iter().map(|&j| records[j as usize].count).sum();
            match self.emits {
                Emits::Pairs { outer } => {
                    let forwarded = !outer[0] && !outer[1];
                    let pair_kind = match (forwarded, adds) {
                        (true, _) => kind,
                        (false, true) => RowKind::Insert,
                        (false, false) => RowKind::Delete,
                    };
                    for &j in matched {
                        let record = &mut records[j as usize];
                        // The other row's null-padded result goes before its first pair
                        // and comes back after its last.
                        let padded = pair(None, Some(j));
                        let (l, r) = pair(Some(i), Some(j));
                        if outer[other] {
                            touched[j as usize] = true;
                            if adds && record.matches == 0 {
                                out.push(padded.0, padded.1, RowKind::Delete, record.count);
                            }
                            record.matches += if adds { 1 } else { -1 };
                        }
                        out.push(l, r, pair_kind, record.count);
                        if outer[other] && !adds && record.matches == 0 {
                            out.push(padded.0, padded.1, RowKind::Insert, record.count);
                        }
                    }
                    if matched.is_empty() && outer[side] {
                        let (l, r) = pair(Some(i), None);
                        let padded = if adds {
                            RowKind::Insert
                        } else {
                            RowKind::Delete
                        };
                        out.push(l, r, padded, 1);
                    }
                }
                Emits::Kept { kept, anti } if kept == side => {
                    // This row is emitted (with its own kind) while it has a match (semi)
                    // or none (anti).
                    if (matched_rows > 0) != anti {
                        out.push(Some(i), None, kind, 1);
                    }
                }
                Emits::Kept { anti, .. } => {
                    // A row of the filtering side: the kept rows it matches may gain their
                    // first match or lose their last.
                    for &j in matched {
                        let record = &mut records[j as usize];
                        let before = record.matches > 0;
                        record.matches += if adds { 1 } else { -1 };
                        let after = record.matches > 0;
                        touched[j as usize] = true;
                        if before != after {
                            let shown = after != anti;
                            let kind = if shown {
                                RowKind::Insert
                            } else {
                                RowKind::Delete
                            };
                            out.push(None, Some(j), kind, record.count);
                        }
                    }
                }
            }
            self.update_record(
                side,
                &encoded,
                i as usize,
                key,
                key_group,
                adds,
                matched_rows,
            )?;
        }
        for (j, (entry, record)) in entries.into_iter().zip(&records).enumerate() {
            if touched[j] {
                self.backend
                    .put(SIDE_STATES[other], entry.0, record.encode())?;
            }
        }
        Ok(match side {
            0 => (rows, others),
            _ => (others, rows),
        })
    }

    /// Adds row `i` of `encoded` to (or takes it out of) side `side`'s records.
    #[allow(clippy::too_many_arguments)]
    fn update_record(
        &mut self,
        side: usize,
        encoded: &datafusion::arrow::row::Rows,
        i: usize,
        key: &[u8],
        key_group: u32,
        adds: bool,
        matched_rows: i64,
    ) -> Result<()> {
        let address = StateKey {
            key_group,
            namespace: key.to_vec(),
            key: encoded.row(i).data().to_vec(),
        };
        let mut record = match self.backend.get(SIDE_STATES[side], &address)? {
            Some(v) => Record::decode(&v)?,
            None => Record {
                count: 0,
                matches: 0,
            },
        };
        record.count += if adds { 1 } else { -1 };
        if self.counts_matches(side) {
            // Equal rows match the same rows of the other side.
            record.matches = matched_rows;
        }
        match record.count > 0 {
            true => self
                .backend
                .put(SIDE_STATES[side], address, record.encode()),
            false => self.backend.remove(SIDE_STATES[side], &address).map(|_| ()),
        }
    }

    /// Joins a batch of input `side` (0: left, 1: right).
    fn join_batch(&mut self, side: usize, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let kinds = ops(&batch).cloned();
        let key_columns: Vec<ArrayRef> = self.sides[side]
            .keys
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let key_rows = self.keys.convert_columns(&key_columns)?;
        let groups = key_groups(&key_columns, self.max_parallelism)?;
        // Rows by key, in arrival order, keys in order of first arrival; a NULL key never
        // matches.
        let mut keys_in_order: Vec<&[u8]> = Vec::new();
        let mut by_key: HashMap<&[u8], Vec<u32>> = HashMap::new();
        let mut unmatched = Output::default();
        let mut null_keyed = Vec::new();
        for row in 0..batch.num_rows() {
            if !self.nulls_equal && key_columns.iter().any(|k| k.is_null(row)) {
                null_keyed.push(row as u32);
                continue;
            }
            let key = key_rows.row(row).data();
            by_key
                .entry(key)
                .or_insert_with(|| {
                    keys_in_order.push(key);
                    Vec::new()
                })
                .push(row as u32);
        }
        let mut emitted = Vec::new();
        // Rows with a NULL key: as rows that match nothing, never kept.
        let shows_unmatched = match self.emits {
            Emits::Pairs { outer } => outer[side],
            Emits::Kept { kept, anti } => kept == side && anti,
        };
        if shows_unmatched && !null_keyed.is_empty() {
            for (i, &row) in null_keyed.iter().enumerate() {
                let kind = row_kind(kinds.as_ref(), row as usize)?;
                let kind = match (self.emits, kind) {
                    (Emits::Kept { .. }, kind) => kind,
                    (_, RowKind::Insert | RowKind::UpdateAfter) => RowKind::Insert,
                    _ => RowKind::Delete,
                };
                let (l, r) = match side {
                    0 => (Some(i as u32), None),
                    _ => (None, Some(i as u32)),
                };
                unmatched.push(l, r, kind, 1);
            }
            let rows = take_rows(&batch, &null_keyed, &self.sides[side].schema)?;
            let none = RecordBatch::new_empty(self.sides[1 - side].schema.clone());
            let (l, r) = match side {
                0 => (&rows, &none),
                _ => (&none, &rows),
            };
            emitted.push(self.emit(l, r, unmatched)?);
        }
        for key in keys_in_order {
            let Some(rows) = by_key.remove(key) else {
                continue;
            };
            let group = groups[rows[0] as usize];
            let mut output = Output::default();
            let (left, right) =
                self.join_key(side, &batch, kinds.as_ref(), rows, key, group, &mut output)?;
            if !output.kinds.is_empty() {
                emitted.push(self.emit(&left, &right, output)?);
            }
        }
        if !emitted.is_empty() {
            out.collect(concat_batches(&self.emitted_schema, &emitted)?);
        }
        Ok(())
    }

    /// The rows `out` describes, over this key's rows of each side.
    fn emit(&self, left: &RecordBatch, right: &RecordBatch, out: Output) -> Result<RecordBatch> {
        let pick = |batch: &RecordBatch, rows: Vec<Option<u32>>| -> Result<Vec<ArrayRef>> {
            let indices = UInt32Array::from(rows);
            batch
                .columns()
                .iter()
                .map(|c| Ok(take(c.as_ref(), &indices, None)?))
                .collect()
        };
        let [left_rows, right_rows] = out.rows;
        let mut columns = match self.emits {
            Emits::Pairs { .. } => {
                let mut columns = pick(left, left_rows)?;
                columns.extend(pick(right, right_rows)?);
                columns
            }
            // A kept row's index is on the side emitted first by `push`'s convention:
            // this side's row (when this side is kept) or the other side's.
            Emits::Kept { kept, .. } => {
                let (mine, theirs) = (left_rows, right_rows);
                let rows: Vec<Option<u32>> =
                    mine.into_iter().zip(theirs).map(|(a, b)| a.or(b)).collect();
                pick(if kept == 0 { left } else { right }, rows)?
            }
        };
        if self.updating {
            columns.push(Arc::new(Int8Array::from(out.kinds)));
        }
        Ok(RecordBatch::try_new(self.emitted_schema.clone(), columns)?)
    }
}

/// The row kind of row `row`: `+I` without kinds.
fn row_kind(kinds: Option<&Int8Array>, row: usize) -> Result<RowKind> {
    match kinds {
        None => Ok(RowKind::Insert),
        Some(k) => RowKind::from_i8(k.value(row))
            .ok_or_else(|| RuntimeError::Internal(format!("a row kind of {}", k.value(row)))),
    }
}

/// Rows `indices` of `batch`'s data columns, as a batch of `schema`.
fn take_rows(batch: &RecordBatch, indices: &[u32], schema: &SchemaRef) -> Result<RecordBatch> {
    let indices = UInt32Array::from(indices.to_vec());
    let columns = data_columns(batch)
        .iter()
        .map(|c| Ok(take(c.as_ref(), &indices, None)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

impl StreamOperator for StreamJoinOperator {
    fn name(&self) -> String {
        format!("Join({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_batch_from(0, batch, out)
    }

    fn process_batch_from(
        &mut self,
        input: usize,
        batch: RecordBatch,
        out: &mut Collector,
    ) -> Result<()> {
        let side = input.min(1);
        match &mut self.mini_batch {
            Some(mini_batch) => match mini_batch.add(side, batch, now_ms()) {
                true => self.flush_mini_batch(out),
                false => Ok(()),
            },
            None => self.join_batch(side, batch, out),
        }
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Collector) -> Result<()> {
        match &self.mini_batch {
            Some(mini_batch) if mini_batch.due(now) => self.flush_mini_batch(out),
            _ => Ok(()),
        }
    }

    fn prepare_snapshot_pre_barrier(&mut self, out: &mut Collector) -> Result<()> {
        self.flush_mini_batch(out)
    }

    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        self.flush_mini_batch(out)
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.flush_mini_batch(out)?;
        out.emit_watermark(watermark);
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        keyed_snapshot(self.backend.as_mut(), barrier)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        restore_into(
            &restored,
            self.backend.as_mut(),
            &SIDE_STATES,
            &format!("the join {}", self.description),
            &mut |_, _| Ok(()),
        )
    }
}

mod mini_batch;
#[cfg(test)]
mod tests;
