//! Persisting the catalog: written to a temporary file, synced and renamed over the old
//! one, so a crash or a full disk leaves either the old or the new catalog, never half of
//! one. The catalog replaced last is kept as `catalog.json.bak`, and a catalog file that
//! does not decode stops the start with an error naming it and the backup, instead of
//! being replaced by an empty catalog.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Catalog;
use crate::error::{Result, SqlError};

const CATALOG_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    catalog: Catalog,
}

/// Loads and saves the catalog file.
#[derive(Debug, Clone)]
pub struct CatalogStore {
    path: PathBuf,
}

fn storage(path: &Path) -> impl Fn(std::io::Error) -> SqlError + '_ {
    move |source| SqlError::Storage {
        path: path.display().to_string(),
        source,
    }
}

impl CatalogStore {
    /// A store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Where the previous catalog is kept.
    pub fn backup_path(&self) -> PathBuf {
        self.path.with_extension("json.bak")
    }

    /// Reads the catalog, or an empty one when the file does not exist yet.
    pub fn load(&self) -> Result<Catalog> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Catalog::default()),
            Err(e) => return Err(storage(&self.path)(e)),
        };
        let corrupt = |why: String| {
            let backup = self.backup_path();
            let hint = if backup.exists() {
                format!(
                    "; the catalog before the last change is kept in {}: move it over {} to start from it",
                    backup.display(),
                    self.path.display()
                )
            } else {
                String::new()
            };
            SqlError::Internal(format!(
                "catalog file {} is corrupt ({why}); Eddy left it untouched{hint}",
                self.path.display()
            ))
        };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if stored.version != CATALOG_VERSION {
            return Err(corrupt(format!(
                "it has version {}, this Eddy reads version {CATALOG_VERSION}",
                stored.version
            )));
        }
        Ok(stored.catalog)
    }

    /// Writes the catalog atomically, keeping the one it replaces as the backup.
    pub fn save(&self, catalog: &Catalog) -> Result<()> {
        let stored = Stored {
            version: CATALOG_VERSION,
            catalog: catalog.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|e| SqlError::Internal(format!("cannot encode catalog: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(storage(dir))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let written = write_synced(&tmp, &bytes);
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(storage(&self.path)(e));
        }
        if self.path.exists() {
            // A hard link is the backup without a copy; the rename below then replaces
            // only the catalog's own name.
            let backup = self.backup_path();
            let _ = std::fs::remove_file(&backup);
            if let Err(e) = std::fs::hard_link(&self.path, &backup) {
                tracing::warn!(error = %e, backup = %backup.display(), "cannot keep a catalog backup");
            }
        }
        std::fs::rename(&tmp, &self.path).map_err(storage(&self.path))?;
        if let Some(dir) = self.path.parent() {
            // The rename itself is durable only once the directory is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // Owner only, as PostgreSQL keeps its data directory: the catalog holds the roles'
    // password verifiers.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().join("catalog.json"));
        store.save(&Catalog::default()).unwrap();
        let before = std::fs::read(dir.path().join("catalog.json")).unwrap();
        // Writing to /dev/full fails with ENOSPC, as a full disk does.
        std::os::unix::fs::symlink("/dev/full", dir.path().join("catalog.json.tmp")).unwrap();
        let mut next = Catalog::default();
        next.view_order.push("v".into());
        let err = store.save(&next).unwrap_err();
        assert_eq!(err.sqlstate(), "53100", "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("catalog.json")).unwrap(),
            before
        );
        assert!(store.load().unwrap().view_order.is_empty());
    }

    #[test]
    fn a_corrupt_catalog_names_the_file_and_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().join("catalog.json"));
        store.save(&Catalog::default()).unwrap();
        let mut next = Catalog::default();
        next.view_order.push("v".into());
        store.save(&next).unwrap();
        let good = std::fs::read(dir.path().join("catalog.json")).unwrap();
        std::fs::write(dir.path().join("catalog.json"), &good[..good.len() / 2]).unwrap();
        let msg = store.load().unwrap_err().to_string();
        assert!(msg.contains("catalog.json is corrupt"), "{msg}");
        assert!(msg.contains("catalog.json.bak"), "{msg}");
        // The backup is the catalog before the last save, and it loads.
        let backup = CatalogStore::new(store.backup_path());
        assert!(backup.load().unwrap().view_order.is_empty());
    }
}
