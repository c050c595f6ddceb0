//! The window table-valued functions TUMBLE, HOP and CUMULATE: each row is repeated once
//! per window holding its time attribute, with `window_start`, `window_end` and
//! `window_time` (= `window_end` - 1 ms) appended. In front of a window aggregation that
//! keeps HOP or CUMULATE windows as slices, each row gets its one slice instead.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, TimestampMillisecondArray, UInt32Array};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

use super::{assign, is_fired, last_window_end, slice_of};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::{WindowKind, WindowTvfSpec};
use crate::metrics::TaskMetrics;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::time::{millis, Watermark};

/// Flink's `WindowTableFunctionOperator`.
pub struct WindowTvfOperator {
    output_schema: SchemaRef,
    time_column: usize,
    kind: WindowKind,
    drop_late: bool,
    slices: bool,
    watermark: Watermark,
    metrics: Arc<TaskMetrics>,
}

impl WindowTvfOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &WindowTvfSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        Ok(Self {
            output_schema: spec.output_schema.decode()?,
            time_column: spec.time_column,
            kind: spec.kind,
            drop_late: spec.drop_late,
            slices: spec.slices,
            watermark: Watermark::MIN,
            metrics: ctx.info.metrics.clone(),
        })
    }

    fn timestamps(&self, values: Vec<i64>, field: usize) -> Result<ArrayRef> {
        let array: ArrayRef = Arc::new(TimestampMillisecondArray::from(values));
        let target = self.output_schema.field(field).data_type();
        Ok(if array.data_type() == target {
            array
        } else {
            cast(&array, target)?
        })
    }
}

impl StreamOperator for WindowTvfOperator {
    fn name(&self) -> String {
        match self.slices {
            true => format!("WindowTableFunction({}, slices)", self.kind),
            false => format!("WindowTableFunction({})", self.kind),
        }
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let time = cast(
            batch.column(self.time_column),
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let time = millis(&time)?;
        let rows = batch.num_rows();
        let (mut indices, mut starts, mut ends) = (
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
        );
        let watermark = if self.drop_late {
            self.watermark.0
        } else {
            i64::MIN
        };
        let mut late = 0u64;
        for row in 0..batch.num_rows() {
            // A row without a time has no window (Flink rejects it; Eddy leaves it out).
            if time.is_null(row) {
                continue;
            }
            let ts = time.value(row);
            if self.slices {
                if let Some((s, e)) = slice_of(&self.kind, ts) {
                    // A slice counts while any window holding it is still open.
                    if is_fired(last_window_end(&self.kind, s), watermark) {
                        late += 1;
                    } else {
                        indices.push(row as u32);
                        starts.push(s);
                        ends.push(e);
                    }
                    continue;
                }
            }
            let mut kept = false;
            assign(&self.kind, ts, |s, e| {
                if !is_fired(e, watermark) {
                    indices.push(row as u32);
                    starts.push(s);
                    ends.push(e);
                    kept = true;
                }
            });
            if !kept {
                late += 1;
            }
        }
        if late > 0 {
            TaskMetrics::add(&self.metrics.num_late_records_dropped, late);
        }
        if indices.is_empty() {
            return Ok(());
        }
        let taken = take_record_batch(&batch, &UInt32Array::from(indices))?;
        let n = batch.num_columns();
        let times: Vec<i64> = ends.iter().map(|e| e - 1).collect();
        let mut columns = taken.columns().to_vec();
        columns.push(self.timestamps(starts, n)?);
        columns.push(self.timestamps(ends, n + 1)?);
        columns.push(self.timestamps(times, n + 2)?);
        let output = RecordBatch::try_new(self.output_schema.clone(), columns)
            .map_err(|e| RuntimeError::Internal(format!("window TVF output: {e}")))?;
        out.collect(output);
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.watermark = self.watermark.max(watermark);
        out.emit_watermark(watermark);
        Ok(())
    }
}
