//! Joins of two inputs: the window join, the regular (unwindowed) join of two changelog
//! streams, the interval join over event time and the temporal join.

mod interval_join;
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
