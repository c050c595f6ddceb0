//! The data directory: created on start and locked for the life of the process, so that a
//! second Eddy pointed at the same directory refuses to start instead of overwriting the
//! catalog the first one is serving.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{bail, Context};

/// Held while the process runs; the OS releases the lock when the process ends, however
/// it ends, so a crashed Eddy never leaves a stale lock behind.
pub struct DataDirLock {
    _file: File,
}

/// Creates `dir` if needed and takes its lock, writing this process's id into the lock file.
pub fn lock(dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let path = dir.join("eddy.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another Eddy (pid {holder})")
            };
            bail!(
                "data directory {} is in use by {who}; stop it or start this one with another --data-dir",
                dir.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())
        .with_context(|| format!("cannot write lock file {}", path.display()))?;
    Ok(DataDirLock { _file: file })
}
