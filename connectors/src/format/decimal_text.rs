//! JSON DECIMAL text checked before Arrow parses it. Arrow's `parse_decimal` (arrow-cast
//! 59), which arrow-json uses for decimals, overflows its digit and exponent counters on
//! long mantissas and exponents (apache/arrow-rs#10787, #10788): a panic in a debug build,
//! a wrong value in a release build. A DECIMAL(38, s) value never needs more than 40
//! significant digits or an exponent past 40, so longer text is refused as out of range
//! before Arrow sees it (every counter then stays within its type); other text is parsed by
//! the same `parse_decimal` as before, so values keep arrow-json's meaning (exponents
//! accepted, extra fraction digits truncated).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveBuilder, StringArray};
use datafusion::arrow::compute::kernels::cast_utils::parse_decimal;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Decimal256Type, DecimalType, Field, Schema, SchemaRef,
};

const MAX_DIGITS: usize = 40;
const MAX_EXPONENT: u32 = 40;

/// Whether Arrow may be given `text` to parse as a decimal.
fn within_bounds(text: &str) -> bool {
    let text = text.trim();
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    // Leading zeros carry no precision.
    let digits = mantissa
        .trim_start_matches('0')
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        e.parse::<u32>().is_ok_and(|v| v <= MAX_EXPONENT)
    });
    digits <= MAX_DIGITS && exponent_ok
}

fn out_of_range(v: &str) -> String {
    format!("'{v}' is out of range for a decimal: more than {MAX_DIGITS} digits or an exponent past {MAX_EXPONENT}")
}

/// Parses decimal text (NULLs stay NULL) as `to`.
pub(super) fn parse_decimals(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    let text = column.as_string::<i32>();
    match *to {
        DataType::Decimal128(p, s) => parse_as::<Decimal128Type>(text, p, s),
        DataType::Decimal256(p, s) => parse_as::<Decimal256Type>(text, p, s),
        ref other => Err(format!("not a decimal type: {other}")),
    }
}

fn parse_as<T: DecimalType>(text: &StringArray, p: u8, s: i8) -> Result<ArrayRef, String> {
    let mut b = PrimitiveBuilder::<T>::with_capacity(text.len());
    for v in text.iter() {
        match v {
            None => b.append_null(),
            Some(v) if !within_bounds(v) => return Err(out_of_range(v)),
            Some(v) => b.append_value(parse_decimal::<T>(v, p, s).map_err(|e| e.to_string())?),
        }
    }
    let array = b
        .finish()
        .with_precision_and_scale(p, s)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(array))
}

/// `schema` with its top-level decimal columns read as text, or `None` when it has none.
pub(super) fn decimals_as_text(schema: &SchemaRef) -> Option<SchemaRef> {
    let is_decimal = |f: &Field| {
        matches!(
            f.data_type(),
            DataType::Decimal128(..) | DataType::Decimal256(..)
        )
    };
    if !schema.fields().iter().any(|f| is_decimal(f)) {
        return None;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match is_decimal(f) {
            true => f.as_ref().clone().with_data_type(DataType::Utf8),
            false => f.as_ref().clone(),
        })
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        for ok in [
            "1",
            "-12345678.999",
            "1e40",
            "1.5E-3",
            " 2 ",
            "+1e+05",
            "abc",
            "1e005",
        ] {
            assert!(within_bounds(ok), "{ok}");
        }
        // Leading zeros of the integer part carry nothing; fraction digits all count, as
        // they do in Arrow's scale arithmetic.
        assert!(within_bounds(&format!("{}1.5", "0".repeat(45))));
        assert!(!within_bounds(&format!("0.{}1", "0".repeat(45))));
        for bad in [
            "1e400",
            "1e40012345678.999",
            "1e41",
            &"1".repeat(41),
            "1e-100",
        ] {
            assert!(!within_bounds(bad), "{bad}");
        }
    }

    #[test]
    fn values_keep_arrow_json_meaning() {
        let column: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1.5e3"),
            None,
            Some("12345678.999"),
            Some("-2E-2"),
        ]));
        let d = parse_decimals(&column, &DataType::Decimal128(10, 2)).unwrap();
        let d = d.as_primitive::<Decimal128Type>();
        assert_eq!(d.value(0), 150000);
        assert!(d.is_null(1));
        // Truncated, as arrow-json's decoder does.
        assert_eq!(d.value(2), 1234567899);
        assert_eq!(d.value(3), -2);
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("1e40012345678.999")]));
        let e = parse_decimals(&column, &DataType::Decimal128(10, 2)).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
    }
}
