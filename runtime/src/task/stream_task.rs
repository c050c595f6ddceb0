//! One subtask's loop: take the next element from the source reader or the input
//! channels, run it through the chain, until input ends, the task fails or is cancelled.
//! Between elements the loop also keeps time: periodic watermarks, source idleness and
//! processing-time callbacks, and takes part in checkpoints: a source task emits a barrier
//! when told to, a task with input channels aligns the barriers of its channels
//! ([`BarrierAligner`]), and either snapshots its chain and has the responder store it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Select;

use crate::checkpoint::{
    CheckpointBarrier, CheckpointResponder, CheckpointSettings, TaskCommand, TaskSnapshot,
};
use crate::connector::SubtaskInfo;
use crate::error::{Result, RuntimeError};
use crate::exchange::InputChannel;
use crate::operators::{SourceDriver, SourcePoll};
use crate::stream_element::StreamElement;
use crate::task::{Alignment, BarrierAligner, OperatorChain, StatusWatermarkValve};
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
    /// `debug.source.rows-per-second` (zero: unpaced).
    pub rows_per_second: f64,
}

/// How a task takes part in checkpoints.
pub struct TaskCheckpointing {
    pub settings: CheckpointSettings,
    /// Triggers (for sources) and completion notices from the TaskExecutor.
    pub commands: crossbeam_channel::Receiver<TaskCommand>,
    pub responder: Arc<dyn CheckpointResponder>,
}

impl TaskCheckpointing {
    /// Checkpoints off: no commands ever arrive.
    pub fn disabled() -> Self {
        struct Nobody;
        impl CheckpointResponder for Nobody {
            fn acknowledge(&self, _: &CheckpointBarrier, _: TaskSnapshot) {}
            fn decline(&self, _: u64, _: String) {}
            fn finished(&self, _: TaskSnapshot, _: u64) {}
        }
        Self {
            settings: CheckpointSettings::disabled(),
            commands: crossbeam_channel::never(),
            responder: Arc::new(Nobody),
        }
    }
}

