//! Output column names as PostgreSQL gives them: `upper`, `count`, the column a cast
//! wraps, `?column?` for anything else, and duplicates allowed. DataFusion needs unique
//! names, so duplicates get an internal alias and are renamed back in the result schema.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::{self, Expr, Ident, SelectItem, SetExpr};

use crate::parser::normalize_ident;

/// PostgreSQL's name for a type in a cast (`CAST(1 AS INT)` is `int4`).
fn type_name(t: &ast::DataType) -> String {
    let text = t.to_string().to_ascii_uppercase();
    let base = text.split('(').next().unwrap_or("").trim().to_string();
    match base.as_str() {
        "INT" | "INTEGER" => "int4",
        "BIGINT" => "int8",
        "SMALLINT" => "int2",
        "TINYINT" => "int2",
        "DOUBLE" | "DOUBLE PRECISION" => "float8",
        "FLOAT" | "REAL" => "float4",
        "BOOLEAN" | "BOOL" => "bool",
        "STRING" | "TEXT" => "text",
        "VARCHAR" | "CHARACTER VARYING" => "varchar",
        "CHAR" | "CHARACTER" => "bpchar",
        "DECIMAL" | "NUMERIC" | "DEC" => "numeric",
        "DATE" => "date",
        "TIME" => "time",
        "TIMESTAMP" => "timestamp",
        "BYTES" | "BYTEA" => "bytea",
        _ => "?column?",
    }
    .to_string()
}

/// The name PostgreSQL gives an unnamed select-list expression, if it gives one.
fn figure_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(id) => Some(normalize_ident(id)),
        Expr::CompoundIdentifier(ids) => ids.last().map(normalize_ident),
        Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_ascii_lowercase()),
        Expr::Cast {
            expr, data_type, ..
        } => figure_name(expr).or_else(|| Some(type_name(data_type))),
        Expr::Nested(e) => figure_name(e),
        Expr::Case { .. } => Some("case".to_string()),
        Expr::TypedString(t) => Some(type_name(&t.data_type)),
        _ => None,
    }
}

/// Aliases every select-list item of a plain SELECT to its PostgreSQL name. Returns the
/// final names when some had to be made unique for DataFusion, so the caller renames the
/// result's columns back.
pub(super) fn apply(statement: &mut ast::Statement) -> Option<Vec<String>> {
    let ast::Statement::Query(query) = statement else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let plain = select.projection.iter().all(|i| {
        matches!(
            i,
            SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
        )
    });
    if !plain {
        return None;
    }
    let mut names = Vec::new();
    let mut renamed = false;
    for (i, item) in select.projection.iter_mut().enumerate() {
        let (expr, wanted) = match item {
            SelectItem::UnnamedExpr(e) => {
                let name = figure_name(e).unwrap_or_else(|| "?column?".to_string());
                (e.clone(), name)
            }
            SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), normalize_ident(alias)),
            _ => return None,
        };
        let unique = !names.contains(&wanted);
        let alias = if unique {
            wanted.clone()
        } else {
            renamed = true;
            format!("__eddy_column_{i}")
        };
        // A plain column under its own name needs no alias (and keeps ORDER BY simple).
        let keep = unique && matches!(&expr, Expr::Identifier(id) if normalize_ident(id) == alias);
        if !keep {
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', alias),
            };
        }
        names.push(wanted);
    }
    renamed.then_some(names)
}

/// Aliases each unnamed select-list item of a plain SELECT that repeats an earlier one
/// (`SELECT k, 0, 0`) as Flink names it, `EXPR$i`; the others keep DataFusion's names (and
/// EXPLAIN its texts). Where only positions count, as in an INSERT's query.
pub(super) fn alias_repeats(query: &mut ast::Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    for (i, item) in select.projection.iter_mut().enumerate() {
        if let SelectItem::UnnamedExpr(e) = item {
            if !seen.insert(e.to_string()) {
                *item = SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias: Ident::with_quote('"', format!("EXPR${i}")),
                };
            }
        }
    }
}

/// The schema with its fields renamed to `names`.
pub(super) fn rename(schema: &Schema, names: &[String]) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(names)
            .map(|(f, n)| Field::new(n, f.data_type().clone(), f.is_nullable()))
            .collect::<Vec<_>>(),
    ))
}
