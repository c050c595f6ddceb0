use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::Int32Type;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::*;

fn call(function: ArrayFunction, args: Vec<ColumnarValue>) -> Result<ColumnarValue> {
    let udf = FlinkArray::new(function);
    let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
    let rows = args
        .iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1);
    let arg_fields = types
        .iter()
        .map(|t| Arc::new(Field::new("a", t.clone(), true)))
        .collect();
    let return_field = Arc::new(Field::new("r", udf.return_type(&types)?, true));
    udf.invoke_with_args(ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: rows,
        return_field,
        config_options: Default::default(),
    })
}

/// Each row as text: `[1, 2, NULL]`, or `NULL`.
fn show(value: ColumnarValue) -> Vec<String> {
    let array = value.into_array(1).unwrap();
    let options = FormatOptions::new().with_null("NULL");
    let f = ArrayFormatter::try_new(array.as_ref(), &options).unwrap();
    (0..array.len()).map(|i| f.value(i).to_string()).collect()
}

fn ints(rows: Vec<Option<Vec<Option<i32>>>>) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
        rows,
    )))
}

/// Three rows: [1, 2, 1, 3], a NULL array, [NULL, 5, NULL].
fn three_rows() -> ColumnarValue {
    ints(vec![
        Some(vec![Some(1), Some(2), Some(1), Some(3)]),
        None,
        Some(vec![None, Some(5), None]),
    ])
}

fn int(v: Option<i32>) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Int32(v))
}

fn boolean(v: Option<bool>) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Boolean(v))
}

#[test]
fn append_and_prepend_take_the_array_first() {
    let elements = ColumnarValue::Array(Arc::new(Int32Array::from(vec![Some(9), Some(8), None])));
    let out = call(ArrayFunction::Append, vec![three_rows(), elements.clone()]).unwrap();
    assert_eq!(
        show(out),
        ["[1, 2, 1, 3, 9]", "NULL", "[NULL, 5, NULL, NULL]"]
    );
    let out = call(ArrayFunction::Prepend, vec![three_rows(), elements]).unwrap();
    assert_eq!(
        show(out),
        ["[9, 1, 2, 1, 3]", "NULL", "[NULL, NULL, 5, NULL]"]
    );
    // A BIGINT element widens an ARRAY<INT>, given as a scalar.
    let one_row = ColumnarValue::Scalar(ScalarValue::List(Arc::new(
        ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)])]),
    )));
    let out = call(
        ArrayFunction::Append,
        vec![one_row, ColumnarValue::Scalar(ScalarValue::Int64(Some(3)))],
    )
    .unwrap();
    assert!(matches!(out, ColumnarValue::Scalar(_)));
    assert_eq!(out.data_type(), list_of(DataType::Int64));
    assert_eq!(show(out), ["[1, 2, 3]"]);
}

#[test]
fn concat_is_null_when_any_array_is() {
    let second = ints(vec![Some(vec![Some(7)]), Some(vec![Some(8)]), None]);
    let third = ints(vec![Some(vec![]), Some(vec![Some(9)]), Some(vec![])]);
    let out = call(ArrayFunction::Concat, vec![three_rows(), second, third]).unwrap();
    assert_eq!(show(out), ["[1, 2, 1, 3, 7]", "NULL", "NULL"]);
    let out = call(ArrayFunction::Concat, vec![three_rows()]).unwrap();
    assert_eq!(show(out), ["[1, 2, 1, 3]", "NULL", "[NULL, 5, NULL]"]);
}

#[test]
fn contains_finds_a_null_among_nulls() {
    let out = call(ArrayFunction::Contains, vec![three_rows(), int(Some(2))]).unwrap();
    assert_eq!(show(out), ["true", "NULL", "false"]);
    let out = call(ArrayFunction::Contains, vec![three_rows(), int(None)]).unwrap();
    assert_eq!(show(out), ["false", "NULL", "true"]);
    let needles = ColumnarValue::Array(Arc::new(Int64Array::from(vec![3, 3, 5])));
    let out = call(ArrayFunction::Contains, vec![three_rows(), needles]).unwrap();
    assert_eq!(show(out), ["true", "NULL", "true"]);
}

#[test]
fn position_is_one_based_and_zero_when_absent() {
    let needles = ColumnarValue::Array(Arc::new(Int32Array::from(vec![Some(1), Some(1), Some(9)])));
    let out = call(ArrayFunction::Position, vec![three_rows(), needles]).unwrap();
    assert_eq!(out.data_type(), DataType::Int32);
    assert_eq!(show(out), ["1", "NULL", "0"]);
    let out = call(ArrayFunction::Position, vec![three_rows(), int(Some(3))]).unwrap();
    assert_eq!(show(out), ["4", "NULL", "0"]);
    let out = call(ArrayFunction::Position, vec![three_rows(), int(None)]).unwrap();
    assert_eq!(show(out), ["NULL", "NULL", "NULL"]);
}

#[test]
fn remove_takes_out_every_equal_element() {
    let out = call(ArrayFunction::Remove, vec![three_rows(), int(Some(1))]).unwrap();
    assert_eq!(show(out), ["[2, 3]", "NULL", "[NULL, 5, NULL]"]);
    let out = call(ArrayFunction::Remove, vec![three_rows(), int(None)]).unwrap();
    assert_eq!(show(out), ["[1, 2, 1, 3]", "NULL", "[5]"]);
}

