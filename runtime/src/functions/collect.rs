//! Flink's `COLLECT(expr)`: the multiset of the non-NULL values, which Eddy gives as a
//! `MAP<T, INT>` from each value to how many rows hold it. Never NULL: over no rows (or
//! only NULLs) it is an empty map, as Flink's `MULTISET<T> NOT NULL` is empty. A multiset
//! has no order; the map's entries are in the values' order, so that the same rows give
//! the same map however a DISTINCT or a merge ordered them (Flink's Java map happens to
//! list small integers that way too). `COLLECT(DISTINCT x)` maps each value to 1.
//!
//! Values are kept in Arrow's row format, in which equal values have equal bytes, so any
//! type a map key can have works the same way. Counts are kept whole under DISTINCT too
//! and only shown as 1: a retraction of one of two equal rows must leave the value in.
//! As in Flink, a retraction of a value not held leaves a negative count, which merging
//! the partial state that holds the row cancels; until then the value is not shown.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, Array, ArrayRef, AsArray, Int32Array, Int64Array, ListArray, MapArray,
    StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ReversedUDAF, Signature, Volatility,
};

use super::user_error;

/// `COLLECT`, for registration.
pub(super) fn udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(Collect {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Collect {
    signature: Signature,
}

/// `MAP<key, INT>`, with the field names DataFusion's (and Eddy's `MAP[...]`) maps have.
fn map_type(key: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", key, false),
                Field::new("value", DataType::Int32, true),
            ])),
            false,
        )),
        false,
    )
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// A one-row list holding `values`, for the state.
fn one_list(values: ArrayRef) -> Result<ScalarValue> {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    let offsets = OffsetBuffer::from_lengths([values.len()]);
    Ok(ScalarValue::List(Arc::new(ListArray::try_new(
        field, offsets, values, None,
    )?)))
}

/// A one-row map of `keys` to `counts` (Int32), of type [`map_type`] of `key_type`.
fn one_map(key_type: &DataType, keys: ArrayRef, counts: ArrayRef) -> Result<ScalarValue> {
    let not_a_map = || DataFusionError::Internal("COLLECT: not a map type".into());
    let DataType::Map(entries, _) = map_type(key_type.clone()) else {
        return Err(not_a_map());
    };
    let DataType::Struct(fields) = entries.data_type() else {
        return Err(not_a_map());
    };
    let n = keys.len();
    let pairs = StructArray::try_new(fields.clone(), vec![keys, counts], None)?;
    let map = MapArray::try_new(
        entries.clone(),
        OffsetBuffer::from_lengths([n]),
        pairs,
        None,
        false,
    )?;
    Ok(ScalarValue::Map(Arc::new(map)))
}

/// The empty map of `key_type`: COLLECT over nothing.
fn empty_map(key_type: &DataType) -> Result<ScalarValue> {
    one_map(
        key_type,
        new_empty_array(key_type),
        new_empty_array(&DataType::Int32),
    )
}

impl AggregateUDFImpl for Collect {
    fn name(&self) -> &str {
        "collect"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Any type Arrow's row format holds; a dictionary as its values, which is what a
    /// map of it holds once its keys are decoded.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [t] = arg_types else {
            return Err(DataFusionError::Plan(format!(
                "function COLLECT takes one argument, not {}",
                arg_types.len()
            )));
        };
        let t = match t {
            DataType::Dictionary(_, values) => (**values).clone(),
            t => t.clone(),
        };
        if !RowConverter::supports_fields(&[SortField::new(t.clone())]) {
            return Err(DataFusionError::Plan(format!(
                "COLLECT does not take values of type {t}"
            )));
        }
        Ok(vec![t])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] => Ok(map_type(t.clone())),
            _ => Err(DataFusionError::Plan(
                "function COLLECT takes one argument".into(),
            )),
        }
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let Some(field) = args.expr_fields.first() else {
            return Err(DataFusionError::Plan(
                "function COLLECT takes one argument".into(),
            ));
        };
        Ok(Box::new(CollectAccumulator::new(
            field.data_type().clone(),
            args.is_distinct,
        )?))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let key_type = args
            .input_fields
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Null);
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "values"),
                list_of(key_type),
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

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        match data_type {
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fields) if !fields.is_empty() => empty_map(fields[0].data_type()),
                _ => ScalarValue::try_from(data_type),
            },
            _ => ScalarValue::try_from(data_type),
        }
    }
}

/// One value's place and count.
#[derive(Debug, Clone, Copy)]
struct Counted {
    /// How many rows hold it; never 0 (the entry goes), below 0 after early retractions.
    count: i64,
}

#[derive(Debug)]
struct CollectAccumulator {
    key_type: DataType,
    /// The values' row format.
    converter: RowConverter,
    distinct: bool,
    counts: HashMap<Vec<u8>, Counted, foldhash::fast::RandomState>,
}

