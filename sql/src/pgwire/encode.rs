//! Arrow batches as DataRow messages, each column in the text or binary format its
//! client asked for. A column is looked at once per batch: cast to the Arrow type its
//! PostgreSQL type reads from ([`Class`]) and bound to a typed writer, so the per-row loop
//! only writes bytes into one buffer that every row of the batch is split from.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use bytes::{BufMut, BytesMut};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal256Array, LargeBinaryArray,
    LargeStringArray, ListArray, StringArray, StringViewArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Field, FieldRef, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::json::writer::{make_encoder, EncoderOptions, NullableEncoder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use super::binary;
use super::text;
use super::types::Class;
use crate::session::Zone;

/// Encodes every row of a batch, timestamptz values in the session's `zone`; an error ends
/// the rows.
pub(super) fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
    zone: Zone,
) -> Vec<PgWireResult<DataRow>> {
    let schema = batch.schema();
    let json = EncoderOptions::default().with_explicit_nulls(true);
    let arrays: Vec<ArrayRef> = match batch.columns().iter().map(normalise).collect() {
        Ok(arrays) => arrays,
        Err(e) => return vec![Err(e)],
    };
    let mut columns = Vec::with_capacity(arrays.len());
    for ((array, field), info) in arrays.iter().zip(schema.fields()).zip(fields.iter()) {
        match ColumnEncoder::new(array.as_ref(), field, &json, zone) {
            Ok(c) => columns.push((c, info.format() == FieldFormat::Binary)),
            Err(e) => return vec![Err(e)],
        }
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    let mut buf = BytesMut::with_capacity(batch.num_rows() * columns.len() * 12);
    for row in 0..batch.num_rows() {
        for (column, binary) in columns.iter_mut() {
            if let Err(e) = column.cell(row, *binary, &mut buf) {
                rows.push(Err(e));
                return rows;
            }
        }
        rows.push(Ok(DataRow::new(buf.split(), columns.len() as i16)));
    }
    rows
}

/// The Arrow type the writer of a type's class reads, when it is not the type itself.
fn target(t: &DataType) -> Option<DataType> {
    let wanted = match (Class::of(t), t) {
        (_, DataType::Dictionary(_, v)) => target(v).unwrap_or_else(|| v.as_ref().clone()),
        (Class::Int2, _) => DataType::Int16,
        (Class::Int4, _) => DataType::Int32,
        (Class::Int8, _) => DataType::Int64,
        (Class::Float4, _) => DataType::Float32,
        (Class::Float8, _) => DataType::Float64,
        (Class::Numeric, DataType::UInt64) => DataType::Decimal128(20, 0),
        (Class::Numeric, DataType::Decimal32(p, s) | DataType::Decimal64(p, s)) => {
            DataType::Decimal128(*p, *s)
        }
        (Class::Bytea, DataType::BinaryView | DataType::FixedSizeBinary(_)) => DataType::Binary,
        (Class::Date, _) => DataType::Date32,
        (Class::Time, _) => DataType::Time64(TimeUnit::Microsecond),
        (Class::Interval, DataType::Interval(_)) => DataType::Interval(IntervalUnit::MonthDayNano),
        (
            Class::Array(_),
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _),
        ) => {
            let element = target(f.data_type()).unwrap_or_else(|| f.data_type().clone());
            DataType::List(Arc::new(Field::new("element", element, true)))
        }
        // A map is sent as a JSON object, whose keys are text (Flink's MAP[1, 'a'] too).
        (_, DataType::Map(entries, sorted)) => match entries.data_type() {
            DataType::Struct(fields)
                if fields.len() == 2 && !matches!(fields[0].data_type(), DataType::Utf8) =>
            {
                let fields = vec![
                    Field::new(fields[0].name(), DataType::Utf8, false),
                    fields[1].as_ref().clone(),
                ];
                DataType::Map(
                    Arc::new(Field::new(
                        entries.name(),
                        DataType::Struct(fields.into()),
                        entries.is_nullable(),
                    )),
                    *sorted,
                )
            }
            _ => return None,
        },
        _ => return None,
    };
    (&wanted != t).then_some(wanted)
}

