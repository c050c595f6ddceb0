//! Flink's value constructor `MAP[k1, v1, k2, v2, ...]` (the parser's pre-pass turns the
//! brackets into a call of [`NAME`]): keys and values each coerced to a common type, and a
//! key given twice keeps its last value, as Flink's map does (DataFusion's `make_map`
//! refuses such a map). A NULL key is refused: Arrow's map keys cannot be NULL. Also
//! `MAP_FROM_ARRAYS` and `MAP_UNION`, which build maps the same way.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, MapArray, StructArray};
use datafusion::arrow::buffer::NullBuffer;
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
        invoke(args, build)
    }
}

/// The maps of `rows` rows from key and value columns in turn.
fn build(arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let keys: Vec<ArrayRef> = arrays.iter().step_by(2).cloned().collect();
    let values: Vec<ArrayRef> = arrays.iter().skip(1).step_by(2).cloned().collect();
    let pairs = keys.len();
    assemble(&keys, &values, "MAP[...]", rows, |row, out| {
        out.extend((0..pairs).map(|p| Entry {
            key: (p, row),
            value: (p, row),
        }));
        Ok(true)
    })
}

/// Where one candidate entry's key and value are: (source array, index).
struct Entry {
    key: (usize, usize),
    value: (usize, usize),
}

/// Maps of `rows` rows, row `r` made of the entries `candidates` lists for it in order (it
/// answers false for a NULL map), keys and values taken from `keys` and `values`. A key
/// listed again replaces the earlier entry (the later value wins), as in Flink's maps.
fn assemble(
    keys: &[ArrayRef],
    values: &[ArrayRef],
    function: &str,
    rows: usize,
    mut candidates: impl FnMut(usize, &mut Vec<Entry>) -> Result<bool>,
) -> Result<ArrayRef> {
    let (Some(key_type), Some(value_type)) = (keys.first(), values.first()) else {
        return Err(plan_error(format!("{function}: no keys and values")));
    };
    let (key_type, value_type) = (key_type.data_type().clone(), value_type.data_type().clone());
    // Only NULL literals as keys (`MAP[NULL, 1]`): every key is NULL.
    if key_type.is_null() && rows > 0 {
        return Err(user_error(format!("{function}: a key is NULL")));
    }
    // Keys compared as bytes of Arrow's row format: equal keys have equal bytes.
    let converter = RowConverter::new(vec![SortField::new(key_type.clone())])?;
    let key_rows = keys
        .iter()
        .map(|k| converter.convert_columns(std::slice::from_ref(k)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut key_picks: Vec<(usize, usize)> = Vec::new();
    let mut value_picks: Vec<(usize, usize)> = Vec::new();
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0i32);
    let mut valid = Vec::with_capacity(rows);
    let mut listed = Vec::new();
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for row in 0..rows {
        listed.clear();
        seen.clear();
        let present = candidates(row, &mut listed)?;
        valid.push(present);
        let start = key_picks.len();
        if present {
            for entry in listed.iter().rev() {
                let (source, index) = entry.key;
                if keys[source].is_null(index) {
                    return Err(user_error(format!("{function}: a key is NULL")));
                }
                if seen.insert(key_rows[source].row(index).data()) {
                    key_picks.push(entry.key);
                    value_picks.push(entry.value);
                }
            }
            key_picks[start..].reverse();
            value_picks[start..].reverse();
        }
        offsets.push(i32::try_from(key_picks.len()).map_err(|_| {
            user_error(format!("{function}: more entries than one batch can hold"))
        })?);
    }
    let key_refs: Vec<&dyn Array> = keys.iter().map(|a| a.as_ref()).collect();
    let value_refs: Vec<&dyn Array> = values.iter().map(|a| a.as_ref()).collect();
    let key_column = interleave(&key_refs, &key_picks)?;
    let value_column = interleave(&value_refs, &value_picks)?;
    let DataType::Map(entries, _) = map_type(key_type, value_type) else {
        return Err(plan_error(format!("{function}: not a map type")));
    };
    let DataType::Struct(fields) = entries.data_type() else {
        return Err(plan_error(format!("{function}: a map without entries")));
    };
    let entries_array = StructArray::try_new(fields.clone(), vec![key_column, value_column], None)?;
    let nulls = valid.iter().any(|v| !v).then(|| NullBuffer::from(valid));
    Ok(Arc::new(MapArray::try_new(
        entries,
        OffsetBuffer::new(offsets.into()),
        entries_array,
        nulls,
        false,
    )?))
}

/// Flink's `MAP_FROM_ARRAYS(keys, values)`: the i-th key maps to the i-th value; NULL when
/// either array is, an error when their lengths differ.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MapFromArrays {
    signature: Signature,
}

/// Flink's `MAP_UNION(map1, map2, ...)`: the entries of every map, a later map's value
/// winning for a key in several; NULL when any map is.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MapUnion {
    signature: Signature,
}

pub fn map_from_arrays() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapFromArrays {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

pub fn map_union() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapUnion {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

/// The element type of a list type (NULL's for a NULL literal).
fn element(t: &DataType, function: &str) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Ok(f.data_type().clone())
        }
        DataType::Null => Ok(DataType::Null),
        other => Err(plan_error(format!(
            "{function} takes two arrays, not {other}"
        ))),
    }
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

