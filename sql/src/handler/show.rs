//! SHOW TABLES / VIEWS / CREATE TABLE / CREATE VIEW, DESCRIBE, and PostgreSQL's SHOW name.

use eddy_runtime::TimeAttribute;

use super::rows::{opt_text, table, text, Cell};
use crate::catalog::{ObjectName, ObjectPath};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::LikeFilter;
use crate::session::Session;

pub(super) async fn show_create_table(
    engine: &Engine,
    session: &Session,
    full: &ObjectName,
) -> Result<QueryOutput> {
    let name = full.name.as_str();
    if let Some(t) = session.temporaries.table(full) {
        return table(
            &["result"],
            vec![vec![text(t.ddl().replacen(
                "CREATE TABLE",
                "CREATE TEMPORARY TABLE",
                1,
            ))]],
        );
    }
    if session.temporaries.view(full).is_some() {
        return Err(SqlError::NotSupported(format!(
            "'{name}' is a view; use SHOW CREATE VIEW"
        )));
    }
    let catalog = engine.catalog.read().await;
    let catalog = catalog.database(&full.database)?;
    if catalog.views.contains_key(name) {
        return Err(SqlError::NotSupported(format!(
            "'{name}' is a view; use SHOW CREATE VIEW"
        )));
    }
    if catalog.materialized.contains_key(name) {
        return Err(SqlError::WrongObjectType(format!(
            "'{name}' is a materialized view; use SHOW CREATE MATERIALIZED VIEW"
        )));
    }
    let t = catalog.table(name)?;
    table(&["result"], vec![vec![text(t.ddl())]])
}

pub(super) async fn show_create_view(
    engine: &Engine,
    session: &Session,
    full: &ObjectName,
) -> Result<QueryOutput> {
    let name = full.name.as_str();
    let (v, kind) = match session.temporaries.view(full) {
        Some(v) => (v, "TEMPORARY VIEW"),
        None => {
            let catalog = engine.catalog.read().await;
            let v = catalog
                .database(&full.database)?
                .views
                .get(name)
                .cloned()
                .ok_or_else(|| SqlError::UndefinedTable(name.to_string()))?;
            (v, "VIEW")
        }
    };
    let comment = v
        .comment
        .as_ref()
        .map(|c| format!("COMMENT '{}'\n", c.replace('\'', "''")))
        .unwrap_or_default();
    let columns = v
        .columns
        .as_ref()
        .map(|c| {
            let names: Vec<String> = c.iter().map(|n| format!("`{n}`")).collect();
            format!("({}) ", names.join(", "))
        })
        .unwrap_or_default();
    table(
        &["result"],
        vec![vec![text(format!(
            "CREATE {kind} `{}` {columns}{comment}AS\n{}",
            v.name, v.query
        ))]],
    )
}

pub(super) fn show_variable(session: &Session, name: &str) -> Result<QueryOutput> {
    // PostgreSQL's spelled-out forms (SQLAlchemy sends the first at connect).
    let name = match name.to_ascii_lowercase().as_str() {
        "transaction isolation level" => "transaction_isolation",
        "time zone" => "timezone",
        _ => name,
    };
    let value = session.pg_variable(name).ok_or_else(|| {
        SqlError::UndefinedParameter(format!("unrecognized configuration parameter \"{name}\""))
    })?;
    table(&[name], vec![vec![text(value)]])
}

/// Flink's DESCRIBE columns: name, type, null, key, extras, watermark; SHOW COLUMNS
/// lists the same rows, of the columns whose names `like` matches.
pub(super) async fn describe(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    like: Option<&LikeFilter>,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    let name = full.name.as_str();
    let listed = |column: &str| like.is_none_or(|l| l.matches(column));
    let catalog = engine.catalog.read().await;
    let database = catalog.database(&full.database)?;
    let temporary = session.temporaries.table(&full);
    let temporary_view = session.temporaries.view(&full).is_some();
    let found = match (&temporary, temporary_view) {
        (Some(t), _) => Some(t),
        (None, true) => None,
        (None, false) => database
            .tables
            .get(name)
            .or_else(|| database.materialized.get(name).map(|m| &m.table)),
    };
    if let Some(t) = found {
        let ctx = engine.bare_context();
        let checked = engine.connector_table(t, &full, &engine.config, &ctx.state())?;
        let rows = t
            .columns
            .iter()
            .filter(|c| listed(&c.name))
            .map(|c| {
                let time = checked
                    .schema
                    .field_with_name(&c.name)
                    .ok()
                    .and_then(TimeAttribute::of);
                let key = t
                    .primary_key
                    .as_ref()
                    .filter(|pk| pk.contains(&c.name))
                    .map(|pk| format!("PRI({})", pk.join(", ")));
                let watermark = t
                    .watermark
                    .as_ref()
                    .filter(|w| w.column == c.name)
                    .map(|w| crate::catalog::flink_text(&w.expression));
                let ty = match time {
                    Some(a) => format!("{} {}", c.data_type, a.describe()),
                    None => c.data_type.to_string(),
                };
                let extras = match (&c.expression, &c.metadata) {
                    (Some(e), _) => Some(format!("AS {}", crate::catalog::flink_text(e))),
                    (None, Some(m)) => Some(m.ddl()),
                    (None, None) => None,
                };
                vec![
                    text(&c.name),
                    text(ty),
                    Cell::Bool(c.nullable),
                    opt_text(key),
                    opt_text(extras),
                    opt_text(watermark),
                ]
            })
            .collect();
        return table(
            &["name", "type", "null", "key", "extras", "watermark"],
            rows,
        );
    }
    if temporary_view || database.views.contains_key(name) {
        drop(catalog);
        let ctx = engine.session_context_for(&engine.config, session).await?;
        let schema = ctx
            .table_provider(crate::engine::reference(&full))
            .await?
            .schema();
        let rows = schema
            .fields()
            .iter()
            .filter(|f| listed(f.name()))
            .map(|f| {
                let ty = eddy_connectors::types::sql_type_name(f.data_type());
                let ty = match TimeAttribute::of(f) {
                    Some(a) => format!("{ty} {}", a.describe()),
                    None => ty,
                };
                vec![
                    text(f.name()),
                    text(ty),
                    Cell::Bool(f.is_nullable()),
                    opt_text(None),
                    opt_text(None),
                    opt_text(None),
                ]
            })
            .collect();
        return table(
            &["name", "type", "null", "key", "extras", "watermark"],
            rows,
        );
    }
    Err(SqlError::UndefinedTable(path.to_string()))
}
