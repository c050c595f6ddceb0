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
    let ctx = SessionContext::new();
    for f in crate::functions::eddy_functions()
        .into_iter()
        .chain(crate::fault_injection::testing_functions())
    {
        ctx.register_udf(f.as_ref().clone());
    }
    // TaskManagers run jobs only: their SUM and AVG are Flink's.
    for f in crate::functions::flink_aggregates()
        .into_iter()
        .chain(crate::functions::flink_aggregate_aliases())
    {
        ctx.register_udaf(f.as_ref().clone());
    }
    ctx.task_ctx()
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

/// Encodes a physical plan (used for operators whose expressions DataFusion only
/// serializes as part of a plan, such as aggregates).
pub fn encode_plan(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> Result<crate::jobgraph::SerializedPlan> {
    use datafusion_proto::physical_plan::AsExecutionPlan;
    let node = datafusion_proto::protobuf::PhysicalPlanNode::try_from_physical_plan(
        plan,
        &DefaultPhysicalExtensionCodec {},
    )?;
    Ok(crate::jobgraph::SerializedPlan(node.encode_to_vec()))
}

/// Decodes a plan written by [`encode_plan`].
pub fn decode_plan(
    bytes: &crate::jobgraph::SerializedPlan,
    ctx: &TaskContext,
) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
    use datafusion_proto::physical_plan::AsExecutionPlan;
    let node = datafusion_proto::protobuf::PhysicalPlanNode::decode(bytes.0.as_slice())
        .map_err(|e| RuntimeError::Internal(format!("cannot decode plan: {e}")))?;
    Ok(node.try_into_physical_plan(ctx, &DefaultPhysicalExtensionCodec {})?)
}
