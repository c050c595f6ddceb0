//! Flink's array functions where DataFusion's same-named ones answer differently:
//! `ARRAY_APPEND` and `ARRAY_PREPEND` (Flink takes the array first in both), `ARRAY_CONCAT`,
//! `ARRAY_CONTAINS`, `ARRAY_POSITION`, `ARRAY_REMOVE`, `ARRAY_SLICE` and `ARRAY_SORT`.
//! Registered after DataFusion's, they replace them under the same names (DataFusion's
//! `list_*` and other aliases keep DataFusion's semantics).
//!
//! Each works on a whole batch at once: a list column's offsets say which child values
//! belong to which row, elements are compared in Arrow's row format (so equality and order
//! hold for any element type, nested ones included), and the result is gathered from the
//! child values with `interleave`. Flink's NULL rules are not SQL's three-valued ones here:
//! a NULL element equals a NULL element (`ARRAY_CONTAINS`, `ARRAY_REMOVE`), while
//! `ARRAY_POSITION` of a NULL is NULL.

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, PrimitiveArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, interleave};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::type_coercion::binary::{comparison_coercion, type_union_resolution};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Every function of this module, for registration after DataFusion's.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [
        ArrayFunction::Append,
        ArrayFunction::Prepend,
        ArrayFunction::Concat,
        ArrayFunction::Contains,
        ArrayFunction::Position,
        ArrayFunction::Remove,
        ArrayFunction::Slice,
        ArrayFunction::Sort,
    ]
    .into_iter()
    .map(|function| Arc::new(ScalarUDF::from(FlinkArray::new(function))))
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum ArrayFunction {
    /// `ARRAY_APPEND(array, element)`: NULL for a NULL array; a NULL element is appended.
    Append,
    /// `ARRAY_PREPEND(array, element)`: as `ARRAY_APPEND`, at the front.
    Prepend,
    /// `ARRAY_CONCAT(array, ...)`: NULL when any array is.
    Concat,
    /// `ARRAY_CONTAINS(array, element)`: NULL only for a NULL array; a NULL element is
    /// found when the array holds a NULL.
    Contains,
    /// `ARRAY_POSITION(array, element)`: the 1-based position of the first equal element,
    /// 0 when there is none, NULL when either argument is.
    Position,
    /// `ARRAY_REMOVE(array, element)`: without every equal element (a NULL removes NULLs).
    Remove,
    /// `ARRAY_SLICE(array, start [, end])`: 1-based and inclusive, negative offsets count
    /// from the end, 0 is the first element; NULL when any argument is.
    Slice,
    /// `ARRAY_SORT(array [, ascending [, nulls_first]])`: ascending by default, NULLs
    /// first when ascending and last when descending unless told; NULL when any argument is.
    Sort,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkArray {
    function: ArrayFunction,
    signature: Signature,
}

impl FlinkArray {
    fn new(function: ArrayFunction) -> Self {
        Self {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// The function's name as messages spell it.
    fn upper(&self) -> String {
        self.name().to_uppercase()
    }
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

/// A user's bad data, which the gateway answers with 22023 and this message.
fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// The list type every array argument and result is brought to: DataFusion's field name,
/// and nullable elements, since appending or concatenating may bring a NULL into an array
/// whose elements were declared NOT NULL (`MAP_KEYS`).
fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(element, true)))
}

/// The element type of an array argument (NULL's for an untyped NULL).
fn element_of(t: &DataType, function: &str) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Ok(f.data_type().clone())
        }
        DataType::Null => Ok(DataType::Null),
        other => Err(plan_error(format!(
            "{function} takes an array, not {other}"
        ))),
    }
}

/// The type the array's elements and the element argument are both brought to: by
/// comparison rules for the functions that compare (`ARRAY<INT>` holds a BIGINT 1), by
/// union rules for those that put the element into the array.
fn common_element(
    elements: &DataType,
    element: &DataType,
    compare: bool,
    function: &str,
) -> Result<DataType> {
    if element.is_null() {
        return Ok(elements.clone());
    }
    if elements.is_null() {
        return Ok(element.clone());
    }
    let found = match compare {
        true => comparison_coercion(elements, element),
        false => type_union_resolution(&[elements.clone(), element.clone()]),
    };
    found.ok_or_else(|| {
        plan_error(format!(
            "{function}: an element of type {element} does not go with an array of {elements}"
        ))
    })
}