/// A running subtask (Flink's `StreamTask`).
pub struct StreamTask {
    input: TaskInput,
    chain: OperatorChain,
    cancel: CancelFlag,
    info: SubtaskInfo,
    timing: SourceTiming,
    checkpointing: TaskCheckpointing,
    /// The highest checkpoint this task acknowledged or declined.
    last_checkpoint: u64,
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
            checkpointing: TaskCheckpointing::disabled(),
            last_checkpoint: 0,
        }
    }

    /// Lets the task take part in checkpoints.
    pub fn with_checkpointing(mut self, checkpointing: TaskCheckpointing) -> Self {
        self.checkpointing = checkpointing;
        self
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

    /// Whether the task must stop. Completion notices that arrived first are still
    /// applied: the checkpoint they name is complete, so its output may be committed
    /// (a stop-with-savepoint cancels the job right after notifying).
    fn cancelled(&mut self) -> bool {
        if !self.cancel.load(Ordering::Relaxed) {
            return false;
        }
        while let Ok(command) = self.checkpointing.commands.try_recv() {
            if let TaskCommand::CheckpointComplete(id) = command {
                if let Err(e) = self.chain.notify_checkpoint_complete(id) {
                    tracing::warn!(error = %e, checkpoint = id, "cannot commit a completed checkpoint");
                }
                if let TaskInput::Source(driver) = &mut self.input {
                    if let Err(e) = driver.notify_checkpoint_complete(id) {
                        tracing::warn!(error = %e, checkpoint = id, "cannot commit source positions");
                    }
                }
            }
        }
        true
    }

    /// Declines checkpoint `id`.
    fn decline(&mut self, id: u64, reason: String) {
        self.last_checkpoint = self.last_checkpoint.max(id);
        self.checkpointing.responder.decline(id, reason);
    }

    /// Snapshots the chain for `barrier`, sends the barrier on and hands the snapshot to
    /// the responder. A failure to snapshot declines the checkpoint rather than failing
    /// the task: the next checkpoint may succeed.
    fn checkpoint(
        &mut self,
        barrier: CheckpointBarrier,
        splits: Option<Vec<crate::connector::SourceSplit>>,
    ) -> Result<()> {
        let watermark = match &self.input {
            TaskInput::Source(driver) => driver.current_watermark(),
            TaskInput::Channels(_) => None,
        };
        self.chain.prepare_snapshot_pre_barrier()?;
        let operators = match self.chain.snapshot(&barrier) {
            Ok(o) => o,
            Err(e) => {
                self.decline(barrier.id, e.to_string());
                return Ok(());
            }
        };
        self.chain.emit_barrier(barrier)?;
        self.last_checkpoint = self.last_checkpoint.max(barrier.id);
        self.checkpointing.responder.acknowledge(
            &barrier,
            TaskSnapshot {
                operators,
                splits,
                watermark,
            },
        );
        Ok(())
    }

    /// Input ended and the chain finished. With checkpoints on, the task reports its final
    /// state and, when an operator still has output to commit, waits for the job's final
    /// checkpoint to complete before it ends.
    fn end(&mut self, splits: Option<Vec<crate::connector::SourceSplit>>) -> Result<()> {
        self.chain.finish()?;
        if self.checkpointing.settings.enabled {
            let barrier = CheckpointBarrier {
                id: crate::checkpoint::FINAL_CHECKPOINT_ID,
                timestamp: now_millis(),
                kind: crate::checkpoint::CheckpointKind::Checkpoint,
            };
            let operators = self.chain.snapshot(&barrier)?;
            let waits = self.chain.awaits_final_commit();
            self.checkpointing.responder.finished(
                TaskSnapshot {
                    operators,
                    splits,
                    watermark: None,
                },
                self.last_checkpoint,
            );
            if waits {
                self.await_final_commit()?;
            }
        }
        self.chain.close()
    }

    /// Waits until what the chain prepared is committed: by a checkpoint completed after
    /// the end, or by the job's final checkpoint.
    fn await_final_commit(&mut self) -> Result<()> {
        loop {
            if self.cancelled() {
                return Err(RuntimeError::Cancelled);
            }
            match self.checkpointing.commands.recv_timeout(TICK) {
                Ok(TaskCommand::CheckpointComplete(id)) => {
                    self.chain.notify_checkpoint_complete(id)?;
                    // The first checkpoint completed after the end commits what is left
                    // (FLIP-147): the task need not wait for the whole job to end.
                    if id == crate::checkpoint::FINAL_CHECKPOINT_ID
                        || !self.chain.awaits_final_commit()
                    {
                        return Ok(());
                    }
                }
                Ok(_) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    return Err(RuntimeError::Cancelled)
                }
            }
        }
    }

    fn run_source(&mut self) -> Result<()> {
        let SourceTiming {
            watermark_interval,
            idle_timeout,
            rows_per_second,
        } = self.timing;
        let started = Instant::now();
        let mut rows_read = 0u64;
        let mut out = Vec::new();
        let mut next_watermark = Instant::now() + watermark_interval;
        let mut next_tick = Instant::now() + TICK;
        let mut last_data = Instant::now();
        let mut idle = false;
        // After a stop-with-savepoint barrier the source reads nothing more; the job is
        // cancelled once the savepoint completes, and the source reads on if it fails.
        let mut stopped: Option<u64> = None;
        loop {
            if self.cancelled() {
                return Err(RuntimeError::Cancelled);
            }
            while let Ok(command) = self.checkpointing.commands.try_recv() {
                match command {
                    TaskCommand::TriggerCheckpoint(barrier) if stopped.is_none() => {
                        if matches!(
                            barrier.kind,
                            crate::checkpoint::CheckpointKind::Savepoint { drain: true, .. }
                        ) {
                            self.chain.process_watermark(Watermark::MAX)?;
                        }
                        let TaskInput::Source(driver) = &mut self.input else {
                            return Err(RuntimeError::Internal("not a source task".into()));
                        };
                        match driver.snapshot_splits(barrier.id) {
                            Ok(splits) => self.checkpoint(barrier, Some(splits))?,
                            Err(e) => self.decline(barrier.id, e.to_string()),
                        }
                        stopped = barrier.stops().then_some(barrier.id);
                    }
                    TaskCommand::TriggerCheckpoint(barrier) => {
                        self.decline(barrier.id, "the source has stopped".into())
                    }
                    TaskCommand::CheckpointComplete(id) => {
                        self.chain.notify_checkpoint_complete(id)?;
                        if let TaskInput::Source(driver) = &mut self.input {
                            driver.notify_checkpoint_complete(id)?;
                        }
                    }
                    TaskCommand::CheckpointAborted(id) => {
                        if stopped == Some(id) {
                            stopped = None;
                        }
                    }
                }
            }
            if stopped.is_some() {
                std::thread::sleep(TICK);
                continue;
            }
            // Paced: wait until the next row is due (the first one too, one interval after
            // the start), a tick at most, and keep time.
            let pause = match rows_per_second > 0.0 {
                true => Duration::try_from_secs_f64((rows_read + 1) as f64 / rows_per_second)
                    .ok()
                    .and_then(|d| started.checked_add(d))
                    .map_or(TICK, |due| due.saturating_duration_since(Instant::now())),
                false => Duration::ZERO,
            };
            let TaskInput::Source(driver) = &mut self.input else {
                return Err(RuntimeError::Internal("not a source task".into()));
            };
            let polled = match pause.is_zero() {
                true => driver.poll(&mut out)?,
                false => SourcePoll::Pending(pause),
            };
            match polled {
                SourcePoll::Data => {
                    last_data = Instant::now();
                    if idle {
                        idle = false;
                        self.chain.process_element(StreamElement::WatermarkStatus(
                            WatermarkStatus::Active,
                        ))?;
                    }
                    for element in out.drain(..) {
                        if let StreamElement::Batch(b) = &element {
                            rows_read += b.num_rows() as u64;
                        }
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
                    return self.end(Some(Vec::new()));
                }
            }
            let now = Instant::now();
            // With a watermark after every row, splits going idle still need a clock.
            let interval = match watermark_interval.is_zero() && !idle_timeout.is_zero() {
                true => TICK,
                false => watermark_interval,
            };
            if !interval.is_zero() && now >= next_watermark {
                next_watermark = now + interval;
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
        let mut aligner = BarrierAligner::new(channels.len(), self.checkpointing.settings.mode);
        let mut open: Vec<bool> = vec![true; channels.len()];
        let mut merged = Vec::new();
        let mut next_tick = Instant::now() + TICK;
        let commands = self.checkpointing.commands.clone();
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
                if open[i] && !aligner.is_blocked(i) {
                    select.recv(receiver);
                    index.push(i);
                }
            }
            let command_op = select.recv(&commands);
            let op = match select.select_timeout(TICK) {
                Ok(op) => op,
                Err(_) => continue,
            };
            if op.index() == command_op {
                match op.recv(&commands) {
                    Ok(TaskCommand::CheckpointComplete(id)) => {
                        self.chain.notify_checkpoint_complete(id)?
                    }
                    Ok(TaskCommand::CheckpointAborted(id)) => {
                        aligner.abort(id);
                    }
                    // Only sources are triggered; barriers reach this task on its channels.
                    Ok(TaskCommand::TriggerCheckpoint(_)) | Err(_) => {}
                }
                continue;
            }
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
            let mut alignments = Vec::new();
            match element {
                StreamElement::Batch(b) => self.chain.process_batch_from(input, b)?,
                StreamElement::Watermark(w) => valve.input_watermark(channel, w, &mut merged),
                StreamElement::WatermarkStatus(s) => valve.input_status(channel, s, &mut merged),
                StreamElement::Barrier(b) => alignments = aligner.on_barrier(channel, b),
                StreamElement::EndOfInput => {
                    open[channel] = false;
                    let input_ended = channels
                        .iter()
                        .zip(&open)
                        .all(|((i, _), open)| *i != input || !open);
                    if input_ended {
                        self.chain.end_input(input)?;
                    }
                    valve.channel_finished(channel, &mut merged);
                    alignments.push(aligner.on_end_of_input(channel));
                }
            }
            for element in merged.drain(..) {
                self.chain.process_element(element)?;
            }
            for alignment in alignments {
                match alignment {
                    Alignment::Waiting => {}
                    Alignment::Abandoned(id) => {
                        self.decline(id, crate::checkpoint::OVERTAKEN.into())
                    }
                    Alignment::Complete(barrier) => self.checkpoint(barrier, None)?,
                }
            }
        }
        self.end(None)
    }
}
