//! Kafka records into rows: the value format decodes the value columns, the key format
//! (when there is one) the key columns, both over a whole buffer of records at once. Only
//! when that fails (or a key is null) are records decoded one by one, to skip or report
//! the bad ones by topic, partition and offset.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, ArrayRef, Int8Array, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::{RowKind, RuntimeError};

use super::metadata::{self, Kind, RecordMetadata};
use super::options::KafkaOptions;
use crate::format::{quote_record, BadRecordPolicy, BatchDecoder, LineChunk};

/// Records of one partition waiting to be decoded. A record's "line number" in the chunks
/// is its offset.
#[derive(Default)]
pub(crate) struct RecordBuffer {
    pub values: LineChunk,
    /// Keys, one per value, when the table has a key format (empty for a null key).
    pub keys: LineChunk,
    /// Per key: whether the record had none.
    pub null_keys: Vec<bool>,
    /// Offset of the last record taken (also of records skipped as tombstones).
    pub last_offset: Option<i64>,
    /// Per value, what metadata columns need beyond topic, partition and offset.
    pub meta: RecordMetadata,
    /// In an upsert table, per value: whether the record was a tombstone (its value is
    /// then empty).
    pub tombstones: Vec<bool>,
}

impl RecordBuffer {
    pub fn clear(&mut self) {
        self.values.clear();
        self.keys.clear();
        self.null_keys.clear();
        self.last_offset = None;
        self.meta.clear();
        self.tombstones.clear();
    }
}

/// Decodes buffers of records into batches of the table's physical columns.
pub(crate) struct KafkaDecoder {
    value: Box<dyn BatchDecoder>,
    value_columns: Vec<usize>,
    value_schema: SchemaRef,
    key: Option<(Box<dyn BatchDecoder>, Vec<usize>)>,
    /// The table's physical columns.
    schema: SchemaRef,
    /// What batches have: the columns, plus row kinds for a changelog format or an upsert
    /// table.
    output: SchemaRef,
    /// The value format is a changelog (`debezium-json`): it decodes the row kinds.
    changelog: bool,
    /// An upsert table: values are inserts, tombstones deletions of their key.
    upsert: bool,
    /// Metadata columns: (column, what).
    metadata: Vec<(usize, Kind)>,
    policy: BadRecordPolicy,
    metrics: Arc<TaskMetrics>,
}

