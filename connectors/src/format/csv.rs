//! Flink's `csv` format: no header, one record per line. A chunk of lines goes through the
//! fast path of `csv_fast.rs` when it can; otherwise lines are split by Arrow's CSV decoder
//! into text columns, then each column is converted to its SQL type with one vectorized
//! cast. An empty field is NULL for non-string columns and the empty string
//! for STRING and BYTES ones; `csv.null-literal` makes a given text NULL in any column.
//! BYTES are hex text (as the json format writes them; Flink uses base64).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BinaryBuilder, Scalar, StringArray,
};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{cast_with_options, nullif, CastOptions};
use datafusion::arrow::csv::{ReaderBuilder, WriterBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::FormatOptions;
use eddy_runtime::RuntimeError;

use super::csv_fast::{self, FieldBounds};
use super::{
    BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory, DATE_FORMAT, SQL_TIMESTAMP_FORMAT,
    SQL_TIMESTAMP_LTZ_FORMAT, TIME_FORMAT,
};
use crate::error::{ConnectorError, Result};
use crate::options::{get, get_bool, get_char, OptionKey};
use crate::types::sql_type_name;

/// `csv.field-delimiter`.
pub const FIELD_DELIMITER: OptionKey =
    OptionKey::with_default("csv.field-delimiter", ",", "Field delimiter character.");
/// `csv.quote-character`.
pub const QUOTE_CHARACTER: OptionKey = OptionKey::with_default(
    "csv.quote-character",
    "\"",
    "Quote character enclosing field values.",
);
/// `csv.escape-character`.
pub const ESCAPE_CHARACTER: OptionKey = OptionKey::new(
    "csv.escape-character",
    "Escape character for quoting (disabled by default).",
);
/// `csv.null-literal`.
pub const NULL_LITERAL: OptionKey = OptionKey::new(
    "csv.null-literal",
    "Text read as NULL and written for NULL (disabled by default: NULL is an empty field).",
);
/// `csv.ignore-parse-errors`.
pub const IGNORE_PARSE_ERRORS: OptionKey = OptionKey::with_default(
    "csv.ignore-parse-errors",
    "false",
    "Skip (and count) malformed records instead of failing.",
);

static CAST_OPTIONS: LazyLock<CastOptions<'static>> = LazyLock::new(|| CastOptions {
    safe: false,
    format_options: FormatOptions::default(),
});

/// The `csv` format.
#[derive(Debug, Default)]
pub struct CsvFormatFactory;

/// Parsed `csv.*` options.
#[derive(Debug, Clone)]
struct CsvConfig {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    null_literal: Option<String>,
}

impl CsvConfig {
    fn parse(options: &BTreeMap<String, String>) -> Result<Self> {
        let delimiter = get_char(options, &FIELD_DELIMITER)?.unwrap_or(b',');
        let quote = get_char(options, &QUOTE_CHARACTER)?.unwrap_or(b'"');
        let escape = get_char(options, &ESCAPE_CHARACTER)?;
        if delimiter == quote || delimiter == b'\n' || delimiter == b'\r' {
            return Err(ConnectorError::invalid(
                FIELD_DELIMITER.key,
                &(delimiter as char).to_string(),
                "the delimiter must differ from the quote character and line breaks",
            ));
        }
        Ok(Self {
            delimiter,
            quote,
            escape,
            null_literal: get(options, &NULL_LITERAL).map(str::to_string),
        })
    }
}

/// Whether the csv format can hold a column of this type.
fn supports(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
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
            | Binary
            | Date32
            | Time32(_)
            | Time64(_)
            | Timestamp(_, _)
    )
}

/// Columns whose empty field is an empty value rather than NULL.
fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary
    )
}

fn check_types(schema: &Schema) -> Result<()> {
    match schema.fields().iter().find(|f| !supports(f.data_type())) {
        Some(f) => Err(ConnectorError::UnsupportedType {
            connector_or_format: "format 'csv'".into(),
            column: f.name().clone(),
            data_type: sql_type_name(f.data_type()),
        }),
        None => Ok(()),
    }
}

