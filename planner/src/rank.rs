//! Top-N and deduplication, as Flink writes them: a filter keeping a range of
//! `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)` becomes one Rank operator, with the
//! rows hashed on the PARTITION BY keys (all to one subtask without them). `rn = 1` ordered
//! by a time attribute is Flink's deduplication: keep the first row (ASC) or the last
//! (DESC). Like Flink, the result is updating, except a keep-first deduplication by
//! processing time over an insert-only input, which only ever inserts.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Filter, LogicalPlan, Operator, Projection, Window,
};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::PhysicalExpr;
use eddy_runtime::jobgraph::{OperatorSpec, Partitioner, RankOrder, RankSpec, SerializedSchema};
use eddy_runtime::time::TimeAttribute;

use crate::error::{PlanError, Result};
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};
use crate::windowing::column_index;

/// A filter over a ROW_NUMBER window that keeps ranks `start..=end`.
pub(crate) struct RankFilter<'a> {
    pub window: &'a Window,
    /// The columns DataFusion keeps between the window and the filter, if it pruned some.
    pub projection: Option<&'a Projection>,
    /// Where the rank is among the filter's input columns.
    pub rank_column: usize,
    pub start: u64,
    pub end: u64,
}

impl RankFilter<'_> {
    /// Flink's deduplication, rank 1 of rows ordered by a time attribute alone: the time
    /// attribute and whether the last row is kept (DESC).
    pub fn deduplication(&self) -> Option<(TimeAttribute, bool)> {
        let [Expr::WindowFunction(function)] = self.window.window_expr.as_slice() else {
            return None;
        };
        let [order] = function.params.order_by.as_slice() else {
            return None;
        };
        let input = self.window.input.schema();
        let time = TimeAttribute::of(input.field(column_index(&order.expr, input)?))?;
        (self.start == 1 && self.end == 1).then_some((time, !order.asc))
    }

    /// A keep-first deduplication by processing time: over an insert-only input it only
    /// ever inserts, as in Flink.
    pub fn keeps_first_by_proctime(&self) -> bool {
        self.deduplication() == Some((TimeAttribute::Proctime, false))
    }

    /// A keep-first deduplication by event time that waits for the watermark: over an
    /// insert-only input whose times the watermark still bounds, and without mini-batches,
    /// it only ever inserts, as in Flink 2.1 and later.
    pub fn keeps_first_by_rowtime(&self) -> bool {
        self.deduplication() == Some((TimeAttribute::Rowtime, false))
            && keeps_watermark_order(&self.window.input)
    }
}

/// Whether rows of `plan` come no later than the watermark allows for their time: not
/// after a regular join, which may match an old row long after the watermark passed it
/// (Flink turns the time attributes of a regular join's output into plain timestamps).
fn keeps_watermark_order(plan: &LogicalPlan) -> bool {
    let mut ordered = true;
    let _ = datafusion::common::tree_node::TreeNode::apply(plan, |node| {
        if let LogicalPlan::Join(join) = node {
            let windowed = join.on.iter().any(|(l, r)| {
                crate::windowing::column_index(l, join.left.schema())
                    .and_then(|i| crate::windowing::bound_of(join.left.schema(), i))
                    .is_some()
                    && crate::windowing::column_index(r, join.right.schema())
                        .and_then(|i| crate::windowing::bound_of(join.right.schema(), i))
                        .is_some()
            });
            let temporal = crate::temporal_join::temporal_table_of(&join.right).is_some();
            ordered &= windowed || temporal || crate::join::interval_bounds(join).is_some();
        }
        Ok(match ordered {
            true => datafusion::common::tree_node::TreeNodeRecursion::Continue,
            false => datafusion::common::tree_node::TreeNodeRecursion::Stop,
        })
    });
    ordered
}

