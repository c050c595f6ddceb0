//! ALTER TABLE and ALTER VIEW, with Flink's rules and words: the table after the change is
//! checked as CREATE TABLE checks one (options, computed columns, watermark, key) before
//! the catalog is written, so a change that breaks the table never gets in.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::catalog::{CatalogTable, Column, ObjectName, ObjectPath};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{Position, SchemaItem, TableChange, ViewChange};
use crate::session::Session;

fn done(tag: &str) -> Result<QueryOutput> {
    Ok(QueryOutput::Command(tag.into()))
}

fn quoted(name: &ObjectName) -> String {
    format!(
        "`{}`.`{}`.`{}`",
        name.database.catalog, name.database.database, name.name
    )
}

/// The new name of a RENAME TO: a bare name stays in the object's database, as Flink's
/// catalogs rename within a database.
fn renamed(session: &Session, from: &ObjectName, to: &ObjectPath) -> Result<ObjectName> {
    let to = match to.0.len() {
        1 => from.database.object(to.name()),
        _ => session.resolve(to),
    };
    match to.database == from.database {
        true => Ok(to),
        false => Err(SqlError::NotSupported(format!(
            "RENAME TO moves a table or view only within its database: {} cannot become {}",
            quoted(from),
            quoted(&to)
        ))),
    }
}

/// Whether an expression's text reads `column` (a word of that name, in any case when
/// unquoted).
fn reads(expression: &str, column: &str) -> bool {
    crate::parser::tokenize(expression)
        .map(|tokens| {
            tokens.iter().any(|t| match t {
                Token::Word(w) if w.quote_style.is_some() => w.value == column,
                Token::Word(w) => w.value.eq_ignore_ascii_case(column),
                _ => false,
            })
        })
        .unwrap_or(true)
}

/// What still reads `column` (a computed column, the watermark, the key), in Flink's words.
fn readers(table: &CatalogTable, column: &str) -> Option<String> {
    if let Some(c) = table
        .columns
        .iter()
        .find(|c| c.name != column && c.expression.as_deref().is_some_and(|e| reads(e, column)))
    {
        return Some(format!(
            "The column `{column}` is referenced by computed column `{}`.",
            c.name
        ));
    }
    if let Some(w) = &table.watermark {
        if w.column == column || reads(&w.expression, column) {
            return Some(format!(
                "The column `{column}` is referenced by watermark expression `{}`.",
                w.expression
            ));
        }
    }
    None
}

fn missing(table: &CatalogTable, column: &str) -> SqlError {
    SqlError::UndefinedColumn {
        table: table.name.clone(),
        column: column.to_string(),
    }
}

fn column_index(table: &CatalogTable, name: &str) -> Result<usize> {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| missing(table, name))
}

fn place(table: &mut CatalogTable, column: Column, position: Option<&Position>) -> Result<()> {
    let at = match position {
        None => table.columns.len(),
        Some(Position::First) => 0,
        Some(Position::After(c)) => column_index(table, c)? + 1,
    };
    table.columns.insert(at, column);
    Ok(())
}

fn set_key(table: &mut CatalogTable, name: Option<String>, columns: Vec<String>) -> Result<()> {
    for key in &columns {
        let column = table
            .columns
            .iter_mut()
            .find(|c| &c.name == key)
            .ok_or_else(|| SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: key.clone(),
            })?;
        if !column.is_physical() {
            return Err(SqlError::InvalidDefinition(format!(
                "Invalid primary key: column `{key}` is a computed column"
            )));
        }
        // Key columns are NOT NULL, as CREATE TABLE makes them.
        column.nullable = false;
    }
    table.primary_key = Some(columns);
    table.primary_key_name = name;
    Ok(())
}

