//! DECIMAL text checked before Arrow parses it. Arrow's `parse_decimal` (arrow-cast 59)
//! overflows its digit and exponent counters on long mantissas and exponents
//! (apache/arrow-rs#10787, #10788): a panic in a debug build, a wrong value in a release
//! build. A DECIMAL(38, s) value never needs more than 40 digits or an exponent past 40, so
//! longer text is refused as out of range before Arrow sees it (every counter then stays
//! within its type).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::FormatOptions;

const MAX_DIGITS: usize = 40;
const MAX_EXPONENT: u32 = 40;

/// Whether Arrow may be given `text` to parse as a decimal.
fn within_bounds(text: &str) -> bool {
    let text = text.trim();
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        e.len() <= 2 && e.parse::<u32>().is_ok_and(|v| v <= MAX_EXPONENT)
    });
    digits <= MAX_DIGITS && exponent_ok
}

/// Casts text to a decimal type, refusing text past the bounds above.
pub(super) fn cast_decimal(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    let text = column.as_string::<i32>();
    if let Some(v) = text.iter().flatten().find(|v| !within_bounds(v)) {
        return Err(format!(
            "'{v}' is out of range for a decimal: more than {MAX_DIGITS} digits or an exponent past {MAX_EXPONENT}"
        ));
    }
    let options = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    cast_with_options(column, to, &options).map_err(|e| e.to_string())
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
    use datafusion::arrow::array::{Array, StringArray};

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
        ] {
            assert!(within_bounds(ok), "{ok}");
        }
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
    fn text_arrow_would_overflow_on_is_an_error() {
        let column: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1.5"),
            None,
            Some("1e40012345678.999"),
        ]));
        let e = cast_decimal(&column, &DataType::Decimal128(10, 2)).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("1.5"), None]));
        let d = cast_decimal(&column, &DataType::Decimal128(10, 2)).unwrap();
        assert_eq!(d.len(), 2);
        assert!(d.is_null(1));
    }
}