/// `filter` as a rank range over a ROW_NUMBER window, when it is one.
pub(crate) fn as_rank(filter: &Filter) -> Option<RankFilter<'_>> {
    let (window, projection) = match filter.input.as_ref() {
        LogicalPlan::Window(window) => (window, None),
        LogicalPlan::Projection(p) => match p.input.as_ref() {
            LogicalPlan::Window(window)
                if p.expr
                    .iter()
                    .all(|e| column_index(e, &window.schema).is_some()) =>
            {
                (window, Some(p))
            }
            _ => return None,
        },
        _ => return None,
    };
    let [Expr::WindowFunction(function)] = window.window_expr.as_slice() else {
        return None;
    };
    if function.fun.name() != "row_number" {
        return None;
    }
    let window_rank = window.schema.fields().len() - 1;
    let rank = match projection {
        None => window_rank,
        Some(p) => p
            .expr
            .iter()
            .position(|e| column_index(e, &window.schema) == Some(window_rank))?,
    };
    let schema = filter.input.schema();
    let (mut start, mut end) = (1u64, u64::MAX);
    for conjunct in conjuncts(&filter.predicate) {
        let (op, value) = bound_on(conjunct, schema, rank)?;
        match op {
            Operator::LtEq => end = end.min(value),
            Operator::Lt => end = end.min(value.checked_sub(1)?),
            Operator::GtEq => start = start.max(value),
            Operator::Gt => start = start.max(value + 1),
            Operator::Eq => {
                start = start.max(value);
                end = end.min(value);
            }
            _ => return None,
        }
    }
    // Without an upper bound every row stays: that is no Top-N.
    (end != u64::MAX).then_some(RankFilter {
        window,
        projection,
        rank_column: rank,
        start,
        end,
    })
}

fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        other => vec![other],
    }
}

/// `rank <op> value` (or `value <op> rank`, turned around).
fn bound_on(
    expr: &Expr,
    schema: &datafusion::common::DFSchema,
    rank: usize,
) -> Option<(Operator, u64)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return None;
    };
    let value = |e: &Expr| match e {
        Expr::Literal(v, _) => v
            .cast_to(&datafusion::arrow::datatypes::DataType::Int64)
            .ok()
            .and_then(|v| match v {
                ScalarValue::Int64(Some(n)) if n >= 0 => Some(n as u64),
                _ => None,
            }),
        _ => None,
    };
    let is_rank = |e: &Expr| column_index(e, schema) == Some(rank);
    match (is_rank(left), is_rank(right)) {
        (true, false) => Some((*op, value(right)?)),
        (false, true) => Some((op.swap()?, value(left)?)),
        _ => None,
    }
}