/// Applies ADD (`adding`) or MODIFY of schema items, in order.
fn change_schema(
    table: &mut CatalogTable,
    items: Vec<(SchemaItem, Option<Position>)>,
    adding: bool,
) -> Result<()> {
    for (item, position) in items {
        match item {
            SchemaItem::Column { column, key } => {
                let existing = table.columns.iter().position(|c| c.name == column.name);
                match (existing, adding) {
                    (Some(_), true) => {
                        return Err(SqlError::ColumnExists {
                            table: table.name.clone(),
                            column: column.name,
                        })
                    }
                    (None, false) => return Err(missing(table, &column.name)),
                    (Some(i), false) => {
                        let old = table.columns.remove(i);
                        match position {
                            Some(p) => place(table, column.clone(), Some(&p)),
                            None => {
                                table.columns.insert(i, column.clone());
                                Ok(())
                            }
                        }
                        .inspect_err(|_| table.columns.insert(i, old))?;
                    }
                    (None, true) => place(table, column.clone(), position.as_ref())?,
                }
                if key {
                    if adding && table.primary_key.is_some() {
                        return Err(SqlError::DuplicateConstraint(
                            "The base table has already defined the primary key constraint. You might want to drop it before adding a new one.".into(),
                        ));
                    }
                    set_key(table, None, vec![column.name])?;
                }
            }
            SchemaItem::Watermark(w) => {
                match (&table.watermark, adding) {
                    (Some(old), true) => {
                        return Err(SqlError::DuplicateConstraint(format!(
                            "The base table has already defined the watermark strategy `{}` AS {}. You might want to drop it before adding a new one.",
                            old.column, old.expression
                        )))
                    }
                    (None, false) => {
                        return Err(SqlError::UndefinedObject(
                            "The base table does not define any watermark. You might want to add a new one.".into(),
                        ))
                    }
                    _ => {}
                }
                table.watermark = Some(w);
            }
            SchemaItem::PrimaryKey { name, columns } => {
                match (&table.primary_key, adding) {
                    (Some(_), true) => {
                        return Err(SqlError::DuplicateConstraint(
                            "The base table has already defined the primary key constraint. You might want to drop it before adding a new one.".into(),
                        ))
                    }
                    (None, false) => {
                        return Err(SqlError::UndefinedObject(
                            "The base table does not define any primary key constraint. You might want to add a new one.".into(),
                        ))
                    }
                    _ => {}
                }
                set_key(table, name, columns)?;
            }
        }
    }
    Ok(())
}

fn drop_columns(table: &mut CatalogTable, columns: Vec<String>) -> Result<()> {
    for name in &columns {
        column_index(table, name)?;
    }
    let mut after = table.clone();
    after.columns.retain(|c| !columns.contains(&c.name));
    for name in &columns {
        if let Some(why) = readers(&after, name) {
            return Err(SqlError::DependentObjects(why));
        }
        if table.primary_key.iter().flatten().any(|k| k == name) {
            return Err(SqlError::DependentObjects(format!(
                "The column `{name}` is used as the primary key."
            )));
        }
        used_as_partition_key(table, name)?;
    }
    if after.columns.is_empty() {
        return Err(SqlError::InvalidDefinition(format!(
            "table '{}' needs at least one column",
            table.name
        )));
    }
    *table = after;
    Ok(())
}

/// Flink refuses to drop or rename a partition column: its files' directories name it.
fn used_as_partition_key(table: &CatalogTable, column: &str) -> Result<()> {
    match table.partition_keys.iter().any(|k| k == column) {
        true => Err(SqlError::DependentObjects(format!(
            "The column `{column}` is used as the partition keys."
        ))),
        false => Ok(()),
    }
}

