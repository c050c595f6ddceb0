//! Serializable descriptions of operators; `operators::build` turns each into a running
//! operator on a TaskManager.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion_proto::protobuf;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};

/// An Arrow schema in datafusion-proto's encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedSchema(pub Vec<u8>);

impl SerializedSchema {
    /// Encodes a schema.
    pub fn encode(schema: &Schema) -> Result<Self> {
        let proto = protobuf::Schema::try_from(schema)
            .map_err(|e| RuntimeError::Internal(format!("cannot encode schema: {e}")))?;
        Ok(Self(proto.encode_to_vec()))
    }

    /// Decodes back into an Arrow schema.
    pub fn decode(&self) -> Result<SchemaRef> {
        let proto = protobuf::Schema::decode(self.0.as_slice())
            .map_err(|e| RuntimeError::Internal(format!("cannot decode schema: {e}")))?;
        let schema = Schema::try_from(&proto)
            .map_err(|e| RuntimeError::Internal(format!("cannot decode schema: {e}")))?;
        Ok(Arc::new(schema))
    }
}

/// A DataFusion physical expression in datafusion-proto's encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedExpr(pub Vec<u8>);

/// A table's connector: its physical schema and WITH options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorSpec {
    /// The table the connector belongs to (for messages).
    pub table: String,
    pub schema: SerializedSchema,
    pub options: BTreeMap<String, String>,
    /// The table's `PRIMARY KEY` columns (an `upsert-kafka` table's message key); empty
    /// without one.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// `PARTITIONED BY` columns, in order (a filesystem table's `k=v/` directory levels);
    /// empty when the table is not partitioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<String>,
    /// For a scan: a predicate over the partition columns alone (a batch of those
    /// columns, in `partition_keys` order) that decides which partitions are read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_filter: Option<SerializedExpr>,
    /// For a scan: the columns (of `schema`) the job reads. A format may leave the others
    /// unparsed (NULL), as the `csv` format does; `None` reads them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_columns: Option<Vec<usize>>,
}

impl ConnectorSpec {
    /// The `connector` option.
    pub fn connector(&self) -> &str {
        self.options
            .get("connector")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Reads a table's source and emits its rows, optionally only some columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// The connector, with the table's physical columns.
    pub connector: ConnectorSpec,
    /// Computed columns (`c AS expr`), appended after the physical ones in this order;
    /// expressions are bound to the physical schema.
    #[serde(default)]
    pub computed: Vec<SerializedExpr>,
    /// Physical plus computed columns, with time attributes marked.
    #[serde(default)]
    pub table_schema: Option<SerializedSchema>,
    /// `WATERMARK FOR`, bound to `table_schema`.
    #[serde(default)]
    pub watermark: Option<SourceWatermarkSpec>,
    /// Indices into `table_schema` of the columns to emit; all when `None`.
    pub projection: Option<Vec<usize>>,
}

/// How a source generates watermarks: per split, the largest value of `expr` seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceWatermarkSpec {
    /// Index of the rowtime column in the table schema.
    pub rowtime: usize,
    pub expr: SerializedExpr,
    /// As written in the DDL, for EXPLAIN.
    pub description: String,
}

/// A window table-valued function's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum WindowKind {
    /// `TUMBLE(..., size [, offset])`.
    Tumble { size: i64, offset: i64 },
    /// `HOP(..., slide, size [, offset])`.
    Hop { slide: i64, size: i64, offset: i64 },
    /// `CUMULATE(..., step, size [, offset])`.
    Cumulate { step: i64, size: i64, offset: i64 },
    /// `SESSION(... [PARTITION BY k], ..., gap)`. The TVF operator gives each row the
    /// window `[ts, ts + gap)`; the window aggregation merges overlapping ones per key.
    Session { gap: i64 },
}

impl std::fmt::Display for WindowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let offset = |o: i64| {
            if o == 0 {
                String::new()
            } else {
                format!(", offset={o}ms")
            }
        };
        match self {
            WindowKind::Session { gap } => write!(f, "SESSION(gap={gap}ms)"),
            WindowKind::Tumble { size, offset: o } => {
                write!(f, "TUMBLE(size={size}ms{})", offset(*o))
            }
            WindowKind::Hop {
                slide,
                size,
                offset: o,
            } => {
                write!(f, "HOP(slide={slide}ms, size={size}ms{})", offset(*o))
            }
            WindowKind::Cumulate {
                step,
                size,
                offset: o,
            } => {
                write!(f, "CUMULATE(step={step}ms, size={size}ms{})", offset(*o))
            }
        }
    }
}

