//! Flink's `PERCENTILE(expr, p [, frequency])`: the exact percentile of the non-NULL
//! values, as Flink's `PercentileAggFunction` (and Hive's) computes it. The values sorted,
//! the percentile sits at position `p * (n - 1) + 1` (1-based) and is interpolated
//! linearly between the values at its floor and its ceiling. `p` is a DOUBLE literal in
//! [0, 1], or an ARRAY of them, which makes the result an `ARRAY<DOUBLE>` with one
//! percentile per element. A row with a frequency counts that many times; a frequency
//! that is NULL or not positive skips the row. NULL when there are no values.
//!
//! The state is Flink's too: each distinct value (as a DOUBLE) with its count, kept in
//! order, so that a retraction lowers a count and the percentile is found in one pass.
//! A count may go below zero where a retraction reaches a partial state before the row
//! it takes out; such a value counts as absent until the two states are merged.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ReversedUDAF, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

use super::user_error;

/// `PERCENTILE`, for registration.
pub(super) fn udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(Percentile {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Percentile {
    signature: Signature,
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

/// `ARRAY<DOUBLE>` with the element field DataFusion's lists have.
fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// A one-row list holding `values`, for a state or an `ARRAY<DOUBLE>` result.
fn one_list(values: ArrayRef) -> Result<ScalarValue> {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    let offsets = OffsetBuffer::from_lengths([values.len()]);
    Ok(ScalarValue::List(Arc::new(ListArray::try_new(
        field, offsets, values, None,
    )?)))
}

/// What a value or percentage may be: any number, or a NULL literal (typed later).
fn numeric(t: &DataType) -> bool {
    t.is_numeric() || t.is_null()
}

/// Flink's message for a percentage outside [0, 1].
fn out_of_range(p: f64) -> DataFusionError {
    user_error(format!(
        "Percentage of PERCENTILE should be between [0.0, 1.0], but was '{p:?}'."
    ))
}

/// The percentages of the call from its literal second argument, and whether it was an
/// array (so the result is one).
fn percentages(value: &ScalarValue) -> Result<(Vec<f64>, bool)> {
    let null = || plan_error("PERCENTILE: the percentage must not be NULL".into());
    if value.is_null() {
        return Err(null());
    }
    match value.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let list = cast(&value.to_array()?, &list_of(DataType::Float64))?;
            let Some(list) = list.as_list_opt::<i32>() else {
                return Err(null());
            };
            if list.is_empty() || list.is_null(0) {
                return Err(null());
            }
            let items = list.value(0);
            let Some(items) = items.as_primitive_opt::<Float64Type>() else {
                return Err(null());
            };
            let ps = items
                .iter()
                .map(|p| p.ok_or_else(null))
                .collect::<Result<Vec<f64>>>()?;
            Ok((ps, true))
        }
        t if t.is_numeric() => match value.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(p)) => Ok((vec![p], false)),
            _ => Err(null()),
        },
        t => Err(plan_error(format!(
            "PERCENTILE: the percentage is a DOUBLE between 0.0 and 1.0 or an ARRAY of them, not {t}"
        ))),
    }
}

impl AggregateUDFImpl for Percentile {
    fn name(&self) -> &str {
        "percentile"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Values as DOUBLE (Flink reads every number as a double), percentages as DOUBLE or
    /// `ARRAY<DOUBLE>`, frequencies as BIGINT.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (value, percentage, frequency) = match arg_types {
            [v, p] => (v, p, None),
            [v, p, f] => (v, p, Some(f)),
            _ => {
                return Err(plan_error(format!(
                    "function PERCENTILE takes a value, a percentage (or an array of them) and an optional frequency, not {} argument(s)",
                    arg_types.len()
                )))
            }
        };
        if !numeric(value) {
            return Err(plan_error(format!(
                "PERCENTILE takes a numeric value, not {value}"
            )));
        }
        let percentage = match percentage {
            t if numeric(t) => DataType::Float64,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if numeric(f.data_type()) =>
            {
                list_of(DataType::Float64)
            }
            t => {
                return Err(plan_error(format!(
                    "PERCENTILE: the percentage is a DOUBLE between 0.0 and 1.0 or an ARRAY of them, not {t}"
                )))
            }
        };
        let mut types = vec![DataType::Float64, percentage];
        if let Some(f) = frequency {
            if !(f.is_integer() || f.is_null()) {
                return Err(plan_error(format!(
                    "PERCENTILE: the frequency is an integer, not {f}"
                )));
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match arg_types.get(1) {
            Some(DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)) => {
                list_of(DataType::Float64)
            }
            _ => DataType::Float64,
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let Some(expr) = args.exprs.get(1) else {
            return Err(plan_error(
                "function PERCENTILE takes a value and a percentage".into(),
            ));
        };
        // The downcast is defined on `dyn PhysicalExpr + 'static` only.
        let expr: &(dyn PhysicalExpr + 'static) = &**expr;
        let Some(literal) = expr.downcast_ref::<Literal>() else {
            return Err(plan_error(format!(
                "PERCENTILE: the percentage must be a literal, not {expr}"
            )));
        };
        let (percentages, many) = percentages(literal.value())?;
        // Checked at the first row, as Flink does: over no rows the answer is NULL.
        let invalid = percentages
            .iter()
            .copied()
            .find(|p| !(0.0..=1.0).contains(p));
        Ok(Box::new(PercentileAccumulator {
            percentages,
            many,
            invalid,
            counts: BTreeMap::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "values"),
                list_of(DataType::Float64),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "counts"),
                list_of(DataType::Int64),
                true,
            )),
        ])
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }
}

