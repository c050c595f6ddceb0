//! Temporal join (`JOIN r FOR SYSTEM_TIME AS OF l.time`): each left row joined with the
//! right rows valid at its time. Two modes:
//!
//! - **Event time** (Flink's `TemporalRowTimeJoinOperator`): the right input is a versioned
//!   table, one version per rowtime of each join key (a later row at the same time replaces
//!   it; a `-D` is a version without data; `-U` is dropped, as Flink's planner drops it).
//!   Left rows wait in keyed state until the watermark (the smaller of both inputs') passes
//!   their time, then join the latest version at or before it. Versions older than the
//!   one valid at the watermark are removed then. A left row that arrives late joins what
//!   is still kept at the next watermark, as in Flink.
//! - **Processing time over a bounded right input**: a lookup join that needs no lookup
//!   source. The right input is read whole into keyed state first (left rows wait, and so
//!   do watermarks); from its end on, each left row joins every right row of its key as it
//!   arrives.
//!
//! Both emit each left row's matches, or for a LEFT join one row padded with nulls when
//! none passes the condition, with the left row's kind: the output changes only as the
//! left input does, never because the right one changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int8Array, UInt32Array};
use datafusion::arrow::compute::{filter_record_batch, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::changelog::{data_columns, ops};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::TemporalJoinSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{for_each_restored, keyed_snapshot};
use crate::state::timed_key::{seq_of, time_of, timed_key};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::{cast_millis, Watermark};

/// Left rows waiting: namespace = join key, key = (time, arrival), value = kind, row.
const LEFT_ROWS: &str = "temporal-join-left-rows";
/// Event time: namespace = join key, key = (rowtime, 0), value = has data, row.
const RIGHT_VERSIONS: &str = "temporal-join-right-versions";
/// Processing time: namespace = join key, key = row, value = how many times it is there.
const RIGHT_ROWS: &str = "temporal-join-right-rows";

/// A left row taken out of state to be joined.
struct LeftRow {
    kind: i8,
    row: Vec<u8>,
}

/// Event time: a left row the watermark passed, with the version it joins.
struct Ready {
    time: i64,
    seq: u64,
    kind: i8,
    row: Vec<u8>,
    version: Option<Vec<u8>>,
}

/// Joined pairs to emit: left rows, right rows, and which right row (if any) each left
/// row is paired with; a left row may appear in several pairs.
#[derive(Default)]
struct Pairs {
    left: Vec<LeftRow>,
    right: Vec<Vec<u8>>,
    pairs: Vec<(u32, Option<u32>)>,
}

pub struct TemporalJoinOperator {
    left_schema: SchemaRef,
    right_schema: SchemaRef,
    output_schema: SchemaRef,
    joined_schema: SchemaRef,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
    left_output: usize,
    right_output: usize,
    left_time: usize,
    right_time: Option<usize>,
    filter: Option<Arc<dyn PhysicalExpr>>,
    left_outer: bool,
    updating: bool,
    keys: RowConverter,
    left_rows: RowConverter,
    right_rows: RowConverter,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    watermark: i64,
    seq: u64,
    /// Event time: when a key must be visited (its earliest waiting left row or newest
    /// version), derived from state and rebuilt from it on restore.
    due: BTreeMap<i64, BTreeSet<(u32, Vec<u8>)>>,
    /// Processing time: keys with left rows waiting for the right input's end.
    waiting: BTreeSet<(u32, Vec<u8>)>,
    right_ended: bool,
    /// Processing time: the newest watermark, held back until the right input ended.
    held_watermark: Option<Watermark>,
    description: String,
}

fn converter(schema: &SchemaRef, columns: usize) -> Result<RowConverter> {
    Ok(RowConverter::new(
        schema
            .fields()
            .iter()
            .take(columns)
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )?)
}

impl TemporalJoinOperator {
    pub fn try_new(spec: &TemporalJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let (joined_schema, filter) = super::joined_rows(&left, &right, spec.filter.as_ref(), ctx)?;
        let keys = RowConverter::new(
            spec.left_keys
                .iter()
                .map(|&i| SortField::new(left.field(i).data_type().clone()))
                .collect(),
        )?;
        Ok(Self {
            left_rows: converter(&left, left.fields().len())?,
            right_rows: converter(&right, right.fields().len())?,
            left_schema: left,
            right_schema: right,
            output_schema: spec.output_schema.decode()?,
            joined_schema,
            left_keys: spec.left_keys.clone(),
            right_keys: spec.right_keys.clone(),
            left_output: spec.left_output_columns,
            right_output: spec.right_output_columns,
            left_time: spec.left_time,
            right_time: spec.right_time,
            filter,
            left_outer: spec.left_outer,
            updating: spec.updating,
            keys,
            backend: ctx.keyed_state_backend()?,
            max_parallelism: ctx.max_parallelism,
            watermark: i64::MIN,
            seq: 0,
            due: BTreeMap::new(),
            waiting: BTreeSet::new(),
            right_ended: false,
            held_watermark: None,
            description: spec.description.clone(),
        })
    }

    fn event_time(&self) -> bool {
        self.right_time.is_some()
    }

    fn schedule(&mut self, time: i64, group: u32, key: &[u8]) {
        self.due
            .entry(time)
            .or_default()
            .insert((group, key.to_vec()));
    }

    /// Left rows: waiting in state, or joined now when nothing is left to wait for.
    fn process_left(&mut self, batch: &RecordBatch, out: &mut Collector) -> Result<()> {
        let columns = data_columns(batch);
        let kinds = ops(batch);
        let key_columns: Vec<ArrayRef> =
            self.left_keys.iter().map(|&i| columns[i].clone()).collect();
        let key_rows = self.keys.convert_columns(&key_columns)?;
        let groups = key_groups(&key_columns, self.max_parallelism)?;
        let rows = self.left_rows.convert_columns(columns)?;
        let times = match self.event_time() {
            true => Some(cast_millis(&columns[self.left_time])?),
            false => None,
        };
        let mut pairs = Pairs::default();
        // A lookup join after the right input's end joins rows now, in their order; each
        // key's rows are looked up once.
        let mut looked_up: HashMap<(u32, &[u8]), Vec<Vec<u8>>> = HashMap::new();
        for (row, &group) in groups.iter().enumerate() {
            let kind = kinds.map_or(RowKind::Insert.to_i8(), |k| k.value(row));
            // A row without a time has no version: it matches nothing. (A NULL key waits
            // like any other and finds nothing, as the right side keeps no NULL key.)
            if times.as_ref().is_some_and(|t| t.is_null(row)) {
                if self.left_outer {
                    pairs.add(kind, rows.row(row).data().to_vec(), &[]);
                }
                continue;
            }
            let key = key_rows.row(row).data();
            if !self.event_time() && self.right_ended {
                let matches = match looked_up.entry((group, key)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(self.lookup(group, key)?)
                    }
                };
                pairs.add(kind, rows.row(row).data().to_vec(), matches);
                continue;
            }
            let time = times.as_ref().map_or(0, |t| t.value(row));
            self.seq += 1;
            let mut value = vec![kind as u8];
            value.extend_from_slice(rows.row(row).data());
            let address = StateKey {
                key_group: group,
                namespace: key.to_vec(),
                key: timed_key(time, self.seq),
            };
            self.backend.put(LEFT_ROWS, address, value)?;
            match self.event_time() {
                true => self.schedule(time, group, key),
                false => {
                    self.waiting.insert((group, key.to_vec()));
                }
            }
        }
        self.emit(pairs, out)
    }

    /// The right rows of a key, for a lookup join.
    fn lookup(&self, group: u32, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut matches = Vec::new();
        for (address, count) in self.backend.get_namespace_in(RIGHT_ROWS, group, key)? {
            for _ in 0..decode_count(&count)? {
                matches.push(address.key.clone());
            }
        }
        Ok(matches)
    }

    /// Right rows: versions (event time) or the lookup table's contents.
    fn process_right(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns = data_columns(batch);
        let kinds = ops(batch);
        let key_columns: Vec<ArrayRef> = self
            .right_keys
            .iter()
            .map(|&i| columns[i].clone())
            .collect();
        let key_rows = self.keys.convert_columns(&key_columns)?;
        let groups = key_groups(&key_columns, self.max_parallelism)?;
        let rows = self.right_rows.convert_columns(columns)?;
        let times = self
            .right_time
            .map(|t| cast_millis(&columns[t]))
            .transpose()?;
        for (row, &group) in groups.iter().enumerate() {
            let kind = kinds
                .and_then(|k| RowKind::from_i8(k.value(row)))
                .unwrap_or(RowKind::Insert);
            let no_time = times.as_ref().is_some_and(|t| t.is_null(row));
            if no_time || key_columns.iter().any(|k| k.is_null(row)) {
                continue;
            }
            let key = key_rows.row(row).data();
            let data = rows.row(row).data();
            match &times {
                Some(times) => {
                    if kind == RowKind::UpdateBefore {
                        continue;
                    }
                    let time = times.value(row);
                    let accumulate = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
                    let mut value = vec![u8::from(accumulate)];
                    value.extend_from_slice(data);
                    let address = StateKey {
                        key_group: group,
                        namespace: key.to_vec(),
                        key: timed_key(time, 0),
                    };
                    self.backend.put(RIGHT_VERSIONS, address, value)?;
                    self.schedule(time, group, key);
                }
                None => {
                    let address = StateKey {
                        key_group: group,
                        namespace: key.to_vec(),
                        key: data.to_vec(),
                    };
                    let count = match self.backend.get(RIGHT_ROWS, &address)? {
                        Some(c) => decode_count(&c)?,
                        None => 0,
                    };
                    let count = match kind {
                        RowKind::Insert | RowKind::UpdateAfter => count + 1,
                        RowKind::UpdateBefore | RowKind::Delete => count.saturating_sub(1),
                    };
                    match count {
                        0 => {
                            self.backend.remove(RIGHT_ROWS, &address)?;
                        }
                        n => self
                            .backend
                            .put(RIGHT_ROWS, address, n.to_be_bytes().to_vec())?,
                    }
                }
            }
        }
        Ok(())
    }

    /// Event time: joins a key's left rows at or before `watermark` with their versions,
    /// removes versions no left row can see any more, and schedules the key again.
    fn visit(
        &mut self,
        group: u32,
        key: &[u8],
        watermark: i64,
        ready: &mut Vec<Ready>,
    ) -> Result<()> {
        let mut versions: Vec<(i64, StateKey, Vec<u8>)> = self
            .backend
            .get_namespace_in(RIGHT_VERSIONS, group, key)?
            .into_iter()
            .map(|(address, value)| Ok((time_of(&address.key)?, address, value)))
            .collect::<Result<_>>()?;
        versions.sort_by_key(|v| v.0);
        let left: Vec<(i64, u64, StateKey, Vec<u8>)> = self
            .backend
            .get_namespace_in(LEFT_ROWS, group, key)?
            .into_iter()
            .map(|(address, value)| {
                Ok((time_of(&address.key)?, seq_of(&address.key), address, value))
            })
            .collect::<Result<_>>()?;
        let mut next_left = None::<i64>;
        for (time, seq, address, value) in left {
            if time > watermark {
                next_left = Some(next_left.map_or(time, |n| n.min(time)));
                continue;
            }
            self.backend.remove(LEFT_ROWS, &address)?;
            let (kind, row) = value
                .split_first()
                .ok_or_else(|| RuntimeError::Internal("a temporal join row is empty".into()))?;
            // The latest version at or before the row's time, if it holds data.
            let at = versions.partition_point(|v| v.0 <= time);
            let version = at
                .checked_sub(1)
                .map(|i| &versions[i].2)
                .and_then(|v| v.split_first())
                .filter(|(has_data, _)| **has_data == 1)
                .map(|(_, row)| row.to_vec());
            ready.push(Ready {
                time,
                seq,
                kind: *kind as i8,
                row: row.to_vec(),
                version,
            });
        }
        // Keep the version valid at the watermark and every later one.
        let valid = versions.partition_point(|v| v.0 <= watermark);
        for (_, address, _) in versions.iter().take(valid.saturating_sub(1)) {
            self.backend.remove(RIGHT_VERSIONS, address)?;
        }
        let next_version = versions.get(valid).map(|v| v.0);
        for time in [next_left, next_version].into_iter().flatten() {
            self.schedule(time, group, key);
        }
        Ok(())
    }

    /// Processing time: the right input is complete; joins every waiting left row.
    fn release_waiting(&mut self, out: &mut Collector) -> Result<()> {
        self.right_ended = true;
        // Every waiting row with its key's matches, then all in arrival order.
        let mut waiting: Vec<(u64, usize, Vec<u8>)> = Vec::new();
        let mut matches = Vec::new();
        for (group, key) in std::mem::take(&mut self.waiting) {
            matches.push(self.lookup(group, &key)?);
            for (address, value) in self.backend.take_namespace_in(LEFT_ROWS, group, &key)? {
                waiting.push((seq_of(&address.key), matches.len() - 1, value));
            }
        }
        waiting.sort_by_key(|w| w.0);
        let mut pairs = Pairs::default();
        for (_, m, value) in waiting {
            let (kind, row) = value
                .split_first()
                .ok_or_else(|| RuntimeError::Internal("a temporal join row is empty".into()))?;
            pairs.add(*kind as i8, row.to_vec(), &matches[m]);
        }
        self.emit(pairs, out)?;
        if let Some(w) = self.held_watermark.take() {
            out.emit_watermark(w);
        }
        Ok(())
    }

    /// Evaluates the condition over the pairs and emits each left row's passing pairs, or
    /// (LEFT join) the row padded with nulls when none passes.
    fn emit(&self, pairs: Pairs, out: &mut Collector) -> Result<()> {
        if pairs.pairs.is_empty() {
            return Ok(());
        }
        let left_rows: Vec<&[u8]> = pairs.left.iter().map(|l| l.row.as_slice()).collect();
        let right_rows: Vec<&[u8]> = pairs.right.iter().map(Vec::as_slice).collect();
        let left = super::decode_rows(&self.left_rows, &self.left_schema, &left_rows)?;
        let right = super::decode_rows(&self.right_rows, &self.right_schema, &right_rows)?;
        let left_index = UInt32Array::from_iter_values(pairs.pairs.iter().map(|p| p.0));
        let right_index: UInt32Array = pairs.pairs.iter().map(|p| p.1).collect();
        let joined = self.take_pairs(&left, &right, &left_index, &right_index)?;
        let passed: Vec<bool> = match &self.filter {
            None => pairs.pairs.iter().map(|p| p.1.is_some()).collect(),
            Some(f) => {
                let mask = f.evaluate(&joined)?.into_array(joined.num_rows())?;
                let mask = mask.as_boolean_opt().ok_or_else(|| {
                    RuntimeError::Internal("the join condition is not boolean".into())
                })?;
                (0..joined.num_rows())
                    .map(|i| pairs.pairs[i].1.is_some() && mask.is_valid(i) && mask.value(i))
                    .collect()
            }
        };
        // Per left row: its passing pairs, else one padded row for a LEFT join.
        let mut any = vec![false; pairs.left.len()];
        for (p, ok) in pairs.pairs.iter().zip(&passed) {
            any[p.0 as usize] |= *ok;
        }
        let mut keep = Vec::with_capacity(passed.len());
        let mut padded_once = vec![false; pairs.left.len()];
        let mut right_final = Vec::with_capacity(passed.len());
        for (p, ok) in pairs.pairs.iter().zip(&passed) {
            let l = p.0 as usize;
            let pad = self.left_outer && !any[l] && !padded_once[l];
            padded_once[l] |= pad;
            keep.push(*ok || pad);
            right_final.push(if *ok { p.1 } else { None });
        }
        let right_final: UInt32Array = right_final.into_iter().collect();
        let joined = self.take_pairs(&left, &right, &left_index, &right_final)?;
        let kinds =
            Int8Array::from_iter_values(pairs.pairs.iter().map(|p| pairs.left[p.0 as usize].kind));
        let mut columns: Vec<ArrayRef> = joined.columns()[..self.left_output].to_vec();
        let right_start = self.left_schema.fields().len();
        columns.extend_from_slice(&joined.columns()[right_start..right_start + self.right_output]);
        if self.updating {
            columns.push(Arc::new(kinds));
        }
        let batch = RecordBatch::try_new_with_options(
            self.output_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(joined.num_rows())),
        )?;
        let batch = filter_record_batch(&batch, &BooleanArray::from(keep))?;
        if batch.num_rows() > 0 {
            out.collect(batch);
        }
        Ok(())
    }

    fn take_pairs(
        &self,
        left: &RecordBatch,
        right: &RecordBatch,
        left_index: &UInt32Array,
        right_index: &UInt32Array,
    ) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(self.joined_schema.fields().len());
        for c in left.columns() {
            columns.push(take(c.as_ref(), left_index, None)?);
        }
        for c in right.columns() {
            columns.push(take(c.as_ref(), right_index, None)?);
        }
        Ok(RecordBatch::try_new_with_options(
            self.joined_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(left_index.len())),
        )?)
    }
}

