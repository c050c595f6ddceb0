//! Native snapshots for incremental checkpoints (`execution.checkpointing.incremental`), as
//! Flink's RocksDB backend takes them: a RocksDB checkpoint (hard links of the instance's
//! immutable SST files plus its small MANIFEST, CURRENT and OPTIONS files). An SST file that
//! a completed checkpoint already uploaded is referenced again, not uploaded again; the
//! coordinator counts the references and deletes a shared file once no retained checkpoint
//! needs it. Savepoints and final checkpoints stay in the portable snapshot encoding.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::KeyGroupRange;

/// One subtask's native snapshot of its keyed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeSnapshot {
    /// The key groups the instance held.
    pub range: KeyGroupRange,
    pub files: Vec<NativeFile>,
    /// The local directory holding the files until they are uploaded; deleted when the
    /// snapshot is dropped, uploaded or not.
    #[serde(skip)]
    pub local_dir: Option<Arc<LocalDir>>,
}

/// A local directory that is deleted when its last handle drops: a native snapshot's hard
/// links before their upload, or a downloaded one before it is read back.
#[derive(Debug)]
pub struct LocalDir(PathBuf);

impl LocalDir {
    /// Takes charge of `path`.
    pub fn new(path: PathBuf) -> Arc<Self> {
        Arc::new(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for LocalDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl PartialEq for LocalDir {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for LocalDir {}

/// One file of a native snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeFile {
    /// The file's name in the RocksDB directory.
    pub name: String,
    /// Where it is stored. Before the upload, a shared file's key under the job's checkpoint
    /// directory (`shared/{checkpoint}/...`) and empty for a private one; after, its URL.
    pub location: String,
    /// An SST file, immutable and shared between checkpoints; the others are private to
    /// this checkpoint.
    pub shared: bool,
    /// Not yet in storage: this checkpoint uploads it.
    #[serde(skip)]
    pub upload: bool,
    pub size: u64,
}
