//! Stream operators: the [`StreamOperator`] trait, the [`Collector`] operators emit into,
//! and [`build`], which turns an [`OperatorSpec`] into a running operator.
//!
//! Adding an operator: a file here holding it and its tests, a variant in
//! `jobgraph::OperatorSpec`, and an arm in [`build`].

mod aggregation;
mod buffer_budget;
mod calc;
mod changelog_normalize;
mod compacting_materializer;
mod group_aggregate;
mod join;
mod local_group_aggregate;
mod materializer_rows;
mod mini_batch;
mod over_aggregate;
mod rank;
mod retracting;
mod rowtime_first_row;
mod sink;
mod source;
mod state_cache;
#[cfg(test)]
pub(crate) mod testing;
mod upsert_materializer;
mod window;

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::TaskContext;

pub use buffer_budget::{BufferBudget, BUFFER_MEMORY_LIMIT_KEY};
pub use calc::CalcOperator;
pub use changelog_normalize::ChangelogNormalizeOperator;
pub use compacting_materializer::CompactingMaterializerOperator;
pub use group_aggregate::GroupAggregateOperator;
pub use join::{
    IntervalJoinOperator, StreamJoinOperator, TemporalJoinOperator, WindowJoinOperator,
};
pub use local_group_aggregate::{split_aggregate, LocalGroupAggregateOperator};
pub use over_aggregate::OverAggregateOperator;
pub use rank::RankOperator;
pub use retracting::{supports_local_retraction, supports_retraction};
pub use rowtime_first_row::RowtimeFirstRowOperator;
pub use sink::SinkOperator;
pub use source::{append_computed, SourceDriver, SourcePoll, WatermarkGenerator};
pub use upsert_materializer::UpsertMaterializerOperator;
pub use window::{slices as window_slices, WindowAggregateOperator, WindowTvfOperator};

use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::connector::{ConnectorResolver, SubtaskInfo};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::OperatorSpec;
use crate::stream_element::StreamElement;
use crate::time::Watermark;

/// Collects what an operator emits while handling one element.
#[derive(Debug, Default)]
pub struct Collector {
    elements: Vec<StreamElement>,
}

impl Collector {
    /// Emits a batch (empty batches are dropped).
    pub fn collect(&mut self, batch: RecordBatch) {
        if batch.num_rows() > 0 {
            self.elements.push(StreamElement::Batch(batch));
        }
    }

    /// Emits any element.
    pub fn push(&mut self, element: StreamElement) {
        self.elements.push(element);
    }

    /// Emits a watermark.
    pub fn emit_watermark(&mut self, watermark: Watermark) {
        self.elements.push(StreamElement::Watermark(watermark));
    }

    /// Takes what was emitted, leaving the collector empty.
    pub fn drain(&mut self) -> std::vec::Drain<'_, StreamElement> {
        self.elements.drain(..)
    }
}

/// An operator in a chain (Flink's `StreamOperator`). Hooks are called in this order:
/// `initialize_state` when the job restores from a checkpoint, `open`, then any number of
/// `process_batch` / `process_watermark` / `snapshot_state` / `notify_checkpoint_complete`,
/// then `finish` when all input has ended (it may still emit), then `close`. `abort`
/// replaces `finish` and `close` when the task is cancelled or fails. Only `process_batch`
/// is required; the watermark hook forwards by default, and an operator without state
/// keeps the checkpoint hooks' defaults.
pub trait StreamOperator: Send {
    /// A name for logs and EXPLAIN.
    fn name(&self) -> String;

    /// Called once before the first element.
    fn open(&mut self) -> Result<()> {
        Ok(())
    }

    /// Handles a batch of rows.
    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()>;

    /// Handles a batch from input `input` of a chain head with several logical inputs
    /// (a join's left = 0 and right = 1). One-input operators see it as `process_batch`.
    fn process_batch_from(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        out: &mut Collector,
    ) -> Result<()> {
        self.process_batch(batch, out)
    }

    /// Processing time advanced to `now` (epoch ms); called every few tens of
    /// milliseconds. Processing-time windows close here.
    fn on_processing_time(&mut self, _now: i64, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    /// A checkpoint barrier is about to pass: emit what must come before it (Flink's
    /// `prepareSnapshotPreBarrier`), such as rows a mini-batch holds.
    fn prepare_snapshot_pre_barrier(&mut self, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    /// Every channel of logical input `input` has ended (Flink's `BoundedMultiInput`);
    /// the other inputs may go on. Called on a chain head only, before `finish`.
    fn end_input(&mut self, _input: usize, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    /// Handles event-time progress; forwards it by default.
    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        out.emit_watermark(watermark);
        Ok(())
    }

    /// All input has ended: emit what is left and make output durable.
    fn finish(&mut self, _out: &mut Collector) -> Result<()> {
        Ok(())
    }

    /// Releases resources after `finish`.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }

    /// The task is cancelled or failed: discard uncommitted output.
    fn abort(&mut self) {}

    /// Restores what a checkpoint or savepoint held for this operator.
    fn initialize_state(&mut self, _state: RestoredState) -> Result<()> {
        Ok(())
    }

    /// Every element before `barrier` has been processed: returns what the checkpoint must
    /// hold. Called on the task thread, so it should only copy; the task uploads.
    fn snapshot_state(&mut self, _barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        Ok(OperatorSnapshot::default())
    }

    /// Checkpoint `id` completed (every task acknowledged it and its metadata is stored).
    fn notify_checkpoint_complete(&mut self, _id: u64) -> Result<()> {
        Ok(())
    }

    /// Whether `finish` left output that becomes visible only when the job's final
    /// checkpoint completes (a two-phase-commit sink's last files).
    fn awaits_final_commit(&self) -> bool {
        false
    }
}

/// What operators need from their TaskManager when they are built.
pub struct OperatorContext<'a> {
    pub resolver: &'a dyn ConnectorResolver,
    pub info: &'a SubtaskInfo,
    /// Holds DataFusion's built-in functions, which decoding expressions needs.
    pub functions: Arc<TaskContext>,
    /// `pipeline.auto-watermark-interval`; zero means a watermark after every row.
    pub watermark_interval: std::time::Duration,
    /// `pipeline.max-parallelism`: the number of key groups.
    pub max_parallelism: u32,
    /// `table.exec.window-agg.buffer-size-limit`.
    pub window_buffer_limit: usize,
    /// `table.exec.window.buffer-memory-limit`, in bytes.
    pub buffer_memory_limit: usize,
    /// The job's configuration, from which operators get their state backend.
    pub config: &'a crate::config::Configuration,
}

impl OperatorContext<'_> {
    /// Whether keyed state lives on the heap (`state.backend.type` = `hashmap`), where
    /// buffered rows count against `table.exec.window.buffer-memory-limit`.
    pub fn heap_state(&self) -> bool {
        self.config
            .get_string(&crate::config::state::BACKEND_TYPE)
            .eq_ignore_ascii_case("hashmap")
    }

