//! Event-time values: timestamps and watermarks as epoch milliseconds, as in Flink.

use serde::{Deserialize, Serialize};

/// A watermark: "no more rows with an event time at or below this will arrive".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Watermark(pub i64);

impl Watermark {
    /// Before any row: nothing is known yet.
    pub const MIN: Watermark = Watermark(i64::MIN);
    /// End of input: every window may fire.
    pub const MAX: Watermark = Watermark(i64::MAX);
}

impl std::fmt::Display for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Watermark::MIN => write!(f, "-inf"),
            Watermark::MAX => write!(f, "+inf"),
            Watermark(ms) => write!(f, "{ms}"),
        }
    }
}

/// Whether a subtask's output currently holds back downstream watermarks (Flink's
/// `WatermarkStatus`). An idle subtask is left out of its consumers' minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatermarkStatus {
    Active,
    Idle,
}

/// Field metadata naming a time attribute, which Arrow schemas carry through DataFusion's
/// projections as Flink's planner carries `TimeIndicatorRelDataType`. An expression over
/// the column (a cast, arithmetic) produces a regular timestamp, as in Flink.
pub const TIME_ATTRIBUTE: &str = "eddy.time-attribute";
/// Field metadata on a window TVF's `window_start` / `window_end` columns.
pub const WINDOW_BOUND: &str = "eddy.window-bound";

/// The two kinds of time attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum TimeAttribute {
    /// Event time: a column with a `WATERMARK`.
    Rowtime,
    /// Processing time: a `PROCTIME()` column.
    Proctime,
}

impl TimeAttribute {
    fn tag(self) -> &'static str {
        match self {
            TimeAttribute::Rowtime => "rowtime",
            TimeAttribute::Proctime => "proctime",
        }
    }

    /// The time attribute a field is marked with, if any.
    pub fn of(field: &datafusion::arrow::datatypes::Field) -> Option<TimeAttribute> {
        match field.metadata().get(TIME_ATTRIBUTE).map(String::as_str) {
            Some("rowtime") => Some(TimeAttribute::Rowtime),
            Some("proctime") => Some(TimeAttribute::Proctime),
            _ => None,
        }
    }

    /// Marks a field as this time attribute.
    pub fn mark(
        self,
        field: datafusion::arrow::datatypes::Field,
    ) -> datafusion::arrow::datatypes::Field {
        let mut metadata = field.metadata().clone();
        metadata.insert(TIME_ATTRIBUTE.to_string(), self.tag().to_string());
        field.with_metadata(metadata)
    }

    /// How DESCRIBE shows it after the type, as Flink does.
    pub fn describe(self) -> &'static str {
        match self {
            TimeAttribute::Rowtime => "*ROWTIME*",
            TimeAttribute::Proctime => "*PROCTIME*",
        }
    }
}

/// Which bound of a window a field holds, if it is one.
pub fn window_bound(field: &datafusion::arrow::datatypes::Field) -> Option<&str> {
    field.metadata().get(WINDOW_BOUND).map(String::as_str)
}

/// Marks a field as a window bound (`start` or `end`), with the window's time attribute.
pub fn mark_window_bound(
    field: datafusion::arrow::datatypes::Field,
    bound: &str,
    time: TimeAttribute,
) -> datafusion::arrow::datatypes::Field {
    let mut metadata = field.metadata().clone();
    metadata.insert(WINDOW_BOUND.to_string(), format!("{bound}:{}", time.tag()));
    field.with_metadata(metadata)
}

/// The bound (`start`/`end`) and time attribute of a window-bound field.
pub fn parse_window_bound(
    field: &datafusion::arrow::datatypes::Field,
) -> Option<(&str, TimeAttribute)> {
    let (bound, time) = window_bound(field)?.split_once(':')?;
    let time = match time {
        "rowtime" => TimeAttribute::Rowtime,
        "proctime" => TimeAttribute::Proctime,
        _ => return None,
    };
    Some((bound, time))
}

/// Epoch milliseconds of a millisecond timestamp column (any time zone), without copying.
pub fn millis(
    array: &datafusion::arrow::array::ArrayRef,
) -> crate::Result<
    &datafusion::arrow::array::PrimitiveArray<
        datafusion::arrow::datatypes::TimestampMillisecondType,
    >,
> {
    use datafusion::arrow::array::AsArray;
    array
        .as_primitive_opt::<datafusion::arrow::datatypes::TimestampMillisecondType>()
        .ok_or_else(|| {
            crate::RuntimeError::Internal(format!(
                "expected a TIMESTAMP(3) column, found {}",
                array.data_type()
            ))
        })
}

/// Epoch milliseconds of a time attribute column of any timestamp precision, as Int64.
pub fn cast_millis(
    array: &datafusion::arrow::array::ArrayRef,
) -> crate::Result<datafusion::arrow::array::Int64Array> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
    let ms = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
    Ok(cast(&ms, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

/// The current processing time in epoch milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
