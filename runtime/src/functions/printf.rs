//! Flink's `PRINTF(format, args...)`: Java's `String.format` over the row's values. As in
//! Flink, where the arguments reach `String.format` as Flink's internal values, a
//! conversion Java refuses for an argument (`%d` of a string, `%f` of a DECIMAL, a
//! missing argument) makes that row NULL, and `%s` of NULL is "null". Conversions: `s S
//! d x X o f e E c b B % n` with flags `- 0 + space ,` (and `n$` argument indexes),
//! width and precision.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct Printf {
    signature: Signature,
}

pub(super) fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Printf {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

impl ScalarUDFImpl for Printf {
    fn name(&self) -> &str {
        "printf"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.is_empty() {
            return Err(DataFusionError::Plan(
                "function PRINTF takes a format and its arguments".into(),
            ));
        }
        let mut types = arg_types.to_vec();
        types[0] = DataType::Utf8;
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let formats = arrays[0].as_string::<i32>();
        let mut out = StringBuilder::with_capacity(formats.len(), 0);
        let mut text = String::new();
        for row in 0..formats.len() {
            if formats.is_null(row) {
                out.append_null();
                continue;
            }
            text.clear();
            match format_row(formats.value(row), &arrays[1..], row, &mut text) {
                Some(()) => out.append_value(&text),
                None => out.append_null(),
            }
        }
        let out: ArrayRef = Arc::new(out.finish());
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// One `%...` specifier.
#[derive(Default)]
struct Spec {
    index: Option<usize>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    group: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

/// Parses the specifier after a '%' at `chars[*i..]`, moving `i` past it.
fn spec(chars: &[char], i: &mut usize) -> Option<Spec> {
    let mut s = Spec::default();
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        chars[start..*i]
            .iter()
            .collect::<String>()
            .parse::<usize>()
            .ok()
    };
    let start = *i;
    if let Some(n) = digits(i) {
        if chars.get(*i) == Some(&'$') {
            s.index = Some(n);
            *i += 1;
        } else {
            *i = start;
        }
    }
    while let Some(&c) = chars.get(*i) {
        match c {
            '-' => s.left = true,
            '0' => s.zero = true,
            '+' => s.plus = true,
            ' ' => s.space = true,
            ',' => s.group = true,
            '#' => return None,
            _ => break,
        }
        *i += 1;
    }
    s.width = digits(i).unwrap_or(0);
    if chars.get(*i) == Some(&'.') {
        *i += 1;
        s.precision = Some(digits(i)?);
    }
    s.conversion = *chars.get(*i)?;
    *i += 1;
    Some(s)
}

/// Formats one row into `out`; `None` where Java's formatter would throw.
fn format_row(format: &str, args: &[ArrayRef], row: usize, out: &mut String) -> Option<()> {
    let chars: Vec<char> = format.chars().collect();
    let mut next = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let s = spec(&chars, &mut i)?;
        let body = match s.conversion {
            '%' => "%".to_string(),
            'n' => "\n".to_string(),
            c => {
                let at = match s.index {
                    Some(n) => n.checked_sub(1)?,
                    None => {
                        next += 1;
                        next - 1
                    }
                };
                convert(c, &s, args.get(at)?, row)?
            }
        };
        pad(out, &body, &s);
    }
    Some(())
}

fn pad(out: &mut String, body: &str, s: &Spec) {
    let len = body.chars().count();
    if len >= s.width {
        out.push_str(body);
        return;
    }
    let fill = s.width - len;
    if s.left {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if s.zero && matches!(s.conversion, 'd' | 'x' | 'X' | 'o' | 'f' | 'e' | 'E') {
        let (sign, digits) = match body.strip_prefix(['-', '+', ' ']) {
            Some(rest) => (&body[..1], rest),
            None => ("", body),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

/// Java's `Double.toString`: plain between 10^-3 and 10^7, else computerised scientific.
fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = v.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{v}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = match mantissa.contains('.') {
        true => mantissa.to_string(),
        false => format!("{mantissa}.0"),
    };
    format!("{mantissa}E{exp}")
}

fn signed(body: String, negative: bool, s: &Spec) -> String {
    match (negative, s.plus, s.space) {
        (true, _, _) => format!("-{body}"),
        (false, true, _) => format!("+{body}"),
        (false, false, true) => format!(" {body}"),
        _ => body,
    }
}

fn grouped(digits: &str) -> String {
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One conversion of argument `arg` at `row`.
fn convert(c: char, s: &Spec, arg: &ArrayRef, row: usize) -> Option<String> {
    let null = arg.is_null(row);
    let t = arg.data_type();
    match c {
        's' | 'S' => {
            let mut text = match (null, t) {
                (true, _) => "null".to_string(),
                (false, DataType::Float64) => {
                    java_double(arg.as_primitive::<Float64Type>().value(row))
                }
                (false, DataType::Float32) => {
                    java_double(arg.as_primitive::<Float32Type>().value(row) as f64)
                }
                (false, _) => array_value_to_string(arg, row).ok()?,
            };
            if let Some(p) = s.precision {
                text = text.chars().take(p).collect();
            }
            Some(match c {
                'S' => text.to_uppercase(),
                _ => text,
            })
        }
        'b' | 'B' => {
            let v = match (null, t) {
                (true, _) => false,
                (false, DataType::Boolean) => arg.as_boolean().value(row),
                (false, _) => true,
            };
            let text = v.to_string();
            Some(match c {
                'B' => text.to_uppercase(),
                _ => text,
            })
        }
        _ if null => Some("null".into()),
        'd' | 'x' | 'X' | 'o' | 'c' => {
            if !t.is_integer() {
                return None;
            }
            let wide =
                datafusion::arrow::compute::cast(&arg.slice(row, 1), &DataType::Int64).ok()?;
            let v = wide.as_primitive::<Int64Type>().value(0);
            // Java prints a negative hexadecimal or octal as its type's two's complement.
            let bits = match t {
                DataType::Int8 | DataType::UInt8 => 8,
                DataType::Int16 | DataType::UInt16 => 16,
                DataType::Int32 | DataType::UInt32 => 32,
                _ => 64,
            };
            let unsigned = (v as u64) & (u64::MAX >> (64 - bits));
            Some(match c {
                'd' => {
                    let digits = v.unsigned_abs().to_string();
                    let digits = if s.group { grouped(&digits) } else { digits };
                    signed(digits, v < 0, s)
                }
                'x' => format!("{unsigned:x}"),
                'X' => format!("{unsigned:X}"),
                'o' => format!("{unsigned:o}"),
                _ => char::from_u32(u32::try_from(v).ok()?)?.to_string(),
            })
        }
        'f' | 'e' | 'E' => {
            let v = match t {
                DataType::Float64 => arg.as_primitive::<Float64Type>().value(row),
                DataType::Float32 => arg.as_primitive::<Float32Type>().value(row) as f64,
                _ => return None,
            };
            if !v.is_finite() {
                return Some(java_double(v));
            }
            let p = s.precision.unwrap_or(6);
            let body = match c {
                'f' => {
                    let text = format!("{:.p$}", v.abs());
                    match (s.group, text.split_once('.')) {
                        (true, Some((int, frac))) => format!("{}.{frac}", grouped(int)),
                        (true, None) => grouped(&text),
                        (false, _) => text,
                    }
                }
                _ => {
                    let text = format!("{:.p$e}", v.abs());
                    let (mantissa, exp) = text.split_once('e')?;
                    let exp: i32 = exp.parse().ok()?;
                    let mut out = String::new();
                    let _ = write!(
                        out,
                        "{mantissa}e{}{:02}",
                        if exp < 0 { '-' } else { '+' },
                        exp.abs()
                    );
                    if c == 'E' {
                        out = out.to_uppercase();
                    }
                    out
                }
            };
            Some(signed(body, v.is_sign_negative() && v != 0.0, s))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, Float64Array, Int32Array, StringArray};

    fn printf(format: &str, args: Vec<ArrayRef>) -> Option<String> {
        let mut out = String::new();
        format_row(format, &args, 0, &mut out).map(|_| out)
    }

    fn s(v: Option<&str>) -> ArrayRef {
        Arc::new(StringArray::from(vec![v]))
    }

    fn i(v: i32) -> ArrayRef {
        Arc::new(Int32Array::from(vec![v]))
    }

    fn f(v: f64) -> ArrayRef {
        Arc::new(Float64Array::from(vec![v]))
    }

    #[test]
    fn formats_as_java_does() {
        assert_eq!(
            printf("%s-%d", vec![s(Some("a")), i(5)]).as_deref(),
            Some("a-5")
        );
        assert_eq!(
            printf("%5s|", vec![s(Some("ab"))]).as_deref(),
            Some("   ab|")
        );
        assert_eq!(
            printf("%-4s|", vec![s(Some("ab"))]).as_deref(),
            Some("ab  |")
        );
        assert_eq!(printf("%s", vec![s(None)]).as_deref(), Some("null"));
        assert_eq!(printf("%.2f", vec![f(1.23456)]).as_deref(), Some("1.23"));
        assert_eq!(
            printf("%08.2f", vec![f(-1.23456)]).as_deref(),
            Some("-0001.23")
        );
        assert_eq!(
            printf("%e", vec![f(1234.5)]).as_deref(),
            Some("1.234500e+03")
        );
        assert_eq!(printf("%x", vec![i(-1)]).as_deref(), Some("ffffffff"));
        assert_eq!(
            printf("%,d", vec![i(1234567)]).as_deref(),
            Some("1,234,567")
        );
        assert_eq!(
            printf("%2$s %1$s", vec![s(Some("a")), s(Some("b"))]).as_deref(),
            Some("b a")
        );
        assert_eq!(printf("%s", vec![f(1.0)]).as_deref(), Some("1.0"));
        assert_eq!(printf("100%%", vec![]).as_deref(), Some("100%"));
    }

    #[test]
    fn refused_conversions_are_null() {
        let decimal: ArrayRef = Arc::new(
            Decimal128Array::from(vec![314159])
                .with_precision_and_scale(6, 5)
                .unwrap(),
        );
        assert_eq!(printf("%.2f", vec![decimal]), None);
        assert_eq!(printf("%d", vec![s(Some("x"))]), None);
        assert_eq!(printf("%s %s", vec![s(Some("x"))]), None);
        assert_eq!(printf("%q", vec![s(Some("x"))]), None);
    }
}
