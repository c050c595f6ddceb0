//! Flink SQL data types: how they are written, shown and mapped to Arrow.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use serde::{Deserialize, Serialize};

/// A Flink logical type as declared in DDL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlinkType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal(u8, i8),
    Char(u32),
    Varchar(u32),
    String,
    Binary(u32),
    Varbinary(u32),
    Bytes,
    Date,
    Time(u8),
    Timestamp(u8),
    TimestampLtz(u8),
    Array(Box<FlinkType>),
    Map(Box<FlinkType>, Box<FlinkType>),
    Row(Vec<(String, FlinkType)>),
}

fn unit(precision: u8) -> TimeUnit {
    match precision {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

fn precision(unit: &TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

impl FlinkType {
    /// The Flink type of an Arrow type, for columns whose type is inferred (computed
    /// columns); `None` for Arrow types Flink has no name for.
    pub fn from_arrow(t: &DataType) -> Option<FlinkType> {
        Some(match t {
            DataType::Boolean => FlinkType::Boolean,
            DataType::Int8 => FlinkType::TinyInt,
            DataType::Int16 => FlinkType::SmallInt,
            DataType::Int32 => FlinkType::Int,
            DataType::Int64 => FlinkType::BigInt,
            DataType::Float32 => FlinkType::Float,
            DataType::Float64 => FlinkType::Double,
            DataType::Decimal128(p, s) => FlinkType::Decimal(*p, *s),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => FlinkType::String,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => FlinkType::Bytes,
            DataType::Date32 => FlinkType::Date,
            DataType::Time32(u) | DataType::Time64(u) => FlinkType::Time(precision(u)),
            DataType::Timestamp(u, None) => FlinkType::Timestamp(precision(u)),
            DataType::Timestamp(u, Some(_)) => FlinkType::TimestampLtz(precision(u)),
            DataType::List(f) | DataType::LargeList(f) => {
                FlinkType::Array(Box::new(FlinkType::from_arrow(f.data_type())?))
            }
            DataType::Struct(fields) => FlinkType::Row(
                fields
                    .iter()
                    .map(|f| Some((f.name().clone(), FlinkType::from_arrow(f.data_type())?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => FlinkType::Map(
                    Box::new(FlinkType::from_arrow(kv[0].data_type())?),
                    Box::new(FlinkType::from_arrow(kv[1].data_type())?),
                ),
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The Arrow type values of this type are held in.
    pub fn to_arrow(&self) -> DataType {
        match self {
            FlinkType::Boolean => DataType::Boolean,
            FlinkType::TinyInt => DataType::Int8,
            FlinkType::SmallInt => DataType::Int16,
            FlinkType::Int => DataType::Int32,
            FlinkType::BigInt => DataType::Int64,
            FlinkType::Float => DataType::Float32,
            FlinkType::Double => DataType::Float64,
            FlinkType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            FlinkType::Char(_) | FlinkType::Varchar(_) | FlinkType::String => DataType::Utf8,
            FlinkType::Binary(_) | FlinkType::Varbinary(_) | FlinkType::Bytes => DataType::Binary,
            FlinkType::Date => DataType::Date32,
            FlinkType::Time(_) => DataType::Time64(TimeUnit::Nanosecond),
            FlinkType::Timestamp(p) => DataType::Timestamp(unit(*p), None),
            FlinkType::TimestampLtz(p) => DataType::Timestamp(unit(*p), Some("UTC".into())),
            FlinkType::Array(inner) => {
                DataType::List(Arc::new(Field::new("element", inner.to_arrow(), true)))
            }
            FlinkType::Map(k, v) => DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k.to_arrow(), false),
                        Field::new("value", v.to_arrow(), true),
                    ])),
                    false,
                )),
                false,
            ),
            FlinkType::Row(fields) => DataType::Struct(Fields::from(
                fields
                    .iter()
                    .map(|(n, t)| Field::new(n, t.to_arrow(), true))
                    .collect::<Vec<_>>(),
            )),
        }
    }
}

impl std::fmt::Display for FlinkType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlinkType::Boolean => write!(f, "BOOLEAN"),
            FlinkType::TinyInt => write!(f, "TINYINT"),
            FlinkType::SmallInt => write!(f, "SMALLINT"),
            FlinkType::Int => write!(f, "INT"),
            FlinkType::BigInt => write!(f, "BIGINT"),
            FlinkType::Float => write!(f, "FLOAT"),
            FlinkType::Double => write!(f, "DOUBLE"),
            FlinkType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            FlinkType::Char(n) => write!(f, "CHAR({n})"),
            FlinkType::Varchar(n) => write!(f, "VARCHAR({n})"),
            FlinkType::String => write!(f, "STRING"),
            FlinkType::Binary(n) => write!(f, "BINARY({n})"),
            FlinkType::Varbinary(n) => write!(f, "VARBINARY({n})"),
            FlinkType::Bytes => write!(f, "BYTES"),
            FlinkType::Date => write!(f, "DATE"),
            FlinkType::Time(p) => write!(f, "TIME({p})"),
            FlinkType::Timestamp(p) => write!(f, "TIMESTAMP({p})"),
            FlinkType::TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})"),
            FlinkType::Array(t) => write!(f, "ARRAY<{t}>"),
            FlinkType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            FlinkType::Row(fields) => {
                write!(f, "ROW<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "`{n}` {t}")?;
                }
                write!(f, ">")
            }
        }
    }
}
