//! Flink's built-in scalar functions that DataFusion has under another name or not at all,
//! with Flink's semantics (names, argument types, NULL handling, result types), as
//! `docs/functions.md` lists them against Flink 2.3's own answers.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Datelike, Months, NaiveDateTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Int32Array, StringBuilder,
};
use datafusion::arrow::compute::kernels::temporal::{date_part, DatePart};
use datafusion::arrow::compute::{cast, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMillisecondType};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Which function a [`FlinkScalar`] is.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
pub(super) enum Scalar {
    /// `YEAR`, `QUARTER`, `MONTH`, `WEEK`, `DAYOFYEAR`, `DAYOFMONTH`, `DAYOFWEEK` (Sunday
    /// is 1), `MINUTE`, `SECOND` of a date or timestamp, as BIGINT.
    Part(Part),
    /// `IF(condition, a, b)`: `a` where the condition is true, else `b` (NULL is false).
    If,
    /// `E()`.
    E,
    /// `TIMESTAMPADD(unit, n, date_or_timestamp)`.
    TimestampAdd,
    /// `TIMESTAMPDIFF(unit, from, to)`: whole units from `from` to `to`, as INT.
    TimestampDiff,
    /// `LOCATE(needle, haystack [, from])`: 1-based position, 0 when absent.
    Locate,
    /// `HEX(integer | string)`: upper-case hexadecimal (of two's complement, of UTF-8).
    Hex,
    /// `UNHEX(string)`: the bytes, NULL when it is not hexadecimal.
    Unhex,
    /// `BIN(integer)`: binary digits of the two's complement.
    Bin,
    /// `TO_BASE64(string)` / `FROM_BASE64(string)`: standard alphabet, padded.
    ToBase64,
    FromBase64,
    /// `IS_ALPHA`, `IS_DIGIT`, `IS_DECIMAL`: FALSE (not NULL) for NULL.
    IsAlpha,
    IsDigit,
    IsDecimal,
    /// `ELT(n, s1, s2, ...)`: the `n`th string, NULL out of range.
    Elt,
    /// `JSON_QUOTE(string)` / `JSON_UNQUOTE(string)`.
    JsonQuote,
    JsonUnquote,
    /// `SPLIT(string, delimiter)`: an array of the parts; an empty delimiter splits into
    /// characters.
    Split,
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
pub(super) enum Part {
    Year,
    Quarter,
    Month,
    Week,
    DayOfYear,
    DayOfMonth,
    DayOfWeek,
    Minute,
    Second,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use self::Part::*;
    use Scalar::*;
    [
        Scalar::Part(Year),
        Scalar::Part(Quarter),
        Scalar::Part(Month),
        Scalar::Part(Week),
        Scalar::Part(DayOfYear),
        Scalar::Part(DayOfMonth),
        Scalar::Part(DayOfWeek),
        Scalar::Part(Minute),
        Scalar::Part(Second),
        If,
        E,
        TimestampAdd,
        TimestampDiff,
        Locate,
        Hex,
        Unhex,
        Bin,
        ToBase64,
        FromBase64,
        IsAlpha,
        IsDigit,
        IsDecimal,
        Elt,
        JsonQuote,
        JsonUnquote,
        Split,
    ]
    .into_iter()
    .map(|f| {
        Arc::new(ScalarUDF::from(FlinkScalar {
            function: f,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkScalar {
    function: Scalar,
    signature: Signature,
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// A date stays a date; any timestamp becomes milliseconds with its zone; text is read as
/// a timestamp.
fn temporal(t: &DataType) -> DataType {
    match t {
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Millisecond, tz.clone()),
        _ => DataType::Timestamp(TimeUnit::Millisecond, None),
    }
}

impl ScalarUDFImpl for FlinkScalar {
    fn name(&self) -> &str {
        use Part::*;
        match self.function {
            Scalar::Part(Year) => "year",
            Scalar::Part(Quarter) => "quarter",
            Scalar::Part(Month) => "month",
            Scalar::Part(Week) => "week",
            Scalar::Part(DayOfYear) => "dayofyear",
            Scalar::Part(DayOfMonth) => "dayofmonth",
            Scalar::Part(DayOfWeek) => "dayofweek",
            Scalar::Part(Minute) => "minute",
            Scalar::Part(Second) => "second",
            Scalar::If => "if",
            Scalar::E => "e",
            Scalar::TimestampAdd => "timestampadd",
            Scalar::TimestampDiff => "timestampdiff",
            Scalar::Locate => "locate",
            Scalar::Hex => "hex",
            Scalar::Unhex => "unhex",
            Scalar::Bin => "bin",
            Scalar::ToBase64 => "to_base64",
            Scalar::FromBase64 => "from_base64",
            Scalar::IsAlpha => "is_alpha",
            Scalar::IsDigit => "is_digit",
            Scalar::IsDecimal => "is_decimal",
            Scalar::Elt => "elt",
            Scalar::JsonQuote => "json_quote",
            Scalar::JsonUnquote => "json_unquote",
            Scalar::Split => "split",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let n = args.len();
        let name = self.name().to_uppercase();
        let arity = |ok: bool| -> Result<()> {
            match ok {
                true => Ok(()),
                false => Err(plan_error(format!(
                    "function {name} does not take {n} arguments"
                ))),
            }
        };
        Ok(match self.function {
            Scalar::Part(_) => {
                arity(n == 1)?;
                vec![temporal(&args[0])]
            }
            Scalar::If => {
                arity(n == 3)?;
                let t = match (&args[1], &args[2]) {
                    (a, b) if a == b => a.clone(),
                    (DataType::Null, b) => b.clone(),
                    (a, DataType::Null) => a.clone(),
                    (a, b) => datafusion::logical_expr::type_coercion::binary::comparison_coercion(
                        a, b,
                    )
                    .ok_or_else(|| plan_error(format!("IF: no common type of {a} and {b}")))?,
                };
                vec![DataType::Boolean, t.clone(), t]
            }
            Scalar::E => {
                arity(n == 0)?;
                vec![]
            }
            Scalar::TimestampAdd => {
                arity(n == 3)?;
                vec![DataType::Utf8, DataType::Int64, temporal(&args[2])]
            }
            Scalar::TimestampDiff => {
                arity(n == 3)?;
                // Both sides alike: a date against a timestamp compares at midnight.
                let t = match (temporal(&args[1]), temporal(&args[2])) {
                    (a, b) if a == b => a,
                    (DataType::Timestamp(_, tz), _) | (_, DataType::Timestamp(_, tz)) => {
                        DataType::Timestamp(TimeUnit::Millisecond, tz)
                    }
                    (a, _) => a,
                };
                vec![DataType::Utf8, t.clone(), t]
            }
            Scalar::Locate => {
                arity(n == 2 || n == 3)?;
                let mut t = vec![DataType::Utf8, DataType::Utf8];
                if n == 3 {
                    t.push(DataType::Int64);
                }
                t
            }
            Scalar::Hex => {
                arity(n == 1)?;
                match &args[0] {
                    t if t.is_integer() => vec![DataType::Int64],
                    DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                        vec![DataType::Binary]
                    }
                    _ => vec![DataType::Utf8],
                }
            }
            Scalar::Bin => {
                arity(n == 1)?;
                if !(args[0].is_integer() || args[0].is_null()) {
                    return Err(plan_error(format!("BIN takes an integer, not {}", args[0])));
                }
                vec![DataType::Int64]
            }
            Scalar::Unhex
            | Scalar::ToBase64
            | Scalar::FromBase64
            | Scalar::IsAlpha
            | Scalar::IsDigit
            | Scalar::IsDecimal
            | Scalar::JsonQuote
            | Scalar::JsonUnquote => {
                arity(n == 1)?;
                vec![DataType::Utf8]
            }
            Scalar::Split => {
                arity(n == 2)?;
                vec![DataType::Utf8, DataType::Utf8]
            }
            Scalar::Elt => {
                arity(n >= 2)?;
                let mut t = vec![DataType::Int64];
                t.extend(std::iter::repeat_n(DataType::Utf8, n - 1));
                t
            }
        })
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Scalar::Part(_) => DataType::Int64,
            Scalar::If => args.get(1).cloned().unwrap_or(DataType::Null),
            Scalar::E => DataType::Float64,
            Scalar::TimestampAdd => args.get(2).cloned().unwrap_or(DataType::Null),
            Scalar::TimestampDiff | Scalar::Locate => DataType::Int32,
            Scalar::Unhex => DataType::Binary,
            Scalar::IsAlpha | Scalar::IsDigit | Scalar::IsDecimal => DataType::Boolean,
            Scalar::Split => DataType::List(Arc::new(
                datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true),
            )),
            Scalar::Hex
            | Scalar::Bin
            | Scalar::ToBase64
            | Scalar::FromBase64
            | Scalar::Elt
            | Scalar::JsonQuote
            | Scalar::JsonUnquote => DataType::Utf8,
        })
    }

    /// IF becomes a CASE, which evaluates only the branch each row takes, as Flink's IF
    /// does (`IF(x = 0, 0, 10 / x)` never divides by zero).
    fn simplify(
        &self,
        args: Vec<datafusion::logical_expr::Expr>,
        _info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        use datafusion::logical_expr::simplify::ExprSimplifyResult;
        use datafusion::logical_expr::{Case, Expr};
        if self.function != Scalar::If || args.len() != 3 {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let mut args = args.into_iter();
        let (Some(cond), Some(then), Some(otherwise)) = (args.next(), args.next(), args.next())
        else {
            return Err(DataFusionError::Internal("IF lost an argument".into()));
        };
        Ok(ExprSimplifyResult::Simplified(Expr::Case(Case::new(
            None,
            vec![(Box::new(cond), Box::new(then))],
            Some(Box::new(otherwise)),
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.function == Scalar::E {
            return Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(
                std::f64::consts::E,
            ))));
        }
        let rows = args.number_rows;
        let a = ColumnarValue::values_to_arrays(&args.args)?;
        let out: ArrayRef = match self.function {
            Scalar::Part(p) => part(&a[0], p)?,
            Scalar::If => {
                let cond = a[0].as_boolean();
                let cond = match cond.null_count() {
                    0 => cond.clone(),
                    _ => prep_null_mask_filter(cond),
                };
                datafusion::arrow::compute::kernels::zip::zip(&cond, &a[1], &a[2])?
            }
            Scalar::E => return Err(DataFusionError::Internal("E() is answered above".into())),
            Scalar::TimestampAdd => timestamp_add(&a, rows)?,
            Scalar::TimestampDiff => timestamp_diff(&a, rows)?,
            Scalar::Locate => locate(&a, rows),
            Scalar::Hex => hex(&a[0], rows),
            Scalar::Unhex => {
                let s = a[0].as_string::<i32>();
                let mut out = BinaryBuilder::new();
                for r in 0..rows {
                    if s.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    out.append_option(unhex(s.value(r)));
                }
                Arc::new(out.finish())
            }
            Scalar::Bin => strings(rows, |r| {
                let v = a[0].as_primitive::<Int64Type>();
                (!v.is_null(r)).then(|| format!("{:b}", v.value(r) as u64))
            }),
            Scalar::ToBase64 => strings(rows, |r| {
                let s = a[0].as_string::<i32>();
                (!s.is_null(r))
                    .then(|| base64::engine::general_purpose::STANDARD.encode(s.value(r)))
            }),
            Scalar::FromBase64 => strings(rows, |r| {
                let s = a[0].as_string::<i32>();
                if s.is_null(r) {
                    return None;
                }
                // Padded or not, as Java's decoder (which Flink uses) takes it.
                let engine = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                );
                let bytes = engine.decode(s.value(r)).ok()?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }),
            Scalar::IsAlpha | Scalar::IsDigit | Scalar::IsDecimal => {
                let s = a[0].as_string::<i32>();
                let test = |t: &str| match self.function {
                    Scalar::IsAlpha => !t.is_empty() && t.chars().all(char::is_alphabetic),
                    Scalar::IsDigit => !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()),
                    _ => is_decimal(t),
                };
                Arc::new(BooleanArray::from_iter(
                    (0..rows).map(|r| Some(!s.is_null(r) && test(s.value(r)))),
                ))
            }
            Scalar::Elt => {
                let index = a[0].as_primitive::<Int64Type>();
                strings(rows, |r| {
                    if index.is_null(r) {
                        return None;
                    }
                    let i = usize::try_from(index.value(r)).ok().filter(|i| *i >= 1)?;
                    let s = a.get(i)?.as_string::<i32>();
                    (!s.is_null(r)).then(|| s.value(r).to_string())
                })
            }
            Scalar::JsonQuote => strings(rows, |r| {
                let s = a[0].as_string::<i32>();
                (!s.is_null(r)).then(|| json_quote(s.value(r)))
            }),
            Scalar::Split => {
                let (s, d) = (a[0].as_string::<i32>(), a[1].as_string::<i32>());
                let mut out = datafusion::arrow::array::ListBuilder::new(StringBuilder::new());
                for r in 0..rows {
                    if s.is_null(r) || d.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    let (text, delimiter) = (s.value(r), d.value(r));
                    match delimiter.is_empty() {
                        true => {
                            let mut buf = [0u8; 4];
                            for c in text.chars() {
                                out.values().append_value(c.encode_utf8(&mut buf));
                            }
                        }
                        false => {
                            for part in text.split(delimiter) {
                                out.values().append_value(part);
                            }
                        }
                    }
                    out.append(true);
                }
                Arc::new(out.finish())
            }
            Scalar::JsonUnquote => strings(rows, |r| {
                let s = a[0].as_string::<i32>();
                if s.is_null(r) {
                    return None;
                }
                let text = s.value(r);
                // Not a JSON string literal: Flink gives it back as it is.
                Some(serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string()))
            }),
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn strings(rows: usize, mut f: impl FnMut(usize) -> Option<String>) -> ArrayRef {
    let mut out = StringBuilder::with_capacity(rows, 0);
    for r in 0..rows {
        out.append_option(f(r));
    }
    Arc::new(out.finish())
}

fn part(a: &ArrayRef, p: Part) -> Result<ArrayRef> {
    let (arrow, shift) = match p {
        Part::Year => (DatePart::Year, 0),
        Part::Quarter => (DatePart::Quarter, 0),
        Part::Month => (DatePart::Month, 0),
        Part::Week => (DatePart::Week, 0),
        Part::DayOfYear => (DatePart::DayOfYear, 0),
        Part::DayOfMonth => (DatePart::Day, 0),
        // Flink's (and SQL's) DAYOFWEEK: Sunday is 1.
        Part::DayOfWeek => (DatePart::DayOfWeekSunday0, 1),
        Part::Minute => (DatePart::Minute, 0),
        Part::Second => (DatePart::Second, 0),
    };
    let values = cast(&date_part(a, arrow)?, &DataType::Int64)?;
    let values = values.as_primitive::<Int64Type>();
    Ok(Arc::new(values.unary::<_, Int64Type>(|v| v + shift)))
}

/// Milliseconds since the epoch of each row of a date or timestamp column.
fn millis(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let ts = cast(a, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
    let ts = ts.as_primitive::<TimestampMillisecondType>();
    Ok((0..ts.len())
        .map(|r| (!ts.is_null(r)).then(|| ts.value(r)))
        .collect())
}

fn datetime(ms: i64) -> Result<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.naive_utc())
        .ok_or_else(|| user_error(format!("{ms} ms is outside the range of TIMESTAMP")))
}

/// A TIMESTAMPADD / TIMESTAMPDIFF unit as milliseconds, or as months for the calendar ones.
enum Unit {
    Millis(i64),
    Months(i64),
}

fn unit(name: &str) -> Result<Unit> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "MILLISECOND" => Unit::Millis(1),
        "SECOND" => Unit::Millis(1_000),
        "MINUTE" => Unit::Millis(60_000),
        "HOUR" => Unit::Millis(3_600_000),
        "DAY" => Unit::Millis(86_400_000),
        "WEEK" => Unit::Millis(7 * 86_400_000),
        "MONTH" => Unit::Months(1),
        "QUARTER" => Unit::Months(3),
        "YEAR" => Unit::Months(12),
        other => {
            return Err(user_error(format!(
                "'{other}' is not a unit of TIMESTAMPADD / TIMESTAMPDIFF: use MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR"
            )))
        }
    })
}

fn timestamp_add(a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let units = a[0].as_string::<i32>();
    let amounts = a[1].as_primitive::<Int64Type>();
    let base = millis(&a[2])?;
    let mut out: Vec<Option<i64>> = Vec::with_capacity(rows);
    for (r, ms) in base.into_iter().enumerate().take(rows) {
        let (Some(ms), false, false) = (ms, amounts.is_null(r), units.is_null(r)) else {
            out.push(None);
            continue;
        };
        let n = amounts.value(r);
        let overflow = || user_error(format!("TIMESTAMPADD: adding {n} overflows TIMESTAMP"));
        let added = match unit(units.value(r))? {
            Unit::Millis(u) => n
                .checked_mul(u)
                .and_then(|d| ms.checked_add(d))
                .ok_or_else(overflow)?,
            Unit::Months(u) => {
                let months = n.checked_mul(u).ok_or_else(overflow)?;
                let t = datetime(ms)?;
                let moved = match months >= 0 {
                    true => t.checked_add_months(Months::new(
                        u32::try_from(months).map_err(|_| overflow())?,
                    )),
                    false => t.checked_sub_months(Months::new(
                        u32::try_from(months.unsigned_abs()).map_err(|_| overflow())?,
                    )),
                };
                moved.ok_or_else(overflow)?.and_utc().timestamp_millis()
            }
        };
        out.push(Some(added));
    }
    let result = datafusion::arrow::array::TimestampMillisecondArray::from(out);
    match a[2].data_type() {
        // The same instant, in its zone: a cast from a zoneless value would read it as a
        // wall time there.
        DataType::Timestamp(_, zone) => Ok(Arc::new(result.with_timezone_opt(zone.clone()))),
        other => Ok(cast(&(Arc::new(result) as ArrayRef), other)?),
    }
}

fn timestamp_diff(a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let units = a[0].as_string::<i32>();
    let (from, to) = (millis(&a[1])?, millis(&a[2])?);
    let mut out = Vec::with_capacity(rows);
    for (r, (f, t)) in from.into_iter().zip(to).enumerate().take(rows) {
        let (Some(f), Some(t), false) = (f, t, units.is_null(r)) else {
            out.push(None);
            continue;
        };
        let whole = match unit(units.value(r))? {
            Unit::Millis(u) => {
                t.checked_sub(f)
                    .ok_or_else(|| user_error("TIMESTAMPDIFF: the difference overflows".into()))?
                    / u
            }
            Unit::Months(u) => months_between(datetime(f)?, datetime(t)?) / u,
        };
        out.push(Some(i32::try_from(whole).map_err(|_| {
            user_error(format!("TIMESTAMPDIFF: {whole} does not fit an INT"))
        })?));
    }
    Ok(Arc::new(Int32Array::from(out)))
}

/// Whole months from `f` to `t`, as Calcite counts them: a month is complete once the
/// day and time of day have come round again.
fn months_between(f: NaiveDateTime, t: NaiveDateTime) -> i64 {
    let raw = (t.year() as i64 * 12 + t.month() as i64) - (f.year() as i64 * 12 + f.month() as i64);
    let rest = |d: &NaiveDateTime| (d.day(), d.num_seconds_from_midnight(), d.nanosecond());
    if raw > 0 && rest(&t) < rest(&f) {
        raw - 1
    } else if raw < 0 && rest(&t) > rest(&f) {
        raw + 1
    } else {
        raw
    }
}

fn locate(a: &[ArrayRef], rows: usize) -> ArrayRef {
    let (needle, hay) = (a[0].as_string::<i32>(), a[1].as_string::<i32>());
    let from = a.get(2).map(|f| f.as_primitive::<Int64Type>());
    Arc::new(Int32Array::from_iter((0..rows).map(|r| {
        if needle.is_null(r) || hay.is_null(r) || from.is_some_and(|f| f.is_null(r)) {
            return None;
        }
        let start = from.map(|f| f.value(r)).unwrap_or(1);
        if start < 1 {
            return Some(0);
        }
        let hay = hay.value(r);
        // Character positions, as Flink counts them.
        let Some((byte_start, _)) = hay.char_indices().nth((start - 1) as usize) else {
            return Some(0);
        };
        Some(match hay[byte_start..].find(needle.value(r)) {
            Some(at) => (hay[..byte_start + at].chars().count() + 1) as i32,
            None => 0,
        })
    })))
}

fn hex(a: &ArrayRef, rows: usize) -> ArrayRef {
    let upper = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    match a.data_type() {
        DataType::Int64 => {
            let v = a.as_primitive::<Int64Type>();
            strings(rows, |r| {
                (!v.is_null(r)).then(|| format!("{:X}", v.value(r) as u64))
            })
        }
        DataType::Binary => {
            let v = a.as_binary::<i32>();
            strings(rows, |r| (!v.is_null(r)).then(|| upper(v.value(r))))
        }
        _ => {
            let v = a.as_string::<i32>();
            strings(rows, |r| {
                (!v.is_null(r)).then(|| upper(v.value(r).as_bytes()))
            })
        }
    }
}

/// Flink's UNHEX: hexadecimal digits only (else NULL); with an odd number of them, the
/// first stands alone and gives a zero byte, as Flink 2.3 answers (`41a` is `\x001a`).
fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let (mut out, rest) = match bytes.len() % 2 {
        1 => (vec![0u8], &bytes[1..]),
        _ => (Vec::with_capacity(bytes.len() / 2), bytes),
    };
    for pair in rest.chunks(2) {
        out.push(digit(pair[0])? * 16 + digit(*pair.get(1)?)?);
    }
    Some(out)
}

fn is_decimal(t: &str) -> bool {
    let t = t.trim();
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && t.parse::<f64>().is_ok()
}

/// A JSON string literal as Flink writes it: `/` escaped too.
fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Flink writes every code point past ASCII as \uXXXX (UTF-16 units) and leaves
            // the other control characters as they are.
            c if !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months_and_text_helpers_follow_flink() {
        let d = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // Flink 2.3: TIMESTAMPDIFF(MONTH, 2024-01-31, 2024-03-01) = 1, YEAR over 2020-06-01
        // .. 2024-05-31 = 3 (sqllogictest/flink_functions/flink_answers.json).
        assert_eq!(
            months_between(d("2024-01-31 00:00:00"), d("2024-03-01 00:00:00")),
            1
        );
        assert_eq!(
            months_between(d("2020-06-01 00:00:00"), d("2024-05-31 00:00:00")) / 12,
            3
        );
        assert_eq!(
            months_between(d("2024-03-01 00:00:00"), d("2024-01-31 00:00:00")),
            -1
        );
        assert_eq!(json_quote("a\"b/c"), "\"a\\\"b\\/c\"");
        assert_eq!(unhex("001a"), Some(vec![0, 0x1a]));
        assert_eq!(unhex("41a"), Some(vec![0, 0x1a]));
        assert_eq!(unhex("ZZ"), None);
        assert_eq!(unhex("+1"), None);
        assert_eq!(json_quote("é"), "\"\\u00e9\"");
        assert!(is_decimal("1e5") && is_decimal("-12") && !is_decimal("abc") && !is_decimal("inf"));
    }
}
