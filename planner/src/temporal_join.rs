//! Temporal joins: `JOIN r FOR SYSTEM_TIME AS OF l.time`, recognised by the
//! [`TemporalTableNode`] on the join's right side. Over event time the right side is a
//! versioned table (a PRIMARY KEY and a rowtime); over processing time it must be bounded,
//! and is read whole before left rows join it (a lookup join that needs no lookup source).
//! Flink's planner rules give the messages for what it refuses.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::DFSchema;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Expr, ExprSchemable, JoinType, LogicalPlan};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::PhysicalExpr;
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{OperatorSpec, SerializedSchema, TemporalJoinSpec};
use eddy_runtime::time::TimeAttribute;

use crate::error::{PlanError, Result};
use crate::logical::temporal_table::{as_temporal_table, TemporalJoinNode, TemporalTableNode};
use crate::table::is_unbounded_plan;
use crate::translate::{nullable, translate, GraphParts, OpenChain};

/// The temporal table under a join's right input, through aliases and projections.
pub(crate) fn temporal_table_of(plan: &LogicalPlan) -> Option<&TemporalTableNode> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => temporal_table_of(&a.input),
        LogicalPlan::Projection(p) => temporal_table_of(&p.input),
        LogicalPlan::Filter(f) => temporal_table_of(&f.input),
        other => as_temporal_table(other),
    }
}

fn refuse(msg: impl Into<String>) -> PlanError {
    PlanError::NotSupported(msg.into())
}

/// Whether a plan filters rows anywhere (a filter node, or one pushed into a scan).
fn has_filter(plan: &LogicalPlan) -> bool {
    match plan {
        // A versioned view's deduplication is a Rank, not a filter of the changelog.
        LogicalPlan::Filter(f) if crate::rank::as_rank(f).is_some() => false,
        LogicalPlan::Filter(_) => true,
        LogicalPlan::TableScan(scan) => !scan.filters.is_empty(),
        other => other.inputs().into_iter().any(has_filter),
    }
}

/// The key of a versioned view: the PARTITION BY columns of a deduplication (a top 1:
/// Flink's upsert key of such a Rank), by the names the view gives them. `None` for
/// anything else.
fn versioned_view_key(plan: &LogicalPlan) -> Option<Vec<String>> {
    match plan {
        LogicalPlan::SubqueryAlias(alias) => versioned_view_key(&alias.input),
        LogicalPlan::Projection(p) => {
            let inner = match p.input.as_ref() {
                LogicalPlan::Filter(f) => crate::rank::as_rank(f).and_then(|rank| dedup_key(&rank)),
                other => versioned_view_key(other),
            }?;
            // Each key column must be passed through; it may be renamed.
            inner
                .iter()
                .map(|k| {
                    p.expr.iter().zip(p.schema.fields()).find_map(|(e, f)| {
                        let column = match e {
                            Expr::Column(c) => Some(c),
                            Expr::Alias(a) => match a.expr.as_ref() {
                                Expr::Column(c) => Some(c),
                                _ => None,
                            },
                            _ => None,
                        };
                        column.filter(|c| &c.name == k).map(|_| f.name().clone())
                    })
                })
                .collect()
        }
        LogicalPlan::Filter(f) => crate::rank::as_rank(f).and_then(|rank| dedup_key(&rank)),
        _ => None,
    }
}

/// The partition columns of a top 1.
fn dedup_key(rank: &crate::rank::RankFilter<'_>) -> Option<Vec<String>> {
    if (rank.start, rank.end) != (1, 1) {
        return None;
    }
    let [Expr::WindowFunction(function)] = rank.window.window_expr.as_slice() else {
        return None;
    };
    let input = rank.window.input.schema();
    function
        .params
        .partition_by
        .iter()
        .map(|e| crate::windowing::column_index(e, input).map(|i| input.field(i).name().clone()))
        .collect()
}

/// One side of the join: its chain and schema, with the key expressions that are not
/// plain columns computed as extra columns after its own.
struct KeyedSide {
    chain: OpenChain,
    schema: DFSchema,
    keys: Vec<usize>,
    /// The side's own columns (before the computed keys).
    own_columns: usize,
}

