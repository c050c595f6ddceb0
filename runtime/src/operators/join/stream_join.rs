//! Regular join of two streams (Flink's `StreamingJoinOperator`), inner, over insert-only
//! inputs: each side's rows stay in keyed state under their join key (chunks of rows,
//! `state/rows.rs`), and an arriving batch is joined, key by key, with the other side's rows
//! of the same keys, then stored for the other side's later rows. Rows with a NULL key
//! never match and are not kept. The output is insert-only. State grows with the inputs
//! (there is no state TTL yet).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::expr_codec::decode_expr;
use crate::jobgraph::StreamJoinSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::rows::{chunk_seq, RowsCodec};
use crate::state::snapshot::{restore_into, snapshot_backend};
use crate::state::KeyedStateBackend;
use crate::time::Watermark;

/// The states each side's rows are kept under.
const SIDE_STATES: [&str; 2] = ["join-left-rows-by-key", "join-right-rows-by-key"];

struct Side {
    keys: Vec<usize>,
    codec: RowsCodec,
}

/// Flink's `StreamingJoinOperator` for inner joins.
pub struct StreamJoinOperator {
    sides: [Side; 2],
    /// Join keys in Arrow's row format: the namespace rows are kept under.
    keys: RowConverter,
    joined_schema: SchemaRef,
    output_schema: SchemaRef,
    filter: Option<Arc<dyn PhysicalExpr>>,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    seq: u64,
    description: String,
}

impl StreamJoinOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &StreamJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let joined_schema = Arc::new(Schema::new(
            left.fields()
                .iter()
                .chain(right.fields().iter())
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let filter = spec
            .filter
            .as_ref()
            .map(|f| decode_expr(f, &joined_schema, &ctx.functions))
            .transpose()?;
        let keys = RowConverter::new(
            spec.left_keys
                .iter()
                .map(|&i| SortField::new(left.field(i).data_type().clone()))
                .collect(),
        )?;
        let backend = ctx.keyed_state_backend()?;
        Ok(Self {
            sides: [
                Side {
                    codec: RowsCodec::new(left.clone())?,
                    keys: spec.left_keys.clone(),
                },
                Side {
                    codec: RowsCodec::new(right.clone())?,
                    keys: spec.right_keys.clone(),
                },
            ],
            keys,
            joined_schema,
            output_schema: spec.output_schema.decode()?,
            filter,
            backend,
            max_parallelism: ctx.max_parallelism,
            seq: 0,
            description: spec.description.clone(),
        })
    }

    /// Pairs `rows` of side `side` with `others` of the other side, every row with every
    /// other, left columns first, then the extra condition.
    fn pairs(&self, side: usize, rows: &RecordBatch, others: &RecordBatch) -> Result<RecordBatch> {
        let (n, m) = (rows.num_rows() as u32, others.num_rows() as u32);
        let mine: UInt32Array = (0..n)
            .flat_map(|i| std::iter::repeat_n(i, m as usize))
            .collect();
        let theirs: UInt32Array = (0..n).flat_map(|_| 0..m).collect();
        let mine = take_record_batch(rows, &mine)?;
        let theirs = take_record_batch(others, &theirs)?;
        let (left, right) = match side {
            0 => (mine, theirs),
            _ => (theirs, mine),
        };
        let columns: Vec<ArrayRef> = left
            .columns()
            .iter()
            .chain(right.columns())
            .cloned()
            .collect();
        let joined = RecordBatch::try_new(self.joined_schema.clone(), columns)?;
        match &self.filter {
            None => Ok(joined),
            Some(f) => {
                let mask = f.evaluate(&joined)?.into_array(joined.num_rows())?;
                let mask = mask.as_boolean_opt().ok_or_else(|| {
                    RuntimeError::Internal("the join condition is not boolean".into())
                })?;
                Ok(filter_record_batch(&joined, mask)?)
            }
        }
    }
}

