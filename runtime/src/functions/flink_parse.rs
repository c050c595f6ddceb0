//! Flink's `TO_DATE(string [, format])` and `TO_TIMESTAMP(string [, format])`: the format
//! is a Java `DateTimeFormatter` pattern (`dd/MM/yyyy HH:mm`), not a strftime one; fields
//! the pattern leaves out default to 1970-01-01 00:00:00; the timestamp is TIMESTAMP(3);
//! and a string that does not parse is NULL rather than an error. Calls with a number
//! (PostgreSQL's `to_timestamp(epoch)`) stay DataFusion's.

use std::sync::Arc;

use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkParse {
    /// DataFusion's function, for arguments that are not strings.
    inner: Arc<ScalarUDF>,
    date: bool,
    signature: Signature,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use datafusion::functions::datetime;
    let config = datafusion::config::ConfigOptions::default();
    [
        (datetime::to_date(), true),
        (datetime::to_timestamp(&config), false),
    ]
    .into_iter()
    .map(|(inner, date)| {
        Arc::new(ScalarUDF::from(FlinkParse {
            inner,
            date,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

impl ScalarUDFImpl for FlinkParse {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] | [t, _] if is_text(t) => Ok(vec![DataType::Utf8; arg_types.len()]),
            [] => Err(DataFusionError::Plan(format!(
                "function {} takes a string and an optional format",
                self.name().to_uppercase()
            ))),
            // DataFusion's own forms (an epoch number, several strftime formats).
            _ => Ok(arg_types.to_vec()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let flink = arg_types.len() <= 2 && arg_types.first().is_some_and(is_text);
        match (flink, self.date) {
            (true, true) => Ok(DataType::Date32),
            (true, false) => Ok(DataType::Timestamp(TimeUnit::Millisecond, None)),
            (false, _) => self.inner.return_type(arg_types),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let flink = args.args.len() <= 2 && is_text(&args.args[0].data_type());
        if !flink {
            return self.inner.invoke_with_args(args);
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let values = parse_column(
            arrays[0].as_string::<i32>(),
            arrays.get(1).map(|a| a.as_string::<i32>()),
            self.date,
        )?;
        let out: ArrayRef = match self.date {
            true => {
                Arc::new(Date32Array::from_iter(values.into_iter().map(|v| {
                    v.map(|t| (t.date() - NaiveDate::default()).num_days() as i32)
                })))
            }
            false => Arc::new(TimestampMillisecondArray::from_iter(
                values
                    .into_iter()
                    .map(|v| v.map(|t| t.and_utc().timestamp_millis())),
            )),
        };
        match all_scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// Each string read with its row's Java pattern (or Flink's default formats); NULL where
/// either is NULL or the string does not match.
pub(crate) fn parse_column(
    text: &datafusion::arrow::array::StringArray,
    formats: Option<&datafusion::arrow::array::StringArray>,
    date: bool,
) -> Result<Vec<Option<NaiveDateTime>>> {
    let mut compiled: Option<(String, String)> = None;
    let mut values = Vec::with_capacity(text.len());
    for r in 0..text.len() {
        if text.is_null(r) || formats.is_some_and(|f| f.is_null(r)) {
            values.push(None);
            continue;
        }
        let parsed = match formats {
            None => default_format(text.value(r), date),
            Some(f) => {
                let pattern = f.value(r);
                if compiled.as_ref().is_none_or(|(p, _)| p != pattern) {
                    compiled = Some((pattern.to_string(), strftime_of(pattern)?));
                }
                let strftime = compiled.as_ref().map_or("", |(_, s)| s.as_str());
                with_pattern(text.value(r), strftime)
            }
        };
        values.push(parsed);
    }
    Ok(values)
}

/// Flink's default formats: `yyyy-MM-dd` for a date; for a timestamp `yyyy-MM-dd
/// HH:mm:ss` with an optional fraction (or a 'T' between date and time), or a date alone.
fn default_format(s: &str, date: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    if date {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0));
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| default_format(s, true))
}

/// Parses `s` with a strftime format, fields it lacks defaulting as Java's do in Flink.
fn with_pattern(s: &str, strftime: &str) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    parse(&mut parsed, s, StrftimeItems::new(strftime)).ok()?;
    if parsed.year().is_none() && parsed.year_mod_100().is_none() && parsed.isoyear().is_none() {
        parsed.set_year(1970).ok()?;
    }
    let by_week = parsed.week_from_sun().is_some()
        || parsed.week_from_mon().is_some()
        || parsed.isoweek().is_some();
    if parsed.ordinal().is_none() && !by_week {
        if parsed.month().is_none() {
            parsed.set_month(1).ok()?;
        }
        if parsed.day().is_none() {
            parsed.set_day(1).ok()?;
        }
    }
    if parsed.hour_mod_12().is_none() {
        parsed.set_hour(0).ok()?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).ok()?;
    }
    if parsed.second().is_none() {
        parsed.set_second(0).ok()?;
    }
    let date = parsed.to_naive_date().ok()?;
    let time = parsed.to_naive_time().ok()?;
    Some(date.and_time(time))
}

/// A Java `DateTimeFormatter` pattern as a chrono strftime format, for parsing.
fn strftime_of(pattern: &str) -> Result<String> {
    let unsupported = |c: char| {
        DataFusionError::External(Box::new(crate::RuntimeError::User(format!(
            "the date format '{pattern}' uses the pattern letter '{c}', which Eddy does not parse"
        ))))
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'text' is literal; '' is a quote.
            let end = chars[i + 1..].iter().position(|&q| q == '\'');
            match end {
                Some(0) => out.push('\''),
                Some(n) => chars[i + 1..i + 1 + n]
                    .iter()
                    .for_each(|&l| push_literal(&mut out, l)),
                None => chars[i + 1..]
                    .iter()
                    .for_each(|&l| push_literal(&mut out, l)),
            }
            i += end.map_or(chars.len(), |n| n + 2);
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        i += run;
        if !c.is_ascii_alphabetic() {
            (0..run).for_each(|_| push_literal(&mut out, c));
            continue;
        }
        out.push_str(match (c, run) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M' | 'L', 1 | 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', _) => "%B",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H' | 'k', _) => "%H",
            ('h' | 'K', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z' | 'X' | 'x', _) => "%z",
            (c, _) => return Err(unsupported(c)),
        });
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

    fn at(pattern: &str, s: &str) -> Option<String> {
        with_pattern(s, &strftime_of(pattern).unwrap()).map(|t| t.to_string())
    }

    #[test]
    fn java_patterns_parse_with_defaults() {
        assert_eq!(
            at("dd/MM/yyyy", "15/01/2024").as_deref(),
            Some("2024-01-15 00:00:00")
        );
        assert_eq!(
            at("dd/MM/yyyy HH", "15/01/2024 10").as_deref(),
            Some("2024-01-15 10:00:00")
        );
        assert_eq!(
            at("yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-01-15T10:11:12.345").as_deref(),
            Some("2024-01-15 10:11:12.345")
        );
        assert_eq!(at("HH:mm", "10:30").as_deref(), Some("1970-01-01 10:30:00"));
        assert_eq!(at("dd/MM/yyyy", "bad"), None);
        assert!(strftime_of("yyyy-MM-dd G").is_err());
    }

    #[test]
    fn default_formats() {
        assert_eq!(
            default_format("2024-01-15 10:11:12", false).map(|t| t.to_string()),
            Some("2024-01-15 10:11:12".into())
        );
        assert_eq!(
            default_format("2024-01-15 10:11:12.5", false).map(|t| t.to_string()),
            Some("2024-01-15 10:11:12.500".into())
        );
        assert!(default_format("bad", false).is_none());
        assert!(default_format("2024-01-15 10:11:12", true).is_none());
    }
}
