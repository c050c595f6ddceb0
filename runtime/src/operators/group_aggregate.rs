//! Group aggregation over an unbounded stream (Flink's `GroupAggFunction`): every group's
//! accumulators live in keyed state, and each batch updates the groups it touches and
//! emits their new results as a changelog: `+I` for a group's first result, `-U` (the old
//! result) then `+U` (the new) when it changes, nothing when it stays the same.
//!
//! Per batch, the batch's groups are interned once and the old and new results compared in
//! Arrow's row format. Two ways to keep the groups:
//! - Over an updating input, and over an insert-only one with a `COUNT(DISTINCT)` whose
//!   aggregates allow it (`COUNT`, `COUNT(DISTINCT)`, `SUM`, `AVG`, `MIN`, `MAX`,
//!   variances), accumulators per group
//!   (`retracting/`), kept decoded between batches in a cache in front of keyed state
//!   (`state_cache.rs`): a `COUNT(DISTINCT)`'s values are looked up per row, never decoded
//!   and encoded whole per batch. Over updates the aggregates retract.
//! - Otherwise DataFusion's grouped accumulators: the stored states of a batch's groups are
//!   merged into them in one call, the rows added in another, and the states written back.
//!
//! Both store an insert-only group's state as DataFusion's partial state, so a savepoint
//! restores into either. As the global phase of a two-phase aggregation
//! (`local_group_aggregate.rs`) the rows are partial states, merged into the same state the
//! one-phase operator keeps.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray, Int8Array, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::logical_expr::EmitTo;

