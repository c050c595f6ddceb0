//! Persisting the catalog: written to a temporary file, synced and renamed over the old
//! one, so a crash or a full disk leaves either the old or the new catalog, never half of
//! one. The catalog replaced last is kept as `catalog.json.bak`, and a catalog file that
//! does not decode stops the start with an error naming it and the backup, instead of
//! being replaced by an empty catalog.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Catalog, Database};
use crate::error::{Result, SqlError};

/// Version 2 holds catalogs and databases; version 1 held the one database that is now
/// `default_catalog.default_database`, and is read as that.
const CATALOG_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    catalog: Catalog,
}

#[derive(Deserialize)]
struct Version {
    version: u32,
}

/// Version 1: one database's objects and the roles.
#[derive(Deserialize)]
struct StoredV1 {
    catalog: CatalogV1,
}

#[derive(Deserialize)]
struct CatalogV1 {
    #[serde(flatten)]
    database: Database,
    #[serde(default)]
    roles: std::collections::BTreeMap<String, super::CatalogRole>,
}

fn upgrade_v1(bytes: &[u8]) -> serde_json::Result<Catalog> {
    let old: StoredV1 = serde_json::from_slice(bytes)?;
    let mut catalog = Catalog {
        roles: old.catalog.roles,
        ..Catalog::default()
    };
    if let Some(c) = catalog.catalogs.get_mut(super::DEFAULT_CATALOG) {
        c.databases
            .insert(super::DEFAULT_DATABASE.to_string(), old.catalog.database);
    }
    Ok(catalog)
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
        let version: Version =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match version.version {
            1 => upgrade_v1(&bytes).map_err(|e| corrupt(e.to_string())),
            CATALOG_VERSION => {
                let stored: Stored =
                    serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
                Ok(stored.catalog)
            }
            v => Err(corrupt(format!(
                "it has version {v}, this Eddy reads versions 1 and {CATALOG_VERSION}"
            ))),
        }
    }

    /// Writes the catalog atomically, keeping the one it replaces as the backup.
    pub fn save(&self, catalog: &Catalog) -> Result<()> {
        let stored = Stored {
            version: CATALOG_VERSION,
            catalog: catalog.persisted(),
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
        next.catalogs.insert(
            "c".into(),
            super::super::FlinkCatalog::new("eddy", None, Default::default()),
        );
        let err = store.save(&next).unwrap_err();
        assert_eq!(err.sqlstate(), "53100", "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("catalog.json")).unwrap(),
            before
        );
        assert!(!store.load().unwrap().catalogs.contains_key("c"));
    }

    #[test]
    fn a_corrupt_catalog_names_the_file_and_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().join("catalog.json"));
        store.save(&Catalog::default()).unwrap();
        let mut next = Catalog::default();
        next.catalogs.insert(
            "c".into(),
            super::super::FlinkCatalog::new("eddy", None, Default::default()),
        );
        store.save(&next).unwrap();
        let good = std::fs::read(dir.path().join("catalog.json")).unwrap();
        std::fs::write(dir.path().join("catalog.json"), &good[..good.len() / 2]).unwrap();
        let msg = store.load().unwrap_err().to_string();
        assert!(msg.contains("catalog.json is corrupt"), "{msg}");
        assert!(msg.contains("catalog.json.bak"), "{msg}");
        // The backup is the catalog before the last save, and it loads.
        let backup = CatalogStore::new(store.backup_path());
        assert!(!backup.load().unwrap().catalogs.contains_key("c"));
    }

    #[test]
    fn a_version_1_catalog_becomes_the_default_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        std::fs::write(
            &path,
            r#"{"version": 1, "catalog": {"tables": {}, "views": {"v": {"name": "v", "query": "SELECT 1"}}, "view_order": ["v"], "roles": {}}}"#,
        )
        .unwrap();
        let catalog = CatalogStore::new(path).load().unwrap();
        let db = catalog
            .database(&super::super::DatabaseName::default_database())
            .unwrap();
        assert_eq!(db.view_order, vec!["v".to_string()]);
        assert!(db.views.contains_key("v"));
    }

    #[test]
    fn functions_are_kept_with_their_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().join("catalog.json"));
        let mut catalog = Catalog::default();
        let function = eddy_runtime::functions::python::PythonFunction {
            name: "add_one".into(),
            target: "udfs.add_one".into(),
            body: None,
            params: Vec::new(),
            param_types: vec!["Int64".into()],
            files: vec!["/opt/udfs.py".into()],
            executable: "python3".into(),
            arity: (1, Some(2)),
            result_type: "Int64".into(),
            result_name: "BIGINT".into(),
            deterministic: true,
        };
        let at = super::super::DatabaseName::default_database();
        catalog
            .database_mut(&at)
            .unwrap()
            .functions
            .insert("add_one".into(), function.clone());
        store.save(&catalog).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.database(&at).unwrap().functions["add_one"], function);
        assert_eq!(loaded, catalog);
    }

    #[test]
    fn in_memory_catalogs_are_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().join("catalog.json"));
        let mut catalog = Catalog::default();
        catalog.catalogs.insert(
            "mem".into(),
            super::super::FlinkCatalog::new("generic_in_memory", None, Default::default()),
        );
        store.save(&catalog).unwrap();
        let loaded = store.load().unwrap();
        assert!(!loaded.catalogs.contains_key("mem"));
        assert!(loaded.catalogs.contains_key("default_catalog"));
    }
}
