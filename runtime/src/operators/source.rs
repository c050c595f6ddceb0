//! Drives a connector's reader at the head of a chain: where a subtask's records, and at
//! the end of bounded input its final watermark, come from.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use crate::connector::{ReaderPoll, SourceReader, SourceSplit, SubtaskInfo};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::SourceSpec;
use crate::operators::OperatorContext;

/// A source reader plus the projection the planner pushed into the scan.
pub struct SourceDriver {
    reader: Box<dyn SourceReader>,
    projection: Option<Vec<usize>>,
    projected_schema: Option<SchemaRef>,
    table: String,
}

impl SourceDriver {
    /// Creates the reader for the splits assigned to this subtask.
    pub fn try_new(
        spec: &SourceSpec,
        splits: Vec<SourceSplit>,
        ctx: &OperatorContext<'_>,
    ) -> Result<Self> {
        let source = ctx.resolver.create_source(&spec.connector)?;
        let reader = source.create_reader(splits, ctx.info)?;
        let schema = spec.connector.schema.decode()?;
        let projected_schema = match &spec.projection {
            Some(p) => Some(Arc::new(schema.project(p)?)),
            None => None,
        };
        Ok(Self {
            reader,
            projection: spec.projection.clone(),
            projected_schema,
            table: spec.connector.table.clone(),
        })
    }

    /// The table read, for logs.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Polls the reader, applying the projection to any batch it returns.
    pub fn poll(&mut self, _info: &SubtaskInfo) -> Result<ReaderPoll> {
        match self.reader.poll_next()? {
            ReaderPoll::Batch(batch) => Ok(ReaderPoll::Batch(self.project(batch)?)),
            other => Ok(other),
        }
    }

    fn project(&self, batch: RecordBatch) -> Result<RecordBatch> {
        match (&self.projection, &self.projected_schema) {
            (Some(p), Some(schema)) => {
                let columns = p.iter().map(|&i| batch.column(i).clone()).collect();
                RecordBatch::try_new_with_options(
                    schema.clone(),
                    columns,
                    &datafusion::arrow::record_batch::RecordBatchOptions::new()
                        .with_row_count(Some(batch.num_rows())),
                )
                .map_err(RuntimeError::from)
            }
            _ => Ok(batch),
        }
    }
}
