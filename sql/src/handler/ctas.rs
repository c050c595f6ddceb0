//! `CREATE [OR REPLACE] TABLE t [(columns)] WITH (...) AS query` (Flink's CTAS and RTAS),
//! with Flink's schema rules: declared columns the query does not have come first (NULL
//! in every row the query writes), then the query's columns in its order, each with the
//! type a declaration of the same name gives it. An INSERT job fills the table. If the
//! job cannot be submitted, the table is dropped again. `IF NOT EXISTS` over an existing
//! table inserts the query's rows into it, as Flink does.

use crate::catalog::{CatalogTable, Column, FlinkType, ObjectPath};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

/// What CREATE TABLE ... AS asks for.
pub(super) struct TableAs {
    pub table: CatalogTable,
    pub path: ObjectPath,
    pub query: String,
    pub if_not_exists: bool,
    pub replace: bool,
    pub temporary: bool,
}

pub(super) async fn create_table_as(
    engine: &Engine,
    session: &Session,
    ctas: TableAs,
) -> Result<QueryOutput> {
    let TableAs {
        mut table,
        path,
        query,
        if_not_exists,
        replace,
        temporary,
    } = ctas;
    let full = session.resolve(&path);
    // The INSERT would find the temporary table first.
    if !temporary && session.temporaries.exists(&full) {
        return Err(SqlError::ObjectInUse(format!(
            "a temporary table or view '{path}' shadows the table CREATE TABLE ... AS would make; drop it first"
        )));
    }
    let exists = {
        let catalog = engine.catalog.read().await;
        catalog.database(&full.database)?.exists(&full.name) && !temporary
            || temporary && session.temporaries.exists(&full)
    };
    if exists && if_not_exists {
        let insert = format!(
            "INSERT INTO {} {query}",
            crate::parser::qualified_name(&[
                full.database.catalog.clone(),
                full.database.database.clone(),
                full.name.clone(),
            ])
        );
        let statement = crate::parser::parse_sqlparser(&insert)?;
        return super::insert::insert(engine, session, &statement, &insert).await;
    }
    if exists && !replace {
        return Err(SqlError::DuplicateObject(format!("table '{path}'")));
    }
    // The query's columns, as the job will produce them.
    let config = engine.effective_config(session);
    let ctx = engine.job_context_for(&config, session).await?;
    let plan = super::query::plan_view_query(&ctx, &query).await?;
    let written: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut declared = std::mem::take(&mut table.columns);
    // Declared columns the query lacks first, then the query's in its order.
    table.columns = declared
        .iter()
        .filter(|c| !written.contains(&c.name))
        .cloned()
        .collect();
    for field in plan.schema().fields() {
        if let Some(i) = declared.iter().position(|c| &c.name == field.name()) {
            table.columns.push(declared.remove(i));
            continue;
        }
        let data_type = FlinkType::from_arrow(field.data_type()).ok_or_else(|| {
            SqlError::NotSupported(format!(
                "column '{}' of the query has type {}, which a table cannot hold",
                field.name(),
                field.data_type()
            ))
        })?;
        table.columns.push(Column {
            name: field.name().clone(),
            data_type,
            nullable: field.is_nullable(),
            expression: None,
            metadata: None,
            comment: None,
        });
    }
    // The key and the watermark may name the query's columns. As in Flink, a key column
    // must be NOT NULL: declared so, or so in the query.
    for key in table.primary_key.clone().iter().flatten() {
        let column = table
            .columns
            .iter()
            .find(|c| &c.name == key)
            .ok_or_else(|| SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: key.clone(),
            })?;
        if column.nullable {
            return Err(SqlError::InvalidDefinition(format!(
                "Invalid primary key 'PK_{key}'. Column '{key}' is nullable; declare it NOT NULL in the column list"
            )));
        }
    }
    if let Some(w) = &table.watermark {
        if !table.columns.iter().any(|c| c.name == w.column) {
            return Err(SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: w.column.clone(),
            });
        }
    }
    table.check_partition_keys()?;
    // Checked before the old table goes, so a bad statement changes nothing.
    engine.registry.validate_table(
        &table.name,
        &table.physical_schema(),
        &table.options,
        table.primary_key.as_deref().unwrap_or_default(),
    )?;
    super::ddl::infer_computed_types(engine, &mut table, &full)?;
    // A replaced table goes first (the new one may have other columns); it comes back if
    // the statement fails.
    let old = match (exists && replace, temporary) {
        (false, _) => None,
        (true, true) => session.temporaries.table(&full),
        (true, false) => {
            let catalog = engine.catalog.read().await;
            let database = catalog.database(&full.database)?;
            match database.tables.get(&full.name) {
                Some(t) => Some(t.clone()),
                None => {
                    return Err(SqlError::WrongObjectType(format!(
                        "'{path}' is a view: CREATE OR REPLACE TABLE replaces tables"
                    )))
                }
            }
        }
    };
    if old.is_some() {
        super::ddl::drop_table(engine, session, &path, true, temporary).await?;
    }
    let target = super::ddl::Target {
        path: &path,
        if_not_exists: false,
        temporary,
    };
    if let Err(e) = super::ddl::create_table(engine, session, table, target).await {
        restore(engine, session, &path, old, temporary).await;
        return Err(e);
    }
    let quoted = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let insert = format!(
        "INSERT INTO {} ({}) {query}",
        crate::parser::qualified_name(&[
            full.database.catalog.clone(),
            full.database.database.clone(),
            full.name.clone(),
        ]),
        written
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let submitted = match crate::parser::parse_sqlparser(&insert) {
        Ok(statement) => super::insert::insert(engine, session, &statement, &insert).await,
        Err(e) => Err(e),
    };
    if submitted.is_err() {
        // The statement failed as a whole: the table it made goes again, and the one it
        // replaced comes back.
        let _ = super::ddl::drop_table(engine, session, &path, true, temporary).await;
        restore(engine, session, &path, old, temporary).await;
    }
    submitted
}

/// Puts back the table a failed CREATE OR REPLACE TABLE ... AS dropped.
async fn restore(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    old: Option<CatalogTable>,
    temporary: bool,
) {
    let Some(old) = old else {
        return;
    };
    let target = super::ddl::Target {
        path,
        if_not_exists: true,
        temporary,
    };
    if let Err(e) = super::ddl::create_table(engine, session, old, target).await {
        tracing::error!(table = %path, error = %e, "cannot put back the table CREATE OR REPLACE TABLE replaced");
    }
}
