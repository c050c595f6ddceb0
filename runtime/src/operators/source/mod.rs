//! Drives a connector's reader at the head of a chain: where a subtask's records and its
//! watermarks come from. Each batch read gets the table's computed columns, then the
//! watermark generator sees it, then the planner's projection applies.

mod watermarks;

use std::sync::Arc;

use datafusion::arrow::array::RecordBatchOptions;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

pub use watermarks::WatermarkGenerator;

use crate::connector::{ReaderPoll, SourceReader, SourceSplit};
use crate::error::{Result, RuntimeError};
use crate::expr_codec::decode_expr;
use crate::jobgraph::SourceSpec;
use crate::operators::OperatorContext;
use crate::stream_element::StreamElement;

/// What a poll of the driver produced.
#[derive(Debug)]
pub enum SourcePoll {
    /// Elements were pushed to the output.
    Data,
    /// Nothing now; poll again after at most this long.
    Pending(std::time::Duration),
    /// Every split is exhausted.
    Finished,
}

/// A source reader plus the table's computed columns, watermark and projection.
pub struct SourceDriver {
    reader: Box<dyn SourceReader>,
    computed: Vec<Arc<dyn PhysicalExpr>>,
    table_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    projected_schema: SchemaRef,
    watermarks: Option<WatermarkGenerator>,
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
        let physical = spec.connector.schema.decode()?;
        let table_schema = match &spec.table_schema {
            Some(s) => s.decode()?,
            None => physical.clone(),
        };
        let computed = spec
            .computed
            .iter()
            .map(|e| decode_expr(e, &physical, &ctx.functions))
            .collect::<Result<Vec<_>>>()?;
        let projected_schema = match &spec.projection {
            Some(p) => Arc::new(table_schema.project(p)?),
            None => table_schema.clone(),
        };
        let watermarks = match &spec.watermark {
            Some(w) => {
                let mut generator = WatermarkGenerator::new(
                    decode_expr(&w.expr, &table_schema, &ctx.functions)?,
                    w.rowtime,
                    ctx.watermark_interval.is_zero(),
                    reader.interleaves_splits(),
                )
                .with_idle_timeout(
                    ctx.config
                        .get_duration(&crate::config::table::SOURCE_IDLE_TIMEOUT),
                );
                generator.declare_splits(reader.declared_splits());
                Some(generator)
            }
            None => None,
        };
        Ok(Self {
            reader,
            computed,
            table_schema,
            projection: spec.projection.clone(),
            projected_schema,
            watermarks,
            table: spec.connector.table.clone(),
        })
    }

    /// The table read, for logs.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Polls the reader; batches and the watermarks they imply go to `out`.
    pub fn poll(&mut self, out: &mut Vec<StreamElement>) -> Result<SourcePoll> {
        let polled = self.reader.poll_next()?;
        let result = self.take(polled, out);
        // After the batch: a split that ended with it would otherwise count again. The
        // next periodic watermark leaves ended splits out.
        if let Some(w) = &mut self.watermarks {
            for finished in self.reader.take_finished_splits() {
                w.finish_split(finished);
            }
        }
        result
    }

    fn take(&mut self, polled: ReaderPoll, out: &mut Vec<StreamElement>) -> Result<SourcePoll> {
        match polled {
            ReaderPoll::Batch(batch) => {
                let full = self.complete(batch)?;
                let split = self.reader.current_split();
                match &mut self.watermarks {
                    Some(w) => {
                        let mut segments = Vec::new();
                        w.on_batch(&full, split, &mut segments)?;
                        for segment in segments {
                            match segment {
                                StreamElement::Batch(b) => {
                                    out.push(StreamElement::Batch(self.project(b)?))
                                }
                                other => out.push(other),
                            }
                        }
                    }
                    None => out.push(StreamElement::Batch(self.project(full)?)),
                }
                Ok(SourcePoll::Data)
            }
            ReaderPoll::Pending(wait) => Ok(SourcePoll::Pending(wait)),
            ReaderPoll::Finished => Ok(SourcePoll::Finished),
        }
    }

    /// Where the reader is, for checkpoint `checkpoint_id`.
    pub fn snapshot_splits(&mut self, checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        self.reader
            .snapshot_splits(checkpoint_id)
            .map_err(|e| match e {
                RuntimeError::User(m) => RuntimeError::User(format!("table '{}': {m}", self.table)),
                other => other,
            })
    }

    /// Checkpoint `checkpoint_id` completed.
    pub fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        self.reader.notify_checkpoint_complete(checkpoint_id)
    }

    /// The watermark emitted so far, when the table has one.
    pub fn current_watermark(&self) -> Option<i64> {
        self.watermarks.as_ref().map(|w| w.current())
    }

    /// Restores the watermark a checkpoint recorded.
    pub fn restore_watermark(&mut self, watermark: i64) {
        if let Some(w) = &mut self.watermarks {
            w.restore(watermark);
        }
    }

    /// The periodic watermark (`pipeline.auto-watermark-interval`), if it advanced.
    pub fn periodic_watermark(&mut self, out: &mut Vec<StreamElement>) {
        if let Some(w) = &mut self.watermarks {
            w.periodic(out);
        }
    }

    /// The table's columns of a batch read; a changelog's row kinds stay last.
    fn complete(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let Some((data, ops)) = split_ops(&batch)? else {
            return append_computed(batch, &self.computed, &self.table_schema);
        };
        let full = append_computed(data, &self.computed, &self.table_schema)?;
        with_ops(full, ops)
    }

    fn project(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let Some(p) = &self.projection else {
            return Ok(batch);
        };
        let (data, ops) = match split_ops(&batch)? {
            Some((data, ops)) => (data, Some(ops)),
            None => (batch, None),
        };
        let columns = p.iter().map(|&i| data.column(i).clone()).collect();
        let projected = RecordBatch::try_new_with_options(
            self.projected_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(data.num_rows())),
        )
        .map_err(RuntimeError::from)?;
        match ops {
            Some(ops) => with_ops(projected, ops),
            None => Ok(projected),
        }
    }
}

/// A changelog batch's data columns and its row kinds.
fn split_ops(
    batch: &RecordBatch,
) -> Result<Option<(RecordBatch, datafusion::arrow::array::ArrayRef)>> {
    if !crate::changelog::is_changelog(batch) {
        return Ok(None);
    }
    let last = batch.num_columns() - 1;
    let data = batch.project(&(0..last).collect::<Vec<_>>())?;
    Ok(Some((data, batch.column(last).clone())))
}

/// `batch` with row kinds `ops` appended.
fn with_ops(batch: RecordBatch, ops: datafusion::arrow::array::ArrayRef) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    columns.push(ops);
    RecordBatch::try_new_with_options(
        crate::changelog::with_op_field(&batch.schema()),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(RuntimeError::from)
}

/// Appends a table's computed columns to a batch of its physical columns, casting each to
/// the column's declared type.
pub fn append_computed(
    batch: RecordBatch,
    computed: &[Arc<dyn PhysicalExpr>],
    table_schema: &SchemaRef,
) -> Result<RecordBatch> {
    if computed.is_empty() {
        return Ok(batch);
    }
    let mut columns = batch.columns().to_vec();
    for (i, expr) in computed.iter().enumerate() {
        let field = table_schema.field(batch.num_columns() + i);
        let mut value = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        if value.data_type() != field.data_type() {
            value = cast(&value, field.data_type())?;
        }
        columns.push(value);
    }
    RecordBatch::try_new_with_options(
        table_schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(RuntimeError::from)
}
