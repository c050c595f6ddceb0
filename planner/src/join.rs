//! Regular joins of two streams (no window): Flink's `StreamingJoinOperator`. Both inputs
//! are hashed on the join keys into one operator that keeps every row of each side in keyed
//! state and joins each arriving row with the other side's rows of its key. Inner, outer,
//! semi and anti joins, over insert-only or updating inputs. As in Flink, an inner or semi
//! join of insert-only inputs is insert-only; any other is updating (outer joins retract
//! their null-padded rows, anti joins the rows that gain a match).

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Join, JoinType, LogicalPlan};
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{
    OperatorSpec, Partitioner, SerializedExpr, SerializedSchema, StreamJoinSpec, VertexId,
    WindowJoinType,
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
    /// The first input whose changes are updates, by the node that produces them.
    pub updating: Option<String>,
}

/// Translates both inputs of `join` into vertices (each must be insert-only for
/// `consumer`, when given) and its extra condition.
pub(crate) fn join_inputs(
    join: &Join,
    consumer: Option<&str>,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<JoinInputs> {
    let mut updating = None;
    let mut side = |plan: &LogicalPlan| -> Result<VertexId> {
        let chain = translate(plan, state, parts)?;
        if let Some(consumer) = consumer {
            chain.insert_only(consumer)?;
        }
        if chain.updating && updating.is_none() {
            updating = Some(chain.producer().to_string());
        }
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
        updating,
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
    let (join_type, flink_name) = match join.join_type {
        JoinType::Inner => (WindowJoinType::Inner, "InnerJoin"),
        JoinType::Left => (WindowJoinType::LeftOuter, "LeftOuterJoin"),
        JoinType::Right => (WindowJoinType::RightOuter, "RightOuterJoin"),
        JoinType::Full => (WindowJoinType::FullOuter, "FullOuterJoin"),
        JoinType::LeftSemi => (WindowJoinType::LeftSemi, "LeftSemiJoin"),
        JoinType::LeftAnti => (WindowJoinType::LeftAnti, "LeftAntiJoin"),
        JoinType::RightSemi => (WindowJoinType::RightSemi, "RightSemiJoin"),
        JoinType::RightAnti => (WindowJoinType::RightAnti, "RightAntiJoin"),
        other => {
            return Err(PlanError::NotSupported(format!(
                "{other} joins of streams are not supported"
            )))
        }
    };
    if join.null_aware {
        return Err(PlanError::NotSupported(
            "NOT IN (subquery) over streams is not supported (a NULL on either side changes every row's answer); write NOT EXISTS".into(),
        ));
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
        updating,
    } = join_inputs(join, None, state, parts)?;
    let description = format!("joinType=[{flink_name}], {description}");
    // Flink's changelog inference: inner and semi joins forward their inputs' kinds, any
    // other join may retract what it emitted.
    let output_updating = updating.is_some()
        || !matches!(
            join_type,
            WindowJoinType::Inner | WindowJoinType::LeftSemi | WindowJoinType::RightSemi
        );
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(ls.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(rs.as_arrow()))?,
        output_schema: SerializedSchema::encode(&nullable(join.schema.as_arrow()))?,
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        filter,
        description: description.clone(),
        join_type,
        updating: output_updating,
    };
    let name = format!("Join({description})");
    let mut chain = OpenChain::new(
        hashed_inputs(left, left_keys, right, right_keys),
        vec![OperatorSpec::StreamJoin(spec)],
        vec![name.clone()],
    );
    chain.updating = output_updating;
    chain.producer = Some(match (updating, join_type) {
        // An inner or semi join passes its input's updates on.
        (
            Some(producer),
            WindowJoinType::Inner | WindowJoinType::LeftSemi | WindowJoinType::RightSemi,
        ) => producer,
        _ => name,
    });
    Ok(chain)
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
