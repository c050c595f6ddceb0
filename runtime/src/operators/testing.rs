//! A small harness for operator unit tests: builds an operator as a TaskManager would (its
//! own subtask of a given parallelism, a state backend from the configuration), feeds it
//! batches on chosen inputs and watermarks, and returns what it emitted, in order.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, Int8Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::logical_expr::AggregateUDF;
use datafusion::physical_expr::aggregate::AggregateExprBuilder;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode, PhysicalGroupBy};
use datafusion::physical_plan::empty::EmptyExec;

use super::{Collector, OperatorContext, StreamOperator};
use crate::checkpoint::{CheckpointBarrier, CheckpointKind, RestoredState};
use crate::config::Configuration;
use crate::connector::{ConnectorResolver, Sink, Source, SubtaskInfo};
use crate::error::{Result, RuntimeError};
use crate::expr_codec::{encode_plan, function_context};
use crate::jobgraph::{ConnectorSpec, SerializedPlan};
use crate::stream_element::{RowKind, StreamElement};
use crate::time::Watermark;

struct NoConnectors;

impl ConnectorResolver for NoConnectors {
    fn create_source(&self, _: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        Err(RuntimeError::Internal(
            "no connectors in operator tests".into(),
        ))
    }
    fn create_sink(&self, _: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        Err(RuntimeError::Internal(
            "no connectors in operator tests".into(),
        ))
    }
}

/// Builds an operator for subtask `subtask` of `parallelism` under `config` (for example
/// `state.backend.type`), with 128 key groups.
pub fn build<T>(
    parallelism: u32,
    subtask: u32,
    config: &Configuration,
    make: impl FnOnce(&OperatorContext<'_>) -> Result<T>,
) -> T {
    let info = SubtaskInfo {
        job_id: "test".into(),
        vertex_name: "operator-test".into(),
        subtask_index: subtask,
        parallelism,
        attempt: 0,
        metrics: Arc::default(),
        batch_size: 1024,
        buffer_timeout: std::time::Duration::from_millis(100),
        cancel: Arc::default(),
    };
    let ctx = OperatorContext {
        resolver: &NoConnectors,
        info: &info,
        functions: function_context(),
        watermark_interval: std::time::Duration::ZERO,
        max_parallelism: 128,
        window_buffer_limit: 1000,
        buffer_memory_limit: usize::MAX,
        config,
    };
    make(&ctx).expect("the operator builds")
}

/// Feeds `batch` to input `input` and returns the batches emitted.
pub fn feed(op: &mut dyn StreamOperator, input: usize, batch: RecordBatch) -> Vec<RecordBatch> {
    let mut out = Collector::default();
    op.process_batch_from(input, batch, &mut out)
        .expect("the batch is processed");
    batches(out)
}

/// Feeds a watermark and returns the batches emitted.
pub fn watermark(op: &mut dyn StreamOperator, at: i64) -> Vec<RecordBatch> {
    let mut out = Collector::default();
    op.process_watermark(Watermark(at), &mut out)
        .expect("the watermark is processed");
    batches(out)
}

fn batches(mut out: Collector) -> Vec<RecordBatch> {
    out.drain()
        .filter_map(|e| match e {
            StreamElement::Batch(b) => Some(b),
            _ => None,
        })
        .collect()
}

/// A checkpoint's snapshot of `op`, as restored state for one new subtask (which keeps
/// only its own key groups).
pub fn snapshot(op: &mut dyn StreamOperator, id: u64) -> RestoredState {
    let barrier = CheckpointBarrier {
        id,
        timestamp: 0,
        kind: CheckpointKind::Checkpoint,
    };
    let s = op.snapshot_state(&barrier).expect("a snapshot");
    RestoredState {
        keyed: vec![s.keyed],
        union: vec![s.operator.clone()],
        operator: vec![s.operator],
        native: Vec::new(),
    }
}

/// A batch of BIGINT columns named `names`, rows given column by column.
pub fn ints(names: &[&str], columns: &[&[Option<i64>]]) -> RecordBatch {
    let schema = int_schema(names);
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|c| Arc::new(Int64Array::from(c.to_vec())) as ArrayRef)
        .collect();
    RecordBatch::try_new(schema, arrays).expect("a batch")
}

