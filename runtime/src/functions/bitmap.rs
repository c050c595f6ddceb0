//! Flink's BITMAP functions: BITMAP_BUILD, BITMAP_CARDINALITY, BITMAP_TO_ARRAY,
//! BITMAP_TO_STRING, BITMAP_AND / ANDNOT / OR / XOR, BITMAP_TO_BYTES, BITMAP_FROM_BYTES, and
//! the aggregates BITMAP_{OR,AND,XOR}_AGG and BITMAP_{OR,AND,XOR}_CARDINALITY_AGG.
//!
//! Flink's BITMAP is a 32-bit RoaringBitmap. Eddy has no BITMAP type: a bitmap is a BYTES
//! (`DataType::Binary`) value holding the RoaringBitmap portable serialization, the bytes
//! Flink's BITMAP_TO_BYTES gives, so BITMAP_TO_BYTES and BITMAP_FROM_BYTES only check them.
//! Values are unsigned 32-bit, as in Flink: an INT keeps its bit pattern, so -1 is
//! 4294967295 and comes after every non-negative value; BITMAP_TO_ARRAY gives the INTs back.
//!
//! Any bitmap argument may be bytes a user wrote, so every one is checked when it is read:
//! bytes that are not exactly one bitmap are an error naming the function, never a panic.

use std::fmt::Write as _;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, Int32Builder, Int64Array, ListBuilder,
    StringBuilder,
};
use datafusion::arrow::compute::kernels::cast::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int32Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use roaring::RoaringBitmap;

