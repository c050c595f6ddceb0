//! `SUM` and `AVG` with Flink's result types, for streaming jobs: the type of the argument
//! (an `INT` sums and averages to an `INT`, the average truncated as Java's integer
//! division does; a `FLOAT` to a `FLOAT`), and `DECIMAL(38, s)` for a sum and
//! `DECIMAL(38, max(s, 6))` for an average of `DECIMAL(p, s)`. DataFusion's (and
//! PostgreSQL's) widen instead: `SUM(INT)` is a `BIGINT`, `AVG(INT)` a `DOUBLE`.
//!
//! Each wraps DataFusion's function, its vectorised group accumulator and its retracting
//! one included, and casts only the final value: the state and the arithmetic stay
//! DataFusion's. An `INT` sum past `INT`'s range wraps around, as Java's `int` does in
//! Flink; an integer average is exact while the sum stays within 2^52.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::kernels::cast::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, Int64Type, DECIMAL128_MAX_PRECISION,
};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature,
};

/// Which Flink aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Sum,
    Avg,
}

/// DataFusion's `sum` or `avg` with Flink's result type.
#[derive(Debug)]
struct FlinkTyped {
    kind: Kind,
    inner: Arc<AggregateUDF>,
    /// User-defined: the coercion is [`AggregateUDFImpl::coerce_types`].
    signature: Signature,
}

impl PartialEq for FlinkTyped {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for FlinkTyped {}

impl std::hash::Hash for FlinkTyped {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state)
    }
}

/// Flink's result type for an argument of type `arg`, when it differs from DataFusion's.
fn flink_type(kind: Kind, arg: &DataType) -> Option<DataType> {
    match arg {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Some(arg.clone()),
        DataType::Float32 => Some(DataType::Float32),
        DataType::Decimal128(_, s) => Some(DataType::Decimal128(
            DECIMAL128_MAX_PRECISION,
            match kind {
                Kind::Sum => *s,
                Kind::Avg => (*s).max(6),
            },
        )),
        _ => None,
    }
}

/// Casts DataFusion's result to Flink's type: integers narrowed with Java's wrap-around,
/// averages truncated toward zero, decimals rescaled.
fn to_flink(array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    let wrapped: Option<ArrayRef> = match (array.data_type(), target) {
        (DataType::Int64, DataType::Int32) => Some(Arc::new(
            array
                .as_primitive::<Int64Type>()
                .unary::<_, datafusion::arrow::datatypes::Int32Type>(|v| v as i32),
        )),
        (DataType::Int64, DataType::Int16) => Some(Arc::new(
            array
                .as_primitive::<Int64Type>()
                .unary::<_, datafusion::arrow::datatypes::Int16Type>(|v| v as i16),
        )),
        (DataType::Int64, DataType::Int8) => Some(Arc::new(
            array
                .as_primitive::<Int64Type>()
                .unary::<_, datafusion::arrow::datatypes::Int8Type>(|v| v as i8),
        )),
        (DataType::Float64, DataType::Int64) => Some(Arc::new(
            array
                .as_primitive::<Float64Type>()
                .unary::<_, Int64Type>(|v| v.trunc() as i64),
        )),
        _ => None,
    };
    let intermediate = match (&wrapped, array.data_type(), target) {
        (Some(w), _, _) => return Ok(w.clone()),
        // An average of small integers: truncated to BIGINT, then narrowed.
        (None, DataType::Float64, DataType::Int32 | DataType::Int16 | DataType::Int8) => {
            to_flink(array, &DataType::Int64)?
        }
        _ => array.clone(),
    };
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    Ok(cast_with_options(&intermediate, target, &options)?)
}

impl FlinkTyped {
    /// The argument fields as DataFusion's function takes them (its coercion: an `INT`
    /// summed as a `BIGINT`, averaged as a `DOUBLE`).
    fn coerced(&self, fields: &[FieldRef]) -> Result<Vec<FieldRef>> {
        datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            fields,
            self.inner.as_ref(),
        )
    }

    /// Calls `f` with the arguments for DataFusion's accumulator: its coerced input
    /// fields and its own return type.
    fn with_inner_args<T>(
        &self,
        args: &AccumulatorArgs<'_>,
        f: impl FnOnce(AccumulatorArgs<'_>) -> Result<T>,
    ) -> Result<T> {
        let fields = self.coerced(args.expr_fields)?;
        f(AccumulatorArgs {
            return_field: self.inner.return_field(&fields)?,
            schema: args.schema,
            ignore_nulls: args.ignore_nulls,
            order_bys: args.order_bys,
            is_reversed: args.is_reversed,
            name: args.name,
            is_distinct: args.is_distinct,
            exprs: args.exprs,
            expr_fields: &fields,
        })
    }

    /// How values are cast for DataFusion's accumulator, and its result for Flink.
    fn casts(&self, arg_fields: &[FieldRef]) -> Result<Option<Casts>> {
        let Some(target) = arg_fields
            .first()
            .and_then(|f| flink_type(self.kind, f.data_type()))
        else {
            return Ok(None);
        };
        let inputs = self
            .coerced(arg_fields)?
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        // An average of decimals is computed again from DataFusion's state (count, sum):
        // its own result has scale s + 4 and is truncated, Flink's max(s, 6), HALF_UP.
        let decimal_average = match (self.kind, arg_fields.first().map(|f| f.data_type())) {
            (Kind::Avg, Some(DataType::Decimal128(_, s))) => Some(*s),
            _ => None,
        };
        Ok(Some(Casts {
            inputs,
            target,
            decimal_average,
        }))
    }
}