impl FormatFactory for CsvFormatFactory {
    fn identifier(&self) -> &'static str {
        "csv"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            FIELD_DELIMITER,
            QUOTE_CHARACTER,
            ESCAPE_CHARACTER,
            NULL_LITERAL,
            IGNORE_PARSE_ERRORS,
        ]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        CsvConfig::parse(options)?;
        self.bad_record_policy(options)?;
        check_types(schema)
    }

    fn bad_record_policy(&self, options: &BTreeMap<String, String>) -> Result<BadRecordPolicy> {
        Ok(BadRecordPolicy::from_ignore_parse_errors(get_bool(
            options,
            &IGNORE_PARSE_ERRORS,
        )?))
    }

    fn create_decoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>> {
        check_types(&schema)?;
        Ok(Box::new(CsvDecoder::new(
            schema,
            CsvConfig::parse(options)?,
        )))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        check_types(&schema)?;
        Ok(Box::new(CsvEncoder {
            config: CsvConfig::parse(options)?,
        }))
    }
}

/// Decodes csv lines into batches of the table schema.
pub struct CsvDecoder {
    schema: SchemaRef,
    /// The table's columns, all as nullable text: what Arrow's CSV decoder produces.
    text_schema: SchemaRef,
    config: CsvConfig,
    /// The columns the job reads, ascending; the others stay NULL, their fields split
    /// off but never converted.
    read: Option<Vec<usize>>,
    /// Every column, for the fast path when `read` is `None`.
    all: Vec<usize>,
    /// The fast path's field positions, kept for their buffers.
    bounds: FieldBounds,
    /// Whether to try the fast path (tests turn it off to compare both).
    fast: bool,
}

impl CsvDecoder {
    fn new(schema: SchemaRef, config: CsvConfig) -> Self {
        let text_fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect();
        Self {
            all: (0..schema.fields().len()).collect(),
            schema,
            text_schema: Arc::new(Schema::new(text_fields)),
            config,
            read: None,
            bounds: FieldBounds::default(),
            fast: true,
        }
    }

    /// A decoder that never takes the fast path, to compare the two.
    #[cfg(test)]
    pub(super) fn general_only(
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut decoder = Self::new(schema, CsvConfig::parse(options)?);
        decoder.fast = false;
        Ok(decoder)
    }