impl ScalarUDFImpl for FlinkArray {
    fn name(&self) -> &str {
        match self.function {
            ArrayFunction::Append => "array_append",
            ArrayFunction::Prepend => "array_prepend",
            ArrayFunction::Concat => "array_concat",
            ArrayFunction::Contains => "array_contains",
            ArrayFunction::Position => "array_position",
            ArrayFunction::Remove => "array_remove",
            ArrayFunction::Slice => "array_slice",
            ArrayFunction::Sort => "array_sort",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let function = self.upper();
        let n = args.len();
        let (arity_ok, usage) = match self.function {
            ArrayFunction::Append
            | ArrayFunction::Prepend
            | ArrayFunction::Contains
            | ArrayFunction::Position
            | ArrayFunction::Remove => (n == 2, "(array, element)"),
            ArrayFunction::Concat => (n >= 1, "(array, ...)"),
            // A fourth argument, a stride, comes from DataFusion's own `arr[a:b]`.
            ArrayFunction::Slice => ((2..=4).contains(&n), "(array, start [, end])"),
            ArrayFunction::Sort => (
                (1..=3).contains(&n),
                "(array [, ascending [, nulls_first]])",
            ),
        };
        let (true, Some(first)) = (arity_ok, args.first()) else {
            return Err(plan_error(format!(
                "function {function} takes {usage}, not {n} argument(s)"
            )));
        };
        if self.function == ArrayFunction::Prepend && is_element_first(args) {
            let e = common_element(&element_of(&args[1], &function)?, first, false, &function)?;
            return Ok(vec![e.clone(), list_of(e)]);
        }
        let rest = &args[1..];
        let elements = element_of(first, &function)?;
        Ok(match self.function {
            ArrayFunction::Append | ArrayFunction::Prepend => {
                let e = common_element(&elements, &rest[0], false, &function)?;
                vec![list_of(e.clone()), e]
            }
            ArrayFunction::Contains | ArrayFunction::Position | ArrayFunction::Remove => {
                let e = common_element(&elements, &rest[0], true, &function)?;
                vec![list_of(e.clone()), e]
            }
            ArrayFunction::Concat => {
                let mut known = Vec::with_capacity(n);
                for t in args {
                    let e = element_of(t, &function)?;
                    if !e.is_null() {
                        known.push(e);
                    }
                }
                let e = match known.is_empty() {
                    true => DataType::Null,
                    false => type_union_resolution(&known).ok_or_else(|| {
                        plan_error(format!(
                            "{function}: arrays of {} have no common element type",
                            known
                                .iter()
                                .map(|t| t.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?,
                };
                vec![list_of(e); n]
            }
            ArrayFunction::Slice => {
                let mut types = vec![list_of(elements)];
                for t in rest {
                    if !(t.is_integer() || t.is_null()) {
                        return Err(plan_error(format!(
                            "{function} takes integer offsets, not {t}"
                        )));
                    }
                    types.push(DataType::Int64);
                }
                types
            }
            ArrayFunction::Sort => {
                let mut types = vec![list_of(elements)];
                for t in rest {
                    if !matches!(t, DataType::Boolean | DataType::Null) {
                        return Err(plan_error(format!(
                            "{function} takes BOOLEAN sort options (ascending, nulls_first), not {t}"
                        )));
                    }
                    types.push(DataType::Boolean);
                }
                types
            }
        })
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let function = self.upper();
        // Coercing again is a no-op on coerced types, and gives the element type when the
        // first argument is an untyped NULL.
        let coerced = self.coerce_types(arg_types)?;
        let Some(first) = coerced.iter().find(|t| t.is_nested()) else {
            return Err(plan_error(format!("function {function} takes an array")));
        };
        Ok(match self.function {
            ArrayFunction::Contains => DataType::Boolean,
            ArrayFunction::Position => DataType::Int32,
            _ => list_of(element_of(first, &function)?),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let function = self.upper();
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        // The planner has cast the arguments already; a direct call may not have.
        let coerced = self.coerce_types(&types)?;
        let mut arrays = arrays
            .iter()
            .zip(&coerced)
            .map(|(a, t)| conform(a, t))
            .collect::<Result<Vec<_>>>()?;
        let mut coerced = coerced;
        if self.function == ArrayFunction::Prepend && is_element_first(&types) {
            arrays.swap(0, 1);
            coerced.swap(0, 1);
        }
        if self.function == ArrayFunction::Slice && arrays.len() == 4 {
            let strides = int64s(&arrays[3], &function)?;
            if strides.iter().any(|s| s.is_some_and(|s| s != 1)) {
                return Err(user_error(format!(
                    "{function} with a stride other than 1 is not supported"
                )));
            }
            arrays.truncate(3);
        }
        let element = element_of(&coerced[0], &function)?;
        let list = || as_list(&arrays[0]);
        let out: ArrayRef = match self.function {
            ArrayFunction::Append => insert(&list()?, &arrays[1], &element, false, &function)?,
            ArrayFunction::Prepend => insert(&list()?, &arrays[1], &element, true, &function)?,
            ArrayFunction::Concat => concat(&arrays, &element, &function)?,
            ArrayFunction::Contains => contains(&list()?, &arrays[1])?,
            ArrayFunction::Position => position(&list()?, &arrays[1])?,
            ArrayFunction::Remove => remove(&list()?, &arrays[1], &element, &function)?,
            ArrayFunction::Slice => slice(&list()?, &arrays[1..], &element, &function)?,
            ArrayFunction::Sort => sort(&list()?, &arrays[1..], &element, &function)?,
        };
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            false => ColumnarValue::Array(out),
        })
    }
}

/// DataFusion's own `element || array` plans `array_prepend(element, array)`, the other
/// way round from Flink's `ARRAY_PREPEND(array, element)`; an expression decoded by name
/// on a TaskManager comes here, so that order is taken too.
fn is_element_first(args: &[DataType]) -> bool {
    matches!(args, [e, a] if !e.is_nested() && !e.is_null() && a.is_nested())
}

/// `array` as type `t` (a no-op when it is already).
fn conform(array: &ArrayRef, t: &DataType) -> Result<ArrayRef> {
    match array.data_type() == t {
        true => Ok(Arc::clone(array)),
        false => Ok(cast(array, t)?),
    }
}

/// A list argument whose offsets start at 0 and end at its child's length, so that its
/// child holds exactly its rows' elements: a batch sliced out of a larger one is compared
/// and sorted without the elements of rows it does not hold.
fn as_list(array: &ArrayRef) -> Result<ListArray> {
    let list = array.as_list_opt::<i32>().ok_or_else(|| {
        DataFusionError::Internal(format!("expected a list, not {}", array.data_type()))
    })?;
    let offsets = list.value_offsets();
    let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
        return Ok(list.clone());
    };
    if first == 0 && last as usize == list.values().len() {
        return Ok(list.clone());
    }
    let DataType::List(field) = list.data_type() else {
        return Err(DataFusionError::Internal(format!(
            "expected a list, not {}",
            list.data_type()
        )));
    };
    let values = list.values().slice(first as usize, (last - first) as usize);
    let shifted: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    Ok(ListArray::try_new(
        Arc::clone(field),
        OffsetBuffer::new(shifted.into()),
        values,
        list.nulls().cloned(),
    )?)
}

/// Where row `row`'s elements are in `list`'s child.
fn range_of(list: &ListArray, row: usize) -> Range<usize> {
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}

/// A list column under construction: which element of which source array each output
/// element is, and where each row ends.
struct Gather {
    picks: Vec<(usize, usize)>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl Gather {
    fn new(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            picks: Vec::new(),
            offsets,
            valid: Vec::with_capacity(rows),
        }
    }

    /// Ends the current row, a NULL array unless `valid`.
    fn end_row(&mut self, valid: bool, function: &str) -> Result<()> {
        let end = i32::try_from(self.picks.len()).map_err(|_| {
            user_error(format!(
                "{function}: the arrays hold more elements than one batch can"
            ))
        })?;
        self.offsets.push(end);
        self.valid.push(valid);
        Ok(())
    }

    /// The list column, its elements taken from `sources` (each of type `element`).
    fn finish(self, sources: &[&dyn Array], element: &DataType) -> Result<ArrayRef> {
        let values = interleave(sources, &self.picks)?;
        let nulls = self
            .valid
            .iter()
            .any(|v| !v)
            .then(|| NullBuffer::from(self.valid));
        Ok(Arc::new(ListArray::try_new(
            Arc::new(Field::new_list_field(element.clone(), true)),
            OffsetBuffer::new(self.offsets.into()),
            values,
            nulls,
        )?))
    }
}

/// `ARRAY_APPEND` (or `ARRAY_PREPEND` when `front`): each array with its row's element.
fn insert(
    list: &ListArray,
    element_column: &ArrayRef,
    element: &DataType,
    front: bool,
    function: &str,
) -> Result<ArrayRef> {
    let mut out = Gather::new(list.len());
    for row in 0..list.len() {
        if list.is_null(row) {
            out.end_row(false, function)?;
            continue;
        }
        if front {
            out.picks.push((1, row));
        }
        out.picks.extend(range_of(list, row).map(|i| (0, i)));
        if !front {
            out.picks.push((1, row));
        }
        out.end_row(true, function)?;
    }
    let values: &dyn Array = list.values().as_ref();
    out.finish(&[values, element_column.as_ref()], element)
}

/// `ARRAY_CONCAT`: each row's arrays one after another, NULL when any of them is.
fn concat(arrays: &[ArrayRef], element: &DataType, function: &str) -> Result<ArrayRef> {
    let lists = arrays.iter().map(as_list).collect::<Result<Vec<_>>>()?;
    let rows = lists.first().map_or(0, |l| l.len());
    let mut out = Gather::new(rows);
    for row in 0..rows {
        if lists.iter().any(|l| l.is_null(row)) {
            out.end_row(false, function)?;
            continue;
        }
        for (source, list) in lists.iter().enumerate() {
            out.picks.extend(range_of(list, row).map(|i| (source, i)));
        }
        out.end_row(true, function)?;
    }
    let sources: Vec<&dyn Array> = lists.iter().map(|l| l.values().as_ref()).collect();
    out.finish(&sources, element)
}

/// For each element of `list`'s child, whether it equals its row's value of `needle` (of
/// the child's type), a NULL equal to a NULL; false in NULL arrays. Equal values have equal
/// bytes in Arrow's row format, whatever their type.
fn equal_elements(list: &ListArray, needle: &ArrayRef) -> Result<Vec<bool>> {
    let values = list.values();
    let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
    let value_rows = converter.convert_columns(std::slice::from_ref(values))?;
    let needle_rows = converter.convert_columns(std::slice::from_ref(needle))?;
    let mut equal = Vec::with_capacity(values.len());
    for row in 0..list.len() {
        let range = range_of(list, row);
        if list.is_null(row) {
            equal.resize(range.end, false);
            continue;
        }
        let target = needle_rows.row(row);
        equal.extend(range.map(|i| value_rows.row(i) == target));
    }
    Ok(equal)
}

/// `ARRAY_CONTAINS`.
fn contains(list: &ListArray, needle: &ArrayRef) -> Result<ArrayRef> {
    let equal = equal_elements(list, needle)?;
    let found: BooleanArray = (0..list.len())
        .map(|row| (!list.is_null(row)).then(|| equal[range_of(list, row)].contains(&true)))
        .collect();
    Ok(Arc::new(found))
}

/// `ARRAY_POSITION`.
fn position(list: &ListArray, needle: &ArrayRef) -> Result<ArrayRef> {
    let equal = equal_elements(list, needle)?;
    let needle_nulls = needle.logical_nulls();
    let positions: Int32Array = (0..list.len())
        .map(|row| {
            if list.is_null(row) || needle_nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                return None;
            }
            let found = equal[range_of(list, row)].iter().position(|e| *e);
            // An array of a batch holds fewer than i32::MAX elements.
            Some(found.map_or(0, |p| i32::try_from(p + 1).unwrap_or(i32::MAX)))
        })
        .collect();
    Ok(Arc::new(positions))
}

/// `ARRAY_REMOVE`.
fn remove(
    list: &ListArray,
    needle: &ArrayRef,
    element: &DataType,
    function: &str,
) -> Result<ArrayRef> {
    let equal = equal_elements(list, needle)?;
    let mut out = Gather::new(list.len());
    for row in 0..list.len() {
        if list.is_null(row) {
            out.end_row(false, function)?;
            continue;
        }
        out.picks
            .extend(range_of(list, row).filter(|&i| !equal[i]).map(|i| (0, i)));
        out.end_row(true, function)?;
    }
    out.finish(&[list.values().as_ref()], element)
}

/// The 0-based elements Flink's `ARRAY_SLICE(array, start, end)` keeps of an array of
/// `len` elements: offsets are 1-based, a negative one counts from the end (-1 is the
/// last), 0 is the first element, and an end past the array is its last element.
fn slice_range(len: i64, start: i64, end: i64) -> Range<usize> {
    if len == 0 {
        return 0..0;
    }
    // Negative offsets are at least i64::MIN and len + 1 is positive: no overflow.
    let start = match start < 0 {
        true => start + len + 1,
        false => start,
    }
    .max(1);
    let end = match end < 0 {
        true => end + len + 1,
        false => end,
    };
    let end = match end {
        0 => 1,
        e => e.min(len),
    };
    if end < start {
        return 0..0;
    }
    (start - 1) as usize..end as usize
}

/// `array`, a coerced offset argument, as BIGINTs.
fn int64s<'a>(array: &'a ArrayRef, function: &str) -> Result<&'a PrimitiveArray<Int64Type>> {
    array.as_primitive_opt::<Int64Type>().ok_or_else(|| {
        DataFusionError::Internal(format!(
            "{function}: expected BIGINT offsets, not {}",
            array.data_type()
        ))
    })
}

/// `ARRAY_SLICE`; `offsets` are the start and the optional end (BIGINT).
fn slice(
    list: &ListArray,
    offsets: &[ArrayRef],
    element: &DataType,
    function: &str,
) -> Result<ArrayRef> {
    let Some(start) = offsets.first() else {
        return Err(plan_error(format!("{function} takes a start offset")));
    };
    let start = int64s(start, function)?;
    let end = offsets.get(1).map(|e| int64s(e, function)).transpose()?;
    let mut out = Gather::new(list.len());
    for row in 0..list.len() {
        let no_end = end.is_some_and(|e| e.is_null(row));
        if list.is_null(row) || start.is_null(row) || no_end {
            out.end_row(false, function)?;
            continue;
        }
        let range = range_of(list, row);
        let len = range.len() as i64;
        let to = end.map_or(len, |e| e.value(row));
        let kept = slice_range(len, start.value(row), to);
        out.picks.extend(kept.map(|i| (0, range.start + i)));
        out.end_row(true, function)?;
    }
    out.finish(&[list.values().as_ref()], element)
}

/// `ARRAY_SORT`; `options` are the optional `ascending` and `nulls_first` (BOOLEAN). Each
/// array's elements are ordered by their bytes in Arrow's row format, which order as the
/// values do for any type; descending reverses that order, nested NULLs included, as
/// Flink negates its comparison.
fn sort(
    list: &ListArray,
    options: &[ArrayRef],
    element: &DataType,
    function: &str,
) -> Result<ArrayRef> {
    let flags = options
        .iter()
        .map(|a| {
            a.as_boolean_opt().ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "{function}: expected BOOLEAN options, not {}",
                    a.data_type()
                ))
            })
        })
        .collect::<Result<Vec<&BooleanArray>>>()?;
    let flag = |index: usize, row: usize| {
        flags
            .get(index)
            .map(|f| (!f.is_null(row)).then(|| f.value(row)))
    };
    let values = list.values();
    let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
    let rows = converter.convert_columns(std::slice::from_ref(values))?;
    // Logical NULLs: a child of type NULL has no null buffer, yet every element is NULL.
    let nulls = values.logical_nulls();
    let mut out = Gather::new(list.len());
    let (mut present, mut absent) = (Vec::new(), Vec::new());
    for row in 0..list.len() {
        let ascending = flag(0, row).unwrap_or(Some(true));
        let nulls_first = flag(1, row).unwrap_or(ascending);
        let (false, Some(ascending), Some(nulls_first)) =
            (list.is_null(row), ascending, nulls_first)
        else {
            out.end_row(false, function)?;
            continue;
        };
        present.clear();
        absent.clear();
        for i in range_of(list, row) {
            match nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                true => absent.push(i),
                false => present.push(i),
            }
        }
        present.sort_by(|&a, &b| {
            let order = rows.row(a).cmp(&rows.row(b));
            match ascending {
                true => order,
                false => order.reverse(),
            }
        });
        let (before, after) = match nulls_first {
            true => (&absent, &present),
            false => (&present, &absent),
        };
        out.picks
            .extend(before.iter().chain(after.iter()).map(|&i| (0, i)));
        out.end_row(true, function)?;
    }
    out.finish(&[values.as_ref()], element)
}

#[cfg(test)]
mod tests;