impl StreamOperator for StreamJoinOperator {
    fn name(&self) -> String {
        format!("Join({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_batch_from(0, batch, out)
    }

    fn process_batch_from(
        &mut self,
        input: usize,
        batch: RecordBatch,
        out: &mut Collector,
    ) -> Result<()> {
        let side = input.min(1);
        let key_columns: Vec<ArrayRef> = self.sides[side]
            .keys
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let key_rows = self.keys.convert_columns(&key_columns)?;
        let groups = key_groups(&key_columns, self.max_parallelism)?;
        // Rows by key, in arrival order; a NULL key never matches.
        let mut by_key: HashMap<&[u8], Vec<u32>> = HashMap::new();
        for row in 0..batch.num_rows() {
            if key_columns.iter().any(|k| k.is_null(row)) {
                continue;
            }
            by_key
                .entry(key_rows.row(row).data())
                .or_default()
                .push(row as u32);
        }
        let mut joined = Vec::new();
        for (key, rows) in by_key {
            let group = groups[rows[0] as usize];
            let rows = take_record_batch(&batch, &UInt32Array::from(rows))?;
            let mut others = self
                .backend
                .get_namespace_in(SIDE_STATES[1 - side], group, key)?;
            if !others.is_empty() {
                others.sort_by_key(|(k, _)| chunk_seq(k));
                let values: Vec<Vec<u8>> = others.into_iter().map(|(_, v)| v).collect();
                let others = self.sides[1 - side].codec.decode(&values)?;
                let pairs = self.pairs(side, &rows, &others)?;
                if pairs.num_rows() > 0 {
                    joined.push(pairs);
                }
            }
            self.sides[side].codec.put_in_group(
                self.backend.as_mut(),
                SIDE_STATES[side],
                key,
                &rows,
                group,
                &mut self.seq,
            )?;
        }
        if !joined.is_empty() {
            let all = concat_batches(&self.joined_schema, &joined)?;
            out.collect(RecordBatch::try_new(
                self.output_schema.clone(),
                all.columns().to_vec(),
            )?);
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        out.emit_watermark(watermark);
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        let (keyed, native) = snapshot_backend(self.backend.as_mut(), barrier)?;
        Ok(OperatorSnapshot {
            keyed,
            operator: Vec::new(),
            native,
        })
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        let seq = &mut self.seq;
        restore_into(
            &restored,
            self.backend.as_mut(),
            &SIDE_STATES,
            &format!("the join {}", self.description),
            &mut |key, _| {
                *seq = (*seq).max(chunk_seq(key));
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{build, feed, int_schema, ints, snapshot};

    fn operator(subtask_of: (u32, u32)) -> StreamJoinOperator {
        let spec = StreamJoinSpec {
            left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
            right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
            output_schema: SerializedSchema::encode(&int_schema(&["k", "a", "k2", "b"])).unwrap(),
            left_keys: vec![0],
            right_keys: vec![0],
            filter: None,
            description: "test".into(),
        };
        build(subtask_of.1, subtask_of.0, &Configuration::new(), |ctx| {
            StreamJoinOperator::try_new(&spec, ctx)
        })
    }

    fn rows(out: &[RecordBatch]) -> Vec<Vec<Option<i64>>> {
        let mut rows = Vec::new();
        for b in out {
            for r in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        .map(|c| {
                            let c = c.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                            (!c.is_null(r)).then(|| c.value(r))
                        })
                        .collect(),
                );
            }
        }
        rows.sort();
        rows
    }

    #[test]
    fn each_pair_is_emitted_once_when_its_later_row_arrives() {
        let mut op = operator((0, 1));
        assert!(feed(
            &mut op,
            0,
            ints(&["k", "a"], &[&[Some(1), None], &[Some(10), Some(11)]])
        )
        .is_empty());
        assert_eq!(
            rows(&feed(
                &mut op,
                1,
                ints(
                    &["k2", "b"],
                    &[
                        &[Some(1), Some(2), None],
                        &[Some(100), Some(200), Some(300)]
                    ]
                )
            )),
            [vec![Some(1), Some(10), Some(1), Some(100)]],
            "a NULL key matches nothing"
        );
        assert_eq!(
            rows(&feed(
                &mut op,
                0,
                ints(&["k", "a"], &[&[Some(1), Some(2)], &[Some(12), Some(20)]])
            )),
            [
                vec![Some(1), Some(12), Some(1), Some(100)],
                vec![Some(2), Some(20), Some(2), Some(200)]
            ]
        );
        // Restored, both sides' rows are still there.
        let restored = snapshot(&mut op, 1);
        let mut op = operator((0, 1));
        op.initialize_state(restored).unwrap();
        assert_eq!(
            rows(&feed(
                &mut op,
                1,
                ints(&["k2", "b"], &[&[Some(1)], &[Some(101)]])
            )),
            [
                vec![Some(1), Some(10), Some(1), Some(101)],
                vec![Some(1), Some(12), Some(1), Some(101)]
            ]
        );
    }
}