/// A DOUBLE ordered as Java's `Double.compareTo` orders map keys: -0.0 before 0.0, NaN
/// (one NaN) last.
#[derive(Debug, Clone, Copy)]
struct Value(f64);

impl Value {
    fn new(v: f64) -> Self {
        Self(if v.is_nan() { f64::NAN } else { v })
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Debug)]
struct PercentileAccumulator {
    percentages: Vec<f64>,
    /// The percentage was an array: so is the result.
    many: bool,
    /// A percentage outside [0, 1], refused once rows arrive.
    invalid: Option<f64>,
    /// Each distinct value with how many rows (times their frequencies) hold it; never 0.
    counts: BTreeMap<Value, i64>,
}

impl PercentileAccumulator {
    fn add(&mut self, value: f64, n: i64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let key = Value::new(value);
        let count = self
            .counts
            .get(&key)
            .copied()
            .unwrap_or(0)
            .checked_add(n)
            .ok_or_else(|| {
                user_error("PERCENTILE: the frequencies of a value exceed BIGINT".into())
            })?;
        if count == 0 {
            self.counts.remove(&key);
        } else {
            self.counts.insert(key, count);
        }
        Ok(())
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) the rows of a batch: value, percentage,
    /// optional frequency.
    fn apply(&mut self, values: &[ArrayRef], sign: i64) -> Result<()> {
        let Some(column) = values.first() else {
            return Ok(());
        };
        if column.is_empty() {
            return Ok(());
        }
        if let Some(p) = self.invalid {
            return Err(out_of_range(p));
        }
        let column = match column.data_type() {
            DataType::Float64 => column.clone(),
            _ => cast(column, &DataType::Float64)?,
        };
        let frequencies = match values.get(2) {
            Some(f) if f.data_type() == &DataType::Int64 => Some(f.clone()),
            Some(f) => Some(cast(f, &DataType::Int64)?),
            None => None,
        };
        let (Some(xs), frequencies) = (
            column.as_primitive_opt::<Float64Type>(),
            frequencies
                .as_ref()
                .map(|f| f.as_primitive_opt::<Int64Type>()),
        ) else {
            return Err(DataFusionError::Internal(
                "PERCENTILE: a value column that is not DOUBLE".into(),
            ));
        };
        for i in 0..xs.len() {
            if xs.is_null(i) {
                continue;
            }
            let n = match frequencies {
                None => 1,
                Some(Some(f)) if f.is_valid(i) && f.value(i) > 0 => f.value(i),
                Some(_) => continue,
            };
            self.add(xs.value(i), sign * n)?;
        }
        Ok(())
    }

