//! Chained operators of one subtask: elements pass from operator to operator by function
//! call, and what the last one emits goes to the subtask's record writers.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;

use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::Result;
use crate::exchange::RecordWriter;
use crate::metrics::TaskMetrics;
use crate::operators::{Collector, StreamOperator};
use crate::stream_element::StreamElement;
use crate::time::Watermark;

/// Flink's `OperatorChain`.
pub struct OperatorChain {
    operators: Vec<Box<dyn StreamOperator>>,
    outputs: Vec<RecordWriter>,
    metrics: Arc<TaskMetrics>,
    /// Per operator, its uid when it has state to checkpoint.
    uids: Vec<Option<String>>,
}

impl OperatorChain {
    /// A chain writing its output to `outputs` (one writer per outgoing edge).
    pub fn new(
        operators: Vec<Box<dyn StreamOperator>>,
        outputs: Vec<RecordWriter>,
        metrics: Arc<TaskMetrics>,
    ) -> Self {
        let uids = vec![None; operators.len()];
        Self {
            operators,
            outputs,
            metrics,
            uids,
        }
    }

    /// Names each operator's state in checkpoints (`None`: stateless).
    pub fn with_uids(mut self, uids: Vec<Option<String>>) -> Self {
        self.uids = uids;
        self.uids.resize(self.operators.len(), None);
        self
    }

    /// Hands restored state to the operators it belongs to; before `open`.
    pub fn initialize_state(
        &mut self,
        mut restored: std::collections::BTreeMap<String, RestoredState>,
    ) -> Result<()> {
        for (op, uid) in self.operators.iter_mut().zip(&self.uids) {
            if let Some(state) = uid.as_ref().and_then(|u| restored.remove(u)) {
                op.initialize_state(state)?;
            }
        }
        Ok(())
    }

    /// Snapshots every operator with state, head first; the barrier itself is sent on with
    /// [`OperatorChain::emit_barrier`].
    pub fn snapshot(
        &mut self,
        barrier: &CheckpointBarrier,
    ) -> Result<Vec<(String, OperatorSnapshot)>> {
        let mut out = Vec::new();
        for (op, uid) in self.operators.iter_mut().zip(&self.uids) {
            let snapshot = op.snapshot_state(barrier)?;
            if let Some(uid) = uid {
                if !snapshot.is_empty() {
                    out.push((uid.clone(), snapshot));
                }
            }
        }
        Ok(out)
    }

    /// Sends a barrier downstream, after every row emitted before it.
    pub fn emit_barrier(&mut self, barrier: CheckpointBarrier) -> Result<()> {
        self.emit(StreamElement::Barrier(barrier))
    }

