//! Flink's `json` format: one JSON object per line, fields matched to columns by name,
//! unknown fields ignored. Timestamps are read in Flink's SQL text
//! (`2020-12-30 12:13:14.123`) or ISO-8601, and written as `json.timestamp-format.standard`
//! says. A missing field is NULL unless `json.fail-on-missing-field` is set.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::arrow::json::{ReaderBuilder, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::RuntimeError;
use serde::de::IgnoredAny;

use super::{
    BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory, DATE_FORMAT, ISO_TIMESTAMP_FORMAT,
    ISO_TIMESTAMP_LTZ_FORMAT, SQL_TIMESTAMP_FORMAT, SQL_TIMESTAMP_LTZ_FORMAT, TIME_FORMAT,
};
use crate::error::{ConnectorError, Result};
use crate::options::{get, get_bool, OptionKey};
use crate::types::sql_type_name;

/// `json.fail-on-missing-field`.
pub const FAIL_ON_MISSING_FIELD: OptionKey = OptionKey::with_default(
    "json.fail-on-missing-field",
    "false",
    "Fail on a record missing a field instead of reading NULL.",
);
/// `json.ignore-parse-errors`.
pub const IGNORE_PARSE_ERRORS: OptionKey = OptionKey::with_default(
    "json.ignore-parse-errors",
    "false",
    "Skip (and count) malformed records instead of failing.",
);
/// `json.timestamp-format.standard`.
pub const TIMESTAMP_FORMAT_STANDARD: OptionKey = OptionKey::with_default(
    "json.timestamp-format.standard",
    "SQL",
    "How timestamps are written: 'SQL' (2020-12-30 12:13:14.123) or 'ISO-8601' \
     (2020-12-30T12:13:14.123); both are read.",
);
/// `json.encode.ignore-null-fields`.
pub const IGNORE_NULL_FIELDS: OptionKey = OptionKey::with_default(
    "json.encode.ignore-null-fields",
    "false",
    "Leave NULL fields out of written objects.",
);

/// The `json` format.
#[derive(Debug, Default)]
pub struct JsonFormatFactory;

/// Parsed `json.*` options.
#[derive(Debug, Clone, Copy)]
struct JsonConfig {
    fail_on_missing_field: bool,
    ignore_parse_errors: bool,
    iso_timestamps: bool,
    ignore_null_fields: bool,
}

impl JsonConfig {
    fn parse(options: &BTreeMap<String, String>) -> Result<Self> {
        let fail_on_missing_field = get_bool(options, &FAIL_ON_MISSING_FIELD)?;
        let ignore_parse_errors = get_bool(options, &IGNORE_PARSE_ERRORS)?;
        if fail_on_missing_field && ignore_parse_errors {
            return Err(ConnectorError::invalid(
                FAIL_ON_MISSING_FIELD.key,
                "true",
                "'json.fail-on-missing-field' and 'json.ignore-parse-errors' cannot both be true",
            ));
        }
        let iso_timestamps = match get(options, &TIMESTAMP_FORMAT_STANDARD) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("SQL") => false,
            Some(v) if v.eq_ignore_ascii_case("ISO-8601") => true,
            Some(v) => {
                return Err(ConnectorError::invalid(
                    TIMESTAMP_FORMAT_STANDARD.key,
                    v,
                    "expected 'SQL' or 'ISO-8601'",
                ))
            }
        };
        Ok(Self {
            fail_on_missing_field,
            ignore_parse_errors,
            iso_timestamps,
            ignore_null_fields: get_bool(options, &IGNORE_NULL_FIELDS)?,
        })
    }
}