/// Assigns rows to windows, appending `window_start`, `window_end` and `window_time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowTvfSpec {
    pub input_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    /// The time attribute column in the input.
    pub time_column: usize,
    pub kind: WindowKind,
    /// Set when the operator runs in its window aggregation's chain, behind the exchange:
    /// it then sees the aggregation's watermark, drops the row-window pairs whose window has
    /// fired, and counts as late the rows all of whose windows have.
    #[serde(default)]
    pub drop_late: bool,
    /// Set when the window aggregation after it keeps HOP or CUMULATE windows as slices:
    /// each row then gets the one slice holding it (its `window_start` / `window_end` are
    /// the slice's) instead of a copy per window, and is late only when the last window
    /// holding its slice has fired.
    #[serde(default)]
    pub slices: bool,
}

/// Window aggregation: rows grouped by window and key, each window emitted once when
/// it closes. The group-by and aggregate expressions travel as a DataFusion
/// `AggregateExec` over an empty input, so datafusion-proto encodes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowAggregateSpec {
    pub input_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    pub aggregate: SerializedPlan,
    /// Positions of `window_start` and `window_end` among the group-by expressions.
    pub window_start: usize,
    pub window_end: usize,
    /// Positions among the group-by expressions of the keys rows are hashed on (the
    /// exchange's key columns): they give a group's key group in keyed state.
    #[serde(default)]
    pub key_positions: Vec<usize>,
    /// For SESSION windows, the gap: rows of a key whose windows overlap merge into one
    /// session.
    #[serde(default)]
    pub session_gap: Option<i64>,
    /// Position of `window_time` among the group-by expressions, if grouped by.
    #[serde(default)]
    pub window_time: Option<usize>,
    /// Windows close on processing time instead of watermarks.
    pub proctime: bool,
    pub description: String,
    /// The HOP or CUMULATE windows the input's `window_start` / `window_end` are slices of
    /// (see [`WindowTvfSpec::slices`]): groups are aggregated per slice, and a window, when
    /// it fires, merges the slices it spans (Flink's `SliceSharedAssigner`).
    #[serde(default)]
    pub slices_of: Option<WindowKind>,
}

/// Group aggregation over an unbounded stream: one result row per group key, updated as
/// rows arrive; its output is an updating stream (row kinds in the `__op` column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAggregateSpec {
    pub input_schema: SerializedSchema,
    /// The result's columns (group keys, then aggregates), without the row-kind column.
    pub output_schema: SerializedSchema,
    pub aggregate: SerializedPlan,
    /// Positions among the group-by expressions of the keys rows are hashed on (the
    /// exchange's key columns): they give a group's key group in keyed state.
    pub key_positions: Vec<usize>,
    pub description: String,
    /// The input is updating: rows with kind `-U` / `-D` are taken out of their groups.
    #[serde(default)]
    pub retracting: bool,
    /// Emit the old side of each update (`-U`): Flink's `generateUpdateBefore`, which the
    /// planner clears when no consumer needs it.
    #[serde(default = "emits_update_before")]
    pub update_before: bool,
    /// Whether the rows are a local aggregation's partial states (Flink's two-phase
    /// aggregation) rather than the query's rows.
    #[serde(default)]
    pub phase: AggregatePhase,
}

/// Which part of an aggregation an operator runs (Flink's one- and two-phase aggregation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggregatePhase {
    /// The whole aggregation, over the query's rows.
    #[default]
    Single,
    /// Merges partial states from local aggregations into each group's accumulators.
    Global,
}

