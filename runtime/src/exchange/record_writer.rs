//! The output side of a subtask for one edge. Rows bound for each target subtask are
//! buffered until they fill a batch (`execution.batch-size`) or the oldest has waited
//! `execution.buffer-timeout`, as Flink's network buffers do: hash partitioning cuts batches
//! into small pieces, and sending each piece on its own would cost a channel operation per
//! few rows. Watermarks, statuses and end-of-input flush everything before them, so order
//! between rows and the watermark that follows them is kept.

use std::time::{Duration, Instant};

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Result, RuntimeError};
use crate::exchange::{partition_batch, OutputChannel};
use crate::jobgraph::Partitioner;
use crate::stream_element::StreamElement;

/// Distributes a subtask's output over the channels of one outgoing edge.
#[derive(Debug)]
pub struct RecordWriter {
    partitioner: Partitioner,
    channels: Vec<OutputChannel>,
    max_parallelism: u32,
    next_round_robin: usize,
    /// Rows waiting per target subtask.
    buffers: Vec<Vec<RecordBatch>>,
    buffered_rows: Vec<usize>,
    batch_size: usize,
    buffer_timeout: Duration,
    /// When the oldest buffered rows arrived.
    oldest: Option<Instant>,
}

impl RecordWriter {
    /// A writer over `channels`, indexed by target subtask (one channel for forward edges).
    pub fn new(
        partitioner: Partitioner,
        channels: Vec<OutputChannel>,
        max_parallelism: u32,
    ) -> Self {
        let n = channels.len();
        Self {
            partitioner,
            channels,
            max_parallelism,
            next_round_robin: 0,
            buffers: vec![Vec::new(); n],
            buffered_rows: vec![0; n],
            batch_size: 1,
            buffer_timeout: Duration::ZERO,
            oldest: None,
        }
    }

    /// Buffers rows per target up to `batch_size` rows or `timeout`; a zero timeout sends
    /// every batch at once (Flink's `execution.buffer-timeout` = 0).
    pub fn with_buffering(mut self, batch_size: usize, timeout: Duration) -> Self {
        self.batch_size = batch_size.max(1);
        self.buffer_timeout = timeout;
        self
    }

    fn push(&mut self, target: usize, batch: RecordBatch) -> Result<()> {
        if self.buffer_timeout.is_zero() || batch.num_rows() >= self.batch_size {
            self.flush_target(target)?;
            return self.send(target, StreamElement::Batch(batch));
        }
        self.buffered_rows[target] += batch.num_rows();
        self.buffers[target].push(batch);
        self.oldest.get_or_insert_with(Instant::now);
        if self.buffered_rows[target] >= self.batch_size {
            self.flush_target(target)?;
        }
        Ok(())
    }

    fn flush_target(&mut self, target: usize) -> Result<()> {
        let batches = std::mem::take(&mut self.buffers[target]);
        self.buffered_rows[target] = 0;
        let batch = match batches.len() {
            0 => return Ok(()),
            1 => batches
                .into_iter()
                .next()
                .ok_or_else(|| RuntimeError::Internal("buffered batch vanished".into()))?,
            _ => concat_batches(&batches[0].schema(), &batches)?,
        };
        self.send(target, StreamElement::Batch(batch))
    }

    /// Sends every buffered row.
    pub fn flush(&mut self) -> Result<()> {
        for target in 0..self.buffers.len() {
            self.flush_target(target)?;
        }
        self.oldest = None;
        Ok(())
    }

    /// Sends buffered rows whose timeout has passed.
    pub fn flush_if_due(&mut self, now: Instant) -> Result<()> {
        match self.oldest {
            Some(t) if now.duration_since(t) >= self.buffer_timeout => self.flush(),
            _ => Ok(()),
        }
    }

    fn send(&mut self, target: usize, element: StreamElement) -> Result<()> {
        self.channels[target].send(element)
    }

    fn broadcast(&mut self, element: StreamElement) -> Result<()> {
        for i in 0..self.channels.len() {
            self.send(i, element.clone())?;
        }
        Ok(())
    }

    /// Sends one element. Batches are partitioned; watermarks and end-of-input go to all.
    pub fn emit(&mut self, element: StreamElement) -> Result<()> {
        let StreamElement::Batch(batch) = element else {
            self.flush()?;
            return self.broadcast(element);
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match &self.partitioner {
            Partitioner::Forward => self.push(0, batch),
            Partitioner::Broadcast => {
                for target in 0..self.channels.len() {
                    self.push(target, batch.clone())?;
                }
                Ok(())
            }
            Partitioner::Rebalance => {
                let target = self.next_round_robin % self.channels.len();
                self.next_round_robin = self.next_round_robin.wrapping_add(1);
                self.push(target, batch)
            }
            Partitioner::Hash { key_columns } => {
                let parts = partition_batch(
                    &batch,
                    key_columns,
                    self.channels.len() as u32,
                    self.max_parallelism,
                )?;
                for (target, part) in parts.into_iter().enumerate() {
                    if part.num_rows() > 0 {
                        self.push(target, part)?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::exchange::channel;
    use crate::time::Watermark;

    fn rows(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..n))]).unwrap()
    }

    #[test]
    fn buffers_until_full_timeout_or_watermark() {
        let (tx, rx) = channel(16);
        let mut w = RecordWriter::new(Partitioner::Forward, vec![OutputChannel::Local(tx)], 128)
            .with_buffering(10, Duration::from_secs(3600));
        w.emit(StreamElement::Batch(rows(4))).unwrap();
        w.emit(StreamElement::Batch(rows(4))).unwrap();
        assert!(rx.try_recv().is_err(), "8 rows wait for 10");
        w.emit(StreamElement::Batch(rows(4))).unwrap();
        match rx.try_recv().unwrap() {
            StreamElement::Batch(b) => assert_eq!(b.num_rows(), 12),
            other => panic!("{other:?}"),
        }
        w.emit(StreamElement::Batch(rows(3))).unwrap();
        w.flush_if_due(Instant::now()).unwrap();
        assert!(rx.try_recv().is_err(), "not due yet");
        w.emit(StreamElement::Watermark(Watermark(5))).unwrap();
        assert!(matches!(rx.try_recv().unwrap(), StreamElement::Batch(b) if b.num_rows() == 3));
        assert!(matches!(
            rx.try_recv().unwrap(),
            StreamElement::Watermark(Watermark(5))
        ));
    }

    #[test]
    fn flushes_after_the_timeout() {
        let (tx, rx) = channel(16);
        let mut w = RecordWriter::new(Partitioner::Forward, vec![OutputChannel::Local(tx)], 128)
            .with_buffering(10, Duration::from_millis(1));
        w.emit(StreamElement::Batch(rows(2))).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        w.flush_if_due(Instant::now()).unwrap();
        assert!(matches!(rx.try_recv().unwrap(), StreamElement::Batch(b) if b.num_rows() == 2));
    }
}
