//! Watermark generation at the source, as Flink SQL's watermark assigner does it: per
//! split, the largest value of the `WATERMARK FOR` expression seen so far; the subtask's
//! watermark is the minimum over its live splits. Periodically (every
//! `pipeline.auto-watermark-interval`) or, with an interval of 0, after every row.
//! A split without data for `table.exec.source.idle-timeout` stops holding the watermark
//! back until it has data again (Flink's `withIdleness`, per split).

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::{cast, max};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::physical_expr::PhysicalExpr;

use crate::error::Result;
use crate::stream_element::StreamElement;
use crate::time::{millis, Watermark};

/// One source subtask's watermark generator.
pub struct WatermarkGenerator {
    expr: Arc<dyn PhysicalExpr>,
    rowtime: usize,
    per_row: bool,
    interleaving: bool,
    /// Largest expression value seen per split, by split index.
    splits: Vec<SplitWatermark>,
    emitted: Watermark,
    /// Zero: splits never go idle.
    idle_timeout: Duration,
}

/// One split's part in the watermark.
struct SplitWatermark {
    split: usize,
    max: i64,
    last_data: Instant,
    idle: bool,
}

impl WatermarkGenerator {
    /// A generator evaluating `expr` over the table's rows, whose rowtime column is
    /// `rowtime`. `per_row` is the interval-0 mode.
    pub fn new(
        expr: Arc<dyn PhysicalExpr>,
        rowtime: usize,
        per_row: bool,
        interleaving: bool,
    ) -> Self {
        Self {
            expr,
            rowtime,
            per_row,
            interleaving,
            splits: Vec::new(),
            emitted: Watermark::MIN,
            idle_timeout: Duration::ZERO,
        }
    }

    /// Splits without data for `timeout` (when not zero) stop holding the watermark back.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Splits `0..n` hold the watermark back from the start, before their first row.
    pub fn declare_splits(&mut self, n: usize) {
        for split in 0..n {
            self.split_slot(split);
        }
    }

    /// A split ended: it no longer holds the watermark back.
    pub fn finish_split(&mut self, split: usize) {
        self.splits.retain(|s| s.split != split);
    }

    /// The last watermark emitted, for a checkpoint.
    pub fn current(&self) -> i64 {
        self.emitted.0
    }

    /// Restores the watermark a checkpoint recorded: it is not emitted again, and rows
    /// replayed after the restore do not move it back.
    pub fn restore(&mut self, watermark: i64) {
        self.emitted = self.emitted.max(Watermark(watermark));
    }

    fn combined(&self) -> Option<i64> {
        self.splits.iter().filter(|s| !s.idle).map(|s| s.max).min()
    }

    fn split_slot(&mut self, split: usize) -> usize {
        if !self.interleaving {
            // A sequential reader has finished every split before this one.
            self.splits.retain(|s| s.split == split);
        }
        match self.splits.iter().position(|s| s.split == split) {
            Some(i) => i,
            None => {
                self.splits.push(SplitWatermark {
                    split,
                    max: i64::MIN,
                    last_data: Instant::now(),
                    idle: false,
                });
                self.splits.len() - 1
            }
        }
    }

    fn watermark_values(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        let values = self.expr.evaluate(batch)?.into_array(batch.num_rows())?;
        Ok(match values.data_type() {
            DataType::Timestamp(TimeUnit::Millisecond, None) => values,
            _ => cast(&values, &DataType::Timestamp(TimeUnit::Millisecond, None))?,
        })
    }

