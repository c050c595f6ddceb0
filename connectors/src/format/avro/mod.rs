//! Flink's `avro` format: each record is one Avro datum in the binary encoding, without a
//! header or schema id, written and read with the schema derived from the table as
//! Flink's `AvroSchemaConverter` derives it: a record named `record` whose nullable
//! columns are unions `["null", T]`. Decoding goes straight into Arrow builders, a whole
//! buffer of records at once (`decode`), and encoding straight from Arrow arrays
//! (`encode`). Nested types (ARRAY, MAP, ROW) are not supported yet.
//!
//! Records are messages, not lines: the format is for Kafka. Flink's filesystem writes
//! Avro object container files instead, which Eddy does not read or write.

mod decode;
mod encode;

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use eddy_runtime::RuntimeError;

use super::{BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory};
use crate::error::{ConnectorError, Result};
use crate::options::{get, parse_bool, OptionKey};
use crate::types::sql_type_name;

/// `avro.encoding`.
pub const ENCODING: OptionKey = OptionKey::with_default(
    "avro.encoding",
    "binary",
    "'binary' (Eddy reads and writes Avro's binary encoding only; 'json' is refused).",
);
/// `avro.codec`.
pub const CODEC: OptionKey = OptionKey::new(
    "avro.codec",
    "Compression of Avro container files (accepted as in Flink; Kafka records are not \
     containers, so it changes nothing there).",
);
/// `avro.timestamp_mapping.legacy`.
pub const TIMESTAMP_MAPPING_LEGACY: OptionKey = OptionKey::with_default(
    "avro.timestamp_mapping.legacy",
    "true",
    "Which logical types timestamps take in the schema (accepted; the binary encoding of a \
     timestamp is the same long either way).",
);

/// The Avro type a column is written as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AvroType {
    Boolean,
    Int,
    Long,
    Float,
    Double,
    String,
    Bytes,
    /// `int` with logical type `date`: days since the epoch.
    Date,
    /// `int` with logical type `time-millis`.
    TimeMillis,
    /// `long` with logical type `timestamp-millis`.
    TimestampMillis,
    /// `long` with logical type `timestamp-micros`.
    TimestampMicros,
    /// `bytes` with logical type `decimal`: the unscaled value, big-endian two's complement.
    Decimal {
        precision: u8,
        scale: i8,
    },
}

impl AvroType {
    /// The type of a column of Arrow type `data_type`, as Flink maps its SQL type.
    fn of(data_type: &DataType) -> Option<Self> {
        Some(match data_type {
            DataType::Boolean => AvroType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 => AvroType::Int,
            DataType::Int64 => AvroType::Long,
            DataType::Float32 => AvroType::Float,
            DataType::Float64 => AvroType::Double,
            DataType::Utf8 => AvroType::String,
            DataType::Binary => AvroType::Bytes,
            DataType::Date32 => AvroType::Date,
            DataType::Time32(_) | DataType::Time64(_) => AvroType::TimeMillis,
            DataType::Timestamp(TimeUnit::Second | TimeUnit::Millisecond, _) => {
                AvroType::TimestampMillis
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => AvroType::TimestampMicros,
            DataType::Decimal128(precision, scale) => AvroType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            _ => return None,
        })
    }

    /// The type's schema text.
    fn schema_json(self) -> String {
        let logical = |base: &str, logical: &str| {
            format!("{{\"type\":\"{base}\",\"logicalType\":\"{logical}\"}}")
        };
        match self {
            AvroType::Boolean => "\"boolean\"".into(),
            AvroType::Int => "\"int\"".into(),
            AvroType::Long => "\"long\"".into(),
            AvroType::Float => "\"float\"".into(),
            AvroType::Double => "\"double\"".into(),
            AvroType::String => "\"string\"".into(),
            AvroType::Bytes => "\"bytes\"".into(),
            AvroType::Date => logical("int", "date"),
            AvroType::TimeMillis => logical("int", "time-millis"),
            AvroType::TimestampMillis => logical("long", "timestamp-millis"),
            AvroType::TimestampMicros => logical("long", "timestamp-micros"),
            AvroType::Decimal { precision, scale } => format!(
                "{{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":{precision},\"scale\":{scale}}}"
            ),
        }
    }
}

/// A column as Avro sees it.
#[derive(Debug, Clone)]
pub(crate) struct AvroField {
    pub avro: AvroType,
    /// A union `["null", T]` (a nullable column) rather than `T`.
    pub nullable: bool,
}

/// The Avro fields of `schema`'s columns, or the first column Avro cannot hold.
pub(crate) fn avro_fields(schema: &Schema) -> Result<Vec<AvroField>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let avro =
                AvroType::of(f.data_type()).ok_or_else(|| ConnectorError::UnsupportedType {
                    connector_or_format: "format 'avro'".into(),
                    column: f.name().clone(),
                    data_type: format!(
                        "{} (Avro holds timestamps up to precision 6, as in Flink; Eddy's avro format holds scalar columns only for now)",
                        sql_type_name(f.data_type())
                    ),
                })?;
            Ok(AvroField {
                avro,
                nullable: f.is_nullable(),
            })
        })
        .collect()
}

