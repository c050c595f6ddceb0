//! In-process channels, and the registry that lets a producer and a consumer deployed
//! separately find the two ends of the same channel.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::stream_element::StreamElement;

/// Sending end of a channel between two subtasks.
pub type ChannelSender = crossbeam_channel::Sender<StreamElement>;
/// Receiving end of a channel between two subtasks.
pub type ChannelReceiver = crossbeam_channel::Receiver<StreamElement>;

/// A bounded channel holding at most `capacity` elements.
pub fn channel(capacity: usize) -> (ChannelSender, ChannelReceiver) {
    crossbeam_channel::bounded(capacity.max(1))
}

/// Names one channel: an edge of a job attempt and a producer/consumer subtask pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelKey {
    pub job_id: String,
    pub attempt: u32,
    pub edge: usize,
    pub producer: u32,
    pub consumer: u32,
}

/// The ends of a channel not yet taken by its producer or consumer.
type PendingEnds = (Option<ChannelSender>, Option<ChannelReceiver>);

/// Hands out both ends of channels by key; whichever side of a channel is deployed first
/// creates it. Used only when tasks are deployed, never on the data path.
#[derive(Debug, Default)]
pub struct LocalChannelRegistry {
    pending: Mutex<HashMap<ChannelKey, PendingEnds>>,
}

impl LocalChannelRegistry {
    /// The sending end of `key`.
    pub fn sender(&self, key: ChannelKey, capacity: usize) -> ChannelSender {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(key.clone()).or_insert_with(|| {
            let (s, r) = channel(capacity);
            (Some(s), Some(r))
        });
        let sender = entry.0.take();
        if entry.1.is_none() {
            map.remove(&key);
        }
        sender.unwrap_or_else(|| channel(capacity).0)
    }

    /// The receiving end of `key`.
    pub fn receiver(&self, key: ChannelKey, capacity: usize) -> ChannelReceiver {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(key.clone()).or_insert_with(|| {
            let (s, r) = channel(capacity);
            (Some(s), Some(r))
        });
        let receiver = entry.1.take();
        if entry.0.is_none() {
            map.remove(&key);
        }
        receiver.unwrap_or_else(|| channel(capacity).1)
    }

    /// Forgets every channel of a job's attempts up to `up_to_attempt` (after they ended
    /// or failed to deploy); a later attempt of a restarted job keeps its channels.
    pub fn release_job(&self, job_id: &str, up_to_attempt: u32) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|k, _| k.job_id != job_id || k.attempt > up_to_attempt);
    }
}
