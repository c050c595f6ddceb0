//! Physical expressions travel inside the `JobGraph` in datafusion-proto's encoding so a
//! TaskManager in another process can rebuild them.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use datafusion_proto::physical_plan::from_proto::parse_physical_expr;
use datafusion_proto::physical_plan::to_proto::serialize_physical_expr;
use datafusion_proto::physical_plan::DefaultPhysicalExtensionCodec;
use datafusion_proto::protobuf::PhysicalExprNode;
use prost::Message;

use crate::error::{Result, RuntimeError};
use crate::jobgraph::SerializedExpr;

/// Encodes an expression.
pub fn encode_expr(expr: &Arc<dyn PhysicalExpr>) -> Result<SerializedExpr> {
    let node = serialize_physical_expr(expr, &DefaultPhysicalExtensionCodec {})?;
    Ok(SerializedExpr(node.encode_to_vec()))
}

/// A task context whose function registry holds DataFusion's built-in functions, which
/// decoding needs because functions are serialized by name.
pub fn function_context() -> Arc<TaskContext> {
    SessionContext::new().task_ctx()
}

/// Decodes an expression against the schema it was bound to.
pub fn decode_expr(
    bytes: &SerializedExpr,
    input_schema: &Schema,
    ctx: &TaskContext,
) -> Result<Arc<dyn PhysicalExpr>> {
    let node = PhysicalExprNode::decode(bytes.0.as_slice())
        .map_err(|e| RuntimeError::Internal(format!("cannot decode expression: {e}")))?;
    Ok(parse_physical_expr(
        &node,
        ctx,
        input_schema,
        &DefaultPhysicalExtensionCodec {},
    )?)
}