/// The schema Flink's `AvroSchemaConverter` derives for `schema`, as JSON text.
pub fn schema_json(schema: &Schema) -> Result<String> {
    let fields = avro_fields(schema)?;
    let fields: Vec<String> = schema
        .fields()
        .iter()
        .zip(fields)
        .map(|(f, a)| {
            let name = serde_json::to_string(f.name()).unwrap_or_default();
            match a.nullable {
                true => format!(
                    "{{\"name\":{name},\"type\":[\"null\",{}],\"default\":null}}",
                    a.avro.schema_json()
                ),
                false => format!("{{\"name\":{name},\"type\":{}}}", a.avro.schema_json()),
            }
        })
        .collect();
    Ok(format!(
        "{{\"type\":\"record\",\"name\":\"record\",\"namespace\":\"org.apache.flink.avro.generated\",\"fields\":[{}]}}",
        fields.join(",")
    ))
}

/// The `avro` format.
#[derive(Debug, Default)]
pub struct AvroFormatFactory;

impl FormatFactory for AvroFormatFactory {
    fn identifier(&self) -> &'static str {
        "avro"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![ENCODING, CODEC, TIMESTAMP_MAPPING_LEGACY]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        avro_fields(schema)?;
        if let Some(encoding) = get(options, &ENCODING) {
            if encoding != "binary" {
                return Err(ConnectorError::invalid(
                    ENCODING.key,
                    encoding,
                    "Eddy reads and writes Avro's binary encoding only",
                ));
            }
        }
        if let Some(codec) = get(options, &CODEC) {
            let known = ["null", "deflate", "snappy", "bzip2", "xz", "zstandard"];
            if !known.contains(&codec) {
                return Err(ConnectorError::invalid(
                    CODEC.key,
                    codec,
                    format!("expected one of {}", known.join(", ")),
                ));
            }
        }
        if let Some(v) = get(options, &TIMESTAMP_MAPPING_LEGACY) {
            parse_bool(TIMESTAMP_MAPPING_LEGACY.key, v)?;
        }
        Ok(())
    }

    fn reads_lines(&self) -> bool {
        false
    }

    fn bad_record_policy(&self, _options: &BTreeMap<String, String>) -> Result<BadRecordPolicy> {
        // Flink's avro format has no ignore-parse-errors: a bad record fails the job.
        Ok(BadRecordPolicy::Fail)
    }

    fn create_decoder(
        &self,
        schema: SchemaRef,
        _options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>> {
        Ok(Box::new(decode::AvroDecoder::new(schema)?))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        _options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        Ok(Box::new(encode::AvroEncoder::new(schema)?))
    }
}

fn not_lines() -> RuntimeError {
    RuntimeError::User(
        "format 'avro' encodes records, not lines: use it with the kafka or upsert-kafka connector"
            .into(),
    )
}

#[cfg(test)]
mod tests;
