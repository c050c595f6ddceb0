//! Native snapshots for incremental checkpoints (`execution.checkpointing.incremental`), as
//! Flink's RocksDB backend takes them: a RocksDB checkpoint (hard links of the instance's
//! immutable SST files plus its small MANIFEST, CURRENT and OPTIONS files). An SST file that
//! a completed checkpoint already uploaded is referenced again, not uploaded again; the
//! coordinator counts the references and deletes a shared file once no retained checkpoint
//! needs it. Savepoints and final checkpoints stay in the portable snapshot encoding.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::KeyGroupRange;

/// One subtask's native snapshot of its keyed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeSnapshot {
    /// The key groups the instance held.
    pub range: KeyGroupRange,
    pub files: Vec<NativeFile>,
    /// The local directory holding the files until they are uploaded.
    #[serde(skip)]
    pub local_dir: Option<PathBuf>,
}

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
