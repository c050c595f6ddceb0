//! One subtask's loop: take the next element from the source reader or the input
//! channels, run it through the chain, until input ends, the task fails or is cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Select;

use crate::connector::{ReaderPoll, SubtaskInfo};
use crate::error::{Result, RuntimeError};
use crate::exchange::ChannelReceiver;
use crate::operators::SourceDriver;
use crate::stream_element::StreamElement;
use crate::task::{OperatorChain, StatusWatermarkValve};
use crate::time::Watermark;

/// Set to stop a running task; checked between elements.
pub type CancelFlag = Arc<AtomicBool>;

/// How often a waiting task looks at its cancel flag.
const CANCEL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Where a subtask's elements come from.
pub enum TaskInput {
    /// The chain is headed by a source.
    Source(SourceDriver),
    /// Channels from upstream subtasks, in edge then producer order.
    Channels(Vec<ChannelReceiver>),
}

/// A running subtask (Flink's `StreamTask`).
pub struct StreamTask {
    input: TaskInput,
    chain: OperatorChain,
    cancel: CancelFlag,
    info: SubtaskInfo,
}

impl StreamTask {
    /// Assembles a subtask.
    pub fn new(
        input: TaskInput,
        chain: OperatorChain,
        cancel: CancelFlag,
        info: SubtaskInfo,
    ) -> Self {
        Self {
            input,
            chain,
            cancel,
            info,
        }
    }

    /// Runs the subtask to its end. Blocks: call it on a thread of its own.
    pub fn run(mut self) -> Result<()> {
        let result = self.chain.open().and_then(|_| match &mut self.input {
            TaskInput::Source(_) => self.run_source(),
            TaskInput::Channels(_) => self.run_channels(),
        });
        if result.is_err() {
            self.chain.abort();
        }
        result
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn run_source(&mut self) -> Result<()> {
        let TaskInput::Source(driver) = &mut self.input else {
            return Err(RuntimeError::Internal("not a source task".into()));
        };
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(RuntimeError::Cancelled);
            }
            match driver.poll(&self.info)? {
                ReaderPoll::Batch(batch) => self.chain.process_batch(batch)?,
                ReaderPoll::Pending(wait) => std::thread::sleep(wait.min(CANCEL_CHECK_INTERVAL)),
                ReaderPoll::Finished => {
                    // Bounded input ends with a final watermark so every window fires.
                    self.chain.process_watermark(Watermark::MAX)?;
                    return self.chain.finish();
                }
            }
        }
    }

    fn run_channels(&mut self) -> Result<()> {
        let TaskInput::Channels(channels) = &self.input else {
            return Err(RuntimeError::Internal("not a channel task".into()));
        };
        let channels = channels.clone();
        let mut valve = StatusWatermarkValve::new(channels.len());
        let mut open: Vec<bool> = vec![true; channels.len()];
        while !valve.all_finished() {
            if self.cancelled() {
                return Err(RuntimeError::Cancelled);
            }
            let mut select = Select::new();
            let mut index = Vec::new();
            for (i, ch) in channels.iter().enumerate() {
                if open[i] {
                    select.recv(ch);
                    index.push(i);
                }
            }
            let op = match select.select_timeout(CANCEL_CHECK_INTERVAL) {
                Ok(op) => op,
                Err(_) => continue,
            };
            let channel = index[op.index()];
            let element = match op.recv(&channels[channel]) {
                Ok(e) => e,
                // The producer vanished without ending its stream: it failed.
                Err(_) => return Err(RuntimeError::Cancelled),
            };
            match element {
                StreamElement::Batch(b) => self.chain.process_batch(b)?,
                StreamElement::Watermark(w) => {
                    if let Some(w) = valve.input_watermark(channel, w) {
                        self.chain.process_watermark(w)?;
                    }
                }
                StreamElement::EndOfInput => {
                    open[channel] = false;
                    if let Some(w) = valve.channel_finished(channel) {
                        self.chain.process_watermark(w)?;
                    }
                }
            }
        }
        self.chain.finish()
    }
}
