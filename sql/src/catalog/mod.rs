//! The catalog: Flink's catalogs and databases with their tables, views and materialized
//! views, and the roles, persisted as one versioned JSON file under the data directory so
//! that they survive restarts (in-memory catalogs aside).

mod expression_text;
mod namespace;
mod role;
mod store;
mod table;
mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use expression_text::flink_text;
pub use namespace::{
    resolve_database, Database, DatabaseName, FlinkCatalog, ObjectName, ObjectPath,
    DEFAULT_CATALOG, DEFAULT_DATABASE, EDDY_TYPE, IN_MEMORY_TYPE, RESERVED_DATABASES,
};
pub use role::{CatalogRole, Verifier};
pub use store::CatalogStore;
pub use table::{
    view_query, CatalogMaterializedView, CatalogTable, CatalogView, Column, MetadataColumn,
    WatermarkSpec,
};
pub use types::FlinkType;

use crate::error::{Result, SqlError};

/// Every catalog with its databases and objects, and the roles.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    pub catalogs: BTreeMap<String, FlinkCatalog>,
    /// Users and roles made with CREATE USER / CREATE ROLE (PostgreSQL's `pg_authid`).
    #[serde(default)]
    pub roles: BTreeMap<String, CatalogRole>,
}

impl Default for Catalog {
    /// `default_catalog` with `default_database`, as a Flink session starts.
    fn default() -> Self {
        let options = [("default-database".to_string(), DEFAULT_DATABASE.to_string())].into();
        Catalog {
            catalogs: [(
                DEFAULT_CATALOG.to_string(),
                FlinkCatalog::new(EDDY_TYPE, None, options),
            )]
            .into(),
            roles: BTreeMap::new(),
        }
    }
}

impl Catalog {
    /// A catalog by name (3D000 with Flink's words when there is none).
    pub fn catalog(&self, name: &str) -> Result<&FlinkCatalog> {
        self.catalogs
            .get(name)
            .ok_or_else(|| SqlError::UndefinedCatalog(name.to_string()))
    }

    /// A database (3D000 for its catalog, 3F000 for itself, when missing).
    pub fn database(&self, name: &DatabaseName) -> Result<&Database> {
        self.catalog(&name.catalog)?
            .databases
            .get(&name.database)
            .ok_or_else(|| SqlError::UndefinedDatabase(name.clone()))
    }

    /// A database to change.
    pub fn database_mut(&mut self, name: &DatabaseName) -> Result<&mut Database> {
        self.catalog(&name.catalog)?;
        self.catalogs
            .get_mut(&name.catalog)
            .and_then(|c| c.databases.get_mut(&name.database))
            .ok_or_else(|| SqlError::UndefinedDatabase(name.clone()))
    }

    /// A table by its full name.
    pub fn table(&self, name: &ObjectName) -> Result<&CatalogTable> {
        self.database(&name.database)?.table(&name.name)
    }

    /// Every database of every catalog, by name.
    pub fn databases(&self) -> impl Iterator<Item = (DatabaseName, &Database)> {
        self.catalogs.iter().flat_map(|(c, catalog)| {
            catalog
                .databases
                .iter()
                .map(move |(d, db)| (DatabaseName::new(c, d), db))
        })
    }

    /// What is written to the data directory: every catalog but the in-memory ones.
    pub fn persisted(&self) -> Catalog {
        Catalog {
            catalogs: self
                .catalogs
                .iter()
                .filter(|(_, c)| c.persists())
                .map(|(n, c)| (n.clone(), c.clone()))
                .collect(),
            roles: self.roles.clone(),
        }
    }
}

/// Where the catalog file lives inside a data directory.
pub fn catalog_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("catalog.json")
}