    /// The chunk through the fast path ([`csv_fast`]), or `None` when it is not one the
    /// fast path takes.
    fn decode_fast(
        &mut self,
        buf: &[u8],
        num_lines: usize,
    ) -> Option<std::result::Result<RecordBatch, String>> {
        if !self.fast || self.config.null_literal.is_some() {
            return None;
        }
        // Arrow's reader refuses a line with bytes that are not UTF-8 in any field, read
        // or not; so does the fast path, by leaving such a chunk to it.
        if !buf.is_ascii() && std::str::from_utf8(buf).is_err() {
            return None;
        }
        let read = self.read.as_deref().unwrap_or(&self.all);
        let special = [
            self.config.quote,
            b'\r',
            self.config.escape.unwrap_or(self.config.quote),
        ];
        let fields = self.schema.fields();
        if !self.bounds.split(
            buf,
            num_lines,
            fields.len(),
            self.config.delimiter,
            special,
            read,
        ) {
            return None;
        }
        let mut columns = Vec::with_capacity(fields.len());
        let mut next = 0;
        for (i, field) in fields.iter().enumerate() {
            if read.get(next) != Some(&i) {
                columns.push(new_null_array(field.data_type(), num_lines));
                continue;
            }
            let bounds = self.bounds.column(next);
            next += 1;
            if let Some(column) = csv_fast::column(buf, bounds, field.data_type()) {
                columns.push(column);
                continue;
            }
            let text: ArrayRef = Arc::new(csv_fast::text(buf, bounds, true)?);
            match self.convert(field, &text) {
                Ok(column) => columns.push(column),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(RecordBatch::try_new(self.schema.clone(), columns).map_err(strip_error_kind))
    }

    /// Converts one text column to its field's type.
    fn convert(&self, field: &Field, text: &ArrayRef) -> std::result::Result<ArrayRef, String> {
        let text = text.as_string::<i32>();
        let mut column: ArrayRef = if is_text(field.data_type()) {
            // Arrow reads an empty field as NULL; for text columns it is the empty value.
            Arc::new(StringArray::new(
                text.offsets().clone(),
                text.values().clone(),
                None,
            ))
        } else if text.iter().flatten().any(|s| s.trim().len() != s.len()) {
            Arc::new(
                text.iter()
                    .map(|v| v.map(str::trim).filter(|s| !s.is_empty()))
                    .collect::<StringArray>(),
            )
        } else {
            Arc::new(text.clone())
        };
        if let Some(literal) = &self.config.null_literal {
            let literal = Scalar::new(StringArray::from(vec![literal.as_str()]));
            let is_null = eq(&column, &literal).map_err(|e| e.to_string())?;
            column = nullif(&column, &is_null).map_err(|e| e.to_string())?;
        }
        match field.data_type() {
            DataType::Utf8 => return Ok(column),
            DataType::Binary => {
                return decode_hex(column.as_string::<i32>())
                    .map_err(|e| format!("column '{}' (BYTES): {e}", field.name()))
            }
            _ => {}
        }
        cast_with_options(&column, field.data_type(), &CAST_OPTIONS).map_err(|e| {
            format!(
                "column '{}' ({}): {}",
                field.name(),
                sql_type_name(field.data_type()),
                strip_error_kind(e)
            )
        })
    }
}

/// BYTES are written as hex (as Arrow's writers do); reads them back.
fn decode_hex(text: &StringArray) -> std::result::Result<ArrayRef, String> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut builder = BinaryBuilder::with_capacity(text.len(), text.values().len() / 2);
    let mut bytes = Vec::new();
    for value in text.iter() {
        let Some(value) = value else {
            builder.append_null();
            continue;
        };
        if value.len() % 2 != 0 {
            return Err(format!("'{value}' is not hex: odd number of digits"));
        }
        bytes.clear();
        for pair in value.as_bytes().chunks_exact(2) {
            match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => bytes.push(high << 4 | low),
                _ => return Err(format!("'{value}' is not hex")),
            }
        }
        builder.append_value(&bytes);
    }
    Ok(Arc::new(builder.finish()))
}

/// Arrow's message without its `Cast error: ` style prefix, and without the line numbers
/// Arrow counts from the start of a chunk (the caller reports the real one).
fn strip_error_kind(e: ArrowError) -> String {
    let message = match e {
        ArrowError::CastError(m)
        | ArrowError::ParseError(m)
        | ArrowError::CsvError(m)
        | ArrowError::InvalidArgumentError(m) => m,
        other => other.to_string(),
    };
    match (
        message.split_once(" for line "),
        message.split_once(", expected"),
    ) {
        (Some((head, _)), Some((_, tail))) => format!("{head}: expected{tail}"),
        _ => message,
    }
}

impl BatchDecoder for CsvDecoder {
    fn decode(&mut self, buf: &[u8], num_lines: usize) -> std::result::Result<RecordBatch, String> {
        if let Some(decoded) = self.decode_fast(buf, num_lines) {
            return decoded;
        }
        let mut builder = ReaderBuilder::new(self.text_schema.clone())
            .with_header(false)
            .with_delimiter(self.config.delimiter)
            .with_quote(self.config.quote)
            .with_batch_size(num_lines.max(1));
        if let Some(escape) = self.config.escape {
            builder = builder.with_escape(escape);
        }
        if let Some(read) = &self.read {
            builder = builder.with_projection(read.clone());
        }
        let mut decoder = builder.build_decoder();
        let mut offset = 0;
        while offset < buf.len() {
            let read = decoder.decode(&buf[offset..]).map_err(strip_error_kind)?;
            if read == 0 {
                return Err("a line holds more than one record".into());
            }
            offset += read;
        }
        let Some(text) = decoder.flush().map_err(strip_error_kind)? else {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        };
        let columns = match &self.read {
            None => self
                .schema
                .fields()
                .iter()
                .zip(text.columns())
                .map(|(field, column)| self.convert(field, column))
                .collect::<std::result::Result<Vec<_>, _>>()?,
            Some(read) => {
                let rows = text.num_rows();
                let mut texts = read.iter().zip(text.columns()).peekable();
                let mut columns = Vec::with_capacity(self.schema.fields().len());
                for (i, field) in self.schema.fields().iter().enumerate() {
                    match texts.next_if(|(r, _)| **r == i) {
                        Some((_, column)) => columns.push(self.convert(field, column)?),
                        None => columns.push(new_null_array(field.data_type(), rows)),
                    }
                }
                columns
            }
        };
        RecordBatch::try_new(self.schema.clone(), columns).map_err(strip_error_kind)
    }