    /// The keyed state backend `state.backend.type` names, for this subtask's key groups.
    pub fn keyed_state_backend(&self) -> Result<Box<dyn crate::state::KeyedStateBackend>> {
        let range = crate::state::key_group::compute_key_group_range_for_operator_index(
            self.max_parallelism,
            self.info.parallelism,
            self.info.subtask_index,
        );
        let scope = format!(
            "{}-{}-{}-{}",
            self.info.job_id,
            self.info
                .vertex_name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(24)
                .collect::<String>(),
            self.info.subtask_index,
            self.info.attempt
        );
        crate::state::create_backend(self.config, range, &scope)
    }

    /// The keyed state backend of an operator whose state Flink retains for
    /// `table.exec.state.ttl` (group aggregation, regular joins, Top-N).
    pub fn keyed_state_backend_with_ttl(&self) -> Result<Box<dyn crate::state::KeyedStateBackend>> {
        self.keyed_state_backend_with_ttl_but(&[])
    }

    /// The same, but the values of `lasting` never expire.
    pub fn keyed_state_backend_with_ttl_but(
        &self,
        lasting: &[&str],
    ) -> Result<Box<dyn crate::state::KeyedStateBackend>> {
        let backend = self.keyed_state_backend()?;
        let ttl = self.config.get_duration(&crate::config::table::STATE_TTL);
        Ok(match ttl.is_zero() {
            true => backend,
            false => {
                Box::new(crate::state::ttl::TtlBackend::new(backend, ttl).with_lasting(lasting))
            }
        })
    }
}

/// Builds the operator a spec describes. Sources are not operators: they head a chain and
/// are driven by the task (see [`SourceDriver`]).
pub fn build(spec: &OperatorSpec, ctx: &OperatorContext<'_>) -> Result<Box<dyn StreamOperator>> {
    match spec {
        OperatorSpec::Calc(calc) => Ok(Box::new(CalcOperator::try_new(calc, &ctx.functions)?)),
        OperatorSpec::Sink(sink) => Ok(Box::new(SinkOperator::try_new(sink, ctx)?)),
        OperatorSpec::WindowTvf(w) => Ok(Box::new(WindowTvfOperator::try_new(w, ctx)?)),
        OperatorSpec::WindowAggregate(w) => Ok(Box::new(WindowAggregateOperator::try_new(w, ctx)?)),
        OperatorSpec::WindowJoin(w) => Ok(Box::new(WindowJoinOperator::try_new(w, ctx)?)),
        OperatorSpec::LocalGroupAggregate(l) => {
            Ok(Box::new(LocalGroupAggregateOperator::try_new(l, ctx)?))
        }
        OperatorSpec::GroupAggregate(g) => Ok(Box::new(GroupAggregateOperator::try_new(g, ctx)?)),
        OperatorSpec::StreamJoin(j) => Ok(Box::new(StreamJoinOperator::try_new(j, ctx)?)),
        OperatorSpec::Rank(r) if r.first_row_on_watermark.is_some() => {
            Ok(Box::new(RowtimeFirstRowOperator::try_new(r, ctx)?))
        }
        OperatorSpec::Rank(r) => Ok(Box::new(RankOperator::try_new(r, ctx)?)),
        OperatorSpec::ChangelogNormalize(c) => {
            Ok(Box::new(ChangelogNormalizeOperator::try_new(c, ctx)?))
        }
        OperatorSpec::UpsertMaterializer(m) if m.on_watermark.is_some() => {
            Ok(Box::new(CompactingMaterializerOperator::try_new(m, ctx)?))
        }
        OperatorSpec::UpsertMaterializer(m) => {
            Ok(Box::new(UpsertMaterializerOperator::try_new(m, ctx)?))
        }
        OperatorSpec::IntervalJoin(j) => Ok(Box::new(IntervalJoinOperator::try_new(j, ctx)?)),
        OperatorSpec::TemporalJoin(j) => Ok(Box::new(TemporalJoinOperator::try_new(j, ctx)?)),
        OperatorSpec::OverAggregate(o) => Ok(Box::new(OverAggregateOperator::try_new(o, ctx)?)),
        OperatorSpec::Source(_) => Err(RuntimeError::Internal(
            "a source can only head an operator chain".into(),
        )),
    }
}
