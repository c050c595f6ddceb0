//! Arrow types as PostgreSQL types: OIDs, and encoding values in text or binary format.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimeUnit, UInt16Type, UInt32Type, UInt8Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ScalarValue;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::{DataRowEncoder, FieldInfo};
use pgwire::api::Type;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;

use super::text::{float_text, time_text, timestamp_text, PgText};

/// The PostgreSQL type a column of this Arrow type is sent as.
pub fn pg_type(t: &DataType) -> Type {
    match t {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 => Type::INT8,
        DataType::UInt64
        | DataType::Decimal32(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => Type::NUMERIC,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::TEXT,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Type::BYTEA,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Time32(_) | DataType::Time64(_) => Type::TIME,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        _ => Type::TEXT,
    }
}

/// Field descriptions for a schema, in the formats the client asked for.
pub(super) fn fields(
    schema: &datafusion::arrow::datatypes::Schema,
    format: &Format,
) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            FieldInfo::new(
                f.name().clone(),
                None,
                None,
                pg_type(f.data_type()),
                format.format_for(i),
            )
        })
        .collect()
}

fn text_value(array: &dyn Array, row: usize) -> String {
    let options = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"))
        .with_null("NULL");
    match ArrayFormatter::try_new(array, &options) {
        Ok(f) => f.value(row).to_string(),
        Err(e) => format!("<{e}>"),
    }
}

fn encode_cell(enc: &mut DataRowEncoder, array: &dyn Array, row: usize) -> PgWireResult<()> {
    // A NullArray (an untyped NULL, e.g. `SELECT NULL`) has no validity bitmap.
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return enc.encode_field(&None::<i32>);
    }
    match array.data_type() {
        DataType::Boolean => enc.encode_field(&array.as_boolean().value(row)),
        DataType::Int8 => enc.encode_field(&(array.as_primitive::<Int8Type>().value(row) as i16)),
        DataType::UInt8 => enc.encode_field(&(array.as_primitive::<UInt8Type>().value(row) as i16)),
        DataType::Int16 => enc.encode_field(&array.as_primitive::<Int16Type>().value(row)),
        DataType::UInt16 => {
            enc.encode_field(&(array.as_primitive::<UInt16Type>().value(row) as i32))
        }
        DataType::Int32 => enc.encode_field(&array.as_primitive::<Int32Type>().value(row)),
        DataType::UInt32 => {
            enc.encode_field(&(array.as_primitive::<UInt32Type>().value(row) as i64))
        }
        DataType::Int64 => enc.encode_field(&array.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => {
            let v = array.as_primitive::<Float32Type>().value(row);
            enc.encode_field(&PgText {
                binary: v,
                text: float_text(v as f64),
            })
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            enc.encode_field(&PgText {
                binary: v,
                text: float_text(v),
            })
        }
        DataType::Utf8 => enc.encode_field(&array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => enc.encode_field(&array.as_string::<i64>().value(row)),
        DataType::Utf8View => enc.encode_field(&array.as_string_view().value(row)),
        DataType::Binary => enc.encode_field(&array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => enc.encode_field(&array.as_binary::<i64>().value(row)),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163);
            enc.encode_field(&date)
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => {
                    array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampSecondType>()
                        .value(row)
                        * 1_000_000_000
                }
                TimeUnit::Millisecond => {
                    array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>()
                        .value(row)
                        * 1_000_000
                }
                TimeUnit::Microsecond => {
                    array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                        .value(row)
                        * 1_000
                }
                TimeUnit::Nanosecond => array
                    .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                    .value(row),
            };
            let dt = chrono::DateTime::from_timestamp_nanos(v);
            let text = timestamp_text(&dt.naive_utc());
            if tz.is_some() {
                enc.encode_field(&PgText {
                    binary: dt,
                    text: format!("{text}+00"),
                })
            } else {
                enc.encode_field(&PgText {
                    binary: dt.naive_utc(),
                    text,
                })
            }
        }
        DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal32(_, _)
        | DataType::UInt64 => {
            let text = text_value(array, row);
            match rust_decimal::Decimal::from_str_exact(&text) {
                Ok(d) => enc.encode_field(&d),
                Err(_) => enc.encode_field(&text),
            }
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let text = text_value(array, row);
            match chrono::NaiveTime::parse_from_str(&text, "%H:%M:%S%.f") {
                Ok(t) => enc.encode_field(&PgText {
                    binary: t,
                    text: time_text(&t),
                }),
                Err(_) => enc.encode_field(&text),
            }
        }
        DataType::List(_) | DataType::LargeList(_) => enc.encode_field(&array_text(array, row)),
        _ => enc.encode_field(&text_value(array, row)),
    }
}

