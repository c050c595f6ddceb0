//! Flink's FIRST_VALUE and LAST_VALUE skip NULLs (its aggregate functions ignore null
//! input, as the retracting ones do too); DataFusion's respect them unless the call says
//! IGNORE NULLS. This rewrite gives every call without an explicit null treatment
//! Flink's, as aggregates and as OVER window functions. `RESPECT NULLS`, written out,
//! stays.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::DFSchema;
use datafusion::error::Result;
use datafusion::logical_expr::expr::NullTreatment;
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::{Expr, WindowFunctionDefinition};

fn is_first_or_last(name: &str) -> bool {
    matches!(name, "first_value" | "last_value")
}

/// Sets IGNORE NULLS on FIRST_VALUE / LAST_VALUE calls that say nothing.
#[derive(Debug, Default)]
pub struct FlinkFirstLastNulls;

impl FunctionRewrite for FlinkFirstLastNulls {
    fn name(&self) -> &str {
        "flink_first_last_ignore_nulls"
    }

    fn rewrite(&self, expr: Expr, _: &DFSchema, _: &ConfigOptions) -> Result<Transformed<Expr>> {
        Ok(match expr {
            Expr::AggregateFunction(AggregateFunction { func, mut params })
                if is_first_or_last(func.name()) && params.null_treatment.is_none() =>
            {
                params.null_treatment = Some(NullTreatment::IgnoreNulls);
                Transformed::yes(Expr::AggregateFunction(AggregateFunction { func, params }))
            }
            Expr::WindowFunction(mut w)
                if window_is_first_or_last(&w) && w.params.null_treatment.is_none() =>
            {
                w.params.null_treatment = Some(NullTreatment::IgnoreNulls);
                Transformed::yes(Expr::WindowFunction(w))
            }
            other => Transformed::no(other),
        })
    }
}

fn window_is_first_or_last(w: &WindowFunction) -> bool {
    match &w.fun {
        WindowFunctionDefinition::AggregateUDF(f) => is_first_or_last(f.name()),
        WindowFunctionDefinition::WindowUDF(f) => is_first_or_last(f.name()),
    }
}
