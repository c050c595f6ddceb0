//! OVER aggregation over streams, as Flink supports it: aggregate functions over one window
//! (`PARTITION BY` columns, `ORDER BY` one time attribute ascending, a frame of `ROWS` or
//! `RANGE` from some or UNBOUNDED PRECEDING to CURRENT ROW). The rows are hashed on the
//! partition keys (all to one subtask without them) into one operator whose output is the
//! input with a column per aggregate, insert-only.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    Expr, Window, WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
};
use datafusion::physical_expr::aggregate::AggregateExprBuilder;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode, PhysicalGroupBy};
use datafusion::physical_plan::empty::EmptyExec;
use eddy_runtime::expr_codec::encode_plan;
use eddy_runtime::jobgraph::{
    OperatorSpec, OverAggregateSpec, OverFrame, Partitioner, SerializedSchema,
};
use eddy_runtime::time::TimeAttribute;

use crate::error::{PlanError, Result};
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};
use crate::windowing::column_index;

fn refuse(what: String) -> PlanError {
    PlanError::NotSupported(format!("an OVER window over a stream {what}"))
}

/// Plans `window`, whose expressions are aggregate functions over one OVER window.
pub(crate) fn translate_over(
    window: &Window,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let input_schema = window.input.schema();
    let physical_input: SchemaRef = Arc::new(input_schema.as_arrow().clone());
    let mut functions = Vec::new();
    for expr in &window.window_expr {
        let inner = match expr {
            Expr::Alias(alias) => alias.expr.as_ref(),
            other => other,
        };
        let Expr::WindowFunction(function) = inner else {
            return Err(refuse(format!("cannot compute {expr}")));
        };
        let WindowFunction { fun, params } = function.as_ref();
        let WindowFunctionDefinition::AggregateUDF(udaf) = fun else {
            return Err(refuse(format!(
                "takes aggregate functions only, not {}; ROW_NUMBER works in a Top-N (a filter rn <= N above it)",
                fun.name()
            )));
        };
        functions.push((expr, udaf, params));
    }
    let Some((_, _, first)) = functions.first() else {
        return Err(refuse("has no function".into()));
    };
    if functions.iter().any(|(_, _, p)| {
        p.partition_by != first.partition_by
            || p.order_by != first.order_by
            || p.window_frame != first.window_frame
    }) {
        // Flink's words; DataFusion already puts windows of different PARTITION BY in
        // Window nodes of their own, which run one after another (Flink refuses those too).
        return Err(PlanError::NotSupported(
            "Over Agg: Unsupported use of OVER windows. All aggregates must be computed on the \
             same window (Eddy: windows that share their PARTITION BY need the same ORDER BY \
             and frame; compute another frame in a subquery)"
                .into(),
        ));
    }
    let partition_keys = first
        .partition_by
        .iter()
        .map(|e| {
            column_index(e, input_schema).ok_or_else(|| {
                refuse(format!(
                    "partitions by columns only, not {e}; compute it in a subquery first"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let [order] = first.order_by.as_slice() else {
        return Err(refuse(
            "must be ordered by exactly one time attribute".into(),
        ));
    };
    let time = column_index(&order.expr, input_schema)
        .filter(|&i| TimeAttribute::of(input_schema.field(i)).is_some())
        .filter(|_| order.asc)
        .ok_or_else(|| {
            refuse(format!(
                "must be ordered by a time attribute ascending, not {}",
                order.expr
            ))
        })?;
    let proctime = TimeAttribute::of(input_schema.field(time)) == Some(TimeAttribute::Proctime);
    let frame = &first.window_frame;
    if frame.end_bound != WindowFrameBound::CurrentRow {
        return Err(refuse("ends its frame at CURRENT ROW".into()));
    }
    let WindowFrameBound::Preceding(start) = &frame.start_bound else {
        return Err(refuse("starts its frame at a PRECEDING bound".into()));
    };
    let frame = match frame.units {
        WindowFrameUnits::Rows => OverFrame::Rows {
            preceding: match start {
                v if v.is_null() => None,
                v => Some(
                    match v.cast_to(&datafusion::arrow::datatypes::DataType::UInt64)? {
                        ScalarValue::UInt64(Some(n)) => n,
                        other => return Err(refuse(format!("cannot take {other} rows"))),
                    },
                ),
            },
        },
        WindowFrameUnits::Range => OverFrame::Range {
            preceding_ms: match start {
                v if v.is_null() => None,
                ScalarValue::IntervalDayTime(Some(v)) => {
                    Some(v.days as i64 * 86_400_000 + v.milliseconds as i64)
                }
                ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
                    Some(v.days as i64 * 86_400_000 + v.nanoseconds / 1_000_000)
                }
                other => {
                    return Err(refuse(format!(
                        "takes a RANGE of a day-time INTERVAL, not {other}"
                    )))
                }
            },
        },
        WindowFrameUnits::Groups => return Err(refuse("does not take GROUPS frames".into())),
    };
    let mut aggregates = Vec::new();
    for (expr, udaf, params) in &functions {
        let args = params
            .args
            .iter()
            .map(|a| state.create_physical_expr(a.clone(), input_schema))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        aggregates.push(Arc::new(
            AggregateExprBuilder::new(Arc::clone(udaf), args)
                .schema(physical_input.clone())
                .alias(expr.schema_name().to_string())
                .with_distinct(params.distinct)
                .build()?,
        ));
    }
    let filters = vec![None; aggregates.len()];
    let exec = AggregateExec::try_new(
        AggregateMode::Single,
        PhysicalGroupBy::new_single(Vec::new()),
        aggregates,
        filters,
        Arc::new(EmptyExec::new(physical_input.clone())),
        physical_input.clone(),
    )?;
    let chain = translate(&window.input, state, parts)?;
    chain.insert_only("OverAggregate")?;
    let upstream = parts.close(chain)?;
    let description = format!(
        "partitionBy=[{}], orderBy=[{} ASC], window=[{}], select=[{}]",
        partition_keys
            .iter()
            .map(|&i| input_schema.field(i).name().clone())
            .collect::<Vec<_>>()
            .join(", "),
        input_schema.field(time).name(),
        first.window_frame,
        functions
            .iter()
            .map(|(e, _, _)| e.schema_name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let spec = OverAggregateSpec {
        input_schema: SerializedSchema::encode(&nullable(&physical_input))?,
        output_schema: SerializedSchema::encode(&nullable(window.schema.as_arrow()))?,
        partition_keys: partition_keys.clone(),
        time,
        proctime,
        frame,
        aggregates: encode_plan(Arc::new(exec))?,
        description: description.clone(),
    };
    Ok(OpenChain::new(
        Head::Inputs(vec![(
            upstream,
            Partitioner::Hash {
                key_columns: partition_keys,
            },
        )]),
        vec![OperatorSpec::OverAggregate(spec)],
        vec![format!("OverAggregate({description})")],
    ))
}
