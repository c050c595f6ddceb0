//! The output side of a subtask for one edge.

use crate::error::{Result, RuntimeError};
use crate::exchange::{partition_batch, ChannelSender};
use crate::jobgraph::Partitioner;
use crate::stream_element::StreamElement;

/// Distributes a subtask's output over the channels of one outgoing edge.
#[derive(Debug)]
pub struct RecordWriter {
    partitioner: Partitioner,
    channels: Vec<ChannelSender>,
    max_parallelism: u32,
    next_round_robin: usize,
}

impl RecordWriter {
    /// A writer over `channels`, indexed by target subtask (one channel for forward edges).
    pub fn new(
        partitioner: Partitioner,
        channels: Vec<ChannelSender>,
        max_parallelism: u32,
    ) -> Self {
        Self {
            partitioner,
            channels,
            max_parallelism,
            next_round_robin: 0,
        }
    }

    fn send(&self, target: usize, element: StreamElement) -> Result<()> {
        // A closed channel means the consumer is gone: the job is being cancelled or failed.
        self.channels[target]
            .send(element)
            .map_err(|_| RuntimeError::Cancelled)
    }

    fn broadcast(&self, element: StreamElement) -> Result<()> {
        for i in 0..self.channels.len() {
            self.send(i, element.clone())?;
        }
        Ok(())
    }

    /// Sends one element. Batches are partitioned; watermarks and end-of-input go to all.
    pub fn emit(&mut self, element: StreamElement) -> Result<()> {
        let StreamElement::Batch(batch) = element else {
            return self.broadcast(element);
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match &self.partitioner {
            Partitioner::Forward => self.send(0, StreamElement::Batch(batch)),
            Partitioner::Broadcast => self.broadcast(StreamElement::Batch(batch)),
            Partitioner::Rebalance => {
                let target = self.next_round_robin % self.channels.len();
                self.next_round_robin = self.next_round_robin.wrapping_add(1);
                self.send(target, StreamElement::Batch(batch))
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
                        self.send(target, StreamElement::Batch(part))?;
                    }
                }
                Ok(())
            }
        }
    }
}