/// The scalar functions, for registration.
pub(super) fn scalars() -> Vec<Arc<ScalarUDF>> {
    [
        ("bitmap_build", Scalar::Build),
        ("bitmap_cardinality", Scalar::Cardinality),
        ("bitmap_to_array", Scalar::ToArray),
        ("bitmap_to_string", Scalar::ToString),
        ("bitmap_and", Scalar::Combine(Combine::And)),
        ("bitmap_andnot", Scalar::Combine(Combine::AndNot)),
        ("bitmap_or", Scalar::Combine(Combine::Or)),
        ("bitmap_xor", Scalar::Combine(Combine::Xor)),
        ("bitmap_to_bytes", Scalar::ToBytes),
        ("bitmap_from_bytes", Scalar::FromBytes),
    ]
    .into_iter()
    .map(|(name, function)| {
        Arc::new(ScalarUDF::from(BitmapScalar {
            name,
            function,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

/// The aggregate functions, for registration.
pub(super) fn aggregates() -> Vec<Arc<AggregateUDF>> {
    [
        ("bitmap_or_agg", Combine::Or, false),
        ("bitmap_and_agg", Combine::And, false),
        ("bitmap_xor_agg", Combine::Xor, false),
        ("bitmap_or_cardinality_agg", Combine::Or, true),
        ("bitmap_and_cardinality_agg", Combine::And, true),
        ("bitmap_xor_cardinality_agg", Combine::Xor, true),
    ]
    .into_iter()
    .map(|(name, combine, cardinality)| {
        Arc::new(AggregateUDF::from(BitmapAgg {
            name,
            combine,
            cardinality,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

/// A user's bad argument, which the gateway answers with 22023 and this message.
fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// How two bitmaps make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Combine {
    And,
    AndNot,
    Or,
    Xor,
}

impl Combine {
    fn apply(self, acc: &mut RoaringBitmap, other: RoaringBitmap) {
        match self {
            Combine::And => *acc &= other,
            Combine::AndNot => *acc -= other,
            Combine::Or => *acc |= other,
            Combine::Xor => *acc ^= other,
        }
    }
}

/// The cookie of the format without run containers, which the Rust library writes.
const NO_RUNS_COOKIE: u32 = 12346;
/// The low half of the cookie of the format with run containers, which Java's
/// RoaringBitmap writes after `runOptimize`; the high half is the container count less one.
const RUNS_COOKIE: u32 = 12347;

/// The bitmap in `bytes`, which must be exactly one bitmap in the portable format.
fn decode(bytes: &[u8], function: &str) -> Result<RoaringBitmap> {
    let invalid = |why: String| user_error(format!("{function}: the value is not a bitmap: {why}"));
    let truncated = || invalid("it ends too soon".into());
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let cookie = u32_at(0).ok_or_else(truncated)?;
    let (containers, descriptions, runs) = if cookie == NO_RUNS_COOKIE {
        (u32_at(4).ok_or_else(truncated)? as usize, 8, false)
    } else if (cookie & 0xFFFF) == RUNS_COOKIE {
        let n = (cookie >> 16) as usize + 1;
        (n, 4 + n.div_ceil(8), true)
    } else {
        return Err(invalid(format!("unknown format {cookie}")));
    };
    // The library reads the container keys without checking their order, and its
    // operations rely on it: keys out of order or repeated would give wrong answers.
    let mut previous: Option<u16> = None;
    for i in 0..containers {
        let at = descriptions + 4 * i;
        let key = bytes
            .get(at..at + 2)
            .and_then(|k| <[u8; 2]>::try_from(k).ok())
            .map(u16::from_le_bytes)
            .ok_or_else(truncated)?;
        if previous.is_some_and(|p| p >= key) {
            return Err(invalid("its containers are out of order".into()));
        }
        previous = Some(key);
    }
    let mut rest = bytes;
    let bitmap = RoaringBitmap::deserialize_from(&mut rest).map_err(|e| invalid(e.to_string()))?;
    if !rest.is_empty() {
        return Err(invalid(format!("{} byte(s) follow it", rest.len())));
    }
    // A run container may hold no runs, and the library's other operations expect no empty
    // container (writing one underflows its count); rebuilt, the bitmap has none.
    Ok(match runs {
        true => bitmap.iter().collect(),
        false => bitmap,
    })
}

fn serialize_to(bitmap: &RoaringBitmap, out: &mut Vec<u8>) -> Result<()> {
    bitmap
        .serialize_into(out)
        .map_err(|e| DataFusionError::Internal(format!("writing a bitmap: {e}")))
}

fn serialize(bitmap: &RoaringBitmap) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(bitmap.serialized_size());
    serialize_to(bitmap, &mut bytes)?;
    Ok(bytes)
}

/// Adds `add` to the size of one output column so far: Arrow's 32-bit offsets cannot go
/// past `i32::MAX`, and its builders panic where they would.
fn grow(total: &mut usize, add: usize, function: &str) -> Result<()> {
    *total = total.saturating_add(add);
    if *total > i32::MAX as usize {
        return Err(user_error(format!(
            "{function}: the results of one batch are too large for one column"
        )));
    }
    Ok(())
}

/// Bitmaps written to a Binary column, one buffer reused for every row.
struct BitmapColumn<'a> {
    out: BinaryBuilder,
    buffer: Vec<u8>,
    written: usize,
    function: &'a str,
}

impl<'a> BitmapColumn<'a> {
    fn new(rows: usize, function: &'a str) -> Self {
        Self {
            out: BinaryBuilder::with_capacity(rows, rows * 16),
            buffer: Vec::new(),
            written: 0,
            function,
        }
    }

    fn push(&mut self, bitmap: Option<&RoaringBitmap>) -> Result<()> {
        let Some(bitmap) = bitmap else {
            self.out.append_null();
            return Ok(());
        };
        self.buffer.clear();
        serialize_to(bitmap, &mut self.buffer)?;
        grow(&mut self.written, self.buffer.len(), self.function)?;
        self.out.append_value(&self.buffer);
        Ok(())
    }

    fn finish(mut self) -> ArrayRef {
        Arc::new(self.out.finish())
    }
}

fn strict_cast() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

/// `array` as a Binary column: coercion makes it one, but an expression rebuilt elsewhere
/// (a TaskManager decoding a plan) may still carry another binary type.
fn binary_column(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Binary => Ok(array.clone()),
        _ => Ok(cast_with_options(array, &DataType::Binary, &strict_cast())?),
    }
}

fn as_binary<'a>(array: &'a ArrayRef, function: &str) -> Result<&'a BinaryArray> {
    array.as_binary_opt::<i32>().ok_or_else(|| {
        DataFusionError::Internal(format!(
            "{function}: a bitmap column of type {}",
            array.data_type()
        ))
    })
}

/// Calls `f` with the bitmap of each row of `array`, None where it is NULL.
fn for_each_bitmap(
    array: &ArrayRef,
    function: &str,
    mut f: impl FnMut(Option<RoaringBitmap>) -> Result<()>,
) -> Result<()> {
    let column = binary_column(array)?;
    let bytes = as_binary(&column, function)?;
    for r in 0..bytes.len() {
        f(match bytes.is_valid(r) {
            true => Some(decode(bytes.value(r), function)?),
            false => None,
        })?;
    }
    Ok(())
}

/// The type of an argument that is a bitmap (or BYTES): any binary type, read as Binary.
fn bytes_arg(t: &DataType, function: &str, what: &str) -> Result<DataType> {
    match t {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
        | DataType::Null => Ok(DataType::Binary),
        other => Err(DataFusionError::Plan(format!(
            "{function} takes {what}, not {other}"
        ))),
    }
}

fn item_field() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Int32, true))
}

/// ARRAY<INT>, as BITMAP_BUILD takes it and BITMAP_TO_ARRAY gives it.
fn int_list() -> DataType {
    DataType::List(item_field())
}

/// BITMAP_BUILD's argument: an array of any integer type, read as ARRAY<INT> (a value out
/// of INT's range is an error when it is cast, not a wrapped-around value).
fn int_list_arg(t: &DataType, function: &str) -> Result<DataType> {
    match t {
        DataType::List(f) if f.data_type() == &DataType::Int32 => Ok(t.clone()),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
            if f.data_type().is_integer() || f.data_type().is_null() =>
        {
            Ok(int_list())
        }
        DataType::Null => Ok(int_list()),
        other => Err(DataFusionError::Plan(format!(
            "{function} takes an array of integers, not {other}"
        ))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scalar {
    /// NULL elements of the array are skipped, as in Flink.
    Build,
    Cardinality,
    /// The values as INTs, in unsigned order (-1 last), as Flink gives them.
    ToArray,
    ToString,
    Combine(Combine),
    /// TO_BYTES and FROM_BYTES give their argument back, once it is known to be a bitmap.
    ToBytes,
    FromBytes,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct BitmapScalar {
    name: &'static str,
    function: Scalar,
    signature: Signature,
}

impl ScalarUDFImpl for BitmapScalar {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let function = self.check_arity(arg_types.len())?;
        arg_types
            .iter()
            .map(|t| match self.function {
                Scalar::Build => int_list_arg(t, &function),
                Scalar::FromBytes => bytes_arg(t, &function, "BYTES"),
                _ => bytes_arg(t, &function, "a bitmap"),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Scalar::Cardinality => DataType::Int64,
            Scalar::ToArray => int_list(),
            Scalar::ToString => DataType::Utf8,
            Scalar::Build | Scalar::Combine(_) | Scalar::ToBytes | Scalar::FromBytes => {
                DataType::Binary
            }
        })
    }

    /// NULL in, NULL out, which lets the optimizer reason past these calls.
    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = self.evaluate(&arrays)?;
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            false => ColumnarValue::Array(out),
        })
    }
}

impl BitmapScalar {
    /// The name in upper case, as errors name the function, and the number of arguments,
    /// which is checked again when called: a plan decoded elsewhere was not coerced here.
    fn check_arity(&self, n: usize) -> Result<String> {
        let function = self.name.to_uppercase();
        let arity = match self.function {
            Scalar::Combine(_) => 2,
            _ => 1,
        };
        match n == arity {
            true => Ok(function),
            false => Err(DataFusionError::Plan(format!(
                "function {function} takes {arity} argument(s), not {n}"
            ))),
        }
    }

    fn evaluate(&self, arrays: &[ArrayRef]) -> Result<ArrayRef> {
        let function = self.check_arity(arrays.len())?;
        match self.function {
            Scalar::Build => build(&arrays[0], &function),
            Scalar::Cardinality => {
                let mut out = Vec::with_capacity(arrays[0].len());
                for_each_bitmap(&arrays[0], &function, |bitmap| {
                    out.push(bitmap.map(|b| b.len() as i64));
                    Ok(())
                })?;
                Ok(Arc::new(Int64Array::from(out)))
            }
            Scalar::ToArray => to_array(&arrays[0], &function),
            Scalar::ToString => to_string(&arrays[0], &function),
            Scalar::Combine(combine) => {
                let (left_column, right_column) =
                    (binary_column(&arrays[0])?, binary_column(&arrays[1])?);
                let left = as_binary(&left_column, &function)?;
                let right = as_binary(&right_column, &function)?;
                let mut out = BitmapColumn::new(left.len(), &function);
                for r in 0..left.len() {
                    if left.is_null(r) || right.is_null(r) {
                        out.push(None)?;
                        continue;
                    }
                    let mut acc = decode(left.value(r), &function)?;
                    combine.apply(&mut acc, decode(right.value(r), &function)?);
                    out.push(Some(&acc))?;
                }
                Ok(out.finish())
            }
            Scalar::ToBytes | Scalar::FromBytes => {
                for_each_bitmap(&arrays[0], &function, |_| Ok(()))?;
                binary_column(&arrays[0])
            }
        }
    }
}

fn build(array: &ArrayRef, function: &str) -> Result<ArrayRef> {
    let column = match array.data_type() {
        DataType::List(f) if f.data_type() == &DataType::Int32 => array.clone(),
        _ => cast_with_options(array, &int_list(), &strict_cast())?,
    };
    let internal = || {
        DataFusionError::Internal(format!(
            "{function}: an argument of type {}",
            array.data_type()
        ))
    };
    let lists = column.as_list_opt::<i32>().ok_or_else(internal)?;
    let values = lists
        .values()
        .as_primitive_opt::<Int32Type>()
        .ok_or_else(internal)?;
    let offsets = lists.value_offsets();
    let mut out = BitmapColumn::new(lists.len(), function);
    for r in 0..lists.len() {
        if lists.is_null(r) {
            out.push(None)?;
            continue;
        }
        let mut bitmap = RoaringBitmap::new();
        let (start, end) = (offsets[r] as usize, offsets[r + 1] as usize);
        for i in start..end {
            if values.is_valid(i) {
                bitmap.insert(values.value(i) as u32);
            }
        }
        out.push(Some(&bitmap))?;
    }
    Ok(out.finish())
}

fn to_array(array: &ArrayRef, function: &str) -> Result<ArrayRef> {
    let mut out =
        ListBuilder::with_capacity(Int32Builder::new(), array.len()).with_field(item_field());
    let mut elements = 0usize;
    for_each_bitmap(array, function, |bitmap| {
        let Some(bitmap) = bitmap else {
            out.append_null();
            return Ok(());
        };
        let count = usize::try_from(bitmap.len()).unwrap_or(usize::MAX);
        grow(&mut elements, count, function)?;
        let values = out.values();
        for v in &bitmap {
            values.append_value(v as i32);
        }
        out.append(true);
        Ok(())
    })?;
    Ok(Arc::new(out.finish()))
}

/// Past this many characters BITMAP_TO_STRING ends the text with `...`, as Java's
/// RoaringBitmap.toString does: a large bitmap would otherwise make gigabytes of text.
const TO_STRING_LIMIT: usize = 0x80000;

fn write_bitmap(bitmap: &RoaringBitmap, text: &mut String) -> std::fmt::Result {
    text.push('{');
    let mut values = bitmap.iter();
    if let Some(first) = values.next() {
        write!(text, "{first}")?;
    }
    for v in values {
        text.push(',');
        if text.len() > TO_STRING_LIMIT {
            text.push_str("...");
            break;
        }
        write!(text, "{v}")?;
    }
    text.push('}');
    Ok(())
}

fn to_string(array: &ArrayRef, function: &str) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 8);
    let mut text = String::new();
    let mut written = 0usize;
    for_each_bitmap(array, function, |bitmap| {
        let Some(bitmap) = bitmap else {
            out.append_null();
            return Ok(());
        };
        text.clear();
        write_bitmap(&bitmap, &mut text).map_err(|e| {
            DataFusionError::Internal(format!("{function}: writing a bitmap's text: {e}"))
        })?;
        grow(&mut written, text.len(), function)?;
        out.append_value(&text);
        Ok(())
    })?;
    Ok(Arc::new(out.finish()))
}

/// `BITMAP_{OR,AND,XOR}_AGG(bitmap)`, or with `cardinality` the count of that bitmap's
/// values. NULL bitmaps are skipped; with none other, the result is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BitmapAgg {
    name: &'static str,
    combine: Combine,
    cardinality: bool,
    signature: Signature,
}