/// The input types DataFusion's accumulator takes, and the type Flink's result has.
#[derive(Debug, Clone)]
struct Casts {
    inputs: Vec<DataType>,
    target: DataType,
    /// For an average of `DECIMAL(p, s)`: `s`.
    decimal_average: Option<i8>,
}

impl Casts {
    /// Flink's decimal average of each group, from DataFusion's state columns: the counts
    /// (UInt64) and the sums (at the input's scale).
    fn decimal_average(&self, input_scale: i8, state: &[ArrayRef]) -> Result<ArrayRef> {
        let DataType::Decimal128(precision, scale) = self.target else {
            return Err(datafusion::error::DataFusionError::Internal(
                "a decimal average without a decimal type".into(),
            ));
        };
        let (Some(counts), Some(sums)) = (state.first(), state.get(1)) else {
            return Err(datafusion::error::DataFusionError::Internal(
                "an average's state lacks its count or sum".into(),
            ));
        };
        let counts = datafusion::arrow::compute::cast(counts, &DataType::Int64)?;
        let counts = counts.as_primitive::<Int64Type>();
        let sums = sums.as_primitive::<datafusion::arrow::datatypes::Decimal128Type>();
        let factor = 10i128.pow((scale - input_scale).max(0) as u32);
        let overflow = || {
            datafusion::error::DataFusionError::Execution(format!(
                "AVG: a sum does not fit DECIMAL(38, {scale}) scaled for the average"
            ))
        };
        let mut out = Vec::with_capacity(sums.len());
        for i in 0..sums.len() {
            if sums.is_null(i) || counts.is_null(i) || counts.value(i) == 0 {
                out.push(None);
                continue;
            }
            let n = sums.value(i).checked_mul(factor).ok_or_else(overflow)?;
            let c = counts.value(i) as i128;
            let (q, r) = (n / c, n % c);
            // HALF_UP, as Java's BigDecimal: away from zero from one half on.
            let q = match 2 * r.abs() >= c {
                true => q + n.signum(),
                false => q,
            };
            out.push(Some(q));
        }
        Ok(Arc::new(
            datafusion::arrow::array::Decimal128Array::from(out)
                .with_precision_and_scale(precision, scale)?,
        ))
    }

    fn inputs(&self, values: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
        values
            .iter()
            .zip(&self.inputs)
            .map(|(v, t)| match v.data_type() == t {
                true => Ok(v.clone()),
                false => Ok(datafusion::arrow::compute::cast(v, t)?),
            })
            .collect()
    }
}

impl AggregateUDFImpl for FlinkTyped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The arguments keep their types where Flink's result follows them; the wrapped
    /// accumulators cast them for DataFusion's.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types.first().and_then(|t| flink_type(self.kind, t)) {
            Some(_) => Ok(arg_types.to_vec()),
            None => {
                let fields: Vec<FieldRef> = arg_types
                    .iter()
                    .map(|t| Arc::new(Field::new("x", t.clone(), true)))
                    .collect();
                Ok(self
                    .coerced(&fields)?
                    .iter()
                    .map(|f| f.data_type().clone())
                    .collect())
            }
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first().and_then(|t| flink_type(self.kind, t)) {
            Some(t) => Ok(t),
            None => self.inner.return_type(arg_types),
        }
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let inner = self.with_inner_args(&args, |a| self.inner.accumulator(a))?;
        Ok(match self.casts(args.expr_fields)? {
            Some(casts) => Box::new(CastAccumulator { inner, casts }),
            None => inner,
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let fields = self.coerced(args.input_fields)?;
        self.inner.state_fields(StateFieldsArgs {
            name: args.name,
            input_fields: &fields,
            return_field: self.inner.return_field(&fields)?,
            ordering_fields: args.ordering_fields,
            is_distinct: args.is_distinct,
        })
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.with_inner_args(&args, |a| Ok(self.inner.groups_accumulator_supported(a)))
            .unwrap_or(false)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let inner = self.with_inner_args(&args, |a| self.inner.create_groups_accumulator(a))?;
        Ok(match self.casts(args.expr_fields)? {
            Some(casts) => Box::new(CastGroupsAccumulator { inner, casts }),
            None => inner,
        })
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let inner = self.with_inner_args(&args, |a| self.inner.create_sliding_accumulator(a))?;
        Ok(match self.casts(args.expr_fields)? {
            Some(casts) => Box::new(CastAccumulator { inner, casts }),
            None => inner,
        })
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        ScalarValue::try_from(data_type)
    }
}