/// The local phase of a two-phase group aggregation (Flink's `LocalGroupAggregate`): before
/// the exchange, a mini-batch of rows is aggregated per group and sent on as one row of
/// partial accumulator states per group. It keeps no state of its own: the mini-batch is
/// flushed before every checkpoint barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalGroupAggregateSpec {
    pub input_schema: SerializedSchema,
    /// Group keys, then each aggregate's partial state columns.
    pub output_schema: SerializedSchema,
    /// An `AggregateExec` in partial mode; over an updating input (`retracting`), the
    /// single-phase plan.
    pub aggregate: SerializedPlan,
    pub description: String,
    /// The input is updating: each group's row is the change a mini-batch makes to the
    /// group (rows added less rows taken out, per aggregate the change to its retract
    /// accumulator), encoded as the global phase keeps a group's state, in one binary
    /// column after the keys (Flink's LocalGroupAggregate with `COUNT_RETRACT(*)`).
    #[serde(default)]
    pub retracting: bool,
}

/// Job graphs planned before the changelog-mode inference emitted `-U` everywhere.
fn emits_update_before() -> bool {
    true
}

/// Regular (unwindowed) join of two streams (Flink's `StreamingJoinOperator`): each side's
/// rows are kept in keyed state under their join key, and every arriving row is joined with
/// the other side's rows of its key at once. Inner only, over insert-only inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamJoinSpec {
    pub left_schema: SerializedSchema,
    pub right_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    /// Equi-join columns, left and right, of equal types.
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// Extra condition over the left then right columns.
    pub filter: Option<SerializedExpr>,
    pub description: String,
    #[serde(default)]
    pub join_type: WindowJoinType,
    /// The output is updating (an input is, or the join is outer or anti): its batches
    /// carry row kinds.
    #[serde(default)]
    pub updating: bool,
    /// NULL keys match each other (INTERSECT, EXCEPT, `IS NOT DISTINCT FROM`).
    #[serde(default)]
    pub nulls_equal: bool,
    /// Both inputs are gathered into mini-batches and folded before they are joined
    /// (Flink's `MiniBatchStreamingJoinOperator`, inner and outer joins).
    #[serde(default)]
    pub mini_batch: bool,
}

/// Window join: rows of both inputs buffered per window and joined when it closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowJoinSpec {
    pub left_schema: SerializedSchema,
    pub right_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    /// Equi-join columns, left and right, window bounds included.
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// `window_end` on each side.
    pub left_window_end: usize,
    pub right_window_end: usize,
    /// Extra condition over the joined row (left columns, then right).
    pub filter: Option<SerializedExpr>,
    pub join_type: WindowJoinType,
    pub proctime: bool,
    pub description: String,
}

/// Interval join over event time: keys equal and `r.ts + lower <= l.ts <= r.ts + upper`
/// (milliseconds), both inputs insert-only; rows are kept until the watermark passes the
/// last time a row of the other side could match them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalJoinSpec {
    pub left_schema: SerializedSchema,
    pub right_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// The rowtime column of each side.
    pub left_time: usize,
    pub right_time: usize,
    pub lower: i64,
    pub upper: i64,
    /// The whole join condition besides the keys (the time bounds included), over the left
    /// then the right columns.
    pub filter: Option<SerializedExpr>,
    /// Inner, left, right or full outer.
    pub join_type: WindowJoinType,
    pub description: String,
}

/// Temporal join (`JOIN t FOR SYSTEM_TIME AS OF l.time`): each left row joined with the
/// right rows valid at its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemporalJoinSpec {
    pub left_schema: SerializedSchema,
    pub right_schema: SerializedSchema,
    /// The left columns, then the right ones (key columns computed for the join dropped).
    pub output_schema: SerializedSchema,
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// How many of the left input's columns are output: the ones after are join keys the
    /// planner computed.
    pub left_output_columns: usize,
    /// How many of the right input's columns are output.
    pub right_output_columns: usize,
    /// The left time attribute the join is `AS OF`.
    pub left_time: usize,
    /// Event time: the right input's rowtime, whose versions (by primary key) the left
    /// rows see. `None`: processing time over a bounded right input, which is read whole
    /// before any left row is joined (a lookup join).
    pub right_time: Option<usize>,
    /// The condition besides the keys, over the left then the right columns.
    pub filter: Option<SerializedExpr>,
    /// Inner or left outer.
    pub left_outer: bool,
    /// The left input is updating: its row kinds pass through to the output.
    pub updating: bool,
    pub description: String,
}

