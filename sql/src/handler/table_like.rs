//! `CREATE TABLE t (...) WITH (...) LIKE source (options)`: Flink's table derivation
//! (`MergeTableLikeUtil`). The source's physical columns come first, then its computed
//! and metadata columns, watermark, primary key, partitions and options as the LIKE
//! options say (by default `INCLUDING ALL OVERWRITING OPTIONS`), then the new table's
//! own definitions, with Flink's rules and messages for what collides.

use std::collections::BTreeMap;

use crate::catalog::CatalogTable;
use crate::engine::Engine;
use crate::error::{Result, SqlError};
use crate::parser::{check_references, LikeFeature, LikeStrategy, TableLike};
use crate::session::Session;

/// Flink's defaults, then ALL, then each named feature.
fn strategies(like: &TableLike) -> BTreeMap<&'static str, LikeStrategy> {
    use LikeStrategy::*;
    let mut s = BTreeMap::from([
        ("OPTIONS", Overwriting),
        ("WATERMARKS", Including),
        ("GENERATED", Including),
        ("METADATA", Including),
        ("CONSTRAINTS", Including),
        ("PARTITIONS", Including),
    ]);
    if let Some((all, _)) = like.options.iter().find(|(_, f)| *f == LikeFeature::All) {
        for v in s.values_mut() {
            *v = *all;
        }
    }
    for (strategy, feature) in &like.options {
        let key = match feature {
            LikeFeature::All => continue,
            LikeFeature::Constraints => "CONSTRAINTS",
            LikeFeature::Generated => "GENERATED",
            LikeFeature::Metadata => "METADATA",
            LikeFeature::Options => "OPTIONS",
            LikeFeature::Partitions => "PARTITIONS",
            LikeFeature::Watermarks => "WATERMARKS",
        };
        s.insert(key, *strategy);
    }
    s
}

/// The source table of the LIKE clause: a table, never a view.
async fn source(engine: &Engine, session: &Session, like: &TableLike) -> Result<CatalogTable> {
    let name = session.resolve(&like.source);
    let view = || {
        SqlError::WrongObjectType(format!(
            "Source table '{}' of the LIKE clause can not be a VIEW",
            like.source
        ))
    };
    if let Some(t) = session.temporaries.table(&name) {
        return Ok(t);
    }
    if session.temporaries.view(&name).is_some() {
        return Err(view());
    }
    let catalog = engine.catalog.read().await;
    let db = catalog.database(&name.database)?;
    if db.views.contains_key(&name.name) || db.materialized.contains_key(&name.name) {
        return Err(view());
    }
    Ok(db.table(&name.name)?.clone())
}

/// The table `derived` declares, merged with the LIKE clause's source.
pub(super) async fn merge(
    engine: &Engine,
    session: &Session,
    derived: CatalogTable,
    like: &TableLike,
) -> Result<CatalogTable> {
    let base = source(engine, session, like).await?;
    let mut merged = merge_tables(&strategies(like), base, derived)?;
    check_references(&mut merged)?;
    Ok(merged)
}

