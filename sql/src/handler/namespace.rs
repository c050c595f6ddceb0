//! Catalogs and databases: CREATE / ALTER / DROP / USE / SHOW / DESCRIBE, with Flink's
//! rules and words (a catalog or database in use cannot be dropped, a database must be
//! empty unless CASCADE) and PostgreSQL's SQLSTATEs (a catalog is what a client connects
//! to, a database is a schema).

use std::collections::BTreeMap;

use super::rows::{opt_text, table, text};
use crate::catalog::{
    resolve_database, DatabaseName, FlinkCatalog, DEFAULT_CATALOG, EDDY_TYPE, IN_MEMORY_TYPE,
    RESERVED_DATABASES,
};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{AlterCatalog, LikeFilter, NamespaceStatement};
use crate::session::Session;

/// The options a catalog takes besides `type`.
const CATALOG_OPTIONS: &[&str] = &["default-database"];

fn ok(tag: &str) -> Result<QueryOutput> {
    Ok(QueryOutput::Command(tag.to_string()))
}

fn filtered<'a>(names: impl Iterator<Item = &'a String>, like: &Option<LikeFilter>) -> Vec<String> {
    let mut names: Vec<String> = names
        .filter(|n| like.as_ref().is_none_or(|l| l.matches(n)))
        .cloned()
        .collect();
    names.sort();
    names
}

fn one_column(name: &str, values: Vec<String>) -> Result<QueryOutput> {
    table(&[name], values.into_iter().map(|v| vec![text(v)]).collect())
}

/// Refuses options a catalog does not take, as Flink's factories do.
fn check_catalog_options(kind: &str, options: &BTreeMap<String, String>) -> Result<()> {
    if let Some(d) = options.get("default-database") {
        check_database_name(&DatabaseName::new("", d))?;
    }
    let unknown: Vec<&str> = options
        .keys()
        .map(String::as_str)
        .filter(|k| !CATALOG_OPTIONS.contains(k))
        .collect();
    match unknown.is_empty() {
        true => Ok(()),
        false => Err(SqlError::InvalidParameter(format!(
            "Unsupported options found for '{kind}': {}; supported options: type, {}",
            unknown.join(", "),
            CATALOG_OPTIONS.join(", ")
        ))),
    }
}

fn check_database_name(database: &DatabaseName) -> Result<()> {
    match RESERVED_DATABASES.contains(&database.database.as_str()) {
        true => Err(SqlError::ReservedName(format!(
            "unacceptable database name \"{}\": PostgreSQL clients read it as their system schema",
            database.database
        ))),
        false => Ok(()),
    }
}