/// `batch` as an updating stream's: each row with the kind written as Flink prints it
/// (`+I`, `-U`, `+U`, `-D`).
pub fn with_kinds(batch: RecordBatch, kinds: &[&str]) -> RecordBatch {
    let kinds: Vec<i8> = kinds
        .iter()
        .map(|k| {
            let kind = [
                RowKind::Insert,
                RowKind::UpdateBefore,
                RowKind::UpdateAfter,
                RowKind::Delete,
            ]
            .into_iter()
            .find(|r| r.short_string() == *k)
            .expect("a row kind as Flink prints it");
            kind.to_i8()
        })
        .collect();
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(Int8Array::from(kinds)));
    RecordBatch::try_new(crate::changelog::with_op_field(&batch.schema()), columns)
        .expect("a changelog batch")
}

/// A schema of nullable BIGINT columns.
pub fn int_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Int64, true))
            .collect::<Vec<_>>(),
    ))
}

/// The `AggregateExec` the planner would ship: `groups` columns, then each aggregate
/// function over a column, under an alias.
pub fn aggregate_plan(
    schema: &SchemaRef,
    groups: &[&str],
    aggregates: &[(Arc<AggregateUDF>, &str, &str)],
) -> SerializedPlan {
    encode_plan(Arc::new(aggregate_exec(schema, groups, aggregates))).expect("an encoded plan")
}

/// The same aggregation in one phase, as an `AggregateExec`. An aggregate whose alias starts
/// with `distinct_` is `DISTINCT`.
pub fn aggregate_exec(
    schema: &SchemaRef,
    groups: &[&str],
    aggregates: &[(Arc<AggregateUDF>, &str, &str)],
) -> AggregateExec {
    let groups = groups
        .iter()
        .map(|g| (col(g, schema).expect("a column"), g.to_string()))
        .collect();
    let aggregates = aggregates
        .iter()
        .map(|(f, c, alias)| {
            // The argument cast to what the function takes, as the planner's coercion does.
            let arg = col(c, schema).expect("a column");
            let field = Arc::new(schema.field_with_name(c).expect("a column").clone());
            let wanted = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
                &[Arc::clone(&field)],
                f.as_ref(),
            )
            .expect("the argument's type coerces");
            let arg = match wanted[0].data_type() == field.data_type() {
                true => arg,
                false => Arc::new(datafusion::physical_expr::expressions::CastExpr::new(
                    arg,
                    wanted[0].data_type().clone(),
                    None,
                )),
            };
            Arc::new(
                AggregateExprBuilder::new(Arc::clone(f), vec![arg])
                    .schema(Arc::clone(schema))
                    .alias(*alias)
                    .with_distinct(alias.starts_with("distinct_"))
                    .build()
                    .expect("an aggregate"),
            )
        })
        .collect::<Vec<_>>();
    let filters = vec![None; aggregates.len()];
    AggregateExec::try_new(
        AggregateMode::Single,
        PhysicalGroupBy::new_single(groups),
        aggregates,
        filters,
        Arc::new(EmptyExec::new(Arc::clone(schema))),
        Arc::clone(schema),
    )
    .expect("an AggregateExec")
}

/// Each row of emitted batches as `kind[v1, v2, ..]`, values as Arrow displays them.
pub fn changes(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let ops = crate::changelog::op_strings(b).expect("row kinds");
        let formatters: Vec<ArrayFormatter<'_>> = crate::changelog::data_columns(b)
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("a formatter"))
            .collect();
        for row in 0..b.num_rows() {
            let values: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push(format!("{}[{}]", ops.value(row), values.join(", ")));
        }
    }
    out
}
