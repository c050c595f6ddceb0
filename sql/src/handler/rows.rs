//! Small result sets built by statements (SHOW, DESCRIBE, SET), as Arrow batches.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use crate::engine::QueryOutput;
use crate::error::{Result, SqlError};

/// One value of a built result.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(Option<String>),
    Bool(bool),
    Int(Option<i64>),
}

/// Builds a result from column names and rows of cells; a column's type is taken from
/// its first row (text when there are no rows).
pub(crate) fn table(columns: &[&str], rows: Vec<Vec<Cell>>) -> Result<QueryOutput> {
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut fields = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        let first = rows.first().map(|r| r[i].clone());
        let array: ArrayRef = match first {
            Some(Cell::Bool(_)) => Arc::new(BooleanArray::from(
                rows.iter()
                    .map(|r| match &r[i] {
                        Cell::Bool(b) => Some(*b),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            )),
            Some(Cell::Int(_)) => Arc::new(Int64Array::from(
                rows.iter()
                    .map(|r| match &r[i] {
                        Cell::Int(v) => *v,
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            )),
            _ => Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| match &r[i] {
                        Cell::Text(s) => s.clone(),
                        Cell::Bool(b) => Some(b.to_string()),
                        Cell::Int(v) => v.map(|v| v.to_string()),
                    })
                    .collect::<Vec<_>>(),
            )),
        };
        fields.push(Field::new(*name, array.data_type().clone(), true));
        arrays.push(array);
    }
    if columns.is_empty() {
        return Err(SqlError::Internal("result without columns".into()));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| SqlError::Internal(e.to_string()))?;
    Ok(QueryOutput::Rows {
        schema,
        stream: Box::pin(futures::stream::iter(vec![Ok(batch)])),
    })
}

/// A text cell.
pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(Some(s.into()))
}

/// A nullable text cell.
pub(crate) fn opt_text(s: Option<String>) -> Cell {
    Cell::Text(s)
}
