//! The internal `values` source: the rows of `INSERT INTO t VALUES (..), (..)`, which the
//! planner evaluates and ships inside the job graph (Arrow IPC, base64, in `values.rows`),
//! as Flink's `StreamExecValues` carries its literals in the plan. One split holds every
//! row; a checkpoint records whether it has been emitted. Not for `CREATE TABLE`.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{ReaderPoll, Source, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::jobgraph::ConnectorSpec;
use eddy_runtime::RuntimeError;

use crate::error::{ConnectorError, Result};
use crate::factory::TableFactory;
use crate::options::{get_required, OptionKey};

/// `values.rows`.
pub const VALUES_ROWS: OptionKey = OptionKey::new(
    "values.rows",
    "The rows, as an Arrow IPC stream in base64 (set by the planner).",
);

/// Encodes `batch` for [`VALUES_ROWS`].
pub fn encode_rows(batch: &RecordBatch) -> eddy_runtime::Result<String> {
    let mut bytes = Vec::new();
    let mut writer = StreamWriter::try_new(&mut bytes, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decode_rows(text: &str) -> Result<Vec<RecordBatch>> {
    let damaged = |e: String| ConnectorError::invalid(VALUES_ROWS.key, "..", e);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| damaged(e.to_string()))?;
    let reader =
        StreamReader::try_new(Cursor::new(bytes), None).map_err(|e| damaged(e.to_string()))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| damaged(e.to_string()))
}

/// The `values` connector.
#[derive(Debug, Default)]
pub struct ValuesTableFactory;

impl TableFactory for ValuesTableFactory {
    fn identifier(&self) -> &'static str {
        "values"
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![VALUES_ROWS]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn is_internal(&self) -> bool {
        true
    }

    fn is_bounded(&self, _options: &BTreeMap<String, String>) -> bool {
        true
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let rows = get_required(self.identifier(), &spec.options, &VALUES_ROWS)?;
        Ok(Arc::new(ValuesSource {
            batches: decode_rows(rows)?,
        }))
    }
}

/// Emits its rows once.
struct ValuesSource {
    batches: Vec<RecordBatch>,
}

impl Source for ValuesSource {
    fn is_bounded(&self) -> bool {
        true
    }

    fn enumerate_splits(&self, _parallelism: u32) -> eddy_runtime::Result<Vec<SourceSplit>> {
        Ok(vec![SourceSplit {
            id: "values".into(),
            state: serde_json::json!({ "next": 0 }),
        }])
    }

    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        _info: &SubtaskInfo,
    ) -> eddy_runtime::Result<Box<dyn SourceReader>> {
        // Without a split (another subtask has it) there is nothing to emit.
        let next = match splits.first() {
            None => self.batches.len(),
            Some(split) => split.state["next"].as_u64().ok_or_else(|| {
                RuntimeError::Internal(format!(
                    "a values split without a position: {}",
                    split.state
                ))
            })? as usize,
        };
        Ok(Box::new(ValuesReader {
            batches: self.batches.clone(),
            next,
        }))
    }
}

struct ValuesReader {
    batches: Vec<RecordBatch>,
    next: usize,
}

impl SourceReader for ValuesReader {
    fn poll_next(&mut self) -> eddy_runtime::Result<ReaderPoll> {
        match self.batches.get(self.next) {
            Some(batch) => {
                self.next += 1;
                Ok(ReaderPoll::Batch(batch.clone()))
            }
            None => Ok(ReaderPoll::Finished),
        }
    }

    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> eddy_runtime::Result<Vec<SourceSplit>> {
        Ok(match self.next < self.batches.len() {
            true => vec![SourceSplit {
                id: "values".into(),
                state: serde_json::json!({ "next": self.next }),
            }],
            false => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::testing::subtask;

    #[test]
    fn emits_its_rows_once_and_resumes_from_a_checkpoint() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])
                .unwrap();
        let spec = ConnectorSpec {
            table: "values".into(),
            schema: eddy_runtime::jobgraph::SerializedSchema::encode(&schema).unwrap(),
            options: [
                ("connector".to_string(), "values".to_string()),
                (VALUES_ROWS.key.to_string(), encode_rows(&batch).unwrap()),
            ]
            .into(),
            primary_key: Vec::new(),
            partition_keys: Vec::new(),
            partition_filter: None,
            read_columns: None,
        };
        let source = ValuesTableFactory.create_source(&spec).unwrap();
        let splits = source.enumerate_splits(2).unwrap();
        let mut reader = source
            .create_reader(splits.clone(), &subtask(0, 2, 1))
            .unwrap();
        assert!(matches!(reader.poll_next().unwrap(), ReaderPoll::Batch(b) if b == batch));
        assert!(
            reader.snapshot_splits(1).unwrap().is_empty(),
            "emitted: nothing left"
        );
        assert!(matches!(reader.poll_next().unwrap(), ReaderPoll::Finished));
        // Restored before the rows went out, they go out.
        let mut reader = source.create_reader(splits, &subtask(0, 2, 1)).unwrap();
        assert!(matches!(reader.poll_next().unwrap(), ReaderPoll::Batch(_)));
        let mut idle = source.create_reader(Vec::new(), &subtask(1, 2, 1)).unwrap();
        assert!(matches!(idle.poll_next().unwrap(), ReaderPoll::Finished));
    }

    #[test]
    fn cannot_back_a_table() {
        let schema = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let options = [("connector".to_string(), "values".to_string())].into();
        assert!(crate::ConnectorRegistry::new()
            .validate_table("t", &schema, &options, &[])
            .is_err());
    }
}