/// Plans `rank` (output: the window's columns, the rank last). `output_rank`: whether the
/// rank number is read downstream.
pub(crate) fn translate_rank(
    rank: &RankFilter<'_>,
    output_rank: bool,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let window = rank.window;
    let [Expr::WindowFunction(function)] = window.window_expr.as_slice() else {
        return Err(PlanError::NotSupported(
            "a Top-N needs one ROW_NUMBER".into(),
        ));
    };
    let WindowFunction { params, .. } = function.as_ref();
    let input_schema = window.input.schema();
    let width = input_schema.fields().len();
    // PARTITION BY and ORDER BY expressions that are not columns are computed into extra
    // columns before the exchange, as Flink's planner projects them below its Rank.
    let mut computed: Vec<&Expr> = Vec::new();
    let partition_keys: Vec<usize> = params
        .partition_by
        .iter()
        .map(|e| key_position(e, input_schema, &mut computed))
        .collect();
    if params.order_by.is_empty() {
        return Err(PlanError::NotSupported(
            "a streaming Top-N needs ROW_NUMBER() OVER (.. ORDER BY ..)".into(),
        ));
    }
    let order_by: Vec<RankOrder> = params
        .order_by
        .iter()
        .map(|s| RankOrder {
            column: key_position(&s.expr, input_schema, &mut computed),
            descending: !s.asc,
            nulls_first: s.nulls_first,
        })
        .collect();
    let mut chain = translate(&window.input, state, parts)?;
    // The Rank's own rows: the input's columns, then the computed ones.
    let physical_input: SchemaRef = Arc::new(input_schema.as_arrow().clone());
    let rank_input: SchemaRef = match computed.is_empty() {
        true => physical_input.clone(),
        false => {
            let mut exprs: Vec<Arc<dyn PhysicalExpr>> = (0..width)
                .map(|i| {
                    Arc::new(PhysicalColumn::new(physical_input.field(i).name(), i))
                        as Arc<dyn PhysicalExpr>
                })
                .collect();
            let mut fields: Vec<_> = physical_input.fields().iter().cloned().collect();
            for (n, e) in computed.iter().enumerate() {
                exprs.push(state.create_physical_expr((*e).clone(), input_schema)?);
                fields.push(Arc::new(Field::new(
                    format!("__rank_key_{n}"),
                    e.get_type(input_schema)?,
                    true,
                )));
            }
            let extended = nullable(&Schema::new(fields));
            let text = (0..width)
                .map(|i| physical_input.field(i).name().clone())
                .chain(computed.iter().map(|e| e.to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            chain.add_projection(physical_input.clone(), exprs, extended.clone(), text)?;
            extended
        }
    };
    let key_name = |i: usize| match i.checked_sub(width) {
        None => input_schema.field(i).name().clone(),
        Some(n) => computed[n].to_string(),
    };
    let retracting = chain.updating;
    let producer = chain.producer.clone();
    let input_key = chain.upsert_key.clone();
    let input_key_ordered = chain.key_ordered;
    let upstream = parts.close(chain)?;
    let deduplication = rank.deduplication();
    let keep_last = deduplication.is_some_and(|(_, last)| last);
    // By processing time the order is the order of arrival, not the PROCTIME values, which
    // parallel sources compute apart (Flink's ProcTimeDeduplicate functions do the same).
    let by_arrival = matches!(deduplication, Some((TimeAttribute::Proctime, _)));
    // Keep-first by event time over inserts, without mini-batches, waits for the watermark
    // and only inserts (Flink 2.1+, `outputInsertOnly=[true]`).
    let first_row_on_watermark = match rank.keeps_first_by_rowtime() {
        true if !retracting && !parts.mini_batch => order_by.first().map(|o| o.column),
        _ => None,
    };
    let insert_only =
        (rank.keeps_first_by_proctime() || first_row_on_watermark.is_some()) && !retracting;
    let column_names =
        |cols: &mut dyn Iterator<Item = usize>| cols.map(key_name).collect::<Vec<_>>().join(", ");
    let description = format!(
        "{}, partitionBy=[{}], orderBy=[{}], rankRange=[rankStart={}, rankEnd={}], select=[{}]",
        match deduplication {
            Some(_) => format!(
                "Deduplicate(keep={}{})",
                if keep_last { "LastRow" } else { "FirstRow" },
                match first_row_on_watermark {
                    Some(_) => ", outputInsertOnly=true",
                    None => "",
                }
            ),
            None => "rankType=[ROW_NUMBER]".to_string(),
        },
        column_names(&mut partition_keys.iter().copied()),
        order_by
            .iter()
            .map(|o| format!(
                "{} {}",
                key_name(o.column),
                if o.descending { "DESC" } else { "ASC" }
            ))
            .collect::<Vec<_>>()
            .join(", "),
        rank.start,
        rank.end,
        column_names(&mut (0..width)),
    );
    let window_fields = window.schema.as_arrow().fields();
    let rank_field = window_fields[window_fields.len() - 1].clone();
    let rank_output = nullable(&Schema::new(
        rank_input
            .fields()
            .iter()
            .cloned()
            .chain([rank_field])
            .collect::<Vec<_>>(),
    ));
    let spec = RankSpec {
        input_schema: SerializedSchema::encode(&nullable(&rank_input))?,
        output_schema: SerializedSchema::encode(&rank_output)?,
        partition_keys: partition_keys.clone(),
        order_by: match by_arrival {
            true => Vec::new(),
            false => order_by,
        },
        rank_start: rank.start,
        rank_end: rank.end,
        output_rank,
        retracting,
        updating: !insert_only,
        ties_latest_first: keep_last,
        description: description.clone(),
        update_before: true,
        first_row_on_watermark,
    };
    // Which row a change is to (Flink's upsert keys of a Rank): its partition when that
    // holds one row; else its rank in its partition when the rank is read; else the
    // input's own key, when it holds the partition keys (a row keeps its identity while it
    // moves within the top N).
    let upsert_key = match (output_rank, rank.end) {
        (_, 1) => Some(partition_keys.clone()),
        (true, _) => Some(
            partition_keys
                .iter()
                .copied()
                .chain([rank_input.fields().len()])
                .collect(),
        ),
        (false, _) => input_key.filter(|key| partition_keys.iter().all(|k| key.contains(k))),
    };
    let name = format!("Rank({description})");
    let mut chain = OpenChain::new(
        Head::Inputs(vec![(
            upstream,
            Partitioner::Hash {
                key_columns: partition_keys,
            },
        )]),
        vec![OperatorSpec::Rank(spec)],
        vec![name.clone()],
    );
    chain.updating = !insert_only;
    // A key the Rank makes (its partition, with the rank) is ordered by it; its input's
    // key is only as ordered as the input made it (a join's is not: a row's retraction
    // and its new version may reach the Rank in either order).
    chain.key_ordered = upsert_key.is_some()
        && match (output_rank, rank.end) {
            (_, 1) | (true, _) => true,
            (false, _) => input_key_ordered,
        };
    chain.upsert_key = upsert_key;
    // The computed columns go again: what follows reads the window's columns.
    if !computed.is_empty() {
        let exprs: Vec<Arc<dyn PhysicalExpr>> = (0..width)
            .chain([rank_input.fields().len()])
            .map(|i| {
                Arc::new(PhysicalColumn::new(rank_output.field(i).name(), i))
                    as Arc<dyn PhysicalExpr>
            })
            .collect();
        chain.add_projection(
            rank_output.clone(),
            exprs,
            nullable(window.schema.as_arrow()),
            column_names(&mut (0..width)),
        )?;
    }
    if let Some(p) = rank.projection {
        let exprs = p
            .expr
            .iter()
            .map(|e| state.create_physical_expr(e.clone(), &window.schema))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        chain.add_projection(
            std::sync::Arc::new(window.schema.as_arrow().clone()),
            exprs,
            nullable(p.schema.as_arrow()),
            p.expr
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )?;
    }
    chain.producer = Some(match (retracting, producer) {
        (true, Some(p)) if insert_only => p,
        _ => name,
    });
    Ok(chain)
}

/// Where a PARTITION BY or ORDER BY key is among the Rank's rows: its column, or an extra
/// column after the input's (one per distinct expression, in `computed`).
fn key_position<'a>(
    e: &'a Expr,
    schema: &datafusion::common::DFSchema,
    computed: &mut Vec<&'a Expr>,
) -> usize {
    column_index(e, schema).unwrap_or_else(|| {
        let at = computed.iter().position(|c| *c == e).unwrap_or_else(|| {
            computed.push(e);
            computed.len() - 1
        });
        schema.fields().len() + at
    })
}

/// Whether `exprs` over `input` (the rank filter) read its rank column.
pub(crate) fn reads_rank(exprs: &[Expr], input: &LogicalPlan, rank: &RankFilter<'_>) -> bool {
    let rank = rank.rank_column;
    exprs.iter().any(|e| {
        e.column_refs()
            .iter()
            .any(|c| input.schema().index_of_column(c).ok() == Some(rank))
    })
}
