//! Group aggregation over an unbounded stream (Flink's `GroupAggFunction`): every group's
//! accumulators live in keyed state, and each batch updates the groups it touches and
//! emits their new results as a changelog: `+I` for a group's first result, `-U` (the old
//! result) then `+U` (the new) when it changes, nothing when it stays the same.
//!
//! Vectorized per batch: the batch's groups are interned once, their stored states merged
//! into DataFusion's grouped accumulators in one call, the rows added in another, and the
//! old and new results compared in Arrow's row format. State is touched once per group and
//! batch. The input is insert-only (the planner refuses updating inputs for now).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int8Array, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::logical_expr::EmitTo;

use super::aggregation::{evaluate, Aggregation};
use crate::changelog::with_op_field;
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::Result;
use crate::exchange::key_groups;
use crate::jobgraph::GroupAggregateSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{restore_into, snapshot_backend};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state a group's accumulators are stored under.
const GROUP_ACCUMULATORS: &str = "group-accumulators";

/// Flink's `GroupAggFunction` over DataFusion accumulators.
pub struct GroupAggregateOperator {
    aggregation: Aggregation,
    /// The result's columns, and the same with the row-kind column: what is emitted.
    output_schema: SchemaRef,
    emitted_schema: SchemaRef,
    /// Results in Arrow's row format, to tell a changed result from an unchanged one.
    results: RowConverter,
    backend: Box<dyn KeyedStateBackend>,
    key_positions: Vec<usize>,
    max_parallelism: u32,
    description: String,
    group_indices: Vec<usize>,
}

impl GroupAggregateOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &GroupAggregateSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let input_schema = spec.input_schema.decode()?;
        let aggregation = Aggregation::decode(&spec.aggregate, &input_schema, &ctx.functions)?;
        let output_schema = spec.output_schema.decode()?;
        let results = RowConverter::new(
            output_schema
                .fields()
                .iter()
                .map(|f| SortField::new(f.data_type().clone()))
                .collect(),
        )?;
        let backend = ctx.keyed_state_backend()?;
        Ok(Self {
            aggregation,
            emitted_schema: with_op_field(&output_schema),
            output_schema,
            results,
            backend,
            key_positions: spec.key_positions.clone(),
            max_parallelism: ctx.max_parallelism,
            description: spec.description.clone(),
            group_indices: Vec::new(),
        })
    }

    /// The result rows: group keys, then each aggregate's value, cast to the result's types.
    fn results(&self, keys: &[ArrayRef], values: Vec<ArrayRef>) -> Result<RecordBatch> {
        let columns = keys
            .iter()
            .cloned()
            .chain(values)
            .zip(self.output_schema.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c),
                false => Ok(cast(&c, f.data_type())?),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(self.output_schema.clone(), columns)?)
    }

    /// `rows` of `results`, each with row kind `kind`.
    fn with_kind(
        &self,
        results: &RecordBatch,
        rows: Vec<u32>,
        kind: RowKind,
    ) -> Result<RecordBatch> {
        let n = rows.len();
        let part = take_record_batch(results, &UInt32Array::from(rows))?;
        let mut columns = part.columns().to_vec();
        columns.push(Arc::new(Int8Array::from(vec![kind.to_i8(); n])));
        Ok(RecordBatch::try_new(self.emitted_schema.clone(), columns)?)
    }
}

