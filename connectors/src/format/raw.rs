//! Flink's `raw` format: a record is the bytes of one column, as they are (`BYTES`) or as
//! UTF-8 text (`STRING`). In a file a record is a line; from Kafka, a message's value or
//! key whole, newlines and all. Numeric raw columns (Flink reads them big-endian) are
//! refused: Eddy reads and writes only text and bytes this way.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, StringBuilder};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use eddy_runtime::RuntimeError;

use super::{BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory, LineChunk};
use crate::error::{ConnectorError, Result};
use crate::options::{get, OptionKey};
use crate::types::sql_type_name;

/// `raw.charset`.
pub const CHARSET: OptionKey = OptionKey::with_default(
    "raw.charset",
    "UTF-8",
    "The charset of STRING values; Eddy reads and writes UTF-8 only.",
);
/// `raw.endianness`.
pub const ENDIANNESS: OptionKey = OptionKey::with_default(
    "raw.endianness",
    "big-endian",
    "Byte order of numeric values: 'big-endian' or 'little-endian' (accepted; Eddy's raw \
     columns are STRING or BYTES, which have none).",
);

/// The `raw` format.
#[derive(Debug, Default)]
pub struct RawFormatFactory;

/// Whether the one column is text (else bytes); errors when the schema does not fit.
fn text_column(schema: &Schema) -> Result<bool> {
    let [field] = schema.fields().as_ref() else {
        return Err(ConnectorError::invalid(
            "format",
            "raw",
            format!(
                "the 'raw' format reads and writes exactly one physical column, and the table has {}",
                schema.fields().len()
            ),
        ));
    };
    match field.data_type() {
        DataType::Utf8 => Ok(true),
        DataType::Binary => Ok(false),
        other => Err(ConnectorError::UnsupportedType {
            connector_or_format: "format 'raw'".into(),
            column: field.name().clone(),
            data_type: format!(
                "{} (Eddy's raw columns are STRING or BYTES)",
                sql_type_name(other)
            ),
        }),
    }
}

impl FormatFactory for RawFormatFactory {
    fn identifier(&self) -> &'static str {
        "raw"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![CHARSET, ENDIANNESS]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        text_column(schema)?;
        if let Some(charset) = get(options, &CHARSET) {
            if !matches!(charset.to_ascii_uppercase().as_str(), "UTF-8" | "UTF8") {
                return Err(ConnectorError::invalid(
                    CHARSET.key,
                    charset,
                    "Eddy reads and writes raw text as UTF-8 only",
                ));
            }
        }
        if let Some(e) = get(options, &ENDIANNESS) {
            if e != "big-endian" && e != "little-endian" {
                return Err(ConnectorError::invalid(
                    ENDIANNESS.key,
                    e,
                    "expected 'big-endian' or 'little-endian'",
                ));
            }
        }
        Ok(())
    }

    fn bad_record_policy(&self, _options: &BTreeMap<String, String>) -> Result<BadRecordPolicy> {
        Ok(BadRecordPolicy::Fail)
    }

    fn create_decoder(
        &self,
        schema: SchemaRef,
        _options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>> {
        let text = text_column(&schema)?;
        Ok(Box::new(RawDecoder { schema, text }))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        _options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        text_column(&schema)?;
        Ok(Box::new(RawEncoder))
    }
}

/// Decodes records into the one column.
struct RawDecoder {
    schema: SchemaRef,
    text: bool,
}

impl RawDecoder {
    fn column<'a>(
        &self,
        records: impl Iterator<Item = &'a [u8]>,
    ) -> std::result::Result<ArrayRef, String> {
        if self.text {
            let mut b = StringBuilder::new();
            for r in records {
                b.append_value(
                    std::str::from_utf8(r).map_err(|e| format!("the value is not UTF-8: {e}"))?,
                );
            }
            Ok(Arc::new(b.finish()))
        } else {
            let mut b = BinaryBuilder::new();
            for r in records {
                b.append_value(r);
            }
            Ok(Arc::new(b.finish()))
        }
    }

    fn batch(&self, column: ArrayRef) -> std::result::Result<RecordBatch, String> {
        RecordBatch::try_new(self.schema.clone(), vec![column]).map_err(|e| e.to_string())
    }
}

