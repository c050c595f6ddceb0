//! Formats: bytes ↔ Arrow batches against a table's schema (Flink's `DecodingFormat` /
//! `EncodingFormat`). A [`FormatFactory`] is chosen by the `format` option; it builds a
//! [`BatchDecoder`], which decodes a whole chunk of lines at once, and a [`BatchEncoder`].
//! The bad-record policy (`<format>.ignore-parse-errors`) wraps any decoder in
//! [`bad_records::RecordDecoder`], which falls back to line-by-line decoding only when a
//! chunk fails.

mod avro;
mod bad_records;
mod canal;
mod csv;
mod csv_fast;
mod debezium;
mod decimal_text;
mod json;
#[cfg(test)]
mod proptests;
mod raw;

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::RuntimeError;

pub use avro::{schema_json as avro_schema_json, AvroFormatFactory};
pub use bad_records::{quote_record, BadRecordPolicy, RecordDecoder};
pub use canal::{CanalJsonDecoder, CanalJsonEncoder, CanalJsonFormatFactory};
pub use csv::{CsvDecoder, CsvEncoder, CsvFormatFactory};
pub use debezium::{DebeziumJsonEncoder, DebeziumJsonFormatFactory};
pub use json::{JsonDecoder, JsonEncoder, JsonFormatFactory};
pub use raw::RawFormatFactory;

use crate::error::Result;
use crate::options::OptionKey;

/// Flink's SQL timestamp text (`2020-12-30 12:13:14.123`); the fraction is omitted when
/// zero and otherwise printed in groups of 3 digits.
pub const SQL_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";
/// Flink's SQL text of a TIMESTAMP_LTZ, in UTC (`2020-12-30 12:13:14.123Z`).
pub const SQL_TIMESTAMP_LTZ_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.fZ";
/// ISO-8601 timestamp text (`2020-12-30T12:13:14.123`).
pub const ISO_TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";
/// ISO-8601 text of a TIMESTAMP_LTZ (`2020-12-30T12:13:14.123Z`).
pub const ISO_TIMESTAMP_LTZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";
/// TIME text (`12:13:14.123`).
pub const TIME_FORMAT: &str = "%H:%M:%S%.f";
/// DATE text (`2020-12-30`).
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// A table's columns as the fields of a row nested in a changelog message (Debezium's
/// `before` / `after`, Canal's `data`): every one nullable.
pub(crate) fn nested_row(schema: &Schema) -> datafusion::arrow::datatypes::Fields {
    schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect()
}

/// A format: its `format` value, its options (all prefixed `<identifier>.`) and its
/// decoders and encoders.
pub trait FormatFactory: Send + Sync {
    /// The `format` option value (`csv`, `json`).
    fn identifier(&self) -> &'static str;

    /// The format's options, each key starting with `<identifier>.`.
    fn optional_options(&self) -> Vec<OptionKey>;

    /// Checks option values and column types (keys were checked by the connector).
    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()>;

    /// Whether records are changes (`debezium-json`, `canal-json`): decoded batches then
    /// carry row kinds in the `__op` column, last.
    fn produces_changelog(&self) -> bool {
        false
    }

    /// Whether the format reads and writes lines (files as well as Kafka records); a
    /// record-only format (`avro`) is for Kafka alone.
    fn reads_lines(&self) -> bool {
        true
    }

    /// What to do with records that do not decode.
    fn bad_record_policy(&self, options: &BTreeMap<String, String>) -> Result<BadRecordPolicy>;

    /// A decoder producing batches of `schema`.
    fn create_decoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>>;

    /// An encoder for batches of `schema`.
    fn create_encoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>>;
}

/// Decodes lines of text into rows of the table schema.
pub trait BatchDecoder: Send {
    /// Decodes `buf`, which holds `num_lines` non-empty lines each ending in `\n`, into
    /// one batch with one row per line. An error (the reason, for the user) means at least
    /// one line is malformed; the caller then decodes line by line to find it.
    fn decode(&mut self, buf: &[u8], num_lines: usize) -> std::result::Result<RecordBatch, String>;

