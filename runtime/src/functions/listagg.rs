//! Flink's `LISTAGG(expr [, separator])`: the non-NULL values joined by the separator
//! (',' by default), NULL when there are none. It is DataFusion's `string_agg` with
//! Flink's default separator: the call is rewritten to it when the plan is simplified.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::functions_aggregate::string_agg::string_agg_udaf;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{lit, Accumulator, AggregateUDFImpl, Expr, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ListAgg {
    signature: Signature,
}

impl Default for ListAgg {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ListAgg {
    fn name(&self) -> &str {
        "listagg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types.len() {
            1 | 2 => Ok(vec![DataType::Utf8; arg_types.len()]),
            n => Err(DataFusionError::Plan(format!(
                "function LISTAGG takes a value and an optional separator, not {n} arguments"
            ))),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        // What the call becomes gives the type: the rewrite must keep the plan's schema.
        let mut types = arg_types.to_vec();
        if types.len() == 1 {
            types.push(DataType::Utf8);
        }
        string_agg_udaf().return_type(&types)
    }

    /// Where the call is not rewritten (`LISTAGG(s) OVER (...)`, a TaskManager rebuilding
    /// an expression), string_agg's accumulator with the separator filled in.
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let separator: Arc<dyn PhysicalExpr> =
            Arc::new(Literal::new(ScalarValue::Utf8(Some(",".to_string()))));
        let mut exprs = args.exprs.to_vec();
        let mut fields = args.expr_fields.to_vec();
        if exprs.len() == 1 {
            exprs.push(separator);
            fields.push(Arc::new(Field::new("separator", DataType::Utf8, false)));
        }
        string_agg_udaf().accumulator(AccumulatorArgs {
            exprs: &exprs,
            expr_fields: &fields,
            ..args
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        string_agg_udaf().state_fields(args)
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|agg: AggregateFunction, _| {
            let mut params = agg.params;
            if params.args.len() == 1 {
                params.args.push(lit(","));
            }
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                string_agg_udaf(),
                params.args,
                params.distinct,
                params.filter,
                params.order_by,
                params.null_treatment,
            )))
        }))
    }
}
