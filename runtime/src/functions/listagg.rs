//! Flink's `LISTAGG(expr [, separator])`: the non-NULL values joined by the separator
//! (',' by default), NULL when there are none. It is DataFusion's `string_agg` with
//! Flink's default separator: the call is rewritten to it when the plan is simplified.

use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{lit, Accumulator, AggregateUDFImpl, Expr, Signature, Volatility};

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
        datafusion::functions_aggregate::string_agg::string_agg_udaf().return_type(&types)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Err(DataFusionError::Internal(
            "LISTAGG runs as string_agg once the plan is simplified".into(),
        ))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|agg: AggregateFunction, _| {
            let mut params = agg.params;
            if params.args.len() == 1 {
                params.args.push(lit(","));
            }
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                datafusion::functions_aggregate::string_agg::string_agg_udaf(),
                params.args,
                params.distinct,
                params.filter,
                params.order_by,
                params.null_treatment,
            )))
        }))
    }
}
