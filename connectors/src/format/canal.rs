//! Flink's `canal-json` format: Alibaba Canal's messages,
//! `{"data": [rows], "old": [changed fields], "type": "INSERT" | "UPDATE" | "DELETE", ..}`.
//! As a source, as Flink's `CanalJsonDeserializationSchema` reads them: every row of an
//! `INSERT` is `+I`, of a `DELETE` `-D`; an `UPDATE` row is `-U` of the old row (the new
//! row with the fields `old` lists put back) then `+U` of the new one; a `CREATE` (a DDL
//! event) is skipped. As a sink, as Flink's `CanalJsonSerializationSchema` writes them:
//! one message per change, `+I` and `+U` as `INSERT`, `-U` and `-D` as `DELETE`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int8Array, ListArray, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::changelog::{data_columns, ops};
use eddy_runtime::{RowKind, RuntimeError};

use super::{
    BadRecordPolicy, BatchDecoder, BatchEncoder, FormatFactory, DATE_FORMAT, SQL_TIMESTAMP_FORMAT,
    SQL_TIMESTAMP_LTZ_FORMAT, TIME_FORMAT,
};
use crate::error::Result;
use crate::options::{get_bool, OptionKey};

/// `canal-json.ignore-parse-errors`.
pub const IGNORE_PARSE_ERRORS: OptionKey = OptionKey::with_default(
    "canal-json.ignore-parse-errors",
    "false",
    "Skip (and count) malformed records instead of failing, when reading.",
);

/// The `canal-json` format.
#[derive(Debug, Default)]
pub struct CanalJsonFormatFactory;

/// A table's row, and Canal's message holding rows of it.
fn message(schema: &Schema) -> (Fields, SchemaRef) {
    let row = super::nested_row(schema);
    let rows = DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(row.clone()),
        true,
    )));
    let message = Arc::new(Schema::new(vec![
        Field::new("data", rows.clone(), true),
        Field::new("old", rows, true),
        Field::new("type", DataType::Utf8, true),
    ]));
    (row, message)
}

impl FormatFactory for CanalJsonFormatFactory {
    fn identifier(&self) -> &'static str {
        "canal-json"
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![IGNORE_PARSE_ERRORS]
    }

    fn validate(&self, schema: &Schema, options: &BTreeMap<String, String>) -> Result<()> {
        get_bool(options, &IGNORE_PARSE_ERRORS)?;
        super::json::check_types_for(schema, "format 'canal-json'")
    }

    fn produces_changelog(&self) -> bool {
        true
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
        self.validate(&schema, options)?;
        let (row, message) = message(&schema);
        Ok(Box::new(CanalJsonDecoder {
            row,
            message,
            output: eddy_runtime::changelog::with_op_field(&schema),
        }))
    }

    fn create_encoder(
        &self,
        schema: SchemaRef,
        options: &BTreeMap<String, String>,
    ) -> Result<Box<dyn BatchEncoder>> {
        self.validate(&schema, options)?;
        let (row, _) = message(&schema);
        let item = Arc::new(Field::new("item", DataType::Struct(row.clone()), true));
        let out = Arc::new(Schema::new(vec![
            Field::new("data", DataType::List(item.clone()), false),
            Field::new("type", DataType::Utf8, false),
        ]));
        Ok(Box::new(CanalJsonEncoder { row, item, out }))
    }
}

/// Reads Canal's messages as changes.
pub struct CanalJsonDecoder {
    row: Fields,
    message: SchemaRef,
    output: SchemaRef,
}

/// The field names each line's `old` rows hold, per message (only `UPDATE`s need them):
/// Canal lists the fields that changed, and a field that was NULL before is listed with a
/// null, which Arrow cannot tell from one not listed.
fn old_keys(line: &[u8]) -> std::result::Result<Vec<HashSet<String>>, String> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let Some(old) = value.get("old").and_then(|o| o.as_array()) else {
        return Ok(Vec::new());
    };
    Ok(old
        .iter()
        .map(|row| {
            row.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        })
        .collect())
}