impl CollectAccumulator {
    fn new(key_type: DataType, distinct: bool) -> Result<Self> {
        Ok(Self {
            converter: RowConverter::new(vec![SortField::new(key_type.clone())])?,
            key_type,
            distinct,
            counts: HashMap::default(),
        })
    }

    fn add(&mut self, key: &[u8], n: i64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let emptied = match self.counts.get_mut(key) {
            Some(c) => {
                c.count = c.count.checked_add(n).ok_or_else(|| {
                    user_error("COLLECT: a value is held by more rows than BIGINT counts".into())
                })?;
                c.count == 0
            }
            None => {
                self.counts.insert(key.to_vec(), Counted { count: n });
                false
            }
        };
        if emptied {
            self.counts.remove(key);
        }
        Ok(())
    }

    /// Adds each non-NULL value of `column` `n` times (-1: takes one out).
    fn apply(&mut self, column: &ArrayRef, n: i64) -> Result<()> {
        if column.is_empty() {
            return Ok(());
        }
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(column))?;
        // Logical nulls: a column of type NULL has no null buffer, yet holds only NULLs.
        let nulls = column.logical_nulls();
        for i in 0..rows.num_rows() {
            if nulls.as_ref().is_some_and(|b| b.is_null(i)) {
                continue;
            }
            self.add(rows.row(i).data(), n)?;
        }
        Ok(())
    }

    /// The held values (row format) and their counts in the values' order (the row
    /// format sorts as the values do), so the map reads the same whatever order its
    /// rows arrived in (a DISTINCT or a merge of partial results reorders them); with
    /// `shown`, only those the map shows (a positive count).
    fn entries(&self, shown: bool) -> Vec<(&[u8], i64)> {
        let mut entries: Vec<(&[u8], Counted)> = self
            .counts
            .iter()
            .filter(|(_, c)| !shown || c.count > 0)
            .map(|(k, c)| (k.as_slice(), *c))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.into_iter().map(|(k, c)| (k, c.count)).collect()
    }

    /// The values of `keys` (row format) as a column of the value type.
    fn decode(&self, keys: &[(&[u8], i64)]) -> Result<ArrayRef> {
        if keys.is_empty() {
            return Ok(new_empty_array(&self.key_type));
        }
        let parser = self.converter.parser();
        self.converter
            .convert_rows(keys.iter().map(|&(k, _)| parser.parse(k)))?
            .pop()
            .ok_or_else(|| DataFusionError::Internal("COLLECT: no column decoded".into()))
    }
}