/// PostgreSQL's array literal: `{1,2,3}`, strings quoted when needed.
fn array_text(array: &dyn Array, row: usize) -> String {
    let values = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().value(row),
        _ => array.as_list::<i64>().value(row),
    };
    let items: Vec<String> = (0..values.len())
        .map(|i| {
            if values.is_null(i) {
                return "NULL".to_string();
            }
            let t = text_value(values.as_ref(), i);
            let quote = t.is_empty()
                || t.eq_ignore_ascii_case("null")
                || t.contains([',', '{', '}', '"', '\\', ' ']);
            if quote
                && matches!(
                    values.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            {
                format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                t
            }
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Encodes every row of a batch.
pub(super) fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> Vec<PgWireResult<DataRow>> {
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut failed = None;
        for col in batch.columns() {
            if let Err(e) = encode_cell(&mut encoder, col.as_ref(), row) {
                failed = Some(e);
                break;
            }
        }
        match failed {
            Some(e) => {
                rows.push(Err(e));
                return rows;
            }
            None => rows.push(Ok(encoder.take_row())),
        }
    }
    rows
}

/// The PostgreSQL type a parameter of this Arrow type is read as.
pub(super) fn param_pg_type(t: Option<&DataType>) -> Type {
    match t {
        Some(t) => pg_type(t),
        None => Type::UNKNOWN,
    }
}

/// Reads the portal's parameters as scalars of the types the plan expects.
pub(super) fn decode_params(
    portal: &Portal<String>,
    types: &[Option<DataType>],
) -> PgWireResult<Vec<ScalarValue>> {
    let mut out = Vec::with_capacity(portal.parameter_len());
    for i in 0..portal.parameter_len() {
        let declared = portal.statement.parameter_types.get(i).cloned().flatten();
        let expected = types.get(i).cloned().flatten();
        let pg = match &declared {
            Some(t) if *t != Type::UNKNOWN => t.clone(),
            _ => param_pg_type(expected.as_ref()),
        };
        let value = match pg {
            Type::BOOL => ScalarValue::Boolean(portal.parameter::<bool>(i, &pg)?),
            Type::INT2 => ScalarValue::Int16(portal.parameter::<i16>(i, &pg)?),
            Type::INT4 => ScalarValue::Int32(portal.parameter::<i32>(i, &pg)?),
            Type::INT8 => ScalarValue::Int64(portal.parameter::<i64>(i, &pg)?),
            Type::FLOAT4 => ScalarValue::Float32(portal.parameter::<f32>(i, &pg)?),
            Type::FLOAT8 => ScalarValue::Float64(portal.parameter::<f64>(i, &pg)?),
            Type::NUMERIC => ScalarValue::Utf8(
                portal
                    .parameter::<rust_decimal::Decimal>(i, &pg)?
                    .map(|d| d.to_string()),
            ),
            Type::DATE => ScalarValue::Date32(
                portal
                    .parameter::<chrono::NaiveDate>(i, &pg)?
                    .map(|d| d.num_days_from_ce_i32() - 719_163),
            ),
            Type::TIMESTAMP => ScalarValue::TimestampMicrosecond(
                portal
                    .parameter::<chrono::NaiveDateTime>(i, &pg)?
                    .map(|d| d.and_utc().timestamp_micros()),
                None,
            ),
            Type::BYTEA => ScalarValue::Binary(portal.parameter::<Vec<u8>>(i, &pg)?),
            _ => ScalarValue::Utf8(portal.parameter::<String>(i, &Type::TEXT)?),
        };
        // Let DataFusion coerce to the exact type the plan expects.
        let value = match &expected {
            Some(t) if value.data_type() != *t && !value.is_null() => {
                value.cast_to(t).unwrap_or(value)
            }
            _ => value,
        };
        out.push(value);
    }
    Ok(out)
}

trait DaysFromCe {
    fn num_days_from_ce_i32(&self) -> i32;
}

impl DaysFromCe for chrono::NaiveDate {
    fn num_days_from_ce_i32(&self) -> i32 {
        use chrono::Datelike;
        self.num_days_from_ce()
    }
}
