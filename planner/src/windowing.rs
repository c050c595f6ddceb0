//! Translation of the windowed operators: window TVFs, window aggregations and window
//! joins. Aggregations and joins are recognised by the `window_start` / `window_end`
//! columns a window TVF produced (marked in their field metadata, which DataFusion keeps
//! through projections, aliases and aggregations), so windowed results can be windowed
//! again (cascaded windows) and joined per window.

use datafusion::common::DFSchema;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Aggregate, Expr, Join, JoinType, LogicalPlan};
use eddy_runtime::jobgraph::{
    OperatorSpec, Partitioner, SerializedSchema, WindowAggregateSpec, WindowJoinSpec,
    WindowJoinType, WindowKind, WindowTvfSpec,
};
use eddy_runtime::time::parse_window_bound;
use eddy_runtime::TimeAttribute;

use crate::error::{PlanError, Result};
use crate::logical::window_tvf::{as_window_tvf, WindowTvfNode};
use crate::translate::{nullable, translate, FusedTvf, GraphParts, Head, OpenChain};

/// The window bound (`start` / `end`) a column of `schema` holds, with its time kind.
pub(crate) fn bound_of(schema: &DFSchema, index: usize) -> Option<(&str, TimeAttribute)> {
    parse_window_bound(schema.field(index))
}

/// The input column a plain column reference names.
pub(crate) fn column_index(expr: &Expr, schema: &DFSchema) -> Option<usize> {
    match expr {
        Expr::Column(c) => schema.index_of_column(c).ok(),
        // DataFusion's rewrite of a single COUNT(DISTINCT c) groups by `c AS alias1`.
        Expr::Alias(a) => column_index(&a.expr, schema),
        _ => None,
    }
}

/// `TABLE(TUMBLE(...))` and friends: the input's chain plus the window TVF operator.
pub(crate) fn translate_window_tvf(
    node: &WindowTvfNode,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    // A SESSION TVF on its own gives each row its own window [ts, ts + gap) and drops rows
    // whose window has already passed, as Flink does; merging happens in aggregations.
    let standalone_session =
        matches!(node.kind, WindowKind::Session { .. }) && !parts.in_window_aggregate;
    let (fused, slices) = match parts.fused_tvf.take() {
        Some(fused) if fused.node == *node => (Some(fused.upstream), fused.slices),
        other => {
            parts.fused_tvf = other;
            (None, false)
        }
    };
    let drop_late = fused.is_some() || standalone_session;
    let mut chain = match fused {
        Some(head) => OpenChain::new(Head::Inputs(vec![head]), Vec::new(), Vec::new()),
        None => {
            let chain = translate(&node.input, state, parts)?;
            chain.insert_only("WindowTableFunction")?;
            chain
        }
    };
    chain.flush()?;
    let spec = WindowTvfSpec {
        input_schema: SerializedSchema::encode(node.input.schema().as_arrow())?,
        output_schema: SerializedSchema::encode(&nullable(
            datafusion::logical_expr::UserDefinedLogicalNodeCore::schema(node).as_arrow(),
        ))?,
        time_column: node.time_column,
        kind: node.kind,
        drop_late,
        slices,
    };
    let spec = OperatorSpec::WindowTvf(spec);
    chain.names.push(spec.describe());
    chain.ops.push(spec);
    Ok(chain)
}