use super::aggregation::{evaluate, Aggregation};
use super::retracting::RetractingAggregation;
use crate::changelog::with_op_field;
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::{AggregatePhase, GroupAggregateSpec};
use crate::operators::mini_batch::{MiniBatch, MiniBatched};
use crate::operators::retracting::GroupState;
use crate::operators::state_cache::StateCache;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state a group's accumulators are stored under.
const GROUP_ACCUMULATORS: &str = "group-accumulators";
/// The same over an updating input: the group's row count, then retract accumulators.
const GROUP_CHANGES: &str = "group-retract-accumulators";

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
    /// Set when the input is updating (the aggregates that take retractions), and over an
    /// insert-only input when its aggregates can be kept so: group states are then cached
    /// decoded between batches (`state_cache.rs`).
    retracting: Option<RetractingAggregation>,
    cache: StateCache<GroupState>,
    /// The input is updating (rows carry their kind).
    updating: bool,
    /// The keyed state the groups live in.
    state: &'static str,
    mini_batch: Option<MiniBatch>,
    /// With a state TTL an unchanged result is still sent (`-U` / `+U`), as in Flink, so
    /// that state downstream keeps its lease.
    emit_unchanged: bool,
    /// Emit `-U` before each `+U` (Flink's `generateUpdateBefore`).
    update_before: bool,
    /// The global phase merges partial states; the rest is the same.
    phase: AggregatePhase,
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
        let backend = ctx.keyed_state_backend_with_ttl()?;
        let retract = || {
            RetractingAggregation::try_new(
                &aggregation.aggregates,
                &aggregation.filters,
                &input_schema,
            )
        };
        let (retracting, state) = match spec.retracting {
            true => (Some(retract()?), GROUP_CHANGES),
            false => (
                RetractingAggregation::try_new_append_only(
                    &aggregation.aggregates,
                    &aggregation.filters,
                )?,
                GROUP_ACCUMULATORS,
            ),
        };
        let ttl = crate::config::table::STATE_TTL;
        let capacity = match ctx.config.get_duration(&ttl).is_zero() {
            true => ctx
                .config
                .get_int(&crate::config::table::GROUP_AGG_CACHE_SIZE),
            false => 0,
        };
        Ok(Self {
            retracting,
            cache: StateCache::new(state, usize::try_from(capacity).unwrap_or(0)),
            updating: spec.retracting,
            state,
            // The global phase takes the local phases' mini-batches as they come, so that a
            // row waits one latency, as with Flink's one MiniBatchAssigner for both.
            mini_batch: match spec.phase {
                AggregatePhase::Single => MiniBatch::from_config(ctx.config)?,
                AggregatePhase::Global => None,
            },
            emit_unchanged: !ctx
                .config
                .get_duration(&crate::config::table::STATE_TTL)
                .is_zero(),
            aggregation,
            emitted_schema: with_op_field(&output_schema),
            output_schema,
            results,
            backend,
            key_positions: spec.key_positions.clone(),
            max_parallelism: ctx.max_parallelism,
            description: spec.description.clone(),
            group_indices: Vec::new(),
            update_before: spec.update_before,
            phase: spec.phase,
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

    /// Interns the batch's groups (their indices in `group_indices`): returns how many there
    /// are, their keys, and each one's address in keyed state.
    fn intern(&mut self, batch: &RecordBatch) -> Result<(usize, Vec<ArrayRef>, Vec<StateKey>)> {
        let agg = &self.aggregation;
        // A global aggregation (no GROUP BY) has one group, with an empty key.
        if agg.group_exprs.is_empty() {
            self.group_indices.clear();
            self.group_indices.resize(batch.num_rows(), 0);
            let address = StateKey {
                key_group: 0,
                namespace: Vec::new(),
                key: Vec::new(),
            };
            return Ok((1, Vec::new(), vec![address]));
        }
        let mut groups = agg.new_groups()?;
        // The global phase over updates reads its keys as the local phase computed them,
        // first; its plan is the single-phase one, over the query's rows.
        let key_columns = match (self.phase, self.updating) {
            (AggregatePhase::Global, true) => batch
                .columns()
                .get(..agg.group_exprs.len())
                .ok_or_else(|| RuntimeError::Internal("a local change without its keys".into()))?
                .to_vec(),
            _ => evaluate(&agg.group_exprs, batch)?,
        };
        groups
            .groups
            .intern(&key_columns, &mut self.group_indices)?;
        let total = groups.groups.len();
        let keys = groups.groups.emit(EmitTo::All)?;
        let key_rows = agg.keys.convert_columns(&keys)?;
        let hashed: Vec<ArrayRef> = self
            .key_positions
            .iter()
            .map(|&i| keys[i].clone())
            .collect();
        let key_groups = match hashed.is_empty() {
            true => vec![0; total],
            false => key_groups(&hashed, self.max_parallelism)?,
        };
        let addresses = key_groups
            .into_iter()
            .enumerate()
            .map(|(g, key_group)| StateKey {
                key_group,
                namespace: Vec::new(),
                key: key_rows.row(g).data().to_vec(),
            })
            .collect();
        Ok((total, keys, addresses))
    }

    /// A batch of an updating input: rows are added to and taken out of their groups, and
    /// a group whose last row is taken out is deleted (`-D` of its last result), as Flink's
    /// `GroupAggFunction` does.
    fn process_changes(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let (total, keys, addresses) = self.intern(&batch)?;
        let Some(retracting) = &self.retracting else {
            return Ok(());
        };
        let mut states = self
            .cache
            .take(&addresses, self.backend.as_ref(), retracting)?;
        let existed: Vec<bool> = states.iter().map(|s| s.rows > 0).collect();
        let before = self.results(&keys, retracting.evaluate(&mut states)?)?;
        match self.phase {
            AggregatePhase::Single => retracting.apply(&mut states, &batch, &self.group_indices)?,
            // Insert-only, a local phase sends each group's partial states after its keys.
            AggregatePhase::Global if !self.updating => retracting.merge_partial_batch(
                &mut states,
                &batch,
                self.aggregation.group_exprs.len(),
                &self.group_indices,
            )?,
            AggregatePhase::Global => {
                let changes = batch
                    .columns()
                    .last()
                    .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
                    .ok_or_else(|| {
                        RuntimeError::Internal("a local change without its binary column".into())
                    })?;
                retracting.merge_changes(&mut states, changes, &self.group_indices)?
            }
        }
        let after = self.results(&keys, retracting.evaluate(&mut states)?)?;
        let before_rows = self.results.convert_columns(before.columns())?;
        let after_rows = self.results.convert_columns(after.columns())?;
        let (mut deleted, mut changed, mut inserted) = (Vec::new(), Vec::new(), Vec::new());
        for (g, &existed) in existed.iter().enumerate().take(total) {
            let exists = states[g].rows > 0;
            match (existed, exists) {
                (true, false) => deleted.push(g as u32),
                (false, true) => inserted.push(g as u32),
                (true, true) if self.emit_unchanged || before_rows.row(g) != after_rows.row(g) => {
                    changed.push(g as u32)
                }
                _ => {}
            }
        }
        let mut emitted = Vec::new();
        for (results, rows, kind) in [
            (&before, deleted, RowKind::Delete),
            (
                &before,
                match self.update_before {
                    true => changed.clone(),
                    false => Vec::new(),
                },
                RowKind::UpdateBefore,
            ),
            (&after, changed, RowKind::UpdateAfter),
            (&after, inserted, RowKind::Insert),
        ] {
            if !rows.is_empty() {
                emitted.push(self.with_kind(results, rows, kind)?);
            }
        }
        if !emitted.is_empty() {
            out.collect(concat_batches(&self.emitted_schema, &emitted)?);
        }
        self.cache
            .put_back(addresses, states, self.backend.as_mut(), retracting)
    }

    /// Writes the cached groups' changes to keyed state.
    fn flush_cache(&mut self) -> Result<()> {
        match &self.retracting {
            Some(retracting) => self.cache.flush(self.backend.as_mut(), retracting),
            None => Ok(()),
        }
    }

    /// Processes a batch (a whole mini-batch, with mini-batches on).
    fn process_whole(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.retracting.is_some() {
            return self.process_changes(batch, out);
        }
        let (total, keys, addresses) = self.intern(&batch)?;
        let agg = &self.aggregation;

        // The groups seen before, with their stored accumulators.
        let mut seen = Vec::new();
        let mut stored = Vec::new();
        for (g, address) in addresses.iter().enumerate() {
            if let Some(value) = self.backend.get(GROUP_ACCUMULATORS, address)? {
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
                if self.emit_unchanged || b.row(g) != a.row(g) {
                    changed.push(g as u32);
                }
            }
        }
        let mut emitted = Vec::new();
        if let Some(before) = &before {
            if !changed.is_empty() {
                // Per group, the retraction comes before the new result.
                if self.update_before {
                    emitted.push(self.with_kind(before, changed.clone(), RowKind::UpdateBefore)?);
                }
                emitted.push(self.with_kind(&after, changed, RowKind::UpdateAfter)?);
            }
        }
        if !inserted.is_empty() {
            emitted.push(self.with_kind(&after, inserted, RowKind::Insert)?);
        }
        if !emitted.is_empty() {
            out.collect(concat_batches(&self.emitted_schema, &emitted)?);
        }
        for (address, value) in addresses.into_iter().zip(states) {
            self.backend.put(GROUP_ACCUMULATORS, address, value)?;
        }
        Ok(())
    }
}

impl MiniBatched for GroupAggregateOperator {
    fn mini_batch(&mut self) -> &mut Option<MiniBatch> {
        &mut self.mini_batch
    }

    fn process_now(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_whole(batch, out)
    }
}

impl StreamOperator for GroupAggregateOperator {
    fn name(&self) -> String {
        match self.phase {
            AggregatePhase::Single => format!("GroupAggregate({})", self.description),
            AggregatePhase::Global => format!("GlobalGroupAggregate({})", self.description),
        }
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.gather(batch, out)
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Collector) -> Result<()> {
        self.tick(now, out)
    }

    fn prepare_snapshot_pre_barrier(&mut self, out: &mut Collector) -> Result<()> {
        self.flush(out)
    }

    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        self.flush(out)
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.flush(out)?;
        out.emit_watermark(watermark);
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        self.flush_cache()?;
        keyed_snapshot(self.backend.as_mut(), barrier)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        restore_into(
            &restored,
            self.backend.as_mut(),
            &[self.state],
            &format!("the group aggregation {}", self.description),
            &mut |_, _| Ok(()),
        )
    }
}

