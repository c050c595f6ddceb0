//! Flink's value constructor `MAP[k1, v1, k2, v2, ...]` (the parser's pre-pass turns the
//! brackets into a call of [`NAME`]): keys and values each coerced to a common type, and a
//! key given twice keeps its last value, as Flink's map does (DataFusion's `make_map`
//! refuses such a map). A NULL key is refused: Arrow's map keys cannot be NULL.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, MapArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The function `MAP[...]` is planned as.
pub const NAME: &str = "map_constructor";

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapConstructor {
    signature: Signature,
}

pub fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapConstructor {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// The map type of the given key and value types, with the field names DataFusion's maps
/// have.
fn map_type(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", key, false),
                Field::new("value", value, true),
            ])),
            false,
        )),
        false,
    )
}

/// One common type for `types`; NULL literals take the others' type.
fn common(types: &[DataType], what: &str) -> Result<DataType> {
    let known: Vec<DataType> = types.iter().filter(|t| !t.is_null()).cloned().collect();
    if known.is_empty() {
        return Ok(DataType::Null);
    }
    type_union_resolution(&known).ok_or_else(|| {
        plan_error(format!(
            "MAP[...]: the {what} have no common type: {}",
            known
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

impl ScalarUDFImpl for MapConstructor {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() || !args.len().is_multiple_of(2) {
            return Err(plan_error(format!(
                "MAP[...] takes keys and values in pairs, not {} value(s)",
                args.len()
            )));
        }
        let keys: Vec<DataType> = args.iter().step_by(2).cloned().collect();
        let values: Vec<DataType> = args.iter().skip(1).step_by(2).cloned().collect();
        let key = common(&keys, "keys")?;
        let value = common(&values, "values")?;
        Ok((0..args.len())
            .map(|i| match i % 2 {
                0 => key.clone(),
                _ => value.clone(),
            })
            .collect())
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [key, value, ..] => Ok(map_type(key.clone(), value.clone())),
            _ => Err(plan_error(
                "MAP[...] takes at least one key and value".into(),
            )),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let map = build(&arrays, rows)?;
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&map, 0)?),
            false => ColumnarValue::Array(map),
        })
    }
}

/// The maps of `rows` rows from key and value columns in turn.
fn build(arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let keys: Vec<&dyn Array> = arrays.iter().step_by(2).map(|a| a.as_ref()).collect();
    let values: Vec<&dyn Array> = arrays
        .iter()
        .skip(1)
        .step_by(2)
        .map(|a| a.as_ref())
        .collect();
    // Keys compared as bytes of Arrow's row format: equal keys have equal bytes.
    let converter = RowConverter::new(vec![SortField::new(keys[0].data_type().clone())])?;
    let key_rows = arrays
        .iter()
        .step_by(2)
        .map(|k| converter.convert_columns(std::slice::from_ref(k)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // (pair, row) of each entry, row by row; a key's last pair wins.
    let mut picks: Vec<(usize, usize)> = Vec::with_capacity(rows * keys.len());
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0i32);
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for row in 0..rows {
        seen.clear();
        let start = picks.len();
        for pair in (0..keys.len()).rev() {
            if keys[pair].is_null(row) {
                return Err(user_error("MAP[...]: a key is NULL".into()));
            }
            if seen.insert(key_rows[pair].row(row).data()) {
                picks.push((pair, row));
            }
        }
        picks[start..].reverse();
        offsets
            .push(i32::try_from(picks.len()).map_err(|_| {
                user_error("MAP[...]: more entries than one batch can hold".into())
            })?);
    }
    let key_column = interleave(&keys, &picks)?;
    let value_column = interleave(&values, &picks)?;
    let DataType::Map(entries, _) = map_type(
        key_column.data_type().clone(),
        value_column.data_type().clone(),
    ) else {
        return Err(plan_error("MAP[...]: not a map type".into()));
    };
    let DataType::Struct(fields) = entries.data_type() else {
        return Err(plan_error("MAP[...]: a map without entries".into()));
    };
    let entries_array = StructArray::try_new(fields.clone(), vec![key_column, value_column], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries,
        OffsetBuffer::new(offsets.into()),
        entries_array,
        None,
        false,
    )?))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Array, StringArray};
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

    use super::*;

    fn show(map: &ArrayRef) -> Vec<String> {
        let f = ArrayFormatter::try_new(map.as_ref(), &FormatOptions::default()).unwrap();
        (0..map.len()).map(|i| f.value(i).to_string()).collect()
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value() {
        let k1: ArrayRef = Arc::new(StringArray::from(vec!["a", "x"]));
        let v1: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let k2: ArrayRef = Arc::new(StringArray::from(vec!["b", "x"]));
        let v2: ArrayRef = Arc::new(Int32Array::from(vec![2, 3]));
        let k3: ArrayRef = Arc::new(StringArray::from(vec!["a", "y"]));
        let v3: ArrayRef = Arc::new(Int32Array::from(vec![4, 5]));
        let map = build(&[k1, v1, k2, v2, k3, v3], 2).unwrap();
        assert_eq!(show(&map), ["{b: 2, a: 4}", "{x: 3, y: 5}"]);
    }

    #[test]
    fn keys_and_values_take_a_common_type_and_a_null_key_is_refused() {
        let f = MapConstructor {
            signature: Signature::user_defined(Volatility::Immutable),
        };
        assert_eq!(
            f.coerce_types(&[
                DataType::Utf8,
                DataType::Int32,
                DataType::Utf8,
                DataType::Int64
            ])
            .unwrap(),
            [
                DataType::Utf8,
                DataType::Int64,
                DataType::Utf8,
                DataType::Int64
            ]
        );
        assert!(f.coerce_types(&[DataType::Utf8]).is_err());
        let k: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
        let v: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        assert!(build(&[k, v], 1).is_err());
    }
}
