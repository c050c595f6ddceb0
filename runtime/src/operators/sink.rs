//! The operator at the end of a chain that hands batches to a connector's writer.

use datafusion::arrow::record_batch::RecordBatch;

use super::{Collector, OperatorContext, StreamOperator};
use crate::connector::SinkWriter;
use crate::error::Result;
use crate::jobgraph::SinkSpec;

/// Writes every batch it receives; emits nothing.
pub struct SinkOperator {
    table: String,
    writer: Box<dyn SinkWriter>,
    /// Rows handed to the writer count as the subtask's output (Flink counts a sink's
    /// written records as `numRecordsOut` too).
    metrics: std::sync::Arc<crate::metrics::TaskMetrics>,
}

impl SinkOperator {
    /// Creates the connector's writer for this subtask.
    pub fn try_new(spec: &SinkSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let sink = ctx.resolver.create_sink(&spec.connector)?;
        Ok(Self {
            table: spec.connector.table.clone(),
            writer: sink.create_writer(ctx.info)?,
            metrics: ctx.info.metrics.clone(),
        })
    }
}

impl StreamOperator for SinkOperator {
    fn name(&self) -> String {
        format!("Sink({})", self.table)
    }

    fn process_batch(&mut self, batch: RecordBatch, _out: &mut Collector) -> Result<()> {
        self.writer.write(&batch)?;
        crate::metrics::TaskMetrics::add(&self.metrics.num_records_out, batch.num_rows() as u64);
        Ok(())
    }

    fn process_watermark(&mut self, _: crate::Watermark, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, _out: &mut Collector) -> Result<()> {
        self.writer.finish()
    }

    fn abort(&mut self) {
        self.writer.abort();
    }
}