impl Pairs {
    /// A left row paired with each of `matches` (none: one pair without a right row).
    fn add(&mut self, kind: i8, row: Vec<u8>, matches: &[Vec<u8>]) {
        let at = self.left.len() as u32;
        self.left.push(LeftRow { kind, row });
        if matches.is_empty() {
            self.pairs.push((at, None));
        }
        for m in matches {
            self.pairs.push((at, Some(self.right.len() as u32)));
            self.right.push(m.clone());
        }
    }
}

fn decode_count(bytes: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| RuntimeError::Internal("a temporal join row count is malformed".into()))?;
    Ok(u64::from_be_bytes(bytes))
}

impl StreamOperator for TemporalJoinOperator {
    fn name(&self) -> String {
        format!("TemporalJoin({})", self.description)
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
        match input {
            0 => self.process_left(&batch, out),
            _ => self.process_right(&batch),
        }
    }

    fn end_input(&mut self, input: usize, out: &mut Collector) -> Result<()> {
        if input == 1 && !self.event_time() && !self.right_ended {
            self.release_waiting(out)?;
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        if !self.event_time() {
            // Rows still waiting for the right input carry earlier times.
            match self.right_ended {
                true => out.emit_watermark(watermark),
                false => self.held_watermark = Some(watermark),
            }
            return Ok(());
        }
        self.watermark = self.watermark.max(watermark.0);
        let mut keys = BTreeSet::new();
        while let Some(entry) = self.due.first_entry() {
            if *entry.key() > self.watermark {
                break;
            }
            keys.extend(entry.remove());
        }
        let mut ready = Vec::new();
        for (group, key) in keys {
            self.visit(group, &key, self.watermark, &mut ready)?;
        }
        // In time order, rows of one time in arrival order, across keys too (Flink fires
        // its timers in time order).
        ready.sort_by_key(|r| (r.time, r.seq));
        let mut pairs = Pairs::default();
        for r in ready {
            pairs.add(r.kind, r.row, r.version.as_slice());
        }
        self.emit(pairs, out)?;
        out.emit_watermark(watermark);
        Ok(())
    }

    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        match self.event_time() {
            true => self.process_watermark(Watermark(i64::MAX), out),
            false if !self.right_ended => self.release_waiting(out),
            false => Ok(()),
        }
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        keyed_snapshot(self.backend.as_mut(), barrier)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        let own = self.backend.key_group_range();
        let mut entries = Vec::new();
        for_each_restored(&restored, own, &mut |state, key, value| {
            if ![LEFT_ROWS, RIGHT_VERSIONS, RIGHT_ROWS].contains(&state.as_str()) {
                return Err(RuntimeError::User(format!(
                    "the state restored for the temporal join {} holds '{state}', which it does not keep",
                    self.description
                )));
            }
            entries.push((state, key, value));
            Ok(())
        })?;
        // What is due when is derived from the rows, so it is rebuilt from them.
        for (state, key, value) in entries {
            if state == LEFT_ROWS {
                self.seq = self.seq.max(seq_of(&key.key));
                match self.event_time() {
                    true => self.schedule(time_of(&key.key)?, key.key_group, &key.namespace),
                    false => {
                        self.waiting.insert((key.key_group, key.namespace.clone()));
                    }
                }
            } else if state == RIGHT_VERSIONS {
                self.schedule(time_of(&key.key)?, key.key_group, &key.namespace);
            }
            self.backend.put(&state, key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
