//! Aggregations over streams. [`lower_aggregate`] turns a logical `Aggregate` into the
//! `AggregateExec` both aggregation operators run (group keys and DataFusion's
//! accumulators); [`translate_group_aggregate`] plans an aggregation without a window,
//! Flink's group aggregation, whose result is an updating stream.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::DFSchema;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Aggregate, Expr, ExprSchemable, JoinType, LogicalPlan};
use datafusion::physical_expr::aggregate::LoweredAggregateBuilder;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode, PhysicalGroupBy};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use eddy_runtime::expr_codec::encode_plan;
use eddy_runtime::jobgraph::{
    AggregatePhase, GroupAggregateSpec, LocalGroupAggregateSpec, OperatorSpec, Partitioner,
    SerializedPlan, SerializedSchema,
};
use eddy_runtime::operators::{split_aggregate, supports_local_retraction, supports_retraction};

use crate::error::{PlanError, Result};
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};

/// An aggregation lowered for a streaming operator.
pub(crate) struct LoweredAggregate {
    /// The rows the aggregation reads.
    pub input_schema: SchemaRef,
    pub plan: SerializedPlan,
    /// `groupBy=[..], select=[..]`, as Flink describes an aggregation.
    pub description: String,
    /// The first aggregate that cannot take retractions, as the query writes it.
    pub unretractable: Option<String>,
    /// The plan before encoding, which a two-phase aggregation splits.
    pub exec: AggregateExec,
}

