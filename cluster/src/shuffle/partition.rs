//! The producing side of remote channels: subpartitions waiting for their consumer's
//! request, and the sender a subtask writes through once credit arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use eddy_runtime::exchange::{ChannelKey, RemoteSender};
use eddy_runtime::{RuntimeError, StreamElement};
use tokio::sync::mpsc::UnboundedSender;

use super::frame;

/// How often a sender waiting for credit looks at its cancel flag.
const TICK: Duration = Duration::from_millis(50);

/// What the data server tells a subpartition's sender.
#[derive(Debug)]
pub(super) enum Grant {
    /// The consumer asked for this subpartition on a connection, with initial credit.
    Attach {
        writer: UnboundedSender<Bytes>,
        channel: u64,
        credits: u32,
    },
    /// The consumer freed buffers.
    Credit(u32),
    /// The consumer's connection broke.
    Lost(String),
}

type Ends = (Option<Sender<Grant>>, Option<Receiver<Grant>>);

/// Subpartitions by channel key; whichever of the producing subtask and the consumer's
/// request comes first creates the entry. Touched at deployment only.
#[derive(Default)]
pub struct PartitionRegistry {
    pending: Mutex<HashMap<ChannelKey, Ends>>,
    /// Job attempts released on this TaskManager, as the highest released attempt per job:
    /// a late request or subtask of theirs gets a closed channel instead of an entry nobody
    /// would remove, while a later attempt of a restarted job is served.
    released: Mutex<HashMap<String, u32>>,
}

/// How many released job ids are remembered; older ones are forgotten all at once.
const RELEASED_MEMORY: usize = 10_000;

impl PartitionRegistry {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelKey, Ends>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take<T>(&self, key: &ChannelKey, pick: impl FnOnce(&mut Ends) -> Option<T>) -> Option<T> {
        if self
            .released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key.job_id)
            .is_some_and(|up_to| key.attempt <= *up_to)
        {
            return None;
        }
        let mut map = self.entries();
        let entry = map.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = crossbeam_channel::unbounded();
            (Some(tx), Some(rx))
        });
        let taken = pick(entry);
        if entry.0.is_none() && entry.1.is_none() {
            map.remove(key);
        }
        taken
    }

    /// The grant sender for a consumer's request; `None` if the subpartition was already
    /// requested.
    pub(super) fn attach(&self, key: &ChannelKey) -> Option<Sender<Grant>> {
        self.take(key, |e| e.0.take())
    }

    /// The sending end for the producing subtask.
    pub fn sender(&self, key: ChannelKey, cancel: Arc<AtomicBool>) -> Box<dyn RemoteSender> {
        let grants = self
            .take(&key, |e| e.1.take())
            .unwrap_or_else(|| crossbeam_channel::unbounded().1);
        Box::new(RemoteOutput {
            key,
            grants,
            writer: None,
            credits: 0,
            cancel,
        })
    }

    /// Forgets a job's subpartitions nobody took; their senders see the consumer gone.
    pub fn release_job(&self, job_id: &str, up_to_attempt: u32) {
        {
            let mut released = self.released.lock().unwrap_or_else(|p| p.into_inner());
            if released.len() >= RELEASED_MEMORY {
                released.clear();
            }
            let entry = released.entry(job_id.to_string()).or_insert(up_to_attempt);
            *entry = (*entry).max(up_to_attempt);
        }
        self.entries()
            .retain(|k, _| k.job_id != job_id || k.attempt > up_to_attempt);
    }
}

/// A subtask's sending end of one remote channel.
struct RemoteOutput {
    key: ChannelKey,
    grants: Receiver<Grant>,
    writer: Option<(UnboundedSender<Bytes>, u64)>,
    credits: u32,
    cancel: Arc<AtomicBool>,
}

impl RemoteOutput {
    fn apply(&mut self, grant: Grant) -> eddy_runtime::Result<()> {
        match grant {
            Grant::Attach {
                writer,
                channel,
                credits,
            } => {
                self.writer = Some((writer, channel));
                self.credits = credits;
            }
            Grant::Credit(n) => self.credits = self.credits.saturating_add(n),
            Grant::Lost(reason) => return Err(RuntimeError::External(reason)),
        }
        Ok(())
    }
}

impl RemoteSender for RemoteOutput {
    fn send(&mut self, element: StreamElement) -> eddy_runtime::Result<()> {
        loop {
            while let Ok(g) = self.grants.try_recv() {
                self.apply(g)?;
            }
            if self.writer.is_some() && self.credits > 0 {
                break;
            }
            if self.cancel.load(Ordering::Relaxed) {
                return Err(RuntimeError::Cancelled);
            }
            match self.grants.recv_timeout(TICK) {
                Ok(g) => self.apply(g)?,
                Err(RecvTimeoutError::Timeout) => {}
                // The consumer cancelled its request, or the job was released.
                Err(RecvTimeoutError::Disconnected) => return Err(RuntimeError::Cancelled),
            }
        }
        let Some((writer, channel)) = &self.writer else {
            return Err(RuntimeError::Internal(format!(
                "channel {:?} has credit but no connection",
                self.key
            )));
        };
        self.credits -= 1;
        let bytes = frame::element(*channel, &element)
            .map_err(|e| RuntimeError::Internal(format!("cannot encode an element: {e}")))?;
        writer.send(bytes).map_err(|_| {
            RuntimeError::External(format!(
                "the data connection of channel {:?} to its consumer's TaskManager broke",
                self.key
            ))
        })
    }
}
