//! The internal `materialized` connector: where a materialized view keeps its contents.
//! The view's job writes its changes through the sink, which commits them per completed
//! checkpoint ([`store`]); a `SELECT` over the view reads them back through the bounded
//! source, folded into the view's rows as of the newest complete checkpoint. Not for
//! `CREATE TABLE`: the gateway creates the table of a `CREATE MATERIALIZED VIEW`.

mod blobs;
mod fold;
mod listing;
pub mod retractions;
pub mod store;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
use eddy_runtime::connector::{
    ReaderPoll, Sink, SinkWriter, Source, SourceReader, SourceSplit, SubtaskInfo,
};
use eddy_runtime::jobgraph::ConnectorSpec;
use eddy_runtime::RuntimeError;

use crate::error::{ConnectorError, Result};
use crate::factory::TableFactory;
use crate::options::{get_required, OptionKey};
use store::{EpochId, Store};

/// `materialized.path`.
pub const PATH: OptionKey = OptionKey::new(
    "materialized.path",
    "The directory holding the view's committed changes (set by the gateway).",
);

/// `materialized.generation`.
pub const GENERATION: OptionKey = OptionKey::new(
    "materialized.generation",
    "Which job of the view this is: 0, then one more each time the view's job is started \
     again (set by the gateway).",
);

/// `materialized.key`.
pub const KEY: OptionKey = OptionKey::new(
    "materialized.key",
    "The view's key columns, by position from 0, separated by commas: the view keeps the \
     latest row of each key, and its job sends upserts (set by the gateway when the query's \
     upsert key has each key's changes in order). Without it the view is a multiset of rows.",
);

/// The view's key columns, from `materialized.key`.
pub fn key_of(options: &BTreeMap<String, String>) -> Result<Option<Vec<usize>>> {
    let Some(text) = options.get(KEY.key) else {
        return Ok(None);
    };
    text.split(',')
        .map(|c| {
            c.trim()
                .parse::<usize>()
                .map_err(|e| ConnectorError::invalid(KEY.key, text, format!("{e}")))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The `materialized` connector.
#[derive(Debug, Default)]
pub struct MaterializedTableFactory;

impl MaterializedTableFactory {
    fn store(&self, spec: &ConnectorSpec) -> Result<Store> {
        let key = key_of(&spec.options)?;
        let width = spec.schema.decode()?.fields().len();
        if let Some(c) = key.iter().flatten().find(|&&c| c >= width) {
            return Err(ConnectorError::invalid(
                KEY.key,
                &spec.options[KEY.key],
                format!("the view has no column {c}"),
            ));
        }
        Ok(Store::open(get_required(self.identifier(), &spec.options, &PATH)?)?.keyed(key))
    }
}

impl TableFactory for MaterializedTableFactory {
    fn identifier(&self) -> &'static str {
        "materialized"
    }

    fn is_internal(&self) -> bool {
        true
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![PATH]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![GENERATION, KEY]
    }

    fn is_bounded(&self, _options: &BTreeMap<String, String>) -> bool {
        true
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(MaterializedSource {
            store: self.store(spec)?,
            schema: spec.schema.decode()?,
        }))
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let generation = match spec.options.get(GENERATION.key) {
            None => 0,
            Some(g) => g
                .parse()
                .map_err(|e| ConnectorError::invalid(GENERATION.key, g, format!("{e}")))?,
        };
        Ok(Arc::new(MaterializedSink {
            store: self.store(spec)?,
            schema: spec.schema.decode()?,
            generation,
        }))
    }
}

struct MaterializedSink {
    store: Store,
    schema: SchemaRef,
    generation: u32,
}

impl Sink for MaterializedSink {
    fn create_writer(&self, info: &SubtaskInfo) -> eddy_runtime::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(MaterializedWriter {
            store: self.store.clone(),
            schema: self.schema.clone(),
            generation: self.generation,
            subtask: info.subtask_index,
            parallelism: info.parallelism,
            pending: Vec::new(),
            last_prepared: 0,
        }))
    }
}

/// Keeps a subtask's changes since the last barrier; they become a committable at the
/// barrier and reach the view's directory once the checkpoint completed.
struct MaterializedWriter {
    store: Store,
    schema: SchemaRef,
    generation: u32,
    subtask: u32,
    parallelism: u32,
    pending: Vec<RecordBatch>,
    /// The last checkpoint prepared for, so the last commit can name the epoch after it.
    last_prepared: u64,
}

impl MaterializedWriter {
    fn epoch(&self, checkpoint_id: u64) -> EpochId {
        let last = checkpoint_id == FINAL_CHECKPOINT_ID;
        EpochId {
            generation: self.generation,
            // The input ended: these changes belong to the first checkpoint after the
            // last one prepared for, the earliest the other subtasks can complete with
            // them (the job's checkpoints after this subtask finished hold them).
            epoch: match last {
                true => self.last_prepared + 1,
                false => checkpoint_id,
            },
            subtask: self.subtask,
            parallelism: self.parallelism,
            last,
        }
    }

    fn commit_one(&self, id: EpochId, changes: &[RecordBatch]) -> eddy_runtime::Result<()> {
        self.store.commit(id, changes)?;
        if self.subtask == 0 {
            // Compaction only saves space: failing it must not fail the commit (and the
            // job with it); the next commit tries again.
            if let Err(e) = self.store.compact_if_due(&self.schema) {
                tracing::warn!(view = %self.store.location(), error = %e, "cannot compact the materialized view");
            }
        }
        Ok(())
    }
}

impl SinkWriter for MaterializedWriter {
    fn write(&mut self, batch: &RecordBatch) -> eddy_runtime::Result<()> {
        if batch.num_rows() > 0 {
            self.pending.push(batch.clone());
        }
        Ok(())
    }