/// Lowers `agg` to an `AggregateExec` over its input's rows.
pub(crate) fn lower_aggregate(agg: &Aggregate, state: &SessionState) -> Result<LoweredAggregate> {
    let input_schema = agg.input.schema();
    let physical_input: SchemaRef = Arc::new(input_schema.as_arrow().clone());
    let groups = agg
        .group_expr
        .iter()
        .map(|g| {
            Ok((
                state.create_physical_expr(g.clone(), input_schema)?,
                g.schema_name().to_string(),
            ))
        })
        .collect::<Result<Vec<(Arc<dyn PhysicalExpr>, String)>>>()?;
    let planning = PhysicalPlanningContext::default();
    let mut aggregates = Vec::new();
    let mut filters = Vec::new();
    let mut unretractable = None;
    for e in &agg.aggr_expr {
        let lowered = LoweredAggregateBuilder::new(
            e,
            input_schema,
            &physical_input,
            state.execution_props(),
            &planning,
        )
        .build()?;
        let function = lowered.aggregate.fun().name();
        // FIRST_VALUE / LAST_VALUE retract in arrival order, which an ORDER BY overrides.
        let ordered = matches!(function, "first_value" | "last_value")
            && !lowered.aggregate.order_bys().is_empty();
        if unretractable.is_none()
            && (ordered || !supports_retraction(function, lowered.aggregate.is_distinct()))
        {
            unretractable = Some(e.to_string());
        }
        aggregates.push(lowered.aggregate);
        filters.push(lowered.filter);
    }
    let exec = AggregateExec::try_new(
        AggregateMode::Single,
        PhysicalGroupBy::new_single(groups),
        aggregates,
        filters,
        Arc::new(EmptyExec::new(physical_input.clone())),
        physical_input.clone(),
    )?;
    let list = |exprs: &[datafusion::logical_expr::Expr]| {
        exprs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(LoweredAggregate {
        input_schema: physical_input,
        plan: encode_plan(Arc::new(exec.clone()))?,
        exec,
        description: format!(
            "groupBy=[{}], select=[{}]",
            list(&agg.group_expr),
            list(&agg.aggr_expr)
        ),
        unretractable,
    })
}

/// Whether a query's result over streams updates, as the job graph built from it will say:
/// it holds an aggregation that is not a window aggregation (none of its group keys is a
/// window TVF's `window_start`), a regular join (not on window bounds, not an interval join)
/// that is outer or anti, a Top-N (but a keep-first deduplication by processing time, or by
/// event time without mini-batches), or a changelog source (`debezium-json`, `canal-json`,
/// `upsert-kafka`).
pub fn is_updating_plan(plan: &LogicalPlan, mini_batch: bool) -> bool {
    let mut updating = false;
    let _ = plan.apply_with_subqueries(|node| {
        updating |= match node {
            LogicalPlan::TableScan(scan) => {
                datafusion::datasource::source_as_provider(&scan.source).is_ok_and(|provider| {
                    crate::table::ConnectorTable::from_provider(provider.as_ref())
                        .is_some_and(|t| t.is_upsert() || t.changelog_format().is_some())
                })
            }
            LogicalPlan::Aggregate(agg) => {
                let input = agg.input.schema();
                !agg.group_expr
                    .iter()
                    .any(|g| is_window_bound(g, input, "start"))
            }
            LogicalPlan::Join(join) => {
                let window = join.on.iter().any(|(l, r)| {
                    is_window_bound(l, join.left.schema(), "start")
                        && is_window_bound(r, join.right.schema(), "start")
                });
                // An interval join pads outer rows only when they expire: insert-only. Semi
                // and anti joins with time bounds are regular joins.
                let interval = crate::join::interval_bounds(join).is_some()
                    && matches!(
                        join.join_type,
                        JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full
                    );
                !window
                    && !interval
                    && !matches!(
                        join.join_type,
                        JoinType::Inner | JoinType::LeftSemi | JoinType::RightSemi
                    )
            }
            LogicalPlan::Filter(filter) => crate::rank::as_rank(filter).is_some_and(|rank| {
                let inserts_only = rank.keeps_first_by_proctime()
                    || (rank.keeps_first_by_rowtime() && !mini_batch);
                !inserts_only
            }),
            _ => false,
        };
        Ok(match updating {
            true => TreeNodeRecursion::Stop,
            false => TreeNodeRecursion::Continue,
        })
    });
    updating
}

/// Whether `expr` is a column holding a window TVF's `bound` (`start` or `end`).
fn is_window_bound(expr: &Expr, schema: &DFSchema, bound: &str) -> bool {
    crate::windowing::column_index(expr, schema)
        .and_then(|i| crate::windowing::bound_of(schema, i))
        .is_some_and(|(b, _)| b == bound)
}

/// Plans a GROUP BY without a window (or an aggregation without GROUP BY) over a stream:
/// the rows are hashed on the group keys (all to one subtask without keys) into a group
/// aggregation, which emits an updating stream. A key that is an expression is computed
/// into an extra column before the exchange, which hashes on it.
pub(crate) fn translate_group_aggregate(
    agg: &Aggregate,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let mut chain = translate(&agg.input, state, parts)?;
    let input_schema = agg.input.schema();
    let retracting = chain.updating;
    let lowered = lower_aggregate(agg, state)?;
    if let (true, Some(function)) = (retracting, &lowered.unretractable) {
        return Err(PlanError::NotSupported(format!(
            "{function} cannot consume the update changes produced by node {}: it does not support retraction (over an updating input Eddy aggregates with COUNT, COUNT(DISTINCT), SUM, AVG, MIN, MAX, STDDEV, VAR, and FIRST_VALUE and LAST_VALUE without ORDER BY)",
            chain.producer()
        )));
    }
    // FIRST_VALUE and LAST_VALUE keep one phase as in Flink, which has no merge for them:
    // the first row of a group is the first to reach the one operator. Over an updating
    // input the local phase sends each group's change (rows added and taken out), for the
    // aggregates whose retract state merges that way, as Flink's COUNT_RETRACT, SUM_RETRACT
    // and MIN_RETRACT do.
    let two_phase = parts.two_phase_aggregation
        && lowered.exec.aggr_expr().iter().all(|a| match retracting {
            true => supports_local_retraction(a.fun().name(), a.is_distinct()),
            false => !matches!(
                a.fun().name(),
                "first_value" | "last_value" | "json_arrayagg"
            ),
        });
    let width = input_schema.fields().len();
    let mut keys = Vec::new();
    let mut computed = Vec::new();
    for g in &agg.group_expr {
        match crate::windowing::column_index(g, input_schema) {
            Some(i) => keys.push(i),
            None => {
                keys.push(width + computed.len());
                computed.push(g);
            }
        }
    }
    // The local phase computes its keys itself and sends them first.
    if two_phase {
        keys = (0..agg.group_expr.len()).collect();
        computed.clear();
    }
    if !computed.is_empty() {
        let physical: SchemaRef = Arc::new(input_schema.as_arrow().clone());
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = (0..width)
            .map(|i| {
                Arc::new(datafusion::physical_expr::expressions::Column::new(
                    physical.field(i).name(),
                    i,
                )) as Arc<dyn PhysicalExpr>
            })
            .collect();
        let mut fields: Vec<_> = physical.fields().iter().cloned().collect();
        for (n, g) in computed.iter().enumerate() {
            exprs.push(state.create_physical_expr((*g).clone(), input_schema)?);
            let data_type = g.get_type(input_schema)?;
            fields.push(Arc::new(datafusion::arrow::datatypes::Field::new(
                format!("__group_key_{n}"),
                data_type,
                true,
            )));
        }
        chain.add_projection(
            physical,
            exprs,
            nullable(&datafusion::arrow::datatypes::Schema::new(fields)),
            computed
                .iter()
                .map(|g| g.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )?;
    }
    let mut spec = GroupAggregateSpec {
        input_schema: SerializedSchema::encode(&lowered.input_schema)?,
        output_schema: SerializedSchema::encode(&nullable(agg.schema.as_arrow()))?,
        aggregate: lowered.plan,
        key_positions: (0..keys.len()).collect(),
        description: lowered.description.clone(),
        retracting,
        update_before: true,
        phase: AggregatePhase::Single,
    };
    if two_phase && retracting {
        // The local phase sends the keys it computed, then each group's change; the global
        // phase runs the single-phase plan's aggregates over them.
        let keys_and_change: Vec<Field> = agg
            .schema
            .as_arrow()
            .fields()
            .iter()
            .take(agg.group_expr.len())
            .map(|f| f.as_ref().clone().with_nullable(true))
            .chain([Field::new("__changes", DataType::Binary, false)])
            .collect();
        chain.flush()?;
        chain
            .names
            .push(format!("LocalGroupAggregate({})", lowered.description));
        chain
            .ops
            .push(OperatorSpec::LocalGroupAggregate(LocalGroupAggregateSpec {
                input_schema: SerializedSchema::encode(&lowered.input_schema)?,
                output_schema: SerializedSchema::encode(&Arc::new(Schema::new(keys_and_change)))?,
                aggregate: spec.aggregate.clone(),
                description: lowered.description.clone(),
                retracting: true,
            }));
        spec.phase = AggregatePhase::Global;
    } else if two_phase {
        let (local, global) = split_aggregate(&lowered.exec)?;
        let partial = nullable(&local.schema());
        chain.flush()?;
        chain
            .names
            .push(format!("LocalGroupAggregate({})", lowered.description));
        chain
            .ops
            .push(OperatorSpec::LocalGroupAggregate(LocalGroupAggregateSpec {
                input_schema: SerializedSchema::encode(&lowered.input_schema)?,
                output_schema: SerializedSchema::encode(&partial)?,
                aggregate: encode_plan(Arc::new(local))?,
                description: lowered.description.clone(),
                retracting: false,
            }));
        spec.input_schema = SerializedSchema::encode(&partial)?;
        spec.aggregate = encode_plan(Arc::new(global))?;
        spec.phase = AggregatePhase::Global;
    }
    let upstream = parts.close(chain)?;
    let name = OperatorSpec::GroupAggregate(spec.clone()).describe();
    Ok(OpenChain {
        head: Head::Inputs(vec![(upstream, Partitioner::Hash { key_columns: keys })]),
        ops: vec![OperatorSpec::GroupAggregate(spec)],
        pending: None,
        names: vec![name.clone()],
        updating: true,
        producer: Some(name),
        // The group keys come first in the result.
        upsert_key: Some((0..agg.group_expr.len()).collect()),
        key_ordered: true,
    })
}