impl ScalarUDFImpl for MapFromArrays {
    fn name(&self) -> &str {
        "map_from_arrays"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [keys, values] = args else {
            return Err(plan_error(format!(
                "MAP_FROM_ARRAYS takes two arrays, not {} argument(s)",
                args.len()
            )));
        };
        let (k, v) = (
            element(keys, "MAP_FROM_ARRAYS")?,
            element(values, "MAP_FROM_ARRAYS")?,
        );
        Ok(vec![list_of(k), list_of(v)])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [keys, values] => Ok(map_type(
                element(keys, "MAP_FROM_ARRAYS")?,
                element(values, "MAP_FROM_ARRAYS")?,
            )),
            _ => Err(plan_error("MAP_FROM_ARRAYS takes two arrays".into())),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |arrays, rows| {
            let (keys, values) = (arrays[0].as_list::<i32>(), arrays[1].as_list::<i32>());
            let sources = (vec![keys.values().clone()], vec![values.values().clone()]);
            assemble(
                &sources.0,
                &sources.1,
                "MAP_FROM_ARRAYS",
                rows,
                |row, out| {
                    if keys.is_null(row) || values.is_null(row) {
                        return Ok(false);
                    }
                    let (k, v) = (keys.value_offsets(), values.value_offsets());
                    let (k_len, v_len) = (k[row + 1] - k[row], v[row + 1] - v[row]);
                    if k_len != v_len {
                        return Err(user_error(format!(
                        "MAP_FROM_ARRAYS: the key array has {k_len} element(s) and the value array {v_len}"
                    )));
                    }
                    out.extend((0..k_len).map(|i| Entry {
                        key: (0, (k[row] + i) as usize),
                        value: (0, (v[row] + i) as usize),
                    }));
                    Ok(true)
                },
            )
        })
    }
}

impl ScalarUDFImpl for MapUnion {
    fn name(&self) -> &str {
        "map_union"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let typed: Vec<&DataType> = args.iter().filter(|t| !t.is_null()).collect();
        let Some(first) = typed.first() else {
            return Err(plan_error("MAP_UNION takes at least one map".into()));
        };
        if !matches!(first, DataType::Map(..)) || typed.iter().any(|t| !t.equals_datatype(first)) {
            return Err(plan_error(format!(
                "MAP_UNION takes maps of one type, not {}",
                args.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(vec![(*first).clone(); args.len()])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        args.first()
            .cloned()
            .ok_or_else(|| plan_error("MAP_UNION takes at least one map".into()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |arrays, rows| {
            let maps: Vec<&MapArray> = arrays.iter().map(|a| a.as_map()).collect();
            let keys: Vec<ArrayRef> = maps.iter().map(|m| m.keys().clone()).collect();
            let values: Vec<ArrayRef> = maps.iter().map(|m| m.values().clone()).collect();
            assemble(&keys, &values, "MAP_UNION", rows, |row, out| {
                if maps.iter().any(|m| m.is_null(row)) {
                    return Ok(false);
                }
                for (source, map) in maps.iter().enumerate() {
                    let offsets = map.value_offsets();
                    out.extend((offsets[row]..offsets[row + 1]).map(|i| Entry {
                        key: (source, i as usize),
                        value: (source, i as usize),
                    }));
                }
                Ok(true)
            })
        })
    }
}

/// Runs `f` over the arguments as arrays; a scalar result when every argument is one.
fn invoke(
    args: ScalarFunctionArgs,
    f: impl Fn(&[ArrayRef], usize) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
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
    let map = f(&arrays, rows)?;
    Ok(match scalar {
        true => ColumnarValue::Scalar(ScalarValue::try_from_array(&map, 0)?),
        false => ColumnarValue::Array(map),
    })
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

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn maps_from_arrays_and_unions_keep_the_last_value_of_a_key() {
        use datafusion::arrow::array::ListArray;
        use datafusion::arrow::datatypes::Int32Type;
        let keys: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2), Some(1)]),
            None,
        ]));
        let values = Arc::new(ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            OffsetBuffer::new(vec![0, 3, 3].into()),
            strings(&[Some("a"), Some("b"), Some("c")]),
            None,
        )) as ArrayRef;
        let list = |a: &ArrayRef| a.as_list::<i32>().clone();
        let (k, v) = (list(&keys), list(&values));
        let map = assemble(
            &[k.values().clone()],
            &[v.values().clone()],
            "MAP_FROM_ARRAYS",
            2,
            |row, out| {
                if k.is_null(row) {
                    return Ok(false);
                }
                let o = k.value_offsets();
                out.extend((o[row]..o[row + 1]).map(|i| Entry {
                    key: (0, i as usize),
                    value: (0, i as usize),
                }));
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(show(&map), ["{2: b, 1: c}", ""]);
        assert!(map.is_null(1));
        let first = build(&[strings(&[Some("a")]), strings(&[Some("1")])], 1).unwrap();
        let second = build(
            &[
                strings(&[Some("a")]),
                strings(&[Some("2")]),
                strings(&[Some("b")]),
                strings(&[Some("3")]),
            ],
            1,
        )
        .unwrap();
        let maps = [first.as_map().clone(), second.as_map().clone()];
        let union = assemble(
            &[maps[0].keys().clone(), maps[1].keys().clone()],
            &[maps[0].values().clone(), maps[1].values().clone()],
            "MAP_UNION",
            1,
            |row, out| {
                for (source, m) in maps.iter().enumerate() {
                    let o = m.value_offsets();
                    out.extend((o[row]..o[row + 1]).map(|i| Entry {
                        key: (source, i as usize),
                        value: (source, i as usize),
                    }));
                }
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(show(&union), ["{a: 2, b: 3}"]);
    }
}
