//! Regular joins of two streams (no window): Flink's `StreamingJoinOperator`. Both inputs
//! are hashed on the join keys into one operator that keeps every row of each side in keyed
//! state and joins each arriving row with the other side's rows of its key. INNER joins of
//! insert-only inputs, whose result is insert-only too; outer joins, which retract
//! null-padded rows, are yet to come.

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Join, JoinType, LogicalPlan};
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{
    OperatorSpec, Partitioner, SerializedExpr, SerializedSchema, StreamJoinSpec, VertexId,
};

use crate::error::{PlanError, Result};
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};

/// A join's two inputs, planned.
pub(crate) struct JoinInputs {
    pub left: VertexId,
    pub right: VertexId,
    /// The extra condition, over the left then the right columns.
    pub filter: Option<SerializedExpr>,
    /// `on=[..]` and `, where=..`, as Flink describes a join.
    pub description: String,
}

/// Translates both inputs of `join` into vertices (each must be insert-only for
/// `consumer`) and its extra condition.
pub(crate) fn join_inputs(
    join: &Join,
    consumer: &str,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<JoinInputs> {
    let mut side = |plan: &LogicalPlan| -> Result<VertexId> {
        let chain = translate(plan, state, parts)?;
        chain.insert_only(consumer)?;
        parts.close(chain)
    };
    let left = side(&join.left)?;
    let right = side(&join.right)?;
    // The condition sees both sides' columns, also when the output has one side only.
    let joined = join.left.schema().as_ref().join(join.right.schema())?;
    let filter = match &join.filter {
        Some(f) => Some(encode_expr(
            &state.create_physical_expr(f.clone(), &joined)?,
        )?),
        None => None,
    };
    let description = format!(
        "on=[{}]{}",
        join.on
            .iter()
            .map(|(l, r)| format!("{l} = {r}"))
            .collect::<Vec<_>>()
            .join(", "),
        join.filter
            .as_ref()
            .map(|f| format!(", where={f}"))
            .unwrap_or_default()
    );
    Ok(JoinInputs {
        left,
        right,
        filter,
        description,
    })
}

/// Plans `join` (equi-join columns `left_keys` = `right_keys`) as a regular streaming join.
pub(crate) fn translate_stream_join(
    join: &Join,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    if join.join_type != JoinType::Inner {
        return Err(PlanError::NotSupported(format!(
            "{} joins of streams without windows are not supported yet; INNER joins and window joins are",
            join.join_type
        )));
    }
    if left_keys.is_empty() {
        return Err(PlanError::NotSupported(
            "a join of streams needs an equality between the two sides (a cross join would keep every row forever)".into(),
        ));
    }
    let (ls, rs) = (join.left.schema(), join.right.schema());
    for (&l, &r) in left_keys.iter().zip(&right_keys) {
        let (lt, rt) = (ls.field(l).data_type(), rs.field(r).data_type());
        if lt != rt {
            return Err(PlanError::NotSupported(format!(
                "join keys {} ({lt}) and {} ({rt}) differ in type; CAST one side in a subquery",
                ls.field(l).name(),
                rs.field(r).name()
            )));
        }
    }
    let JoinInputs {
        left,
        right,
        filter,
        description,
    } = join_inputs(join, "Join", state, parts)?;
    let description = format!("joinType=[InnerJoin], {description}");
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(ls.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(rs.as_arrow()))?,
        output_schema: SerializedSchema::encode(&nullable(join.schema.as_arrow()))?,
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        filter,
        description: description.clone(),
    };
    Ok(OpenChain::new(
        hashed_inputs(left, left_keys, right, right_keys),
        vec![OperatorSpec::StreamJoin(spec)],
        vec![format!("Join({description})")],
    ))
}

/// Both inputs of a join, each hashed on its join keys.
pub(crate) fn hashed_inputs(
    left: VertexId,
    left_keys: Vec<usize>,
    right: VertexId,
    right_keys: Vec<usize>,
) -> Head {
    Head::Inputs(vec![
        (
            left,
            Partitioner::Hash {
                key_columns: left_keys,
            },
        ),
        (
            right,
            Partitioner::Hash {
                key_columns: right_keys,
            },
        ),
    ])
}