    /// Takes a batch read from `split`; pushes it to `out`, cut where a watermark must
    /// come between its rows.
    pub fn on_batch(
        &mut self,
        batch: &RecordBatch,
        split: usize,
        out: &mut Vec<StreamElement>,
    ) -> Result<()> {
        let slot = self.split_slot(split);
        self.splits[slot].last_data = Instant::now();
        self.splits[slot].idle = false;
        let values = self.watermark_values(batch)?;
        let values = millis(&values)?;
        if !self.per_row {
            if let Some(m) = max(values) {
                self.splits[slot].max = self.splits[slot].max.max(m);
            }
            out.push(StreamElement::Batch(batch.clone()));
            return Ok(());
        }
        let rowtime_column = cast(
            batch.column(self.rowtime),
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let rowtime = millis(&rowtime_column)?;
        let single = self.splits.len() == 1;
        let mut pending = self.emitted.0;
        let mut start = 0;
        for i in 0..batch.num_rows() {
            // A row at or below the watermark its predecessors imply would be late had the
            // watermark followed each row, so it is emitted before this row.
            if pending > self.emitted.0 && rowtime.is_valid(i) && rowtime.value(i) <= pending {
                if i > start {
                    out.push(StreamElement::Batch(batch.slice(start, i - start)));
                }
                self.emitted = Watermark(pending);
                out.push(StreamElement::Watermark(self.emitted));
                start = i;
            }
            if values.is_valid(i) && values.value(i) > self.splits[slot].max {
                self.splits[slot].max = values.value(i);
                pending = if single {
                    self.splits[slot].max
                } else {
                    self.combined().unwrap_or(i64::MIN)
                };
            }
        }
        if start < batch.num_rows() {
            out.push(StreamElement::Batch(
                batch.slice(start, batch.num_rows() - start),
            ));
        }
        if pending > self.emitted.0 {
            self.emitted = Watermark(pending);
            out.push(StreamElement::Watermark(self.emitted));
        }
        Ok(())
    }

    /// Pushes the current watermark if it advanced since the last one.
    pub fn periodic(&mut self, out: &mut Vec<StreamElement>) {
        if !self.idle_timeout.is_zero() {
            for s in &mut self.splits {
                s.idle |= s.last_data.elapsed() >= self.idle_timeout;
            }
        }
        if let Some(c) = self.combined() {
            if c > self.emitted.0 {
                self.emitted = Watermark(c);
                out.push(StreamElement::Watermark(self.emitted));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::TimestampMillisecondArray;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};

    fn batch(ts: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        )]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(TimestampMillisecondArray::from(ts.to_vec()))],
        )
        .unwrap()
    }

    /// `ts - INTERVAL '1' SECOND`.
    fn generator(per_row: bool) -> WatermarkGenerator {
        let b = batch(&[0]);
        let schema = b.schema();
        let expr = binary(
            col("ts", &schema).unwrap(),
            Operator::Minus,
            lit(ScalarValue::IntervalDayTime(Some(
                datafusion::arrow::datatypes::IntervalDayTime::new(0, 1000),
            ))),
            &schema,
        )
        .unwrap();
        WatermarkGenerator::new(expr, 0, per_row, false)
    }

    fn shape(out: &[StreamElement]) -> Vec<String> {
        out.iter()
            .map(|e| match e {
                StreamElement::Batch(b) => format!("rows{}", b.num_rows()),
                StreamElement::Watermark(w) => format!("wm{}", w.0),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn per_row_mode_cuts_before_rows_the_watermark_overtook() {
        let mut g = generator(true);
        let mut out = Vec::new();
        // max - 1 s: after 5000 the watermark is 4000, so 3000 must follow it.
        g.on_batch(&batch(&[1000, 5000, 4500, 3000, 6000]), 0, &mut out)
            .unwrap();
        assert_eq!(shape(&out), vec!["rows3", "wm4000", "rows2", "wm5000"]);
    }

    #[test]
    fn periodic_mode_emits_only_when_asked_and_advanced() {
        let mut g = generator(false);
        let mut out = Vec::new();
        g.on_batch(&batch(&[1000, 5000, 3000]), 0, &mut out)
            .unwrap();
        assert_eq!(shape(&out), vec!["rows3"]);
        out.clear();
        g.periodic(&mut out);
        g.periodic(&mut out);
        assert_eq!(shape(&out), vec!["wm4000"]);
    }

    #[test]
    fn interleaved_splits_hold_the_watermark_at_their_minimum() {
        let mut g = generator(false);
        g.interleaving = true;
        let mut out = Vec::new();
        g.on_batch(&batch(&[9000]), 0, &mut out).unwrap();
        g.on_batch(&batch(&[3000]), 1, &mut out).unwrap();
        out.clear();
        g.periodic(&mut out);
        assert_eq!(shape(&out), vec!["wm2000"]);
    }

    #[test]
    fn declared_splits_hold_back_until_they_have_data_or_go_idle() {
        let mut g = generator(false);
        g.interleaving = true;
        g.declare_splits(2);
        let mut out = Vec::new();
        g.on_batch(&batch(&[9000]), 0, &mut out).unwrap();
        out.clear();
        g.periodic(&mut out);
        assert!(shape(&out).is_empty(), "split 1 has no data yet");
        g.idle_timeout = Duration::from_millis(1);
        std::thread::sleep(Duration::from_millis(5));
        // Both splits went idle: nothing moves the watermark.
        g.periodic(&mut out);
        assert!(shape(&out).is_empty());
        // Split 0 has data again and alone decides; split 1 stays idle.
        g.on_batch(&batch(&[9500]), 0, &mut out).unwrap();
        out.clear();
        g.periodic(&mut out);
        assert_eq!(shape(&out), vec!["wm8500"]);
        // A finished split no longer holds back.
        let mut h = generator(false);
        h.interleaving = true;
        h.declare_splits(2);
        h.on_batch(&batch(&[4000]), 0, &mut out).unwrap();
        h.finish_split(1);
        out.clear();
        h.periodic(&mut out);
        assert_eq!(shape(&out), vec!["wm3000"]);
    }
}
