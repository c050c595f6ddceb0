//! Flink's `OptimizerConfigOptions`, accepted so that Flink SQL pasted as is runs. Eddy
//! plans from the query's shape, with no cost-based optimizer, so most say "not
//! applicable"; each says how Eddy treats it.

use super::flink_table::MAX_COUNT;
use super::{ConfigOption, ValueKind};

// ---------------------------------------------------------------------------------------
// OptimizerConfigOptions
// ---------------------------------------------------------------------------------------

pub const OPTIMIZER_ADAPTIVE_BROADCAST_JOIN_STRATEGY: ConfigOption = ConfigOption {
    key: "table.optimizer.adaptive-broadcast-join.strategy",
    default: "auto",
    kind: ValueKind::Enum(&["auto", "runtime_only", "none"]),
    description: "When a batch join may become a broadcast hash join: chosen by Flink, only at runtime, or only at compile time. Eddy: not applicable — Eddy has no adaptive batch scheduler; DataFusion plans batch joins.",
};

pub const OPTIMIZER_AGG_PHASE_STRATEGY: ConfigOption = ConfigOption {
    key: "table.optimizer.agg-phase-strategy",
    default: "AUTO",
    kind: ValueKind::Enum(&["AUTO", "ONE_PHASE", "TWO_PHASE"]),
    description: "Whether group aggregations run as one phase after the exchange (ONE_PHASE) or as a local phase before it and a global one after it (AUTO, TWO_PHASE). As in Flink, two phases need 'table.exec.mini-batch.enabled': the local phase sends one row of partial states per group and mini-batch. Eddy keeps one phase over an updating input.",
};

pub const OPTIMIZER_BUSHY_JOIN_REORDER_THRESHOLD: ConfigOption = ConfigOption {
    key: "table.optimizer.bushy-join-reorder-threshold",
    default: "12",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most joined inputs for which join reordering searches bushy trees rather than left-deep ones. Eddy: not applicable — Eddy has no cost-based join reordering.",
};

pub const OPTIMIZER_DELTA_JOIN_STRATEGY: ConfigOption = ConfigOption {
    key: "table.optimizer.delta-join.strategy",
    default: "AUTO",
    kind: ValueKind::Enum(&["AUTO", "FORCE", "NONE"]),
    description: "Whether a regular join over indexed tables becomes a delta join that looks rows up instead of keeping them in state. Eddy: not applicable — Eddy has no delta joins; every regular join keeps both sides in its own state.",
};

pub const OPTIMIZER_DISTINCT_AGG_SPLIT_BUCKET_NUM: ConfigOption = ConfigOption {
    key: "table.optimizer.distinct-agg.split.bucket-num",
    default: "1024",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The number of buckets a split distinct aggregation spreads each distinct key over. Eddy: not applicable — Eddy does not split distinct aggregations.",
};

pub const OPTIMIZER_DISTINCT_AGG_SPLIT_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.distinct-agg.split.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether COUNT(DISTINCT) and the like are split into two levels of aggregation to spread skewed keys. Eddy: not applicable — Eddy has no such optimizer rule and aggregates distinct values in one operator.",
};

pub const OPTIMIZER_DYNAMIC_FILTERING_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.dynamic-filtering.enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether the optimizer pushes filters found at runtime into partitioned table scans. Eddy: not applicable — Eddy has no dynamic filtering.",
};

pub const OPTIMIZER_INCREMENTAL_AGG_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.incremental-agg-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether a split distinct aggregation with local aggregation merges its middle two aggregations into one incremental one. Eddy: not applicable — Eddy splits no aggregations.",
};

pub const OPTIMIZER_JOIN_BROADCAST_THRESHOLD: ConfigOption = ConfigOption {
    key: "table.optimizer.join.broadcast-threshold",
    default: "1048576",
    kind: ValueKind::Int {
        min: -1,
        max: i64::MAX,
    },
    description: "Bytes under which a batch join's smaller side is broadcast to every task; -1 disables broadcasting. Eddy: not applicable — DataFusion plans Eddy's batch joins.",
};

