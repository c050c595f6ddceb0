//! A session's temporary tables and views (`CREATE TEMPORARY TABLE | VIEW`): they live as
//! long as the session, are never written to the catalog file, and shadow a permanent
//! object of the same full name, as Flink's temporary objects do. Temporary functions
//! too: catalog ones by full name, system ones (`CREATE TEMPORARY SYSTEM FUNCTION`) by
//! name alone, ahead of the built-in functions.

use std::collections::BTreeMap;
use std::sync::Mutex;

use eddy_runtime::functions::python::PythonFunction;

use crate::catalog::{CatalogTable, CatalogView, DatabaseName, ObjectName};
use crate::error::{Result, SqlError};

/// What a session holds, copied into each statement's context.
#[derive(Debug, Default, Clone)]
pub struct TemporaryObjects {
    pub tables: BTreeMap<ObjectName, CatalogTable>,
    pub views: BTreeMap<ObjectName, CatalogView>,
    /// Views in creation order: a view is registered after those it reads.
    pub view_order: Vec<ObjectName>,
    pub functions: BTreeMap<ObjectName, PythonFunction>,
    pub system_functions: BTreeMap<String, PythonFunction>,
}

impl TemporaryObjects {
    /// Whether a temporary table or view has this name.
    pub fn exists(&self, name: &ObjectName) -> bool {
        self.tables.contains_key(name) || self.views.contains_key(name)
    }

    /// The names of the temporary tables and views of `database`.
    pub fn names_in<'a>(
        &'a self,
        database: &'a DatabaseName,
        views_only: bool,
    ) -> impl Iterator<Item = &'a String> + 'a {
        let tables = self.tables.keys().filter(move |_| !views_only);
        tables
            .chain(self.views.keys())
            .filter(move |n| n.database == *database)
            .map(|n| &n.name)
    }

    /// Views in creation order.
    pub fn views_in_order(&self) -> impl Iterator<Item = (&ObjectName, &CatalogView)> {
        self.view_order
            .iter()
            .filter_map(|n| self.views.get(n).map(|v| (n, v)))
    }
}

/// Flink's words for a temporary object that exists already.
fn taken(name: &ObjectName) -> SqlError {
    SqlError::DuplicateObject(format!(
        "Temporary table '`{}`.`{}`.`{}`'",
        name.database.catalog, name.database.database, name.name
    ))
}

/// The session's temporary objects, locked only while a statement reads or changes them.
#[derive(Debug, Default)]
pub struct Temporaries(Mutex<TemporaryObjects>);

impl Temporaries {
    fn lock(&self) -> std::sync::MutexGuard<'_, TemporaryObjects> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy, for a statement's context.
    pub fn snapshot(&self) -> TemporaryObjects {
        self.lock().clone()
    }

    /// Whether a temporary table or view has this name.
    pub fn exists(&self, name: &ObjectName) -> bool {
        self.lock().exists(name)
    }

    /// A temporary table by name.
    pub fn table(&self, name: &ObjectName) -> Option<CatalogTable> {
        self.lock().tables.get(name).cloned()
    }

    /// A temporary view by name.
    pub fn view(&self, name: &ObjectName) -> Option<CatalogView> {
        self.lock().views.get(name).cloned()
    }

    /// Adds a table; `Ok(false)` when the name is taken and `if_not_exists` holds.
    pub fn add_table(
        &self,
        name: ObjectName,
        table: CatalogTable,
        if_not_exists: bool,
    ) -> Result<bool> {
        let mut objects = self.lock();
        match (objects.exists(&name), if_not_exists) {
            (true, true) => Ok(false),
            (true, false) => Err(taken(&name)),
            (false, _) => {
                objects.tables.insert(name, table);
                Ok(true)
            }
        }
    }

    /// Adds a view; `Ok(false)` when the name is taken and `if_not_exists` holds.
    pub fn add_view(
        &self,
        name: ObjectName,
        view: CatalogView,
        if_not_exists: bool,
    ) -> Result<bool> {
        let mut objects = self.lock();
        match (objects.exists(&name), if_not_exists) {
            (true, true) => Ok(false),
            (true, false) => Err(taken(&name)),
            (false, _) => {
                objects.views.insert(name.clone(), view);
                objects.view_order.push(name);
                Ok(true)
            }
        }
    }

    /// Adds or replaces a temporary catalog function (`None` name: a system one).
    pub fn put_function(&self, name: Option<ObjectName>, function: PythonFunction) {
        let mut objects = self.lock();
        match name {
            Some(n) => objects.functions.insert(n, function),
            None => objects
                .system_functions
                .insert(function.name.clone(), function),
        };
    }

    /// Drops a temporary catalog function (`None` name: the system one called `system`);
    /// whether there was one.
    pub fn drop_function(&self, name: Option<&ObjectName>, system: &str) -> bool {
        let mut objects = self.lock();
        match name {
            Some(n) => objects.functions.remove(n).is_some(),
            None => objects.system_functions.remove(system).is_some(),
        }
    }

    /// Drops every temporary object (DISCARD ALL).
    pub fn clear(&self) {
        *self.lock() = TemporaryObjects::default();
    }

    /// Drops a table; whether there was one.
    pub fn drop_table(&self, name: &ObjectName) -> bool {
        self.lock().tables.remove(name).is_some()
    }

    /// Drops a view; whether there was one.
    pub fn drop_view(&self, name: &ObjectName) -> bool {
        let mut objects = self.lock();
        objects.view_order.retain(|n| n != name);
        objects.views.remove(name).is_some()
    }
}
