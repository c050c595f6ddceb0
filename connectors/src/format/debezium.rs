//! Flink's `debezium-json` format. As a sink, each change is one Debezium envelope per
//! line, `{"before": .., "after": .., "op": ..}`, as Flink's
//! `DebeziumJsonSerializationSchema` writes it: an insert or the new side of an update is
//! `"op":"c"` with `after`, a delete or the old side of an update is `"op":"d"` with
//! `before`. An insert-only stream writes only `c`. As a source it reads what Debezium
//! writes, as Flink's `DebeziumJsonDeserializationSchema`: `c` and `r` (a snapshot read)
//! are `+I` of `after`, `u` is `-U` of `before` then `+U` of `after`, `d` is `-D` of
//! `before`; other fields of the envelope (`source`, `ts_ms`) are ignored.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int8Array, StringArray, StructArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::changelog::{data_columns, ops};
use eddy_runtime::{RowKind, RuntimeError};

use super::{
    BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory, DATE_FORMAT, ISO_TIMESTAMP_FORMAT,
    ISO_TIMESTAMP_LTZ_FORMAT, SQL_TIMESTAMP_FORMAT, SQL_TIMESTAMP_LTZ_FORMAT, TIME_FORMAT,
};
use crate::error::{ConnectorError, Result};
use crate::options::{get, get_bool, OptionKey};

/// `debezium-json.schema-include`.
pub const SCHEMA_INCLUDE: OptionKey = OptionKey::with_default(
    "debezium-json.schema-include",
    "false",
    "Whether each record carries Debezium's schema; only 'false' is supported.",
);
/// `debezium-json.ignore-parse-errors`.
pub const IGNORE_PARSE_ERRORS: OptionKey = OptionKey::with_default(
    "debezium-json.ignore-parse-errors",
    "false",
    "Skip (and count) malformed records instead of failing, when reading.",
);
/// `debezium-json.timestamp-format.standard`.
pub const TIMESTAMP_FORMAT_STANDARD: OptionKey = OptionKey::with_default(
    "debezium-json.timestamp-format.standard",
    "SQL",
    "How timestamps are written: 'SQL' (2020-12-30 12:13:14.123) or 'ISO-8601' \
     (2020-12-30T12:13:14.123).",
);

/// The `debezium-json` format.
#[derive(Debug, Default)]
pub struct DebeziumJsonFormatFactory;

fn iso_timestamps(options: &BTreeMap<String, String>) -> Result<bool> {
    match get(options, &TIMESTAMP_FORMAT_STANDARD) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("SQL") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("ISO-8601") => Ok(true),
        Some(v) => Err(ConnectorError::invalid(
            TIMESTAMP_FORMAT_STANDARD.key,
            v,
            "expected 'SQL' or 'ISO-8601'",
        )),
    }
}

impl FormatFactory for DebeziumJsonFormatFactory {
    fn identifier(&self) -> &'static str {
        "debezium-json"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            SCHEMA_INCLUDE,
            IGNORE_PARSE_ERRORS,
            TIMESTAMP_FORMAT_STANDARD,
        ]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        if get_bool(options, &SCHEMA_INCLUDE)? {
            return Err(ConnectorError::invalid(
                SCHEMA_INCLUDE.key,
                "true",
                "records with Debezium's schema included are not supported",
            ));
        }
        get_bool(options, &IGNORE_PARSE_ERRORS)?;
        iso_timestamps(options)?;
        // The row inside the envelope is written as the json format writes a row.
        super::json::check_types_for(schema, "format 'debezium-json'")
    }

    fn bad_record_policy(&self, options: &BTreeMap<String, String>) -> Result<BadRecordPolicy> {
        Ok(BadRecordPolicy::from_ignore_parse_errors(get_bool(
            options,
            &IGNORE_PARSE_ERRORS,
        )?))
    }

    fn produces_changelog(&self) -> bool {
        true
    }

    fn create_decoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchDecoder>> {
        self.validate(&schema, options)?;
        let (row, envelope) = envelope(&schema);
        Ok(Box::new(DebeziumJsonDecoder {
            row,
            envelope,
            output: eddy_runtime::changelog::with_op_field(&schema),
        }))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        self.validate(&schema, options)?;
        let (row, envelope) = envelope(&schema);
        Ok(Box::new(DebeziumJsonEncoder {
            row,
            envelope,
            iso_timestamps: iso_timestamps(options)?,
        }))
    }
}