pub const OPTIMIZER_JOIN_REORDER_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.join-reorder-enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the optimizer reorders joins by estimated cost. Eddy: not applicable — Eddy has no cost-based optimizer; streaming joins run in the order the query writes them.",
};

pub const OPTIMIZER_MULTI_JOIN_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.multi-join.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether a chain of streaming joins on a common key runs as one multi-way join operator. Eddy: not applicable — Eddy runs every join as its own two-input operator.",
};

pub const OPTIMIZER_MULTIPLE_INPUT_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.multiple-input-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether batch operators connected by pipelined shuffles are merged into one multiple-input operator. Eddy: not applicable — Eddy has no multiple-input operator.",
};

pub const OPTIMIZER_NON_DETERMINISTIC_UPDATE_STRATEGY: ConfigOption = ConfigOption {
    key: "table.optimizer.non-deterministic-update.strategy",
    default: "IGNORE",
    kind: ValueKind::Enum(&["TRY_RESOLVE", "IGNORE"]),
    description: "Whether the optimizer tries to resolve, or rejects, non-deterministic updates in a changelog pipeline instead of ignoring them. Eddy: accepted; has no effect, as Eddy does no such analysis (Flink's IGNORE).",
};

pub const OPTIMIZER_PTF_MAX_TABLES: ConfigOption = ConfigOption {
    key: "table.optimizer.ptf.max-tables",
    default: "20",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most table arguments a process table function may take. Eddy: not applicable — Eddy has no process table functions.",
};

pub const OPTIMIZER_REUSE_OPTIMIZE_BLOCK_WITH_DIGEST_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.reuse-optimize-block-with-digest-enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the optimizer finds common sub-graphs by digest and optimizes each once. Eddy: not applicable — Eddy's planning is its own and has no optimize blocks.",
};

pub const OPTIMIZER_REUSE_SINK_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.reuse-sink-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether statements of a statement set writing the same sink share one sink operator. Eddy: not applicable — Eddy gives each INSERT of a statement set its own sink.",
};

pub const OPTIMIZER_REUSE_SOURCE_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.reuse-source-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether scans of the same table in one job share one source. Eddy: not applicable — Eddy gives each scan of a table its own source.",
};

pub const OPTIMIZER_REUSE_SUB_PLAN_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.reuse-sub-plan-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether identical sub-plans in one job are computed once and shared. Eddy: not applicable — Eddy translates each occurrence of a sub-plan into its own operators.",
};

pub const OPTIMIZER_RUNTIME_FILTER_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.runtime-filter.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the optimizer injects runtime filters built from one side of a batch join into the other. Eddy: not applicable — Eddy has no runtime filters; DataFusion plans batch joins.",
};

pub const OPTIMIZER_RUNTIME_FILTER_MAX_BUILD_DATA_SIZE: ConfigOption = ConfigOption {
    key: "table.optimizer.runtime-filter.max-build-data-size",
    default: "150 mb",
    kind: ValueKind::MemorySize,
    description: "The largest estimated build side for which a runtime filter is injected. Eddy: not applicable — Eddy has no runtime filters.",
};

pub const OPTIMIZER_RUNTIME_FILTER_MIN_FILTER_RATIO: ConfigOption = ConfigOption {
    key: "table.optimizer.runtime-filter.min-filter-ratio",
    default: "0.5",
    kind: ValueKind::Float,
    description: "The least estimated share of probe rows a runtime filter must remove to be injected. Eddy: not applicable — Eddy has no runtime filters.",
};

pub const OPTIMIZER_RUNTIME_FILTER_MIN_PROBE_DATA_SIZE: ConfigOption = ConfigOption {
    key: "table.optimizer.runtime-filter.min-probe-data-size",
    default: "10 gb",
    kind: ValueKind::MemorySize,
    description: "The smallest estimated probe side for which a runtime filter is injected. Eddy: not applicable — Eddy has no runtime filters.",
};

pub const OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_SKEWED_FACTOR: ConfigOption = ConfigOption {
    key: "table.optimizer.skewed-join-optimization.skewed-factor",
    default: "4.0",
    kind: ValueKind::Float,
    description: "How many times the median input a batch join task must receive to count as skewed and be split. Eddy: not applicable — Eddy has no adaptive batch scheduler.",
};