impl AggregateUDFImpl for BitmapAgg {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let function = self.name.to_uppercase();
        match arg_types {
            [t] => Ok(vec![bytes_arg(t, &function, "a bitmap")?]),
            _ => Err(DataFusionError::Plan(format!(
                "function {function} takes one bitmap, not {} arguments",
                arg_types.len()
            ))),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.cardinality {
            true => DataType::Int64,
            false => DataType::Binary,
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // OR and AND give the same answer over distinct bitmaps; XOR would need them kept.
        if args.is_distinct && self.combine == Combine::Xor {
            return Err(DataFusionError::Plan(format!(
                "{} does not take DISTINCT",
                self.name.to_uppercase()
            )));
        }
        Ok(Box::new(BitmapAccumulator {
            name: self.name,
            combine: self.combine,
            cardinality: self.cardinality,
            bitmap: None,
        }))
    }

    /// The bitmap so far, NULL while no bitmap has been seen: that keeps an AND of
    /// nothing apart from an AND that came to the empty bitmap.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "bitmap"),
            DataType::Binary,
            true,
        ))])
    }
}

#[derive(Debug)]
struct BitmapAccumulator {
    name: &'static str,
    combine: Combine,
    cardinality: bool,
    /// None until a non-NULL bitmap is seen.
    bitmap: Option<RoaringBitmap>,
}