/// OVER aggregation: each input row with aggregates over its frame of its partition,
/// ordered by a time attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverAggregateSpec {
    pub input_schema: SerializedSchema,
    /// The input's columns, then one per aggregate.
    pub output_schema: SerializedSchema,
    pub partition_keys: Vec<usize>,
    /// The ORDER BY time attribute.
    pub time: usize,
    /// Ordered by processing time: rows are aggregated as they arrive.
    pub proctime: bool,
    pub frame: OverFrame,
    /// An `AggregateExec` without groups holding the aggregates over the input.
    pub aggregates: SerializedPlan,
    pub description: String,
}

/// The frame of an OVER aggregation, ending at the current row. `None`: UNBOUNDED
/// PRECEDING.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OverFrame {
    Rows { preceding: Option<u64> },
    Range { preceding_ms: Option<i64> },
}

/// Flink's `ChangelogNormalize`: an upsert stream (`upsert-kafka`) into a full changelog,
/// by the last row per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangelogNormalizeSpec {
    /// The rows, without the row-kind column.
    pub schema: SerializedSchema,
    /// The upsert key's columns.
    pub key_columns: Vec<usize>,
    /// The upsert table read, which names the operator's state.
    #[serde(default)]
    pub table: String,
    pub description: String,
    /// Emit the old side of each update (`-U`); cleared when no consumer needs it.
    #[serde(default = "emits_update_before")]
    pub update_before: bool,
}

/// Flink's `SinkUpsertMaterializer` (`INSERT ... ON CONFLICT DO DEDUPLICATE`): before an
/// upsert sink whose primary key is not the query's upsert key, every row of each primary
/// key is kept in arrival order, so that a retraction can give the key back the row
/// still standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsertMaterializerSpec {
    /// The rows, without the row-kind column.
    pub schema: SerializedSchema,
    /// The sink's primary key columns: the state's key.
    pub key_columns: Vec<usize>,
    /// The query's upsert key columns, when known: rows are told apart by them, else by
    /// the whole row.
    pub upsert_key: Option<Vec<usize>>,
    /// The sink table, which names the operator's state.
    pub table: String,
    pub description: String,
    /// `ON CONFLICT DO ERROR` or `DO NOTHING`: changes wait for the watermark and are
    /// compacted then (Flink's `WatermarkCompactingSinkMaterializer`); none is
    /// `DO DEDUPLICATE`.
    #[serde(default)]
    pub on_watermark: Option<WatermarkConflict>,
}

/// What the watermark-compacting materializer does with several rows on one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatermarkConflict {
    /// Fail the job.
    Error,
    /// Keep the row the key already has (or the first of them).
    Nothing,
}

/// Top-N and deduplication (Flink's Rank): `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)`
/// kept to the ranks `rank_start..=rank_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankSpec {
    pub input_schema: SerializedSchema,
    /// The input's columns, then the rank number; without the row-kind column.
    pub output_schema: SerializedSchema,
    /// Input columns of PARTITION BY (none: one partition).
    pub partition_keys: Vec<usize>,
    pub order_by: Vec<RankOrder>,
    pub rank_start: u64,
    pub rank_end: u64,
    /// The rank number is read downstream: changes are per rank (`-U` / `+U`), not per row.
    pub output_rank: bool,
    /// The input is updating.
    pub retracting: bool,
    /// The output is updating (all but a keep-first deduplication by processing time).
    pub updating: bool,
    /// The latest row wins a tie (keep-last deduplication).
    pub ties_latest_first: bool,
    pub description: String,
    /// Emit the old side of each update (`-U`); cleared when no consumer needs it.
    #[serde(default = "emits_update_before")]
    pub update_before: bool,
    /// A keep-first deduplication by event time over an insert-only input, without
    /// mini-batches: the input column of its time. Each key's first row goes out once the
    /// watermark reaches it, and the output is insert-only (Flink's
    /// `outputInsertOnly=[true]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_row_on_watermark: Option<usize>,
}

/// One ORDER BY key of a Rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankOrder {
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

/// Which rows a join emits (window joins and regular joins alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowJoinType {
    /// Matching pairs: left columns then right columns.
    #[default]
    Inner,
    /// Matching pairs plus left rows without a match, right columns null.
    LeftOuter,
    /// Matching pairs plus right rows without a match, left columns null.
    RightOuter,
    /// Matching pairs plus the rows of either side without a match.
    FullOuter,
    /// Left rows with a match (`IN` / `EXISTS`), or rows the planner proved unique.
    LeftSemi,
    /// Left rows without a match (`NOT EXISTS`).
    LeftAnti,
    RightSemi,
    RightAnti,
}