    /// Checkpoint `id` completed.
    pub fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.operators
            .iter_mut()
            .try_for_each(|op| op.notify_checkpoint_complete(id))
    }

    /// Whether an operator waits for the job's final checkpoint before its output is
    /// visible.
    pub fn awaits_final_commit(&self) -> bool {
        self.operators.iter().any(|op| op.awaits_final_commit())
    }

    /// Opens every operator, head first.
    pub fn open(&mut self) -> Result<()> {
        self.operators.iter_mut().try_for_each(|op| op.open())
    }

    /// Names of the chained operators.
    pub fn names(&self) -> Vec<String> {
        self.operators.iter().map(|o| o.name()).collect()
    }

    /// Pushes elements through operators `from..` and then to the outputs. `input` is the
    /// logical input a batch entering the head of the chain came from.
    fn push(&mut self, from: usize, first: StreamElement, input: usize) -> Result<()> {
        let mut pending = vec![first];
        let mut out = Collector::default();
        for (i, op) in self.operators[from..].iter_mut().enumerate() {
            for element in pending.drain(..) {
                match element {
                    StreamElement::Batch(b) if from + i == 0 => {
                        op.process_batch_from(input, b, &mut out)?
                    }
                    StreamElement::Batch(b) => op.process_batch(b, &mut out)?,
                    StreamElement::Watermark(w) => op.process_watermark(w, &mut out)?,
                    // Statuses and barriers concern the exchange only: they pass operators
                    // untouched (a chain snapshots as a whole, see `snapshot`).
                    e @ (StreamElement::WatermarkStatus(_) | StreamElement::Barrier(_)) => {
                        out.push(e)
                    }
                    StreamElement::EndOfInput => {}
                }
            }
            pending.extend(out.drain());
            if pending.is_empty() {
                return Ok(());
            }
        }
        for element in pending {
            if let StreamElement::Batch(b) = &element {
                self.metrics
                    .num_records_out
                    .fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                self.metrics
                    .num_bytes_out
                    .fetch_add(b.get_array_memory_size() as u64, Ordering::Relaxed);
            }
            self.emit(element)?;
        }
        Ok(())
    }

    fn emit(&mut self, element: StreamElement) -> Result<()> {
        match self.outputs.len() {
            0 => Ok(()),
            1 => self.outputs[0].emit(element),
            _ => {
                for w in &mut self.outputs {
                    w.emit(element.clone())?;
                }
                Ok(())
            }
        }
    }

    /// Feeds a batch to the head of the chain.
    pub fn process_batch(&mut self, batch: RecordBatch) -> Result<()> {
        self.process_batch_from(0, batch)
    }

    /// Feeds a batch of logical input `input` to the head of the chain.
    pub fn process_batch_from(&mut self, input: usize, batch: RecordBatch) -> Result<()> {
        self.metrics
            .num_records_in
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        self.metrics
            .num_bytes_in
            .fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
        self.push(0, StreamElement::Batch(batch), input)
    }

    /// Feeds a watermark to the head of the chain.
    pub fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.push(0, StreamElement::Watermark(watermark), 0)
    }

    /// Feeds any element (batch, watermark or status) to the head of the chain.
    pub fn process_element(&mut self, element: StreamElement) -> Result<()> {
        match element {
            StreamElement::Batch(b) => self.process_batch(b),
            StreamElement::WatermarkStatus(_) | StreamElement::Barrier(_) => self.emit(element),
            StreamElement::EndOfInput => Ok(()),
            other => self.push(0, other, 0),
        }
    }

    /// Tells every operator that processing time advanced, passing what each emits down
    /// the chain.
    pub fn on_processing_time(&mut self, now: i64) -> Result<()> {
        for i in 0..self.operators.len() {
            let mut out = Collector::default();
            self.operators[i].on_processing_time(now, &mut out)?;
            let emitted: Vec<_> = out.drain().collect();
            for element in emitted {
                self.push(i + 1, element, 0)?;
            }
        }
        Ok(())
    }

    /// A barrier is about to pass: operators emit, head first, what must precede it, and
    /// it flows down the chain before the chain snapshots.
    pub fn prepare_snapshot_pre_barrier(&mut self) -> Result<()> {
        for i in 0..self.operators.len() {
            let mut out = Collector::default();
            self.operators[i].prepare_snapshot_pre_barrier(&mut out)?;
            let emitted: Vec<_> = out.drain().collect();
            for element in emitted {
                self.push(i + 1, element, 0)?;
            }
        }
        Ok(())
    }

    /// Every channel of the head's logical input `input` ended: the head may emit what
    /// waited for it, which flows down the chain.
    pub fn end_input(&mut self, input: usize) -> Result<()> {
        let Some(head) = self.operators.first_mut() else {
            return Ok(());
        };
        let mut out = Collector::default();
        head.end_input(input, &mut out)?;
        let emitted: Vec<_> = out.drain().collect();
        for element in emitted {
            self.push(1, element, 0)?;
        }
        Ok(())
    }

    /// Input ended: finishes operators head first, passing what each emits down the chain,
    /// then tells downstream subtasks that this one is done. `close` follows.
    pub fn finish(&mut self) -> Result<()> {
        for i in 0..self.operators.len() {
            let mut out = Collector::default();
            self.operators[i].finish(&mut out)?;
            let emitted: Vec<_> = out.drain().collect();
            for element in emitted {
                self.push(i + 1, element, 0)?;
            }
        }
        self.emit(StreamElement::EndOfInput)
    }

    /// Releases the operators after `finish` (and after the final commit, if any).
    pub fn close(&mut self) -> Result<()> {
        self.operators.iter_mut().try_for_each(|op| op.close())
    }

    /// Sends output rows that have waited `execution.buffer-timeout`.
    pub fn flush_if_due(&mut self, now: std::time::Instant) -> Result<()> {
        self.outputs
            .iter_mut()
            .try_for_each(|w| w.flush_if_due(now))
    }

    /// The task is cancelled or failed.
    pub fn abort(&mut self) {
        for op in &mut self.operators {
            op.abort();
        }
    }
}