    /// The percentile at each percentage, in the percentages' order; None when no value
    /// is held (or there are no percentages, as with Flink's empty array).
    fn percentiles(&self) -> Option<Vec<f64>> {
        let entries: Vec<(f64, i64)> = self
            .counts
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(v, c)| (v.0, *c))
            .collect();
        let total = entries
            .iter()
            .try_fold(0i64, |t, (_, c)| t.checked_add(*c))?;
        let first = entries.first()?;
        if total <= 0 || self.percentages.is_empty() {
            return None;
        }
        // Positions in increasing order, so that one walk over the values finds them all.
        let mut positions: Vec<(f64, usize)> = self
            .percentages
            .iter()
            .enumerate()
            .map(|(i, p)| (p * (total - 1) as f64 + 1.0, i))
            .collect();
        positions.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = vec![0.0; self.percentages.len()];
        let (mut j, mut seen) = (0usize, first.1);
        for (position, index) in positions {
            let lower = position.floor() as i64;
            let higher = position.ceil() as i64;
            while seen < lower && j + 1 < entries.len() {
                j += 1;
                seen += entries[j].1;
            }
            let here = entries[j].0;
            out[index] = if seen >= higher {
                // On a value, or between two rows holding the same one.
                here
            } else {
                let next = entries.get(j + 1).map_or(here, |e| e.0);
                (higher as f64 - position) * here + (position - lower as f64) * next
            };
        }
        Some(out)
    }
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, 1)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, -1)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Float64Array::from_iter_values(self.counts.keys().map(|v| v.0));
        let counts = Int64Array::from_iter_values(self.counts.values().copied());
        Ok(vec![
            one_list(Arc::new(values))?,
            one_list(Arc::new(counts))?,
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bad_state =
            || DataFusionError::Internal("PERCENTILE: a state that is not its own".into());
        let (Some(values), Some(counts)) = (
            states.first().and_then(|a| a.as_list_opt::<i32>()),
            states.get(1).and_then(|a| a.as_list_opt::<i32>()),
        ) else {
            return Err(bad_state());
        };
        for row in 0..values.len().min(counts.len()) {
            if values.is_null(row) || counts.is_null(row) {
                continue;
            }
            let (value_array, count_array) = (values.value(row), counts.value(row));
            let (Some(vs), Some(cs)) = (
                value_array.as_primitive_opt::<Float64Type>(),
                count_array.as_primitive_opt::<Int64Type>(),
            ) else {
                return Err(bad_state());
            };
            for (v, c) in vs.iter().zip(cs.iter()) {
                if let (Some(v), Some(c)) = (v, c) {
                    self.add(v, c)?;
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let results = self.percentiles();
        if !self.many {
            return Ok(ScalarValue::Float64(
                results.and_then(|r| r.first().copied()),
            ));
        }
        match results {
            Some(r) => one_list(Arc::new(Float64Array::from(r))),
            None => ScalarValue::try_from(&list_of(DataType::Float64)),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.percentages.capacity() * std::mem::size_of::<f64>()
            // A B-tree entry and its share of a node's bookkeeping.
            + self.counts.len() * (std::mem::size_of::<(Value, i64)>() + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Schema;
    use datafusion::physical_expr::expressions::col;

    /// PERCENTILE's accumulator for a DOUBLE column `x` (and a BIGINT `f` as frequency
    /// when asked), with `p` as the percentage expression (a literal unless given).
    fn accumulator_with(p: Option<ScalarValue>, frequency: bool) -> Result<Box<dyn Accumulator>> {
        let mut fields = vec![Field::new("x", DataType::Float64, true)];
        if frequency {
            fields.push(Field::new("f", DataType::Int64, true));
        }
        let schema = Schema::new(fields);
        let percentage: Arc<dyn PhysicalExpr> = match p {
            Some(p) => Arc::new(Literal::new(p)),
            None => col("x", &schema)?,
        };
        let mut exprs = vec![col("x", &schema)?, percentage];
        if frequency {
            exprs.push(col("f", &schema)?);
        }
        let expr_fields = exprs
            .iter()
            .map(|e| e.return_field(&schema))
            .collect::<Result<Vec<FieldRef>>>()?;
        let udaf = udaf();
        let return_field = udaf.return_field(&expr_fields)?;
        udaf.accumulator(AccumulatorArgs {
            return_field,
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: "percentile(x)",
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &expr_fields,
        })
    }

    fn accumulator(p: ScalarValue, frequency: bool) -> Box<dyn Accumulator> {
        accumulator_with(Some(p), frequency).unwrap()
    }

    fn doubles(values: &[Option<f64>]) -> ArrayRef {
        Arc::new(Float64Array::from(values.to_vec()))
    }

    /// The batch DataFusion passes: every argument evaluated, the percentage repeated.
    fn batch(values: &[Option<f64>], p: f64) -> Vec<ArrayRef> {
        vec![doubles(values), doubles(&vec![Some(p); values.len()])]
    }

    fn p_array(ps: &[f64]) -> ScalarValue {
        one_list(Arc::new(Float64Array::from(ps.to_vec()))).unwrap()
    }

    fn as_doubles(v: &ScalarValue) -> Option<Vec<f64>> {
        let ScalarValue::List(list) = v else {
            panic!("not a list: {v:?}")
        };
        if list.is_null(0) {
            return None;
        }
        let items = list.value(0);
        Some(items.as_primitive::<Float64Type>().values().to_vec())
    }

    const ONE_TO_FOUR: [Option<f64>; 5] = [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None];

    #[test]
    fn interpolates_between_neighbours() {
        // Flink: PERCENTILE(x, 0.5) over 1, 2, 3, 4, NULL is 2.5.
        let mut acc = accumulator(ScalarValue::Float64(Some(0.5)), false);
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(None));
        acc.update_batch(&batch(&ONE_TO_FOUR, 0.5)).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(2.5)));
        // 4 taken out: the median of 1, 2, 3.
        acc.retract_batch(&batch(&[Some(4.0)], 0.5)).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(2.0)));
        acc.retract_batch(&batch(&[Some(1.0), Some(2.0), Some(3.0)], 0.5))
            .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(None));
        // The bounds: the smallest and the largest value.
        for (p, want) in [(0.0, 1.0), (1.0, 4.0)] {
            let mut acc = accumulator(ScalarValue::Float64(Some(p)), false);
            acc.update_batch(&batch(&ONE_TO_FOUR, p)).unwrap();
            assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(want)));
        }
    }

    #[test]
    fn an_array_of_percentages_gives_an_array() {
        // Flink: PERCENTILE(x, ARRAY[0.25, 0.75]) over 1, 2, 3, 4, NULL is [1.75, 3.25].
        let mut acc = accumulator(p_array(&[0.75, 0.25]), false);
        assert_eq!(as_doubles(&acc.evaluate().unwrap()), None);
        acc.update_batch(&batch(&ONE_TO_FOUR, 0.0)).unwrap();
        assert_eq!(as_doubles(&acc.evaluate().unwrap()), Some(vec![3.25, 1.75]));
        assert!(udaf()
            .return_type(&[DataType::Float64, list_of(DataType::Float64)])
            .is_ok_and(|t| t == list_of(DataType::Float64)));
    }

    #[test]
    fn frequencies_repeat_rows() {
        // Flink: PERCENTILE(x, 0.5, f) over (1, 3), (2, 1), (10, 1) is 1; rows with a
        // NULL or non-positive frequency count for nothing.
        let mut acc = accumulator(ScalarValue::Float64(Some(0.5)), true);
        let xs = doubles(&[Some(1.0), Some(2.0), Some(10.0), Some(50.0), Some(60.0)]);
        let ps = doubles(&[Some(0.5); 5]);
        let fs: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(3),
            Some(1),
            Some(1),
            None,
            Some(-2),
        ]));
        acc.update_batch(&[xs.clone(), ps.clone(), fs.clone()])
            .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(1.0)));
        // (1, 3) retracted: 2 and 10 remain.
        acc.retract_batch(&[xs.slice(0, 1), ps.slice(0, 1), fs.slice(0, 1)])
            .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(6.0)));
    }

    #[test]
    fn states_merge() {
        let p = ScalarValue::Float64(Some(0.5));
        let mut left = accumulator(p.clone(), false);
        let mut right = accumulator(p.clone(), false);
        left.update_batch(&batch(&[Some(1.0), Some(1.0), Some(2.0), None], 0.5))
            .unwrap();
        right
            .update_batch(&batch(&[Some(3.0), Some(4.0)], 0.5))
            .unwrap();
        // A retraction of a row the other side holds: absent here (3 and 4 remain),
        // cancelled out when merged.
        right.retract_batch(&batch(&[Some(1.0)], 0.5)).unwrap();
        assert_eq!(right.evaluate().unwrap(), ScalarValue::Float64(Some(3.5)));
        let mut merged = accumulator(p, false);
        for acc in [&mut left, &mut right] {
            let state = acc
                .state()
                .unwrap()
                .iter()
                .map(|s| s.to_array().unwrap())
                .collect::<Vec<_>>();
            merged.merge_batch(&state).unwrap();
        }
        assert_eq!(merged.evaluate().unwrap(), ScalarValue::Float64(Some(2.5)));
    }

    #[test]
    fn bad_percentages_are_refused() {
        // Outside [0, 1]: a user error once rows arrive, naming the function.
        let mut acc = accumulator(ScalarValue::Float64(Some(1.5)), false);
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(None));
        match acc.update_batch(&batch(&[Some(1.0)], 1.5)) {
            Err(DataFusionError::External(e)) => assert!(e.to_string().contains("PERCENTILE")),
            other => panic!("expected a user error, got {other:?}"),
        }
        let mut acc = accumulator(p_array(&[0.5, -0.1]), false);
        assert!(acc.update_batch(&batch(&[Some(1.0)], 0.0)).is_err());
        // Not a literal, or a NULL one: refused when planned.
        assert!(matches!(
            accumulator_with(None, false),
            Err(DataFusionError::Plan(_))
        ));
        assert!(matches!(
            accumulator_with(Some(ScalarValue::Float64(None)), false),
            Err(DataFusionError::Plan(_))
        ));
        let f = Percentile {
            signature: Signature::user_defined(Volatility::Immutable),
        };
        assert!(f
            .coerce_types(&[DataType::Utf8, DataType::Float64])
            .is_err());
        assert!(f.coerce_types(&[DataType::Int32]).is_err());
        assert_eq!(
            f.coerce_types(&[DataType::Int32, DataType::Float64, DataType::Int32])
                .unwrap(),
            [DataType::Float64, DataType::Float64, DataType::Int64]
        );
    }
}