/// Whether the json format can hold a column of this type.
fn supports(data_type: &DataType) -> bool {
    use DataType::*;
    match data_type {
        Boolean
        | Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float32
        | Float64
        | Decimal128(_, _)
        | Decimal256(_, _)
        | Utf8
        | LargeUtf8
        | Utf8View
        | Binary
        | LargeBinary
        | Date32
        | Time32(_)
        | Time64(_)
        | Timestamp(_, _) => true,
        List(f) | LargeList(f) => supports(f.data_type()),
        Struct(fields) => fields.iter().all(|f| supports(f.data_type())),
        Map(entries, _) => match entries.data_type() {
            Struct(kv) if kv.len() == 2 => {
                kv[0].data_type() == &Utf8 && supports(kv[1].data_type())
            }
            _ => false,
        },
        _ => false,
    }
}

fn check_types(schema: &Schema) -> Result<()> {
    check_types_for(schema, "format 'json'")
}

/// Checks that every column can be written as JSON; `format` names the format in errors.
pub(crate) fn check_types_for(schema: &Schema, format: &str) -> Result<()> {
    match schema.fields().iter().find(|f| !supports(f.data_type())) {
        Some(f) => Err(ConnectorError::UnsupportedType {
            connector_or_format: format.into(),
            column: f.name().clone(),
            data_type: sql_type_name(f.data_type()),
        }),
        None => Ok(()),
    }
}

impl FormatFactory for JsonFormatFactory {
    fn identifier(&self) -> &'static str {
        "json"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            FAIL_ON_MISSING_FIELD,
            IGNORE_PARSE_ERRORS,
            TIMESTAMP_FORMAT_STANDARD,
            IGNORE_NULL_FIELDS,
        ]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        JsonConfig::parse(options)?;
        check_types(schema)
    }

    fn bad_record_policy(&self, options: &BTreeMap<String, String>) -> Result<BadRecordPolicy> {
        Ok(BadRecordPolicy::from_ignore_parse_errors(
            JsonConfig::parse(options)?.ignore_parse_errors,
        ))
    }

    fn create_decoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>> {
        check_types(&schema)?;
        let config = JsonConfig::parse(options)?;
        let strict_schema = config.fail_on_missing_field.then(|| {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(false))
                .collect();
            Arc::new(Schema::new(fields))
        });
        Ok(Box::new(JsonDecoder {
            schema,
            strict_schema,
        }))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        check_types(&schema)?;
        Ok(Box::new(JsonEncoder {
            config: JsonConfig::parse(options)?,
        }))
    }
}

/// Decodes JSON lines into batches of the table schema.
pub struct JsonDecoder {
    schema: SchemaRef,
    /// With `json.fail-on-missing-field`: the schema with every column NOT NULL. A chunk
    /// that decodes under it has no missing (and no null) field, so needs no further check.
    strict_schema: Option<SchemaRef>,
}

fn reason(e: ArrowError) -> String {
    match e {
        ArrowError::JsonError(m)
        | ArrowError::ParseError(m)
        | ArrowError::CastError(m)
        | ArrowError::InvalidArgumentError(m) => m,
        other => other.to_string(),
    }
}

pub(super) fn decode_with(
    schema: &SchemaRef,
    buf: &[u8],
    num_lines: usize,
) -> std::result::Result<RecordBatch, String> {
    // Decimals are read as their text and parsed here: see decimal_text.
    let text_schema = super::decimal_text::decimals_as_text(schema);
    // One spare row, so that a line holding two objects shows as an extra row.
    let mut decoder = ReaderBuilder::new(text_schema.clone().unwrap_or_else(|| schema.clone()))
        .with_batch_size(num_lines + 1)
        .with_coerce_primitive(true)
        .build_decoder()
        .map_err(reason)?;
    let mut offset = 0;
    while offset < buf.len() {
        let read = decoder.decode(&buf[offset..]).map_err(reason)?;
        if read == 0 {
            return Err("a line holds more than one JSON object".into());
        }
        offset += read;
    }
    if decoder.has_partial_record() {
        return Err("incomplete JSON object".into());
    }
    let Some(batch) = decoder.flush().map_err(reason)? else {
        return Ok(RecordBatch::new_empty(schema.clone()));
    };
    if text_schema.is_none() {
        return Ok(batch);
    }
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| match field.data_type() {
            DataType::Decimal128(..) | DataType::Decimal256(..) => {
                super::decimal_text::parse_decimals(column, field.data_type())
                    .map_err(|e| format!("column '{}': {e}", field.name()))
            }
            _ => Ok(column.clone()),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(reason)
}

impl JsonDecoder {
    /// Checks that every line of `buf` has every column as a key.
    fn check_fields_present(&self, buf: &[u8]) -> std::result::Result<(), String> {
        for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let keys: HashMap<String, IgnoredAny> =
                serde_json::from_slice(line).map_err(|e| e.to_string())?;
            if let Some(f) = self
                .schema
                .fields()
                .iter()
                .find(|f| !keys.contains_key(f.name()))
            {
                return Err(format!("could not find field with name '{}'", f.name()));
            }
        }
        Ok(())
    }
}

