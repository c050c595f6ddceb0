//! Window table-valued functions in the logical plan. The gateway rewrites Flink's
//! `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size))` into a call of the table function
//! `tumble('t', 'ts', size)` (see the sql crate's parser); the function resolves `t`,
//! checks that `ts` is a time attribute, and returns a provider that DataFusion inlines
//! as a [`WindowTvfNode`] over `t`'s plan. The streaming translation turns the node into
//! the window TVF operator, and window aggregations and joins recognise its
//! `window_start` / `window_end` columns by their field metadata.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DFSchema, DFSchemaRef, ScalarValue, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, UserDefinedLogicalNodeCore};
use datafusion::prelude::SessionContext;
use eddy_runtime::jobgraph::WindowKind;
use eddy_runtime::time::mark_window_bound;
use eddy_runtime::TimeAttribute;
use futures::FutureExt;

use super::streaming_only::StreamingOnlyTable;
use crate::error::PlanError;

/// A window TVF applied to its input: the input's columns plus `window_start`,
/// `window_end` and `window_time`, one row per window of each input row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowTvfNode {
    pub input: LogicalPlan,
    pub kind: WindowKind,
    /// Index of the time attribute in the input schema.
    pub time_column: usize,
    pub time: TimeAttribute,
    /// SESSION's `PARTITION BY` columns.
    pub partition_keys: Vec<String>,
    schema: DFSchemaRef,
}

impl PartialOrd for WindowTvfNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.kind, self.time_column, self.time).partial_cmp(&(
            other.kind,
            other.time_column,
            other.time,
        ))
    }
}

impl WindowTvfNode {
    /// The node over `input`, windowing on its column `time_column`.
    pub fn try_new(
        input: LogicalPlan,
        kind: WindowKind,
        time_column: usize,
        time: TimeAttribute,
    ) -> crate::Result<Self> {
        let in_schema = input.schema();
        for name in ["window_start", "window_end", "window_time"] {
            if in_schema.fields().iter().any(|f| f.name() == name) {
                return Err(PlanError::Windowing(format!(
                    "the input of a window function already has a column named '{name}'; rename it first"
                )));
            }
        }
        let time_type = in_schema.field(time_column).data_type().clone();
        let time_zone = match &time_type {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let bound = DataType::Timestamp(TimeUnit::Millisecond, None);
        let mut fields: Vec<(Option<TableReference>, Arc<Field>)> = in_schema
            .iter()
            .map(|(q, f)| (q.cloned(), f.clone()))
            .collect();
        fields.push((
            None,
            Arc::new(mark_window_bound(
                Field::new("window_start", bound.clone(), false),
                "start",
                time,
            )),
        ));
        fields.push((
            None,
            Arc::new(mark_window_bound(
                Field::new("window_end", bound, false),
                "end",
                time,
            )),
        ));
        fields.push((
            None,
            Arc::new(time.mark(Field::new(
                "window_time",
                DataType::Timestamp(TimeUnit::Millisecond, time_zone),
                false,
            ))),
        ));
        let schema = DFSchema::new_with_metadata(fields, in_schema.metadata().clone())?;
        Ok(Self {
            input,
            kind,
            time_column,
            time,
            partition_keys: Vec::new(),
            schema: Arc::new(schema),
        })
    }
}

impl UserDefinedLogicalNodeCore for WindowTvfNode {
    fn name(&self) -> &str {
        "WindowTableFunction"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "WindowTableFunction: {} on {}",
            self.kind,
            self.input.schema().field(self.time_column).name()
        )
    }

