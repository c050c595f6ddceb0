//! Raw rows as keyed state: the rows a window join or a SESSION window holds until their
//! window closes, kept in the operator's keyed state backend so that RocksDB spills them and
//! checkpoints (incremental ones too) carry them like any keyed state. Rows are stored in
//! chunks: the rows of one input batch that share a key group and a namespace (a window, or a
//! key's sessions) become one value in Arrow's row format, under a sequence number that keeps
//! their arrival order. Chunks split by key group, so a snapshot restores at another
//! parallelism.
//!
//! ```text
//! chunk: version u8 (1) | rows u32 | per row: length u32 | row bytes
//! ```

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, Rows, SortField};

use super::{KeyedStateBackend, StateKey};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;

/// The chunk encoding this code writes.
const CHUNK_VERSION: u8 = 1;

/// Encodes and decodes the rows of one schema.
pub struct RowsCodec {
    schema: SchemaRef,
    converter: RowConverter,
}

impl RowsCodec {
    /// A codec for rows of `schema`.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let converter = RowConverter::new(
            schema
                .fields()
                .iter()
                .map(|f| SortField::new(f.data_type().clone()))
                .collect(),
        )?;
        Ok(Self { schema, converter })
    }

    /// The rows of `batch` in Arrow's row format.
    pub fn convert(&self, batch: &RecordBatch) -> Result<Rows> {
        Ok(self.converter.convert_columns(batch.columns())?)
    }

    /// Stores every row of `batch` under `namespace` in `state`: one chunk per key group
    /// its `keys` (one array per key column, as the exchange hashed them) hash to, key
    /// group 0 without keys, where the exchange sends unkeyed rows. `seq` numbers the
    /// chunks. Returns the bytes stored.
    #[allow(clippy::too_many_arguments)]
    pub fn put(
        &self,
        backend: &mut dyn KeyedStateBackend,
        state: &str,
        namespace: &[u8],
        batch: &RecordBatch,
        keys: &[ArrayRef],
        max_parallelism: u32,
        seq: &mut u64,
    ) -> Result<usize> {
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        let groups = match keys.is_empty() {
            true => vec![0; batch.num_rows()],
            false => key_groups(keys, max_parallelism)?,
        };
        let rows = self.convert(batch)?;
        let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
        // Stable: rows of a key group keep their arrival order within the chunk.
        order.sort_by_key(|&i| groups[i as usize]);
        let mut stored = 0;
        for run in order.chunk_by(|a, b| groups[*a as usize] == groups[*b as usize]) {
            let chunk = encode_chunk(&rows, run);
            stored += chunk.len();
            *seq += 1;
            backend.put(
                state,
                StateKey {
                    key_group: groups[run[0] as usize],
                    namespace: namespace.to_vec(),
                    key: seq.to_be_bytes().to_vec(),
                },
                chunk,
            )?;
        }
        Ok(stored)
    }

    /// Stores every row of `batch` as one chunk in `key_group` (all of them belong there).
    pub fn put_in_group(
        &self,
        backend: &mut dyn KeyedStateBackend,
        state: &str,
        namespace: &[u8],
        batch: &RecordBatch,
        key_group: u32,
        seq: &mut u64,
    ) -> Result<usize> {
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        let rows = self.convert(batch)?;
        let all: Vec<u32> = (0..batch.num_rows() as u32).collect();
        let chunk = encode_chunk(&rows, &all);
        let stored = chunk.len();
        *seq += 1;
        backend.put(
            state,
            StateKey {
                key_group,
                namespace: namespace.to_vec(),
                key: seq.to_be_bytes().to_vec(),
            },
            chunk,
        )?;
        Ok(stored)
    }

    /// Chunks written by [`RowsCodec::put`], back as one batch in the order given.
    pub fn decode(&self, chunks: &[Vec<u8>]) -> Result<RecordBatch> {
        let parser = self.converter.parser();
        let mut rows = Vec::new();
        for chunk in chunks {
            rows.extend(chunk_rows(chunk)?);
        }
        let count = rows.len();
        let columns = self
            .converter
            .convert_rows(rows.into_iter().map(|r| parser.parse(r)))?;
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(count)),
        )?)
    }
}

/// The sequence number a chunk was stored under, so that an operator restoring chunks goes
/// on numbering after them.
pub fn chunk_seq(key: &StateKey) -> u64 {
    key.key
        .as_slice()
        .try_into()
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

fn encode_chunk(rows: &Rows, indices: &[u32]) -> Vec<u8> {
    let bytes: usize = indices
        .iter()
        .map(|&i| rows.row(i as usize).data().len() + 4)
        .sum();
    let mut out = Vec::with_capacity(5 + bytes);
    out.push(CHUNK_VERSION);
    out.extend_from_slice(&(indices.len() as u32).to_be_bytes());
    for &i in indices {
        let row = rows.row(i as usize).data();
        out.extend_from_slice(&(row.len() as u32).to_be_bytes());
        out.extend_from_slice(row);
    }
    out
}

/// The rows of a chunk, checked against its framing (a damaged chunk is an error, not a
/// panic in the row parser).
fn chunk_rows(chunk: &[u8]) -> Result<Vec<&[u8]>> {
    let damaged = || RuntimeError::Internal("a chunk of buffered rows is damaged".into());
    let (&version, rest) = chunk.split_first().ok_or_else(damaged)?;
    if version != CHUNK_VERSION {
        return Err(RuntimeError::User(format!(
            "buffered rows in encoding version {version}; this Eddy reads version {CHUNK_VERSION}"
        )));
    }
    let (count, mut rest) = rest.split_at_checked(4).ok_or_else(damaged)?;
    let count = u32::from_be_bytes(count.try_into().map_err(|_| damaged())?) as usize;
    let mut rows = Vec::with_capacity(count.min(rest.len() / 4));
    for _ in 0..count {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (row, tail) = tail.split_at_checked(len).ok_or_else(damaged)?;
        rows.push(row);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(damaged());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::state::{HeapKeyedStateBackend, KeyGroupRange};

    #[test]
    fn rows_roundtrip_through_a_backend_in_chunks_by_key_group() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 1])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("c"),
                    Some("d"),
                ])),
            ],
        )
        .unwrap();
        let codec = RowsCodec::new(schema).unwrap();
        let mut backend = HeapKeyedStateBackend::new(KeyGroupRange { start: 0, end: 127 });
        let mut seq = 0;
        codec
            .put(
                &mut backend,
                "rows",
                b"w",
                &batch,
                &[batch.column(0).clone()],
                128,
                &mut seq,
            )
            .unwrap();
        let mut taken = backend.take_namespace("rows", b"w").unwrap();
        assert!(taken.len() <= 3, "one chunk per key group: {taken:?}");
        taken.sort_by_key(|(key, _)| chunk_seq(key));
        let chunks: Vec<Vec<u8>> = taken.into_iter().map(|(_, v)| v).collect();
        let mut got = codec.decode(&chunks).unwrap();
        // Chunks come back in key-group order; compare as sets of rows.
        let sorted = |b: &RecordBatch| {
            let rows = codec.convert(b).unwrap();
            let mut v: Vec<Vec<u8>> = rows.iter().map(|r| r.data().to_vec()).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&got), sorted(&batch));
        got = codec.decode(&[]).unwrap();
        assert_eq!(got.num_rows(), 0);
        assert!(codec.decode(&[vec![1, 0, 0, 0, 2, 0]]).is_err());
        assert!(codec.decode(&[vec![9]]).is_err());
    }
}
