//! SESSION windows' rows, as Flink's merging windows keep them: a row arrives with its own
//! window `[ts, ts + gap)`; the windows of one partition key that touch (Flink's
//! `TimeWindow::intersects`, bounds inclusive) merge into one session, which closes when the
//! watermark passes its end. The rows wait in the keyed state backend (chunks under the
//! partition key, `state/rows.rs`), so RocksDB spills them and checkpoints carry them. In
//! memory there is only each key's merged extents and an index by end, so a watermark
//! touches only the keys whose sessions close.
//!
//! A row whose own window had already fired when it came is late, but still counts if it
//! merges into a session with an on-time row; a session of late rows only is dropped.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, Rows, SortField};

use super::is_fired;
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::operators::BufferBudget;
use crate::state::rows::{chunk_seq, RowsCodec};
use crate::state::{KeyedStateBackend, StateKey};

/// The state SESSION rows are stored under.
pub const SESSION_ROWS: &str = "session-rows";

/// One merged session of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Session {
    start: i64,
    end: i64,
    /// Whether it holds a row that was on time.
    on_time: bool,
}

/// Rows of sessions that closed, with each row's session bounds.
pub struct FiredSessions {
    /// In the operator's input schema.
    pub rows: RecordBatch,
    pub starts: Vec<i64>,
    pub ends: Vec<i64>,
    /// Rows dropped because their session held only late rows.
    pub dropped: u64,
}

/// The open sessions of one SESSION window aggregation subtask.
pub struct Sessions {
    input_schema: SchemaRef,
    /// Rows as stored: the input columns, then the row's window start, end and lateness.
    stored_schema: SchemaRef,
    codec: RowsCodec,
    /// Partition keys (Arrow row format of the key columns) with open sessions, by id.
    ids: HashMap<Vec<u8>, u32>,
    keys: Vec<Vec<u8>>,
    /// Per key id: the key group its rows are stored in.
    groups: Vec<u32>,
    /// Per key id: its merged sessions, disjoint and sorted by start.
    open: Vec<Vec<Session>>,
    /// Ids of keys without sessions, for reuse.
    free: Vec<u32>,
    /// (end, key id) of every open session: what a watermark closes.
    by_end: BTreeSet<(i64, u32)>,
    seq: u64,
    /// With the heap backend, the bytes stored against the buffer memory limit.
    budget: Option<BufferBudget>,
    max_parallelism: u32,
}

impl Sessions {
    pub fn new(
        input_schema: SchemaRef,
        budget: Option<BufferBudget>,
        max_parallelism: u32,
    ) -> Result<Self> {
        let mut fields: Vec<_> = input_schema.fields().iter().cloned().collect();
        for name in ["__start", "__end"] {
            fields.push(Arc::new(Field::new(name, DataType::Int64, false)));
        }
        fields.push(Arc::new(Field::new("__late", DataType::Boolean, false)));
        let stored_schema = Arc::new(Schema::new(fields));
        Ok(Self {
            codec: RowsCodec::new(stored_schema.clone())?,
            stored_schema,
            input_schema,
            ids: HashMap::new(),
            keys: Vec::new(),
            groups: Vec::new(),
            open: Vec::new(),
            free: Vec::new(),
            by_end: BTreeSet::new(),
            seq: 0,
            budget,
            max_parallelism,
        })
    }

