//! Flink's `DATE_FORMAT(timestamp, pattern)`: a timestamp as text in a Java
//! `DateTimeFormatter` pattern (`yyyy-MM-dd HH:mm:ss`), which Flink's Nexmark q10, q15,
//! q16 and q17 group by. DataFusion's `date_format` is `to_char` with strftime patterns,
//! which would print `yyyy-MM-dd` literally, so Eddy registers this one under the name.

use std::fmt::Write;
use std::sync::Arc;

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use chrono::DateTime;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMillisecondType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateFormat {
    signature: Signature,
}

impl Default for DateFormat {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [time, pattern] = arg_types else {
            return Err(plan_error(format!(
                "function DATE_FORMAT takes a timestamp and a pattern, not {} arguments",
                arg_types.len()
            )));
        };
        // A string is read as a timestamp ('2024-01-01 10:00:00'), as Flink's
        // DATE_FORMAT(STRING, STRING) does.
        let time_ok = matches!(
            time,
            DataType::Timestamp(..)
                | DataType::Date32
                | DataType::Date64
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Null
        );
        let pattern_ok = matches!(
            pattern,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        );
        if !time_ok || !pattern_ok {
            return Err(plan_error(format!(
                "DATE_FORMAT takes a timestamp and a pattern string, not {time} and {pattern}"
            )));
        }
        Ok(vec![
            DataType::Timestamp(TimeUnit::Millisecond, None),
            DataType::Utf8,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let times = arrays[0].as_primitive::<TimestampMillisecondType>();
        let patterns = arrays[1].as_string::<i32>();
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        // The pattern is nearly always a literal: translate it once per batch.
        let mut compiled: Option<(String, Vec<Item<'static>>, bool)> = None;
        // Rows of a stream come in time order, many in one second: without fractions of a
        // second in the pattern, a row of the same second as the last one gets its text.
        let mut last: Option<i64> = None;
        let mut text = String::new();
        for r in 0..rows {
            if times.is_null(r) || patterns.is_null(r) {
                out.append_null();
                continue;
            }
            let pattern = patterns.value(r);
            if compiled.as_ref().is_none_or(|(p, _, _)| p != pattern) {
                let items = compile(pattern)?;
                let whole_seconds = !items.iter().any(shows_fractions);
                compiled = Some((pattern.to_string(), items, whole_seconds));
                last = None;
            }
            let Some((_, items, whole_seconds)) = &compiled else {
                unreachable!("compiled just above")
            };
            let millis = times.value(r);
            let second = millis.div_euclid(1000);
            if *whole_seconds && last == Some(second) {
                out.append_value(&text);
                continue;
            }
            let Some(time) = DateTime::from_timestamp_millis(millis) else {
                out.append_null();
                continue;
            };
            text.clear();
            write!(text, "{}", time.format_with_items(items.iter())).map_err(|_| {
                DataFusionError::Execution(format!("DATE_FORMAT cannot format with '{pattern}'"))
            })?;
            out.append_value(&text);
            last = Some(second);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

/// Whether a format item prints fractions of a second.
fn shows_fractions(item: &Item<'_>) -> bool {
    matches!(
        item,
        Item::Fixed(
            Fixed::Nanosecond
                | Fixed::Nanosecond3
                | Fixed::Nanosecond6
                | Fixed::Nanosecond9
                | Fixed::Internal(_)
                | Fixed::RFC3339
        ) | Item::Numeric(Numeric::Nanosecond, _)
    )
}

/// A Java `DateTimeFormatter` pattern as chrono's format items.
fn compile(pattern: &str) -> Result<Vec<Item<'static>>> {
    let strftime = java_to_strftime(pattern).map_err(|msg| {
        DataFusionError::External(Box::new(crate::RuntimeError::User(format!(
            "DATE_FORMAT: invalid pattern '{pattern}': {msg}"
        ))))
    })?;
    StrftimeItems::new(&strftime)
        .parse_to_owned()
        .map_err(|e| DataFusionError::Execution(format!("DATE_FORMAT: '{pattern}': {e}")))
}

/// Translates the pattern letters Flink users write; anything else is refused by name
/// rather than printed wrongly.
pub fn java_to_strftime(pattern: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text; '' is a quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err("an unterminated quote".into()),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        push_literal(&mut out, ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let spec = match (c, run) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', 1) => "%-j",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('S', n) => {
                return Err(format!(
                    "{n} fraction digits (use SSS, SSSSSS or SSSSSSSSS)"
                ))
            }
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', _) => "%z",
            ('X' | 'x', 1 | 2) => "%z",
            ('X' | 'x', _) => "%:z",
            (other, _) => return Err(format!("the pattern letter '{other}' is not supported")),
        };
        out.push_str(spec);
        i += run;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    match c {
        '%' => out.push_str("%%"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::Field;

    fn format(millis: Vec<Option<i64>>, pattern: &str) -> Result<Vec<Option<String>>> {
        let rows = millis.len();
        let times: ArrayRef = Arc::new(TimestampMillisecondArray::from(millis));
        let patterns: ArrayRef = Arc::new(StringArray::from(vec![pattern; rows]));
        let out = DateFormat::default().invoke_with_args(ScalarFunctionArgs {
            arg_fields: vec![
                Arc::new(Field::new("t", times.data_type().clone(), true)),
                Arc::new(Field::new("p", DataType::Utf8, true)),
            ],
            args: vec![ColumnarValue::Array(times), ColumnarValue::Array(patterns)],
            number_rows: rows,
            return_field: Arc::new(Field::new("r", DataType::Utf8, true)),
            config_options: Default::default(),
        })?;
        let out = out.into_array(rows)?;
        let out = out.as_string::<i32>();
        Ok((0..rows)
            .map(|r| (!out.is_null(r)).then(|| out.value(r).to_string()))
            .collect())
    }

    #[test]
    fn formats_java_patterns() {
        // 2015-07-24 10:07:45.123 UTC
        let t = Some(1_437_732_465_123);
        let got = |p: &str| format(vec![t], p).unwrap()[0].clone().unwrap();
        assert_eq!(got("yyyy-MM-dd"), "2015-07-24");
        assert_eq!(got("HH:mm"), "10:07");
        assert_eq!(got("yyyy-MM-dd HH:mm:ss.SSS"), "2015-07-24 10:07:45.123");
        assert_eq!(got("yy/M/d h a"), "15/7/24 10 AM");
        assert_eq!(got("'day' D, EEE MMM"), "day 205, Fri Jul");
        assert_eq!(got("'it''s' 100%"), "it's 100%");
        assert_eq!(
            format(vec![None, t], "yyyy").unwrap(),
            vec![None, Some("2015".into())]
        );
    }

    #[test]
    fn rows_of_one_second_share_their_text_unless_the_pattern_shows_fractions() {
        // 10:07:45.123, .999, then 10:07:46.000, a NULL, 10:07:46.500, and before 1970.
        let base = 1_437_732_465_123;
        let times = vec![
            Some(base),
            Some(base + 876),
            Some(base + 877),
            None,
            Some(base + 1377),
            Some(-1),
            Some(-1000),
        ];
        let got = |p: &str| format(times.clone(), p).unwrap();
        let text = |v: &[&str]| -> Vec<Option<String>> {
            let mut out: Vec<Option<String>> = v.iter().map(|s| Some(s.to_string())).collect();
            out.insert(3, None);
            out
        };
        assert_eq!(
            got("HH:mm:ss"),
            text(&["10:07:45", "10:07:45", "10:07:46", "10:07:46", "23:59:59", "23:59:59"])
        );
        assert_eq!(
            got("ss.SSS"),
            text(&["45.123", "45.999", "46.000", "46.500", "59.999", "59.000"])
        );
    }

    #[test]
    fn refuses_unknown_letters_by_name() {
        let err = format(vec![Some(0)], "yyyy-qq").unwrap_err().to_string();
        assert!(err.contains("'q'"), "{err}");
        let err = format(vec![Some(0)], "'open").unwrap_err().to_string();
        assert!(err.contains("unterminated"), "{err}");
    }
}