/// A DataFusion physical plan in datafusion-proto's encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedPlan(pub Vec<u8>);

/// Filter then project (Flink's Calc), over expressions bound to `input_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalcSpec {
    pub input_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    pub filter: Option<SerializedExpr>,
    pub projection: Vec<SerializedExpr>,
    /// How the plan printed the expressions, for EXPLAIN and logs.
    pub description: String,
}

/// Writes rows into a table's sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkSpec {
    pub connector: ConnectorSpec,
    /// The sink's input is updating: its batches carry row kinds.
    #[serde(default)]
    pub updating: bool,
    /// The sink needs the old side of each update (`-U`): it takes a retract stream, or
    /// its primary key is not the query's upsert key (Flink's `inferSinkRequiredTraits`).
    #[serde(default = "emits_update_before")]
    pub update_before: bool,
}

/// The description of the Calc that drops `-U` rows, which EXPLAIN shows by Flink's name.
pub const DROP_UPDATE_BEFORE: &str = "DropUpdateBefore";

/// One operator of a chain. Adding an operator: a variant here and its arm in
/// `operators::build`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperatorSpec {
    Source(SourceSpec),
    Calc(CalcSpec),
    WindowTvf(WindowTvfSpec),
    WindowAggregate(WindowAggregateSpec),
    LocalGroupAggregate(LocalGroupAggregateSpec),
    GroupAggregate(GroupAggregateSpec),
    StreamJoin(StreamJoinSpec),
    WindowJoin(WindowJoinSpec),
    Rank(RankSpec),
    ChangelogNormalize(ChangelogNormalizeSpec),
    UpsertMaterializer(UpsertMaterializerSpec),
    IntervalJoin(IntervalJoinSpec),
    TemporalJoin(TemporalJoinSpec),
    OverAggregate(OverAggregateSpec),
    Sink(SinkSpec),
}

impl OperatorSpec {
    /// A short name for EXPLAIN and SHOW JOBS.
    pub fn describe(&self) -> String {
        match self {
            OperatorSpec::Source(s) => {
                format!("Source: {}[{}]", s.connector.table, s.connector.connector())
            }
            OperatorSpec::Calc(c) if c.description == DROP_UPDATE_BEFORE => c.description.clone(),
            OperatorSpec::Calc(c) => format!("Calc({})", c.description),
            OperatorSpec::WindowTvf(w) if w.slices => {
                format!("WindowTableFunction({}, slices)", w.kind)
            }
            OperatorSpec::WindowTvf(w) => format!("WindowTableFunction({})", w.kind),
            OperatorSpec::WindowAggregate(w) => match w.slices_of {
                Some(kind) => format!("WindowAggregate({}, slicesOf=[{kind}])", w.description),
                None => format!("WindowAggregate({})", w.description),
            },
            OperatorSpec::LocalGroupAggregate(l) => {
                format!("LocalGroupAggregate({})", l.description)
            }
            OperatorSpec::GroupAggregate(g) => match g.phase {
                AggregatePhase::Single => format!("GroupAggregate({})", g.description),
                AggregatePhase::Global => format!("GlobalGroupAggregate({})", g.description),
            },
            OperatorSpec::StreamJoin(j) if j.mini_batch => {
                format!("Join({}, miniBatch=[true])", j.description)
            }
            OperatorSpec::StreamJoin(j) => format!("Join({})", j.description),
            OperatorSpec::WindowJoin(w) => format!("WindowJoin({})", w.description),
            OperatorSpec::Rank(r) => format!("Rank({})", r.description),
            OperatorSpec::ChangelogNormalize(c) => format!("ChangelogNormalize({})", c.description),
            OperatorSpec::UpsertMaterializer(m) => format!("SinkMaterializer({})", m.description),
            OperatorSpec::IntervalJoin(j) => format!("IntervalJoin({})", j.description),
            OperatorSpec::TemporalJoin(j) => format!("TemporalJoin({})", j.description),
            OperatorSpec::OverAggregate(o) => format!("OverAggregate({})", o.description),
            OperatorSpec::Sink(s) => {
                format!("Sink: {}[{}]", s.connector.table, s.connector.connector())
            }
        }
    }
}
