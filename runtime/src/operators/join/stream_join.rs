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
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::expr_codec::decode_expr;
use crate::jobgraph::{StreamJoinSpec, WindowJoinType};
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
}

impl StreamJoinOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &StreamJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let joined_schema = Arc::new(Schema::new(
            left.fields()
                .iter()
                .chain(right.fields().iter())
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let filter = spec
            .filter
            .as_ref()
            .map(|f| decode_expr(f, &joined_schema, &ctx.functions))
            .transpose()?;
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

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{build, changes, feed, int_schema, ints, snapshot, with_kinds};

    fn operator(subtask_of: (u32, u32)) -> StreamJoinOperator {
        typed(subtask_of, WindowJoinType::Inner, false)
    }

    fn typed(
        subtask_of: (u32, u32),
        join_type: WindowJoinType,
        updating: bool,
    ) -> StreamJoinOperator {
        let output: &[&str] = match join_type {
            WindowJoinType::LeftSemi | WindowJoinType::LeftAnti => &["k", "a"],
            WindowJoinType::RightSemi | WindowJoinType::RightAnti => &["k2", "b"],
            _ => &["k", "a", "k2", "b"],
        };
        let spec = StreamJoinSpec {
            left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
            right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
            output_schema: SerializedSchema::encode(&int_schema(output)).unwrap(),
            left_keys: vec![0],
            right_keys: vec![0],
            filter: None,
            description: "test".into(),
            join_type,
            updating,
            nulls_equal: false,
        };
        build(subtask_of.1, subtask_of.0, &Configuration::new(), |ctx| {
            StreamJoinOperator::try_new(&spec, ctx)
        })
    }

    fn rows(out: &[RecordBatch]) -> Vec<Vec<Option<i64>>> {
        let mut rows = Vec::new();
        for b in out {
            for r in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        .map(|c| {
                            let c = c.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                            (!c.is_null(r)).then(|| c.value(r))
                        })
                        .collect(),
                );
            }
        }
        rows.sort();
        rows
    }

    #[test]
    fn each_pair_is_emitted_once_when_its_later_row_arrives() {
        let mut op = operator((0, 1));
        assert!(feed(
            &mut op,
            0,
            ints(&["k", "a"], &[&[Some(1), None], &[Some(10), Some(11)]])
        )
        .is_empty());
        assert_eq!(
            rows(&feed(
                &mut op,
                1,
                ints(
                    &["k2", "b"],
                    &[
                        &[Some(1), Some(2), None],
                        &[Some(100), Some(200), Some(300)]
                    ]
                )
            )),
            [vec![Some(1), Some(10), Some(1), Some(100)]],
            "a NULL key matches nothing"
        );
        assert_eq!(
            rows(&feed(
                &mut op,
                0,
                ints(&["k", "a"], &[&[Some(1), Some(2)], &[Some(12), Some(20)]])
            )),
            [
                vec![Some(1), Some(12), Some(1), Some(100)],
                vec![Some(2), Some(20), Some(2), Some(200)]
            ]
        );
        // Restored, both sides' rows are still there.
        let restored = snapshot(&mut op, 1);
        let mut op = operator((0, 1));
        op.initialize_state(restored).unwrap();
        assert_eq!(
            rows(&feed(
                &mut op,
                1,
                ints(&["k2", "b"], &[&[Some(1)], &[Some(101)]])
            )),
            [
                vec![Some(1), Some(10), Some(1), Some(101)],
                vec![Some(1), Some(12), Some(1), Some(101)]
            ]
        );
    }

    /// One side's rows `(key, value)`, each with its kind.
    fn side(input: usize, rows: &[(Option<i64>, i64, &str)]) -> RecordBatch {
        let names = match input {
            0 => ["k", "a"],
            _ => ["k2", "b"],
        };
        let keys: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
        let values: Vec<Option<i64>> = rows.iter().map(|r| Some(r.1)).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.2).collect();
        with_kinds(ints(&names, &[&keys, &values]), &kinds)
    }

    fn step(
        op: &mut StreamJoinOperator,
        input: usize,
        rows: &[(Option<i64>, i64, &str)],
    ) -> Vec<String> {
        changes(&feed(op, input, side(input, rows)))
    }

    #[test]
    fn a_left_join_retracts_its_null_padded_row_when_a_match_comes_and_goes() {
        let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
        assert_eq!(
            step(&mut op, 0, &[(Some(1), 10, "+I")]),
            ["+I[1, 10, NULL, NULL]"]
        );
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 100, "+I")]),
            ["-D[1, 10, NULL, NULL]", "+I[1, 10, 1, 100]"]
        );
        // A second match adds a pair; the padded row is long gone.
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 101, "+I")]),
            ["+I[1, 10, 1, 101]"]
        );
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 100, "-D")]),
            ["-D[1, 10, 1, 100]"]
        );
        // The last match goes: the padded row comes back.
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 101, "-D")]),
            ["-D[1, 10, 1, 101]", "+I[1, 10, NULL, NULL]"]
        );
        assert_eq!(
            step(&mut op, 0, &[(Some(1), 10, "-D")]),
            ["-D[1, 10, NULL, NULL]"]
        );
        // Nothing is left: a right row alone emits nothing in a left join.
        assert!(step(&mut op, 1, &[(Some(1), 102, "+I")]).is_empty());
    }

    #[test]
    fn a_full_join_pads_either_side_and_rows_within_one_batch_are_seen_in_order() {
        let mut op = typed((0, 1), WindowJoinType::FullOuter, true);
        assert_eq!(
            step(&mut op, 1, &[(Some(2), 200, "+I")]),
            ["+I[NULL, NULL, 2, 200]"]
        );
        // Added and taken out in one batch: the pair comes and goes, the padded right row
        // goes and comes back.
        assert_eq!(
            step(
                &mut op,
                0,
                &[
                    (Some(2), 20, "+I"),
                    (Some(2), 20, "-U"),
                    (Some(3), 30, "+U")
                ]
            ),
            [
                "-D[NULL, NULL, 2, 200]",
                "+I[2, 20, 2, 200]",
                "-D[2, 20, 2, 200]",
                "+I[NULL, NULL, 2, 200]",
                "+I[3, 30, NULL, NULL]"
            ]
        );
    }

    #[test]
    fn equal_rows_are_counted_and_each_is_joined() {
        let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
        assert_eq!(
            step(&mut op, 0, &[(Some(1), 10, "+I"), (Some(1), 10, "+I")]),
            ["+I[1, 10, NULL, NULL]", "+I[1, 10, NULL, NULL]"]
        );
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 100, "+I")]),
            [
                "-D[1, 10, NULL, NULL]",
                "-D[1, 10, NULL, NULL]",
                "+I[1, 10, 1, 100]",
                "+I[1, 10, 1, 100]"
            ]
        );
        assert_eq!(
            step(&mut op, 0, &[(Some(1), 10, "-D")]),
            ["-D[1, 10, 1, 100]"]
        );
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 100, "-D")]),
            ["-D[1, 10, 1, 100]", "+I[1, 10, NULL, NULL]"]
        );
    }

    #[test]
    fn an_inner_join_forwards_its_inputs_row_kinds() {
        let mut op = typed((0, 1), WindowJoinType::Inner, true);
        step(&mut op, 1, &[(Some(1), 100, "+I")]);
        assert_eq!(
            step(
                &mut op,
                0,
                &[(Some(1), 1, "+I"), (Some(1), 1, "-U"), (Some(1), 2, "+U")]
            ),
            ["+I[1, 1, 1, 100]", "-U[1, 1, 1, 100]", "+U[1, 2, 1, 100]"]
        );
    }

    #[test]
    fn a_null_key_on_an_outer_side_is_padded_at_once_and_never_kept() {
        let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
        assert_eq!(
            step(&mut op, 0, &[(None, 10, "+I")]),
            ["+I[NULL, 10, NULL, NULL]"]
        );
        assert!(step(&mut op, 1, &[(None, 100, "+I")]).is_empty());
        assert_eq!(
            step(&mut op, 0, &[(None, 10, "-D")]),
            ["-D[NULL, 10, NULL, NULL]"]
        );
    }

    #[test]
    fn semi_and_anti_joins_show_a_row_while_it_has_a_match_or_none() {
        let mut semi = typed((0, 1), WindowJoinType::LeftSemi, true);
        let mut anti = typed((0, 1), WindowJoinType::LeftAnti, true);
        assert!(step(&mut semi, 0, &[(Some(1), 10, "+I")]).is_empty());
        assert_eq!(step(&mut anti, 0, &[(Some(1), 10, "+I")]), ["+I[1, 10]"]);
        for (op, first, last) in [
            (&mut semi, "+I[1, 10]", "-D[1, 10]"),
            (&mut anti, "-D[1, 10]", "+I[1, 10]"),
        ] {
            assert_eq!(step(op, 1, &[(Some(1), 100, "+I")]), [first]);
            // A second match changes nothing; losing one of two neither.
            assert!(step(op, 1, &[(Some(1), 101, "+I")]).is_empty());
            assert!(step(op, 1, &[(Some(1), 100, "-D")]).is_empty());
            assert_eq!(step(op, 1, &[(Some(1), 101, "-D")]), [last]);
        }
        // A kept row arriving with a match already there.
        let mut op = typed((0, 1), WindowJoinType::RightSemi, false);
        step(&mut op, 0, &[(Some(5), 1, "+I")]);
        assert_eq!(
            rows(&feed(
                &mut op,
                1,
                ints(&["k2", "b"], &[&[Some(5)], &[Some(50)]])
            )),
            [vec![Some(5), Some(50)]]
        );
    }

    #[test]
    fn outer_state_survives_a_snapshot() {
        let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
        step(&mut op, 0, &[(Some(1), 10, "+I")]);
        step(&mut op, 1, &[(Some(1), 100, "+I")]);
        let restored = snapshot(&mut op, 1);
        let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
        op.initialize_state(restored).unwrap();
        assert_eq!(
            step(&mut op, 1, &[(Some(1), 100, "-D")]),
            ["-D[1, 10, 1, 100]", "+I[1, 10, NULL, NULL]"],
            "how many matches the left row has is restored with it"
        );
    }

    #[test]
    fn with_nulls_equal_a_null_key_matches_a_null_key() {
        let spec = StreamJoinSpec {
            left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
            right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
            output_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
            left_keys: vec![0],
            right_keys: vec![0],
            filter: None,
            description: "test".into(),
            join_type: WindowJoinType::LeftSemi,
            updating: false,
            nulls_equal: true,
        };
        let mut op = build(1, 0, &Configuration::new(), |ctx| {
            StreamJoinOperator::try_new(&spec, ctx)
        });
        feed(&mut op, 1, ints(&["k2", "b"], &[&[None], &[Some(1)]]));
        assert_eq!(
            rows(&feed(&mut op, 0, ints(&["k", "a"], &[&[None], &[Some(7)]]))),
            [vec![None, Some(7)]],
            "INTERSECT keeps a NULL that both sides hold"
        );
    }

    #[test]
    fn the_extra_condition_is_evaluated_over_chunks_of_pairs() {
        use datafusion::logical_expr::Operator;
        use datafusion::physical_expr::expressions::{binary, col};
        let joined = int_schema(&["k", "a", "k2", "b"]);
        let condition = binary(
            col("a", &joined).unwrap(),
            Operator::Lt,
            col("b", &joined).unwrap(),
            &joined,
        )
        .unwrap();
        let spec = StreamJoinSpec {
            left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
            right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
            output_schema: SerializedSchema::encode(&joined).unwrap(),
            left_keys: vec![0],
            right_keys: vec![0],
            filter: Some(crate::expr_codec::encode_expr(&condition).unwrap()),
            description: "test".into(),
            join_type: WindowJoinType::Inner,
            updating: false,
            nulls_equal: false,
        };
        let mut op = build(1, 0, &Configuration::new(), |ctx| {
            StreamJoinOperator::try_new(&spec, ctx)
        });
        // Three stored rows and five arriving ones: 15 pairs, in chunks of one row (3 pairs).
        feed(
            &mut op,
            1,
            ints(
                &["k2", "b"],
                &[&[Some(1); 3], &[Some(10), Some(20), Some(30)]],
            ),
        );
        let arriving: Vec<Option<i64>> = [5, 15, 25, 35, 20].into_iter().map(Some).collect();
        let out = rows(&feed(
            &mut op,
            0,
            ints(&["k", "a"], &[&[Some(1); 5], &arriving]),
        ));
        let pairs: Vec<(i64, i64)> = out.iter().map(|r| (r[1].unwrap(), r[3].unwrap())).collect();
        assert_eq!(
            pairs,
            [
                (5, 10),
                (5, 20),
                (5, 30),
                (15, 20),
                (15, 30),
                (20, 30),
                (25, 30)
            ]
        );
    }
}
