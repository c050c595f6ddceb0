//! Checkpoints as a task sees them (Flink's asynchronous barrier snapshotting): the
//! [`CheckpointBarrier`] that travels with the data, the commands a task receives from its
//! TaskExecutor, what one operator's snapshot holds, how a task hands its snapshot over
//! ([`CheckpointResponder`]) and what a restored operator gets back ([`RestoredState`]).
//!
//! The coordinator (in the cluster crate) triggers a checkpoint at every source subtask;
//! a source snapshots its split positions, then its chain snapshots operator by operator
//! and the barrier goes downstream after the last output rows. A subtask with several
//! input channels aligns the barriers of one checkpoint ([`CheckpointingMode`]) before its
//! chain snapshots. Snapshots are bytes in versioned encodings ([`crate::state::snapshot`]
//! for keyed state); the task's responder uploads them and acknowledges off the task
//! thread, so the task goes on at once.

mod uids;

use serde::{Deserialize, Serialize};

pub use uids::operator_uids;

use crate::config::{checkpointing, Configuration};
use crate::connector::SourceSplit;
use crate::error::Result;

/// The id under which a task that finished prepares its last output, and with which the
/// coordinator tells it to commit once every task of the job has finished: Flink's final
/// checkpoint, which makes a bounded job's last output visible only when the whole job
/// is done, so that a restart never commits it twice.
pub const FINAL_CHECKPOINT_ID: u64 = u64::MAX;

/// The reason a task gives when it abandons a checkpoint because a newer one's barrier
/// reached it first: the coordinator does not count that as a failure.
pub const OVERTAKEN: &str = "a newer checkpoint overtook it";

/// What a checkpoint is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointKind {
    /// A periodic checkpoint, owned by the system.
    Checkpoint,
    /// A savepoint, owned by the user. With `stop`, sources stop after the barrier (Flink's
    /// stop-with-savepoint); with `drain` they first emit the final watermark, so that every
    /// window fires before the snapshot.
    Savepoint { stop: bool, drain: bool },
}

/// Flink's `CheckpointBarrier`: every element before it on a channel is covered by
/// checkpoint `id`, every element after it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    pub id: u64,
    /// When the coordinator triggered it (epoch ms).
    pub timestamp: i64,
    pub kind: CheckpointKind,
}

impl CheckpointBarrier {
    /// Whether sources stop after this barrier.
    pub fn stops(&self) -> bool {
        matches!(self.kind, CheckpointKind::Savepoint { stop: true, .. })
    }

    /// A periodic checkpoint, neither a savepoint nor a job's final checkpoint: the only
    /// kind that may be incremental, since the others must stand alone.
    pub fn is_periodic(&self) -> bool {
        self.kind == CheckpointKind::Checkpoint && self.id != FINAL_CHECKPOINT_ID
    }
}

/// What the TaskExecutor tells a running task, between elements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TaskCommand {
    /// For source tasks: emit a barrier now.
    TriggerCheckpoint(CheckpointBarrier),
    /// Every task acknowledged checkpoint `id` and its metadata is written: commit what it
    /// covers.
    CheckpointComplete(u64),
    /// Checkpoint `id` will not complete: stop aligning for it.
    CheckpointAborted(u64),
}

/// One operator's part of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSnapshot {
    /// Keyed state in the [`crate::state::snapshot`] encoding, over this subtask's key
    /// groups; on restore it goes to whichever subtasks then own those key groups.
    #[serde(with = "serde_bytes_vec")]
    pub keyed: Vec<u8>,
    /// Operator (non-keyed) state, in the operator's own versioned encoding; on restore
    /// the snapshots of all subtasks are dealt round-robin to the new subtasks.
    #[serde(with = "serde_bytes_vec")]
    pub operator: Vec<u8>,
    /// The keyed state backend's native snapshot (an incremental checkpoint); `keyed` then
    /// holds only the state kept outside the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<crate::state::NativeSnapshot>,
}

impl OperatorSnapshot {
    /// Whether there is nothing to store.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty() && self.operator.is_empty() && self.native.is_none()
    }
}

/// Base64 keeps snapshots compact inside JSON metadata and RPC payloads.
mod serde_bytes_vec {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// A subtask's whole snapshot for one checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskSnapshot {
    /// By operator uid ([`operator_uids`]); stateless operators are left out.
    pub operators: Vec<(String, OperatorSnapshot)>,
    /// For a source subtask: the positions of its unfinished splits.
    pub splits: Option<Vec<SourceSplit>>,
    /// For a source subtask: the watermark it had emitted, so that rows replayed after a
    /// restore are as late as they were the first time.
    #[serde(default)]
    pub watermark: Option<i64>,
}

