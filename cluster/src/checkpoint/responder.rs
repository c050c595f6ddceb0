//! The TaskExecutor's side of a checkpoint: a task's snapshot is written to checkpoint
//! storage and acknowledged to the JobMaster on the TaskExecutor's runtime, so the task
//! thread only pays for taking the snapshot (the synchronous part); and, when a job
//! restores, the files a task's operators restore from are read back.

use std::collections::BTreeMap;
use std::sync::Arc;

use eddy_runtime::checkpoint::{
    CheckpointBarrier, CheckpointResponder, OperatorSnapshot, RestoredState, TaskSnapshot,
};
use serde::{Deserialize, Serialize};

use super::storage::CheckpointStorage;
use super::{CheckpointReport, CheckpointReportKind, TaskRestore, TaskStateHandle};
use crate::error::{ClusterError, Result};
use crate::gateway::{ExecutionAttemptId, JobMasterGateway};

/// The version of a subtask's state file.
const TASK_FILE_VERSION: u32 = 1;

/// What one subtask's file holds.
#[derive(Debug, Serialize, Deserialize)]
struct TaskFile {
    version: u32,
    operators: Vec<(String, OperatorSnapshot)>,
}

/// The directory of checkpoint `id` of a job, relative to the storage root.
pub fn checkpoint_dir(job_id: &str, id: u64) -> String {
    format!("{job_id}/chk-{id}")
}

/// The directory of a job attempt's final checkpoint.
pub fn final_dir(job_id: &str, attempt: u32) -> String {
    format!("{job_id}/final-{attempt}")
}

/// A subtask's file name inside a checkpoint directory.
pub fn task_file(vertex: u32, subtask: u32) -> String {
    format!("v{vertex}-s{subtask}")
}

/// Stores one task's snapshots and reports them.
pub struct TaskCheckpointResponder {
    pub storage: CheckpointStorage,
    pub job_master: Arc<dyn JobMasterGateway>,
    pub runtime: tokio::runtime::Handle,
    pub attempt: ExecutionAttemptId,
    /// The uid of the source heading the task's chain, if any.
    pub source_uid: Option<String>,
}

impl TaskCheckpointResponder {
    fn store_and_report(
        &self,
        dir: String,
        snapshot: TaskSnapshot,
        report: impl FnOnce(TaskStateHandle) -> CheckpointReportKind + Send + 'static,
        checkpoint_id: Option<u64>,
    ) {
        let storage = self.storage.clone();
        let job_master = self.job_master.clone();
        let attempt = self.attempt.clone();
        let source_uid = self.source_uid.clone();
        self.runtime.spawn(async move {
            let name = task_file(attempt.vertex_id, attempt.subtask_index);
            let uids = snapshot.operators.iter().map(|(u, _)| u.clone()).collect();
            let mut operators = snapshot.operators;
            let stored =
                match super::native::upload(&storage, &attempt.job_id, &dir, &name, &mut operators)
                    .await
                {
                    Ok(uploaded) => {
                        let file = TaskFile {
                            version: TASK_FILE_VERSION,
                            operators,
                        };
                        match serde_json::to_vec(&file) {
                            Ok(bytes) => storage
                                .put(&format!("{dir}/{name}"), bytes)
                                .await
                                .map(|size| (size + uploaded.bytes, uploaded.shared)),
                            Err(e) => {
                                Err(ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(
                                    format!("cannot encode a snapshot: {e}"),
                                )))
                            }
                        }
                    }
                    Err(e) => Err(e),
                };
            let kind = match stored {
                Ok((size, shared)) => report(TaskStateHandle {
                    vertex_id: attempt.vertex_id,
                    subtask_index: attempt.subtask_index,
                    path: name,
                    size,
                    uids,
                    source_uid: source_uid.filter(|_| snapshot.splits.is_some()),
                    splits: snapshot.splits,
                    watermark: snapshot.watermark,
                    shared,
                }),
                // A final snapshot that cannot be stored is declined under the final
                // checkpoint's id: the job cannot finish cleanly and must fail (or restart).
                Err(e) => CheckpointReportKind::Decline {
                    id: checkpoint_id.unwrap_or(eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID),
                    reason: e.to_string(),
                },
            };
            let report = CheckpointReport { attempt, kind };
            if let Err(e) = job_master.report_checkpoint(report).await {
                tracing::debug!(error = %e, "cannot report a checkpoint");
            }
        });
    }
}

impl CheckpointResponder for TaskCheckpointResponder {
    fn acknowledge(&self, barrier: &CheckpointBarrier, snapshot: TaskSnapshot) {
        let id = barrier.id;
        self.store_and_report(
            checkpoint_dir(&self.attempt.job_id, id),
            snapshot,
            move |handle| CheckpointReportKind::Acknowledge { id, handle },
            Some(id),
        );
    }

