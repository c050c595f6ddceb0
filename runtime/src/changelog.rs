//! Changelog streams (Flink's `RowKind` per row), kept columnar: a batch of an updating
//! stream carries one more column than its schema, [`OP_COLUMN`], last, holding each row's
//! kind as Flink's byte value. Insert-only streams have no such column, so they pay nothing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int8Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Result, RuntimeError};
use crate::stream_element::RowKind;

/// The name of the row-kind column of an updating stream's batches.
pub const OP_COLUMN: &str = "__op";

impl RowKind {
    /// Flink's `RowKind.toByteValue`.
    pub fn to_i8(self) -> i8 {
        match self {
            RowKind::Insert => 0,
            RowKind::UpdateBefore => 1,
            RowKind::UpdateAfter => 2,
            RowKind::Delete => 3,
        }
    }

    /// The kind a byte value stands for.
    pub fn from_i8(value: i8) -> Option<Self> {
        match value {
            0 => Some(RowKind::Insert),
            1 => Some(RowKind::UpdateBefore),
            2 => Some(RowKind::UpdateAfter),
            3 => Some(RowKind::Delete),
            _ => None,
        }
    }
}

/// The row-kind field.
pub fn op_field() -> Field {
    Field::new(OP_COLUMN, DataType::Int8, false)
}

/// `schema` with the row-kind column appended: an updating stream's batches.
pub fn with_op_field(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(op_field()));
    Arc::new(Schema::new(fields))
}

/// Whether a batch carries row kinds.
pub fn is_changelog(batch: &RecordBatch) -> bool {
    batch
        .schema()
        .fields()
        .last()
        .is_some_and(|f| f.name() == OP_COLUMN)
}

/// A batch's row kinds, when it carries them.
pub fn ops(batch: &RecordBatch) -> Option<&Int8Array> {
    if !is_changelog(batch) {
        return None;
    }
    batch
        .columns()
        .last()
        .and_then(|c| c.as_any().downcast_ref::<Int8Array>())
}

/// A batch without its row-kind column (the data columns only).
pub fn data_columns(batch: &RecordBatch) -> &[ArrayRef] {
    match is_changelog(batch) {
        true => &batch.columns()[..batch.num_columns() - 1],
        false => batch.columns(),
    }
}

/// The row kinds as Flink prints them (`+I`, `-U`, `+U`, `-D`); all `+I` without kinds.
pub fn op_strings(batch: &RecordBatch) -> Result<StringArray> {
    match ops(batch) {
        None => Ok(StringArray::from(vec![
            RowKind::Insert.short_string();
            batch.num_rows()
        ])),
        Some(ops) => ops
            .iter()
            .map(|op| {
                op.and_then(RowKind::from_i8)
                    .map(RowKind::short_string)
                    .ok_or_else(|| RuntimeError::Internal(format!("a row kind of {op:?}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(StringArray::from),
    }
}