pub const OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_SKEWED_THRESHOLD: ConfigOption = ConfigOption {
    key: "table.optimizer.skewed-join-optimization.skewed-threshold",
    default: "256 mb",
    kind: ValueKind::MemorySize,
    description: "The least input a batch join task must receive before skew splitting applies to it. Eddy: not applicable — Eddy has no adaptive batch scheduler.",
};

pub const OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_STRATEGY: ConfigOption = ConfigOption {
    key: "table.optimizer.skewed-join-optimization.strategy",
    default: "auto",
    kind: ValueKind::Enum(&["auto", "forced", "none"]),
    description: "Whether skewed batch join keys are split at runtime: when cheap, even at the cost of an extra shuffle, or never. Eddy: not applicable — Eddy has no adaptive batch scheduler.",
};

pub const OPTIMIZER_SOURCE_REPORT_STATISTICS_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.source.report-statistics-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether the optimizer asks source connectors for statistics when the catalog has none. Eddy: not applicable — Eddy has no cost-based optimizer to use them.",
};

pub const OPTIMIZER_SQL2REL_PROJECT_MERGE_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.sql2rel.project-merge.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether projections are merged while Calcite converts the SQL tree into relational expressions. Eddy: not applicable — Eddy has no Calcite; DataFusion builds its logical plans.",
};

pub const OPTIMIZER_UNION_ALL_AS_BREAKPOINT_ENABLED: ConfigOption = ConfigOption {
    key: "table.optimizer.union-all-as-breakpoint-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether the optimizer splits the plan into optimize blocks at a UNION ALL. Eddy: not applicable — Eddy's planning is its own and has no optimize blocks.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    OPTIMIZER_ADAPTIVE_BROADCAST_JOIN_STRATEGY,
    OPTIMIZER_AGG_PHASE_STRATEGY,
    OPTIMIZER_BUSHY_JOIN_REORDER_THRESHOLD,
    OPTIMIZER_DELTA_JOIN_STRATEGY,
    OPTIMIZER_DISTINCT_AGG_SPLIT_BUCKET_NUM,
    OPTIMIZER_DISTINCT_AGG_SPLIT_ENABLED,
    OPTIMIZER_DYNAMIC_FILTERING_ENABLED,
    OPTIMIZER_INCREMENTAL_AGG_ENABLED,
    OPTIMIZER_JOIN_BROADCAST_THRESHOLD,
    OPTIMIZER_JOIN_REORDER_ENABLED,
    OPTIMIZER_MULTI_JOIN_ENABLED,
    OPTIMIZER_MULTIPLE_INPUT_ENABLED,
    OPTIMIZER_NON_DETERMINISTIC_UPDATE_STRATEGY,
    OPTIMIZER_PTF_MAX_TABLES,
    OPTIMIZER_REUSE_OPTIMIZE_BLOCK_WITH_DIGEST_ENABLED,
    OPTIMIZER_REUSE_SINK_ENABLED,
    OPTIMIZER_REUSE_SOURCE_ENABLED,
    OPTIMIZER_REUSE_SUB_PLAN_ENABLED,
    OPTIMIZER_RUNTIME_FILTER_ENABLED,
    OPTIMIZER_RUNTIME_FILTER_MAX_BUILD_DATA_SIZE,
    OPTIMIZER_RUNTIME_FILTER_MIN_FILTER_RATIO,
    OPTIMIZER_RUNTIME_FILTER_MIN_PROBE_DATA_SIZE,
    OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_SKEWED_FACTOR,
    OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_SKEWED_THRESHOLD,
    OPTIMIZER_SKEWED_JOIN_OPTIMIZATION_STRATEGY,
    OPTIMIZER_SOURCE_REPORT_STATISTICS_ENABLED,
    OPTIMIZER_SQL2REL_PROJECT_MERGE_ENABLED,
    OPTIMIZER_UNION_ALL_AS_BREAKPOINT_ENABLED,
];