impl Accumulator for CollectAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(column) => self.apply(column, 1),
            None => Ok(()),
        }
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(column) => self.apply(column, -1),
            None => Ok(()),
        }
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    /// Every held value, negative counts too (a merge must cancel them).
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let entries = self.entries(false);
        let keys = self.decode(&entries)?;
        let counts = Int64Array::from_iter_values(entries.iter().map(|(_, c)| *c));
        Ok(vec![one_list(keys)?, one_list(Arc::new(counts))?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bad_state = || DataFusionError::Internal("COLLECT: a state that is not its own".into());
        let (Some(keys), Some(counts)) = (
            states.first().and_then(|a| a.as_list_opt::<i32>()),
            states.get(1).and_then(|a| a.as_list_opt::<i32>()),
        ) else {
            return Err(bad_state());
        };
        for row in 0..keys.len().min(counts.len()) {
            if keys.is_null(row) || counts.is_null(row) {
                continue;
            }
            let (key_array, count_array) = (keys.value(row), counts.value(row));
            let Some(cs) = count_array.as_primitive_opt::<Int64Type>() else {
                return Err(bad_state());
            };
            let rows = self.converter.convert_columns(&[key_array])?;
            for i in 0..rows.num_rows().min(cs.len()) {
                if cs.is_valid(i) {
                    self.add(rows.row(i).data(), cs.value(i))?;
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let entries = self.entries(true);
        let keys = self.decode(&entries)?;
        let counts = entries
            .iter()
            .map(|(_, c)| match self.distinct {
                true => Ok(1),
                false => i32::try_from(*c).map_err(|_| {
                    user_error(format!(
                        "COLLECT: a value is held by {c} rows, more than INT counts"
                    ))
                }),
            })
            .collect::<Result<Vec<i32>>>()?;
        one_map(&self.key_type, keys, Arc::new(Int32Array::from(counts)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.converter.size() - std::mem::size_of::<RowConverter>()
            + self
                .counts
                .keys()
                .map(|k| k.capacity() + std::mem::size_of::<(Vec<u8>, Counted)>() + 8)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{Int32Type, Schema};
    use datafusion::physical_expr::expressions::col;

    fn ints(values: &[Option<i32>]) -> ArrayRef {
        Arc::new(Int32Array::from(values.to_vec()))
    }

    /// The map's entries as (key, count), in order.
    fn int_entries(v: &ScalarValue) -> Vec<(i32, i32)> {
        let ScalarValue::Map(map) = v else {
            panic!("not a map: {v:?}")
        };
        assert!(!map.is_null(0));
        let entries = map.value(0);
        let keys = entries.column(0).as_primitive::<Int32Type>();
        let counts = entries.column(1).as_primitive::<Int32Type>();
        keys.values()
            .iter()
            .copied()
            .zip(counts.values().iter().copied())
            .collect()
    }

    fn state_arrays(acc: &mut CollectAccumulator) -> Vec<ArrayRef> {
        acc.state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect()
    }

    #[test]
    fn counts_values_in_value_order() {
        // Flink: COLLECT(x) over 1, 2, 2, NULL is {1=1, 2=2}; over a single 1, {1=1}.
        let mut acc = CollectAccumulator::new(DataType::Int32, false).unwrap();
        assert_eq!(
            int_entries(&acc.evaluate().unwrap()),
            Vec::<(i32, i32)>::new()
        );
        acc.update_batch(&[ints(&[Some(2), Some(1), Some(2), None])])
            .unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(1, 1), (2, 2)]);
        let mut single = CollectAccumulator::new(DataType::Int32, false).unwrap();
        single.update_batch(&[ints(&[Some(1)])]).unwrap();
        assert_eq!(int_entries(&single.evaluate().unwrap()), [(1, 1)]);
        // Retracted: a count falls, and a value at 0 goes.
        acc.retract_batch(&[ints(&[Some(2), Some(1)])]).unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(2, 1)]);
        acc.update_batch(&[ints(&[Some(1)])]).unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(1, 1), (2, 1)]);
    }

    #[test]
    fn distinct_shows_each_value_once() {
        // Flink: COLLECT(DISTINCT x) over 1, 2, 2, NULL is {1=1, 2=1}.
        let mut acc = CollectAccumulator::new(DataType::Int32, true).unwrap();
        acc.update_batch(&[ints(&[Some(1), Some(2), Some(2), None])])
            .unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(1, 1), (2, 1)]);
        // One of the two 2s retracted: 2 stays.
        acc.retract_batch(&[ints(&[Some(2)])]).unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(1, 1), (2, 1)]);
    }

    #[test]
    fn states_merge_and_cancel_early_retractions() {
        let mut left = CollectAccumulator::new(DataType::Int32, false).unwrap();
        let mut right = CollectAccumulator::new(DataType::Int32, false).unwrap();
        left.update_batch(&[ints(&[Some(1), Some(2)])]).unwrap();
        right.update_batch(&[ints(&[Some(3), Some(2)])]).unwrap();
        // Retracts a 1 only the left side holds: not shown here, cancelled when merged.
        right.retract_batch(&[ints(&[Some(1)])]).unwrap();
        assert_eq!(int_entries(&right.evaluate().unwrap()), [(2, 1), (3, 1)]);
        let mut merged = CollectAccumulator::new(DataType::Int32, false).unwrap();
        merged.merge_batch(&state_arrays(&mut left)).unwrap();
        merged.merge_batch(&state_arrays(&mut right)).unwrap();
        assert_eq!(int_entries(&merged.evaluate().unwrap()), [(2, 2), (3, 1)]);
    }

    #[test]
    fn strings_and_the_planned_call() {
        let mut acc = CollectAccumulator::new(DataType::Utf8, false).unwrap();
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("a")]));
        acc.update_batch(&[values]).unwrap();
        let ScalarValue::Map(map) = acc.evaluate().unwrap() else {
            panic!("not a map")
        };
        let entries = map.value(0);
        let keys = entries.column(0).as_string::<i32>();
        assert_eq!((keys.value(0), keys.value(1)), ("a", "b"));

        let udaf = udaf();
        let t = udaf.return_type(&[DataType::Int32]).unwrap();
        assert_eq!(t, map_type(DataType::Int32));
        assert!(!udaf.is_nullable());
        assert_eq!(
            udaf.default_value(&t).ok().map(|v| int_entries(&v)),
            Some(vec![])
        );
        // DISTINCT reaches the accumulator through its arguments.
        let schema = Schema::new(vec![Field::new("x", DataType::Int32, true)]);
        let exprs = [col("x", &schema).unwrap()];
        let fields: Vec<FieldRef> = vec![Arc::new(schema.field(0).clone())];
        let mut acc = udaf
            .accumulator(AccumulatorArgs {
                return_field: udaf.return_field(&fields).unwrap(),
                schema: &schema,
                ignore_nulls: false,
                order_bys: &[],
                is_reversed: false,
                name: "collect(DISTINCT x)",
                is_distinct: true,
                exprs: &exprs,
                expr_fields: &fields,
            })
            .unwrap();
        acc.update_batch(&[ints(&[Some(1), Some(2), Some(2), None])])
            .unwrap();
        assert_eq!(int_entries(&acc.evaluate().unwrap()), [(1, 1), (2, 1)]);
        assert!(udaf.coerce_types(&[]).is_err());
    }
}
