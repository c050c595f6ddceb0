//! The catalog: tables and views, persisted as one versioned JSON file under the data
//! directory so that it survives restarts.

mod role;
mod store;
mod table;
mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use role::{CatalogRole, Verifier};
pub use store::CatalogStore;
pub use table::{
    CatalogMaterializedView, CatalogTable, CatalogView, Column, MetadataColumn, WatermarkSpec,
};
pub use types::FlinkType;

use crate::error::{Result, SqlError};

/// Tables, views and materialized views of the single database `default_database`.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    pub tables: BTreeMap<String, CatalogTable>,
    pub views: BTreeMap<String, CatalogView>,
    /// Creation order of views, so a view is always registered after those it reads.
    #[serde(default)]
    pub view_order: Vec<String>,
    #[serde(default)]
    pub materialized: BTreeMap<String, CatalogMaterializedView>,
    /// Users and roles made with CREATE USER / CREATE ROLE (PostgreSQL's `pg_authid`).
    #[serde(default)]
    pub roles: BTreeMap<String, CatalogRole>,
}

impl Catalog {
    /// Whether a table or view has this name.
    pub fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self.views.contains_key(name)
            || self.materialized.contains_key(name)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Result<&CatalogTable> {
        self.tables
            .get(name)
            .ok_or_else(|| SqlError::UndefinedTable(name.to_string()))
    }

    /// Views in creation order.
    pub fn views_in_order(&self) -> impl Iterator<Item = &CatalogView> {
        self.view_order.iter().filter_map(|n| self.views.get(n))
    }
}

/// Where the catalog file lives inside a data directory.
pub fn catalog_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("catalog.json")
}