    /// The id of a partition key in `group`, interned on first sight.
    fn id(&mut self, key: &[u8], group: u32) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.keys[id as usize] = key.to_vec();
                self.groups[id as usize] = group;
                id
            }
            None => {
                self.keys.push(key.to_vec());
                self.groups.push(group);
                self.open.push(Vec::new());
                (self.keys.len() - 1) as u32
            }
        };
        self.ids.insert(key.to_vec(), id);
        id
    }

    /// Forgets a key whose sessions all closed.
    fn release(&mut self, id: u32) {
        let key = std::mem::take(&mut self.keys[id as usize]);
        self.ids.remove(&key);
        self.free.push(id);
    }

    /// Buffers rows (all with a window) of `batch`: `starts`/`ends` are their own windows
    /// in epoch ms, `partition` the key columns the exchange hashed, `late` whether each
    /// row's window had fired.
    pub fn add(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        batch: &RecordBatch,
        starts: &[i64],
        ends: &[i64],
        partition: &[ArrayRef],
        late: &[bool],
    ) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(Int64Array::from(starts.to_vec())));
        columns.push(Arc::new(Int64Array::from(ends.to_vec())));
        columns.push(Arc::new(BooleanArray::from(late.to_vec())));
        let stored = RecordBatch::try_new(self.stored_schema.clone(), columns)?;
        let groups = match partition.is_empty() {
            true => vec![0; batch.num_rows()],
            false => key_groups(partition, self.max_parallelism)?,
        };
        let encoded = key_rows(partition)?;
        let key_of = |row: usize| encoded.as_ref().map_or(&[][..], |r| r.row(row).data());
        let mut by_key: HashMap<&[u8], Vec<u32>> = HashMap::new();
        for row in 0..batch.num_rows() {
            by_key.entry(key_of(row)).or_default().push(row as u32);
        }
        for (key, rows) in by_key {
            let group = groups[rows[0] as usize];
            let id = self.id(key, group);
            for &row in &rows {
                let row = row as usize;
                self.merge(id, starts[row], ends[row], !late[row]);
            }
            let part = take_record_batch(&stored, &UInt32Array::from(rows))?;
            let bytes =
                self.codec
                    .put_in_group(backend, SESSION_ROWS, key, &part, group, &mut self.seq)?;
            if let Some(budget) = &mut self.budget {
                budget.add_bytes(bytes)?;
            }
        }
        Ok(())
    }

    /// Merges the window `[start, end)` of one row into its key's sessions.
    fn merge(&mut self, id: u32, start: i64, end: i64, on_time: bool) {
        let sessions = &mut self.open[id as usize];
        let mut merged = Session {
            start,
            end,
            on_time,
        };
        // Disjoint and sorted by start: the touching sessions are contiguous.
        let first = sessions.partition_point(|s| s.end < start);
        let mut last = first;
        while last < sessions.len() && sessions[last].start <= end {
            let s = sessions[last];
            merged.start = merged.start.min(s.start);
            merged.end = merged.end.max(s.end);
            merged.on_time |= s.on_time;
            self.by_end.remove(&(s.end, id));
            last += 1;
        }
        sessions.splice(first..last, [merged]);
        self.by_end.insert((merged.end, id));
    }

    /// Takes the rows of every session whose end is at or below `time`, and stores the
    /// rows of the same keys' sessions that stay open back.
    pub fn take_fired(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        time: i64,
    ) -> Result<Option<FiredSessions>> {
        let due: BTreeSet<u32> = self
            .by_end
            .iter()
            .take_while(|(end, _)| is_fired(*end, time))
            .map(|(_, id)| *id)
            .collect();
        if due.is_empty() {
            return Ok(None);
        }
        let inputs = self.input_schema.fields().len();
        let (mut parts, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        let mut dropped = 0u64;
        for id in due {
            let key = self.keys[id as usize].clone();
            let sessions = std::mem::take(&mut self.open[id as usize]);
            let group = self.groups[id as usize];
            let mut chunks = backend.take_namespace_in(SESSION_ROWS, group, &key)?;
            chunks.sort_by_key(|(k, _)| chunk_seq(k));
            if let Some(budget) = &mut self.budget {
                budget.release_bytes(chunks.iter().map(|(_, v)| v.len()).sum());
            }
            let values: Vec<Vec<u8>> = chunks.into_iter().map(|(_, v)| v).collect();
            let stored = self.codec.decode(&values)?;
            let row_starts = stored.column(inputs).as_primitive::<Int64Type>();
            let (mut fired, mut waiting) = (Vec::new(), Vec::new());
            for row in 0..stored.num_rows() {
                let start = row_starts.value(row);
                let at = sessions.partition_point(|s| s.end < start);
                let session = sessions.get(at).copied().ok_or_else(|| {
                    RuntimeError::Internal("a buffered SESSION row belongs to no session".into())
                })?;
                if !is_fired(session.end, time) {
                    waiting.push(row as u32);
                } else if session.on_time {
                    fired.push(row as u32);
                    starts.push(session.start);
                    ends.push(session.end);
                } else {
                    dropped += 1;
                }
            }
            let (closed, open): (Vec<Session>, Vec<Session>) =
                sessions.into_iter().partition(|s| is_fired(s.end, time));
            for s in closed {
                self.by_end.remove(&(s.end, id));
            }
            if !waiting.is_empty() {
                let rest = take_record_batch(&stored, &UInt32Array::from(waiting))?;
                let bytes = self.codec.put_in_group(
                    backend,
                    SESSION_ROWS,
                    &key,
                    &rest,
                    group,
                    &mut self.seq,
                )?;
                if let Some(budget) = &mut self.budget {
                    budget.add_bytes(bytes)?;
                }
            }
            if open.is_empty() {
                self.release(id);
            } else {
                self.open[id as usize] = open;
            }
            if !fired.is_empty() {
                let rows = take_record_batch(&stored, &UInt32Array::from(fired))?;
                parts.push(RecordBatch::try_new(
                    self.input_schema.clone(),
                    rows.columns()[..inputs].to_vec(),
                )?);
            }
        }
        Ok(Some(FiredSessions {
            rows: concat_batches(&self.input_schema, &parts)?,
            starts,
            ends,
            dropped,
        }))
    }

    /// Takes back one restored chunk of SESSION rows (already among this subtask's key
    /// groups): stored again, and its rows' windows merged into their key's sessions.
    pub fn restore(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        key: StateKey,
        chunk: Vec<u8>,
    ) -> Result<()> {
        let stored = self.codec.decode(std::slice::from_ref(&chunk))?;
        let inputs = self.input_schema.fields().len();
        let starts = stored.column(inputs).as_primitive::<Int64Type>();
        let ends = stored.column(inputs + 1).as_primitive::<Int64Type>();
        let late = stored.column(inputs + 2).as_boolean();
        let id = self.id(&key.namespace, key.key_group);
        for row in 0..stored.num_rows() {
            self.merge(id, starts.value(row), ends.value(row), !late.value(row));
        }
        self.seq = self.seq.max(chunk_seq(&key));
        if let Some(budget) = &mut self.budget {
            budget.add_bytes(chunk.len())?;
        }
        backend.put(SESSION_ROWS, key, chunk)
    }
}

/// The partition keys in Arrow's row format; `None` without key columns (one key for all).
fn key_rows(partition: &[ArrayRef]) -> Result<Option<Rows>> {
    if partition.is_empty() {
        return Ok(None);
    }
    let converter = RowConverter::new(
        partition
            .iter()
            .map(|k| SortField::new(k.data_type().clone()))
            .collect(),
    )?;
    Ok(Some(converter.convert_columns(partition)?))
}