    /// Whether each line is exactly one row. A changelog format's is not: an update is
    /// two rows (`-U`, `+U`), and its batches carry row kinds (the `__op` column).
    fn one_row_per_line(&self) -> bool {
        true
    }

    /// Decodes a chunk of records that are messages, not lines (a Kafka record may hold a
    /// newline). The default decodes the chunk's bytes, right for formats whose parser
    /// finds record ends itself (JSON values, quoted CSV); `raw` overrides it.
    fn decode_records(&mut self, chunk: &LineChunk) -> std::result::Result<RecordBatch, String> {
        self.decode(chunk.bytes(), chunk.len())
    }

    /// Tells the decoder which columns of its schema the job reads: it may leave the
    /// others NULL without parsing them. The default parses every column.
    fn read_only(&mut self, _columns: &[usize]) {}
}

/// Encodes batches into bytes, one line per row.
pub trait BatchEncoder: Send {
    /// Appends the rows of `batch` to `out`.
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError>;

    /// Appends the rows of `batch` to `out` as separate records (Kafka messages, without
    /// line terminators), pushing where each ends into `ends`. The default encodes one row
    /// at a time, right for any format; formats whose rows never hold a newline split one
    /// encoding of the whole batch instead ([`split_lines`]).
    fn encode_records(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), RuntimeError> {
        for row in 0..batch.num_rows() {
            self.encode(&batch.slice(row, 1), out)?;
            while let Some(b'\n' | b'\r') = out.last() {
                out.pop();
            }
            ends.push(out.len());
        }
        Ok(())
    }
}