fn keyed_side(
    plan: &LogicalPlan,
    keys: &[&Expr],
    side: &str,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<KeyedSide> {
    let mut chain = translate(plan, state, parts)?;
    let input = plan.schema();
    let own_columns = input.fields().len();
    let mut indices = Vec::with_capacity(keys.len());
    let mut computed: Vec<(Expr, Field)> = Vec::new();
    for key in keys {
        if let Expr::Column(c) = key {
            if let Ok(i) = input.index_of_column(c) {
                indices.push(i);
                continue;
            }
        }
        let data_type = key.to_field(input)?.1.data_type().clone();
        let name = format!("__{side}_key_{}", computed.len());
        indices.push(own_columns + computed.len());
        computed.push(((*key).clone(), Field::new(name, data_type, true)));
    }
    let mut schema = input.as_ref().clone();
    if !computed.is_empty() {
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = (0..own_columns)
            .map(|i| Arc::new(PhysicalColumn::new(input.field(i).name(), i)) as _)
            .collect();
        for (expr, _) in &computed {
            exprs.push(state.create_physical_expr(expr.clone(), input)?);
        }
        let extra = Schema::new(computed.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>());
        schema = schema.join(&DFSchema::try_from(extra)?)?;
        let text = computed
            .iter()
            .map(|(e, f)| format!("{e} AS {}", f.name()))
            .collect::<Vec<_>>()
            .join(", ");
        chain.add_projection(
            Arc::new(input.as_arrow().clone()),
            exprs,
            nullable(schema.as_arrow()),
            format!("*, {text}"),
        )?;
    }
    Ok(KeyedSide {
        chain,
        schema,
        keys: indices,
        own_columns,
    })
}

/// Plans a temporal join.
pub(crate) fn translate_temporal_join(
    join: &TemporalJoinNode,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let node = temporal_table_of(&join.right)
        .ok_or_else(|| refuse("a temporal join lost its versioned table"))?;
    let (left_outer, flink_name) = match join.join_type {
        JoinType::Inner => (false, "InnerJoin"),
        JoinType::Left => (true, "LeftOuterJoin"),
        other => {
            return Err(refuse(format!(
            "Temporal table join currently only support INNER JOIN and LEFT JOIN, but was {} JOIN.",
            other.to_string().to_uppercase()
        )))
        }
    };
    let ls = join.left.schema();
    let rs = join.right.schema();
    let left_time = match &join.left_time {
        Expr::Column(c) => ls.index_of_column(c).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        refuse("the time column of FOR SYSTEM_TIME AS OF is not a column of the join's left input")
    })?;
    let event_time = match TimeAttribute::of(ls.field(left_time)) {
        Some(TimeAttribute::Rowtime) => true,
        Some(TimeAttribute::Proctime) => false,
        None => return Err(refuse(
            "Temporal table join currently only supports 'FOR SYSTEM_TIME AS OF' left table's time attribute field",
        )),
    };
    if join.on.is_empty() {
        return Err(refuse(
            "Currently the join key in Temporal Table Join can not be empty.",
        ));
    }
    let condition = join
        .on
        .iter()
        .map(|(l, r)| format!("{l} = {r}"))
        .collect::<Vec<_>>()
        .join(", ");
    let right_time = match event_time {
        false => {
            if is_unbounded_plan(&node.input) {
                return Err(refuse(format!(
                    "Processing-time temporal join is not supported yet. Eddy joins FOR SYSTEM_TIME AS OF {} with a bounded table only (read whole, as a lookup join); '{}' is unbounded: join it as of an event time attribute instead",
                    node.as_of, node.table
                )));
            }
            None
        }
        true => {
            // A view deduplicating its rows (a top 1 per key) is a versioned view: its key
            // is the deduplication's (Flink infers it the same way).
            let primary_key = match node.primary_key.is_empty() {
                true => versioned_view_key(&node.input).unwrap_or_default(),
                false => node.primary_key.clone(),
            };
            if primary_key.is_empty() {
                return Err(refuse(format!(
                    "Temporal Table Join requires primary key in versioned table, but no primary key can be found. '{}' needs PRIMARY KEY (..) NOT ENFORCED",
                    node.table
                )));
            }
            let rowtime = (0..rs.fields().len())
                .find(|&i| TimeAttribute::of(rs.field(i)) == Some(TimeAttribute::Rowtime));
            let Some(rowtime) = rowtime else {
                return Err(refuse(
                    "Event-Time Temporal Table Join requires both primary key and row time attribute in versioned table, but no row time attribute can be found.",
                ));
            };
            // Every key column must be compared with the left side.
            let compared: Vec<&str> = join
                .on
                .iter()
                .filter_map(|(_, r)| match r {
                    Expr::Column(c) => Some(c.name.as_str()),
                    _ => None,
                })
                .collect();
            if !primary_key.iter().all(|k| compared.contains(&k.as_str())) {
                return Err(refuse(format!(
                    "Temporal table's primary key [{}] must be included in the equivalence condition of temporal join, but current temporal join condition is [{condition}]",
                    primary_key.join(", ")
                )));
            }
            Some(rowtime)
        }
    };
    let left_keys: Vec<&Expr> = join.on.iter().map(|(l, _)| l).collect();
    let right_keys: Vec<&Expr> = join.on.iter().map(|(_, r)| r).collect();
    let left = keyed_side(&join.left, &left_keys, "left", state, parts)?;
    let updating = left.chain.updating;
    let producer = left.chain.producer.clone();
    parts.temporal_right = true;
    let right = keyed_side(&join.right, &right_keys, "right", state, parts);
    parts.temporal_right = false;
    // The versioned side needs no old rows (only each update's new row is a version): the
    // changelog-mode inference does not ask it for `-U`.
    let right = right?;
    if right.chain.updating && event_time && has_filter(&node.input) {
        return Err(refuse(
            "Filter is not allowed for right changelog input of event time temporal join, it will corrupt the versioning of data. Please consider removing the filter before joining.",
        ));
    }
    if right.chain.updating && !event_time {
        return Err(refuse(format!(
            "a processing-time temporal join reads '{}' as a lookup table: it must be insert-only, but its rows are updated by {}",
            node.table,
            right.chain.producer()
        )));
    }
    for (&l, &r) in left.keys.iter().zip(&right.keys) {
        let (lt, rt) = (
            left.schema.field(l).data_type(),
            right.schema.field(r).data_type(),
        );
        if lt != rt {
            return Err(refuse(format!(
                "temporal join keys {} ({lt}) and {} ({rt}) differ in type; CAST one side",
                left.schema.field(l).name(),
                right.schema.field(r).name()
            )));
        }
    }
    let joined = left.schema.join(&right.schema)?;
    let filter = join
        .filter
        .as_ref()
        .map(|f| encode_expr(&state.create_physical_expr(f.clone(), &joined)?))
        .transpose()?;
    let mode = match right_time {
        Some(t) => format!("rowtime=[{}, {}]", node.as_of, rs.field(t).name()),
        None => format!("proctime=[{}], lookup", node.as_of),
    };
    let description = format!(
        "joinType=[{flink_name}], table=[{}], {mode}, on=[{condition}]{}",
        node.table,
        join.filter
            .as_ref()
            .map(|f| format!(", where={f}"))
            .unwrap_or_default()
    );
    let output = nullable(join.schema.as_arrow());
    let output = match updating {
        true => eddy_runtime::changelog::with_op_field(&output),
        false => output,
    };
    let spec = TemporalJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(left.schema.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(right.schema.as_arrow()))?,
        output_schema: SerializedSchema::encode(&output)?,
        left_keys: left.keys.clone(),
        right_keys: right.keys.clone(),
        left_output_columns: left.own_columns,
        right_output_columns: right.own_columns,
        left_time,
        right_time,
        filter,
        left_outer,
        updating,
        description: description.clone(),
    };
    let (left_keys, right_keys) = (left.keys, right.keys);
    let left_vertex = parts.close(left.chain)?;
    let right_vertex = parts.close(right.chain)?;
    let mut chain = OpenChain::new(
        crate::join::hashed_inputs(left_vertex, left_keys, right_vertex, right_keys),
        vec![OperatorSpec::TemporalJoin(spec)],
        vec![format!("TemporalJoin({description})")],
    );
    chain.updating = updating;
    chain.producer = producer;
    Ok(chain)
}