    /// Without checkpoints (the gateway always turns them on for a view's job, so only
    /// when configured otherwise by hand) the changes become visible at the end.
    fn finish(&mut self) -> eddy_runtime::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.commit_one(self.epoch(FINAL_CHECKPOINT_ID), &pending)
    }

    fn abort(&mut self) {
        self.pending.clear();
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> eddy_runtime::Result<Vec<Vec<u8>>> {
        let pending = std::mem::take(&mut self.pending);
        let id = self.epoch(checkpoint_id);
        if checkpoint_id != FINAL_CHECKPOINT_ID {
            self.last_prepared = checkpoint_id;
        }
        Ok(vec![encode_committable(id, &pending)?])
    }

    /// A restore: the previous generation's commits count only up to the checkpoint
    /// restored, which is the newest epoch among its committables (every subtask prepares
    /// one at every checkpoint); this generation makes whatever came after again.
    fn recover(&mut self, all_committables: &[Vec<u8>]) -> eddy_runtime::Result<()> {
        let mut restored: Option<(u32, u64)> = None;
        for committable in all_committables {
            let id = decode_header(committable)?;
            if id.generation < self.generation {
                restored = restored.max(Some((id.generation, id.epoch)));
            }
        }
        match restored {
            Some((generation, epoch)) => self.store.cap(generation, epoch),
            None => Ok(()),
        }
    }

    fn commit(&mut self, committables: Vec<Vec<u8>>) -> eddy_runtime::Result<()> {
        for committable in committables {
            let (id, changes) = decode_committable(&committable)?;
            self.commit_one(id, &changes)?;
        }
        Ok(())
    }
}

/// A committable: the length of a JSON header (4 bytes, little-endian), the header (the
/// epoch), then the changes as an Arrow IPC stream (absent when there are none).
fn encode_committable(id: EpochId, changes: &[RecordBatch]) -> eddy_runtime::Result<Vec<u8>> {
    let header = serde_json::to_vec(&id).map_err(|e| RuntimeError::Internal(e.to_string()))?;
    let mut out = Vec::with_capacity(4 + header.len());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    if let Some(first) = changes.first() {
        let mut writer = StreamWriter::try_new(&mut out, &first.schema())?;
        for b in changes {
            writer.write(b)?;
        }
        writer.finish()?;
    }
    Ok(out)
}

fn damaged() -> RuntimeError {
    RuntimeError::Internal("a materialized view committable is damaged".into())
}

/// A committable's header and where its changes start.
fn split_committable(bytes: &[u8]) -> eddy_runtime::Result<(EpochId, &[u8])> {
    let len_bytes: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let header = bytes.get(4..4 + len).ok_or_else(damaged)?;
    let id: EpochId = serde_json::from_slice(header).map_err(|_| damaged())?;
    Ok((id, &bytes[4 + len..]))
}

fn decode_header(bytes: &[u8]) -> eddy_runtime::Result<EpochId> {
    split_committable(bytes).map(|(id, _)| id)
}

fn decode_committable(bytes: &[u8]) -> eddy_runtime::Result<(EpochId, Vec<RecordBatch>)> {
    let (id, rest) = split_committable(bytes)?;
    if rest.is_empty() {
        return Ok((id, Vec::new()));
    }
    let reader = StreamReader::try_new(Cursor::new(rest), None)?;
    Ok((id, reader.collect::<std::result::Result<Vec<_>, _>>()?))
}

/// Reads the view's contents once.
struct MaterializedSource {
    store: Store,
    schema: SchemaRef,
}

impl Source for MaterializedSource {
    fn is_bounded(&self) -> bool {
        true
    }

    fn enumerate_splits(&self, _parallelism: u32) -> eddy_runtime::Result<Vec<SourceSplit>> {
        Ok(vec![SourceSplit {
            id: "contents".into(),
            state: serde_json::json!({ "done": false }),
        }])
    }

    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        info: &SubtaskInfo,
    ) -> eddy_runtime::Result<Box<dyn SourceReader>> {
        let done = splits
            .first()
            .is_none_or(|s| s.state["done"].as_bool().unwrap_or(true));
        Ok(Box::new(MaterializedReader {
            store: self.store.clone(),
            schema: self.schema.clone(),
            batch_size: info.batch_size.max(1),
            rows: None,
            done,
        }))
    }
}

struct MaterializedReader {
    store: Store,
    schema: SchemaRef,
    batch_size: usize,
    /// The contents read, and how many rows of them have gone out.
    rows: Option<(RecordBatch, usize)>,
    done: bool,
}

impl SourceReader for MaterializedReader {
    fn poll_next(&mut self) -> eddy_runtime::Result<ReaderPoll> {
        if self.done {
            return Ok(ReaderPoll::Finished);
        }
        if self.rows.is_none() {
            let batches = self.store.read(&self.schema)?;
            let all = datafusion::arrow::compute::concat_batches(&self.schema, &batches)?;
            self.rows = Some((all, 0));
        }
        let Some((all, at)) = self.rows.as_mut() else {
            return Ok(ReaderPoll::Finished);
        };
        if *at >= all.num_rows() {
            self.done = true;
            return Ok(ReaderPoll::Finished);
        }
        let n = self.batch_size.min(all.num_rows() - *at);
        let batch = all.slice(*at, n);
        *at += n;
        Ok(ReaderPoll::Batch(batch))
    }

    /// The contents are read whole at the first poll, so a checkpoint can only say
    /// whether they went out.
    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> eddy_runtime::Result<Vec<SourceSplit>> {
        Ok(match self.done {
            true => Vec::new(),
            false => vec![SourceSplit {
                id: "contents".into(),
                state: serde_json::json!({ "done": false }),
            }],
        })
    }
}

#[cfg(test)]
mod tests;