fn merge_tables(
    strategy: &BTreeMap<&'static str, LikeStrategy>,
    base: CatalogTable,
    derived: CatalogTable,
) -> Result<CatalogTable> {
    use LikeStrategy::*;
    let is = |feature: &str, s: LikeStrategy| strategy.get(feature) == Some(&s);
    let computed = |c: &crate::catalog::Column| c.expression.is_some();
    let metadata = |c: &crate::catalog::Column| c.metadata.is_some();
    let mut columns: Vec<_> = base
        .columns
        .into_iter()
        .filter(|c| {
            (!computed(c) && !metadata(c))
                || (computed(c) && !is("GENERATED", Excluding))
                || (metadata(c) && !is("METADATA", Excluding))
        })
        .collect();
    for column in &derived.columns {
        if !computed(column) && !metadata(column) && columns.iter().any(|c| c.name == column.name) {
            return Err(SqlError::DuplicateColumnText(format!(
                "A column named '{}' already exists in the base table.",
                column.name
            )));
        }
    }
    let mut derived_added = 0;
    for column in derived.columns {
        let existing = columns.iter().position(|c| c.name == column.name);
        let Some(i) = existing else {
            columns.push(column);
            derived_added += 1;
            continue;
        };
        let (kind, feature, same) = match computed(&column) {
            true => ("Computed", "GENERATED", computed(&columns[i])),
            false => ("Metadata", "METADATA", metadata(&columns[i])),
        };
        if !same {
            return Err(SqlError::DuplicateColumnText(format!(
                "A column named '{}' already exists in the base table. {kind} columns can only overwrite other {} columns.",
                column.name,
                kind.to_ascii_lowercase()
            )));
        }
        if !is(feature, Overwriting) {
            let what = match feature {
                "GENERATED" => "generated",
                _ => "metadata",
            };
            return Err(SqlError::DuplicateColumnText(format!(
                "A {what} column named '{}' already exists in the base table. You might want to specify EXCLUDING {feature} or OVERWRITING {feature}.",
                column.name
            )));
        }
        columns[i] = column;
    }
    let mut watermark = base.watermark.filter(|_| !is("WATERMARKS", Excluding));
    if let Some(w) = derived.watermark {
        match &watermark {
            Some(old) if old.column == w.column && !is("WATERMARKS", Overwriting) => {
                return Err(SqlError::DuplicateConstraint(format!(
                    "There already exists a watermark spec for column '{}' in the base table. You might want to specify EXCLUDING WATERMARKS or OVERWRITING WATERMARKS.",
                    w.column
                )))
            }
            // Flink would keep both; an Eddy table has one watermark.
            Some(old) if old.column != w.column => {
                return Err(SqlError::NotSupported(format!(
                    "the base table has a watermark on '{}' and the new table one on '{}'; Eddy keeps one watermark per table: specify EXCLUDING WATERMARKS",
                    old.column, w.column
                )))
            }
            _ => {}
        }
        watermark = Some(w);
    }
    let (mut primary_key, mut primary_key_name) = match is("CONSTRAINTS", Including) {
        true => (base.primary_key, base.primary_key_name),
        false => (None, None),
    };
    if derived.primary_key.is_some() {
        if primary_key.is_some() {
            return Err(SqlError::DuplicateConstraint(
                "The base table already has a primary key. You might want to specify EXCLUDING CONSTRAINTS.".into(),
            ));
        }
        // Columns of the base table keep their nullability: a key needs NOT NULL ones, as
        // Flink checks (columns declared here are made NOT NULL by the key).
        let base_count = columns.len() - derived_added;
        for key in derived.primary_key.iter().flatten() {
            if columns[..base_count]
                .iter()
                .any(|c| &c.name == key && c.nullable)
            {
                let name = derived
                    .primary_key_name
                    .clone()
                    .unwrap_or_else(|| format!("PK_{key}"));
                return Err(SqlError::InvalidDefinition(format!(
                    "Invalid primary key '{name}'. Column '{key}' is nullable."
                )));
            }
        }
        primary_key = derived.primary_key;
        primary_key_name = derived.primary_key_name;
    }
    // As Flink's mergePartitions: EXCLUDING PARTITIONS lets the new table declare its
    // own; without them, the base table's stay (Flink 2.3 keeps them even then).
    let partition_keys = match (base.partition_keys.is_empty(), derived.partition_keys.is_empty()) {
        (false, false) if !is("PARTITIONS", Excluding) => {
            return Err(SqlError::InvalidDefinition(
                "The base table already has partitions defined. You might want to specify EXCLUDING PARTITIONS.".into(),
            ))
        }
        (_, false) => derived.partition_keys,
        (_, true) => base.partition_keys,
    };
    let mut options = match is("OPTIONS", Excluding) {
        true => BTreeMap::new(),
        false => base.options,
    };
    for (key, value) in derived.options {
        if !is("OPTIONS", Overwriting) {
            if let Some(old) = options.get(&key) {
                return Err(SqlError::InvalidParameter(format!(
                    "There already exists an option ['{key}' -> '{old}']  in the base table. You might want to specify EXCLUDING OPTIONS or OVERWRITING OPTIONS."
                )));
            }
        }
        options.insert(key, value);
    }
    Ok(CatalogTable {
        name: derived.name,
        columns,
        watermark,
        primary_key,
        options,
        primary_key_name,
        comment: derived.comment,
        partition_keys,
    })
}
