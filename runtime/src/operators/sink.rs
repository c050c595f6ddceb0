//! The operator at the end of a chain that hands batches to a connector's writer. With
//! checkpoints on it drives the writer's two-phase commit: prepare at each barrier, keep
//! the committables in the checkpoint, commit when the checkpoint completes.

use std::collections::BTreeMap;

use datafusion::arrow::record_batch::RecordBatch;

use super::{Collector, OperatorContext, StreamOperator};
use crate::checkpoint::{
    decode_list, encode_list, CheckpointBarrier, CheckpointSettings, OperatorSnapshot,
    RestoredState, FINAL_CHECKPOINT_ID,
};
use crate::connector::SinkWriter;
use crate::error::Result;
use crate::jobgraph::SinkSpec;

/// Writes every batch it receives; emits nothing.
pub struct SinkOperator {
    table: String,
    writer: Box<dyn SinkWriter>,
    /// Rows handed to the writer count as the subtask's output (Flink counts a sink's
    /// written records as `numRecordsOut` too).
    metrics: std::sync::Arc<crate::metrics::TaskMetrics>,
    /// Checkpoints are on: output becomes visible through them, not at `finish`.
    two_phase: bool,
    /// Committables prepared per checkpoint and not yet committed.
    pending: BTreeMap<u64, Vec<Vec<u8>>>,
}

impl SinkOperator {
    /// Creates the connector's writer for this subtask.
    pub fn try_new(spec: &SinkSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let sink = ctx.resolver.create_sink(&spec.connector)?;
        Ok(Self {
            table: spec.connector.table.clone(),
            writer: sink.create_writer(ctx.info)?,
            metrics: ctx.info.metrics.clone(),
            two_phase: CheckpointSettings::from_config(ctx.config).enabled,
            pending: BTreeMap::new(),
        })
    }

    fn commit_up_to(&mut self, id: u64) -> Result<()> {
        let later = match id {
            FINAL_CHECKPOINT_ID => BTreeMap::new(),
            id => self.pending.split_off(&(id + 1)),
        };
        let due = std::mem::replace(&mut self.pending, later);
        let committables: Vec<Vec<u8>> = due.into_values().flatten().collect();
        if committables.is_empty() {
            return Ok(());
        }
        self.writer.commit(committables)
    }
}

impl StreamOperator for SinkOperator {
    fn name(&self) -> String {
        format!("Sink({})", self.table)
    }

    fn process_batch(&mut self, batch: RecordBatch, _out: &mut Collector) -> Result<()> {
        self.writer.write(&batch)?;
        crate::metrics::TaskMetrics::add(&self.metrics.num_records_out, batch.num_rows() as u64);
        Ok(())
    }

    fn process_watermark(&mut self, _: crate::Watermark, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, _out: &mut Collector) -> Result<()> {
        if !self.two_phase {
            return self.writer.finish();
        }
        let last = self.writer.prepare_commit(FINAL_CHECKPOINT_ID)?;
        if !last.is_empty() {
            self.pending.insert(FINAL_CHECKPOINT_ID, last);
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.writer.abort();
    }

    fn initialize_state(&mut self, state: RestoredState) -> Result<()> {
        let mut all = Vec::new();
        for bytes in &state.union {
            all.extend(decode_list(bytes)?);
        }
        self.writer.recover(&all)?;
        let mut mine = Vec::new();
        for bytes in &state.operator {
            mine.extend(decode_list(bytes)?);
        }
        // They belong to a completed checkpoint: commit them now (idempotently, as the
        // failed attempt may have committed some already).
        if !mine.is_empty() {
            self.writer.commit(mine)?;
        }
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        let prepared = self.writer.prepare_commit(barrier.id)?;
        if !prepared.is_empty() {
            self.pending.entry(barrier.id).or_default().extend(prepared);
        }
        // Committables of earlier checkpoints whose completion was not heard of yet are
        // kept too: restoring from this checkpoint commits them.
        let all: Vec<Vec<u8>> = self.pending.values().flatten().cloned().collect();
        Ok(OperatorSnapshot {
            keyed: Vec::new(),
            operator: if all.is_empty() {
                Vec::new()
            } else {
                encode_list(&all)
            },
            native: None,
        })
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.commit_up_to(id)
    }

    fn awaits_final_commit(&self) -> bool {
        self.pending.contains_key(&FINAL_CHECKPOINT_ID)
    }
}
