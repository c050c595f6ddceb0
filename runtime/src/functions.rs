//! SQL functions Eddy adds to DataFusion's, registered both where queries are planned and
//! where TaskManagers decode expressions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::time::now_millis;

mod bitmap;
mod collect;
pub mod date_format;
mod first_last;
mod flink_aggregates;
mod flink_arrays;
mod flink_codec;
pub mod flink_json;
mod flink_math;
mod flink_parse;
mod flink_regex;
mod flink_scalar;
mod flink_strict;
mod flink_strings;
mod flink_text;
mod is_json;
mod json_agg;
mod json_build;
mod json_path;
mod json_text;
mod listagg;
pub mod map_constructor;
mod percentile;
mod printf;
pub mod python;
mod time_round;
mod type_of;

pub use flink_aggregates::flink_aggregates;
pub use flink_math::LITERAL_PLACES;
pub use flink_strings::FlinkStringPlanner;
pub use json_build::mode_literal as json_mode_literal;
pub use time_round::{CEIL as TIME_CEIL, FLOOR as TIME_FLOOR};
pub use type_of::TypeOfRule;

/// Flink's `PROCTIME()`: the wall-clock time at which a row is processed, as
/// TIMESTAMP_LTZ(3). Volatile, so DataFusion evaluates it per batch instead of folding it
/// into a constant when the query is planned, as it does with `now()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProcTime {
    signature: Signature,
}

impl Default for ProcTime {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![], Volatility::Volatile),
        }
    }
}

/// The name PROCTIME is registered under.
pub const PROCTIME: &str = "proctime";

/// PROCTIME's type: TIMESTAMP_LTZ(3).
pub fn proctime_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

impl ScalarUDFImpl for ProcTime {
    fn name(&self) -> &str {
        PROCTIME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(proctime_type())
    }

    /// Marks the result as a processing-time attribute, so that `SELECT *, PROCTIME() AS
    /// p_time FROM t` in a view or subquery gives a column a window or a temporal join
    /// can use, as in Flink.
    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(
            crate::time::TimeAttribute::Proctime.mark(Field::new(
                self.name(),
                proctime_type(),
                false,
            )),
        ))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(now_millis()),
            Some("UTC".into()),
        )))
    }
}

/// Flink's `CURRENT_ROW_TIMESTAMP()`: the wall-clock time as each row is processed, as
/// TIMESTAMP_LTZ(3). Unlike `PROCTIME()` it is a value, not a time attribute a window
/// could use.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentRowTimestamp {
    signature: Signature,
}

impl ScalarUDFImpl for CurrentRowTimestamp {
    fn name(&self) -> &str {
        "current_row_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(proctime_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(now_millis()),
            Some("UTC".into()),
        )))
    }
}

/// Flink built-ins DataFusion lacks, which Flink's Nexmark queries use.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum FlinkFunction {
    /// `MOD(a, b)`: the remainder of integers.
    Mod,
    /// `HOUR(ts)`: the hour of a timestamp, 0-23.
    Hour,
    /// `SPLIT_INDEX(str, delimiter, index)`: the 0-based `index`th part, NULL past the end.
    SplitIndex,
    /// `REGEXP_EXTRACT(str, regex [, group])`: the group of the first match; without a
    /// group, the whole match (group 0), as in Flink 2.3.
    RegexpExtract,
    /// `COUNT_CHAR(str, char)`: occurrences of `char`, the UDF Flink's Nexmark q14 registers.
    CountChar,
    /// `TO_TIMESTAMP_LTZ(numeric [, precision])`: epoch seconds (precision 0) or epoch
    /// milliseconds (precision 3, the default) as a TIMESTAMP_LTZ(3).
    ToTimestampLtz,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkUdf {
    function: FlinkFunction,
    signature: Signature,
}

