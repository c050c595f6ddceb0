//! Flink's string functions whose answers differ from DataFusion's (which follow
//! PostgreSQL): `SUBSTR` / `SUBSTRING` count a start of 0 as 1 and a negative start from
//! the end, and a negative length is NULL; `LEFT` and `RIGHT` give '' for a negative
//! length; `REPLACE` of '' inserts between characters (Java's `String.replace`);
//! `OVERLAY` from outside the string leaves it as it is; `CHR` takes its code modulo 256
//! (Hive's, which Flink keeps). Lengths and positions count characters, not bytes.
//!
//! `SUBSTRING(s FROM a FOR b)` and `OVERLAY(...)` are syntax DataFusion plans through its
//! expression planners straight to its own functions, so [`FlinkStringPlanner`] plans
//! them to these instead.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Text {
    Substr,
    Left,
    Right,
    Replace,
    Overlay,
    Chr,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkString {
    function: Text,
    signature: Signature,
    aliases: Vec<String>,
}

fn udf(function: Text) -> Arc<ScalarUDF> {
    let aliases = match function {
        Text::Substr => vec!["substring".to_string()],
        _ => vec![],
    };
    Arc::new(ScalarUDF::from(FlinkString {
        function,
        signature: Signature::user_defined(Volatility::Immutable),
        aliases,
    }))
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [
        Text::Substr,
        Text::Left,
        Text::Right,
        Text::Replace,
        Text::Overlay,
        Text::Chr,
    ]
    .into_iter()
    .map(udf)
    .collect()
}

/// Plans `SUBSTRING(... FROM ... FOR ...)` and `OVERLAY(... PLACING ...)` to Flink's
/// functions, and `EXTRACT(DOW ...)` (1 for Sunday to 7, where PostgreSQL counts 0 to 6)
/// and `EXTRACT(MILLISECOND ...)` (of the second, where PostgreSQL counts the seconds
/// in too) as Flink does; registered ahead of DataFusion's planners, which would pick
/// their own.
#[derive(Debug)]
pub struct FlinkStringPlanner;

impl ExprPlanner for FlinkStringPlanner {
    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(udf(Text::Substr), args),
        )))
    }

    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        let field = match args.first() {
            Some(Expr::Literal(ScalarValue::Utf8(Some(f)), _)) => f.to_ascii_lowercase(),
            _ => return Ok(PlannerResult::Original(args)),
        };
        match field.as_str() {
            "dow" => {
                let Some(day_of_week) = super::flink_scalar::all()
                    .into_iter()
                    .find(|f| f.name() == "dayofweek")
                else {
                    return Ok(PlannerResult::Original(args));
                };
                Ok(PlannerResult::Planned(Expr::ScalarFunction(
                    ScalarFunction::new_udf(day_of_week, args[1..].to_vec()),
                )))
            }
            "millisecond" | "milliseconds" => {
                let part = Expr::ScalarFunction(ScalarFunction::new_udf(
                    datafusion::functions::datetime::date_part(),
                    args,
                ));
                Ok(PlannerResult::Planned(
                    part % datafusion::logical_expr::lit(1000),
                ))
            }
            _ => Ok(PlannerResult::Original(args)),
        }
    }

    fn plan_overlay(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(udf(Text::Overlay), args),
        )))
    }
}