impl StreamOperator for GroupAggregateOperator {
    fn name(&self) -> String {
        format!("GroupAggregate({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let agg = &self.aggregation;
        // A global aggregation (no GROUP BY) has one group, with an empty key.
        let (total, keys, key_rows) = match agg.group_exprs.is_empty() {
            true => {
                self.group_indices.clear();
                self.group_indices.resize(batch.num_rows(), 0);
                (1, Vec::new(), None)
            }
            false => {
                let mut groups = agg.new_groups()?;
                groups.groups.intern(
                    &evaluate(&agg.group_exprs, &batch)?,
                    &mut self.group_indices,
                )?;
                let total = groups.groups.len();
                let keys = groups.groups.emit(EmitTo::All)?;
                let key_rows = agg.keys.convert_columns(&keys)?;
                (total, keys, Some(key_rows))
            }
        };
        let hashed: Vec<ArrayRef> = self
            .key_positions
            .iter()
            .map(|&i| keys[i].clone())
            .collect();
        let key_groups = match hashed.is_empty() {
            true => vec![0; total],
            false => key_groups(&hashed, self.max_parallelism)?,
        };
        let address = |g: usize| StateKey {
            key_group: key_groups[g],
            namespace: Vec::new(),
            key: key_rows
                .as_ref()
                .map_or_else(Vec::new, |r| r.row(g).data().to_vec()),
        };

        // The groups seen before, with their stored accumulators.
        let mut seen = Vec::new();
        let mut stored = Vec::new();
        for g in 0..total {
            if let Some(value) = self.backend.get(GROUP_ACCUMULATORS, &address(g))? {
                seen.push(g);
                stored.push(value);
            }
        }
        let stored: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();

        // New states: stored ones plus this batch's rows.
        let mut accumulators = agg.new_accumulators()?;
        agg.merge_states(&mut accumulators, &stored, &seen, total)?;
        agg.update(&mut accumulators, &batch, &self.group_indices, total)?;
        let states = agg.encode_states(&mut accumulators, total)?;

        // Results before and after, each from accumulators merged from the states.
        let evaluate_states = |values: &[&[u8]], indices: &[usize]| -> Result<Vec<ArrayRef>> {
            let mut accumulators = agg.new_accumulators()?;
            agg.merge_states(&mut accumulators, values, indices, total)?;
            accumulators
                .iter_mut()
                .map(|a| Ok(a.evaluate(EmitTo::All)?))
                .collect()
        };
        let all: Vec<usize> = (0..total).collect();
        let new_states: Vec<&[u8]> = states.iter().map(Vec::as_slice).collect();
        let after = self.results(&keys, evaluate_states(&new_states, &all)?)?;
        let (mut inserted, mut changed) = (Vec::new(), Vec::new());
        let before = match seen.is_empty() {
            true => None,
            false => Some(self.results(&keys, evaluate_states(&stored, &seen)?)?),
        };
        let (before_rows, after_rows) = match &before {
            Some(b) => (
                Some(self.results.convert_columns(b.columns())?),
                Some(self.results.convert_columns(after.columns())?),
            ),
            None => (None, None),
        };
        let mut seen_iter = seen.iter().peekable();
        for g in 0..total {
            if seen_iter.next_if(|&&s| s == g).is_none() {
                inserted.push(g as u32);
            } else if let (Some(b), Some(a)) = (&before_rows, &after_rows) {
                if b.row(g) != a.row(g) {
                    changed.push(g as u32);
                }
            }
        }
        let mut emitted = Vec::new();
        if let Some(before) = &before {
            if !changed.is_empty() {
                // Per group, the retraction comes before the new result.
                emitted.push(self.with_kind(before, changed.clone(), RowKind::UpdateBefore)?);
                emitted.push(self.with_kind(&after, changed, RowKind::UpdateAfter)?);
            }
        }
        if !inserted.is_empty() {
            emitted.push(self.with_kind(&after, inserted, RowKind::Insert)?);
        }
        if !emitted.is_empty() {
            out.collect(concat_batches(&self.emitted_schema, &emitted)?);
        }
        for (g, value) in states.into_iter().enumerate() {
            self.backend.put(GROUP_ACCUMULATORS, address(g), value)?;
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
        restore_into(
            &restored,
            self.backend.as_mut(),
            &[GROUP_ACCUMULATORS],
            &format!("the group aggregation {}", self.description),
            &mut |_, _| Ok(()),
        )
    }
}

#[cfg(test)]
mod tests {
    use datafusion::functions_aggregate::count::count_udaf;
    use datafusion::functions_aggregate::min_max::max_udaf;
    use datafusion::functions_aggregate::sum::sum_udaf;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{
        aggregate_plan, build, changes, feed, int_schema, ints, snapshot,
    };

    fn spec(groups: &[&str], aggregates: &[(&str, &str)]) -> GroupAggregateSpec {
        let input = int_schema(&["k", "v"]);
        let functions: Vec<_> = aggregates
            .iter()
            .map(|(f, alias)| {
                let udaf = match *f {
                    "count" => count_udaf(),
                    "sum" => sum_udaf(),
                    _ => max_udaf(),
                };
                (udaf, "v", *alias)
            })
            .collect();
        let output: Vec<&str> = groups
            .iter()
            .copied()
            .chain(aggregates.iter().map(|(_, a)| *a))
            .collect();
        GroupAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&int_schema(&output)).unwrap(),
            aggregate: aggregate_plan(&input, groups, &functions),
            key_positions: (0..groups.len()).collect(),
            description: "test".into(),
        }
    }