/// The table after `change`, or a new name for it.
fn apply(table: &mut CatalogTable, change: TableChange) -> Result<()> {
    match change {
        TableChange::Rename(_) => {}
        TableChange::Set(options) => table.options.extend(options),
        TableChange::Reset(keys) => {
            if keys.is_empty() {
                return Err(SqlError::InvalidParameter(
                    "ALTER TABLE RESET does not support empty key".into(),
                ));
            }
            if keys.iter().any(|k| k == "connector") {
                return Err(SqlError::InvalidParameter(
                    "ALTER TABLE RESET does not support changing 'connector'".into(),
                ));
            }
            for k in keys {
                table.options.remove(&k);
            }
        }
        TableChange::RenameColumn { from, to } => {
            let i = column_index(table, &from)?;
            if table.columns.iter().any(|c| c.name == to) {
                return Err(SqlError::ColumnExists {
                    table: table.name.clone(),
                    column: to,
                });
            }
            if let Some(why) = readers(table, &from) {
                return Err(SqlError::DependentObjects(why));
            }
            used_as_partition_key(table, &from)?;
            table.columns[i].name = to.clone();
            for key in table.primary_key.iter_mut().flatten() {
                if *key == from {
                    *key = to.clone();
                }
            }
        }
        TableChange::Add(items) => change_schema(table, items, true)?,
        TableChange::Modify(items) => {
            change_schema(table, items, false)?;
            table.check_partition_keys()?;
        }
        TableChange::DropColumns(columns) => drop_columns(table, columns)?,
        TableChange::DropPrimaryKey => {
            if table.primary_key.take().is_none() {
                return Err(SqlError::UndefinedObject(
                    "The base table does not define any primary key.".into(),
                ));
            }
            table.primary_key_name = None;
        }
        TableChange::DropConstraint(name) => {
            let named = table.primary_key_name.as_deref() == Some(name.as_str())
                || (table.primary_key_name.is_none()
                    && table.primary_key.is_some()
                    && name.eq_ignore_ascii_case(&format!(
                        "pk_{}",
                        table
                            .primary_key
                            .iter()
                            .flatten()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("_")
                    )));
            if !named {
                return Err(SqlError::UndefinedObject(format!(
                    "The base table does not define a constraint named '{name}'."
                )));
            }
            table.primary_key = None;
            table.primary_key_name = None;
        }
        TableChange::DropWatermark => {
            if table.watermark.take().is_none() {
                return Err(SqlError::UndefinedObject(
                    "The base table does not define any watermark strategy.".into(),
                ));
            }
        }
    }
    // The key, whatever the change: its columns exist, are physical and NOT NULL.
    if let Some(key) = table.primary_key.clone() {
        let name = table.primary_key_name.clone();
        set_key(table, name, key)?;
    }
    if let Some(w) = &table.watermark {
        if !table.columns.iter().any(|c| c.name == w.column) {
            return Err(SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: w.column.clone(),
            });
        }
    }
    Ok(())
}

pub(super) async fn alter_table(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    if_exists: bool,
    change: TableChange,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    if session.temporaries.exists(&full) {
        return Err(SqlError::NotSupported(format!(
            "Table {} is a temporary table: ALTER TABLE changes permanent tables; drop and create the temporary one",
            quoted(&full)
        )));
    }
    let mut catalog = engine.catalog.write().await;
    let database = match catalog.database(&full.database) {
        Err(_) if if_exists => return done("ALTER TABLE"),
        d => d?,
    };
    let Some(mut table) = database.tables.get(&full.name).cloned() else {
        if if_exists {
            return done("ALTER TABLE");
        }
        if database.views.contains_key(&full.name) || database.materialized.contains_key(&full.name)
        {
            return Err(SqlError::WrongObjectType(format!(
                "{} is a view; ALTER VIEW changes views",
                quoted(&full)
            )));
        }
        return Err(SqlError::UndefinedTable(path.to_string()));
    };
    let mut next = catalog.clone();
    if let TableChange::Rename(to) = &change {
        let to = renamed(session, &full, to)?;
        let db = next.database_mut(&full.database)?;
        if db.exists(&to.name) {
            return Err(SqlError::DuplicateObject(format!("table '{}'", to.name)));
        }
        db.tables.remove(&full.name);
        table.name = to.name.clone();
        db.tables.insert(to.name, table);
        engine.save_catalog(&next)?;
        *catalog = next;
        return done("ALTER TABLE");
    }
    apply(&mut table, change)?;
    // The changed table is checked as CREATE TABLE checks one.
    engine.registry.validate_table(
        &table.name,
        &table.physical_schema(),
        &table.options,
        table.primary_key.as_deref().unwrap_or_default(),
    )?;
    super::ddl::infer_computed_types(engine, &mut table, &full)?;
    next.database_mut(&full.database)?
        .tables
        .insert(full.name.clone(), table);
    engine.save_catalog(&next)?;
    *catalog = next;
    done("ALTER TABLE")
}