    /// The input columns the output needs: those passed through, the time column and any
    /// SESSION partition keys. This lets DataFusion push a projection below the window
    /// TVF, into the scan, so a csv source parses only what a windowed query reads.
    fn necessary_children_exprs(&self, output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        let input = self.input.schema();
        let width = input.fields().len();
        let mut needed: Vec<usize> = output_columns
            .iter()
            .copied()
            .filter(|&i| i < width)
            .collect();
        needed.push(self.time_column);
        for key in &self.partition_keys {
            needed.push(input.index_of_column_by_name(None, key)?);
        }
        needed.sort_unstable();
        needed.dedup();
        Some(vec![needed])
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        let input = inputs
            .into_iter()
            .next()
            .ok_or_else(|| DataFusionError::Internal("window TVF without input".into()))?;
        // The input may have lost columns to a projection: the time column is found again
        // by name.
        let (qualifier, field) = self.input.schema().qualified_field(self.time_column);
        let time_column = input
            .schema()
            .index_of_column_by_name(qualifier, field.name())
            .or_else(|| input.schema().index_of_column_by_name(None, field.name()))
            .ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "the window TVF's input lost its time column {}",
                    field.name()
                ))
            })?;
        let mut node = Self::try_new(input, self.kind, time_column, self.time)
            .map_err(PlanError::into_datafusion)?;
        node.partition_keys = self.partition_keys.clone();
        Ok(node)
    }
}

/// Which window function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tvf {
    Tumble,
    Hop,
    Cumulate,
    Session,
}

impl Tvf {
    fn name(self) -> &'static str {
        match self {
            Tvf::Tumble => "TUMBLE",
            Tvf::Hop => "HOP",
            Tvf::Cumulate => "CUMULATE",
            Tvf::Session => "SESSION",
        }
    }
}

/// The table function behind one window TVF.
#[derive(Debug)]
struct WindowFunction {
    tvf: Tvf,
}

fn windowing(msg: String) -> DataFusionError {
    PlanError::Windowing(msg).into_datafusion()
}

fn string_arg(tvf: Tvf, args: &[Expr], i: usize, what: &str) -> DfResult<String> {
    match args.get(i) {
        Some(Expr::Literal(ScalarValue::Utf8(Some(s)), _)) => Ok(s.clone()),
        _ => Err(windowing(format!("{} needs {what}", tvf.name()))),
    }
}

/// An interval argument in milliseconds.
fn interval_arg(tvf: Tvf, args: &[Expr], i: usize, what: &str) -> DfResult<Option<i64>> {
    let Some(arg) = args.get(i) else {
        return Ok(None);
    };
    let value = match arg {
        Expr::Literal(v, _) => v,
        other => {
            return Err(windowing(format!(
                "the {what} of {} must be an interval literal such as INTERVAL '10' SECOND, not {other}",
                tvf.name()
            )))
        }
    };
    let ms = match value {
        ScalarValue::IntervalDayTime(Some(v)) => v.days as i64 * 86_400_000 + v.milliseconds as i64,
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
            v.days as i64 * 86_400_000 + v.nanoseconds / 1_000_000
        }
        _ => {
            return Err(windowing(format!(
                "the {what} of {} must be a day-time interval such as INTERVAL '10' SECOND, not {value}",
                tvf.name()
            )))
        }
    };
    Ok(Some(ms))
}

fn positive(tvf: Tvf, what: &str, ms: Option<i64>) -> DfResult<i64> {
    match ms {
        Some(ms) if ms > 0 => Ok(ms),
        Some(ms) => Err(windowing(format!(
            "the {what} of {} must be positive, not {ms} ms",
            tvf.name()
        ))),
        None => Err(windowing(format!("{} needs a {what}", tvf.name()))),
    }
}

/// The plan of table or view `name`, qualified by its name.
pub(crate) fn table_plan(state: &SessionState, name: &str) -> DfResult<LogicalPlan> {
    let reference = TableReference::from(name);
    let provider = state
        .schema_for_ref(reference.clone())?
        .table(reference.table())
        .now_or_never()
        .ok_or_else(|| DataFusionError::Internal("catalog lookup did not complete".into()))??
        .ok_or_else(|| DataFusionError::Plan(format!("table '{name}' not found")))?;
    let plan = match provider.get_logical_plan() {
        Some(plan) => LogicalPlanBuilder::from(plan.into_owned())
            .alias(reference)?
            .build()?,
        None => LogicalPlanBuilder::scan(reference, provider_as_source(provider), None)?.build()?,
    };
    Ok(plan)
}

