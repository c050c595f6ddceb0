//! Persisting the catalog: written to a temporary file and renamed over the old one, so a
//! crash leaves either the old or the new catalog, never half of one.

use std::path::PathBuf;

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

impl CatalogStore {
    /// A store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Reads the catalog, or an empty one when the file does not exist yet.
    pub fn load(&self) -> Result<Catalog> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Catalog::default()),
            Err(e) => {
                return Err(SqlError::Internal(format!(
                    "cannot read catalog {}: {e}",
                    self.path.display()
                )))
            }
        };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
            SqlError::Internal(format!("catalog {} is corrupt: {e}", self.path.display()))
        })?;
        if stored.version != CATALOG_VERSION {
            return Err(SqlError::Internal(format!(
                "catalog {} has version {}, this Eddy reads version {CATALOG_VERSION}",
                self.path.display(),
                stored.version
            )));
        }
        Ok(stored.catalog)
    }

    /// Writes the catalog atomically.
    pub fn save(&self, catalog: &Catalog) -> Result<()> {
        let stored = Stored {
            version: CATALOG_VERSION,
            catalog: catalog.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|e| SqlError::Internal(format!("cannot encode catalog: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        let io = |e: std::io::Error| {
            SqlError::Internal(format!("cannot write catalog {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}
