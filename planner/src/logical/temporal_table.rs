//! The versioned side of a temporal join. The gateway rewrites Flink's
//! `JOIN t FOR SYSTEM_TIME AS OF o.time AS r` into `JOIN __versioned('t', 'o.time') AS r`
//! (see the sql crate's parser); the function resolves `t` and returns a provider that
//! DataFusion inlines as a [`TemporalTableNode`] over `t`'s plan. The node changes no row:
//! it only tells the streaming translation that the join above it is a temporal join, at
//! which left time, and with which primary key.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema};
use datafusion::common::{DFSchemaRef, ScalarValue, TableReference};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{
    Expr, Extension, JoinType, LogicalPlan, Operator, UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use futures::FutureExt;

use super::streaming_only::StreamingOnlyTable;
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
        let node = TemporalTableNode {
            input,
            table,
            as_of,
            primary_key,
        };
        Ok(StreamingOnlyTable::provider(Arc::new(node), NOT_IN_BATCH))
    }
}

/// Temporal joins are streaming operators; a batch query cannot run them.
const NOT_IN_BATCH: &str = "FOR SYSTEM_TIME AS OF (a temporal join) runs only in streaming jobs: INSERT INTO a sink, or SELECT from an unbounded table";

/// Registers the table function the gateway's temporal join rewrite calls, and the
/// analyzer rule that makes each join over one a [`TemporalJoinNode`].
pub fn register_temporal_function(ctx: &SessionContext) {
    ctx.register_udtf(FUNCTION, Arc::new(VersionedFunction));
    ctx.add_analyzer_rule(Arc::new(TemporalJoinRule));
}

/// A join whose right input is a temporal table, as the analyzer rule
/// [`TemporalJoinRule`] makes it from DataFusion's join before the optimizer runs: an
/// opaque node, so that no condition on the versioned table is pushed below the join
/// (Flink checks it against the version found, not the rows before versioning) and the
/// left time attribute is kept as a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TemporalJoinNode {
    pub left: LogicalPlan,
    pub right: LogicalPlan,
    /// Equalities between a left and a right expression.
    pub on: Vec<(Expr, Expr)>,
    /// The rest of the join condition.
    pub filter: Option<Expr>,
    /// The left time attribute `AS OF`.
    pub left_time: Expr,
    pub join_type: JoinType,
    pub schema: DFSchemaRef,
}

impl PartialOrd for TemporalJoinNode {
    fn partial_cmp(&self, _other: &Self) -> Option<Ordering> {
        None
    }
}

impl UserDefinedLogicalNodeCore for TemporalJoinNode {
    fn name(&self) -> &str {
        "TemporalJoin"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.left, &self.right]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        let mut exprs = vec![self.left_time.clone()];
        for (l, r) in &self.on {
            exprs.push(l.clone());
            exprs.push(r.clone());
        }
        exprs.extend(self.filter.clone());
        exprs
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let on: Vec<String> = self.on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
        write!(
            f,
            "TemporalJoin: {} AS OF {}, on=[{}]",
            self.join_type,
            self.left_time,
            on.join(", ")
        )?;
        if let Some(filter) = &self.filter {
            write!(f, ", where={filter}")?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        let [left, right]: [LogicalPlan; 2] = inputs
            .try_into()
            .map_err(|_| DataFusionError::Internal("a temporal join has two inputs".into()))?;
        let mut exprs = exprs.into_iter();
        let left_time = exprs
            .next()
            .ok_or_else(|| DataFusionError::Internal("a temporal join lost its time".into()))?;
        let mut on = Vec::with_capacity(self.on.len());
        for _ in 0..self.on.len() {
            match (exprs.next(), exprs.next()) {
                (Some(l), Some(r)) => on.push((l, r)),
                _ => {
                    return Err(DataFusionError::Internal(
                        "a temporal join lost a key".into(),
                    ))
                }
            }
        }
        Ok(Self {
            left,
            right,
            on,
            filter: exprs.next(),
            left_time,
            join_type: self.join_type,
            schema: self.schema.clone(),
        })
    }
}

/// Turns each join whose right input is a temporal table into a [`TemporalJoinNode`].
/// Runs after type coercion, before the optimizer.
#[derive(Debug)]
struct TemporalJoinRule;

/// Whether every column `expr` reads is in `schema`.
fn reads_only(expr: &Expr, schema: &DFSchema) -> bool {
    expr.column_refs().iter().all(|c| schema.has_column(c))
}

impl AnalyzerRule for TemporalJoinRule {
    fn name(&self) -> &str {
        "temporal_join"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up(|plan| {
            let LogicalPlan::Join(join) = plan else {
                return Ok(Transformed::no(plan));
            };
            let Some(node) = crate::temporal_join::temporal_table_of(&join.right) else {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            };
            let (ls, rs) = (join.left.schema(), join.right.schema());
            let as_of = Column::from_qualified_name(&node.as_of);
            let left_time = ls
                .qualified_field_with_name(as_of.relation.as_ref(), &as_of.name)
                .map_err(|_| {
                    PlanError::NotSupported(format!(
                        "the time column '{}' of FOR SYSTEM_TIME AS OF is not a column of the join's left input",
                        node.as_of
                    ))
                    .into_datafusion()
                })?;
            let left_time = Expr::Column(Column::from(left_time));
            let mut on = join.on.clone();
            let mut rest = Vec::new();
            for conjunct in join.filter.iter().flat_map(split_conjunction) {
                if let Expr::BinaryExpr(b) = conjunct {
                    if b.op == Operator::Eq {
                        let (l, r) = (b.left.as_ref(), b.right.as_ref());
                        let has_columns = |e: &Expr| !e.column_refs().is_empty();
                        if has_columns(l) && has_columns(r) {
                            if reads_only(l, ls) && reads_only(r, rs) {
                                on.push((l.clone(), r.clone()));
                                continue;
                            }
                            if reads_only(r, ls) && reads_only(l, rs) {
                                on.push((r.clone(), l.clone()));
                                continue;
                            }
                        }
                    }
                }
                rest.push(conjunct.clone());
            }
            Ok(Transformed::yes(LogicalPlan::Extension(Extension {
                node: Arc::new(TemporalJoinNode {
                    left: join.left.as_ref().clone(),
                    right: join.right.as_ref().clone(),
                    on,
                    filter: conjunction(rest),
                    left_time,
                    join_type: join.join_type,
                    schema: join.schema.clone(),
                }),
            })))
        })
        .map(|t| t.data)
    }
}

/// The temporal join node of an extension plan, if it is one.
pub fn as_temporal_join(plan: &LogicalPlan) -> Option<&TemporalJoinNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<TemporalJoinNode>(),
        _ => None,
    }
}

/// The temporal table node of an extension plan, if it is one.
pub fn as_temporal_table(plan: &LogicalPlan) -> Option<&TemporalTableNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<TemporalTableNode>(),
        _ => None,
    }
}