impl BatchDecoder for RawDecoder {
    fn decode(
        &mut self,
        buf: &[u8],
        _num_lines: usize,
    ) -> std::result::Result<RecordBatch, String> {
        let body = buf.strip_suffix(b"\n").unwrap_or(buf);
        let lines = body
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let column = self.column(lines)?;
        self.batch(column)
    }

    fn decode_records(&mut self, chunk: &LineChunk) -> std::result::Result<RecordBatch, String> {
        let column = self.column(chunk.lines().map(|(_, text, _)| text))?;
        self.batch(column)
    }
}

/// Writes the one column's bytes; NULL is empty.
struct RawEncoder;

impl RawEncoder {
    fn each(
        batch: &RecordBatch,
        mut emit: impl FnMut(&[u8]) -> std::result::Result<(), RuntimeError>,
    ) -> std::result::Result<(), RuntimeError> {
        let column = batch.column(0);
        match column.data_type() {
            DataType::Utf8 => {
                for v in column.as_string::<i32>() {
                    emit(v.unwrap_or_default().as_bytes())?;
                }
            }
            _ => {
                for v in column.as_binary::<i32>() {
                    emit(v.unwrap_or_default())?;
                }
            }
        }
        Ok(())
    }
}

impl BatchEncoder for RawEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        Self::each(batch, |v| {
            out.extend_from_slice(v);
            out.push(b'\n');
            Ok(())
        })
    }

    fn encode_records(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), RuntimeError> {
        Self::each(batch, |v| {
            out.extend_from_slice(v);
            ends.push(out.len());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Field;

    use super::*;

    #[test]
    fn a_record_is_the_whole_value_newlines_included() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, true)]));
        let mut decoder = RawFormatFactory
            .create_decoder(schema.clone(), &BTreeMap::new())
            .unwrap();
        let mut chunk = LineChunk::new();
        chunk.push(0, b"a\nb");
        chunk.push(1, b"");
        let batch = decoder.decode_records(&chunk).unwrap();
        let values = batch.column(0).as_string::<i32>();
        assert_eq!(values.value(0), "a\nb");
        assert_eq!(values.value(1), "");
        let mut encoder = RawFormatFactory
            .create_encoder(schema.clone(), &BTreeMap::new())
            .unwrap();
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        let rows = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![Some("x\ny"), None]))],
        )
        .unwrap();
        encoder.encode_records(&rows, &mut out, &mut ends).unwrap();
        assert_eq!(
            (out.as_slice(), ends.as_slice()),
            (&b"x\ny"[..], &[3, 3][..])
        );
        // In a file, a record is a line.
        let batch = decoder.decode(b"a\r\nb\n", 2).unwrap();
        assert_eq!(batch.num_rows(), 2);
        // Bytes that are not UTF-8 are a bad record for a STRING column.
        let mut bad = LineChunk::new();
        bad.push(0, &[0xff, 0xfe]);
        assert!(decoder.decode_records(&bad).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn one_text_or_bytes_column_only() {
        let two = Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let err = RawFormatFactory
            .validate(&two, &BTreeMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
        let int = Schema::new(vec![Field::new("n", DataType::Int32, true)]);
        let err = RawFormatFactory
            .validate(&int, &BTreeMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("INT"), "{err}");
        let bytes = Schema::new(vec![Field::new("b", DataType::Binary, true)]);
        RawFormatFactory.validate(&bytes, &BTreeMap::new()).unwrap();
        let latin = BTreeMap::from([("raw.charset".to_string(), "ISO-8859-1".to_string())]);
        assert!(RawFormatFactory.validate(&bytes, &latin).is_err());
    }
}
