//! CREATE / DROP of tables and views.

use crate::catalog::{CatalogTable, FlinkType, ObjectName, ObjectPath};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

pub(super) async fn create_table(
    engine: &Engine,
    session: &Session,
    mut table: CatalogTable,
    path: &ObjectPath,
    if_not_exists: bool,
) -> Result<QueryOutput> {
    let name = session.resolve(path);
    // A table in a catalog or database that does not exist is refused before its
    // options are checked, as Flink does.
    engine.catalog.read().await.database(&name.database)?;
    // Options, computed columns and the watermark are checked before the catalog is
    // touched: a bad table never gets in.
    engine.registry.validate_table(
        &table.name,
        &table.physical_schema(),
        &table.options,
        table.primary_key.as_deref().unwrap_or_default(),
    )?;
    infer_computed_types(engine, &mut table, &name)?;
    let mut catalog = engine.catalog.write().await;
    if catalog.database(&name.database)?.exists(&table.name) {
        if if_not_exists {
            return Ok(QueryOutput::Command("CREATE TABLE".into()));
        }
        return Err(SqlError::DuplicateObject(format!("table '{path}'")));
    }
    let mut next = catalog.clone();
    next.database_mut(&name.database)?
        .tables
        .insert(table.name.clone(), table);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("CREATE TABLE".into()))
}

/// Plans the computed columns and the watermark, and records the computed columns' types.
fn infer_computed_types(
    engine: &Engine,
    table: &mut CatalogTable,
    name: &ObjectName,
) -> Result<()> {
    let ctx = engine.bare_context();
    let checked = engine.connector_table(table, name, &engine.config, &ctx.state())?;
    for column in table.columns.iter_mut().filter(|c| !c.is_physical()) {
        let field = checked.schema.field_with_name(&column.name).map_err(|e| {
            SqlError::Internal(format!("computed column '{}' vanished: {e}", column.name))
        })?;
        column.data_type = FlinkType::from_arrow(field.data_type()).ok_or_else(|| {
            SqlError::NotSupported(format!(
                "computed column '{}' has type {}, which Flink SQL has no name for",
                column.name,
                field.data_type()
            ))
        })?;
        column.nullable = field.is_nullable();
    }
    Ok(())
}

pub(super) async fn drop_table(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    if_exists: bool,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    let name = full.name.as_str();
    let mut catalog = engine.catalog.write().await;
    let database = match catalog.database(&full.database) {
        Err(_) if if_exists => return Ok(QueryOutput::Command("DROP TABLE".into())),
        d => d?,
    };
    if !database.tables.contains_key(name) {
        if if_exists {
            return Ok(QueryOutput::Command("DROP TABLE".into()));
        }
        if database.views.contains_key(name) {
            return Err(SqlError::NotSupported(format!(
                "'{path}' is a view; use DROP VIEW"
            )));
        }
        if database.materialized.contains_key(name) {
            return Err(SqlError::WrongObjectType(format!(
                "'{path}' is a materialized view; use DROP MATERIALIZED VIEW"
            )));
        }
        return Err(SqlError::UndefinedTable(path.to_string()));
    }
    let mut next = catalog.clone();
    next.database_mut(&full.database)?.tables.remove(name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("DROP TABLE".into()))
}

pub(super) async fn create_view(
    engine: &Engine,
    session: &Session,
    path: ObjectPath,
    query: String,
    comment: Option<String>,
    if_not_exists: bool,
) -> Result<QueryOutput> {
    let full = session.resolve(&path);
    let name = full.name.clone();
    // Plan the query now so that a view over missing tables or columns is refused. Its
    // unqualified names are its own database's, now and whenever it is read.
    let config = engine.effective_config(session);
    let ctx = engine.session_context(&config, &full.database).await?;
    super::query::plan_view_query(&ctx, &query).await?;
    let mut catalog = engine.catalog.write().await;
    if catalog.database(&full.database)?.exists(&name) {
        if if_not_exists {
            return Ok(QueryOutput::Command("CREATE VIEW".into()));
        }
        return Err(SqlError::DuplicateObject(format!("view '{path}'")));
    }
    let mut next = catalog.clone();
    let database = next.database_mut(&full.database)?;
    database.views.insert(
        name.clone(),
        crate::catalog::CatalogView {
            name: name.clone(),
            query,
            comment,
        },
    );
    database.view_order.push(name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("CREATE VIEW".into()))
}

pub(super) async fn drop_view(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    if_exists: bool,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    let name = full.name.as_str();
    let mut catalog = engine.catalog.write().await;
    let database = match catalog.database(&full.database) {
        Err(_) if if_exists => return Ok(QueryOutput::Command("DROP VIEW".into())),
        d => d?,
    };
    if !database.views.contains_key(name) {
        if if_exists {
            return Ok(QueryOutput::Command("DROP VIEW".into()));
        }
        if database.materialized.contains_key(name) {
            return Err(SqlError::WrongObjectType(format!(
                "'{path}' is a materialized view; use DROP MATERIALIZED VIEW"
            )));
        }
        return Err(SqlError::UndefinedTable(path.to_string()));
    }
    let mut next = catalog.clone();
    let database = next.database_mut(&full.database)?;
    database.views.remove(name);
    database.view_order.retain(|v| v != name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("DROP VIEW".into()))
}