impl BatchDecoder for CanalJsonDecoder {
    fn decode(&mut self, buf: &[u8], num_lines: usize) -> std::result::Result<RecordBatch, String> {
        let messages = super::json::decode_with(&self.message, buf, num_lines)?;
        let data = messages.column(0).as_list::<i32>();
        let old = messages.column(1).as_list::<i32>();
        let kind = messages.column(2).as_string::<i32>();
        let data_rows = data.values().as_struct();
        let old_rows = old.values().as_struct();
        let lines: Vec<&[u8]> = buf
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        // Per output row: where each column's value comes from (0 = data, 1 = old).
        let columns = self.row.len();
        let mut picks: Vec<Vec<(usize, usize)>> = vec![Vec::new(); columns];
        let mut kinds: Vec<i8> = Vec::new();
        let mut push = |picks: &mut Vec<Vec<(usize, usize)>>,
                        from: &dyn Fn(usize) -> (usize, usize),
                        k: RowKind| {
            for (c, p) in picks.iter_mut().enumerate() {
                p.push(from(c));
            }
            kinds.push(k.to_i8());
        };
        for i in 0..messages.num_rows() {
            if kind.is_null(i) {
                return Err("the record has no \"type\" field".into());
            }
            let rows = data.value_offsets()[i] as usize..data.value_offsets()[i + 1] as usize;
            let t = kind.value(i);
            if t == "CREATE" {
                continue;
            }
            if data.is_null(i) {
                return Err(format!("the \"data\" field of a \"{t}\" message is null"));
            }
            match t {
                "INSERT" => {
                    for r in rows {
                        push(&mut picks, &|_| (0, r), RowKind::Insert);
                    }
                }
                "DELETE" => {
                    for r in rows {
                        push(&mut picks, &|_| (0, r), RowKind::Delete);
                    }
                }
                "UPDATE" => {
                    let olds = old.value_offsets()[i] as usize..old.value_offsets()[i + 1] as usize;
                    if old.is_null(i) || olds.len() != rows.len() {
                        return Err(
                            "an \"UPDATE\" message needs one \"old\" row per \"data\" row".into(),
                        );
                    }
                    let keys = old_keys(lines.get(i).copied().unwrap_or_default())?;
                    for (k, (r, o)) in rows.zip(olds).enumerate() {
                        let listed = |c: usize| {
                            keys.get(k)
                                .is_some_and(|names| names.contains(self.row[c].name()))
                        };
                        push(
                            &mut picks,
                            &|c| if listed(c) { (1, o) } else { (0, r) },
                            RowKind::UpdateBefore,
                        );
                        push(&mut picks, &|_| (0, r), RowKind::UpdateAfter);
                    }
                }
                other => {
                    return Err(format!(
                    "unknown \"type\" value '{other}' (expected INSERT, UPDATE, DELETE or CREATE)"
                ))
                }
            }
        }
        let mut out: Vec<ArrayRef> = Vec::with_capacity(columns + 1);
        for (c, p) in picks.iter().enumerate() {
            let sources = [data_rows.column(c).as_ref(), old_rows.column(c).as_ref()];
            out.push(interleave(&sources, p).map_err(|e| e.to_string())?);
        }
        out.push(Arc::new(Int8Array::from(kinds)));
        RecordBatch::try_new(self.output.clone(), out).map_err(|e| e.to_string())
    }

    fn one_row_per_line(&self) -> bool {
        false
    }
}

/// Writes changes as Canal's messages, one row each.
pub struct CanalJsonEncoder {
    row: Fields,
    item: Arc<Field>,
    out: SchemaRef,
}