/// Turns the lines appended to `out` from `start` on into records: drops each line's
/// terminator and pushes where each record ends into `ends`.
pub fn split_lines(out: &mut Vec<u8>, start: usize, ends: &mut Vec<usize>) {
    let mut write = start;
    let mut read = start;
    while read < out.len() {
        let end = out[read..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(out.len(), |p| read + p);
        let mut text_end = end;
        if text_end > read && out[text_end - 1] == b'\r' {
            text_end -= 1;
        }
        out.copy_within(read..text_end, write);
        write += text_end - read;
        ends.push(write);
        read = end + 1;
    }
    out.truncate(write);
}

/// Lines read from one input, kept contiguous (each followed by `\n`) so a decoder can
/// take them all at once, with their 1-based line numbers for error messages.
#[derive(Debug, Default)]
pub struct LineChunk {
    buf: Vec<u8>,
    /// Line number, start and end (exclusive of the `\n`) of each line in `buf`.
    lines: Vec<(u64, usize, usize)>,
}

impl LineChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the chunk, keeping its buffers.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.lines.clear();
    }

    /// Appends a line (without its terminator).
    pub fn push(&mut self, line_number: u64, line: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(line);
        let end = self.buf.len();
        self.buf.push(b'\n');
        self.lines.push((line_number, start, end));
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the chunk has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// All lines, each followed by `\n`.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Each line's number, its text and its text followed by `\n`.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8], &[u8])> + '_ {
        self.lines
            .iter()
            .map(|&(n, start, end)| (n, &self.buf[start..end], &self.buf[start..=end]))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::*;
    use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
    use eddy_runtime::metrics::TaskMetrics;

    use super::*;

    /// Every scalar column type of the catalog, with a NULL row.
    fn all_types() -> RecordBatch {
        let ltz = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let schema = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Boolean, true),
            Field::new("i8", DataType::Int8, true),
            Field::new("i16", DataType::Int16, true),
            Field::new("i32", DataType::Int32, true),
            Field::new("i64", DataType::Int64, true),
            Field::new("f32", DataType::Float32, true),
            Field::new("f64", DataType::Float64, true),
            Field::new("dec", DataType::Decimal128(10, 2), true),
            Field::new("s", DataType::Utf8, true),
            Field::new("bytes", DataType::Binary, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Time32(TimeUnit::Millisecond), true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("ltz", ltz, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Int8Array::from(vec![Some(-8), None])),
            Arc::new(Int16Array::from(vec![Some(16), None])),
            Arc::new(Int32Array::from(vec![Some(-32), None])),
            Arc::new(Int64Array::from(vec![Some(1 << 40), None])),
            Arc::new(Float32Array::from(vec![Some(1.5), None])),
            Arc::new(Float64Array::from(vec![Some(-2.25), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(-12345), None])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(StringArray::from(vec![Some("x, \"y\""), None])),
            Arc::new(BinaryArray::from(vec![Some(&[0u8, 0xab, 0x10][..]), None])),
            Arc::new(Date32Array::from(vec![Some(18_626), None])),
            Arc::new(Time32MillisecondArray::from(vec![Some(43_994_123), None])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_609_330_394_123_456),
                None,
            ])),
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_609_330_394_123), None])
                    .with_timezone("UTC"),
            ),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn every_format_reads_back_what_it_writes() {
        let batch = all_types();
        // Without a null literal, a NULL string is written as an empty field and read
        // back as the empty string, as in Flink.
        let options = BTreeMap::from([("csv.null-literal".to_string(), "\\N".to_string())]);
        let formats: Vec<Box<dyn FormatFactory>> =
            vec![Box::new(CsvFormatFactory), Box::new(JsonFormatFactory)];
        for format in formats {
            let schema = batch.schema();
            format.validate(&schema, &options).unwrap();
            let mut out = Vec::new();
            let mut encoder = format.create_encoder(schema.clone(), &options).unwrap();
            encoder.encode(&batch, &mut out).unwrap();
            let mut chunk = LineChunk::new();
            for (i, line) in out
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .enumerate()
            {
                chunk.push(i as u64 + 1, line);
            }
            let mut decoder = RecordDecoder::new(
                format.create_decoder(schema.clone(), &options).unwrap(),
                schema,
                BadRecordPolicy::Fail,
                Arc::new(TaskMetrics::default()),
            );
            let back = decoder.decode("mem", &chunk).unwrap().unwrap();
            let text = String::from_utf8_lossy(&out).into_owned();
            for (i, field) in batch.schema().fields().iter().enumerate() {
                assert_eq!(
                    back.column(i).as_ref(),
                    batch.column(i).as_ref(),
                    "{} column {}: {text}",
                    format.identifier(),
                    field.name()
                );
            }
        }
    }

    #[test]
    fn records_split_out_of_lines() {
        let mut out = b"keep".to_vec();
        let mut ends = Vec::new();
        out.extend_from_slice(b"{\"a\":1}\n{\"a\":2}\r\n\n");
        split_lines(&mut out, 4, &mut ends);
        assert_eq!(out, b"keep{\"a\":1}{\"a\":2}");
        assert_eq!(ends, vec![11, 18, 18]);
        // Every format's records read back one by one, newlines inside values included.
        let batch = all_types();
        let options = BTreeMap::from([("csv.null-literal".to_string(), "\\N".to_string())]);
        for format in [&CsvFormatFactory as &dyn FormatFactory, &JsonFormatFactory] {
            let schema = batch.schema();
            let mut encoder = format.create_encoder(schema.clone(), &options).unwrap();
            let (mut out, mut ends) = (Vec::new(), Vec::new());
            encoder.encode_records(&batch, &mut out, &mut ends).unwrap();
            assert_eq!(ends.len(), 2, "{}", format.identifier());
            let mut chunk = LineChunk::new();
            let mut start = 0;
            for (i, &end) in ends.iter().enumerate() {
                chunk.push(i as u64, &out[start..end]);
                start = end;
            }
            let mut decoder = format.create_decoder(schema, &options).unwrap();
            let back = decoder.decode_records(&chunk).unwrap();
            assert_eq!(back.num_rows(), 2, "{}", format.identifier());
        }
    }

    #[test]
    fn chunk_keeps_lines_contiguous() {
        let mut chunk = LineChunk::new();
        chunk.push(1, b"a,b");
        chunk.push(3, b"c,d");
        assert_eq!(chunk.bytes(), b"a,b\nc,d\n");
        let lines: Vec<_> = chunk.lines().collect();
        assert_eq!(lines[1], (3, &b"c,d"[..], &b"c,d\n"[..]));
        chunk.clear();
        assert!(chunk.is_empty());
    }
}
