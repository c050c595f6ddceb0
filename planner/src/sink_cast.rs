//! Fits a query's columns to a sink table's: same count, and types the sink accepts
//! (identical, or a cast within the same family, as Flink's implicit INSERT casts).

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{cast, Expr};

use crate::error::{PlanError, Result};

fn family(t: &DataType) -> u8 {
    use DataType::*;
    match t {
        Null => 0,
        Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float16
        | Float32
        | Float64
        | Decimal32(_, _)
        | Decimal64(_, _)
        | Decimal128(_, _)
        | Decimal256(_, _) => 1,
        Utf8 | LargeUtf8 | Utf8View => 2,
        Boolean => 3,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => 4,
        Date32 | Date64 => 5,
        Timestamp(_, _) => 6,
        Time32(_) | Time64(_) => 7,
        Interval(_) | Duration(_) => 8,
        _ => 9,
    }
}

/// Whether a value of type `from` may be written into a column of type `to`.
fn assignable(from: &DataType, to: &DataType) -> bool {
    if from == to || from.is_null() {
        return true;
    }
    let (f, t) = (family(from), family(to));
    // Dates widen to timestamps; nested types must match exactly (checked above).
    f == t && f != 9 || (f == 5 && t == 6)
}

/// Expressions projecting the query's output onto the sink's columns, or `None` when the
/// query already produces exactly the sink's types.
pub(crate) fn sink_projection(
    table: &str,
    query: &DFSchema,
    sink: &Schema,
) -> Result<Option<Vec<Expr>>> {
    if query.fields().len() != sink.fields().len() {
        return Err(PlanError::ColumnCount {
            table: table.to_string(),
            query: query.fields().len(),
            table_columns: sink.fields().len(),
        });
    }
    let mut exprs = Vec::new();
    let mut identical = true;
    for (i, target) in sink.fields().iter().enumerate() {
        let (qualifier, field) = query.qualified_field(i);
        let column = Expr::Column(datafusion::common::Column::new(
            qualifier.cloned(),
            field.name(),
        ));
        if !assignable(field.data_type(), target.data_type()) {
            return Err(PlanError::TypeMismatch {
                table: table.to_string(),
                column: target.name().clone(),
                expected: target.data_type().to_string(),
                found: field.data_type().to_string(),
            });
        }
        identical &= field.data_type() == target.data_type() && field.name() == target.name();
        let value = if field.data_type() == target.data_type() {
            column
        } else {
            cast(column, target.data_type().clone())
        };
        exprs.push(value.alias(target.name()));
    }
    Ok(if identical { None } else { Some(exprs) })
}
