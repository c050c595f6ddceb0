//! Moving native snapshots (incremental RocksDB checkpoints, `eddy_runtime::state::native`)
//! between a TaskExecutor's disk and checkpoint storage. New SST files go to
//! `{job}/shared/{checkpoint}/`, where later checkpoints reference them; the small private
//! files go into the checkpoint's own directory. Every stored file is then named by URL, so
//! a checkpoint restores without knowing which job's directory its shared files live in.

use std::path::Path;

use eddy_runtime::checkpoint::OperatorSnapshot;
use eddy_runtime::state::NativeSnapshot;

use super::storage::CheckpointStorage;
use crate::error::{ClusterError, Result};

fn external(message: String) -> ClusterError {
    ClusterError::Runtime(eddy_runtime::RuntimeError::External(message))
}

/// Where checkpoint `id`'s new shared files go, relative to the storage root.
pub fn shared_dir(job_id: &str, id: u64) -> String {
    format!("{job_id}/shared/{id}")
}

/// What uploading a task's native snapshots produced.
#[derive(Debug, Default)]
pub struct Uploaded {
    /// Bytes written (new shared files and private files).
    pub bytes: u64,
    /// URLs of every shared file the snapshots reference, new or not.
    pub shared: Vec<String>,
}

/// Uploads the files of the operators' native snapshots and rewrites each file's location
/// to its URL; `dir` is the checkpoint's directory and `task` the subtask's file name. The
/// local checkpoint directories are deleted (by dropping them), also when the upload fails.
pub async fn upload(
    storage: &CheckpointStorage,
    job_id: &str,
    dir: &str,
    task: &str,
    operators: &mut [(String, OperatorSnapshot)],
) -> Result<Uploaded> {
    let mut out = Uploaded::default();
    let mut result = Ok(());
    for (index, (_, op)) in operators.iter_mut().enumerate() {
        let Some(native) = op.native.as_mut() else {
            continue;
        };
        // Dropped at the end of the iteration, which deletes the local directory.
        let local = native.local_dir.take();
        if let Some(local) = local.as_ref().filter(|_| result.is_ok()) {
            result = upload_one(
                storage,
                job_id,
                dir,
                &format!("{task}-{index}"),
                native,
                local.path(),
                &mut out,
            )
            .await;
        }
    }
    result.map(|_| out)
}

async fn upload_one(
    storage: &CheckpointStorage,
    job_id: &str,
    dir: &str,
    private_dir: &str,
    native: &mut NativeSnapshot,
    local: &Path,
    out: &mut Uploaded,
) -> Result<()> {
    for file in &mut native.files {
        let relative = match file.shared {
            true => format!("{job_id}/{}", file.location),
            false => format!("{dir}/{private_dir}/{}", file.name),
        };
        if file.upload {
            let path = local.join(&file.name);
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| external(format!("cannot read '{}': {e}", path.display())))?;
            out.bytes += storage.put(&relative, bytes).await?;
        }
        file.location = storage.url_of(&relative);
        if file.shared {
            out.shared.push(file.location.clone());
        }
    }
    Ok(())
}

/// Reads a file named by URL (or plain path).
async fn get_url(url: &str) -> Result<Vec<u8>> {
    let (parent, name) = url
        .rsplit_once('/')
        .ok_or_else(|| external(format!("'{url}' does not name a checkpoint file")))?;
    CheckpointStorage::open(parent)?
        .get(name)
        .await?
        .ok_or_else(|| external(format!("checkpoint file {url} is missing")))
}

/// Downloads a native snapshot's files into `into` (created), ready for RocksDB to open.
pub async fn download(native: &NativeSnapshot, into: &Path) -> Result<()> {
    tokio::fs::create_dir_all(into)
        .await
        .map_err(|e| external(format!("cannot create '{}': {e}", into.display())))?;
    for file in &native.files {
        if file.name.contains('/') || file.name.starts_with('.') {
            return Err(external(format!(
                "a native snapshot names a file '{}'",
                file.name
            )));
        }
        let bytes = get_url(&file.location).await?;
        let path = into.join(&file.name);
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| external(format!("cannot write '{}': {e}", path.display())))?;
    }
    Ok(())
}
