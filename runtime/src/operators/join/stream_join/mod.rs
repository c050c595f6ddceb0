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
use datafusion::arrow::compute::{concat_batches, take, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use super::BatchKeys;
use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
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

/// About this many of the other side's rows are read and decoded at once; a few in unit
/// tests, so that a batch's keys cross chunks.
#[cfg(not(test))]
const OTHERS_PER_CHUNK: usize = 64 * 1024;
#[cfg(test)]
const OTHERS_PER_CHUNK: usize = 3;

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
    /// The input row each comes from: changes go out in the order of their input rows.
    origins: Vec<u32>,
}

impl Output {
    fn push(
        &mut self,
        origin: u32,
        left: Option<u32>,
        right: Option<u32>,
        kind: RowKind,
        times: i64,
    ) {
        for _ in 0..times.max(0) {
            self.origins.push(origin);
            self.rows[0].push(left);
            self.rows[1].push(right);
            self.kinds.push(kind.to_i8());
        }
    }
}

/// The rows of one join key in a batch.
struct BatchKey<'a> {
    key: &'a [u8],
    group: u32,
    /// This side's rows of the key, in arrival order.
    rows: Vec<u32>,
    /// The other side's rows of the key, in `Others`.
    others: std::ops::Range<usize>,
}

/// The other side's rows a batch meets, every key's one after the other, with their
/// records as they change over the batch.
struct Others {
    addresses: Vec<StateKey>,
    records: Vec<Record>,
    touched: Vec<bool>,
    rows: RecordBatch,
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