impl TableFunctionImpl for WindowFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let tvf = self.tvf;
        let exprs = args.exprs();
        let state = args
            .session()
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::Internal("window TVF outside a session".into()))?;
        let table = string_arg(tvf, exprs, 0, "a table: TABLE name")?;
        let column = string_arg(tvf, exprs, 1, "a time column: DESCRIPTOR(column)")?;
        let input = table_plan(state, &table)?;
        let schema = input.schema();
        let time_column = schema
            .fields()
            .iter()
            .position(|f| f.name() == &column)
            .ok_or_else(|| {
                windowing(format!(
                    "the time column '{column}' of {} is not a column of '{table}'",
                    tvf.name()
                ))
            })?;
        let field = schema.field(time_column);
        let time = TimeAttribute::of(field).ok_or_else(|| {
            windowing(format!(
                "the time column '{column}' of {}(TABLE {table}, DESCRIPTOR({column}), ...) must be a time attribute (a column with a WATERMARK, or PROCTIME()), but it is a regular {} column",
                tvf.name(),
                eddy_connectors::types::sql_type_name(field.data_type())
            ))
        })?;
        let kind = match tvf {
            Tvf::Tumble => {
                let size = positive(tvf, "size", interval_arg(tvf, exprs, 2, "size")?)?;
                let offset = interval_arg(tvf, exprs, 3, "offset")?.unwrap_or(0);
                WindowKind::Tumble { size, offset }
            }
            Tvf::Hop => {
                let slide = positive(tvf, "slide", interval_arg(tvf, exprs, 2, "slide")?)?;
                let size = positive(tvf, "size", interval_arg(tvf, exprs, 3, "size")?)?;
                let offset = interval_arg(tvf, exprs, 4, "offset")?.unwrap_or(0);
                WindowKind::Hop {
                    slide,
                    size,
                    offset,
                }
            }
            Tvf::Cumulate => {
                let step = positive(tvf, "step", interval_arg(tvf, exprs, 2, "step")?)?;
                let size = positive(tvf, "size", interval_arg(tvf, exprs, 3, "size")?)?;
                let offset = interval_arg(tvf, exprs, 4, "offset")?.unwrap_or(0);
                if size % step != 0 {
                    return Err(windowing(format!(
                        "CUMULATE requires the max size to be an integral multiple of the step, but got size {size} ms and step {step} ms"
                    )));
                }
                WindowKind::Cumulate { step, size, offset }
            }
            Tvf::Session => {
                let gap = positive(tvf, "gap", interval_arg(tvf, exprs, 2, "gap")?)?;
                WindowKind::Session { gap }
            }
        };
        let partition_keys: Vec<String> = match (tvf, exprs.get(3)) {
            (Tvf::Session, Some(_)) => string_arg(tvf, exprs, 3, "partition keys")?
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        for key in &partition_keys {
            if !schema.fields().iter().any(|f| f.name() == key) {
                return Err(windowing(format!(
                    "the PARTITION BY column '{key}' of SESSION is not a column of '{table}'"
                )));
            }
        }
        let mut node = WindowTvfNode::try_new(input, kind, time_column, time)
            .map_err(PlanError::into_datafusion)?;
        node.partition_keys = partition_keys;
        Ok(StreamingOnlyTable::provider(
            Arc::new(node),
            "window functions run only in streaming jobs",
        ))
    }
}

/// Registers TUMBLE, HOP, CUMULATE and SESSION as table functions of `ctx`, under the
/// lower-case names the gateway's rewrite calls.
pub fn register_window_functions(ctx: &SessionContext) -> DfResult<()> {
    for tvf in [Tvf::Tumble, Tvf::Hop, Tvf::Cumulate, Tvf::Session] {
        ctx.register_udtf(
            &tvf.name().to_ascii_lowercase(),
            Arc::new(WindowFunction { tvf }),
        );
    }
    Ok(())
}

/// The window TVF node of an extension plan, if it is one.
pub fn as_window_tvf(plan: &LogicalPlan) -> Option<&WindowTvfNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<WindowTvfNode>(),
        _ => None,
    }
}
