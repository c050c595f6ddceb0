//! CREATE / DROP of tables and views, permanent or the session's temporary ones.

use crate::catalog::{CatalogTable, FlinkType, ObjectName, ObjectPath};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

/// What CREATE VIEW defines.
pub(super) struct ViewDefinition {
    pub query: String,
    pub columns: Option<Vec<String>>,
    pub comment: Option<String>,
}

/// The object a CREATE makes.
pub(super) struct Target<'a> {
    pub path: &'a ObjectPath,
    pub if_not_exists: bool,
    pub temporary: bool,
}

fn done(tag: &str) -> Result<QueryOutput> {
    Ok(QueryOutput::Command(tag.into()))
}

pub(super) async fn create_table(
    engine: &Engine,
    session: &Session,
    mut table: CatalogTable,
    target: Target<'_>,
) -> Result<QueryOutput> {
    let Target {
        path,
        if_not_exists,
        temporary,
    } = target;
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
    if temporary {
        session.temporaries.add_table(name, table, if_not_exists)?;
        return done("CREATE TABLE");
    }
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
pub(super) fn infer_computed_types(
    engine: &Engine,
    table: &mut CatalogTable,
    name: &ObjectName,
) -> Result<()> {
    let ctx = engine.bare_context();
    let checked = engine.connector_table(table, name, &engine.config, &ctx.state())?;
    let physical =
        datafusion::common::DFSchema::try_from(table.physical_schema().as_ref().clone())?;
    let computed = checked.computed.iter();
    for (column, expr) in table
        .columns
        .iter_mut()
        .filter(|c| !c.is_physical())
        .zip(computed)
    {
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
        // NOT NULL where the expression cannot be NULL (`id * 2` over a NOT NULL `id`), as
        // Flink derives it; the field stays nullable for the rows themselves.
        column.nullable = field.is_nullable()
            && datafusion::logical_expr::ExprSchemable::nullable(expr, &physical).unwrap_or(true);
    }
    Ok(())
}

/// Flink refuses to drop a permanent object a temporary one of the same name shadows.
fn check_not_shadowed(session: &Session, full: &ObjectName, kind: &str) -> Result<()> {
    match session.temporaries.exists(full) {
        true => Err(SqlError::ObjectInUse(format!(
            "Temporary {kind} with identifier '`{}`.`{}`.`{}`' exists. Drop it first before removing the permanent {kind}.",
            full.database.catalog, full.database.database, full.name
        ))),
        false => Ok(()),
    }
}

pub(super) async fn drop_table(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    if_exists: bool,
    temporary: bool,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    if temporary {
        return match session.temporaries.drop_table(&full) || if_exists {
            true => done("DROP TABLE"),
            false => Err(SqlError::UndefinedTable(path.to_string())),
        };
    }
    check_not_shadowed(session, &full, "table")?;
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
    target: Target<'_>,
    definition: ViewDefinition,
) -> Result<QueryOutput> {
    let ViewDefinition {
        query,
        columns,
        comment,
    } = definition;
    let Target {
        path,
        if_not_exists,
        temporary,
    } = target;
    let full = session.resolve(path);
    let name = full.name.clone();
    // Plan the query now so that a view over missing tables or columns is refused. Its
    // unqualified names are its own database's, now and whenever it is read. A
    // temporary view may read the session's temporary objects; a permanent one outlives
    // them, so it may not.
    let config = engine.effective_config(session);
    let ctx = match temporary {
        true => {
            engine
                .temporary_context(&config, &full.database, session)
                .await?
        }
        false => engine.session_context(&config, &full.database).await?,
    };
    let view = crate::catalog::CatalogView {
        name: name.clone(),
        query,
        comment,
        columns,
    };
    super::query::plan_view_query(&ctx, &view.planned_query()).await?;
    if temporary {
        engine.catalog.read().await.database(&full.database)?;
        session.temporaries.add_view(full, view, if_not_exists)?;
        return done("CREATE VIEW");
    }
    let mut catalog = engine.catalog.write().await;
    if catalog.database(&full.database)?.exists(&name) {
        if if_not_exists {
            return Ok(QueryOutput::Command("CREATE VIEW".into()));
        }
        return Err(SqlError::DuplicateObject(format!("view '{path}'")));
    }
    let mut next = catalog.clone();
    let database = next.database_mut(&full.database)?;
    database.views.insert(name.clone(), view);
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
    temporary: bool,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    if temporary {
        return match session.temporaries.drop_view(&full) || if_exists {
            true => done("DROP VIEW"),
            false => Err(SqlError::UndefinedTable(path.to_string())),
        };
    }
    check_not_shadowed(session, &full, "view")?;
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