impl BatchDecoder for JsonDecoder {
    fn decode(&mut self, buf: &[u8], num_lines: usize) -> std::result::Result<RecordBatch, String> {
        if let Some(strict) = &self.strict_schema {
            if let Ok(batch) = decode_with(strict, buf, num_lines) {
                return RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())
                    .map_err(reason);
            }
        }
        let batch = decode_with(&self.schema, buf, num_lines)?;
        if self.strict_schema.is_some() {
            self.check_fields_present(buf)?;
        }
        Ok(batch)
    }
}

/// Encodes batches as JSON lines.
pub struct JsonEncoder {
    config: JsonConfig,
}

impl BatchEncoder for JsonEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        let (timestamp, timestamp_ltz) = if self.config.iso_timestamps {
            (ISO_TIMESTAMP_FORMAT, ISO_TIMESTAMP_LTZ_FORMAT)
        } else {
            (SQL_TIMESTAMP_FORMAT, SQL_TIMESTAMP_LTZ_FORMAT)
        };
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(!self.config.ignore_null_fields)
            .with_date_format(DATE_FORMAT.into())
            .with_time_format(TIME_FORMAT.into())
            .with_timestamp_format(timestamp.into())
            .with_timestamp_tz_format(timestamp_ltz.into())
            .build::<_, LineDelimited>(&mut *out);
        writer.write(batch)?;
        writer.finish()?;
        Ok(())
    }

    // A JSON text escapes every newline, so one encoding of the batch splits into rows.
    fn encode_records(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), RuntimeError> {
        let start = out.len();
        self.encode(batch, out)?;
        super::split_lines(out, start, ends);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray};
    use datafusion::arrow::array::{TimestampMicrosecondArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{Int64Type, TimeUnit};
    use eddy_runtime::metrics::TaskMetrics;

    use super::*;
    use crate::format::{LineChunk, RecordDecoder};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]))
    }

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn decode_full(
        text: &str,
        options: &[(&str, &str)],
    ) -> (Result<Option<RecordBatch>, RuntimeError>, u64) {
        let options = opts(options);
        let f = JsonFormatFactory;
        let metrics = Arc::new(TaskMetrics::default());
        let mut d = RecordDecoder::new(
            f.create_decoder(schema(), &options).unwrap(),
            schema(),
            f.bad_record_policy(&options).unwrap(),
            metrics.clone(),
        );
        let mut chunk = LineChunk::new();
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                chunk.push(i as u64 + 1, line.as_bytes());
            }
        }
        let result = d.decode("in.json", &chunk);
        (result, metrics.num_records_skipped.load(Ordering::Relaxed))
    }

    fn decode(text: &str, options: &[(&str, &str)]) -> Result<Option<RecordBatch>, RuntimeError> {
        decode_full(text, options).0
    }

    fn ids(batch: &RecordBatch) -> Vec<Option<i64>> {
        batch.column(0).as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn decodes_objects() {
        let text = r#"{"id": 1, "name": "a", "ts": "2020-12-30 12:13:14.123", "extra": [1]}
{"id": "2", "ts": "2020-12-30T12:13:14.123Z"}
{"id": null, "name": 5}"#;
        let batch = decode(text, &[]).unwrap().unwrap();
        assert_eq!(ids(&batch), vec![Some(1), Some(2), None]);
        let names = batch.column(1).as_string::<i32>();
        assert_eq!(names.value(0), "a");
        assert!(names.is_null(1));
        assert_eq!(names.value(2), "5");
        let ts = batch
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(ts.value(0), 1_609_330_394_123);
        assert_eq!(ts.value(1), 1_609_330_394_123);
    }

    #[test]
    fn broken_json_fails_with_line_number() {
        let text = "{\"id\": 1}\n{\"id\": 2\n{\"id\": 3}\n";
        match decode(text, &[]).unwrap_err() {
            RuntimeError::BadRecord {
                location, record, ..
            } => {
                assert_eq!(location, "in.json:2");
                assert_eq!(record, "{\"id\": 2");
            }
            other => panic!("{other:?}"),
        }
        let err = decode("{\"id\": 1}\n\n{\"id\": \"abc\"}\n", &[]).unwrap_err();
        assert!(err.to_string().contains("in.json:3"), "{err}");
        let err = decode("[1, 2]\n", &[]).unwrap_err();
        assert!(err.to_string().contains("in.json:1"), "{err}");
        let err = decode("{\"id\": 1} {\"id\": 2}\n", &[]).unwrap_err();
        assert!(err.to_string().contains("in.json:1"), "{err}");
    }

    #[test]
    fn broken_json_is_skipped_and_counted() {
        let text = "{\"id\": 1}\nnot json\n{\"id\": \"abc\"}\n{\"id\": 4}\n";
        let (result, skipped) = decode_full(text, &[("json.ignore-parse-errors", "true")]);
        assert_eq!(ids(&result.unwrap().unwrap()), vec![Some(1), Some(4)]);
        assert_eq!(skipped, 2);
    }

    #[test]
    fn fail_on_missing_field() {
        let options = [("json.fail-on-missing-field", "true")];
        let full = r#"{"id": 1, "name": "a", "ts": null}"#;
        let batch = decode(&format!("{full}\n{full}\n"), &options)
            .unwrap()
            .unwrap();
        assert_eq!(batch.num_rows(), 2);
        let err = decode(
            &format!("{full}\n{{\"id\": 2, \"name\": \"b\"}}\n"),
            &options,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("in.json:2"), "{message}");
        assert!(message.contains("'ts'"), "{message}");
        // Without the option a missing field is NULL.
        let batch = decode("{\"id\": 2}\n", &[]).unwrap().unwrap();
        assert!(batch.column(1).is_null(0));
        let both = opts(&[
            ("json.fail-on-missing-field", "true"),
            ("json.ignore-parse-errors", "true"),
        ]);
        assert!(JsonFormatFactory.validate(&schema(), &both).is_err());
    }

    #[test]
    fn encodes_lines() {
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("a\"b"), None])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_609_330_394_123),
                    None,
                ])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut encoder = JsonFormatFactory
            .create_encoder(schema(), &opts(&[]))
            .unwrap();
        encoder.encode(&batch, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"id\":1,\"name\":\"a\\\"b\",\"ts\":\"2020-12-30 12:13:14.123\"}\n\
             {\"id\":null,\"name\":null,\"ts\":null}\n"
        );
        assert_eq!(decode(&text, &[]).unwrap().unwrap(), batch);

        let ltz = Arc::new(Schema::new(vec![Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )]));
        let batch = RecordBatch::try_new(
            ltz.clone(),
            vec![Arc::new(
                TimestampMicrosecondArray::from(vec![1_609_330_394_123_456]).with_timezone("UTC"),
            )],
        )
        .unwrap();
        let mut out = Vec::new();
        let options = opts(&[("json.timestamp-format.standard", "ISO-8601")]);
        let mut encoder = JsonFormatFactory.create_encoder(ltz, &options).unwrap();
        encoder.encode(&batch, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"t\":\"2020-12-30T12:13:14.123456Z\"}\n"
        );
    }
}
