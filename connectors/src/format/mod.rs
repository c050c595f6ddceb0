//! Formats: bytes ↔ Arrow batches against a table's schema (Flink's `DecodingFormat` /
//! `EncodingFormat`). A [`FormatFactory`] is chosen by the `format` option; it builds a
//! [`BatchDecoder`], which decodes a whole chunk of lines at once, and a [`BatchEncoder`].
//! The bad-record policy (`<format>.ignore-parse-errors`) wraps any decoder in
//! [`bad_records::RecordDecoder`], which falls back to line-by-line decoding only when a
//! chunk fails.

mod bad_records;
mod csv;
mod json;

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::RuntimeError;

pub use bad_records::{quote_record, BadRecordPolicy, RecordDecoder};
pub use csv::{CsvDecoder, CsvEncoder, CsvFormatFactory};
pub use json::{JsonDecoder, JsonEncoder, JsonFormatFactory};

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

/// A format: its `format` value, its options (all prefixed `<identifier>.`) and its
/// decoders and encoders.
pub trait FormatFactory: Send + Sync {
    /// The `format` option value (`csv`, `json`).
    fn identifier(&self) -> &'static str;

    /// The format's options, each key starting with `<identifier>.`.
    fn optional_options(&self) -> Vec<OptionKey>;

    /// Checks option values and column types (keys were checked by the connector).
    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()>;

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
}

/// Encodes batches into bytes, one line per row.
pub trait BatchEncoder: Send {
    /// Appends the rows of `batch` to `out`.
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError>;
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
    use super::*;

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