pub(super) async fn execute(
    engine: &Engine,
    session: &Session,
    statement: NamespaceStatement,
) -> Result<QueryOutput> {
    use NamespaceStatement as N;
    match statement {
        N::CreateCatalog {
            name,
            if_not_exists,
            comment,
            mut options,
        } => {
            let kind = options.remove("type").ok_or_else(|| {
                SqlError::InvalidParameter(format!(
                    "catalog '{name}' needs a 'type': '{IN_MEMORY_TYPE}' (lives as long as the server) or '{EDDY_TYPE}' (kept under the data directory)"
                ))
            })?;
            if kind != IN_MEMORY_TYPE && kind != EDDY_TYPE {
                return Err(SqlError::UnknownCatalogType(format!(
                    "catalog type '{kind}' is not supported: Eddy has '{IN_MEMORY_TYPE}' (lives as long as the server) and '{EDDY_TYPE}' (kept under the data directory)"
                )));
            }
            check_catalog_options(&kind, &options)?;
            let mut catalog = engine.catalog.write().await;
            if catalog.catalogs.contains_key(&name) {
                return match if_not_exists {
                    true => ok("CREATE CATALOG"),
                    false => Err(SqlError::DuplicateCatalog(name)),
                };
            }
            let mut next = catalog.clone();
            next.catalogs
                .insert(name, FlinkCatalog::new(&kind, comment, options));
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("CREATE CATALOG")
        }
        N::DropCatalog { name, if_exists } => {
            let mut catalog = engine.catalog.write().await;
            let Some(dropped) = catalog.catalogs.get(&name) else {
                return match if_exists {
                    true => ok("DROP CATALOG"),
                    false => Err(SqlError::UndefinedCatalog(name)),
                };
            };
            if session.current_database().catalog == name {
                return Err(SqlError::ObjectInUse(
                    "Cannot drop a catalog which is currently in use.".into(),
                ));
            }
            if name == DEFAULT_CATALOG {
                return Err(SqlError::ObjectInUse(format!(
                    "Cannot drop {DEFAULT_CATALOG}: every session starts in it"
                )));
            }
            let views: Vec<String> = dropped
                .databases
                .iter()
                .flat_map(|(d, db)| db.materialized.keys().map(move |v| format!("{d}.{v}")))
                .collect();
            if !views.is_empty() {
                return Err(SqlError::DependentObjects(format!(
                    "catalog {name} holds materialized views ({}), whose jobs run; drop them first",
                    views.join(", ")
                )));
            }
            let mut next = catalog.clone();
            next.catalogs.remove(&name);
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("DROP CATALOG")
        }
        N::AlterCatalog { name, change } => {
            let mut catalog = engine.catalog.write().await;
            let mut next = catalog.clone();
            let altered = next
                .catalogs
                .get_mut(&name)
                .ok_or_else(|| SqlError::UndefinedCatalog(name.clone()))?;
            match change {
                AlterCatalog::Set(mut options) => {
                    if options.remove("type").is_some_and(|t| t != altered.kind) {
                        return Err(SqlError::InvalidParameter(
                            "ALTER CATALOG SET does not support changing 'type'".into(),
                        ));
                    }
                    check_catalog_options(&altered.kind, &options)?;
                    altered.options.extend(options);
                }
                AlterCatalog::Reset(keys) => {
                    if keys.is_empty() {
                        return Err(SqlError::InvalidParameter(
                            "ALTER CATALOG RESET does not support empty key".into(),
                        ));
                    }
                    if keys.iter().any(|k| k == "type") {
                        return Err(SqlError::InvalidParameter(
                            "ALTER CATALOG RESET does not support changing 'type'".into(),
                        ));
                    }
                    for k in keys {
                        altered.options.remove(&k);
                    }
                }
                AlterCatalog::Comment(c) => altered.comment = Some(c),
            }
            // The database USE CATALOG goes to exists from now on.
            let default = altered.default_database().to_string();
            altered.databases.entry(default).or_default();
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("ALTER CATALOG")
        }
        N::UseCatalog(name) => {
            let catalog = engine.catalog.read().await;
            let target = DatabaseName::new(&name, catalog.catalog(&name)?.default_database());
            catalog.database(&target)?;
            session.use_database(target);
            ok("USE CATALOG")
        }
        N::ShowCatalogs(like) => {
            let catalog = engine.catalog.read().await;
            one_column("catalog name", filtered(catalog.catalogs.keys(), &like))
        }
        N::ShowCurrentCatalog => one_column(
            "current catalog name",
            vec![session.current_database().catalog],
        ),
        N::ShowCreateCatalog(name) => {
            let catalog = engine.catalog.read().await;
            one_column("result", vec![catalog.catalog(&name)?.ddl(&name)])
        }
        N::DescribeCatalog { name, extended } => {
            let catalog = engine.catalog.read().await;
            let described = catalog.catalog(&name)?;
            let mut rows = vec![
                vec![text("name"), text(&name)],
                vec![text("type"), text(&described.kind)],
                // NULL until a comment is set, as Flink shows it.
                vec![text("comment"), opt_text(described.comment.clone())],
            ];
            if extended {
                for (k, v) in &described.options {
                    rows.push(vec![text(format!("option:{k}")), text(v)]);
                }
            }
            table(&["info name", "info value"], rows)
        }
        N::CreateDatabase {
            name,
            if_not_exists,
            comment,
            properties,
        } => {
            let database = resolve_database(&name, &session.current_database())?;
            check_database_name(&database)?;
            let mut catalog = engine.catalog.write().await;
            if catalog
                .catalog(&database.catalog)?
                .databases
                .contains_key(&database.database)
            {
                return match if_not_exists {
                    true => ok("CREATE DATABASE"),
                    false => Err(SqlError::DuplicateDatabase(database)),
                };
            }
            let mut next = catalog.clone();
            if let Some(c) = next.catalogs.get_mut(&database.catalog) {
                c.databases.insert(
                    database.database,
                    crate::catalog::Database {
                        comment,
                        properties,
                        ..Default::default()
                    },
                );
            }
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("CREATE DATABASE")
        }
        N::DropDatabase {
            name,
            if_exists,
            cascade,
        } => {
            let database = resolve_database(&name, &session.current_database())?;
            let mut catalog = engine.catalog.write().await;
            let dropped = match catalog.database(&database) {
                Err(_) if if_exists => return ok("DROP DATABASE"),
                d => d?,
            };
            if session.current_database() == database {
                return Err(SqlError::ObjectInUse(
                    "Cannot drop a database which is currently in use.".into(),
                ));
            }
            // Sessions start there (USE CATALOG, a client connecting to the catalog).
            let default = catalog.catalog(&database.catalog)?.default_database();
            if database.database == default {
                return Err(SqlError::ObjectInUse(format!(
                    "Cannot drop {}: it is the default database of catalog {}, where sessions start; ALTER CATALOG {} SET ('default-database' = '...') first",
                    database.database, database.catalog, database.catalog
                )));
            }
            if !dropped.materialized.is_empty() {
                let views: Vec<&String> = dropped.materialized.keys().collect();
                return Err(SqlError::DependentObjects(format!(
                    "database {} holds materialized views ({}), whose jobs run; drop them first",
                    database.database,
                    views
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if !cascade && !dropped.is_empty() {
                return Err(SqlError::DependentObjects(format!(
                    "Database {} in catalog {} is not empty; DROP DATABASE ... CASCADE drops it with its tables and views",
                    database.database, database.catalog
                )));
            }
            let mut next = catalog.clone();
            if let Some(c) = next.catalogs.get_mut(&database.catalog) {
                c.databases.remove(&database.database);
            }
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("DROP DATABASE")
        }
        N::AlterDatabase { name, properties } => {
            let database = resolve_database(&name, &session.current_database())?;
            let mut catalog = engine.catalog.write().await;
            let mut next = catalog.clone();
            next.database_mut(&database)?.properties.extend(properties);
            engine.save_catalog(&next)?;
            *catalog = next;
            ok("ALTER DATABASE")
        }
        N::UseDatabase(name) => {
            let database = resolve_database(&name, &session.current_database())?;
            engine.catalog.read().await.database(&database)?;
            session.use_database(database);
            ok("USE")
        }
        N::ShowDatabases {
            catalog: from,
            like,
        } => {
            let catalog = engine.catalog.read().await;
            let from = from.unwrap_or_else(|| session.current_database().catalog);
            let databases = catalog.catalog(&from)?.databases.keys();
            one_column("database name", filtered(databases, &like))
        }
        N::ShowCurrentDatabase => one_column(
            "current database name",
            vec![session.current_database().database],
        ),
        N::ShowObjects {
            views_only,
            database,
            like,
        } => {
            let current = session.current_database();
            let name = match database {
                Some(parts) => resolve_database(&parts, &current)?,
                None => current,
            };
            let catalog = engine.catalog.read().await;
            let database = catalog.database(&name)?;
            // The session's temporary objects too, each name once (Flink lists a
            // temporary view and the permanent one it shadows once).
            let temporaries = session.temporaries.snapshot();
            let temporary = temporaries.names_in(&name, views_only);
            let mut names = match views_only {
                true => filtered(database.views.keys().chain(temporary), &like),
                // As Flink's SHOW TABLES: views and materialized tables too.
                false => {
                    let all = database
                        .tables
                        .keys()
                        .chain(database.views.keys())
                        .chain(database.materialized.keys())
                        .chain(temporary);
                    filtered(all, &like)
                }
            };
            names.dedup();
            let column = if views_only {
                "view name"
            } else {
                "table name"
            };
            one_column(column, names)
        }
    }
}
