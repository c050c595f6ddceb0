//! Flink's `FLOOR(t TO unit)` and `CEIL(t TO unit)` over TIMESTAMP, DATE and TIME, which
//! the SQL layer rewrites into `eddy_time_floor(t, 'UNIT')` / `eddy_time_ceil(t, 'UNIT')`
//! (DataFusion plans neither form). As Calcite's DateTimeUtils: the result has the
//! argument's type, a WEEK starts on Sunday, and CEIL leaves a value already on a boundary
//! as it is. TIMESTAMP_LTZ is refused: Flink rounds it in the session's time zone, which a
//! function does not see here.

use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The names the SQL layer calls.
pub const FLOOR: &str = "eddy_time_floor";
pub const CEIL: &str = "eddy_time_ceil";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(text: &str) -> Result<Unit> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "MICROSECOND" => Unit::Microsecond,
            "MILLISECOND" => Unit::Millisecond,
            "SECOND" => Unit::Second,
            "MINUTE" => Unit::Minute,
            "HOUR" => Unit::Hour,
            "DAY" => Unit::Day,
            "WEEK" => Unit::Week,
            "MONTH" => Unit::Month,
            "QUARTER" => Unit::Quarter,
            "YEAR" => Unit::Year,
            other => {
                return Err(DataFusionError::NotImplemented(format!(
                    "FLOOR and CEIL round to YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND or MICROSECOND, not {other}"
                )))
            }
        })
    }

    /// Its length in nanoseconds, for units of fixed length.
    fn nanos(self) -> Option<i64> {
        Some(match self {
            Unit::Microsecond => 1_000,
            Unit::Millisecond => 1_000_000,
            Unit::Second => 1_000_000_000,
            Unit::Minute => 60_000_000_000,
            Unit::Hour => 3_600_000_000_000,
            Unit::Day => 86_400_000_000_000,
            _ => return None,
        })
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimeRound {
    ceil: bool,
    signature: Signature,
}

/// FLOOR's and CEIL's functions.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [false, true]
        .into_iter()
        .map(|ceil| {
            Arc::new(ScalarUDF::from(TimeRound {
                ceil,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

/// Rounds a count of `tick`-nanosecond ticks down (or up) to a unit of fixed length.
fn round_fixed(value: i64, tick: i64, unit_nanos: i64, ceil: bool) -> Option<i64> {
    if unit_nanos <= tick {
        return Some(value);
    }
    let size = unit_nanos / tick;
    let floor = value.div_euclid(size).checked_mul(size)?;
    match ceil && floor != value {
        true => floor.checked_add(size),
        false => Some(floor),
    }
}

/// Rounds a day (days since 1970-01-01) to a week, month, quarter or year; `None` when the
/// result leaves chrono's range.
fn round_days(days: i32, unit: Unit, ceil: bool) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let date = epoch.checked_add_signed(chrono::Duration::days(days.into()))?;
    let (floor, next) = match unit {
        Unit::Week => {
            // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
            let floor = date - chrono::Duration::days(((days + 4).rem_euclid(7)).into());
            (floor, floor + chrono::Duration::days(7))
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let (month, step) = match unit {
                Unit::Month => (date.month(), 1),
                Unit::Quarter => ((date.month() - 1) / 3 * 3 + 1, 3),
                _ => (1, 12),
            };
            let floor = NaiveDate::from_ymd_opt(date.year(), month, 1)?;
            (floor, floor.checked_add_months(Months::new(step))?)
        }
        _ => (date, date),
    };
    let out = match ceil && floor != date {
        true => next,
        false => floor,
    };
    i32::try_from((out - epoch).num_days()).ok()
}

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Rounds timestamps of `tick`-nanosecond ticks.
fn round_timestamps<T: ArrowPrimitiveType<Native = i64>>(
    array: &ArrayRef,
    tick: i64,
    unit: Unit,
    ceil: bool,
) -> Result<ArrayRef> {
    let ticks_per_day = NANOS_PER_DAY / tick;
    let out: PrimitiveArray<T> = array.as_primitive::<T>().try_unary(|v| {
        let rounded = match unit.nanos() {
            Some(n) => round_fixed(v, tick, n, ceil),
            None => {
                let day = v.div_euclid(ticks_per_day);
                let on_day = v.rem_euclid(ticks_per_day) == 0;
                i32::try_from(day)
                    .ok()
                    .and_then(|d| {
                        // A time after midnight rounds up from the next day's boundary.
                        let floor = round_days(d, unit, false)?;
                        match ceil && !(on_day && floor == d) {
                            true => round_days(d + 1, unit, true),
                            false => Some(floor),
                        }
                    })
                    .and_then(|d| i64::from(d).checked_mul(ticks_per_day))
            }
        };
        rounded.ok_or_else(|| {
            datafusion::arrow::error::ArrowError::ComputeError(format!(
                "rounding {v} to a {unit:?} leaves the range of TIMESTAMP"
            ))
        })
    })?;
    Ok(Arc::new(out.with_data_type(array.data_type().clone())))
}

/// Rounds times of day of `tick`-nanosecond ticks (to units shorter than a day).
fn round_times<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    tick: i64,
    unit: Unit,
    ceil: bool,
) -> Result<ArrayRef>
where
    T::Native: Into<i64> + TryFrom<i64>,
{
    let Some(n) = unit.nanos().filter(|n| *n < NANOS_PER_DAY) else {
        return Err(DataFusionError::Plan(format!(
            "FLOOR and CEIL of a TIME round to HOUR or a shorter unit, not {unit:?}"
        )));
    };
    let per_day = NANOS_PER_DAY / tick;
    let out: PrimitiveArray<T> = array.as_primitive::<T>().unary(|v| {
        let v: i64 = v.into();
        // CEIL past the last hour of the day wraps to midnight, as a TIME does.
        let r = round_fixed(v, tick, n, ceil)
            .unwrap_or(v)
            .rem_euclid(per_day);
        T::Native::try_from(r).unwrap_or_else(|_| T::Native::default())
    });
    Ok(Arc::new(out))
}

impl ScalarUDFImpl for TimeRound {
    fn name(&self) -> &str {
        match self.ceil {
            true => CEIL,
            false => FLOOR,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [t, _] = arg_types else {
            return Err(DataFusionError::Plan(
                "FLOOR and CEIL take a time and a unit (FLOOR(t TO MINUTE))".into(),
            ));
        };
        let t = match t {
            DataType::Timestamp(_, Some(_)) => {
                return Err(DataFusionError::NotImplemented(
                    "FLOOR and CEIL of a TIMESTAMP_LTZ: Flink rounds it in the session's time zone; CAST it to TIMESTAMP first".into(),
                ))
            }
            DataType::Timestamp(_, None)
            | DataType::Date32
            | DataType::Time32(_)
            | DataType::Time64(_) => t.clone(),
            DataType::Null => DataType::Timestamp(TimeUnit::Millisecond, None),
            other => {
                return Err(DataFusionError::Plan(format!(
                    "FLOOR(t TO unit) and CEIL(t TO unit) take a TIMESTAMP, DATE or TIME, not {other}"
                )))
            }
        };
        Ok(vec![t, DataType::Utf8])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let unit = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(u))) => Unit::parse(u)?,
            _ => {
                return Err(DataFusionError::Plan(
                    "the unit of FLOOR and CEIL is a word such as MINUTE".into(),
                ))
            }
        };
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let array = args.args[0].to_array(args.number_rows)?;
        let ceil = self.ceil;
        let out = match array.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                round_timestamps::<TimestampSecondType>(&array, 1_000_000_000, unit, ceil)?
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                round_timestamps::<TimestampMillisecondType>(&array, 1_000_000, unit, ceil)?
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                round_timestamps::<TimestampMicrosecondType>(&array, 1_000, unit, ceil)?
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                round_timestamps::<TimestampNanosecondType>(&array, 1, unit, ceil)?
            }
            DataType::Date32 => {
                let days = array.as_primitive::<Date32Type>();
                let out: PrimitiveArray<Date32Type> = days.try_unary(|d| {
                    match unit.nanos() {
                        // A date is already on every boundary shorter than a day.
                        Some(_) => Some(d),
                        None => round_days(d, unit, ceil),
                    }
                    .ok_or_else(|| {
                        datafusion::arrow::error::ArrowError::ComputeError(
                            "rounding a DATE left the range of DATE".into(),
                        )
                    })
                })?;
                Arc::new(out)
            }
            DataType::Time32(TimeUnit::Second) => {
                round_times::<Time32SecondType>(&array, 1_000_000_000, unit, ceil)?
            }
            DataType::Time32(_) => {
                round_times::<Time32MillisecondType>(&array, 1_000_000, unit, ceil)?
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                round_times::<Time64MicrosecondType>(&array, 1_000, unit, ceil)?
            }
            DataType::Time64(_) => round_times::<Time64NanosecondType>(&array, 1, unit, ceil)?,
            other => {
                return Err(DataFusionError::Internal(format!(
                    "uncoerced FLOOR/CEIL argument {other}"
                )))
            }
        };
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(y: i32, m: u32, d: u32) -> i32 {
        (NaiveDate::from_ymd_opt(y, m, d).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
    }

    #[test]
    fn dates_round_to_calendar_units() {
        let d = days(2024, 5, 15); // a Wednesday
        assert_eq!(round_days(d, Unit::Week, false), Some(days(2024, 5, 12)));
        assert_eq!(round_days(d, Unit::Week, true), Some(days(2024, 5, 19)));
        assert_eq!(round_days(d, Unit::Month, false), Some(days(2024, 5, 1)));
        assert_eq!(round_days(d, Unit::Month, true), Some(days(2024, 6, 1)));
        assert_eq!(round_days(d, Unit::Quarter, false), Some(days(2024, 4, 1)));
        assert_eq!(round_days(d, Unit::Quarter, true), Some(days(2024, 7, 1)));
        assert_eq!(round_days(d, Unit::Year, true), Some(days(2025, 1, 1)));
        // On a boundary CEIL stays.
        let first = days(2024, 7, 1);
        assert_eq!(round_days(first, Unit::Quarter, true), Some(first));
        assert_eq!(
            round_days(days(1969, 12, 31), Unit::Year, false),
            Some(days(1969, 1, 1))
        );
    }

    #[test]
    fn times_round_within_the_day() {
        let ms = 1_000_000;
        let t = (12 * 3600 + 44 * 60 + 31) * 1000; // 12:44:31
        assert_eq!(
            round_fixed(t, ms, Unit::Minute.nanos().unwrap(), false),
            Some((12 * 3600 + 44 * 60) * 1000)
        );
        assert_eq!(
            round_fixed(t, ms, Unit::Minute.nanos().unwrap(), true),
            Some((12 * 3600 + 45 * 60) * 1000)
        );
        // Before 1970, down is towards the past.
        assert_eq!(
            round_fixed(-1, ms, Unit::Second.nanos().unwrap(), false),
            Some(-1000)
        );
        assert_eq!(
            round_fixed(7, ms, Unit::Microsecond.nanos().unwrap(), true),
            Some(7)
        );
    }
}