    /// Which pairs of `units` (rows of this side, each with its key's other rows in
    /// `others`) meet the extra condition, row by row and within a row in the order of
    /// the other rows.
    fn units_mask(
        &self,
        side: usize,
        filter: &Arc<dyn PhysicalExpr>,
        mine: &RecordBatch,
        others: &RecordBatch,
        keys: &[BatchKey],
        units: &[(usize, u32)],
    ) -> Result<Vec<bool>> {
        let (mut my_rows, mut their_rows) = (Vec::new(), Vec::new());
        for &(key, row) in units {
            for j in keys[key].others.clone() {
                my_rows.push(row);
                their_rows.push(j as u32);
            }
        }
        if my_rows.is_empty() {
            return Ok(Vec::new());
        }
        let my_rows = UInt32Array::from(my_rows);
        let their_rows = UInt32Array::from(their_rows);
        let (left, right) = match side {
            0 => ((mine, &my_rows), (others, &their_rows)),
            _ => ((others, &their_rows), (mine, &my_rows)),
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
        let result = filter.evaluate(&joined)?.into_array(joined.num_rows())?;
        let result = result
            .as_boolean_opt()
            .ok_or_else(|| RuntimeError::Internal("the join condition is not boolean".into()))?;
        Ok((0..result.len())
            .map(|i| result.is_valid(i) && result.value(i))
            .collect())
    }

    /// The other side's rows of the first keys of `keys`, read from state once per key and
    /// decoded together, until about `OTHERS_PER_CHUNK` rows are read (at least one key);
    /// each key's `others` range is set to its rows. Returns how many keys were read.
    fn read_others(&self, side: usize, keys: &mut [BatchKey]) -> Result<(usize, Others)> {
        let other = 1 - side;
        let mut addresses = Vec::new();
        let mut records = Vec::new();
        let mut read = 0;
        for key in keys.iter_mut() {
            if read > 0 && addresses.len() >= OTHERS_PER_CHUNK {
                break;
            }
            read += 1;
            let start = addresses.len();
            for (address, value) in
                self.backend
                    .get_namespace_in(SIDE_STATES[other], key.group, key.key)?
            {
                records.push(Record::decode(&value)?);
                addresses.push(address);
            }
            key.others = start..addresses.len();
        }
        let schema = &self.sides[other].schema;
        let rows = match addresses.is_empty() {
            true => RecordBatch::new_empty(schema.clone()),
            false => {
                let converter = &self.sides[other].rows;
                let parser = converter.parser();
                RecordBatch::try_new(
                    schema.clone(),
                    converter.convert_rows(addresses.iter().map(|a| parser.parse(&a.key)))?,
                )?
            }
        };
        Ok((
            read,
            Others {
                touched: vec![false; records.len()],
                addresses,
                records,
                rows,
            },
        ))
    }

    /// Joins row `row` of this side (`side`) with the other side's rows it matches
    /// (`matched`, indices into `others`), updating their records; appends what is emitted.
    fn join_row(
        &self,
        side: usize,
        row: u32,
        kind: RowKind,
        matched: &[u32],
        others: &mut Others,
        out: &mut Output,
    ) {
        let other = 1 - side;
        let adds = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
        let pair = |mine: Option<u32>, theirs: Option<u32>| match side {
            0 => (mine, theirs),
            _ => (theirs, mine),
        };
        match self.emits {
            Emits::Pairs { outer } => {
                let forwarded = !outer[0] && !outer[1];
                let pair_kind = match (forwarded, adds) {
                    (true, _) => kind,
                    (false, true) => RowKind::Insert,
                    (false, false) => RowKind::Delete,
                };
                for &j in matched {
                    let record = &mut others.records[j as usize];
                    // The other row's null-padded result goes before its first pair and
                    // comes back after its last.
                    let padded = pair(None, Some(j));
                    let (l, r) = pair(Some(row), Some(j));
                    if outer[other] {
                        others.touched[j as usize] = true;
                        if adds && record.matches == 0 {
                            out.push(row, padded.0, padded.1, RowKind::Delete, record.count);
                        }
                        record.matches += if adds { 1 } else { -1 };
                    }
                    out.push(row, l, r, pair_kind, record.count);
                    if outer[other] && !adds && record.matches == 0 {
                        out.push(row, padded.0, padded.1, RowKind::Insert, record.count);
                    }
                }
                if matched.is_empty() && outer[side] {
                    let (l, r) = pair(Some(row), None);
                    let padded = if adds {
                        RowKind::Insert
                    } else {
                        RowKind::Delete
                    };
                    out.push(row, l, r, padded, 1);
                }
            }
            Emits::Kept { kept, anti } if kept == side => {
                // This row is emitted (with its own kind) while it has a match (semi) or
                // none (anti).
                let matched_rows: i64 = matched
                    .iter()
                    .map(|&j| others.records[j as usize].count)
                    .sum();
                if (matched_rows > 0) != anti {
                    out.push(row, Some(row), None, kind, 1);
                }
            }
            Emits::Kept { anti, .. } => {
                // A row of the filtering side: the kept rows it matches may gain their
                // first match or lose their last.
                for &j in matched {
                    let record = &mut others.records[j as usize];
                    let before = record.matches > 0;
                    record.matches += if adds { 1 } else { -1 };
                    let after = record.matches > 0;
                    others.touched[j as usize] = true;
                    if before != after {
                        let shown = after != anti;
                        let kind = if shown {
                            RowKind::Insert
                        } else {
                            RowKind::Delete
                        };
                        out.push(row, None, Some(j), kind, record.count);
                    }
                }
            }
        }
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
        let counts_matches = self.counts_matches(side);
        self.backend
            .update(SIDE_STATES[side], address, &mut |stored| {
                let mut record = match stored {
                    Some(v) => Record::decode(v)?,
                    None => Record {
                        count: 0,
                        matches: 0,
                    },
                };
                record.count += if adds { 1 } else { -1 };
                if counts_matches {
                    // Equal rows match the same rows of the other side.
                    record.matches = matched_rows;
                }
                Ok((record.count > 0).then(|| record.encode()))
            })
    }

    /// Joins a batch of input `side` (0: left, 1: right): the rows of each join key in
    /// arrival order, keys in order of first arrival, all against the other side's rows
    /// read once, with one output batch.
    fn join_batch(&mut self, side: usize, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let kinds = ops(&batch).cloned();
        let mine = RecordBatch::try_new(
            self.sides[side].schema.clone(),
            data_columns(&batch).to_vec(),
        )?;
        let key_columns: Vec<ArrayRef> = self.sides[side]
            .keys
            .iter()
            .map(|&i| mine.column(i).clone())
            .collect();
        let batch_keys = BatchKeys::new(
            &key_columns,
            &self.keys,
            self.max_parallelism,
            mine.num_rows(),
        )?;
        // A NULL key never matches.
        let mut keys: Vec<BatchKey> = Vec::new();
        let mut by_key: HashMap<&[u8], usize> = HashMap::new();
        let mut null_keyed = Vec::new();
        for (row, &group) in batch_keys.groups.iter().enumerate() {
            if !self.nulls_equal && key_columns.iter().any(|k| k.is_null(row)) {
                null_keyed.push(row as u32);
                continue;
            }
            let key = batch_keys.key(row);
            let at = *by_key.entry(key).or_insert_with(|| {
                keys.push(BatchKey {
                    key,
                    group,
                    rows: Vec::new(),
                    others: 0..0,
                });
                keys.len() - 1
            });
            keys[at].rows.push(row as u32);
        }
        drop(by_key);
        let mut emitted = Vec::new();
        let mut origins = Vec::new();
        // Rows with a NULL key: as rows that match nothing, never kept.
        let shows_unmatched = match self.emits {
            Emits::Pairs { outer } => outer[side],
            Emits::Kept { kept, anti } => kept == side && anti,
        };
        if shows_unmatched && !null_keyed.is_empty() {
            let mut output = Output::default();
            for &row in &null_keyed {
                let kind = row_kind(kinds.as_ref(), row as usize)?;
                let kind = match (self.emits, kind) {
                    (Emits::Kept { .. }, kind) => kind,
                    (_, RowKind::Insert | RowKind::UpdateAfter) => RowKind::Insert,
                    _ => RowKind::Delete,
                };
                let (l, r) = match side {
                    0 => (Some(row), None),
                    _ => (None, Some(row)),
                };
                output.push(row, l, r, kind, 1);
            }
            let none = RecordBatch::new_empty(self.sides[1 - side].schema.clone());
            origins.extend_from_slice(&output.origins);
            emitted.push(self.emit_over(side, &mine, &none, output)?);
        }
        let encoded = self.sides[side].rows.convert_columns(mine.columns())?;
        // Keys a chunk at a time, so that the other side's rows held at once stay bounded.
        let mut first = 0;
        while first < keys.len() {
            let (read, mut others) = self.read_others(side, &mut keys[first..])?;
            let chunk = &keys[first..first + read];
            let mut output = Output::default();
            // Rows whose pairs go through the condition together, a bounded number.
            let mut groups: Vec<Vec<(usize, u32)>> = vec![Vec::new()];
            let mut pairs = 0;
            for (k, key) in chunk.iter().enumerate() {
                for &row in &key.rows {
                    let pending = groups.last().map_or(0, Vec::len);
                    if pending > 0 && pairs + key.others.len() > PAIRS_PER_EVALUATION {
                        groups.push(Vec::new());
                        pairs = 0;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.push((k, row));
                    }
                    pairs += key.others.len();
                }
            }
            for units in groups.iter().filter(|g| !g.is_empty()) {
                self.join_units(
                    side,
                    &mine,
                    kinds.as_ref(),
                    &encoded,
                    chunk,
                    units,
                    &mut others,
                    &mut output,
                )?;
            }
            let Others {
                addresses,
                records,
                touched,
                rows: other_rows,
            } = others;
            for ((address, record), touched) in addresses.into_iter().zip(&records).zip(touched) {
                if touched {
                    self.backend
                        .put(SIDE_STATES[1 - side], address, record.encode())?;
                }
            }
            if !output.kinds.is_empty() {
                origins.extend_from_slice(&output.origins);
                emitted.push(self.emit_over(side, &mine, &other_rows, output)?);
            }
            first += read;
        }
        if !emitted.is_empty() {
            out.collect(in_arrival_order(&self.emitted_schema, &emitted, &origins)?);
        }
        Ok(())
    }

    /// Joins `units` (rows of this side with their key in `keys`), in order, with the other
    /// side's rows of their keys, updating both sides' records.
    #[allow(clippy::too_many_arguments)]
    fn join_units(
        &mut self,
        side: usize,
        mine: &RecordBatch,
        kinds: Option<&Int8Array>,
        encoded: &datafusion::arrow::row::Rows,
        keys: &[BatchKey],
        units: &[(usize, u32)],
        others: &mut Others,
        output: &mut Output,
    ) -> Result<()> {
        let mask = match &self.filter {
            Some(filter) => Some(self.units_mask(side, filter, mine, &others.rows, keys, units)?),
            None => None,
        };
        let mut matched = Vec::new();
        let mut pair = 0;
        for &(k, row) in units {
            let key = &keys[k];
            matched.clear();
            match &mask {
                None => matched.extend(key.others.clone().map(|j| j as u32)),
                Some(mask) => {
                    for j in key.others.clone() {
                        if mask[pair] {
                            matched.push(j as u32);
                        }
                        pair += 1;
                    }
                }
            }
            let kind = row_kind(kinds, row as usize)?;
            let matched_rows: i64 = matched
                .iter()
                .map(|&j| others.records[j as usize].count)
                .sum();
            self.join_row(side, row, kind, &matched, others, output);
            let adds = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
            self.update_record(
                side,
                encoded,
                row as usize,
                key.key,
                key.group,
                adds,
                matched_rows,
            )?;
        }
        Ok(())
    }

    /// `emit` with this side's rows `mine` and the other side's `theirs` in their places.
    fn emit_over(
        &self,
        side: usize,
        mine: &RecordBatch,
        theirs: &RecordBatch,
        out: Output,
    ) -> Result<RecordBatch> {
        match side {
            0 => self.emit(mine, theirs, out),
            _ => self.emit(theirs, mine, out),
        }
    }

    /// The rows `out` describes, over this batch's rows and the other side's rows it met.
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

/// The batches `emitted` as one, their rows in the order of `origins` (the input row each
/// comes from; the changes of one input row keep their order), as Flink emits them row by
/// row: an update that moves a row to another key must not send its new version first.
fn in_arrival_order(
    schema: &SchemaRef,
    emitted: &[RecordBatch],
    origins: &[u32],
) -> Result<RecordBatch> {
    let all = match emitted {
        [one] => one.clone(),
        _ => concat_batches(schema, emitted)?,
    };
    if origins.is_sorted() {
        return Ok(all);
    }
    let mut order: Vec<u32> = (0..origins.len() as u32).collect();
    order.sort_by_key(|&i| origins[i as usize]);
    Ok(take_record_batch(&all, &UInt32Array::from(order))?)
}

/// The row kind of row `row`: `+I` without kinds.
fn row_kind(kinds: Option<&Int8Array>, row: usize) -> Result<RowKind> {
    match kinds {
        None => Ok(RowKind::Insert),
        Some(k) => RowKind::from_i8(k.value(row))
            .ok_or_else(|| RuntimeError::Internal(format!("a row kind of {}", k.value(row)))),
    }
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
