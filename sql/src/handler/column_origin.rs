//! Where a result column comes from. PostgreSQL's RowDescription names the table OID and
//! attribute number of a column read straight from a table or view, and its declared type
//! (`varchar(20)`, `time(3)`), which Arrow's type has lost. Drivers show them:
//! node-postgres' `tableID` / `columnID`, pgjdbc's `getTableName` and `getColumnTypeName`.
//! They travel to the wire as metadata on the result schema's fields.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::{JoinType, TableReference};
use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::pg_catalog::{attnum, Relations};

/// Field metadata: the OID of the table or view a column is read from.
pub const TABLE_OID: &str = "eddy.pg.table_oid";
/// Field metadata: the column's attribute number in that table.
pub const ATTNUM: &str = "eddy.pg.attnum";
/// Field metadata: the column's declared PostgreSQL type and typmod.
pub const TYPE_OID: &str = "eddy.pg.type_oid";
pub const TYPMOD: &str = "eddy.pg.typmod";

/// `schema` with the origin of each column `plan` reads straight from a relation. A
/// changelog's leading row-kind column has none.
pub fn annotate(schema: SchemaRef, plan: &LogicalPlan, relations: &Relations) -> SchemaRef {
    let offset = schema
        .fields()
        .len()
        .saturating_sub(plan.schema().fields().len());
    let mut changed = false;
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let found = i
                .checked_sub(offset)
                .and_then(|i| origin(plan, i))
                .and_then(|(table, column)| metadata(relations, &table, &column));
            match found {
                Some(m) => {
                    changed = true;
                    let mut all = f.metadata().clone();
                    all.extend(m);
                    Arc::new(f.as_ref().clone().with_metadata(all))
                }
                None => f.clone(),
            }
        })
        .collect();
    match changed {
        true => Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        false => schema,
    }
}

fn metadata(
    relations: &Relations,
    table: &TableReference,
    column: &str,
) -> Option<HashMap<String, String>> {
    // Only the session's catalog's relations are listed by pg_catalog.
    if table.catalog().is_some_and(|c| c != relations.database) {
        return None;
    }
    let schema = table.schema().unwrap_or(&relations.schema);
    let relation = relations
        .relations
        .iter()
        .find(|r| r.name == table.table() && r.schema == schema)?;
    let index = relation.columns.iter().position(|c| c.name == column)?;
    let attribute = &relation.columns[index];
    Some(HashMap::from([
        (TABLE_OID.to_string(), relation.oid.to_string()),
        (ATTNUM.to_string(), attnum(index).to_string()),
        (TYPE_OID.to_string(), attribute.type_oid.to_string()),
        (TYPMOD.to_string(), attribute.typmod.to_string()),
    ]))
}

/// The relation and column the plan's output column `index` is, unchanged.
fn origin(plan: &LogicalPlan, index: usize) -> Option<(TableReference, String)> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let field = scan.projected_schema.fields().get(index)?;
            Some((scan.table_name.clone(), field.name().clone()))
        }
        LogicalPlan::Projection(p) => expr_origin(p.expr.get(index)?, &p.input),
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Repartition(_) => origin(plan.inputs().first()?, index),
        LogicalPlan::Join(join) => match join.join_type {
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                origin(&join.left, index)
            }
            JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                origin(&join.right, index)
            }
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                let left = join.left.schema().fields().len();
                match index.checked_sub(left) {
                    None => origin(&join.left, index),
                    Some(i) => origin(&join.right, i),
                }
            }
        },
        _ => None,
    }
}

fn expr_origin(e: &Expr, input: &LogicalPlan) -> Option<(TableReference, String)> {
    match e {
        Expr::Column(c) => origin(input, input.schema().index_of_column(c).ok()?),
        Expr::Alias(a) => expr_origin(&a.expr, input),
        _ => None,
    }
}