impl BitmapAccumulator {
    /// Combines every non-NULL bitmap of `values`: inputs and partial states alike, since
    /// OR, AND and XOR of partial results are those of all the inputs.
    fn combine_all(&mut self, values: &[ArrayRef]) -> Result<()> {
        let function = self.name.to_uppercase();
        let Some(column) = values.first() else {
            return Err(DataFusionError::Internal(format!(
                "{function}: no argument"
            )));
        };
        let (combine, bitmap) = (self.combine, &mut self.bitmap);
        for_each_bitmap(column, &function, |next| {
            if let Some(next) = next {
                *bitmap = Some(match bitmap.take() {
                    None => next,
                    Some(mut acc) => {
                        combine.apply(&mut acc, next);
                        acc
                    }
                });
            }
            Ok(())
        })
    }
}

impl Accumulator for BitmapAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.combine_all(values)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.combine_all(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(
            self.bitmap.as_ref().map(serialize).transpose()?,
        )])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(match self.cardinality {
            true => ScalarValue::Int64(self.bitmap.as_ref().map(|b| b.len() as i64)),
            false => ScalarValue::Binary(self.bitmap.as_ref().map(serialize).transpose()?),
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bitmap.as_ref().map_or(0, |b| b.serialized_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::ListArray;
    use datafusion::arrow::datatypes::{Int64Type, Schema};

    type Rows = Vec<Option<Vec<Option<i32>>>>;

    fn udf(name: &str) -> Arc<ScalarUDF> {
        let found = scalars().into_iter().find(|f| f.name() == name);
        found.expect("registered")
    }

    fn call(name: &str, args: Vec<ColumnarValue>) -> Result<ColumnarValue> {
        let f = udf(name);
        let rows = args.iter().find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        });
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let arg_fields = types
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)));
        f.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields: arg_fields.collect(),
            number_rows: rows.unwrap_or(1),
            return_field: Arc::new(Field::new("r", f.return_type(&types)?, true)),
            config_options: Default::default(),
        })
    }

    fn column(name: &str, args: Vec<ArrayRef>) -> Result<ArrayRef> {
        let rows = args.first().map_or(1, |a| a.len());
        call(name, args.into_iter().map(ColumnarValue::Array).collect())?.into_array(rows)
    }

    fn one(values: &[i32]) -> Option<Vec<Option<i32>>> {
        Some(values.iter().map(|v| Some(*v)).collect())
    }

    fn bitmaps(rows: Rows) -> ArrayRef {
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(rows));
        column("bitmap_build", vec![lists]).unwrap()
    }

    fn elements(bitmaps: &ArrayRef) -> Vec<Option<Vec<i32>>> {
        let out = column("bitmap_to_array", vec![bitmaps.clone()]).unwrap();
        let lists = out.as_list::<i32>();
        let values = |r: usize| lists.value(r).as_primitive::<Int32Type>().values().to_vec();
        (0..lists.len())
            .map(|r| lists.is_valid(r).then(|| values(r)))
            .collect()
    }

    /// BITMAP_TO_STRING of each row, NULL as `NULL`, joined by spaces.
    fn texts(bitmaps: &ArrayRef) -> String {
        let out = column("bitmap_to_string", vec![bitmaps.clone()]).unwrap();
        let s = out.as_string::<i32>();
        let text = |r: usize| if s.is_valid(r) { s.value(r) } else { "NULL" };
        (0..s.len()).map(text).collect::<Vec<_>>().join(" ")
    }

    fn scalar(value: Result<ColumnarValue>) -> ScalarValue {
        match value {
            Ok(ColumnarValue::Scalar(s)) => s,
            other => panic!("{other:?} is not a literal"),
        }
    }

    fn binary(values: &[&[u8]]) -> ArrayRef {
        Arc::new(BinaryArray::from_iter_values(values.iter().copied()))
    }

    #[test]
    fn builds_counts_and_shows_bitmaps() {
        let b = bitmaps(vec![
            one(&[3, 1, 2]),
            None,
            Some(vec![]),
            one(&[1, 2, 2, 3]),
            Some(vec![Some(7), None]),
            one(&[-1, 5]),
        ]);
        assert_eq!(texts(&b), "{1,2,3} NULL {} {1,2,3} {7} {5,4294967295}");
        let counts = column("bitmap_cardinality", vec![b.clone()]).unwrap();
        let counts = counts.as_primitive::<Int64Type>();
        assert_eq!((counts.value(2), counts.value(3)), (0, 3));
        assert!(b.is_null(1) && counts.is_null(1));
        // Unsigned order: -1 is 4294967295, last.
        assert_eq!(elements(&b)[5], Some(vec![5, -1]));
        assert_eq!(elements(&b)[1], None);

        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![one(&[3, 1, 2])]);
        let literal = ColumnarValue::Scalar(ScalarValue::List(Arc::new(list)));
        let bitmap = ColumnarValue::Scalar(scalar(call("bitmap_build", vec![literal])));
        let count = scalar(call("bitmap_cardinality", vec![bitmap]));
        assert_eq!(count, ScalarValue::Int64(Some(3)));
        let null = ColumnarValue::Scalar(ScalarValue::Binary(None));
        let count = scalar(call("bitmap_cardinality", vec![null]));
        assert_eq!(count, ScalarValue::Int64(None));
    }

    #[test]
    fn combines_two_bitmaps_and_checks_arguments() {
        let a = bitmaps(vec![one(&[1, 2]), one(&[1]), None]);
        let b = bitmaps(vec![one(&[2, 3]), None, one(&[1])]);
        let answer = |name: &str| elements(&column(name, vec![a.clone(), b.clone()]).unwrap());
        assert_eq!(answer("bitmap_and"), [Some(vec![2]), None, None]);
        assert_eq!(answer("bitmap_andnot"), [Some(vec![1]), None, None]);
        assert_eq!(answer("bitmap_or"), [Some(vec![1, 2, 3]), None, None]);
        assert_eq!(answer("bitmap_xor"), [Some(vec![1, 3]), None, None]);

        // Arguments are checked when the call is planned.
        let list = |t| DataType::List(Arc::new(Field::new_list_field(t, true)));
        let build = udf("bitmap_build");
        assert_eq!(
            build.coerce_types(&[list(DataType::Int64)]).unwrap(),
            [int_list()]
        );
        assert!(build.coerce_types(&[list(DataType::Utf8)]).is_err());
        assert!(udf("bitmap_and").coerce_types(&[DataType::Binary]).is_err());
        assert!(udf("bitmap_cardinality")
            .coerce_types(&[DataType::Utf8])
            .is_err());
    }

    /// Little-endian words, then bytes, then halfwords, as the format lays them out.
    fn le(words: &[u32], bytes: &[u8], halves: &[u16]) -> Vec<u8> {
        let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.extend(bytes);
        out.extend(halves.iter().flat_map(|h| h.to_le_bytes()));
        out
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        let b = bitmaps(vec![one(&[1, 7]), None]);
        let bytes = column("bitmap_to_bytes", vec![b.clone()]).unwrap();
        assert_eq!(bytes.as_binary::<i32>(), b.as_binary::<i32>());
        let back = column("bitmap_from_bytes", vec![bytes.clone()]).unwrap();
        assert_eq!(elements(&back), [Some(vec![1, 7]), None]);

        let valid = bytes.as_binary::<i32>().value(0);
        let trailing = [valid, &[0u8][..]].concat();
        // Two containers of one value each, keys 1 then 0.
        let unordered = le(&[NO_RUNS_COOKIE, 2], &[], &[1, 0, 0, 0, 24, 0, 26, 0, 5, 6]);
        let bad: [&[u8]; 5] = [
            b"garbage!",
            b"",
            &valid[..valid.len() - 1],
            &trailing,
            &unordered,
        ];
        for bad in bad {
            let err = column("bitmap_from_bytes", vec![binary(&[bad])]).unwrap_err();
            assert!(err.to_string().contains("BITMAP_FROM_BYTES"), "{err}");
            assert!(column("bitmap_cardinality", vec![binary(&[bad])]).is_err());
        }
    }

    /// Java's RoaringBitmap writes run containers after `runOptimize`.
    #[test]
    fn reads_run_containers() {
        // One container at key 0: the run 5..=7, then the same container with no run.
        let runs = le(&[RUNS_COOKIE], &[1], &[0, 2, 1, 5, 2]);
        let empty = le(&[RUNS_COOKIE], &[1], &[0, 0, 0]);
        let input = binary(&[runs.as_slice(), empty.as_slice()]);
        let b = column("bitmap_from_bytes", vec![input]).unwrap();
        assert_eq!(elements(&b), [Some(vec![5, 6, 7]), Some(vec![])]);
        let or = column("bitmap_or", vec![b.clone(), b]).unwrap();
        assert_eq!(texts(&or), "{5,6,7} {}");
    }

    fn accumulator(name: &str) -> Box<dyn Accumulator> {
        let udaf = aggregates().into_iter().find(|f| f.name() == name);
        let udaf = udaf.expect("registered");
        let field: FieldRef = Arc::new(Field::new("x", DataType::Binary, true));
        let schema = Schema::new(vec![field.as_ref().clone()]);
        let expr = datafusion::physical_expr::expressions::col("x", &schema).unwrap();
        let return_field = udaf.return_field(std::slice::from_ref(&field)).unwrap();
        let (exprs, fields) = ([expr], [field]);
        udaf.accumulator(AccumulatorArgs {
            return_field,
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name,
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &fields,
        })
        .unwrap()
    }

    /// Each partial aggregated apart, its state merged into one total.
    fn aggregate(name: &str, partials: &[Rows]) -> ScalarValue {
        let mut total = accumulator(name);
        for rows in partials {
            let mut partial = accumulator(name);
            partial.update_batch(&[bitmaps(rows.clone())]).unwrap();
            let state = partial.state().unwrap();
            let state: Vec<ArrayRef> = state.iter().map(|v| v.to_array().unwrap()).collect();
            total.merge_batch(&state).unwrap();
        }
        total.evaluate().unwrap()
    }

    fn aggregate_elements(name: &str, partials: &[Rows]) -> Vec<i32> {
        let bitmap = aggregate(name, partials).to_array().unwrap();
        elements(&bitmap)[0].clone().expect("a bitmap")
    }

    #[test]
    fn aggregates_combine_partial_states() {
        // BITMAP_BUILD(ARRAY[x, y]) over (1, 2), (2, 3), (NULL, 4); NULL bitmaps and an
        // empty partial are skipped.
        let or = [
            vec![one(&[1, 2]), None],
            vec![],
            vec![one(&[2, 3]), Some(vec![None, Some(4)])],
        ];
        assert_eq!(aggregate_elements("bitmap_or_agg", &or), [1, 2, 3, 4]);
        let rows = [vec![one(&[1, 2])], vec![], vec![None, one(&[2, 3])]];
        assert_eq!(aggregate_elements("bitmap_and_agg", &rows), [2]);
        assert_eq!(aggregate_elements("bitmap_xor_agg", &rows), [1, 3]);
        let count = |name: &str, rows: &[Rows]| match aggregate(name, rows) {
            ScalarValue::Int64(n) => n,
            other => panic!("{other:?} is not a BIGINT"),
        };
        assert_eq!(count("bitmap_or_cardinality_agg", &rows), Some(3));
        assert_eq!(count("bitmap_and_cardinality_agg", &rows), Some(1));
        assert_eq!(count("bitmap_xor_cardinality_agg", &rows), Some(2));
        // An AND that comes to the empty bitmap is not NULL; one of nothing is.
        let (disjoint, nothing) = ([vec![one(&[1])], vec![one(&[2])]], [vec![None], vec![]]);
        assert_eq!(count("bitmap_and_cardinality_agg", &disjoint), Some(0));
        assert_eq!(count("bitmap_or_cardinality_agg", &nothing), None);
        assert_eq!(
            aggregate("bitmap_and_agg", &nothing),
            ScalarValue::Binary(None)
        );

        let mut acc = accumulator("bitmap_or_agg");
        let err = acc.update_batch(&[binary(&[&b"nope"[..]])]).unwrap_err();
        assert!(err.to_string().contains("BITMAP_OR_AGG"), "{err}");
    }
}
