//! Barrier alignment at a subtask with several input channels (Flink's
//! `SingleCheckpointBarrierHandler`): a checkpoint's snapshot is taken once its barrier has
//! arrived on every channel still open. Exactly-once blocks each channel whose barrier
//! arrived until then, so that no row after a barrier is processed before the snapshot;
//! at-least-once does not block, and rows that overtake the snapshot are replayed after a
//! restore.

use crate::checkpoint::{CheckpointBarrier, CheckpointingMode};

/// Tracks the checkpoint being aligned.
#[derive(Debug)]
pub struct BarrierAligner {
    mode: CheckpointingMode,
    /// Per channel: its barrier for `pending` arrived.
    arrived: Vec<bool>,
    /// Per channel: it ended.
    ended: Vec<bool>,
    pending: Option<CheckpointBarrier>,
}

/// What the task does after a barrier or an end of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Alignment {
    /// Keep going.
    Waiting,
    /// Every open channel delivered the barrier: snapshot now, then send it on.
    Complete(CheckpointBarrier),
    /// A newer barrier overtook the checkpoint being aligned, which is given up.
    Abandoned(u64),
}

impl BarrierAligner {
    /// An aligner over `channels` input channels.
    pub fn new(channels: usize, mode: CheckpointingMode) -> Self {
        Self {
            mode,
            arrived: vec![false; channels],
            ended: vec![false; channels],
            pending: None,
        }
    }

    /// Whether the task should not read `channel` now.
    pub fn is_blocked(&self, channel: usize) -> bool {
        self.mode == CheckpointingMode::ExactlyOnce && self.arrived[channel]
    }

    /// A barrier arrived on `channel`. Returns what to do; the caller handles an
    /// abandoned checkpoint before a completed one.
    pub fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) -> Vec<Alignment> {
        let mut out = Vec::new();
        match self.pending {
            // A barrier of a checkpoint already given up or done.
            Some(p) if barrier.id < p.id => return vec![Alignment::Waiting],
            Some(p) if barrier.id > p.id => {
                out.push(Alignment::Abandoned(p.id));
                self.reset();
                self.pending = Some(barrier);
            }
            Some(_) => {}
            None => self.pending = Some(barrier),
        }
        self.arrived[channel] = true;
        out.push(self.check());
        out
    }

    /// `channel` ended: it no longer holds a checkpoint back.
    pub fn on_end_of_input(&mut self, channel: usize) -> Alignment {
        self.ended[channel] = true;
        if self.pending.is_some() {
            self.check()
        } else {
            Alignment::Waiting
        }
    }

    /// The coordinator aborted checkpoint `id`: stop aligning for it.
    pub fn abort(&mut self, id: u64) -> bool {
        if self.pending.is_some_and(|p| p.id == id) {
            self.reset();
            return true;
        }
        false
    }

    fn check(&mut self) -> Alignment {
        let done = self
            .arrived
            .iter()
            .zip(&self.ended)
            .all(|(arrived, ended)| *arrived || *ended);
        match (done, self.pending) {
            (true, Some(barrier)) => {
                self.reset();
                Alignment::Complete(barrier)
            }
            _ => Alignment::Waiting,
        }
    }

    fn reset(&mut self) {
        self.pending = None;
        self.arrived.iter_mut().for_each(|a| *a = false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointKind;

    fn barrier(id: u64) -> CheckpointBarrier {
        CheckpointBarrier {
            id,
            timestamp: 0,
            kind: CheckpointKind::Checkpoint,
        }
    }

    #[test]
    fn exactly_once_blocks_until_every_open_channel_delivered() {
        let mut a = BarrierAligner::new(3, CheckpointingMode::ExactlyOnce);
        assert_eq!(a.on_barrier(0, barrier(1)), vec![Alignment::Waiting]);
        assert!(a.is_blocked(0) && !a.is_blocked(1));
        assert_eq!(a.on_end_of_input(2), Alignment::Waiting);
        assert_eq!(
            a.on_barrier(1, barrier(1)),
            vec![Alignment::Complete(barrier(1))]
        );
        assert!(
            !a.is_blocked(0) && !a.is_blocked(1),
            "unblocked after the snapshot"
        );
    }

    #[test]
    fn at_least_once_never_blocks() {
        let mut a = BarrierAligner::new(2, CheckpointingMode::AtLeastOnce);
        a.on_barrier(0, barrier(1));
        assert!(!a.is_blocked(0));
        assert_eq!(
            a.on_barrier(1, barrier(1)),
            vec![Alignment::Complete(barrier(1))]
        );
    }

    #[test]
    fn a_newer_barrier_abandons_the_older_checkpoint_and_aborts_unblock() {
        let mut a = BarrierAligner::new(2, CheckpointingMode::ExactlyOnce);
        a.on_barrier(0, barrier(1));
        assert_eq!(
            a.on_barrier(1, barrier(2)),
            vec![Alignment::Abandoned(1), Alignment::Waiting]
        );
        assert!(!a.is_blocked(0) && a.is_blocked(1));
        assert_eq!(
            a.on_barrier(0, barrier(1)),
            vec![Alignment::Waiting],
            "stale"
        );
        assert!(a.abort(2));
        assert!(!a.is_blocked(1));
    }

    #[test]
    fn a_channel_ending_while_aligning_completes_the_checkpoint() {
        let mut a = BarrierAligner::new(2, CheckpointingMode::ExactlyOnce);
        a.on_barrier(0, barrier(4));
        assert_eq!(a.on_end_of_input(1), Alignment::Complete(barrier(4)));
    }
}