/// A table's row as the envelope's `before` / `after`, and the envelope.
fn envelope(schema: &Schema) -> (Fields, SchemaRef) {
    let row = super::nested_row(schema);
    let envelope = Arc::new(Schema::new(vec![
        Field::new("before", DataType::Struct(row.clone()), true),
        Field::new("after", DataType::Struct(row.clone()), true),
        Field::new("op", DataType::Utf8, true),
    ]));
    (row, envelope)
}

/// Reads Debezium envelopes as changes.
pub struct DebeziumJsonDecoder {
    row: Fields,
    envelope: SchemaRef,
    output: SchemaRef,
}

impl BatchDecoder for DebeziumJsonDecoder {
    fn decode(&mut self, buf: &[u8], num_lines: usize) -> std::result::Result<RecordBatch, String> {
        let envelopes = super::json::decode_with(&self.envelope, buf, num_lines)?;
        let before = envelopes.column(0).as_struct();
        let after = envelopes.column(1).as_struct();
        let op = envelopes.column(2).as_string::<i32>();
        // Each output row: (0 = before / 1 = after, envelope row) and its kind.
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(envelopes.num_rows() * 2);
        let mut kinds: Vec<i8> = Vec::with_capacity(envelopes.num_rows() * 2);
        let side = |present: bool, name: &str, op: &str| {
            match present {
            true => Ok(()),
            false => Err(format!(
                "the \"{name}\" field of a \"{op}\" message is null; if the source is Debezium's Postgres connector, set the table's REPLICA IDENTITY to FULL"
            )),
        }
        };
        for i in 0..envelopes.num_rows() {
            if op.is_null(i) {
                return Err("the record has no \"op\" field".into());
            }
            match op.value(i) {
                o @ ("c" | "r") => {
                    side(after.is_valid(i), "after", o)?;
                    picks.push((1, i));
                    kinds.push(RowKind::Insert.to_i8());
                }
                "u" => {
                    side(before.is_valid(i), "before", "u")?;
                    side(after.is_valid(i), "after", "u")?;
                    picks.push((0, i));
                    kinds.push(RowKind::UpdateBefore.to_i8());
                    picks.push((1, i));
                    kinds.push(RowKind::UpdateAfter.to_i8());
                }
                "d" => {
                    side(before.is_valid(i), "before", "d")?;
                    picks.push((0, i));
                    kinds.push(RowKind::Delete.to_i8());
                }
                other => {
                    return Err(format!(
                        "unknown \"op\" value '{other}' (expected c, r, u or d)"
                    ))
                }
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.row.len() + 1);
        for c in 0..self.row.len() {
            let sides = [before.column(c).as_ref(), after.column(c).as_ref()];
            columns.push(interleave(&sides, &picks).map_err(|e| e.to_string())?);
        }
        columns.push(Arc::new(Int8Array::from(kinds)));
        RecordBatch::try_new(self.output.clone(), columns).map_err(|e| e.to_string())
    }

    fn one_row_per_line(&self) -> bool {
        false
    }
}

/// Writes changes as Debezium envelopes.
pub struct DebeziumJsonEncoder {
    row: Fields,
    envelope: SchemaRef,
    iso_timestamps: bool,
}

impl BatchEncoder for DebeziumJsonEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        let n = batch.num_rows();
        // Whether each row is the new side of a change (`c`) or the old side (`d`).
        let new_side: BooleanArray = match ops(batch) {
            None => BooleanArray::from(vec![true; n]),
            Some(ops) => ops
                .iter()
                .map(|op| match op.and_then(RowKind::from_i8) {
                    Some(RowKind::Insert | RowKind::UpdateAfter) => Ok(Some(true)),
                    Some(RowKind::UpdateBefore | RowKind::Delete) => Ok(Some(false)),
                    None => Err(RuntimeError::Internal(format!("a row kind of {op:?}"))),
                })
                .collect::<Result<BooleanArray, RuntimeError>>()?,
        };
        let columns: Vec<ArrayRef> = data_columns(batch).to_vec();
        let side = |present: Vec<bool>| -> Result<ArrayRef, RuntimeError> {
            Ok(Arc::new(StructArray::try_new(
                self.row.clone(),
                columns.clone(),
                Some(NullBuffer::from(present)),
            )?))
        };
        let is_new: Vec<bool> = new_side.values().iter().collect();
        let before = side(is_new.iter().map(|n| !n).collect())?;
        let after = side(is_new.clone())?;
        let op: StringArray = is_new
            .iter()
            .map(|&n| Some(if n { "c" } else { "d" }))
            .collect();
        let envelope =
            RecordBatch::try_new(self.envelope.clone(), vec![before, after, Arc::new(op)])?;
        let (timestamp, timestamp_ltz) = match self.iso_timestamps {
            true => (ISO_TIMESTAMP_FORMAT, ISO_TIMESTAMP_LTZ_FORMAT),
            false => (SQL_TIMESTAMP_FORMAT, SQL_TIMESTAMP_LTZ_FORMAT),
        };
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .with_date_format(DATE_FORMAT.into())
            .with_time_format(TIME_FORMAT.into())
            .with_timestamp_format(timestamp.into())
            .with_timestamp_tz_format(timestamp_ltz.into())
            .build::<_, LineDelimited>(&mut *out);
        writer.write(&envelope)?;
        writer.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, Int8Array};

    use super::*;

    #[test]
    fn writes_flinks_envelopes_for_each_row_kind() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("c", DataType::Int64, true),
        ]));
        let mut encoder = DebeziumJsonFormatFactory
            .create_encoder(schema.clone(), &BTreeMap::new())
            .unwrap();
        let changelog = RecordBatch::try_new(
            eddy_runtime::changelog::with_op_field(&schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 1, 1, 2])),
                Arc::new(Int64Array::from(vec![Some(1), Some(1), Some(2), None])),
                Arc::new(Int8Array::from(vec![0, 1, 2, 3])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        encoder.encode(&changelog, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "{\"before\":null,\"after\":{\"k\":1,\"c\":1},\"op\":\"c\"}\n",
                "{\"before\":{\"k\":1,\"c\":1},\"after\":null,\"op\":\"d\"}\n",
                "{\"before\":null,\"after\":{\"k\":1,\"c\":2},\"op\":\"c\"}\n",
                "{\"before\":{\"k\":2,\"c\":null},\"after\":null,\"op\":\"d\"}\n",
            )
        );
        // An insert-only stream writes inserts only.
        let inserts = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![3])),
                Arc::new(Int64Array::from(vec![4])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        encoder.encode(&inserts, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"before\":null,\"after\":{\"k\":3,\"c\":4},\"op\":\"c\"}\n"
        );
    }

    #[test]
    fn refuses_schema_include() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let options = BTreeMap::from([(SCHEMA_INCLUDE.key.to_string(), "true".to_string())]);
        assert!(DebeziumJsonFormatFactory
            .validate(&schema, &options)
            .is_err());
    }

    #[test]
    fn reads_each_operation_as_flink_does() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("c", DataType::Utf8, true),
        ]));
        let mut decoder = DebeziumJsonFormatFactory
            .create_decoder(schema, &BTreeMap::new())
            .unwrap();
        let lines = concat!(
            "{\"before\":null,\"after\":{\"k\":1,\"c\":\"a\"},\"op\":\"r\",\"ts_ms\":1}\n",
            "{\"before\":null,\"after\":{\"k\":2,\"c\":\"b\"},\"op\":\"c\",\"source\":{\"db\":\"x\"}}\n",
            "{\"before\":{\"k\":1,\"c\":\"a\"},\"after\":{\"k\":1,\"c\":\"z\"},\"op\":\"u\"}\n",
            "{\"before\":{\"k\":2,\"c\":\"b\"},\"after\":null,\"op\":\"d\"}\n",
        );
        let batch = decoder.decode(lines.as_bytes(), 4).unwrap();
        assert_eq!(
            eddy_runtime::changelog::op_strings(&batch)
                .unwrap()
                .iter()
                .flatten()
                .collect::<Vec<_>>(),
            ["+I", "+I", "-U", "+U", "-D"]
        );
        let c = batch.column(1).as_string::<i32>();
        assert_eq!(
            (0..5).map(|i| c.value(i)).collect::<Vec<_>>(),
            ["a", "b", "a", "z", "b"]
        );
        // An update without its old row cannot be retracted: refused, naming the fix.
        let err = decoder
            .decode(b"{\"before\":null,\"after\":{\"k\":1},\"op\":\"u\"}\n", 1)
            .unwrap_err();
        assert!(err.contains("REPLICA IDENTITY"), "{err}");
        let err = decoder.decode(b"{\"op\":\"x\"}\n", 1).unwrap_err();
        assert!(err.contains("'x'"), "{err}");
    }
}
