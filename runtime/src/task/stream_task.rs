//! One subtask's loop: take the next element from the source reader or the input
//! channels, run it through the chain, until input ends, the task fails or is cancelled.
//! Between elements the loop also keeps time: periodic watermarks, source idleness and
//! processing-time callbacks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Select;

use crate::connector::SubtaskInfo;
use crate::error::{Result, RuntimeError};
use crate::exchange::InputChannel;
use crate::operators::{SourceDriver, SourcePoll};
use crate::stream_element::StreamElement;
use crate::task::{OperatorChain, StatusWatermarkValve};
use crate::time::{now_millis, Watermark, WatermarkStatus};

/// Set to stop a running task; checked between elements.
pub type CancelFlag = Arc<AtomicBool>;

/// How often a waiting task looks at its cancel flag and the clock.
const TICK: Duration = Duration::from_millis(50);

/// Where a subtask's elements come from.
pub enum TaskInput {
    /// The chain is headed by a source.
    Source(SourceDriver),
    /// Channels from upstream subtasks, in edge then producer order, each with the
    /// logical input (edge position among the vertex's inputs) it belongs to.
    Channels(Vec<(usize, InputChannel)>),
}

/// Timing the source loop needs from the job's configuration.
#[derive(Debug, Clone, Copy)]
pub struct SourceTiming {
    /// `pipeline.auto-watermark-interval` (zero: a watermark after every row).
    pub watermark_interval: Duration,
    /// `table.exec.source.idle-timeout` (zero: never idle).
    pub idle_timeout: Duration,
}

/// A running subtask (Flink's `StreamTask`).
pub struct StreamTask {
    input: TaskInput,
    chain: OperatorChain,
    cancel: CancelFlag,
    info: SubtaskInfo,
    timing: SourceTiming,
}

impl StreamTask {
    /// Assembles a subtask.
    pub fn new(
        input: TaskInput,
        chain: OperatorChain,
        cancel: CancelFlag,
        info: SubtaskInfo,
        timing: SourceTiming,
    ) -> Self {
        Self {
            input,
            chain,
            cancel,
            info,
            timing,
        }
    }

    /// Runs the subtask to its end. Blocks: call it on a thread of its own.
    pub fn run(mut self) -> Result<()> {
        tracing::trace!(vertex = %self.info.vertex_name, subtask = self.info.subtask_index, "running");
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
        let SourceTiming {
            watermark_interval,
            idle_timeout,
        } = self.timing;
        let mut out = Vec::new();
        let mut next_watermark = Instant::now() + watermark_interval;
        let mut next_tick = Instant::now() + TICK;
        let mut last_data = Instant::now();
        let mut idle = false;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(RuntimeError::Cancelled);
            }
            match driver.poll(&mut out)? {
                SourcePoll::Data => {
                    last_data = Instant::now();
                    if idle {
                        idle = false;
                        self.chain.process_element(StreamElement::WatermarkStatus(
                            WatermarkStatus::Active,
                        ))?;
                    }
                    for element in out.drain(..) {
                        self.chain.process_element(element)?;
                    }
                }
                SourcePoll::Pending(wait) => {
                    if !idle && !idle_timeout.is_zero() && last_data.elapsed() >= idle_timeout {
                        idle = true;
                        self.chain.process_element(StreamElement::WatermarkStatus(
                            WatermarkStatus::Idle,
                        ))?;
                    }
                    std::thread::sleep(wait.min(TICK));
                }
                SourcePoll::Finished => {
                    // Bounded input ends with a final watermark so every window fires.
                    self.chain.process_watermark(Watermark::MAX)?;
                    return self.chain.finish();
                }
            }
            let now = Instant::now();
            if !watermark_interval.is_zero() && now >= next_watermark {
                next_watermark = now + watermark_interval;
                driver.periodic_watermark(&mut out);
                for element in out.drain(..) {
                    self.chain.process_element(element)?;
                }
            }
            if now >= next_tick {
                next_tick = now + TICK;
                self.chain.on_processing_time(now_millis())?;
            }
            self.chain.flush_if_due(now)?;
        }
    }

    fn run_channels(&mut self) -> Result<()> {
        let TaskInput::Channels(channels) =
            std::mem::replace(&mut self.input, TaskInput::Channels(Vec::new()))
        else {
            return Err(RuntimeError::Internal("not a channel task".into()));
        };
        let mut channels = channels;
        // Clones of the queues to select on (a receiver is a shared handle), so that the
        // channels themselves stay free to be told what was consumed.
        let receivers: Vec<_> = channels.iter().map(|(_, c)| c.receiver().clone()).collect();
        let mut valve = StatusWatermarkValve::new(channels.len());
        let mut open: Vec<bool> = vec![true; channels.len()];
        let mut merged = Vec::new();
        let mut next_tick = Instant::now() + TICK;
        while !valve.all_finished() {
            if self.cancelled() {
                return Err(RuntimeError::Cancelled);
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.chain.on_processing_time(now_millis())?;
            }
            self.chain.flush_if_due(now)?;
            let mut select = Select::new();
            let mut index = Vec::new();
            for (i, receiver) in receivers.iter().enumerate() {
                if open[i] {
                    select.recv(receiver);
                    index.push(i);
                }
            }
            let op = match select.select_timeout(TICK) {
                Ok(op) => op,
                Err(_) => continue,
            };
            let channel = index[op.index()];
            let (input, ch) = &mut channels[channel];
            let element = match op.recv(&receivers[channel]) {
                Ok(e) => e,
                // The producer vanished without ending its stream: it failed, or the
                // connection to its TaskManager was lost.
                Err(_) => return Err(ch.closed_error()),
            };
            ch.consumed();
            let input = *input;
            match element {
                StreamElement::Batch(b) => self.chain.process_batch_from(input, b)?,
                StreamElement::Watermark(w) => valve.input_watermark(channel, w, &mut merged),
                StreamElement::WatermarkStatus(s) => valve.input_status(channel, s, &mut merged),
                StreamElement::EndOfInput => {
                    open[channel] = false;
                    valve.channel_finished(channel, &mut merged);
                }
            }
            for element in merged.drain(..) {
                self.chain.process_element(element)?;
            }
        }
        self.chain.finish()
    }
}
