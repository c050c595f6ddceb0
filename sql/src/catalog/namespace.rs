//! Flink's namespaces: catalogs hold databases, databases hold tables, views and
//! materialized views. Names resolve against a session's current catalog and database,
//! as Flink's `CatalogManager` resolves `t`, `db.t` and `cat.db.t`.

use std::collections::BTreeMap;
use std::fmt;

use eddy_runtime::functions::python::PythonFunction;
use serde::{Deserialize, Serialize};

use super::{CatalogMaterializedView, CatalogTable, CatalogView};
use crate::error::{Result, SqlError};

/// The catalog every server starts with, as Flink's.
pub const DEFAULT_CATALOG: &str = "default_catalog";
/// The database of [`DEFAULT_CATALOG`] sessions start in, as Flink's.
pub const DEFAULT_DATABASE: &str = "default_database";
/// A catalog kept under the data directory: Eddy's own kind, which the default catalog is.
pub const EDDY_TYPE: &str = "eddy";
/// Flink's `generic_in_memory`: lives as long as the server.
pub const IN_MEMORY_TYPE: &str = "generic_in_memory";
/// The catalog option naming the database a `USE CATALOG` starts in.
pub const DEFAULT_DATABASE_OPTION: &str = "default-database";
/// What [`DEFAULT_DATABASE_OPTION`] is when not set, as Flink's in-memory catalog has it.
pub const DEFAULT_DATABASE_NAME: &str = "default";

/// Names PostgreSQL clients read as system schemas; a database may not take them.
pub const RESERVED_DATABASES: &[&str] = &["pg_catalog", "information_schema"];

/// A catalog: its kind, options and databases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlinkCatalog {
    /// The `type` option: [`EDDY_TYPE`] or [`IN_MEMORY_TYPE`].
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Every option of its WITH clause but `type`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub databases: BTreeMap<String, Database>,
}

impl FlinkCatalog {
    /// A catalog with its default database, empty.
    pub fn new(kind: &str, comment: Option<String>, options: BTreeMap<String, String>) -> Self {
        let mut catalog = FlinkCatalog {
            kind: kind.to_string(),
            comment,
            options,
            databases: BTreeMap::new(),
        };
        catalog
            .databases
            .insert(catalog.default_database().to_string(), Database::default());
        catalog
    }

    /// The database `USE CATALOG` switches to.
    pub fn default_database(&self) -> &str {
        self.options
            .get(DEFAULT_DATABASE_OPTION)
            .map(String::as_str)
            .unwrap_or(DEFAULT_DATABASE_NAME)
    }

    /// Whether the catalog is written to the data directory.
    pub fn persists(&self) -> bool {
        self.kind != IN_MEMORY_TYPE
    }

    /// Flink's `SHOW CREATE CATALOG` text.
    pub fn ddl(&self, name: &str) -> String {
        let mut out = format!("CREATE CATALOG `{name}`\n");
        if let Some(c) = &self.comment {
            out.push_str(&format!("COMMENT '{}'\n", c.replace('\'', "''")));
        }
        let mut options: Vec<(&str, &str)> = self
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        options.push(("type", &self.kind));
        options.sort();
        let body: Vec<String> = options
            .iter()
            .map(|(k, v)| format!("  '{k}' = '{}'", v.replace('\'', "''")))
            .collect();
        out.push_str(&format!("WITH (\n{}\n)\n", body.join(",\n")));
        out
    }
}

/// Tables, views and materialized views of one database.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Its WITH clause (`CREATE DATABASE db WITH ('k' = 'v')`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub tables: BTreeMap<String, CatalogTable>,
    #[serde(default)]
    pub views: BTreeMap<String, CatalogView>,
    /// Creation order of views, so a view is always registered after those it reads.
    #[serde(default)]
    pub view_order: Vec<String>,
    #[serde(default)]
    pub materialized: BTreeMap<String, CatalogMaterializedView>,
    /// Functions made with CREATE FUNCTION (Flink's catalog functions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, PythonFunction>,
}

impl Database {
    /// Whether a table, view or materialized view has this name.
    pub fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self.views.contains_key(name)
            || self.materialized.contains_key(name)
    }

    /// Whether it holds nothing (Flink's RESTRICT drops only such a database).
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.views.is_empty()
            && self.materialized.is_empty()
            && self.functions.is_empty()
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

/// A catalog and one of its databases: where a session's unqualified names resolve.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseName {
    pub catalog: String,
    pub database: String,
}

impl DatabaseName {
    pub fn new(catalog: &str, database: &str) -> Self {
        Self {
            catalog: catalog.to_string(),
            database: database.to_string(),
        }
    }

    /// `default_catalog.default_database`.
    pub fn default_database() -> Self {
        Self::new(DEFAULT_CATALOG, DEFAULT_DATABASE)
    }

    /// The name of `object` in this database.
    pub fn object(&self, object: &str) -> ObjectName {
        ObjectName {
            database: self.clone(),
            name: object.to_string(),
        }
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.catalog, self.database)
    }
}

/// A table, view or materialized view, fully qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName {
    pub database: DatabaseName,
    pub name: String,
}

impl ObjectName {
    /// The name jobs know a table by (sources, sinks, the uids of their state): the bare
    /// name in the default database, as before catalogs existed, so savepoints taken then
    /// still match; the full name elsewhere, so two databases' `t` never share state.
    pub fn job_name(&self) -> String {
        match self.database == DatabaseName::default_database() {
            true => self.name.clone(),
            false => self.to_string(),
        }
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.name)
    }
}

/// A name as written: `t`, `db.t` or `cat.db.t`, each part already case-normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath(pub Vec<String>);

impl ObjectPath {
    /// A one-part name.
    pub fn bare(name: &str) -> Self {
        Self(vec![name.to_string()])
    }

    /// Checks the number of parts (1 to 3).
    pub fn try_new(parts: Vec<String>) -> Result<Self> {
        match parts.len() {
            1..=3 => Ok(Self(parts)),
            n => Err(SqlError::Syntax(format!(
                "a name has at most three parts (catalog.database.object), '{}' has {n}",
                parts.join(".")
            ))),
        }
    }

    /// The last part: the object's own name.
    pub fn name(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or_default()
    }

    /// The full name, missing parts taken from `current`.
    pub fn resolve(&self, current: &DatabaseName) -> ObjectName {
        let (catalog, database) = match self.0.as_slice() {
            [c, d, _] => (c.clone(), d.clone()),
            [d, _] => (current.catalog.clone(), d.clone()),
            _ => (current.catalog.clone(), current.database.clone()),
        };
        ObjectName {
            database: DatabaseName { catalog, database },
            name: self.name().to_string(),
        }
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// A database as written: `db` or `cat.db`.
pub fn resolve_database(parts: &[String], current: &DatabaseName) -> Result<DatabaseName> {
    match parts {
        [d] => Ok(DatabaseName::new(&current.catalog, d)),
        [c, d] => Ok(DatabaseName::new(c, d)),
        _ => Err(SqlError::Syntax(format!(
            "a database name has at most two parts (catalog.database), '{}' has {}",
            parts.join("."),
            parts.len()
        ))),
    }
}
