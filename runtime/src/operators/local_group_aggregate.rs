//! The local phase of Flink's two-phase group aggregation (`LocalGroupAggregate`, with
//! `table.exec.mini-batch.*` on and `table.optimizer.agg-phase-strategy` not `ONE_PHASE`).
//! Before the exchange, each subtask aggregates a mini-batch of its rows per group and
//! sends one row per group: the group keys and every aggregate's partial state. The global
//! phase (`GroupAggregateOperator` over a final-mode plan) merges those rows into the
//! group's accumulators. A hot key then costs the exchange and the global phase one row per
//! mini-batch and subtask instead of one per input row.
//!
//! Over an updating input (Flink's `LocalGroupAggregate` with `COUNT_RETRACT(*)`), each
//! group's row carries instead what the mini-batch adds to the group and what it takes
//! out (`RetractingAggregation::local_changes`), which the global phase merges into the
//! group's retract accumulators: rows keep their kinds' meaning across the exchange.
//!
//! It keeps nothing between mini-batches, so it has no state to snapshot: watermarks,
//! checkpoint barriers and the end of input flush the mini-batch first.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::EmitTo;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};

use super::aggregation::{evaluate, Aggregation};
use super::retracting::RetractingAggregation;
use crate::error::Result;
use crate::jobgraph::LocalGroupAggregateSpec;
use crate::operators::mini_batch::{MiniBatch, MiniBatched};
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::time::Watermark;

/// Splits a single-phase aggregation into its local (partial) and global (final) plans,
/// as DataFusion's own planner does for a repartitioned aggregation: the local one reads
/// the query's rows and applies the FILTERs; the global one reads the local one's rows.
pub fn split_aggregate(single: &AggregateExec) -> Result<(AggregateExec, AggregateExec)> {
    let local = AggregateExec::try_new(
        AggregateMode::Partial,
        single.group_expr().clone(),
        single.aggr_expr().to_vec(),
        single.filter_expr().to_vec(),
        Arc::clone(single.input()),
        single.input_schema(),
    )?;
    // The global merges exactly the aggregates the local computed (DataFusion may have
    // rewritten them for partial mode).
    let global_groups = local.group_expr().as_final();
    let filters = vec![None; local.aggr_expr().len()];
    let global = AggregateExec::try_new(
        AggregateMode::Final,
        global_groups,
        local.aggr_expr().to_vec(),
        filters,
        Arc::new(local.clone()),
        single.input_schema(),
    )?;
    Ok((local, global))
}

/// Flink's `LocalGroupAggregate` over DataFusion's grouped accumulators.
pub struct LocalGroupAggregateOperator {
    aggregation: Aggregation,
    /// Over an updating input: each group's change goes out as one binary value.
    retracting: Option<RetractingAggregation>,
    output_schema: SchemaRef,
    /// Without mini-batches (never planned so) each batch is aggregated on its own.
    mini_batch: Option<MiniBatch>,
    description: String,
    group_indices: Vec<usize>,
}

impl LocalGroupAggregateOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &LocalGroupAggregateSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let input_schema = spec.input_schema.decode()?;
        let aggregation = Aggregation::decode(&spec.aggregate, &input_schema, &ctx.functions)?;
        let retracting = match spec.retracting {
            true => Some(RetractingAggregation::try_new(
                &aggregation.aggregates,
                &aggregation.filters,
                &input_schema,
            )?),
            false => None,
        };
        Ok(Self {
            aggregation,
            retracting,
            output_schema: spec.output_schema.decode()?,
            mini_batch: MiniBatch::from_config(ctx.config)?,
            description: spec.description.clone(),
            group_indices: Vec::new(),
        })
    }

    /// One row per group of `batch`: its keys, then each aggregate's partial state.
    fn aggregate(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let agg = &self.aggregation;
        let mut groups = agg.new_groups()?;
        // A global aggregation (no GROUP BY) has one group.
        let (total, keys) = match agg.group_exprs.is_empty() {
            true => {
                self.group_indices.clear();
                self.group_indices.resize(batch.num_rows(), 0);
                (1, Vec::new())
            }
            false => {
                groups.groups.intern(
                    &evaluate(&agg.group_exprs, &batch)?,
                    &mut self.group_indices,
                )?;
                (groups.groups.len(), groups.groups.emit(EmitTo::All)?)
            }
        };
        let states = match &self.retracting {
            Some(retracting) => {
                let changes = retracting.local_changes(&batch, &self.group_indices, total)?;
                vec![Arc::new(BinaryArray::from_iter_values(changes)) as ArrayRef]
            }
            None => {
                agg.update(&mut groups.accumulators, &batch, &self.group_indices, total)?;
                agg.state_columns(&mut groups.accumulators)?
            }
        };
        let columns = keys
            .into_iter()
            .chain(states)
            .zip(self.output_schema.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c),
                false => Ok(cast(&c, f.data_type())?),
            })
            .collect::<Result<Vec<_>>>()?;
        out.collect(RecordBatch::try_new(self.output_schema.clone(), columns)?);
        Ok(())
    }
}