/// What a restored operator gets back.
#[derive(Debug, Clone, Default)]
pub struct RestoredState {
    /// Keyed snapshots of the old subtasks whose key groups overlap this subtask's; each
    /// holds key groups of other subtasks too, which the operator skips.
    pub keyed: Vec<Vec<u8>>,
    /// The operator states dealt to this subtask.
    pub operator: Vec<Vec<u8>>,
    /// The operator states of every old subtask (Flink's union list state), for what
    /// every new subtask needs to know, such as which files a failed attempt left.
    pub union: Vec<Vec<u8>>,
    /// Downloaded native snapshots (RocksDB checkpoint directories) of the old subtasks
    /// whose key groups overlap this subtask's, deleted when dropped; read with
    /// `state::snapshot::for_each_restored`.
    pub native: Vec<std::sync::Arc<crate::state::LocalDir>>,
}

/// Where a task's snapshots go. Implemented by the TaskExecutor: it stores the bytes and
/// acknowledges to the coordinator off the task thread.
pub trait CheckpointResponder: Send + Sync {
    /// The task took its snapshot for `barrier`.
    fn acknowledge(&self, barrier: &CheckpointBarrier, snapshot: TaskSnapshot);
    /// The task cannot take part in checkpoint `id`.
    fn decline(&self, id: u64, reason: String);
    /// The task's input ended and its chain finished; `snapshot` is its final state (a
    /// sink's files waiting for commit). `last_checkpoint` is the highest checkpoint the
    /// task acknowledged or declined: the final snapshot may stand in only for later ones,
    /// since an earlier one's acknowledgement may still be on its way. The task then waits
    /// for the next [`TaskCommand::CheckpointComplete`] when it has anything to commit.
    fn finished(&self, snapshot: TaskSnapshot, last_checkpoint: u64);
}

/// Flink's `execution.checkpointing.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointingMode {
    /// Barriers are aligned: a channel whose barrier arrived waits for the others.
    ExactlyOnce,
    /// No alignment: rows after a barrier may be counted in the checkpoint and replayed.
    AtLeastOnce,
}

/// The checkpoint settings a task needs.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointSettings {
    pub enabled: bool,
    pub mode: CheckpointingMode,
}

impl CheckpointSettings {
    /// Reads `execution.checkpointing.*` from a job's configuration.
    pub fn from_config(config: &Configuration) -> Self {
        Self {
            enabled: checkpointing::interval(config).is_some(),
            mode: match config
                .get_string(&checkpointing::MODE)
                .to_ascii_uppercase()
                .as_str()
            {
                "AT_LEAST_ONCE" => CheckpointingMode::AtLeastOnce,
                _ => CheckpointingMode::ExactlyOnce,
            },
        }
    }

    /// Checkpoints off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            mode: CheckpointingMode::ExactlyOnce,
        }
    }
}

/// Reads a length-prefixed list of byte strings (the encoding of list-shaped operator
/// state): `u32 count`, then per item `u32 length` + bytes, big-endian.
pub fn decode_list(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let bad = || crate::RuntimeError::Internal("truncated operator state".into());
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8]> {
        let (head, tail) = rest.split_at_checked(n).ok_or_else(bad)?;
        rest = tail;
        Ok(head)
    };
    let count = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        out.push(take(len)?.to_vec());
    }
    Ok(out)
}

/// Writes what [`decode_list`] reads.
pub fn encode_list(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = (items.len() as u32).to_be_bytes().to_vec();
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_encoding_roundtrips_and_refuses_truncation() {
        let items = vec![b"a".to_vec(), Vec::new(), b"xyz".to_vec()];
        let bytes = encode_list(&items);
        assert_eq!(decode_list(&bytes).unwrap(), items);
        assert!(decode_list(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_list(&[]).is_err());
    }

    #[test]
    fn snapshots_roundtrip_through_json() {
        let s = TaskSnapshot {
            operators: vec![(
                "window-aggregate:x".into(),
                OperatorSnapshot {
                    keyed: vec![0, 1, 255],
                    operator: b"op".to_vec(),
                    native: None,
                },
            )],
            splits: Some(vec![SourceSplit {
                id: "f".into(),
                state: serde_json::json!({"offset": 3}),
            }]),
            watermark: Some(-4),
        };
        let json = serde_json::to_string(&s).unwrap();
        let back: TaskSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back.operators, s.operators);
        assert_eq!(back.splits, s.splits);
        assert_eq!(back.watermark, Some(-4));
    }
}