impl KafkaDecoder {
    pub fn new(
        opts: &KafkaOptions,
        schema: SchemaRef,
        metrics: Arc<TaskMetrics>,
    ) -> Result<Self, RuntimeError> {
        let value = &opts.value;
        let changelog = value.factory.produces_changelog();
        let key = match &opts.key {
            Some(k) => Some((
                k.factory.create_decoder(k.schema.clone(), &k.options)?,
                k.columns.clone(),
            )),
            None => None,
        };
        // One bad value or key fails the job unless the value format skips bad records.
        let policy = value.factory.bad_record_policy(&value.options)?;
        Ok(Self {
            value: value
                .factory
                .create_decoder(value.schema.clone(), &value.options)?,
            value_columns: value.columns.clone(),
            // Tombstones have no value: NULL even where the value's columns are NOT NULL.
            value_schema: Arc::new(Schema::new(
                value
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true))
                    .collect::<Vec<_>>(),
            )),
            key,
            output: match (changelog, opts.upsert) {
                // A deletion's row holds only its key: the other columns are NULL, NOT
                // NULL or not.
                (_, true) => eddy_runtime::changelog::with_op_field(&Schema::new(
                    schema
                        .fields()
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let key = opts.key.as_ref().is_some_and(|k| k.columns.contains(&i));
                            f.as_ref().clone().with_nullable(f.is_nullable() || !key)
                        })
                        .collect::<Vec<_>>(),
                )),
                (true, false) => eddy_runtime::changelog::with_op_field(&schema),
                (false, false) => schema.clone(),
            },
            metadata: metadata::columns(&schema),
            schema,
            changelog,
            upsert: opts.upsert,
            policy,
            metrics,
        })
    }

    /// Whether records' timestamps are needed (a metadata column reads them).
    pub fn needs_record_metadata(&self) -> bool {
        self.metadata
            .iter()
            .any(|(_, k)| !matches!(k, Kind::Topic | Kind::Partition | Kind::Offset))
    }

    /// Counts records skipped before decoding (an upsert table's records without a key).
    pub fn count_skipped(&self, n: u64) {
        TaskMetrics::add(&self.metrics.num_records_skipped, n);
    }

    /// Whether records' headers are needed.
    pub fn needs_headers(&self) -> bool {
        self.metadata.iter().any(|(_, k)| *k == Kind::Headers)
    }

    /// The metadata columns of the buffered records.
    fn metadata_columns(
        &self,
        topic: &str,
        partition: i32,
        buf: &RecordBuffer,
    ) -> Result<Vec<ArrayRef>, RuntimeError> {
        if self.metadata.is_empty() {
            return Ok(Vec::new());
        }
        let offsets: Vec<i64> = buf.values.lines().map(|(o, _, _)| o as i64).collect();
        self.metadata
            .iter()
            .map(|&(c, kind)| {
                metadata::column(
                    kind,
                    self.schema.field(c).data_type(),
                    topic,
                    partition,
                    &offsets,
                    &buf.meta,
                )
            })
            .collect()
    }

    /// Decodes the buffered records of `topic` partition `partition`; `None` when none
    /// survived.
    pub fn decode(
        &mut self,
        topic: &str,
        partition: i32,
        buf: &RecordBuffer,
    ) -> Result<Option<RecordBatch>, RuntimeError> {
        if buf.values.is_empty() {
            return Ok(None);
        }
        let meta = self.metadata_columns(topic, partition, buf)?;
        if let Ok(batch) = self.decode_all(buf, &meta) {
            return Ok(Some(batch));
        }
        let mut good = Vec::new();
        let mut skipped = 0u64;
        let keys: Vec<_> = buf.keys.lines().collect();
        for (i, (offset, value, _)) in buf.values.lines().enumerate() {
            let null_key = buf.null_keys.get(i).copied().unwrap_or(false);
            let key = keys.get(i).map(|(_, k, _)| *k).filter(|_| !null_key);
            let row_meta: Vec<ArrayRef> = meta.iter().map(|m| m.slice(i, 1)).collect();
            let tombstone = buf.tombstones.get(i).copied().unwrap_or(false);
            let reason = match self.decode_one(value, tombstone, key, &row_meta) {
                Ok(batch) => {
                    good.push(batch);
                    continue;
                }
                Err(reason) => reason,
            };
            match self.policy {
                BadRecordPolicy::Skip => skipped += 1,
                BadRecordPolicy::Fail => {
                    return Err(RuntimeError::BadRecord {
                        location: format!("topic '{topic}' partition {partition} offset {offset}"),
                        reason,
                        record: quote_record(value),
                    })
                }
            }
        }
        if skipped > 0 {
            TaskMetrics::add(&self.metrics.num_records_skipped, skipped);
        }
        if good.is_empty() {
            return Ok(None);
        }
        Ok(Some(concat_batches(&self.output, &good)?))
    }

    fn decode_all(&mut self, buf: &RecordBuffer, meta: &[ArrayRef]) -> Result<RecordBatch, String> {
        let n = buf.values.len();
        let values = match buf.tombstones.contains(&true) {
            true => self.decode_upserts(buf)?,
            false => self.value.decode_records(&buf.values)?,
        };
        if !self.changelog && values.num_rows() != n {
            return Err(format!("{} rows from {n} records", values.num_rows()));
        }
        let keys = match &mut self.key {
            Some(_) if buf.null_keys.contains(&true) => return Err("a null key".into()),
            Some((decoder, _)) => {
                let keys = decoder.decode_records(&buf.keys)?;
                if keys.num_rows() != n {
                    return Err(format!("{} keys from {n} records", keys.num_rows()));
                }
                Some(keys)
            }
            None => None,
        };
        self.assemble(values, keys, meta, &buf.tombstones)
    }

    /// The values of an upsert table's records, tombstones among them: the others are
    /// decoded at once and spread out, tombstones getting NULL values.
    fn decode_upserts(&mut self, buf: &RecordBuffer) -> Result<RecordBatch, String> {
        let mut live = LineChunk::new();
        for ((offset, value, _), &tombstone) in buf.values.lines().zip(&buf.tombstones) {
            if !tombstone {
                live.push(offset, value);
            }
        }
        let decoded = self.value.decode_records(&live)?;
        if decoded.num_rows() != live.len() {
            return Err(format!(
                "{} rows from {} records",
                decoded.num_rows(),
                live.len()
            ));
        }
        let mut next = 0u32;
        let spread: UInt32Array = buf
            .tombstones
            .iter()
            .map(|&t| {
                (!t).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        let columns = decoded
            .columns()
            .iter()
            .map(|c| take(c, &spread, None))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        RecordBatch::try_new_with_options(
            self.value_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(spread.len())),
        )
        .map_err(|e| e.to_string())
    }

    /// One record; a null key (`None` with a key format) gives NULL key columns.
    fn decode_one(
        &mut self,
        value: &[u8],
        tombstone: bool,
        key: Option<&[u8]>,
        meta: &[ArrayRef],
    ) -> Result<RecordBatch, String> {
        let mut chunk = LineChunk::new();
        chunk.push(0, value);
        let values = match tombstone {
            true => {
                let fields = self.value_schema.fields();
                let nulls = fields
                    .iter()
                    .map(|f| new_null_array(f.data_type(), 1))
                    .collect();
                RecordBatch::try_new_with_options(
                    self.value_schema.clone(),
                    nulls,
                    &RecordBatchOptions::new().with_row_count(Some(1)),
                )
                .map_err(|e| e.to_string())?
            }
            false => self.value.decode_records(&chunk)?,
        };
        if !self.changelog && values.num_rows() != 1 {
            return Err(format!("expected one row, found {}", values.num_rows()));
        }
        let keys = match (&mut self.key, key) {
            (Some((decoder, _)), Some(key)) => {
                let mut chunk = LineChunk::new();
                chunk.push(0, key);
                let keys = decoder
                    .decode_records(&chunk)
                    .map_err(|e| format!("the key: {e}"))?;
                if keys.num_rows() != 1 {
                    return Err(format!("expected one key, found {}", keys.num_rows()));
                }
                Some(keys)
            }
            _ => None,
        };
        self.assemble(values, keys, meta, &[tombstone])
    }

    /// The table's columns from the value's and key's; the value wins where both hold a
    /// column (`value.fields-include` = `ALL`), as in Flink.
    fn assemble(
        &self,
        values: RecordBatch,
        keys: Option<RecordBatch>,
        meta: &[ArrayRef],
        tombstones: &[bool],
    ) -> Result<RecordBatch, String> {
        let rows = values.num_rows();
        let mut columns: Vec<Option<ArrayRef>> = vec![None; self.schema.fields().len()];
        for (j, &c) in self.value_columns.iter().enumerate() {
            columns[c] = Some(values.column(j).clone());
        }
        // In an upsert table the key's columns come from the key, which a tombstone has.
        if let (Some(keys), Some((_, key_columns))) = (&keys, &self.key) {
            for (j, &c) in key_columns.iter().enumerate() {
                if self.upsert || columns[c].is_none() {
                    columns[c] = Some(keys.column(j).clone());
                }
            }
        }
        // A changelog's rows are not records: its metadata columns stay NULL.
        if !self.changelog {
            for (&(c, _), m) in self.metadata.iter().zip(meta) {
                columns[c] = Some(m.clone());
            }
        }
        let mut out: Vec<ArrayRef> = columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                c.unwrap_or_else(|| new_null_array(self.schema.field(i).data_type(), rows))
            })
            .collect();
        if self.changelog {
            out.push(values.column(values.num_columns() - 1).clone());
        }
        if self.upsert {
            let kind = |tombstone: bool| match tombstone {
                true => RowKind::Delete.to_i8(),
                false => RowKind::Insert.to_i8(),
            };
            out.push(Arc::new(Int8Array::from_iter_values(
                (0..rows).map(|i| kind(tombstones.get(i).copied().unwrap_or(false))),
            )));
        }
        RecordBatch::try_new_with_options(
            self.output.clone(),
            out,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| e.to_string())
    }
}
