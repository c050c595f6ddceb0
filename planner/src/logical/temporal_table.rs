//! The versioned side of a temporal join. The gateway rewrites Flink's
//! `JOIN t FOR SYSTEM_TIME AS OF o.time AS r` into `JOIN __versioned('t', 'o.time') AS r`
//! (see the sql crate's parser); the function resolves `t` and returns a provider that
//! DataFusion inlines as a [`TemporalTableNode`] over `t`'s plan. The node changes no row:
//! it only tells the streaming translation that the join above it is a temporal join, at
//! which left time, and with which primary key.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DFSchemaRef, ScalarValue, TableReference};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Column;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, Extension, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, UserDefinedLogicalNodeCore, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use eddy_runtime::TimeAttribute;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use futures::FutureExt;

use crate::error::PlanError;
use crate::table::ConnectorTable;

/// The name the gateway's rewrite calls.
const FUNCTION: &str = "__versioned";

/// A table read as of the time of the rows it is joined with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TemporalTableNode {
    pub input: LogicalPlan,
    /// The table as written.
    pub table: String,
    /// The left time attribute `AS OF`, as a qualified column name (`o.ordertime`).
    pub as_of: String,
    /// The table's declared primary key (empty without one).
    pub primary_key: Vec<String>,
}

impl PartialOrd for TemporalTableNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (&self.table, &self.as_of).partial_cmp(&(&other.table, &other.as_of))
    }
}

impl UserDefinedLogicalNodeCore for TemporalTableNode {
    fn name(&self) -> &str {
        "TemporalTable"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    /// Filters on the versioned table go below it, as Flink (Calcite) pushes them into a
    /// temporal join's right input; the translation refuses them over a changelog, as
    /// Flink does.
    fn prevent_predicate_push_down_columns(&self) -> HashSet<String> {
        HashSet::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TemporalTable: {} FOR SYSTEM_TIME AS OF {}",
            self.table, self.as_of
        )
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        let input = inputs
            .into_iter()
            .next()
            .ok_or_else(|| DataFusionError::Internal("temporal table without input".into()))?;
        Ok(Self {
            input,
            ..self.clone()
        })
    }
}

#[derive(Debug)]
struct VersionedFunction;

impl TableFunctionImpl for VersionedFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let text = |i: usize| match exprs.get(i) {
            Some(Expr::Literal(ScalarValue::Utf8(Some(s)), _)) => Ok(s.clone()),
            _ => Err(DataFusionError::Plan(
                "FOR SYSTEM_TIME AS OF needs a table and a time column".into(),
            )),
        };
        let (table, as_of) = (text(0)?, text(1)?);
        let state = args
            .session()
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::Internal("temporal table outside a session".into()))?;
        let reference = TableReference::from(table.as_str());
        let provider = state
            .schema_for_ref(reference.clone())?
            .table(reference.table())
            .now_or_never()
            .ok_or_else(|| DataFusionError::Internal("catalog lookup did not complete".into()))??
            .ok_or_else(|| DataFusionError::Plan(format!("table '{table}' not found")))?;
        let primary_key = ConnectorTable::from_provider(provider.as_ref())
            .map(|t| t.primary_key.clone())
            .unwrap_or_default();
        let input = crate::logical::window_tvf::table_plan(state, &table)?;
        let plan = LogicalPlan::Extension(Extension {
            node: Arc::new(TemporalTableNode {
                input,
                table,
                as_of,
                primary_key,
            }),
        });
        Ok(Arc::new(TemporalTable {
            schema: Arc::new(plan.schema().as_arrow().clone()),
            plan,
        }))
    }
}

/// What the table function returns: DataFusion inlines its logical plan.
#[derive(Debug)]
struct TemporalTable {
    plan: LogicalPlan,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for TemporalTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        Some(Cow::Borrowed(&self.plan))
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(not_in_batch().into_datafusion())
    }
}

/// Temporal joins are streaming operators; a batch query cannot run them.
pub fn not_in_batch() -> PlanError {
    PlanError::NotSupported(
        "FOR SYSTEM_TIME AS OF (a temporal join) runs only in streaming jobs: INSERT INTO a sink, or SELECT from an unbounded table".into(),
    )
}

/// Registers the table function the gateway's temporal join rewrite calls, and the
/// analyzer rule that ties each temporal table to its join's left time.
pub fn register_temporal_function(ctx: &SessionContext) {
    ctx.register_udtf(FUNCTION, Arc::new(VersionedFunction));
    ctx.add_analyzer_rule(Arc::new(TemporalJoinMarker));
}

/// The name of the condition [`TemporalJoinMarker`] adds.
pub const MARKER: &str = "__temporal_join";

/// `__temporal_join(left time, right column)`: true. A conjunct of a temporal join's
/// condition that names the left time attribute, so that DataFusion's optimizer keeps that
/// column (nothing else may read it) and cannot push the condition into either side. The
/// streaming translation takes it out again.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MarkerFunction {
    signature: Signature,
}

impl ScalarUDFImpl for MarkerFunction {
    fn name(&self) -> &str {
        MARKER
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))
    }
}

/// Runs after type coercion: adds the [`MARKER`] condition to every join whose right input
/// is a temporal table.
#[derive(Debug)]
struct TemporalJoinMarker;

impl AnalyzerRule for TemporalJoinMarker {
    fn name(&self) -> &str {
        "temporal_join_marker"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up(|plan| {
            let LogicalPlan::Join(mut join) = plan else {
                return Ok(Transformed::no(plan));
            };
            let Some(node) = crate::temporal_join::temporal_table_of(&join.right) else {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            };
            let marked = join.filter.as_ref().is_some_and(|f| {
                split_conjunction(f)
                    .iter()
                    .any(|c| matches!(c, Expr::ScalarFunction(s) if s.name() == MARKER))
            });
            if marked {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            }
            let as_of = Column::from_qualified_name(&node.as_of);
            let (ls, rs) = (join.left.schema(), join.right.schema());
            let left = ls.qualified_field_with_name(as_of.relation.as_ref(), &as_of.name).map_err(|_| {
                PlanError::NotSupported(format!(
                    "the time column '{}' of FOR SYSTEM_TIME AS OF is not a column of the join's left input",
                    node.as_of
                ))
                .into_datafusion()
            })?;
            let left = Expr::Column(Column::from(left));
            // Any right column: the rowtime if there is one.
            let right = (0..rs.fields().len())
                .find(|&i| TimeAttribute::of(rs.field(i)) == Some(TimeAttribute::Rowtime))
                .unwrap_or(0);
            let right = Expr::Column(Column::from(rs.qualified_field(right)));
            let marker = Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::new(ScalarUDF::from(MarkerFunction {
                    signature: Signature::any(2, Volatility::Immutable),
                })),
                vec![left, right],
            ));
            join.filter = Some(match join.filter.take() {
                Some(f) => f.and(marker),
                None => marker,
            });
            Ok(Transformed::yes(LogicalPlan::Join(join)))
        })
        .map(|t| t.data)
    }
}

/// The temporal table node of an extension plan, if it is one.
pub fn as_temporal_table(plan: &LogicalPlan) -> Option<&TemporalTableNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<TemporalTableNode>(),
        _ => None,
    }
}