impl MiniBatched for LocalGroupAggregateOperator {
    fn mini_batch(&mut self) -> &mut Option<MiniBatch> {
        &mut self.mini_batch
    }

    fn process_now(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.aggregate(batch, out)
    }
}

impl StreamOperator for LocalGroupAggregateOperator {
    fn name(&self) -> String {
        format!("LocalGroupAggregate({})", self.description)
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
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::functions_aggregate::count::count_udaf;
    use datafusion::functions_aggregate::min_max::max_udaf;
    use datafusion::physical_plan::ExecutionPlan;

    use super::*;
    use crate::config::Configuration;
    use crate::expr_codec::{encode_plan, function_context};
    use crate::jobgraph::{AggregatePhase, GroupAggregateSpec, SerializedSchema};
    use crate::operators::testing::{
        aggregate_exec, build, changes, feed, int_schema, ints, snapshot, watermark,
    };
    use crate::operators::GroupAggregateOperator;

    /// The one-phase spec of `SELECT k, COUNT(v), SUM(v), MAX(v), AVG(v) .. GROUP BY k`
    /// (or without GROUP BY), and its local and global phases.
    fn specs(
        grouped: bool,
    ) -> (
        GroupAggregateSpec,
        LocalGroupAggregateSpec,
        GroupAggregateSpec,
    ) {
        let input = int_schema(&["k", "v"]);
        let groups: &[&str] = if grouped { &["k"] } else { &[] };
        // Flink's SUM and AVG, as jobs are planned with.
        let flink = function_context();
        let flink = flink.aggregate_functions();
        let functions = [
            (count_udaf(), "v", "c"),
            (flink["sum"].clone(), "v", "s"),
            (max_udaf(), "v", "m"),
            (flink["avg"].clone(), "v", "a"),
        ];
        let single = aggregate_exec(&input, groups, &functions);
        let output: Vec<Arc<datafusion::arrow::datatypes::Field>> =
            single.schema().fields().iter().cloned().collect();
        let output = Arc::new(datafusion::arrow::datatypes::Schema::new(output));
        let (local, global) = split_aggregate(&single).unwrap();
        let one_phase = GroupAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&output).unwrap(),
            aggregate: encode_plan(Arc::new(single)).unwrap(),
            key_positions: (0..groups.len()).collect(),
            description: "test".into(),
            retracting: false,
            update_before: true,
            phase: AggregatePhase::Single,
        };
        let partial = local.schema();
        let local = encode_plan(Arc::new(local)).unwrap();
        let local = LocalGroupAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&partial).unwrap(),
            aggregate: local,
            description: "test".into(),
            retracting: false,
        };
        let global = GroupAggregateSpec {
            input_schema: SerializedSchema::encode(&partial).unwrap(),
            aggregate: encode_plan(Arc::new(global)).unwrap(),
            phase: AggregatePhase::Global,
            ..one_phase.clone()
        };
        (one_phase, local, global)
    }

    fn mini_batches(size: &str) -> Configuration {
        let mut config = Configuration::new();
        for (k, v) in [
            ("table.exec.mini-batch.enabled", "true"),
            ("table.exec.mini-batch.allow-latency", "1 h"),
            ("table.exec.mini-batch.size", size),
        ] {
            config.set(k, v).unwrap();
        }
        config
    }

    fn rows(pairs: &[(i64, Option<i64>)]) -> RecordBatch {
        let k: Vec<Option<i64>> = pairs.iter().map(|p| Some(p.0)).collect();
        let v: Vec<Option<i64>> = pairs.iter().map(|p| p.1).collect();
        ints(&["k", "v"], &[&k, &v])
    }

    /// Feeds what the local operator sent into the global one; returns its changes.
    fn through(global: &mut GroupAggregateOperator, partials: Vec<RecordBatch>) -> Vec<String> {
        partials
            .into_iter()
            .flat_map(|b| changes(&feed(global, 0, b)))
            .collect()
    }

    #[test]
    fn a_local_phase_sends_one_partial_row_per_group_and_the_global_phase_merges_them() {
        let (one_phase, local_spec, global_spec) = specs(true);
        let config = mini_batches("4");
        let mut local = build(1, 0, &config, |ctx| {
            LocalGroupAggregateOperator::try_new(&local_spec, ctx)
        });
        let mut global = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&global_spec, ctx)
        });
        let mut single = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&one_phase, ctx)
        });
        let input = [
            rows(&[(1, Some(10)), (2, Some(5))]),
            rows(&[(1, Some(30)), (1, None)]),
            rows(&[(2, Some(7)), (1, Some(2))]),
        ];
        let mut partials = Vec::new();
        for batch in &input {
            partials.extend(feed(&mut local, 0, batch.clone()));
        }
        assert_eq!(partials.len(), 1, "four rows fill the mini-batch once");
        assert_eq!(partials[0].num_rows(), 2, "one row per group");
        partials.extend(watermark(&mut local, 10));
        assert_eq!(partials.len(), 2, "a watermark flushes the rest");
        // The global phase takes each local mini-batch as it comes: the same changes as one
        // phase over the same mini-batches. Key 1 holds 10, 30, NULL, then 2; key 2 holds 5,
        // then 7.
        let mut expected = Vec::new();
        for batch in input {
            expected.extend(changes(&feed(&mut single, 0, batch)));
        }
        expected.extend(changes(&watermark(&mut single, 10)));
        assert_eq!(
            expected,
            [
                "+I[1, 2, 40, 30, 20]",
                "+I[2, 1, 5, 5, 5]",
                "-U[2, 1, 5, 5, 5]",
                "-U[1, 2, 40, 30, 20]",
                "+U[2, 2, 12, 7, 6]",
                "+U[1, 3, 42, 30, 14]"
            ],
            "COUNT skips the NULL; Flink's AVG of BIGINT is a BIGINT"
        );
        assert_eq!(through(&mut global, partials), expected);
    }

    #[test]
    fn a_global_aggregation_merges_the_partials_of_every_local_subtask() {
        let (one_phase, local_spec, global_spec) = specs(false);
        let config = mini_batches("1000");
        let mut global = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&global_spec, ctx)
        });
        let mut partials = Vec::new();
        for (subtask, batch) in [rows(&[(1, Some(1)), (2, Some(2))]), rows(&[(3, Some(3))])]
            .into_iter()
            .enumerate()
        {
            let mut local = build(2, subtask as u32, &config, |ctx| {
                LocalGroupAggregateOperator::try_new(&local_spec, ctx)
            });
            assert!(
                feed(&mut local, 0, batch).is_empty(),
                "held in the mini-batch"
            );
            let mut out = Collector::default();
            local.prepare_snapshot_pre_barrier(&mut out).unwrap();
            partials.extend(out.drain().filter_map(|e| match e {
                crate::stream_element::StreamElement::Batch(b) => Some(b),
                _ => None,
            }));
        }
        assert_eq!(partials.len(), 2, "a barrier flushes each local mini-batch");
        assert_eq!(
            through(&mut global, partials),
            ["+I[2, 3, 2, 1]", "-U[2, 3, 2, 1]", "+U[3, 6, 3, 2]"],
            "one change per local mini-batch; Flink's AVG of BIGINT is a BIGINT"
        );
        // The global phase keeps what one phase keeps: its snapshot restores into it.
        let restored = snapshot(&mut global, 1);
        let mut single = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&one_phase, ctx)
        });
        single.initialize_state(restored).unwrap();
        feed(&mut single, 0, rows(&[(4, Some(4))]));
        assert_eq!(
            changes(&watermark(&mut single, 1)),
            ["-U[3, 6, 3, 2]", "+U[4, 10, 4, 2]"]
        );
    }

    /// The same aggregation (with MIN) over an updating input, in one phase and split:
    /// the local phase sends each group's change, the global merges it into the retract
    /// accumulators one phase keeps.
    fn retracting_specs() -> (
        GroupAggregateSpec,
        LocalGroupAggregateSpec,
        GroupAggregateSpec,
    ) {
        let flink = function_context();
        let flink = flink.aggregate_functions();
        retracting_specs_of(&[
            (count_udaf(), "v", "c"),
            (flink["sum"].clone(), "v", "s"),
            (
                datafusion::functions_aggregate::min_max::min_udaf(),
                "v",
                "lo",
            ),
            (max_udaf(), "v", "hi"),
            (flink["avg"].clone(), "v", "a"),
        ])
    }

    type Aggregates<'a> = [(
        Arc<datafusion::logical_expr::AggregateUDF>,
        &'a str,
        &'a str,
    )];

    fn retracting_specs_of(
        functions: &Aggregates<'_>,
    ) -> (
        GroupAggregateSpec,
        LocalGroupAggregateSpec,
        GroupAggregateSpec,
    ) {
        let input = int_schema(&["k", "v"]);
        let single = aggregate_exec(&input, &["k"], functions);
        let output = single.schema();
        let one_phase = GroupAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&output).unwrap(),
            aggregate: encode_plan(Arc::new(single)).unwrap(),
            key_positions: vec![0],
            description: "test".into(),
            retracting: true,
            update_before: true,
            phase: AggregatePhase::Single,
        };
        let keys_and_change = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new(
                "k",
                datafusion::arrow::datatypes::DataType::Int64,
                true,
            ),
            datafusion::arrow::datatypes::Field::new(
                "__changes",
                datafusion::arrow::datatypes::DataType::Binary,
                false,
            ),
        ]));
        let local = LocalGroupAggregateSpec {
            input_schema: SerializedSchema::encode(&input).unwrap(),
            output_schema: SerializedSchema::encode(&keys_and_change).unwrap(),
            aggregate: one_phase.aggregate.clone(),
            description: "test".into(),
            retracting: true,
        };
        let global = GroupAggregateSpec {
            phase: AggregatePhase::Global,
            ..one_phase.clone()
        };
        (one_phase, local, global)
    }

    #[test]
    fn over_updates_the_local_phase_sends_changes_and_the_global_phase_retracts_them() {
        let (one_phase, local_spec, global_spec) = retracting_specs();
        let config = mini_batches("4");
        let mut local = build(1, 0, &config, |ctx| {
            LocalGroupAggregateOperator::try_new(&local_spec, ctx)
        });
        let mut global = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&global_spec, ctx)
        });
        let mut single = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&one_phase, ctx)
        });
        let kinded = |pairs: &[(i64, Option<i64>)], kinds: &[&str]| {
            crate::operators::testing::with_kinds(rows(pairs), kinds)
        };
        let input = [
            // Mini-batch 1: key 1 holds 10 and 30, key 2 holds 5.
            kinded(&[(1, Some(10)), (1, Some(30))], &["+I", "+I"]),
            kinded(&[(2, Some(5)), (1, Some(10))], &["+I", "-U"]),
            // Mini-batch 2: key 1's 10 becomes 20, key 2 is emptied, key 3 holds a NULL.
            kinded(&[(1, Some(20)), (2, Some(5))], &["+U", "-D"]),
            kinded(&[(3, None), (1, Some(30))], &["+I", "-U"]),
            // Mini-batch 3: key 1 gets 1 as well; key 2 starts again.
            kinded(&[(1, Some(1)), (2, Some(7))], &["+U", "+I"]),
        ];
        let mut partials = Vec::new();
        let mut expected = Vec::new();
        for batch in &input {
            partials.extend(feed(&mut local, 0, batch.clone()));
            expected.extend(changes(&feed(&mut single, 0, batch.clone())));
        }
        partials.extend(watermark(&mut local, 10));
        expected.extend(changes(&watermark(&mut single, 10)));
        assert_eq!(partials.len(), 3, "one row per group and mini-batch");
        assert_eq!(
            expected,
            [
                "+I[1, 1, 30, 30, 30, 30]",
                "+I[2, 1, 5, 5, 5, 5]",
                "-D[2, 1, 5, 5, 5, 5]",
                "-U[1, 1, 30, 30, 30, 30]",
                "+U[1, 1, 20, 20, 20, 20]",
                "+I[3, 0, NULL, NULL, NULL, NULL]",
                "-U[1, 1, 20, 20, 20, 20]",
                "+U[1, 2, 21, 1, 20, 10]",
                "+I[2, 1, 7, 7, 7, 7]"
            ],
            "Flink's retracting COUNT, SUM, MIN, MAX and AVG of BIGINT"
        );
        assert_eq!(through(&mut global, partials), expected);
        // The global phase keeps what one phase keeps: its snapshot restores into it.
        let restored = snapshot(&mut global, 1);
        let mut single = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&one_phase, ctx)
        });
        single.initialize_state(restored).unwrap();
        feed(&mut single, 0, kinded(&[(1, Some(1))], &["-D"]));
        assert_eq!(
            changes(&watermark(&mut single, 11)),
            ["-U[1, 2, 21, 1, 20, 10]", "+U[1, 1, 20, 20, 20, 20]"]
        );
    }

    /// Variances split too: the local phase sends the Welford states of the rows it added
    /// and took out, the global phase merges the first and takes the second apart. Values
    /// whose means and deviations are exact in binary, so both ways print alike.
    #[test]
    fn over_updates_variances_split_as_one_phase_computes_them() {
        use datafusion::functions_aggregate::{stddev, variance};
        let (one_phase, local_spec, global_spec) = retracting_specs_of(&[
            (variance::var_samp_udaf(), "v", "vs"),
            (variance::var_pop_udaf(), "v", "vp"),
            (stddev::stddev_udaf(), "v", "ss"),
            (stddev::stddev_pop_udaf(), "v", "sp"),
        ]);
        let config = mini_batches("4");
        let mut local = build(1, 0, &config, |ctx| {
            LocalGroupAggregateOperator::try_new(&local_spec, ctx)
        });
        let mut global = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&global_spec, ctx)
        });
        let mut single = build(1, 0, &config, |ctx| {
            GroupAggregateOperator::try_new(&one_phase, ctx)
        });
        let kinded = |pairs: &[(i64, Option<i64>)], kinds: &[&str]| {
            crate::operators::testing::with_kinds(rows(pairs), kinds)
        };
        let input = [
            // Mini-batch 1: key 1 holds 1, 3 and 5 (variance 4), then 3 leaves.
            kinded(
                &[(1, Some(1)), (1, Some(3)), (1, Some(5))],
                &["+I", "+I", "+I"],
            ),
            kinded(&[(1, Some(3))], &["-D"]),
            // Mini-batch 2: 1 leaves and 13 comes: 5 and 13; key 2 gets one row.
            kinded(
                &[(1, Some(1)), (1, Some(13)), (2, Some(4))],
                &["-U", "+U", "+I"],
            ),
            kinded(&[(2, None)], &["+I"]),
            // Mini-batch 3: every row of key 1 leaves.
            kinded(&[(1, Some(5)), (1, Some(13))], &["-D", "-D"]),
        ];
        let mut partials = Vec::new();
        let mut expected = Vec::new();
        for batch in &input {
            partials.extend(feed(&mut local, 0, batch.clone()));
            expected.extend(changes(&feed(&mut single, 0, batch.clone())));
        }
        partials.extend(watermark(&mut local, 10));
        expected.extend(changes(&watermark(&mut single, 10)));
        // Floating point: one phase retracts row by row, two phases take whole parts
        // apart; both land within rounding of the exact answers.
        let exact = [
            "+I[1, 8.0, 4.0, 2.8284271247461903, 2.0]",
            "-U[1, 8.0, 4.0, 2.8284271247461903, 2.0]",
            "+U[1, 32.0, 16.0, 5.656854249492381, 4.0]",
            "+I[2, NULL, 0.0, NULL, 0.0]",
            "-D[1, 32.0, 16.0, 5.656854249492381, 4.0]",
        ];
        let exact: Vec<String> = exact.iter().map(|s| s.to_string()).collect();
        assert_close(&expected, &exact);
        assert_close(&through(&mut global, partials), &exact);
    }

    /// Rows as `changes` prints them, equal but for floats within 1e-9 of each other.
    fn assert_close(actual: &[String], expected: &[String]) {
        let values = |row: &str| -> (String, Vec<String>) {
            let (kind, rest) = row.split_at(2);
            let inner = rest.trim_start_matches('[').trim_end_matches(']');
            (
                kind.to_string(),
                inner.split(", ").map(str::to_string).collect(),
            )
        };
        assert_eq!(
            actual.len(),
            expected.len(),
            "{actual:?} against {expected:?}"
        );
        for (a, e) in actual.iter().zip(expected) {
            let ((ka, va), (ke, ve)) = (values(a), values(e));
            assert_eq!((ka, va.len()), (ke, ve.len()), "{a} against {e}");
            for (x, y) in va.iter().zip(&ve) {
                match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => {
                        assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{a} against {e}")
                    }
                    _ => assert_eq!(x, y, "{a} against {e}"),
                }
            }
        }
    }
}