    fn decline(&self, id: u64, reason: String) {
        let job_master = self.job_master.clone();
        let report = CheckpointReport {
            attempt: self.attempt.clone(),
            kind: CheckpointReportKind::Decline { id, reason },
        };
        self.runtime.spawn(async move {
            let _ = job_master.report_checkpoint(report).await;
        });
    }

    fn finished(&self, snapshot: TaskSnapshot, last_checkpoint: u64) {
        self.store_and_report(
            final_dir(&self.attempt.job_id, self.attempt.attempt),
            snapshot,
            move |handle| CheckpointReportKind::Finished {
                handle,
                last_checkpoint,
            },
            None,
        );
    }
}

/// Reads what a task's operators restore, by uid.
pub async fn read_restored_state(restore: &TaskRestore) -> Result<BTreeMap<String, RestoredState>> {
    let storage = CheckpointStorage::open(&restore.root)?;
    let mut files: BTreeMap<String, BTreeMap<String, OperatorSnapshot>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for op in &restore.operators {
        for path in op.keyed.iter().chain(&op.operator).chain(&op.union) {
            if files.contains_key(path) {
                continue;
            }
            let bytes = storage.get(path).await?.ok_or_else(|| {
                ClusterError::Runtime(eddy_runtime::RuntimeError::External(format!(
                    "checkpoint file {} is missing",
                    storage.url_of(path)
                )))
            })?;
            let file: TaskFile = serde_json::from_slice(&bytes).map_err(|e| {
                ClusterError::Runtime(eddy_runtime::RuntimeError::External(format!(
                    "checkpoint file {} is damaged: {e}",
                    storage.url_of(path)
                )))
            })?;
            if file.version != TASK_FILE_VERSION {
                return Err(ClusterError::Runtime(eddy_runtime::RuntimeError::User(format!(
                    "checkpoint file {} has version {}; this Eddy reads version {TASK_FILE_VERSION}",
                    storage.url_of(path),
                    file.version
                ))));
            }
            files.insert(path.clone(), file.operators.into_iter().collect());
        }
        let mut native = Vec::new();
        for snapshot in op
            .keyed
            .iter()
            .filter_map(|p| files.get(p)?.get(&op.uid)?.native.as_ref())
        {
            // Deleted once the operator has read it, or at once if the download fails.
            let into = eddy_runtime::state::LocalDir::new(
                std::env::temp_dir()
                    .join("eddy-restore")
                    .join(uuid::Uuid::new_v4().simple().to_string()),
            );
            super::native::download(snapshot, into.path()).await?;
            native.push(into);
        }
        let pick = |paths: &[String], f: fn(&OperatorSnapshot) -> &Vec<u8>| -> Vec<Vec<u8>> {
            paths
                .iter()
                .filter_map(|p| files.get(p)?.get(&op.uid))
                .map(f)
                .filter(|b| !b.is_empty())
                .cloned()
                .collect()
        };
        out.insert(
            op.uid.clone(),
            RestoredState {
                keyed: pick(&op.keyed, |s| &s.keyed),
                operator: pick(&op.operator, |s| &s.operator),
                union: pick(&op.union, |s| &s.operator),
                native,
            },
        );
    }
    Ok(out)
}

/// Copies a completed checkpoint's files to `target` (a savepoint), with its metadata.
pub async fn copy_checkpoint(
    from: &CheckpointStorage,
    dir: &str,
    to: &CheckpointStorage,
    metadata: &super::CheckpointMetadata,
) -> Result<()> {
    for task in &metadata.tasks {
        let bytes = from
            .get(&format!("{dir}/{}", task.path))
            .await?
            .ok_or_else(|| {
                ClusterError::Runtime(eddy_runtime::RuntimeError::External(format!(
                    "checkpoint file {} vanished",
                    from.url_of(&format!("{dir}/{}", task.path))
                )))
            })?;
        to.put(&task.path, bytes).await?;
    }
    Ok(())
}

/// Reads `_metadata` in a directory; `None` when there is none (the checkpoint never
/// completed, or the path holds no savepoint).
pub async fn read_metadata(
    storage: &CheckpointStorage,
    dir: &str,
) -> Result<Option<super::CheckpointMetadata>> {
    let path = if dir.is_empty() {
        "_metadata".to_string()
    } else {
        format!("{dir}/_metadata")
    };
    let Some(bytes) = storage.get(&path).await? else {
        return Ok(None);
    };
    let m: super::CheckpointMetadata = serde_json::from_slice(&bytes).map_err(|e| {
        ClusterError::Runtime(eddy_runtime::RuntimeError::User(format!(
            "{} is not checkpoint metadata: {e}",
            storage.url_of(&path)
        )))
    })?;
    if m.version != super::METADATA_VERSION {
        return Err(ClusterError::Runtime(eddy_runtime::RuntimeError::User(
            format!(
                "{} has metadata version {}; this Eddy reads version {}",
                storage.url_of(&path),
                m.version,
                super::METADATA_VERSION
            ),
        )));
    }
    Ok(Some(m))
}
