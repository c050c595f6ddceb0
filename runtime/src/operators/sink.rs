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
    /// The last checkpoint this subtask took a snapshot for.
    last_snapshot: u64,
    /// Set when input ended: the last checkpoint snapshotted before. Any later checkpoint
    /// that completes holds the final snapshot, and with it the final committables.
    finished_after: Option<u64>,
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
            last_snapshot: 0,
            finished_after: None,
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

    fn process_watermark(&mut self, w: crate::Watermark, _out: &mut Collector) -> Result<()> {
        self.writer.on_watermark(w.0);
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
        self.finished_after = Some(self.last_snapshot);
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
        if barrier.id == FINAL_CHECKPOINT_ID {
            // The final snapshot: `finish` prepared what it holds.
            let all: Vec<Vec<u8>> = self.pending.values().flatten().cloned().collect();
            return Ok(OperatorSnapshot {
                keyed: Vec::new(),
                operator: if all.is_empty() {
                    Vec::new()
                } else {
                    encode_list(&all)
                },
                native: None,
            });
        }
        self.last_snapshot = barrier.id;
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
        // A checkpoint after the input ended holds this subtask's final snapshot (FLIP-147):
        // its final committables are as safe as the job's own, so they are committed now
        // rather than when the whole job ends.
        match self.finished_after {
            Some(after) if id > after => self.commit_up_to(FINAL_CHECKPOINT_ID),
            _ => self.commit_up_to(id),
        }
    }

    fn awaits_final_commit(&self) -> bool {
        // Anything prepared and not committed yet, not only what `finish` prepared: a
        // checkpoint taken before the end whose completion is still to come must find this
        // subtask alive to commit it (the job's final checkpoint commits it otherwise).
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::checkpoint::CheckpointKind;

    /// Prepares one committable per call, naming the checkpoint; records commits.
    struct Recording(Arc<Mutex<Vec<String>>>);

    impl SinkWriter for Recording {
        fn write(&mut self, _batch: &RecordBatch) -> Result<()> {
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            Ok(())
        }
        fn prepare_commit(&mut self, id: u64) -> Result<Vec<Vec<u8>>> {
            let name = match id {
                FINAL_CHECKPOINT_ID => "final".to_string(),
                id => id.to_string(),
            };
            Ok(vec![name.into_bytes()])
        }
        fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
            let mut seen = self.0.lock().unwrap();
            seen.extend(
                committables
                    .into_iter()
                    .map(|c| String::from_utf8(c).unwrap()),
            );
            Ok(())
        }
    }

    fn barrier(id: u64) -> CheckpointBarrier {
        CheckpointBarrier {
            id,
            timestamp: 0,
            kind: CheckpointKind::Checkpoint,
        }
    }

    #[test]
    fn a_finished_subtask_commits_with_the_first_checkpoint_after_it_finished() {
        let committed = Arc::new(Mutex::new(Vec::new()));
        let mut sink = SinkOperator {
            table: "t".into(),
            writer: Box::new(Recording(committed.clone())),
            metrics: Default::default(),
            two_phase: true,
            pending: BTreeMap::new(),
            last_snapshot: 0,
            finished_after: None,
        };
        sink.snapshot_state(&barrier(1)).unwrap();
        sink.snapshot_state(&barrier(2)).unwrap();
        sink.notify_checkpoint_complete(1).unwrap();
        assert_eq!(*committed.lock().unwrap(), ["1"]);
        sink.finish(&mut Collector::default()).unwrap();
        let last = sink.snapshot_state(&barrier(FINAL_CHECKPOINT_ID)).unwrap();
        assert!(
            !last.operator.is_empty(),
            "the final snapshot holds what is pending"
        );
        assert!(sink.awaits_final_commit());
        // Checkpoint 2 was snapshotted before the end: only its own committable is due.
        sink.notify_checkpoint_complete(2).unwrap();
        assert_eq!(*committed.lock().unwrap(), ["1", "2"]);
        // Checkpoint 3 holds the final snapshot: the final committable is due with it.
        sink.notify_checkpoint_complete(3).unwrap();
        assert_eq!(*committed.lock().unwrap(), ["1", "2", "final"]);
        assert!(!sink.awaits_final_commit());
        sink.notify_checkpoint_complete(FINAL_CHECKPOINT_ID)
            .unwrap();
        assert_eq!(committed.lock().unwrap().len(), 3, "committed once");
    }

    /// Prepares a committable only for rows written since the last preparation, as the
    /// filesystem writer does.
    struct WrittenOnly {
        written: bool,
        committed: Arc<Mutex<Vec<String>>>,
    }

    impl SinkWriter for WrittenOnly {
        fn write(&mut self, _batch: &RecordBatch) -> Result<()> {
            self.written = true;
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            Ok(())
        }
        fn prepare_commit(&mut self, id: u64) -> Result<Vec<Vec<u8>>> {
            Ok(match std::mem::take(&mut self.written) {
                true => vec![id.to_string().into_bytes()],
                false => Vec::new(),
            })
        }
        fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
            let mut seen = self.committed.lock().unwrap();
            seen.extend(
                committables
                    .into_iter()
                    .map(|c| String::from_utf8(c).unwrap()),
            );
            Ok(())
        }
    }

    #[test]
    fn a_subtask_with_nothing_written_after_its_last_checkpoint_still_waits_to_commit_it() {
        let committed = Arc::new(Mutex::new(Vec::new()));
        let mut sink = SinkOperator {
            table: "t".into(),
            writer: Box::new(WrittenOnly {
                written: false,
                committed: committed.clone(),
            }),
            metrics: Default::default(),
            two_phase: true,
            pending: BTreeMap::new(),
            last_snapshot: 0,
            finished_after: None,
        };
        let rows = RecordBatch::new_empty(Arc::new(datafusion::arrow::datatypes::Schema::empty()));
        sink.process_batch(rows, &mut Collector::default()).unwrap();
        sink.snapshot_state(&barrier(1)).unwrap();
        // The input ends before checkpoint 1 completes, with nothing written since.
        sink.finish(&mut Collector::default()).unwrap();
        sink.snapshot_state(&barrier(FINAL_CHECKPOINT_ID)).unwrap();
        assert!(
            sink.awaits_final_commit(),
            "checkpoint 1's rows would never be committed if the subtask ended now"
        );
        sink.notify_checkpoint_complete(1).unwrap();
        assert_eq!(*committed.lock().unwrap(), ["1"]);
        assert!(!sink.awaits_final_commit());
    }
}
