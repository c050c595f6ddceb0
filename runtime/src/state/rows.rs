//! Raw rows as keyed state: the rows a window join or a SESSION window holds until their
//! window closes. Each row is one value in Arrow's row format under its key group, so a
//! snapshot splits by key group like any other keyed state and restores at another
//! parallelism.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};

use super::snapshot::SnapshotWriter;
use super::StateKey;
use crate::error::Result;
use crate::exchange::key_groups;

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

    /// Writes every row of `batch` as a value of `state` under `namespace`, in the key
    /// group its `keys` (one array per key column, as the exchange hashed them) hash to;
    /// key group 0 without keys, where the exchange sends unkeyed rows. `seq` numbers the
    /// rows so that each has an address of its own.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        writer: &mut SnapshotWriter<'_>,
        state: &str,
        namespace: &[u8],
        batch: &RecordBatch,
        keys: &[ArrayRef],
        max_parallelism: u32,
        seq: &mut u64,
    ) -> Result<()> {
        let groups = match keys.is_empty() {
            true => vec![0; batch.num_rows()],
            false => key_groups(keys, max_parallelism)?,
        };
        let rows = self.converter.convert_columns(batch.columns())?;
        for (i, group) in groups.into_iter().enumerate() {
            *seq += 1;
            writer.write(
                state,
                &StateKey {
                    key_group: group,
                    namespace: namespace.to_vec(),
                    key: seq.to_be_bytes().to_vec(),
                },
                rows.row(i).data(),
            )?;
        }
        Ok(())
    }

    /// Rows written by [`RowsCodec::write`], back as one batch.
    pub fn decode(&self, values: &[Vec<u8>]) -> Result<RecordBatch> {
        let parser = self.converter.parser();
        let columns = self
            .converter
            .convert_rows(values.iter().map(|v| parser.parse(v)))?;
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(values.len())),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::state::snapshot::SnapshotReader;
    use crate::state::KeyGroupRange;

    #[test]
    fn rows_roundtrip_through_a_snapshot_by_key_group() {
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
        let mut bytes = Vec::new();
        let mut writer =
            SnapshotWriter::new(&mut bytes, KeyGroupRange { start: 0, end: 127 }).unwrap();
        let mut seq = 0;
        codec
            .write(
                &mut writer,
                "rows",
                b"w",
                &batch,
                &[batch.column(0).clone()],
                128,
                &mut seq,
            )
            .unwrap();
        writer.finish().unwrap();
        let mut input = bytes.as_slice();
        let mut reader = SnapshotReader::new(&mut input).unwrap();
        let mut values = Vec::new();
        let mut groups = Vec::new();
        while let Some((state, key, value)) = reader.next().unwrap() {
            assert_eq!(state, "rows");
            groups.push(key.key_group);
            values.push(value);
        }
        assert_eq!(groups[0], groups[3], "equal keys share a key group");
        assert_eq!(codec.decode(&values).unwrap(), batch);
    }
}