fn normalise(array: &ArrayRef) -> PgWireResult<ArrayRef> {
    match target(array.data_type()) {
        None => Ok(array.clone()),
        Some(t) => cast(array, &t).map_err(|e| {
            PgWireError::ApiError(format!("cannot send {}: {e}", array.data_type()).into())
        }),
    }
}

/// What `SELECT` sends for types PostgreSQL has no twin for.
static TEXT_OPTIONS: LazyLock<FormatOptions<'static>> =
    LazyLock::new(|| FormatOptions::default().with_null("NULL"));

enum Kind<'a> {
    Null,
    Bool(&'a BooleanArray),
    Int2(&'a [i16]),
    Int4(&'a [i32]),
    Int8(&'a [i64]),
    Float4(&'a [f32]),
    Float8(&'a [f64]),
    Decimal128(&'a [i128], i8),
    Decimal256(&'a Decimal256Array, i8),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
    Date(&'a [i32]),
    Time(&'a [i64]),
    /// With the zone a timestamptz is shown in.
    Timestamp(&'a [i64], TimeUnit, Option<Zone>),
    Interval(&'a [IntervalMonthDayNano]),
    Duration(&'a [i64], TimeUnit),
    List {
        list: &'a ListArray,
        items: Box<ColumnEncoder<'a>>,
        element_oid: u32,
        element: BytesMut,
    },
    Json(NullableEncoder<'a>, Vec<u8>),
    Text(ArrayFormatter<'a>),
}

/// Writes one column's values.
struct ColumnEncoder<'a> {
    kind: Kind<'a>,
    nulls: Option<NullBuffer>,
    scratch: String,
}

impl<'a> ColumnEncoder<'a> {
    fn new(
        array: &'a dyn Array,
        field: &'a FieldRef,
        json: &'a EncoderOptions,
        zone: Zone,
    ) -> PgWireResult<Self> {
        let kind = match (Class::of(array.data_type()), array.data_type()) {
            (_, DataType::Null) => Kind::Null,
            (Class::Bool, _) => Kind::Bool(array.as_boolean()),
            (Class::Int2, _) => Kind::Int2(array.as_primitive::<Int16Type>().values()),
            (Class::Int4, _) => Kind::Int4(array.as_primitive::<Int32Type>().values()),
            (Class::Int8, _) => Kind::Int8(array.as_primitive::<Int64Type>().values()),
            (Class::Float4, _) => Kind::Float4(array.as_primitive::<Float32Type>().values()),
            (Class::Float8, _) => Kind::Float8(array.as_primitive::<Float64Type>().values()),
            (Class::Numeric, DataType::Decimal128(_, s)) => {
                Kind::Decimal128(array.as_primitive::<Decimal128Type>().values(), *s)
            }
            (Class::Numeric, DataType::Decimal256(_, s)) => {
                Kind::Decimal256(array.as_primitive(), *s)
            }
            (Class::Text, DataType::Utf8) => Kind::Utf8(array.as_string()),
            (Class::Text, DataType::LargeUtf8) => Kind::LargeUtf8(array.as_string()),
            (Class::Text, DataType::Utf8View) => Kind::Utf8View(array.as_string_view()),
            (Class::Bytea, DataType::Binary) => Kind::Binary(array.as_binary()),
            (Class::Bytea, DataType::LargeBinary) => Kind::LargeBinary(array.as_binary()),
            (Class::Date, _) => Kind::Date(array.as_primitive::<Date32Type>().values()),
            (Class::Time, _) => Kind::Time(array.as_primitive::<Time64MicrosecondType>().values()),
            (Class::Timestamp | Class::TimestampTz, DataType::Timestamp(unit, tz)) => {
                let values = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().values()
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().values()
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().values()
                    }
                };
                Kind::Timestamp(values, *unit, tz.as_ref().map(|_| zone))
            }
            (Class::Interval, DataType::Interval(_)) => {
                Kind::Interval(array.as_primitive::<IntervalMonthDayNanoType>().values())
            }
            (Class::Interval, DataType::Duration(unit)) => {
                let values = match unit {
                    TimeUnit::Second => array.as_primitive::<DurationSecondType>().values(),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<DurationMillisecondType>().values()
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<DurationMicrosecondType>().values()
                    }
                    TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().values(),
                };
                Kind::Duration(values, *unit)
            }
            (Class::Array(element), DataType::List(item)) => {
                let list = array.as_list::<i32>();
                Kind::List {
                    items: Box::new(ColumnEncoder::new(
                        list.values().as_ref(),
                        item,
                        json,
                        zone,
                    )?),
                    list,
                    element_oid: element.pg().oid(),
                    element: BytesMut::new(),
                }
            }
            (Class::Json, _) => Kind::Json(
                make_encoder(field, array, json).map_err(|e| {
                    PgWireError::ApiError(format!("cannot send {}: {e}", field.data_type()).into())
                })?,
                Vec::new(),
            ),
            _ => Kind::Text(ArrayFormatter::try_new(array, &TEXT_OPTIONS).map_err(|e| {
                PgWireError::ApiError(format!("cannot send {}: {e}", array.data_type()).into())
            })?),
        };
        Ok(Self {
            kind,
            nulls: array.logical_nulls(),
            scratch: String::new(),
        })
    }

    fn is_null(&self, row: usize) -> bool {
        matches!(self.kind, Kind::Null) || self.nulls.as_ref().is_some_and(|n| n.is_null(row))
    }

    /// The value's length and bytes, or -1 for NULL.
    fn cell(&mut self, row: usize, binary: bool, out: &mut BytesMut) -> PgWireResult<()> {
        if self.is_null(row) {
            out.put_i32(-1);
            return Ok(());
        }
        let at = out.len();
        out.put_i32(0);
        self.value(row, binary, out)?;
        let len = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// A non-null value's bytes.
    fn value(&mut self, row: usize, binary: bool, out: &mut BytesMut) -> PgWireResult<()> {
        let Self { kind, scratch, .. } = self;
        match kind {
            Kind::Null => {}
            Kind::Bool(a) => match (binary, a.value(row)) {
                (true, v) => out.put_u8(u8::from(v)),
                (false, true) => out.put_u8(b't'),
                (false, false) => out.put_u8(b'f'),
            },
            Kind::Int2(v) if binary => out.put_i16(v[row]),
            Kind::Int4(v) if binary => out.put_i32(v[row]),
            Kind::Int8(v) if binary => out.put_i64(v[row]),
            Kind::Int2(v) => decimal(v[row], out),
            Kind::Int4(v) => decimal(v[row], out),
            Kind::Int8(v) => decimal(v[row], out),
            Kind::Float4(v) if binary => out.put_f32(v[row]),
            Kind::Float8(v) if binary => out.put_f64(v[row]),
            Kind::Float4(v) => {
                let x = v[row];
                text::float_text(x, x.is_nan(), x.is_infinite(), 6, scratch, out)
            }
            Kind::Float8(v) => {
                let x = v[row];
                text::float_text(x, x.is_nan(), x.is_infinite(), 15, scratch, out)
            }
            Kind::Decimal128(v, s) => {
                scratch.clear();
                let _ = write!(scratch, "{}", v[row]);
                numeric(scratch, *s, binary, out);
            }
            Kind::Decimal256(a, s) => {
                scratch.clear();
                let _ = write!(scratch, "{}", a.value(row));
                numeric(scratch, *s, binary, out);
            }
            Kind::Utf8(a) => out.put_slice(a.value(row).as_bytes()),
            Kind::LargeUtf8(a) => out.put_slice(a.value(row).as_bytes()),
            Kind::Utf8View(a) => out.put_slice(a.value(row).as_bytes()),
            Kind::Binary(a) => bytea(a.value(row), binary, out),
            Kind::LargeBinary(a) => bytea(a.value(row), binary, out),
            Kind::Date(v) => {
                // PostgreSQL's dates: 4713 BC to 5874897 AD.
                let days = v[row];
                if !(-2_440_588..=2_145_042_906).contains(&days) {
                    return Err(out_of_range("date"));
                }
                if binary {
                    out.put_i32(days - binary::PG_EPOCH_DAYS);
                } else if !text::date_text(days, out) {
                    return Err(out_of_range("date"));
                }
            }
            Kind::Time(v) if binary => out.put_i64(v[row]),
            Kind::Time(v) => text::time_text(v[row], out),
            Kind::Timestamp(v, unit, tz) => {
                let micros = micros(v[row], *unit).ok_or_else(|| out_of_range("timestamp"))?;
                if binary {
                    let since = micros
                        .checked_sub(binary::PG_EPOCH_MICROS)
                        .ok_or_else(|| out_of_range("timestamp"))?;
                    out.put_i64(since);
                } else if !text::timestamp_text(micros, *tz, out) {
                    return Err(out_of_range("timestamp"));
                }
            }
            Kind::Interval(v) => {
                let i = v[row];
                interval(i.months, i.days, i.nanoseconds / 1000, binary, out);
            }
            Kind::Duration(v, unit) => {
                let micros = micros(v[row], *unit).ok_or_else(|| out_of_range("interval"))?;
                interval(0, 0, micros, binary, out);
            }
            Kind::List {
                list,
                items,
                element_oid,
                element,
            } => {
                let offsets = list.value_offsets();
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                if binary {
                    let has_null = (start..end).any(|i| items.is_null(i));
                    out.put_i32(i32::from(start < end));
                    out.put_i32(i32::from(has_null));
                    out.put_u32(*element_oid);
                    if start < end {
                        out.put_i32((end - start) as i32);
                        out.put_i32(1);
                    }
                    for i in start..end {
                        items.cell(i, true, out)?;
                    }
                } else {
                    out.put_u8(b'{');
                    for i in start..end {
                        if i > start {
                            out.put_u8(b',');
                        }
                        if items.is_null(i) {
                            out.put_slice(b"NULL");
                            continue;
                        }
                        element.clear();
                        items.value(i, false, element)?;
                        text::array_element(element, out);
                    }
                    out.put_u8(b'}');
                }
            }
            Kind::Json(encoder, buf) => {
                buf.clear();
                encoder.encode(row, buf);
                out.put_slice(buf);
            }
            Kind::Text(f) => {
                let _ = write!(out, "{}", f.value(row));
            }
        }
        Ok(())
    }
}

fn decimal(v: impl std::fmt::Display, out: &mut BytesMut) {
    let _ = write!(out, "{v}");
}

/// A scaled integer written by `write!` into `digits` (sign included) as a numeric.
fn numeric(digits: &str, scale: i8, binary: bool, out: &mut BytesMut) {
    let (negative, magnitude) = match digits.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, digits),
    };
    if binary {
        binary::numeric(negative, magnitude, i32::from(scale), out);
    } else {
        text::numeric_text(negative, magnitude, i32::from(scale), out);
    }
}

fn bytea(v: &[u8], binary: bool, out: &mut BytesMut) {
    if binary {
        out.put_slice(v);
    } else {
        text::bytea_text(v, out);
    }
}

fn interval(months: i32, days: i32, micros: i64, binary: bool, out: &mut BytesMut) {
    if binary {
        binary::interval(months, days, micros, out);
    } else {
        text::interval_text(months, days, micros, out);
    }
}

/// Microseconds from a count of `unit`; PostgreSQL keeps no finer time.
fn micros(v: i64, unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => v.checked_mul(1_000_000),
        TimeUnit::Millisecond => v.checked_mul(1_000),
        TimeUnit::Microsecond => Some(v),
        TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
    }
}

/// PostgreSQL's answer to a value its type cannot hold, e.g. a timestamp past year 262143.
fn out_of_range(what: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        "22008".to_string(),
        format!("{what} out of range"),
    )))
}