#[test]
fn slice_follows_flinks_offsets() {
    assert_eq!(slice_range(5, 2, 4), 1..4);
    assert_eq!(slice_range(5, -2, 5), 3..5);
    assert_eq!(slice_range(5, 4, 2), 0..0);
    assert_eq!(slice_range(3, 0, 1), 0..1);
    assert_eq!(slice_range(3, 0, 0), 0..1);
    assert_eq!(slice_range(3, 5, 7), 0..0);
    assert_eq!(slice_range(3, -7, -5), 0..0);
    assert_eq!(slice_range(3, -7, 9), 0..3);
    let start = ColumnarValue::Array(Arc::new(Int64Array::from(vec![Some(2), Some(1), None])));
    let out = call(ArrayFunction::Slice, vec![three_rows(), start.clone()]).unwrap();
    assert_eq!(show(out), ["[2, 1, 3]", "NULL", "NULL"]);
    let out = call(ArrayFunction::Slice, vec![three_rows(), int(Some(-2))]).unwrap();
    assert_eq!(show(out), ["[1, 3]", "NULL", "[5, NULL]"]);
    let out = call(
        ArrayFunction::Slice,
        vec![three_rows(), int(Some(0)), int(Some(1))],
    )
    .unwrap();
    assert_eq!(show(out), ["[1]", "NULL", "[NULL]"]);
    let out = call(
        ArrayFunction::Slice,
        vec![three_rows(), int(Some(4)), int(Some(2))],
    )
    .unwrap();
    assert_eq!(show(out), ["[]", "NULL", "[]"]);
    let out = call(
        ArrayFunction::Slice,
        vec![three_rows(), int(Some(1)), int(None)],
    )
    .unwrap();
    assert_eq!(show(out), ["NULL", "NULL", "NULL"]);
}

#[test]
fn sort_puts_nulls_first_when_ascending() {
    let column = || {
        ints(vec![
            Some(vec![Some(3), Some(1), None, Some(2)]),
            None,
            Some(vec![Some(5), None, Some(4)]),
        ])
    };
    let out = call(ArrayFunction::Sort, vec![column()]).unwrap();
    assert_eq!(show(out), ["[NULL, 1, 2, 3]", "NULL", "[NULL, 4, 5]"]);
    let out = call(ArrayFunction::Sort, vec![column(), boolean(Some(false))]).unwrap();
    assert_eq!(show(out), ["[3, 2, 1, NULL]", "NULL", "[5, 4, NULL]"]);
    let out = call(
        ArrayFunction::Sort,
        vec![column(), boolean(Some(true)), boolean(Some(false))],
    )
    .unwrap();
    assert_eq!(show(out), ["[1, 2, 3, NULL]", "NULL", "[4, 5, NULL]"]);
    let out = call(ArrayFunction::Sort, vec![column(), boolean(None)]).unwrap();
    assert_eq!(show(out), ["NULL", "NULL", "NULL"]);
}

#[test]
fn sort_orders_strings_of_a_sliced_batch() {
    let list = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, true)),
        OffsetBuffer::new(vec![0, 1, 3, 5].into()),
        Arc::new(StringArray::from(vec!["z", "b", "a", "d", "c"])),
        None,
    );
    // Rows 1 and 2 only: offsets that start past the child's first element.
    let sliced: ArrayRef = Arc::new(list.slice(1, 2));
    let out = call(ArrayFunction::Sort, vec![ColumnarValue::Array(sliced)])
        .unwrap()
        .into_array(2)
        .unwrap();
    let out = out.as_list::<i32>();
    let row = |r: usize| {
        let v = out.value(r);
        let s = v.as_string::<i32>();
        (0..s.len())
            .map(|i| s.value(i).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(row(0), ["a", "b"]);
    assert_eq!(row(1), ["c", "d"]);
}

#[test]
fn elements_take_a_common_type_and_wrong_arguments_are_refused() {
    let array_of_int = list_of(DataType::Int32);
    for function in [ArrayFunction::Append, ArrayFunction::Contains] {
        let f = FlinkArray::new(function);
        assert_eq!(
            f.coerce_types(&[array_of_int.clone(), DataType::Int64])
                .unwrap(),
            [list_of(DataType::Int64), DataType::Int64]
        );
        assert_eq!(
            f.coerce_types(&[array_of_int.clone(), DataType::Null])
                .unwrap(),
            [array_of_int.clone(), DataType::Int32]
        );
        assert!(f.coerce_types(std::slice::from_ref(&array_of_int)).is_err());
        assert!(f.coerce_types(&[DataType::Int32, DataType::Int32]).is_err());
    }
    let sort = FlinkArray::new(ArrayFunction::Sort);
    assert!(sort
        .coerce_types(&[array_of_int.clone(), DataType::Utf8])
        .is_err());
    let slice = FlinkArray::new(ArrayFunction::Slice);
    assert_eq!(
        slice
            .coerce_types(&[array_of_int.clone(), DataType::Int32])
            .unwrap(),
        [array_of_int.clone(), DataType::Int64]
    );
    let concat = FlinkArray::new(ArrayFunction::Concat);
    assert_eq!(
        concat
            .return_type(&[array_of_int, DataType::Null, list_of(DataType::Int64)])
            .unwrap(),
        list_of(DataType::Int64)
    );
    assert!(concat.coerce_types(&[]).is_err());
}
