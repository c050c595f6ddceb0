//! Mini-batches for the regular join (Flink's `MiniBatchStreamingJoinOperator`, with
//! `table.exec.mini-batch.*` on, for inner and outer joins): both inputs are gathered into
//! one mini-batch, each side's changes are folded as Flink's `InputSideHasNoUniqueKeyBundle`
//! folds them (a row added and the same row taken out cancel, whichever came first), and
//! then the sides are joined one after the other: the right side first, so that a left
//! row finds its matches and is not sent padded with nulls only to be retracted; the left
//! side first for a right join, for the same reason.

use std::collections::HashMap;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::record_batch::RecordBatch;

use super::{Emits, StreamJoinOperator};
use crate::changelog::{data_columns, ops};
use crate::error::Result;
use crate::operators::Collector;
use crate::stream_element::RowKind;

impl StreamJoinOperator {
    /// Joins what the mini-batch holds.
    pub(super) fn flush_mini_batch(&mut self, out: &mut Collector) -> Result<()> {
        let Some(mini_batch) = self.mini_batch.as_mut() else {
            return Ok(());
        };
        let mut sides = mini_batch.take()?;
        let order = match self.emits {
            Emits::Pairs {
                outer: [false, true],
            } => [0, 1],
            _ => [1, 0],
        };
        for side in order {
            if let Some(batch) = sides[side].take() {
                let folded = self.fold(side, &batch)?;
                if folded.num_rows() > 0 {
                    self.join_batch(side, folded, out)?;
                }
            }
        }
        Ok(())
    }

    /// The changes of `batch` (input `side`) without the pairs that cancel: a row added
    /// (`+I`, `+U`) and an equal row taken out (`-U`, `-D`), in either order, the later
    /// one cancelling the latest earlier one of the other kind.
    fn fold(&self, side: usize, batch: &RecordBatch) -> Result<RecordBatch> {
        let Some(kinds) = ops(batch) else {
            return Ok(batch.clone());
        };
        let rows = self.sides[side].rows.convert_columns(data_columns(batch))?;
        let mut keep = vec![true; batch.num_rows()];
        let mut waiting: HashMap<&[u8], Vec<(usize, bool)>> = HashMap::new();
        for i in 0..batch.num_rows() {
            let adds = matches!(
                super::row_kind(Some(kinds), i)?,
                RowKind::Insert | RowKind::UpdateAfter
            );
            // A row's waiting changes are all of one kind: one of the other kind cancels
            // on arrival, so the latest earlier one is the last.
            let same = waiting.entry(rows.row(i).data()).or_default();
            match same.last() {
                Some(&(earlier, a)) if a != adds => {
                    same.pop();
                    keep[earlier] = false;
                    keep[i] = false;
                }
                _ => same.push((i, adds)),
            }
        }
        if keep.iter().all(|&k| k) {
            return Ok(batch.clone());
        }
        let kept: UInt32Array = keep
            .iter()
            .enumerate()
            .filter_map(|(i, &k)| k.then_some(i as u32))
            .collect();
        Ok(take_record_batch(batch, &kept)?)
    }
}