/// `GROUP BY window_start, window_end, keys...` over a window TVF's output.
pub(crate) fn translate_window_aggregate(
    agg: &Aggregate,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let input_schema = agg.input.schema();
    let mut window_start = None;
    let mut window_end = None;
    let mut time = TimeAttribute::Rowtime;
    let mut keys = Vec::new();
    let mut key_positions = Vec::new();
    let mut window_time = None;
    let mut expression_key = None;
    for (i, g) in agg.group_expr.iter().enumerate() {
        let Some(index) = column_index(g, input_schema) else {
            expression_key = Some(g);
            continue;
        };
        match bound_of(input_schema, index) {
            Some(("start", t)) => {
                window_start = Some(i);
                time = t;
            }
            Some(("end", _)) => window_end = Some(i),
            // window_time follows from the window: it need not spread the rows.
            _ if TimeAttribute::of(input_schema.field(index)).is_some() => {
                if input_schema.field(index).name() == "window_time" {
                    window_time = Some(i);
                }
            }
            _ => {
                keys.push(index);
                key_positions.push(i);
            }
        }
    }
    let (Some(window_start), Some(window_end)) = (window_start, window_end) else {
        if window_start.is_some() || window_end.is_some() || window_time.is_some() {
            return Err(PlanError::NotSupported(
                "a window aggregation must group by both window_start and window_end".into(),
            ));
        }
        // No window: Flink's group aggregation, whose result updates. Every group key
        // spreads the rows, time attributes too.
        return crate::aggregate::translate_group_aggregate(agg, state, parts);
    };
    if let Some(g) = expression_key {
        return Err(PlanError::NotSupported(format!(
            "GROUP BY {g}: a window aggregation groups by columns only; compute the expression in a subquery first"
        )));
    }
    let session_gap = match session_below(&agg.input) {
        Some((gap, partition_keys)) => {
            let mut grouped: Vec<&str> = keys
                .iter()
                .map(|&k| input_schema.field(k).name().as_str())
                .collect();
            let mut partitioned: Vec<&str> = partition_keys.iter().map(String::as_str).collect();
            grouped.sort_unstable();
            partitioned.sort_unstable();
            if grouped != partitioned {
                return Err(PlanError::Windowing(format!(
                    "a SESSION window aggregation must group by exactly its PARTITION BY keys ({}) besides window_start and window_end, but groups by ({})",
                    partitioned.join(", "),
                    grouped.join(", ")
                )));
            }
            Some(gap)
        }
        None => None,
    };
    // Where possible the exchange goes before the window TVF, which then runs in this
    // chain and sees this operator's watermark: it can tell rows all of whose windows have
    // fired (late) from rows that still count in some window, as Flink's fused window
    // aggregation does.
    let fused = match (session_gap, time) {
        (None, TimeAttribute::Rowtime) => fusable_tvf(&agg.input, &keys),
        _ => None,
    };
    let slices_of = match fused {
        Some((node, _))
            if eddy_runtime::operators::window_slices(&node.kind)
                && bounds_reach_only_keys(
                    agg,
                    &[Some(window_start), Some(window_end), window_time],
                ) =>
        {
            Some(node.kind)
        }
        _ => None,
    };
    let (upstream, fused_chain) = match fused {
        Some((node, tvf_keys)) => {
            let below = {
                let chain = translate(&node.input, state, parts)?;
                chain.insert_only("WindowTableFunction")?;
                parts.close(chain)?
            };
            parts.fused_tvf = Some(FusedTvf {
                node: node.clone(),
                upstream: (
                    below,
                    Partitioner::Hash {
                        key_columns: tvf_keys,
                    },
                ),
                slices: slices_of.is_some(),
            });
            let chain = translate(&agg.input, state, parts);
            parts.fused_tvf = None;
            let mut chain = chain?;
            chain.flush()?;
            (None, Some(chain))
        }
        None => {
            parts.in_window_aggregate = session_gap.is_some();
            let chain = translate(&agg.input, state, parts);
            parts.in_window_aggregate = false;
            let chain = chain?;
            chain.insert_only("WindowAggregate")?;
            (Some(parts.close(chain)?), None)
        }
    };

    let lowered = crate::aggregate::lower_aggregate(agg, state)?;
    let description = lowered.description;
    let spec = WindowAggregateSpec {
        input_schema: SerializedSchema::encode(&lowered.input_schema)?,
        output_schema: SerializedSchema::encode(&nullable(agg.schema.as_arrow()))?,
        aggregate: lowered.plan,
        window_start,
        window_end,
        key_positions,
        session_gap,
        window_time,
        proctime: time == TimeAttribute::Proctime,
        description: description.clone(),
        slices_of,
    };
    let name = OperatorSpec::WindowAggregate(spec.clone()).describe();
    match (upstream, fused_chain) {
        (_, Some(mut chain)) => {
            chain.ops.push(OperatorSpec::WindowAggregate(spec));
            chain.names.push(name);
            Ok(chain)
        }
        (Some(upstream), None) => Ok(OpenChain::new(
            Head::Inputs(vec![(upstream, Partitioner::Hash { key_columns: keys })]),
            vec![OperatorSpec::WindowAggregate(spec)],
            vec![name],
        )),
        (None, None) => Err(PlanError::NotSupported(
            "window aggregation without input".into(),
        )),
    }
}

