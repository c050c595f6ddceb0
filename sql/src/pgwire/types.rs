//! Arrow types as PostgreSQL types: OIDs, typmods and widths for RowDescription, and
//! parameters read back as the types a plan expects.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::FieldInfo;
use pgwire::api::Type;
use pgwire::error::PgWireResult;

/// What a column of an Arrow type is on the wire. Arrow types PostgreSQL has no twin for
/// travel as the nearest one: unsigned integers widened, ARRAY as the element's array
/// type, ROW and MAP (and arrays of them) as json.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Class {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Json,
    Array(Box<Class>),
}

impl Class {
    pub(super) fn of(t: &DataType) -> Class {
        if let Some(c) = Self::scalar(t) {
            return c;
        }
        match t {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                match Self::scalar(f.data_type()) {
                    Some(element) => Class::Array(Box::new(element)),
                    None => Class::Json,
                }
            }
            DataType::Struct(_)
            | DataType::Map(_, _)
            | DataType::ListView(_)
            | DataType::LargeListView(_) => Class::Json,
            DataType::Dictionary(_, v) => Self::of(v),
            _ => Class::Text,
        }
    }

    /// The class of a type that is not a container.
    fn scalar(t: &DataType) -> Option<Class> {
        Some(match t {
            DataType::Boolean => Class::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => Class::Int2,
            DataType::Int32 | DataType::UInt16 => Class::Int4,
            DataType::Int64 | DataType::UInt32 => Class::Int8,
            DataType::UInt64
            | DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => Class::Numeric,
            DataType::Float16 | DataType::Float32 => Class::Float4,
            DataType::Float64 => Class::Float8,
            DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Class::Text
            }
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => Class::Bytea,
            DataType::Date32 | DataType::Date64 => Class::Date,
            DataType::Time32(_) | DataType::Time64(_) => Class::Time,
            DataType::Timestamp(_, None) => Class::Timestamp,
            DataType::Timestamp(_, Some(_)) => Class::TimestampTz,
            DataType::Interval(_) | DataType::Duration(_) => Class::Interval,
            DataType::Dictionary(_, v) => return Self::scalar(v),
            _ => return None,
        })
    }

    pub(super) fn pg(&self) -> Type {
        match self {
            Class::Bool => Type::BOOL,
            Class::Int2 => Type::INT2,
            Class::Int4 => Type::INT4,
            Class::Int8 => Type::INT8,
            Class::Float4 => Type::FLOAT4,
            Class::Float8 => Type::FLOAT8,
            Class::Numeric => Type::NUMERIC,
            Class::Text => Type::TEXT,
            Class::Bytea => Type::BYTEA,
            Class::Date => Type::DATE,
            Class::Time => Type::TIME,
            Class::Timestamp => Type::TIMESTAMP,
            Class::TimestampTz => Type::TIMESTAMPTZ,
            Class::Interval => Type::INTERVAL,
            Class::Json => Type::JSON,
            Class::Array(element) => match element.as_ref() {
                Class::Bool => Type::BOOL_ARRAY,
                Class::Int2 => Type::INT2_ARRAY,
                Class::Int4 => Type::INT4_ARRAY,
                Class::Int8 => Type::INT8_ARRAY,
                Class::Float4 => Type::FLOAT4_ARRAY,
                Class::Float8 => Type::FLOAT8_ARRAY,
                Class::Numeric => Type::NUMERIC_ARRAY,
                Class::Bytea => Type::BYTEA_ARRAY,
                Class::Date => Type::DATE_ARRAY,
                Class::Time => Type::TIME_ARRAY,
                Class::Timestamp => Type::TIMESTAMP_ARRAY,
                Class::TimestampTz => Type::TIMESTAMPTZ_ARRAY,
                Class::Interval => Type::INTERVAL_ARRAY,
                Class::Json => Type::JSON_ARRAY,
                Class::Text | Class::Array(_) => Type::TEXT_ARRAY,
            },
        }
    }

    /// `pg_type.typlen`: the fixed width, or -1.
    fn typlen(&self) -> i16 {
        match self {
            Class::Bool => 1,
            Class::Int2 => 2,
            Class::Int4 | Class::Float4 | Class::Date => 4,
            Class::Int8 | Class::Float8 | Class::Time | Class::Timestamp | Class::TimestampTz => 8,
            Class::Interval => 16,
            Class::Numeric | Class::Text | Class::Bytea | Class::Json | Class::Array(_) => -1,
        }
    }
}

/// The PostgreSQL type a column of this Arrow type is sent as.
pub fn pg_type(t: &DataType) -> Type {
    Class::of(t).pg()
}

/// The typmod a column of this Arrow type is described with, as PostgreSQL's
/// `atttypmod`: precision and scale of a numeric, fraction digits of a time or timestamp
/// (Arrow's unit; nanoseconds are more than PostgreSQL keeps, so no modifier).
pub fn pg_typmod(t: &DataType) -> i32 {
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            // PostgreSQL 15 keeps a negative scale in the low 11 bits.
            ((i32::from(*p) << 16) | (i32::from(*s) & 0x7ff)) + 4
        }
        DataType::Timestamp(unit, _) | DataType::Time32(unit) | DataType::Time64(unit) => {
            match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond => 6,
                TimeUnit::Nanosecond => -1,
            }
        }
        DataType::Dictionary(_, v) => pg_typmod(v),
        // As PostgreSQL: an array column carries its element's modifier.
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
            if matches!(Class::of(t), Class::Array(_)) =>
        {
            pg_typmod(f.data_type())
        }
        _ => -1,
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
            let class = Class::of(f.data_type());
            let origin = |key: &str| f.metadata().get(key).and_then(|v| v.parse::<i64>().ok());
            let table = origin(crate::handler::TABLE_OID).and_then(|v| i32::try_from(v).ok());
            let column = origin(crate::handler::ATTNUM).and_then(|v| i16::try_from(v).ok());
            let mut pg = class.pg();
            let mut typmod = pg_typmod(f.data_type());
            // The declared type, where Arrow's has lost the modifier (`time(3)`) or the
            // type (`varchar(20)` is Utf8); the values' bytes are the same.
            let declared = origin(crate::handler::TYPE_OID)
                .and_then(|v| u32::try_from(v).ok())
                .and_then(Type::from_oid)
                .zip(origin(crate::handler::TYPMOD).and_then(|v| i32::try_from(v).ok()));
            if let Some((t, m)) = declared {
                let same_bytes =
                    t == pg || (pg == Type::TEXT && matches!(t, Type::VARCHAR | Type::BPCHAR));
                if same_bytes {
                    pg = t;
                    typmod = m;
                }
            }
            FieldInfo::new(f.name().clone(), table, column, pg, format.format_for(i))
                .with_type_modifier(typmod)
                .with_type_size(class.typlen())
        })
        .collect()
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
            Type::TIMESTAMPTZ => ScalarValue::TimestampMicrosecond(
                portal
                    .parameter::<chrono::DateTime<chrono::FixedOffset>>(i, &pg)?
                    .map(|d| d.timestamp_micros()),
                Some("UTC".into()),
            ),
            Type::TIME => ScalarValue::Time64Microsecond(
                portal.parameter::<chrono::NaiveTime>(i, &pg)?.map(|t| {
                    use chrono::Timelike;
                    i64::from(t.num_seconds_from_midnight()) * 1_000_000
                        + i64::from(t.nanosecond() / 1000)
                }),
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
