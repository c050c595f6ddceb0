//! The window table-valued functions TUMBLE, HOP and CUMULATE: each row is repeated once
//! per window holding its time attribute, with `window_start`, `window_end` and
//! `window_time` (= `window_end` - 1 ms) appended.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, TimestampMillisecondArray, UInt32Array};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

use super::windows::assign;
use super::{Collector, StreamOperator};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::{WindowKind, WindowTvfSpec};
use crate::time::millis;

/// Flink's `WindowTableFunctionOperator`.
pub struct WindowTvfOperator {
    output_schema: SchemaRef,
    time_column: usize,
    kind: WindowKind,
    indices: Vec<u32>,
    starts: Vec<i64>,
    ends: Vec<i64>,
}

impl WindowTvfOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &WindowTvfSpec) -> Result<Self> {
        Ok(Self {
            output_schema: spec.output_schema.decode()?,
            time_column: spec.time_column,
            kind: spec.kind,
            indices: Vec::new(),
            starts: Vec::new(),
            ends: Vec::new(),
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
        format!("WindowTableFunction({})", self.kind)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let time = cast(
            batch.column(self.time_column),
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let time = millis(&time)?;
        self.indices.clear();
        self.starts.clear();
        self.ends.clear();
        for row in 0..batch.num_rows() {
            // A row without a time has no window (Flink rejects it; Eddy leaves it out).
            if time.is_null(row) {
                continue;
            }
            let (indices, starts, ends) = (&mut self.indices, &mut self.starts, &mut self.ends);
            assign(&self.kind, time.value(row), |s, e| {
                indices.push(row as u32);
                starts.push(s);
                ends.push(e);
            });
        }
        if self.indices.is_empty() {
            return Ok(());
        }
        let rows = take_record_batch(&batch, &UInt32Array::from(self.indices.clone()))?;
        let n = batch.num_columns();
        let times: Vec<i64> = self.ends.iter().map(|e| e - 1).collect();
        let mut columns = rows.columns().to_vec();
        columns.push(self.timestamps(self.starts.clone(), n)?);
        columns.push(self.timestamps(self.ends.clone(), n + 1)?);
        columns.push(self.timestamps(times, n + 2)?);
        let output = RecordBatch::try_new(self.output_schema.clone(), columns)
            .map_err(|e| RuntimeError::Internal(format!("window TVF output: {e}")))?;
        out.collect(output);
        Ok(())
    }
}