#[derive(Debug)]
struct CastAccumulator {
    inner: Box<dyn Accumulator>,
    casts: Casts,
}

impl Accumulator for CastAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.update_batch(&self.casts.inputs(values)?)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if let Some(input_scale) = self.casts.decimal_average {
            let state = self
                .inner
                .state()?
                .iter()
                .map(|v| v.to_array())
                .collect::<Result<Vec<_>>>()?;
            return ScalarValue::try_from_array(
                &self.casts.decimal_average(input_scale, &state)?,
                0,
            );
        }
        let value = self.inner.evaluate()?.to_array()?;
        ScalarValue::try_from_array(&to_flink(&value, &self.casts.target)?, 0)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.retract_batch(&self.casts.inputs(values)?)
    }

    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}

struct CastGroupsAccumulator {
    inner: Box<dyn GroupsAccumulator>,
    casts: Casts,
}

impl GroupsAccumulator for CastGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner.update_batch(
            &self.casts.inputs(values)?,
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        if let Some(input_scale) = self.casts.decimal_average {
            let state = self.inner.state(emit_to)?;
            return self.casts.decimal_average(input_scale, &state);
        }
        to_flink(&self.inner.evaluate(emit_to)?, &self.casts.target)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.inner.state(emit_to)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner
            .convert_to_state(&self.casts.inputs(values)?, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }
}

/// `sum` and `avg` with Flink's types, under DataFusion's names: registered where jobs are
/// planned and where TaskManagers decode them, not for batch queries.
pub fn flink_aggregates() -> Vec<Arc<AggregateUDF>> {
    [
        (Kind::Sum, datafusion::functions_aggregate::sum::sum_udaf()),
        (
            Kind::Avg,
            datafusion::functions_aggregate::average::avg_udaf(),
        ),
    ]
    .into_iter()
    .map(|(kind, inner)| {
        Arc::new(AggregateUDF::from(FlinkTyped {
            kind,
            signature: Signature::user_defined(inner.signature().volatility),
            inner,
        }))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, Int32Array};
    use datafusion::arrow::datatypes::Schema;

    fn evaluate(udaf: &AggregateUDF, input: ArrayRef) -> ScalarValue {
        let field: FieldRef = Arc::new(Field::new("x", input.data_type().clone(), true));
        let schema = Schema::new(vec![field.as_ref().clone()]);
        let expr = datafusion::physical_expr::expressions::col("x", &schema).unwrap();
        let return_field = udaf.return_field(std::slice::from_ref(&field)).unwrap();
        let exprs = [expr];
        let fields = [field];
        let args = AccumulatorArgs {
            return_field,
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: "a",
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &fields,
        };
        let mut acc = udaf.create_sliding_accumulator(args).unwrap();
        acc.update_batch(std::slice::from_ref(&input)).unwrap();
        acc.retract_batch(&[input.slice(0, 1)]).unwrap();
        acc.evaluate().unwrap()
    }

    #[test]
    fn sums_and_averages_keep_flinks_types() {
        let [sum, avg] = <[_; 2]>::try_from(flink_aggregates()).unwrap();
        // 1 retracted: sum of 2, 3, 4 and of the average 3; of -2, -3: -2.5 is -2.
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3, 4]));
        assert_eq!(evaluate(&sum, ints.clone()), ScalarValue::Int32(Some(9)));
        assert_eq!(evaluate(&avg, ints), ScalarValue::Int32(Some(3)));
        let negative: ArrayRef = Arc::new(Int32Array::from(vec![9, -2, -3]));
        assert_eq!(evaluate(&avg, negative), ScalarValue::Int32(Some(-2)));
        // INT overflows wrap around, as in Java.
        let big: ArrayRef = Arc::new(Int32Array::from(vec![0, i32::MAX, 1]));
        assert_eq!(evaluate(&sum, big), ScalarValue::Int32(Some(i32::MIN)));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(vec![100, 150, 200])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        );
        assert_eq!(
            evaluate(&sum, decimals.clone()),
            ScalarValue::Decimal128(Some(350), 38, 2)
        );
        assert_eq!(
            evaluate(&avg, decimals),
            ScalarValue::Decimal128(Some(1_750_000), 38, 6)
        );
        // Scale 0: Flink's average has 6 digits, rounded HALF_UP (1, 1, 2 after 9 is
        // retracted: 1.333333; 0.02, 0, 0 at scale 2: 0.006667).
        let whole: ArrayRef = Arc::new(
            Decimal128Array::from(vec![9, 1, 1, 2])
                .with_precision_and_scale(10, 0)
                .unwrap(),
        );
        assert_eq!(
            evaluate(&avg, whole),
            ScalarValue::Decimal128(Some(1_333_333), 38, 6)
        );
        let small: ArrayRef = Arc::new(
            Decimal128Array::from(vec![5, 2, 0, 0])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(
            evaluate(&avg, small),
            ScalarValue::Decimal128(Some(6_667), 38, 6)
        );
    }
}