impl BatchEncoder for CanalJsonEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        let n = batch.num_rows();
        let kinds: Vec<&str> = match ops(batch) {
            None => vec!["INSERT"; n],
            Some(ops) => ops
                .iter()
                .map(|op| match op.and_then(RowKind::from_i8) {
                    Some(RowKind::Insert | RowKind::UpdateAfter) => Ok("INSERT"),
                    Some(RowKind::UpdateBefore | RowKind::Delete) => Ok("DELETE"),
                    None => Err(RuntimeError::Internal(format!("a row kind of {op:?}"))),
                })
                .collect::<Result<_, RuntimeError>>()?,
        };
        let rows = StructArray::try_new(self.row.clone(), data_columns(batch).to_vec(), None)?;
        let data = ListArray::try_new(
            self.item.clone(),
            OffsetBuffer::from_lengths(std::iter::repeat_n(1, n)),
            Arc::new(rows),
            None,
        )?;
        let message = RecordBatch::try_new(
            self.out.clone(),
            vec![Arc::new(data), Arc::new(StringArray::from(kinds))],
        )?;
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .with_date_format(DATE_FORMAT.into())
            .with_time_format(TIME_FORMAT.into())
            .with_timestamp_format(SQL_TIMESTAMP_FORMAT.into())
            .with_timestamp_tz_format(SQL_TIMESTAMP_LTZ_FORMAT.into())
            .build::<_, LineDelimited>(&mut *out);
        writer.write(&message)?;
        writer.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("w", DataType::Int64, true),
        ]))
    }

    #[test]
    fn reads_canal_messages_as_flink_does() {
        let mut decoder = CanalJsonFormatFactory
            .create_decoder(schema(), &BTreeMap::new())
            .unwrap();
        let lines = concat!(
            "{\"data\":[{\"id\":1,\"name\":\"a\",\"w\":10},{\"id\":2,\"name\":\"b\",\"w\":20}],\"old\":null,\"type\":\"INSERT\",\"database\":\"db\",\"es\":1}\n",
            "{\"data\":null,\"type\":\"CREATE\",\"isDdl\":true,\"sql\":\"CREATE TABLE t\"}\n",
            "{\"data\":[{\"id\":1,\"name\":\"a\",\"w\":11}],\"old\":[{\"w\":10}],\"type\":\"UPDATE\"}\n",
            "{\"data\":[{\"id\":2,\"name\":\"c\",\"w\":20}],\"old\":[{\"name\":null}],\"type\":\"UPDATE\"}\n",
            "{\"data\":[{\"id\":2,\"name\":\"c\",\"w\":20}],\"type\":\"DELETE\"}\n",
        );
        let batch = decoder.decode(lines.as_bytes(), 5).unwrap();
        let rows = eddy_runtime::changelog::op_strings(&batch).unwrap();
        let name = batch.column(1).as_string::<i32>();
        let w = batch
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let got: Vec<String> = (0..batch.num_rows())
            .map(|i| {
                format!(
                    "{}{}:{}",
                    rows.value(i),
                    if name.is_null(i) {
                        "NULL"
                    } else {
                        name.value(i)
                    },
                    w.value(i)
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "+Ia:10",
                "+Ib:20",
                "-Ua:10",
                "+Ua:11",
                "-UNULL:20",
                "+Uc:20",
                "-Dc:20"
            ],
            "an old field listed as null was null before"
        );
        let err = decoder
            .decode(b"{\"data\":[],\"type\":\"ALTER\"}\n", 1)
            .unwrap_err();
        assert!(err.contains("'ALTER'"), "{err}");
    }

    #[test]
    fn writes_one_message_per_change() {
        let schema = schema();
        let mut encoder = CanalJsonFormatFactory
            .create_encoder(schema.clone(), &BTreeMap::new())
            .unwrap();
        let batch = RecordBatch::try_new(
            eddy_runtime::changelog::with_op_field(&schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 1])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int64Array::from(vec![10, 11])),
                Arc::new(Int8Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        encoder.encode(&batch, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "{\"data\":[{\"id\":1,\"name\":\"a\",\"w\":10}],\"type\":\"DELETE\"}\n",
                "{\"data\":[{\"id\":1,\"name\":null,\"w\":11}],\"type\":\"INSERT\"}\n",
            )
        );
    }
}
