//! CREATE / DROP of tables and views.

use crate::catalog::{CatalogTable, FlinkType};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

pub(super) async fn create_table(
    engine: &Engine,
    mut table: CatalogTable,
    if_not_exists: bool,
) -> Result<QueryOutput> {
    // Options, computed columns and the watermark are checked before the catalog is
    // touched: a bad table never gets in.
    engine.registry.validate_table(
        &table.name,
        &table.physical_schema(),
        &table.options,
        table.primary_key.as_deref().unwrap_or_default(),
    )?;
    infer_computed_types(engine, &mut table)?;
    let mut catalog = engine.catalog.write().await;
    if catalog.exists(&table.name) {
        if if_not_exists {
            return Ok(QueryOutput::Command("CREATE TABLE".into()));
        }
        return Err(SqlError::DuplicateObject(format!("table '{}'", table.name)));
    }
    let mut next = catalog.clone();
    next.tables.insert(table.name.clone(), table);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("CREATE TABLE".into()))
}

/// Plans the computed columns and the watermark, and records the computed columns' types.
fn infer_computed_types(engine: &Engine, table: &mut CatalogTable) -> Result<()> {
    let ctx = engine.bare_context();
    let checked = engine.connector_table(table, &engine.config, &ctx.state())?;
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
    name: &str,
    if_exists: bool,
) -> Result<QueryOutput> {
    let mut catalog = engine.catalog.write().await;
    if !catalog.tables.contains_key(name) {
        if if_exists {
            return Ok(QueryOutput::Command("DROP TABLE".into()));
        }
        if catalog.views.contains_key(name) {
            return Err(SqlError::NotSupported(format!(
                "'{name}' is a view; use DROP VIEW"
            )));
        }
        if catalog.materialized.contains_key(name) {
            return Err(SqlError::WrongObjectType(format!(
                "'{name}' is a materialized view; use DROP MATERIALIZED VIEW"
            )));
        }
        return Err(SqlError::UndefinedTable(name.to_string()));
    }
    let mut next = catalog.clone();
    next.tables.remove(name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("DROP TABLE".into()))
}

pub(super) async fn create_view(
    engine: &Engine,
    session: &Session,
    name: String,
    query: String,
    if_not_exists: bool,
) -> Result<QueryOutput> {
    // Plan the query now so that a view over missing tables or columns is refused.
    let config = engine.effective_config(session);
    let ctx = engine.session_context(&config).await?;
    super::query::plan_view_query(&ctx, &query).await?;
    let mut catalog = engine.catalog.write().await;
    if catalog.exists(&name) {
        if if_not_exists {
            return Ok(QueryOutput::Command("CREATE VIEW".into()));
        }
        return Err(SqlError::DuplicateObject(format!("view '{name}'")));
    }
    let mut next = catalog.clone();
    next.views.insert(
        name.clone(),
        crate::catalog::CatalogView {
            name: name.clone(),
            query,
        },
    );
    next.view_order.push(name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("CREATE VIEW".into()))
}

pub(super) async fn drop_view(engine: &Engine, name: &str, if_exists: bool) -> Result<QueryOutput> {
    let mut catalog = engine.catalog.write().await;
    if !catalog.views.contains_key(name) {
        if if_exists {
            return Ok(QueryOutput::Command("DROP VIEW".into()));
        }
        if catalog.materialized.contains_key(name) {
            return Err(SqlError::WrongObjectType(format!(
                "'{name}' is a materialized view; use DROP MATERIALIZED VIEW"
            )));
        }
        return Err(SqlError::UndefinedTable(name.to_string()));
    }
    let mut next = catalog.clone();
    next.views.remove(name);
    next.view_order.retain(|v| v != name);
    engine.save_catalog(&next)?;
    *catalog = next;
    Ok(QueryOutput::Command("DROP VIEW".into()))
}
