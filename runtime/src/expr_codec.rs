//! Physical expressions travel inside the `JobGraph` in datafusion-proto's encoding so a
//! TaskManager in another process can rebuild them.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::physical_plan::from_proto::parse_physical_expr;
use datafusion_proto::physical_plan::to_proto::serialize_physical_expr;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use datafusion_proto::protobuf::PhysicalExprNode;
use prost::Message;

use crate::error::{Result, RuntimeError};
use crate::jobgraph::SerializedExpr;

/// DataFusion's encoding, plus user functions: a Python function's definition travels with
/// its call (DataFusion's own functions travel by name and are found in the registry).
#[derive(Debug)]
struct EddyCodec;

impl PhysicalExtensionCodec for EddyCodec {
    fn try_decode(
        &self,
        _buf: &[u8],
        _inputs: &[Arc<dyn ExecutionPlan>],
        _ctx: &TaskContext,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        datafusion::common::not_impl_err!("Eddy ships no extension plans")
    }

    fn try_encode(
        &self,
        _node: Arc<dyn ExecutionPlan>,
        _buf: &mut Vec<u8>,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> datafusion::error::Result<()> {
        datafusion::common::not_impl_err!("Eddy ships no extension plans")
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> datafusion::error::Result<()> {
        if let Some(function) = crate::functions::python::definition_of(node) {
            serde_json::to_writer(buf, function).map_err(|e| {
                datafusion::error::DataFusionError::Internal(format!(
                    "cannot encode function {}: {e}",
                    function.name
                ))
            })?;
        }
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> datafusion::error::Result<Arc<ScalarUDF>> {
        if buf.is_empty() {
            return datafusion::common::plan_err!("Invalid function '{name}': not registered");
        }
        let function = serde_json::from_slice(buf).map_err(|e| {
            datafusion::error::DataFusionError::Internal(format!(
                "cannot decode function {name}: {e}"
            ))
        })?;
        crate::functions::python::python_udf(function)
    }
}

/// Encodes an expression.
pub fn encode_expr(expr: &Arc<dyn PhysicalExpr>) -> Result<SerializedExpr> {
    let node = serialize_physical_expr(expr, &EddyCodec)?;
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
    Ok(parse_physical_expr(&node, ctx, input_schema, &EddyCodec)?)
}

/// Encodes a physical plan (used for operators whose expressions DataFusion only
/// serializes as part of a plan, such as aggregates).
pub fn encode_plan(
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> Result<crate::jobgraph::SerializedPlan> {
    use datafusion_proto::physical_plan::AsExecutionPlan;
    let node =
        datafusion_proto::protobuf::PhysicalPlanNode::try_from_physical_plan(plan, &EddyCodec)?;
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
    Ok(node.try_into_physical_plan(ctx, &EddyCodec)?)
}
