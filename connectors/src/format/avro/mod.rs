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

/// The avro format against the Avro reference semantics, as the `apache-avro` crate
/// implements them: datums it writes decode here, datums written here decode there, and
/// the derived schema is one it parses.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use apache_avro::types::Value;
    use datafusion::arrow::array::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

    use super::*;
    use crate::format::LineChunk;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("small", DataType::Int16, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("f", DataType::Float32, true),
            Field::new("d", DataType::Float64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("raw", DataType::Binary, true),
            Field::new("day", DataType::Date32, true),
            Field::new("at", DataType::Time64(TimeUnit::Nanosecond), true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new(
                "ltz",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("price", DataType::Decimal128(10, 2), true),
        ]))
    }

    /// Two rows: one with a value in every column, one with NULL in every nullable one.
    fn batch() -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![-(1 << 40), 7])),
            Arc::new(Int16Array::from(vec![Some(-300), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Float32Array::from(vec![Some(1.5), None])),
            Arc::new(Float64Array::from(vec![Some(-2.25), None])),
            Arc::new(StringArray::from(vec![Some("zoë"), None])),
            Arc::new(BinaryArray::from(vec![Some(&[0u8, 0xff, 0x10][..]), None])),
            Arc::new(Date32Array::from(vec![Some(19_723), None])),
            Arc::new(Time64NanosecondArray::from(vec![
                Some(43_994_123_000_000),
                None,
            ])),
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_704_067_200_123),
                None,
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_704_067_200_123_456), None])
                    .with_timezone("UTC"),
            ),
            Arc::new(
                Decimal128Array::from(vec![Some(-12_345), None])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    fn reference_schema() -> apache_avro::Schema {
        apache_avro::Schema::parse_str(&schema_json(&schema()).unwrap()).unwrap()
    }

    /// The rows of [`batch`] as the reference implementation holds them.
    fn reference_rows() -> Vec<Value> {
        let some = |v: Value| Value::Union(1, Box::new(v));
        let null = || Value::Union(0, Box::new(Value::Null));
        let first = vec![
            ("id", Value::Long(-(1 << 40))),
            ("small", some(Value::Int(-300))),
            ("ok", some(Value::Boolean(true))),
            ("f", some(Value::Float(1.5))),
            ("d", some(Value::Double(-2.25))),
            ("name", some(Value::String("zoë".into()))),
            ("raw", some(Value::Bytes(vec![0, 0xff, 0x10]))),
            ("day", some(Value::Date(19_723))),
            ("at", some(Value::TimeMillis(43_994_123))),
            ("ts", some(Value::TimestampMillis(1_704_067_200_123))),
            ("ltz", some(Value::TimestampMicros(1_704_067_200_123_456))),
            (
                "price",
                some(Value::Decimal(apache_avro::Decimal::from(
                    (-12_345i64).to_be_bytes().to_vec(),
                ))),
            ),
        ];
        let second = first
            .iter()
            .map(|(name, _)| match name {
                &"id" => (*name, Value::Long(7)),
                _ => (*name, null()),
            })
            .collect::<Vec<_>>();
        [first, second]
            .into_iter()
            .map(|fields| {
                Value::Record(
                    fields
                        .into_iter()
                        .map(|(n, v)| (n.to_string(), v))
                        .collect(),
                )
            })
            .collect()
    }

    fn chunk(datums: &[Vec<u8>]) -> LineChunk {
        let mut chunk = LineChunk::new();
        for (i, d) in datums.iter().enumerate() {
            chunk.push(i as u64, d);
        }
        chunk
    }

    #[test]
    fn the_derived_schema_is_flinks() {
        let small = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        assert_eq!(
            schema_json(&small).unwrap(),
            r#"{"type":"record","name":"record","namespace":"org.apache.flink.avro.generated","fields":[{"name":"id","type":"long"},{"name":"name","type":["null","string"],"default":null}]}"#
        );
        reference_schema();
    }

    #[test]
    fn datums_the_reference_writes_decode_into_the_rows() {
        let schema = reference_schema();
        let datums: Vec<Vec<u8>> = reference_rows()
            .into_iter()
            .map(|v| apache_avro::to_avro_datum(&schema, v).unwrap())
            .collect();
        let mut decoder = AvroFormatFactory
            .create_decoder(self::schema(), &BTreeMap::new())
            .unwrap();
        assert_eq!(decoder.decode_records(&chunk(&datums)).unwrap(), batch());
    }

    #[test]
    fn datums_written_here_decode_in_the_reference() {
        let mut encoder = AvroFormatFactory
            .create_encoder(self::schema(), &BTreeMap::new())
            .unwrap();
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        encoder
            .encode_records(&batch(), &mut out, &mut ends)
            .unwrap();
        assert_eq!(ends.len(), 2);
        let schema = reference_schema();
        let mut start = 0;
        let mut decoded = Vec::new();
        for end in ends {
            let mut datum = &out[start..end];
            decoded.push(apache_avro::from_avro_datum(&schema, &mut datum, None).unwrap());
            assert!(datum.is_empty(), "the datum is exactly the record");
            start = end;
        }
        assert_eq!(decoded, reference_rows());
    }

    #[test]
    fn malformed_datums_are_errors_naming_what_is_wrong() {
        let schema = reference_schema();
        let good = apache_avro::to_avro_datum(&schema, reference_rows().remove(0)).unwrap();
        let mut decoder = AvroFormatFactory
            .create_decoder(self::schema(), &BTreeMap::new())
            .unwrap();
        let truncated = good[..good.len() - 3].to_vec();
        let err = decoder.decode_records(&chunk(&[truncated])).unwrap_err();
        assert!(err.contains("ends in the middle"), "{err}");
        // The id (a long, 1) and then union branch 5 of the nullable `small`.
        let err = decoder.decode_records(&chunk(&[vec![2, 10]])).unwrap_err();
        assert!(err.contains("union branch 5"), "{err}");
        let err = decoder
            .decode_records(&chunk(&[vec![0xff; 12]]))
            .unwrap_err();
        assert!(err.contains("varint"), "{err}");
    }

    #[test]
    fn options_and_types_are_checked() {
        let opts = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let f = AvroFormatFactory;
        assert!(f
            .validate(&schema(), &opts("avro.encoding", "json"))
            .is_err());
        assert!(f.validate(&schema(), &opts("avro.codec", "lz77")).is_err());
        f.validate(&schema(), &opts("avro.codec", "snappy"))
            .unwrap();
        let nested = Schema::new(vec![Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
            true,
        )]);
        let err = f
            .validate(&nested, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("tags") && err.contains("avro"), "{err}");
    }
}