    fn read_only(&mut self, columns: &[usize]) {
        let mut read: Vec<usize> = columns
            .iter()
            .copied()
            .filter(|&c| c < self.schema.fields().len())
            .collect();
        read.sort_unstable();
        read.dedup();
        self.read = Some(read);
    }
}

/// Encodes batches as csv lines without a header, timestamps in Flink's SQL text.
pub struct CsvEncoder {
    config: CsvConfig,
}

impl BatchEncoder for CsvEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        let mut writer = WriterBuilder::new()
            .with_header(false)
            .with_delimiter(self.config.delimiter)
            .with_quote(self.config.quote)
            .with_null(self.config.null_literal.clone().unwrap_or_default())
            .with_date_format(DATE_FORMAT.into())
            .with_time_format(TIME_FORMAT.into())
            .with_timestamp_format(SQL_TIMESTAMP_FORMAT.into())
            .with_timestamp_tz_format(SQL_TIMESTAMP_LTZ_FORMAT.into())
            .build(&mut *out);
        writer.write(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use datafusion::arrow::array::{Int64Array, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::TimeUnit;
    use datafusion::arrow::util::pretty::pretty_format_batches;
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

    fn record_decoder(options: &[(&str, &str)]) -> (RecordDecoder, Arc<TaskMetrics>) {
        let options = opts(options);
        let f = CsvFormatFactory;
        let metrics = Arc::new(TaskMetrics::default());
        let d = RecordDecoder::new(
            f.create_decoder(schema(), &options).unwrap(),
            schema(),
            f.bad_record_policy(&options).unwrap(),
            metrics.clone(),
        );
        (d, metrics)
    }

    fn chunk(text: &str) -> LineChunk {
        let mut c = LineChunk::new();
        for (i, line) in text.lines().enumerate() {
            if !line.is_empty() {
                c.push(i as u64 + 1, line.as_bytes());
            }
        }
        c
    }

    fn decode(text: &str, options: &[(&str, &str)]) -> Result<Option<RecordBatch>, RuntimeError> {
        record_decoder(options).0.decode("in.csv", &chunk(text))
    }

    #[test]
    fn decodes_rows() {
        let batch = decode(
            "1,foo,2020-12-30 12:13:14.123\n2,\"a,b\",2020-12-30T00:00:00\n3,,\n",
            &[],
        )
        .unwrap()
        .unwrap();
        let text = pretty_format_batches(&[batch]).unwrap().to_string();
        let expected = "\
+----+------+-------------------------+
| id | name | ts                      |
+----+------+-------------------------+
| 1  | foo  | 2020-12-30T12:13:14.123 |
| 2  | a,b  | 2020-12-30T00:00:00     |
| 3  |      |                         |
+----+------+-------------------------+";
        assert_eq!(text, expected);
    }

    #[test]
    fn only_the_columns_read_are_parsed() {
        let f = CsvFormatFactory;
        let options = opts(&[]);
        let mut inner = f.create_decoder(schema(), &options).unwrap();
        inner.read_only(&[2, 0, 2]);
        let mut d = RecordDecoder::new(
            inner,
            schema(),
            f.bad_record_policy(&options).unwrap(),
            Arc::new(TaskMetrics::default()),
        );
        // `name` is not read: its text is split off, never converted, and comes back NULL.
        let batch = d
            .decode(
                "in.csv",
                &chunk("1,foo,2020-12-30 12:13:14.123\n2,\"a,b\",\n"),
            )
            .unwrap()
            .unwrap();
        assert_eq!(batch.column(1).null_count(), 2);
        let text = pretty_format_batches(&[batch]).unwrap().to_string();
        let expected = "\
+----+------+-------------------------+
| id | name | ts                      |
+----+------+-------------------------+
| 1  |      | 2020-12-30T12:13:14.123 |
| 2  |      |                         |
+----+------+-------------------------+";
        assert_eq!(text, expected);
        // A bad value in a column that is read still fails, naming it; a record with the
        // wrong number of fields too.
        let err = d
            .decode("in.csv", &chunk("x,foo,\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'id'"), "{err}");
        let err = d
            .decode("in.csv", &chunk("1,foo\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in.csv:1") && err.contains("expected 3"),
            "{err}"
        );
        // Nothing read at all (count(*)): rows are still counted.
        let mut inner = f.create_decoder(schema(), &options).unwrap();
        inner.read_only(&[]);
        let batch = inner.decode(b"x,a,\n2,b,\n", 2).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(0).null_count(), 2);
    }

    #[test]
    fn empty_and_null_literal() {
        let batch = decode("1,,\n,x,\n", &[]).unwrap().unwrap();
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "");
        assert!(batch.column(1).is_valid(0));
        assert!(batch.column(0).is_null(1));
        let batch = decode("1,NULL,NULL\n", &[("csv.null-literal", "NULL")])
            .unwrap()
            .unwrap();
        assert!(batch.column(1).is_null(0));
        assert!(batch.column(2).is_null(0));
        let batch = decode(" 7 ;x;\n", &[("csv.field-delimiter", ";")])
            .unwrap()
            .unwrap();
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.value(0), 7);
    }

    #[test]
    fn wrong_field_count_fails_with_line_number() {
        let err = decode("1,a,\n2,b\n3,c,\n", &[]).unwrap_err();
        match err {
            RuntimeError::BadRecord {
                location,
                reason,
                record,
            } => {
                assert_eq!(location, "in.csv:2");
                assert_eq!(record, "2,b");
                assert!(reason.contains("expected 3"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let err = decode("1,a,,extra\n", &[]).unwrap_err();
        assert!(err.to_string().contains("in.csv:1"), "{err}");
    }

    #[test]
    fn bad_value_fails_or_is_skipped() {
        let text = "1,a,\n\nabc,b,\n3,c,\n";
        let err = decode(text, &[]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("in.csv:3"), "{message}");
        assert!(message.contains("column 'id' (BIGINT)"), "{message}");
        assert!(message.contains("'abc,b,'"), "{message}");

        let (mut d, metrics) = record_decoder(&[("csv.ignore-parse-errors", "true")]);
        let batch = d
            .decode(
                "in.csv",
                &chunk("1,a,\nabc,b,\n3,c\n4,d,2020-01-01 00:00:00\n"),
            )
            .unwrap()
            .unwrap();
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ids.values(), &[1, 4]);
        assert_eq!(metrics.num_records_skipped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn rejects_nested_types_and_bad_options() {
        let f = CsvFormatFactory;
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let schema = Schema::new(vec![Field::new("tags", list, true)]);
        let err = f.validate(&schema, &opts(&[])).unwrap_err();
        assert!(
            matches!(err, ConnectorError::UnsupportedType { ref column, .. } if column == "tags")
        );
        let ok = Schema::new(vec![Field::new("a", DataType::Int32, true)]);
        assert!(f
            .validate(&ok, &opts(&[("csv.field-delimiter", "ab")]))
            .is_err());
        assert!(f
            .validate(&ok, &opts(&[("csv.ignore-parse-errors", "maybe")]))
            .is_err());
    }

    #[test]
    fn encodes_without_header_in_sql_timestamp_format() {
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("a,b"), Some("c")])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_609_330_394_123),
                    Some(1_609_286_400_000),
                ])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut encoder = CsvFormatFactory
            .create_encoder(schema(), &opts(&[]))
            .unwrap();
        encoder.encode(&batch, &mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "1,\"a,b\",2020-12-30 12:13:14.123\n,c,2020-12-30 00:00:00\n"
        );
        // What we write, we read back.
        let back = decode(&text, &[]).unwrap().unwrap();
        assert_eq!(back, batch);
    }
}
