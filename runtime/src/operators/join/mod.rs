//! Joins of two inputs: the window join, the regular (unwindowed) join of two changelog
//! streams, the interval join over event time and the temporal join.

mod interval_join;
mod key_index;
mod stream_join;
mod temporal_join;
mod window_join;

pub use interval_join::IntervalJoinOperator;
pub use stream_join::StreamJoinOperator;
pub use temporal_join::TemporalJoinOperator;
pub use window_join::WindowJoinOperator;

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::physical_expr::PhysicalExpr;

use crate::error::Result;
use crate::expr_codec::decode_expr;
use crate::jobgraph::SerializedExpr;
use crate::operators::OperatorContext;

/// What every join builds first: the schema of a joined row (left columns, then right)
/// and its extra condition over that row, if any.
fn joined_rows(
    left: &SchemaRef,
    right: &SchemaRef,
    condition: Option<&SerializedExpr>,
    ctx: &OperatorContext<'_>,
) -> Result<(SchemaRef, Option<Arc<dyn PhysicalExpr>>)> {
    let joined = Arc::new(Schema::new(
        left.fields()
            .iter()
            .chain(right.fields().iter())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let condition = condition
        .map(|f| decode_expr(f, &joined, &ctx.functions))
        .transpose()?;
    Ok((joined, condition))
}

/// The join key of each row of a batch, in Arrow's row format, and its key group. A join
/// without key columns (Flink runs it on one subtask) has one empty key, in key group 0.
pub(crate) struct BatchKeys {
    rows: Option<datafusion::arrow::row::Rows>,
    pub groups: Vec<u32>,
}

impl BatchKeys {
    pub fn new(
        key_columns: &[datafusion::arrow::array::ArrayRef],
        converter: &datafusion::arrow::row::RowConverter,
        max_parallelism: u32,
        num_rows: usize,
    ) -> Result<Self> {
        if key_columns.is_empty() {
            return Ok(Self {
                rows: None,
                groups: vec![0; num_rows],
            });
        }
        Ok(Self {
            rows: Some(converter.convert_columns(key_columns)?),
            groups: crate::exchange::key_groups(key_columns, max_parallelism)?,
        })
    }

    /// The key of row `row`.
    pub fn key(&self, row: usize) -> &[u8] {
        self.rows.as_ref().map_or(&[], |r| r.row(row).data())
    }
}

/// Rows kept in Arrow's row format (by `converter`) back as a batch of `schema`.
pub(crate) fn decode_rows(
    converter: &datafusion::arrow::row::RowConverter,
    schema: &SchemaRef,
    rows: &[&[u8]],
) -> Result<datafusion::arrow::record_batch::RecordBatch> {
    let parser = converter.parser();
    let columns = converter.convert_rows(rows.iter().map(|r| parser.parse(r)))?;
    Ok(
        datafusion::arrow::record_batch::RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &datafusion::arrow::record_batch::RecordBatchOptions::new()
                .with_row_count(Some(rows.len())),
        )?,
    )
}