/// Whether slices may stand in for windows below `agg`: the window TVF's `window_start`,
/// `window_end` and `window_time` reach it only as plain columns (through projections,
/// aliases and filters that do not read them), and there only as the group keys at
/// `positions`, which the aggregation gives the window's bounds when it fires. Columns are
/// followed by position from the TVF up, so an alias does not hide one.
fn bounds_reach_only_keys(agg: &Aggregate, positions: &[Option<usize>]) -> bool {
    let mut chain = Vec::new();
    let mut plan = agg.input.as_ref();
    let tvf = loop {
        match plan {
            LogicalPlan::Projection(p) => {
                chain.push(plan);
                plan = &p.input;
            }
            LogicalPlan::Filter(f) => {
                chain.push(plan);
                plan = &f.input;
            }
            LogicalPlan::SubqueryAlias(a) => plan = &a.input,
            other => match as_window_tvf(other) {
                Some(node) => break node,
                None => return false,
            },
        }
    };
    // The TVF appends window_start, window_end and window_time to its input's columns.
    let width = tvf.input.schema().fields().len();
    let mut carries: Vec<bool> = (0..width + 3).map(|i| i >= width).collect();
    let reads = |schema: &DFSchema, expr: &Expr, carries: &[bool]| {
        expr.column_refs().iter().any(|c| {
            schema
                .index_of_column(c)
                .is_ok_and(|i| carries.get(i).copied().unwrap_or(true))
        })
    };
    for node in chain.iter().rev() {
        match node {
            LogicalPlan::Projection(p) => {
                let mut next = Vec::with_capacity(p.expr.len());
                for e in &p.expr {
                    let carried = reads(p.input.schema(), e, &carries);
                    if carried && !matches!(e.clone().unalias(), Expr::Column(_)) {
                        return false;
                    }
                    next.push(carried);
                }
                carries = next;
            }
            LogicalPlan::Filter(f) if reads(f.input.schema(), &f.predicate, &carries) => {
                return false
            }
            _ => {}
        }
    }
    let schema = agg.input.schema();
    !agg.aggr_expr.iter().any(|e| reads(schema, e, &carries))
        && agg
            .group_expr
            .iter()
            .enumerate()
            .all(|(i, g)| !reads(schema, g, &carries) || positions.contains(&Some(i)))
}