#[cfg(test)]
mod tests {
    use datafusion::functions_aggregate::count::count_udaf;
    use datafusion::functions_aggregate::first_last::{first_value_udaf, last_value_udaf};
    use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
    use datafusion::functions_aggregate::sum::sum_udaf;

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{
        aggregate_plan, build, changes, feed, int_schema, ints, snapshot, with_kinds,
    };

    fn spec(groups: &[&str], aggregates: &[(&str, &str)]) -> GroupAggregateSpec {
        let input = int_schema(&["k", "v"]);
        let functions: Vec<_> = aggregates
            .iter()
            .map(|(f, alias)| {
                let udaf = match *f {
                    "count" => count_udaf(),
                    "sum" => sum_udaf(),
                    "min" => min_udaf(),
                    "first_value" => first_value_udaf(),
                    "last_value" => last_value_udaf(),
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
            retracting: false,
            update_before: true,
            phase: AggregatePhase::Single,
        }
    }

    fn retracting(groups: &[&str], aggregates: &[(&str, &str)]) -> GroupAggregateSpec {
        GroupAggregateSpec {
            retracting: true,
            ..spec(groups, aggregates)
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
    fn without_update_before_only_the_new_side_of_an_update_is_emitted() {
        for retract in [false, true] {
            let mut spec = spec(&["k"], &[("count", "c")]);
            spec.retracting = retract;
            spec.update_before = false;
            let mut op = operator(&spec, 1, 0, "hashmap");
            let batch = |pairs| match retract {
                true => with_kinds(rows(pairs), &["+I"]),
                false => rows(pairs),
            };
            assert_eq!(changes(&feed(&mut op, 0, batch(&[(1, 10)]))), ["+I[1, 1]"]);
            assert_eq!(
                changes(&feed(&mut op, 0, batch(&[(1, 20)]))),
                ["+U[1, 2]"],
                "retracting input: {retract}"
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

    /// The same operator on DataFusion's grouped accumulators, the path of aggregates that
    /// cannot be kept per group.
    fn on_grouped_accumulators(mut op: GroupAggregateOperator) -> GroupAggregateOperator {
        op.retracting = None;
        op
    }

    fn cached(spec: &GroupAggregateSpec, size: &str, backend: &str) -> GroupAggregateOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        config.set("table.exec.group-agg.cache-size", size).unwrap();
        build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(spec, ctx)
        })
    }

    #[test]
    fn insert_only_groups_change_alike_cached_or_not_and_across_a_snapshot_between_paths() {
        let spec = spec(
            &["k"],
            &[
                ("count", "c"),
                ("sum", "s"),
                ("min", "lo"),
                ("max", "hi"),
                ("count", "distinct_d"),
                ("count", "distinct_e"),
            ],
        );
        let batches: Vec<Vec<(i64, i64)>> = (0..6)
            .map(|b| {
                (0..40)
                    .map(|i| ((i * 7 + b) % 13, (i * b + b) % 9))
                    .collect()
            })
            .collect();
        // Three batches, a snapshot, a new operator restored from it, three batches more.
        let run = |first: &dyn Fn() -> GroupAggregateOperator,
                   second: &dyn Fn() -> GroupAggregateOperator| {
            let mut out = Vec::new();
            let mut op = first();
            for b in &batches[..3] {
                out.extend(changes(&feed(&mut op, 0, rows(b))));
            }
            let restored = snapshot(&mut op, 1);
            let mut op = second();
            op.initialize_state(restored).unwrap();
            for b in &batches[3..] {
                out.extend(changes(&feed(&mut op, 0, rows(b))));
            }
            out
        };
        let grouped = || on_grouped_accumulators(operator(&spec, 1, 0, "hashmap"));
        assert!(
            operator(&spec, 1, 0, "hashmap").retracting.is_some(),
            "these aggregates are kept per group"
        );
        let expected = run(&grouped, &grouped);
        // Each key's last change is its count, sum, minimum, maximum and distinct values.
        for k in 0..13 {
            let values: Vec<i64> = batches
                .iter()
                .flatten()
                .filter(|p| p.0 == k)
                .map(|p| p.1)
                .collect();
            let distinct: std::collections::BTreeSet<i64> = values.iter().copied().collect();
            let last = format!(
                "[{k}, {}, {}, {}, {}, {}, {}]",
                values.len(),
                values.iter().sum::<i64>(),
                values.iter().min().unwrap(),
                values.iter().max().unwrap(),
                distinct.len(),
                distinct.len()
            );
            let found = expected
                .iter()
                .rev()
                .find(|c| c.starts_with(&format!("+U[{k},")) || c.starts_with(&format!("+I[{k},")));
            assert_eq!(found.map(|c| &c[2..]), Some(last.as_str()), "key {k}");
        }
        for backend in ["hashmap", "rocksdb"] {
            // A cache of 2 groups is full in every batch; 0 writes every batch through.
            for size in ["0", "2", "10000"] {
                let fresh = || cached(&spec, size, backend);
                assert_eq!(run(&fresh, &fresh), expected, "{backend}, cache {size}");
                assert_eq!(
                    run(&fresh, &grouped),
                    expected,
                    "{backend}, cache {size}, then grouped"
                );
                assert_eq!(
                    run(&grouped, &fresh),
                    expected,
                    "grouped, then {backend}, cache {size}"
                );
            }
        }
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

    #[test]
    fn retractions_take_rows_out_and_an_emptied_group_is_deleted() {
        for (backend, size) in [("hashmap", "10000"), ("rocksdb", "1"), ("rocksdb", "0")] {
            let spec = retracting(
                &["k"],
                &[("count", "c"), ("sum", "s"), ("min", "lo"), ("max", "hi")],
            );
            let mut op = cached(&spec, size, backend);
            let changes_of = |op: &mut GroupAggregateOperator, pairs, kinds| {
                changes(&feed(op, 0, with_kinds(rows(pairs), kinds)))
            };
            assert_eq!(
                changes_of(&mut op, &[(1, 10), (1, 30), (1, 20)], &["+I", "+I", "+I"]),
                ["+I[1, 3, 60, 10, 30]"]
            );
            // The minimum and the maximum are taken out: the next ones are known.
            assert_eq!(
                changes_of(&mut op, &[(1, 10), (1, 30)], &["-U", "-D"]),
                ["-U[1, 3, 60, 10, 30]", "+U[1, 1, 20, 20, 20]"],
                "{backend}"
            );
            // One row out and one in, of the same value: nothing changes, nothing is sent.
            assert!(changes_of(&mut op, &[(1, 20), (1, 20)], &["-U", "+U"]).is_empty());
            assert_eq!(
                changes_of(&mut op, &[(1, 20), (2, 5)], &["-D", "+I"]),
                ["-D[1, 1, 20, 20, 20]", "+I[2, 1, 5, 5, 5]"],
                "{backend}: the last row out deletes the group"
            );
            // A deleted group starts again from nothing.
            assert_eq!(
                changes_of(&mut op, &[(1, 7)], &["+I"]),
                ["+I[1, 1, 7, 7, 7]"]
            );
        }
    }

    #[test]
    fn a_group_emptied_while_cached_starts_afresh() {
        let spec = retracting(&["k"], &[("count", "c"), ("min", "lo"), ("max", "hi")]);
        for size in ["10000", "0"] {
            let mut op = cached(&spec, size, "hashmap");
            let mut step = |pairs: &[(i64, i64)], kinds: &[&str]| {
                changes(&feed(&mut op, 0, with_kinds(rows(pairs), kinds)))
            };
            assert_eq!(step(&[(1, 10)], &["+I"]), ["+I[1, 1, 10, 10]"]);
            // A delete of another value (an inconsistent changelog) still empties the group.
            assert_eq!(step(&[(1, 20)], &["-D"]), ["-D[1, 1, 10, 10]"]);
            assert_eq!(
                step(&[(1, 5)], &["+I"]),
                ["+I[1, 1, 5, 5]"],
                "cache {size}: nothing of the emptied group is left"
            );
        }
    }

    #[test]
    fn first_and_last_value_take_out_the_earliest_occurrence_and_survive_a_snapshot() {
        let spec = retracting(&["k"], &[("first_value", "f"), ("last_value", "l")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        let step = |op: &mut GroupAggregateOperator, pairs: &[(i64, i64)], kinds: &[&str]| {
            changes(&feed(op, 0, with_kinds(rows(pairs), kinds)))
        };
        assert_eq!(
            step(&mut op, &[(1, 5), (1, 7), (1, 5)], &["+I", "+I", "+I"]),
            ["+I[1, 5, 5]"]
        );
        // The first 5 goes: 7 is first now, the second 5 still last.
        assert_eq!(
            step(&mut op, &[(1, 5)], &["-D"]),
            ["-U[1, 5, 5]", "+U[1, 7, 5]"]
        );
        let restored = snapshot(&mut op, 1);
        let mut op = operator(&spec, 1, 0, "rocksdb");
        op.initialize_state(restored).unwrap();
        assert_eq!(
            step(&mut op, &[(1, 9), (1, 5)], &["+I", "-D"]),
            ["-U[1, 7, 5]", "+U[1, 7, 9]"],
            "the order survives the snapshot"
        );
    }

    #[test]
    fn retracting_state_survives_a_snapshot_and_a_rescale() {
        let spec = retracting(&["k"], &[("sum", "s"), ("max", "hi")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        feed(
            &mut op,
            0,
            with_kinds(rows(&[(1, 10), (1, 30), (1, 30)]), &["+I", "+I", "+I"]),
        );
        let restored = snapshot(&mut op, 1);
        let mut op = operator(&spec, 1, 0, "rocksdb");
        op.initialize_state(restored).unwrap();
        assert_eq!(
            changes(&feed(&mut op, 0, with_kinds(rows(&[(1, 30)]), &["-D"]))),
            ["-U[1, 70, 30]", "+U[1, 40, 30]"],
            "the maximum keeps how many rows hold each value"
        );
    }

    #[test]
    fn a_retraction_for_a_group_holding_no_rows_is_ignored_row_by_row() {
        let spec = retracting(&["k"], &[("sum", "s")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        // The -U finds no rows (expired state, say): the +U still counts, as in Flink.
        assert_eq!(
            changes(&feed(
                &mut op,
                0,
                with_kinds(rows(&[(1, 10), (1, 20)]), &["-U", "+U"])
            )),
            ["+I[1, 20]"]
        );
    }

    #[test]
    fn a_retraction_for_a_group_never_seen_emits_nothing() {
        let spec = retracting(&[], &[("count", "c")]);
        let mut op = operator(&spec, 1, 0, "hashmap");
        assert!(feed(&mut op, 0, with_kinds(rows(&[(1, 1)]), &["-D"])).is_empty());
        assert_eq!(
            changes(&feed(&mut op, 0, with_kinds(rows(&[(1, 1)]), &["+I"]))),
            ["+I[1]"]
        );
    }

    #[test]
    fn a_mini_batch_emits_one_change_per_group_when_full_or_at_a_watermark() {
        let spec = spec(&["k"], &[("sum", "s")]);
        let mut config = Configuration::new();
        for (k, v) in [
            ("table.exec.mini-batch.enabled", "true"),
            ("table.exec.mini-batch.allow-latency", "1 h"),
            ("table.exec.mini-batch.size", "3"),
        ] {
            config.set(k, v).unwrap();
        }
        let mut op = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&spec, ctx)
        });
        assert!(feed(&mut op, 0, rows(&[(1, 10)])).is_empty());
        assert!(feed(&mut op, 0, rows(&[(1, 20)])).is_empty());
        assert_eq!(
            changes(&feed(&mut op, 0, rows(&[(2, 5)]))),
            ["+I[1, 30]", "+I[2, 5]"],
            "three rows fill the mini-batch"
        );
        assert!(feed(&mut op, 0, rows(&[(1, 1)])).is_empty());
        assert_eq!(
            changes(&crate::operators::testing::watermark(&mut op, 0)),
            ["-U[1, 30]", "+U[1, 31]"],
            "a watermark flushes it first"
        );
        config.set("table.exec.mini-batch.size", "-1").unwrap();
        let refused = crate::operators::mini_batch::MiniBatch::from_config(&config);
        assert!(refused.is_err_and(|e| e.to_string().contains("table.exec.mini-batch.size")));
    }
}