impl ScalarUDFImpl for FlinkString {
    fn name(&self) -> &str {
        match self.function {
            Text::Substr => "substr",
            Text::Left => "left",
            Text::Right => "right",
            Text::Replace => "replace",
            Text::Overlay => "overlay",
            Text::Chr => "chr",
        }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        use DataType::{Int64, Utf8};
        let n = arg_types.len();
        let types: &[DataType] = match (self.function, n) {
            (Text::Substr, 2 | 3) => &[Utf8, Int64, Int64],
            (Text::Left | Text::Right, 2) => &[Utf8, Int64],
            (Text::Replace, 3) => &[Utf8, Utf8, Utf8],
            (Text::Overlay, 3 | 4) => &[Utf8, Utf8, Int64, Int64],
            (Text::Chr, 1) => &[Int64],
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "function {} does not take {n} arguments",
                    self.name().to_uppercase()
                )))
            }
        };
        Ok(types[..n].to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = match self.function {
            Text::Chr => chr(&arrays[0]),
            Text::Replace => replace(&arrays),
            _ => positional(self.function, &arrays),
        };
        match all_scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// The byte offset of character `chars` of `s`, or its length when `s` is shorter.
fn byte_at(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// Characters `start..end` of `s` (clamped to it).
fn char_range(s: &str, start: usize, end: usize) -> &str {
    let from = byte_at(s, start);
    let to = from + byte_at(&s[from..], end.saturating_sub(start));
    &s[from..to]
}

/// Flink's `SUBSTRING(s, pos [, len])`; `None` (NULL) for a negative length.
fn substr(s: &str, pos: i64, len: Option<i64>) -> Option<&str> {
    let len = match len {
        Some(l) if l < 0 => return None,
        Some(l) => l,
        None => i64::MAX,
    };
    let chars = s.chars().count() as i64;
    let start = match pos {
        p if p > 0 => p - 1,
        p if p < 0 => chars + p,
        _ => 0,
    };
    if start < 0 || start >= chars {
        return Some("");
    }
    let end = start.saturating_add(len).min(chars);
    Some(char_range(s, start as usize, end as usize))
}

/// Flink's `OVERLAY(s PLACING r FROM pos [FOR len])`: `len` defaults to `r`'s length.
fn overlay(s: &str, r: &str, pos: i64, len: Option<i64>) -> String {
    let chars = s.chars().count() as i64;
    if pos <= 0 || pos > chars {
        return s.to_string();
    }
    let start = pos - 1;
    let len = len.unwrap_or_else(|| r.chars().count() as i64);
    let end = start.saturating_add(len).clamp(start, chars);
    let mut out = String::with_capacity(s.len() + r.len());
    out.push_str(char_range(s, 0, start as usize));
    out.push_str(r);
    out.push_str(char_range(s, end as usize, chars as usize));
    out
}

/// SUBSTR, LEFT, RIGHT and OVERLAY: a string and integer positions, NULL when any is.
fn positional(function: Text, arrays: &[ArrayRef]) -> ArrayRef {
    let s = arrays[0].as_string::<i32>();
    let ints = |i: usize| arrays.get(i).map(|a| a.as_primitive::<Int64Type>());
    let rows = s.len();
    let mut out = StringBuilder::with_capacity(rows, s.values().len());
    let mut scratch: String;
    for row in 0..rows {
        let int = |i: usize| ints(i).map(|a| (!a.is_null(row)).then(|| a.value(row)));
        if arrays.iter().any(|a| a.is_null(row)) {
            out.append_null();
            continue;
        }
        let text = s.value(row);
        let value: Option<&str> = match function {
            Text::Substr => substr(text, int(1).flatten().unwrap_or(1), int(2).flatten()),
            Text::Left => {
                let n = int(1).flatten().unwrap_or(0);
                Some(match n < 0 {
                    true => "",
                    false => char_range(text, 0, n as usize),
                })
            }
            Text::Right => {
                let n = int(1).flatten().unwrap_or(0);
                let chars = text.chars().count();
                Some(match n < 0 {
                    true => "",
                    false => char_range(text, chars.saturating_sub(n as usize), chars),
                })
            }
            Text::Overlay => {
                let r = arrays[1].as_string::<i32>().value(row);
                scratch = overlay(text, r, int(2).flatten().unwrap_or(1), int(3).flatten());
                Some(scratch.as_str())
            }
            Text::Replace | Text::Chr => None,
        };
        out.append_option(value);
    }
    Arc::new(out.finish())
}

/// Java's `String.replace(target, replacement)`, which Rust's `str::replace` matches,
/// '' included (the replacement goes between every character and at both ends).
fn replace(arrays: &[ArrayRef]) -> ArrayRef {
    let (s, from, to) = (
        arrays[0].as_string::<i32>(),
        arrays[1].as_string::<i32>(),
        arrays[2].as_string::<i32>(),
    );
    let mut out = StringBuilder::with_capacity(s.len(), s.values().len());
    for row in 0..s.len() {
        match s.is_null(row) || from.is_null(row) || to.is_null(row) {
            true => out.append_null(),
            false => out.append_value(s.value(row).replace(from.value(row), to.value(row))),
        }
    }
    Arc::new(out.finish())
}

/// `CHR(n)`: the character with code `n` modulo 256; '' for a negative `n`.
fn chr(codes: &ArrayRef) -> ArrayRef {
    let codes = codes.as_primitive::<Int64Type>();
    let mut out = StringBuilder::with_capacity(codes.len(), codes.len());
    for row in 0..codes.len() {
        if codes.is_null(row) {
            out.append_null();
            continue;
        }
        match codes.value(row) {
            n if n < 0 => out.append_value(""),
            n => out.append_value(char::from((n & 0xFF) as u8).to_string()),
        }
    }
    Arc::new(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::Field;

    fn call(function: Text, args: Vec<ArrayRef>) -> Vec<Option<String>> {
        let rows = args[0].len();
        let arg_fields = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type().clone(), true)))
            .collect();
        let out = udf(function)
            .invoke_with_args(ScalarFunctionArgs {
                args: args.into_iter().map(ColumnarValue::Array).collect(),
                arg_fields,
                number_rows: rows,
                return_field: Arc::new(Field::new("r", DataType::Utf8, true)),
                config_options: Default::default(),
            })
            .unwrap()
            .into_array(rows)
            .unwrap();
        let out = out.as_string::<i32>();
        (0..rows)
            .map(|r| (!out.is_null(r)).then(|| out.value(r).to_string()))
            .collect()
    }

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn ints(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    fn some(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn substr_counts_zero_as_one_and_negative_from_the_end() {
        let s = strings(&[Some("hello"); 6]);
        let pos = ints(&[Some(2), Some(0), Some(-3), Some(-2), Some(9), Some(-9)]);
        let len = ints(&[Some(3), Some(2), Some(2), None, Some(1), Some(2)]);
        let out = call(Text::Substr, vec![s.clone(), pos.clone(), len]);
        assert_eq!(
            out,
            vec![
                Some("ell".into()),
                Some("he".into()),
                Some("ll".into()),
                None,
                Some("".into()),
                Some("".into())
            ]
        );
        let out = call(Text::Substr, vec![s, pos]);
        assert_eq!(out, some(&["ello", "hello", "llo", "lo", "", ""]));
        let neg = call(
            Text::Substr,
            vec![
                strings(&[Some("héllo")]),
                ints(&[Some(2)]),
                ints(&[Some(-1)]),
            ],
        );
        assert_eq!(neg, vec![None]);
        let utf8 = call(
            Text::Substr,
            vec![strings(&[Some("héllo")]), ints(&[Some(2)])],
        );
        assert_eq!(utf8, some(&["éllo"]));
    }

    #[test]
    fn left_and_right_of_negative_lengths_are_empty() {
        let s = strings(&[Some("hello"), Some("hello"), Some("hello"), None]);
        let n = ints(&[Some(2), Some(-1), Some(10), Some(1)]);
        assert_eq!(
            call(Text::Left, vec![s.clone(), n.clone()]),
            vec![
                Some("he".into()),
                Some("".into()),
                Some("hello".into()),
                None
            ]
        );
        assert_eq!(
            call(Text::Right, vec![s, n]),
            vec![
                Some("lo".into()),
                Some("".into()),
                Some("hello".into()),
                None
            ]
        );
    }

    #[test]
    fn replace_of_empty_inserts_between_characters() {
        let out = call(
            Text::Replace,
            vec![
                strings(&[Some("abc"), Some("ababab"), Some("abc")]),
                strings(&[Some(""), Some("abab"), Some("b")]),
                strings(&[Some("x"), Some("z"), None]),
            ],
        );
        assert_eq!(out, vec![Some("xaxbxcx".into()), Some("zab".into()), None]);
    }

    #[test]
    fn overlay_outside_the_string_leaves_it() {
        let s = strings(&[Some("xxxxxtest"), Some("xxxxxtest"), Some("abc")]);
        let r = strings(&[Some("xxxx"), Some("xxxx"), Some("Z")]);
        let pos = ints(&[Some(6), Some(6), Some(5)]);
        let len = ints(&[None, Some(2), Some(1)]);
        let out = call(Text::Overlay, vec![s, r, pos, len]);
        assert_eq!(out[1], Some("xxxxxxxxxst".into()));
        assert_eq!(out[2], Some("abc".into()));
        let out = call(
            Text::Overlay,
            vec![
                strings(&[Some("xxxxxtest")]),
                strings(&[Some("xxxx")]),
                ints(&[Some(6)]),
            ],
        );
        assert_eq!(out, some(&["xxxxxxxxx"]));
    }

    #[test]
    fn chr_takes_the_code_modulo_256() {
        let out = call(
            Text::Chr,
            vec![ints(&[Some(97), Some(353), Some(-1), None])],
        );
        assert_eq!(
            out,
            vec![Some("a".into()), Some("a".into()), Some("".into()), None]
        );
    }
}