    fn operator(
        spec: &GroupAggregateSpec,
        parallelism: u32,
        subtask: u32,
        backend: &str,
    ) -> GroupAggregateOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        build(parallelism, subtask, &config, |ctx| {
            GroupAggregateOperator::try_new(spec, ctx)
        })
    }

    fn rows(pairs: &[(i64, i64)]) -> RecordBatch {
        let k: Vec<Option<i64>> = pairs.iter().map(|p| Some(p.0)).collect();
        let v: Vec<Option<i64>> = pairs.iter().map(|p| Some(p.1)).collect();
        ints(&["k", "v"], &[&k, &v])
    }

    #[test]
    fn emits_an_insert_then_a_retraction_and_the_new_result_per_changed_group() {
        for backend in ["hashmap", "rocksdb"] {
            let spec = spec(&["k"], &[("count", "c"), ("sum", "s")]);
            let mut op = operator(&spec, 1, 0, backend);
            assert_eq!(
                changes(&feed(&mut op, 0, rows(&[(1, 10)]))),
                ["+I[1, 1, 10]"]
            );
            assert_eq!(
                changes(&feed(&mut op, 0, rows(&[(1, 30), (2, 20), (1, 5)]))),
                ["-U[1, 1, 10]", "+U[1, 3, 45]", "+I[2, 1, 20]"],
                "{backend}: one change per group and batch, the retraction first"
            );
        }
    }

    #[test]
    fn an_unchanged_result_emits_nothing() {
        let spec = spec(&["k"], &[("max", "m")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        assert_eq!(changes(&feed(&mut op, 0, rows(&[(1, 10)]))), ["+I[1, 10]"]);
        assert!(feed(&mut op, 0, rows(&[(1, 5), (1, 10)])).is_empty());
        assert_eq!(
            changes(&feed(&mut op, 0, rows(&[(1, 20)]))),
            ["-U[1, 10]", "+U[1, 20]"]
        );
    }

    #[test]
    fn a_global_aggregation_has_one_group_from_its_first_row() {
        let spec = spec(&[], &[("count", "c")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        assert_eq!(
            changes(&feed(&mut op, 0, rows(&[(1, 1), (2, 2)]))),
            ["+I[2]"]
        );
        assert_eq!(
            changes(&feed(&mut op, 0, rows(&[(3, 3)]))),
            ["-U[2]", "+U[3]"]
        );
    }

    #[test]
    fn restored_at_another_parallelism_each_group_goes_on_from_its_state() {
        let spec = spec(&["k"], &[("sum", "s")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        let keys: Vec<(i64, i64)> = (0..50).map(|k| (k, k * 10)).collect();
        feed(&mut op, 0, rows(&keys));
        let restored = snapshot(&mut op, 1);
        // Two new subtasks; each key goes to the subtask owning its key group.
        let mut seen = 0;
        for subtask in 0..2 {
            let mut op = operator(&spec, 2, subtask, "rocksdb");
            op.initialize_state(restored.clone()).unwrap();
            for k in 0..50 {
                let range = op.backend.key_group_range();
                let kg = key_groups(
                    &[Arc::new(datafusion::arrow::array::Int64Array::from(vec![k])) as ArrayRef],
                    128,
                )
                .unwrap()[0];
                if !range.contains(kg) {
                    continue;
                }
                seen += 1;
                assert_eq!(
                    changes(&feed(&mut op, 0, rows(&[(k, 1)]))),
                    [
                        format!("-U[{k}, {}]", k * 10),
                        format!("+U[{k}, {}]", k * 10 + 1)
                    ]
                );
            }
        }
        assert_eq!(seen, 50, "every key is owned by one of the new subtasks");
    }
}