impl FlinkUdf {
    fn new(function: FlinkFunction) -> Self {
        Self {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn function_error(msg: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Plan(msg)
}

impl ScalarUDFImpl for FlinkUdf {
    fn name(&self) -> &str {
        match self.function {
            FlinkFunction::Mod => "mod",
            FlinkFunction::Hour => "hour",
            FlinkFunction::SplitIndex => "split_index",
            FlinkFunction::RegexpExtract => "regexp_extract",
            FlinkFunction::CountChar => "count_char",
            FlinkFunction::ToTimestampLtz => "to_timestamp_ltz",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let n = arg_types.len();
        let arity_ok = match self.function {
            FlinkFunction::Mod | FlinkFunction::CountChar => n == 2,
            FlinkFunction::Hour => n == 1,
            FlinkFunction::SplitIndex => n == 3,
            FlinkFunction::RegexpExtract => n == 2 || n == 3,
            // TO_TIMESTAMP_LTZ(epoch [, precision]) or (string [, format [, zone]]).
            FlinkFunction::ToTimestampLtz => {
                n == 1 || n == 2 || (n == 3 && arg_types.first().is_some_and(is_text))
            }
        };
        if !arity_ok {
            return Err(function_error(format!(
                "function {} does not take {n} arguments",
                self.name().to_uppercase()
            )));
        }
        Ok(match self.function {
            FlinkFunction::Mod => {
                if arg_types.iter().all(|t| t.is_integer() || t.is_null()) {
                    vec![DataType::Int64; 2]
                } else {
                    return Err(function_error(format!(
                        "MOD takes integers, not {} and {}",
                        arg_types[0], arg_types[1]
                    )));
                }
            }
            FlinkFunction::Hour => vec![DataType::Timestamp(TimeUnit::Millisecond, None)],
            FlinkFunction::SplitIndex => vec![DataType::Utf8, DataType::Utf8, DataType::Int64],
            FlinkFunction::RegexpExtract => {
                let mut t = vec![DataType::Utf8, DataType::Utf8];
                if n == 3 {
                    t.push(DataType::Int64);
                }
                t
            }
            FlinkFunction::CountChar => vec![DataType::Utf8, DataType::Utf8],
            FlinkFunction::ToTimestampLtz if is_text(&arg_types[0]) => {
                // (string, format, zone) are all text: ('x', 3) matches neither form.
                if let Some(t) = arg_types[1..].iter().find(|t| !is_text(t) && !t.is_null()) {
                    return Err(function_error(format!(
                        "TO_TIMESTAMP_LTZ(string [, format [, zone]]) takes a text format and zone, not {t}"
                    )));
                }
                vec![DataType::Utf8; n]
            }
            FlinkFunction::ToTimestampLtz => {
                let epoch = match &arg_types[0] {
                    t if t.is_integer() || t.is_null() => DataType::Int64,
                    t if t.is_floating()
                        || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
                    {
                        DataType::Float64
                    }
                    t => {
                        return Err(function_error(format!(
                        "TO_TIMESTAMP_LTZ takes epoch seconds or milliseconds as a number, not {t}"
                    )))
                    }
                };
                let mut t = vec![epoch];
                if n == 2 {
                    if !(arg_types[1].is_integer() || arg_types[1].is_null()) {
                        return Err(function_error(format!(
                            "the precision of TO_TIMESTAMP_LTZ is an integer (0 or 3), not {}",
                            arg_types[1]
                        )));
                    }
                    t.push(DataType::Int64);
                }
                t
            }
        })
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            FlinkFunction::Mod | FlinkFunction::Hour | FlinkFunction::CountChar => DataType::Int64,
            FlinkFunction::SplitIndex | FlinkFunction::RegexpExtract => DataType::Utf8,
            FlinkFunction::ToTimestampLtz => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let result: ArrayRef = match self.function {
            FlinkFunction::Mod => {
                datafusion::arrow::compute::kernels::numeric::rem(&arrays[0], &arrays[1])?
            }
            FlinkFunction::Hour => {
                let hours = datafusion::arrow::compute::kernels::temporal::date_part(
                    &arrays[0],
                    datafusion::arrow::compute::kernels::temporal::DatePart::Hour,
                )?;
                datafusion::arrow::compute::cast(&hours, &DataType::Int64)?
            }
            FlinkFunction::SplitIndex => {
                let (s, d, i) = (
                    arrays[0].as_string::<i32>(),
                    arrays[1].as_string::<i32>(),
                    arrays[2].as_primitive::<Int64Type>(),
                );
                let mut out = StringBuilder::with_capacity(rows, 0);
                for r in 0..rows {
                    if s.is_null(r) || d.is_null(r) || i.is_null(r) || d.value(r).is_empty() {
                        out.append_null();
                        continue;
                    }
                    let part = usize::try_from(i.value(r))
                        .ok()
                        .and_then(|k| s.value(r).split(d.value(r)).nth(k));
                    out.append_option(part);
                }
                Arc::new(out.finish())
            }
            FlinkFunction::RegexpExtract => {
                let (s, p) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
                let groups = arrays.get(2).map(|a| a.as_primitive::<Int64Type>().clone());
                let mut out = StringBuilder::with_capacity(rows, 0);
                // The pattern is nearly always a literal: compile it once per batch.
                let mut compiled: Option<(String, regex::Regex)> = None;
                for r in 0..rows {
                    if s.is_null(r) || p.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    if compiled.as_ref().is_none_or(|(text, _)| text != p.value(r)) {
                        let re = regex::Regex::new(p.value(r)).map_err(|e| {
                            datafusion::error::DataFusionError::Execution(format!(
                                "REGEXP_EXTRACT: invalid regular expression '{}': {e}",
                                p.value(r)
                            ))
                        })?;
                        compiled = Some((p.value(r).to_string(), re));
                    }
                    let group = match &groups {
                        Some(g) if g.is_null(r) => {
                            out.append_null();
                            continue;
                        }
                        Some(g) => g.value(r),
                        None => 0,
                    };
                    let found = compiled.as_ref().and_then(|(_, re)| {
                        let caps = re.captures(s.value(r))?;
                        usize::try_from(group).ok().and_then(|g| caps.get(g))
                    });
                    out.append_option(found.map(|m| m.as_str()));
                }
                Arc::new(out.finish())
            }
            FlinkFunction::CountChar => {
                let (s, c) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
                let counts: Int64Array = (0..rows)
                    .map(|r| {
                        if s.is_null(r) || c.is_null(r) {
                            return None;
                        }
                        let ch = c.value(r).chars().next()?;
                        Some(s.value(r).chars().filter(|x| *x == ch).count() as i64)
                    })
                    .collect();
                Arc::new(counts)
            }
            FlinkFunction::ToTimestampLtz if is_text(arrays[0].data_type()) => {
                text_to_timestamp_ltz(&arrays)?
            }
            FlinkFunction::ToTimestampLtz => to_timestamp_ltz(&arrays, rows)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// A user's bad argument, which the gateway answers with 22023 and this message.
fn user_error(msg: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Flink's `TO_TIMESTAMP_LTZ(string [, format [, zone]])`: the string read with the Java
/// pattern (Flink's default formats without one) as a time of day in the zone (UTC without
/// one); NULL when an argument is NULL, the string does not match or the zone is unknown.
fn text_to_timestamp_ltz(arrays: &[ArrayRef]) -> Result<ArrayRef> {
    use chrono::TimeZone;
    let text = arrays[0].as_string::<i32>();
    let local =
        flink_parse::parse_column(text, arrays.get(1).map(|a| a.as_string::<i32>()), false)?;
    let zones = arrays.get(2).map(|a| a.as_string::<i32>());
    let mut cached: Option<(String, Option<chrono_tz::Tz>)> = None;
    let millis = local.into_iter().enumerate().map(|(r, t)| {
        let t = t?;
        let zone = match zones {
            None => chrono_tz::UTC,
            Some(z) if z.is_null(r) => return None,
            Some(z) => {
                let name = z.value(r);
                if cached.as_ref().is_none_or(|(n, _)| n != name) {
                    cached = Some((name.to_string(), name.parse::<chrono_tz::Tz>().ok()));
                }
                cached.as_ref().and_then(|(_, tz)| *tz)?
            }
        };
        // A time in a DST gap moves past it, as Java's ZonedDateTime.of does.
        let instant = zone.from_local_datetime(&t).earliest().or_else(|| {
            zone.from_local_datetime(&(t + chrono::Duration::hours(1)))
                .earliest()
        })?;
        Some(instant.timestamp_millis())
    });
    Ok(Arc::new(
        datafusion::arrow::array::TimestampMillisecondArray::from_iter(millis).with_timezone("UTC"),
    ))
}

/// `TO_TIMESTAMP_LTZ(epoch [, precision])` over whole columns. Flink accepts precision 0
/// (epoch seconds) and 3 (epoch milliseconds); a result outside TIMESTAMP's range is an
/// error naming the value rather than a wrapped-around time.
fn to_timestamp_ltz(arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let factor = |r: usize| -> Result<Option<i64>> {
        let Some(p) = arrays.get(1) else {
            return Ok(Some(1));
        };
        let p = p.as_primitive::<Int64Type>();
        if p.is_null(r) {
            return Ok(None);
        }
        match p.value(r) {
            0 => Ok(Some(1000)),
            3 => Ok(Some(1)),
            other => Err(user_error(format!(
                "TO_TIMESTAMP_LTZ: precision {other} is not supported; use 0 (epoch seconds) or 3 (epoch milliseconds)"
            ))),
        }
    };
    let out_of_range = |v: String| {
        user_error(format!(
            "TO_TIMESTAMP_LTZ: {v} is outside the range of TIMESTAMP_LTZ"
        ))
    };
    let mut millis = Vec::with_capacity(rows);
    if let Some(ints) = arrays[0].as_primitive_opt::<Int64Type>() {
        for r in 0..rows {
            millis.push(match (ints.is_null(r), factor(r)?) {
                (false, Some(f)) => Some(
                    ints.value(r)
                        .checked_mul(f)
                        .ok_or_else(|| out_of_range(ints.value(r).to_string()))?,
                ),
                _ => None,
            });
        }
    } else {
        let floats = arrays[0].as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        for r in 0..rows {
            millis.push(match (floats.is_null(r), factor(r)?) {
                (false, Some(f)) => {
                    let v = (floats.value(r) * f as f64).trunc();
                    if !v.is_finite() || v.abs() >= i64::MAX as f64 {
                        return Err(out_of_range(floats.value(r).to_string()));
                    }
                    Some(v as i64)
                }
                _ => None,
            });
        }
    }
    Ok(Arc::new(
        datafusion::arrow::array::TimestampMillisecondArray::from(millis).with_timezone("UTC"),
    ))
}

/// Every function Eddy adds.
pub fn eddy_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = vec![
        Arc::new(ScalarUDF::from(ProcTime::default())),
        Arc::new(ScalarUDF::from(date_format::DateFormat::default())),
        Arc::new(ScalarUDF::from(CurrentRowTimestamp {
            signature: Signature::exact(vec![], Volatility::Volatile),
        })),
    ];
    for f in [
        FlinkFunction::Mod,
        FlinkFunction::Hour,
        FlinkFunction::SplitIndex,
        FlinkFunction::RegexpExtract,
        FlinkFunction::CountChar,
        FlinkFunction::ToTimestampLtz,
    ] {
        functions.push(Arc::new(ScalarUDF::from(FlinkUdf::new(f))));
    }
    functions.extend(flink_scalar::all());
    functions.extend(flink_strict::all());
    functions.extend(flink_strings::all());
    functions.extend(flink_arrays::all());
    functions.extend(bitmap::scalars());
    functions.extend(flink_math::all());
    functions.extend(flink_regex::all());
    functions.extend(flink_codec::all());
    functions.extend(flink_parse::all());
    functions.extend(time_round::all());
    functions.push(printf::udf());
    functions.extend(json_text::all());
    functions.extend(flink_text::all());
    functions.extend(flink_json::all());
    functions.push(is_json::udf());
    functions.extend(json_build::all());
    functions.push(type_of::udf());
    functions.push(map_constructor::udf());
    functions.push(map_constructor::map_from_arrays());
    functions.push(map_constructor::map_union());
    functions.extend(flink_aliases());
    functions
}

/// DataFusion's functions under the names Flink gives them (same semantics on the calls
/// `docs/functions.md` lists). An alias is planned and serialized as DataFusion's name.
fn flink_aliases() -> Vec<Arc<ScalarUDF>> {
    use datafusion::functions::regex;
    let alias =
        |f: Arc<ScalarUDF>, name: &'static str| Arc::new(f.as_ref().clone().with_aliases([name]));
    vec![alias(regex::regexp_like(), "regexp")]
}

pub use first_last::FlinkFirstLastNulls;

/// DataFusion's aggregates under the names Flink gives them.
pub fn flink_aggregate_aliases() -> Vec<Arc<datafusion::logical_expr::AggregateUDF>> {
    vec![
        Arc::new(
            datafusion::functions_aggregate::variance::var_samp_udaf()
                .as_ref()
                .clone()
                .with_aliases(["variance"]),
        ),
        Arc::new(datafusion::logical_expr::AggregateUDF::from(
            listagg::ListAgg::default(),
        )),
        // Flink's GROUPING_ID(a, b, ...) is the same bit vector as DataFusion's GROUPING.
        Arc::new(
            datafusion::functions_aggregate::grouping::grouping_udaf()
                .as_ref()
                .clone()
                .with_aliases(["grouping_id"]),
        ),
        percentile::udaf(),
        collect::udaf(),
    ]
    .into_iter()
    .chain(json_agg::all())
    .chain(bitmap::aggregates())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Field;

    fn call(f: FlinkFunction, args: Vec<ArrayRef>) -> ArrayRef {
        let udf = FlinkUdf::new(f);
        let rows = args[0].len();
        let arg_fields = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type().clone(), true)))
            .collect();
        let out = udf
            .invoke_with_args(ScalarFunctionArgs {
                args: args.into_iter().map(ColumnarValue::Array).collect(),
                arg_fields,
                number_rows: rows,
                return_field: Arc::new(Field::new("r", DataType::Utf8, true)),
                config_options: Default::default(),
            })
            .unwrap();
        out.into_array(rows).unwrap()
    }

    #[test]
    fn flink_string_functions() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a/b/c"), None, Some("x")]));
        let d: ArrayRef = Arc::new(StringArray::from(vec!["/", "/", "/"]));
        let i: ArrayRef = Arc::new(Int64Array::from(vec![1, 0, 3]));
        let out = call(FlinkFunction::SplitIndex, vec![s.clone(), d, i]);
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "b");
        assert!(out.is_null(1) && out.is_null(2));

        let urls: ArrayRef = Arc::new(StringArray::from(vec![
            "https://www.nexmark.com/abc/item.htm?query=1&channel_id=1234",
            "no match",
        ]));
        let re: ArrayRef = Arc::new(StringArray::from(vec![
            "(&|^)channel_id=([^&]*)",
            "(&|^)channel_id=([^&]*)",
        ]));
        let g: ArrayRef = Arc::new(Int64Array::from(vec![2, 2]));
        let out = call(FlinkFunction::RegexpExtract, vec![urls, re, g]);
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "1234");
        assert!(out.is_null(1));

        let c: ArrayRef = Arc::new(StringArray::from(vec!["/", "/", "x"]));
        let out = call(FlinkFunction::CountChar, vec![s, c]);
        let out = out.as_primitive::<Int64Type>();
        assert_eq!(out.value(0), 2);
        assert!(out.is_null(1));
        assert_eq!(out.value(2), 1);
    }
}