pub(super) async fn alter_view(
    engine: &Engine,
    session: &Session,
    path: &ObjectPath,
    change: ViewChange,
) -> Result<QueryOutput> {
    let full = session.resolve(path);
    if session.temporaries.view(&full).is_some() {
        return Err(SqlError::NotSupported(format!(
            "View {} is a temporary view: ALTER VIEW changes permanent views; drop and create the temporary one",
            quoted(&full)
        )));
    }
    if let ViewChange::Query(query) = &change {
        // Planned as CREATE VIEW plans it: in the view's own database.
        let config = engine.effective_config(session);
        let ctx = engine.session_context(&config, &full.database).await?;
        // Without the view itself: a view may not read itself.
        ctx.deregister_table(crate::engine::reference(&full))?;
        super::query::plan_view_query(&ctx, query).await?;
    }
    let mut catalog = engine.catalog.write().await;
    let database = catalog.database(&full.database)?;
    let Some(mut view) = database.views.get(&full.name).cloned() else {
        if database.exists(&full.name) {
            return Err(SqlError::WrongObjectType(format!(
                "{} is not a view",
                quoted(&full)
            )));
        }
        return Err(SqlError::UndefinedTable(path.to_string()));
    };
    let mut next = catalog.clone();
    let db = next.database_mut(&full.database)?;
    match change {
        ViewChange::Query(query) => {
            // The new query names its own columns, as a view made without a list.
            view.query = query;
            view.columns = None;
            db.views.insert(full.name.clone(), view);
        }
        ViewChange::Rename(to) => {
            let to = renamed(session, &full, &to)?;
            if db.exists(&to.name) {
                return Err(SqlError::DuplicateObject(format!("view '{}'", to.name)));
            }
            db.views.remove(&full.name);
            for n in db.view_order.iter_mut() {
                if *n == full.name {
                    *n = to.name.clone();
                }
            }
            view.name = to.name.clone();
            db.views.insert(to.name, view);
        }
    }
    engine.save_catalog(&next)?;
    *catalog = next;
    done("ALTER VIEW")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CatalogTable {
        let column = |name: &str, expression: Option<&str>| Column {
            name: name.into(),
            data_type: crate::catalog::FlinkType::Int,
            nullable: true,
            expression: expression.map(String::from),
            metadata: None,
            comment: None,
        };
        CatalogTable {
            name: "t".into(),
            columns: vec![
                column("a", None),
                column("b", None),
                column("ts", None),
                column("c", Some("a + 1")),
            ],
            watermark: Some(crate::catalog::WatermarkSpec {
                column: "ts".into(),
                expression: "ts - INTERVAL '1' SECOND".into(),
            }),
            primary_key: Some(vec!["a".into()]),
            options: Default::default(),
            primary_key_name: None,
            comment: None,
            partition_keys: Vec::new(),
        }
    }

    fn names(t: &CatalogTable) -> Vec<&str> {
        t.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn schema_changes_follow_flinks_rules() {
        let mut t = table();
        let err = apply(&mut t.clone(), TableChange::DropColumns(vec!["a".into()])).unwrap_err();
        assert_eq!(err.sqlstate(), "2BP01", "{err}");
        let err = apply(&mut t.clone(), TableChange::DropColumns(vec!["ts".into()])).unwrap_err();
        assert!(err.to_string().contains("watermark"), "{err}");
        let err = apply(
            &mut t.clone(),
            TableChange::RenameColumn {
                from: "a".into(),
                to: "b".into(),
            },
        )
        .unwrap_err();
        assert_eq!(err.sqlstate(), "42701");
        apply(&mut t, TableChange::DropColumns(vec!["b".into()])).unwrap();
        assert_eq!(names(&t), ["a", "ts", "c"]);
        let added = match crate::parser::parse_statement(
            "ALTER TABLE t ADD (x STRING FIRST, y INT AFTER ts)",
        )
        .unwrap()
        {
            crate::parser::Statement::AlterTable { change, .. } => change,
            other => panic!("{other:?}"),
        };
        apply(&mut t, added).unwrap();
        assert_eq!(names(&t), ["x", "a", "ts", "y", "c"]);
        let err = apply(&mut t.clone(), TableChange::DropPrimaryKey).map(|_| ());
        assert!(err.is_ok());
        apply(&mut t, TableChange::DropPrimaryKey).unwrap();
        assert_eq!(
            apply(&mut t, TableChange::DropPrimaryKey)
                .unwrap_err()
                .sqlstate(),
            "42704"
        );
        apply(&mut t, TableChange::DropWatermark).unwrap();
        assert_eq!(
            apply(&mut t, TableChange::DropWatermark)
                .unwrap_err()
                .sqlstate(),
            "42704"
        );
        assert_eq!(
            apply(&mut t, TableChange::Reset(vec![]))
                .unwrap_err()
                .sqlstate(),
            "22023"
        );
    }
}
