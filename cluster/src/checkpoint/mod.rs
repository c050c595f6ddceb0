//! Checkpoints on the cluster side: the JobMaster's [`coordinator`] triggers them at the
//! sources and completes them when every subtask acknowledged; [`storage`] reads and
//! writes checkpoint files through `object_store` (`file://` or `s3://`); [`restore`]
//! deals the state of a checkpoint or savepoint to the subtasks of a (possibly rescaled or
//! changed) job; [`responder`] is the TaskExecutor's side, which stores a task's snapshot
//! and acknowledges it.
//!
//! A checkpoint directory holds one file per subtask (its operators' snapshots) and
//! `_metadata`, written last: a checkpoint without `_metadata` never completed.

pub mod coordinator;
pub mod native;
pub mod responder;
pub mod restore;
pub mod storage;

use eddy_runtime::connector::SourceSplit;
use serde::{Deserialize, Serialize};

use crate::gateway::ExecutionAttemptId;

/// The version of `_metadata` this code writes; a reader refuses others.
pub const METADATA_VERSION: u32 = 1;

/// Where one subtask's snapshot was stored, and what the coordinator needs to know of it
/// without reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStateHandle {
    pub vertex_id: u32,
    pub subtask_index: u32,
    /// Path of the subtask's file, relative to the storage root.
    pub path: String,
    pub size: u64,
    /// Uids of the operators the file holds state of.
    pub uids: Vec<String>,
    /// For a source subtask: its uid, the positions of its unfinished splits and the
    /// watermark it had emitted.
    #[serde(default)]
    pub source_uid: Option<String>,
    #[serde(default)]
    pub splits: Option<Vec<SourceSplit>>,
    #[serde(default)]
    pub watermark: Option<i64>,
    /// URLs of the shared files (incremental checkpoints' SSTs) the subtask's file
    /// references; the coordinator counts them to know when one may be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
}

/// What a subtask tells its JobMaster about a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointReport {
    pub attempt: ExecutionAttemptId,
    pub kind: CheckpointReportKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CheckpointReportKind {
    /// The subtask's snapshot for checkpoint `id` is stored.
    Acknowledge { id: u64, handle: TaskStateHandle },
    /// The subtask cannot take part in checkpoint `id`.
    Decline { id: u64, reason: String },
    /// The subtask's input ended; its final snapshot is stored. It had acknowledged or
    /// declined checkpoints up to `last_checkpoint`.
    Finished {
        handle: TaskStateHandle,
        #[serde(default)]
        last_checkpoint: u64,
    },
}

/// A checkpoint's `_metadata`: every subtask's handle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    pub version: u32,
    pub job_id: String,
    pub checkpoint_id: u64,
    /// When it was triggered (epoch ms).
    pub timestamp: i64,
    pub savepoint: bool,
    /// `pipeline.max-parallelism` of the job: the number of key groups.
    pub max_parallelism: u32,
    /// Parallelism of each vertex, by vertex id.
    pub parallelism: Vec<(u32, u32)>,
    pub tasks: Vec<TaskStateHandle>,
}

impl CheckpointMetadata {
    /// Total bytes of the subtasks' files.
    pub fn size(&self) -> u64 {
        self.tasks.iter().map(|t| t.size).sum()
    }
}

/// State a deployed subtask restores, by operator uid: paths of the files to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskRestore {
    /// The storage root the paths are relative to.
    pub root: String,
    pub operators: Vec<OperatorRestore>,
    /// For a source subtask: the watermark to start from.
    pub watermark: Option<i64>,
}

/// Where one operator's restored state comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorRestore {
    pub uid: String,
    /// Files whose keyed state overlaps this subtask's key groups.
    pub keyed: Vec<String>,
    /// Files whose operator state is dealt to this subtask.
    pub operator: Vec<String>,
    /// Every file holding this operator's state.
    pub union: Vec<String>,
}

/// A job's checkpoint counts, as SHOW JOBS and REST report them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointStats {
    pub triggered: u64,
    pub completed: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub restored: Option<u64>,
    pub latest: Option<CompletedCheckpointStats>,
}

/// The latest completed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedCheckpointStats {
    pub id: u64,
    pub path: String,
    pub duration_ms: u64,
    pub size: u64,
    pub savepoint: bool,
    /// Epoch ms.
    pub completed_at: i64,
}