/// The window TVF (not SESSION) an aggregation reads through column-only projections,
/// aliases and filters, with the aggregation's key columns mapped to the TVF's input
/// columns; `None` when the keys do not lead back to it.
fn fusable_tvf<'a>(
    plan: &'a LogicalPlan,
    keys: &[usize],
) -> Option<(&'a WindowTvfNode, Vec<usize>)> {
    let mut keys = keys.to_vec();
    let mut plan = plan;
    loop {
        match plan {
            LogicalPlan::Projection(p) => {
                keys = keys
                    .iter()
                    .map(|&k| match p.expr.get(k)? {
                        Expr::Column(c) => p.input.schema().index_of_column(c).ok(),
                        Expr::Alias(a) => match a.expr.as_ref() {
                            Expr::Column(c) => p.input.schema().index_of_column(c).ok(),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                plan = &p.input;
            }
            LogicalPlan::SubqueryAlias(a) => plan = &a.input,
            LogicalPlan::Filter(f) => plan = &f.input,
            other => {
                let node = as_window_tvf(other)?;
                let width = node.input.schema().fields().len();
                let fits = keys.iter().all(|&k| k < width);
                return match node.kind {
                    WindowKind::Session { .. } => None,
                    _ if fits => Some((node, keys)),
                    _ => None,
                };
            }
        }
    }
}

/// A join of two windowed inputs on `window_start` and `window_end` (plus equi-keys and
/// any further condition): Flink's window join.
pub(crate) fn translate_window_join(
    join: &Join,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let not_window_join = || {
        PlanError::NotSupported(
            "a window join joins both inputs on window_start and window_end".into(),
        )
    };
    let join_type = match join.join_type {
        JoinType::Inner => WindowJoinType::Inner,
        JoinType::Left => WindowJoinType::LeftOuter,
        JoinType::Right => WindowJoinType::RightOuter,
        JoinType::Full => WindowJoinType::FullOuter,
        JoinType::LeftSemi => WindowJoinType::LeftSemi,
        JoinType::LeftAnti => WindowJoinType::LeftAnti,
        JoinType::RightSemi => WindowJoinType::RightSemi,
        JoinType::RightAnti => WindowJoinType::RightAnti,
        other => {
            return Err(PlanError::NotSupported(format!(
                "{other} window joins are not supported yet; INNER, LEFT, RIGHT, FULL, semi (IN / EXISTS) and anti (NOT EXISTS) are"
            )))
        }
    };
    let (ls, rs) = (join.left.schema(), join.right.schema());
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut starts = false;
    let mut ends = None;
    let mut time = TimeAttribute::Rowtime;
    for (l, r) in &join.on {
        let (Some(li), Some(ri)) = (column_index(l, ls), column_index(r, rs)) else {
            return Err(PlanError::NotSupported(format!(
                "join condition {l} = {r}: joins of streams compare columns only; compute the expression in a subquery first"
            )));
        };
        match (bound_of(ls, li), bound_of(rs, ri)) {
            (Some(("start", t)), Some(("start", _))) => {
                starts = true;
                time = t;
            }
            (Some(("end", _)), Some(("end", _))) => ends = Some((li, ri)),
            _ => {}
        }
        left_keys.push(li);
        right_keys.push(ri);
    }
    let (true, Some((left_window_end, right_window_end))) = (starts, ends) else {
        if starts || ends.is_some() {
            return Err(not_window_join());
        }
        // No window: a regular join of two streams.
        return crate::join::translate_stream_join(join, left_keys, right_keys, state, parts);
    };
    let crate::join::JoinInputs {
        left,
        right,
        filter,
        description,
        ..
    } = crate::join::join_inputs(join, Some("WindowJoin"), state, parts)?;
    let spec = WindowJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(ls.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(rs.as_arrow()))?,
        output_schema: SerializedSchema::encode(&nullable(join.schema.as_arrow()))?,
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        left_window_end,
        right_window_end,
        filter,
        join_type,
        proctime: time == TimeAttribute::Proctime,
        description: description.clone(),
    };
    Ok(OpenChain::new(
        crate::join::hashed_inputs(left, left_keys, right, right_keys),
        vec![OperatorSpec::WindowJoin(spec)],
        vec![format!("WindowJoin({description})")],
    ))
}

/// The gap and partition keys of a SESSION window TVF feeding an aggregation through
/// projections, aliases and filters.
fn session_below(plan: &LogicalPlan) -> Option<(i64, Vec<String>)> {
    match plan {
        LogicalPlan::Projection(p) => session_below(&p.input),
        LogicalPlan::SubqueryAlias(a) => session_below(&a.input),
        LogicalPlan::Filter(f) => session_below(&f.input),
        other => match as_window_tvf(other) {
            Some(WindowTvfNode {
                kind: WindowKind::Session { gap },
                partition_keys,
                ..
            }) => Some((*gap, partition_keys.clone())),
            _ => None,
        },
    }
}
