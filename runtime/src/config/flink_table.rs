//! Flink's table-layer keys that Eddy accepts so that Flink SQL pasted as is runs; each
//! says whether Eddy honours it.
//!
//! From Flink's `ExecutionConfigOptions` and `TableConfigOptions`, with Flink's defaults, so
//! that `SET` shows the values a Flink user expects. The optimizer's keys are in
//! [`super::flink_optimizer`], the SQL client's in [`super::flink_client`]; keys Eddy gives
//! real behaviour live in [`super::table`] and [`super::execution`] instead.

use super::{ConfigOption, ValueKind};

/// Upper bound for counts: large enough for any real setting, small enough that a typo
/// cannot size a buffer beyond memory if Eddy ever honours one of these keys.
pub(super) const MAX_COUNT: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------
// ExecutionConfigOptions
// ---------------------------------------------------------------------------------------

pub const ASYNC_LOOKUP_BUFFER_CAPACITY: ConfigOption = ConfigOption {
    key: "table.exec.async-lookup.buffer-capacity",
    default: "100",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most asynchronous lookups a lookup join keeps in flight. Eddy: not applicable — Eddy has no lookup sources; a processing-time temporal join reads its bounded right side whole.",
};

pub const ASYNC_LOOKUP_KEY_ORDERED_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.async-lookup.key-ordered-enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "When true, asynchronous lookup joins over a CDC stream keep the order of each upsert key. Eddy: not applicable — Eddy has no lookup sources.",
};

pub const ASYNC_LOOKUP_OUTPUT_MODE: ConfigOption = ConfigOption {
    key: "table.exec.async-lookup.output-mode",
    default: "ORDERED",
    kind: ValueKind::Enum(&["ORDERED", "ALLOW_UNORDERED"]),
    description: "Whether an asynchronous lookup join may emit results out of input order where that cannot change the result. Eddy: not applicable — Eddy has no lookup sources.",
};

pub const ASYNC_LOOKUP_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.async-lookup.timeout",
    default: "3 min",
    kind: ValueKind::Duration,
    description: "How long an asynchronous lookup may take before it fails. Eddy: not applicable — Eddy has no lookup sources.",
};

pub const ASYNC_ML_PREDICT_MAX_CONCURRENT_OPERATIONS: ConfigOption = ConfigOption {
    key: "table.exec.async-ml-predict.max-concurrent-operations",
    default: "10",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most asynchronous model calls ML_PREDICT keeps in flight. Eddy: not applicable — Eddy has no models and no ML_PREDICT.",
};

pub const ASYNC_ML_PREDICT_OUTPUT_MODE: ConfigOption = ConfigOption {
    key: "table.exec.async-ml-predict.output-mode",
    default: "ORDERED",
    kind: ValueKind::Enum(&["ORDERED", "ALLOW_UNORDERED"]),
    description: "Whether ML_PREDICT may emit results out of input order. Eddy: not applicable — Eddy has no models and no ML_PREDICT.",
};

pub const ASYNC_ML_PREDICT_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.async-ml-predict.timeout",
    default: "3 min",
    kind: ValueKind::Duration,
    description: "How long an asynchronous model call may take before it fails. Eddy: not applicable — Eddy has no models and no ML_PREDICT.",
};

/// Flink 1.19 and 1.20 name for what later became `max-concurrent-operations`; kept because
/// scripts written for those versions still set it.
pub const ASYNC_SCALAR_BUFFER_CAPACITY: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.buffer-capacity",
    default: "10",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most calls an asynchronous scalar function keeps in flight (the Flink 1.19 and 1.20 name). Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_SCALAR_MAX_ATTEMPTS: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.max-attempts",
    default: "3",
    kind: ValueKind::Int {
        min: 0,
        max: MAX_COUNT,
    },
    description: "How many times a failed asynchronous scalar function call is retried before the task fails. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_SCALAR_MAX_CONCURRENT_OPERATIONS: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.max-concurrent-operations",
    default: "10",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most calls an asynchronous scalar function keeps in flight. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_SCALAR_RETRY_DELAY: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.retry-delay",
    default: "100 ms",
    kind: ValueKind::Duration,
    description: "How long to wait before retrying a failed asynchronous scalar function call. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_SCALAR_RETRY_STRATEGY: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.retry-strategy",
    default: "FIXED_DELAY",
    kind: ValueKind::Enum(&["NO_RETRY", "FIXED_DELAY"]),
    description: "Whether failed asynchronous scalar function calls are retried after a fixed delay. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_SCALAR_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.async-scalar.timeout",
    default: "3 min",
    kind: ValueKind::Duration,
    description: "How long an asynchronous scalar function call may take before it fails. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_STATE_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.async-state.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether SQL operators use Flink's asynchronous state API (for disaggregated state such as ForSt). Eddy: accepted; has no effect, as Eddy's operators read their hashmap or rocksdb state directly, a batch at a time.",
};

pub const ASYNC_TABLE_MAX_CONCURRENT_OPERATIONS: ConfigOption = ConfigOption {
    key: "table.exec.async-table.max-concurrent-operations",
    default: "10",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The most calls an asynchronous table function keeps in flight. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_TABLE_MAX_RETRIES: ConfigOption = ConfigOption {
    key: "table.exec.async-table.max-retries",
    default: "3",
    kind: ValueKind::Int {
        min: 0,
        max: MAX_COUNT,
    },
    description: "How many times a failed asynchronous table function call is retried before the task fails. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_TABLE_RETRY_DELAY: ConfigOption = ConfigOption {
    key: "table.exec.async-table.retry-delay",
    default: "100 ms",
    kind: ValueKind::Duration,
    description: "How long to wait before retrying a failed asynchronous table function call. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_TABLE_RETRY_STRATEGY: ConfigOption = ConfigOption {
    key: "table.exec.async-table.retry-strategy",
    default: "FIXED_DELAY",
    kind: ValueKind::Enum(&["NO_RETRY", "FIXED_DELAY"]),
    description: "Whether failed asynchronous table function calls are retried after a fixed delay. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const ASYNC_TABLE_TIMEOUT: ConfigOption = ConfigOption {
    key: "table.exec.async-table.timeout",
    default: "3 min",
    kind: ValueKind::Duration,
    description: "How long an asynchronous table function call, retries included, may take before it fails. Eddy: not applicable — Eddy has no asynchronous functions; its Python functions are called a batch at a time, synchronously.",
};

pub const DEDUPLICATE_INSERT_UPDATE_AFTER_SENSITIVE_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.deduplicate.insert-update-after-sensitive-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "When true, a deduplication always sends a key's first row as INSERT rather than UPDATE_AFTER, at some cost. Eddy: accepted; has no effect, as Eddy's deduplication always sends a key's first row as +I, which is Flink's behaviour with true.",
};

pub const DEDUPLICATE_MINI_BATCH_COMPACT_CHANGES_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.deduplicate.mini-batch.compact-changes-enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "When true, a row-time deduplication with mini-batches sends only each key's latest change downstream instead of every change. Eddy: accepted; has no effect, as Eddy's deduplication compares each key's row before and after a batch or mini-batch and sends only the net change, as with true.",
};

pub const DELTA_JOIN_CACHE_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.delta-join.cache-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether a delta join caches the rows it looks up in the other side's table. Eddy: not applicable — Eddy has no delta joins; a regular join keeps both sides in its own state.",
};

pub const DELTA_JOIN_LEFT_CACHE_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.delta-join.left.cache-size",
    default: "10000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "Rows of lookup results on the left table a delta join caches. Eddy: not applicable — Eddy has no delta joins.",
};

pub const DELTA_JOIN_RIGHT_CACHE_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.delta-join.right.cache-size",
    default: "10000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "Rows of lookup results on the right table a delta join caches. Eddy: not applicable — Eddy has no delta joins.",
};

pub const DISABLED_OPERATORS: ConfigOption = ConfigOption {
    key: "table.exec.disabled-operators",
    default: "",
    kind: ValueKind::String,
    description: "A comma-separated list of batch operators the planner must not use (NestedLoopJoin, ShuffleHashJoin, BroadcastHashJoin, SortMergeJoin, HashAgg, SortAgg), mainly for testing. Eddy: not applicable — Eddy's batch queries run on DataFusion, which chooses its own join and aggregation algorithms.",
};

pub const INTERVAL_JOIN_MIN_CLEANUP_INTERVAL: ConfigOption = ConfigOption {
    key: "table.exec.interval-join.min-cleanup-interval",
    default: "0 ms",
    kind: ValueKind::Duration,
    description: "The least time an interval join waits before cleaning up unmatched rows, which delays padded outer-join rows. Eddy: accepted; has no effect, as Eddy's interval join removes (and, on an outer side, pads) a row as soon as the watermark passes it, Flink's behaviour with 0.",
};

pub const LEGACY_CAST_BEHAVIOUR: ConfigOption = ConfigOption {
    key: "table.exec.legacy-cast-behaviour",
    default: "DISABLED",
    kind: ValueKind::Enum(&["ENABLED", "DISABLED"]),
    description: "Whether CAST follows Flink's pre-1.15 behaviour instead of the corrected one. Eddy: accepted; has no effect, as Eddy has a single CAST (DataFusion's, with Flink's rules where Eddy adds them) and no legacy mode.",
};

pub const LOCAL_HASH_AGG_ADAPTIVE_DISTINCT_VALUE_RATE_THRESHOLD: ConfigOption = ConfigOption {
    key: "table.exec.local-hash-agg.adaptive.distinct-value-rate-threshold",
    default: "0.5",
    kind: ValueKind::Float,
    description: "The share of distinct keys in a sample above which a batch local hash aggregation stops aggregating and passes rows on. Eddy: not applicable — Eddy has no local hash aggregation; batch queries run on DataFusion.",
};

pub const LOCAL_HASH_AGG_ADAPTIVE_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.local-hash-agg.adaptive.enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether a batch local hash aggregation samples its input and stops aggregating when keys are mostly distinct. Eddy: not applicable — Eddy has no local hash aggregation; batch queries run on DataFusion.",
};

pub const LOCAL_HASH_AGG_ADAPTIVE_SAMPLING_THRESHOLD: ConfigOption = ConfigOption {
    key: "table.exec.local-hash-agg.adaptive.sampling-threshold",
    default: "500000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "How many rows an adaptive local hash aggregation samples before deciding. Eddy: not applicable — Eddy has no local hash aggregation; batch queries run on DataFusion.",
};

pub const OPERATOR_FUSION_CODEGEN_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.operator-fusion-codegen.enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the planner compiles several physical operators into one generated operator. Eddy: not applicable — Eddy generates no code; its operators evaluate DataFusion expressions on Arrow batches.",
};

pub const RANK_TOPN_CACHE_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.rank.topn-cache-size",
    default: "10000",
    kind: ValueKind::Int {
        min: 0,
        max: MAX_COUNT,
    },
    description: "Rows a Top-N or a ROW_NUMBER deduplication keeps decoded in memory per subtask in front of its keyed state (whole partitions: a partition counts its rows, at least 1; the event-time keep-first deduplication keeps no cache). Changed partitions are written to keyed state when a checkpoint is taken; a full cache drops the partitions touched longest ago, writing those changed, until it is half full. 0, or a table.exec.state.ttl, writes every batch's partitions through.",
};

pub const RESOURCE_DEFAULT_PARALLELISM: ConfigOption = ConfigOption {
    key: "table.exec.resource.default-parallelism",
    default: "-1",
    kind: ValueKind::Int {
        min: -1,
        max: MAX_COUNT,
    },
    description: "Parallelism of every operator of a table program, overriding the environment's; -1 means unset. Eddy: accepted; has no effect, as every operator of an Eddy job runs at parallelism.default.",
};

pub const SIMPLIFY_OPERATOR_NAME_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.simplify-operator-name-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "When true, operator names hold only the ExecNode's id and type, with the details in the description. Eddy: not applicable — Eddy names its operators itself, as DESCRIBE JOB and the REST API show them.",
};

pub const SINK_KEYED_SHUFFLE: ConfigOption = ConfigOption {
    key: "table.exec.sink.keyed-shuffle",
    default: "AUTO",
    kind: ValueKind::Enum(&["NONE", "AUTO", "FORCE"]),
    description: "Whether a keyed shuffle on the primary key is added before a sink whose parallelism differs from its input's (AUTO), always (FORCE) or never (NONE). Eddy: accepted; has no effect, as an Eddy sink is chained to the operator before it at the same parallelism, where AUTO adds no shuffle either, and FORCE is not honoured.",
};

pub const SINK_NESTED_CONSTRAINT_ENFORCER: ConfigOption = ConfigOption {
    key: "table.exec.sink.nested-constraint-enforcer",
    default: "IGNORE",
    kind: ValueKind::Enum(&["IGNORE", "ROWS", "ROWS_AND_COLLECTIONS"]),
    description: "Whether NOT NULL and length constraints are also checked inside nested ROW, ARRAY and MAP values written to a sink. Eddy: accepted; has no effect, as Eddy checks no constraints of nested fields (Flink's IGNORE).",
};

pub const SINK_NOT_NULL_ENFORCER: ConfigOption = ConfigOption {
    key: "table.exec.sink.not-null-enforcer",
    default: "ERROR",
    kind: ValueKind::Enum(&["ERROR", "DROP"]),
    description: "Whether writing a null into a NOT NULL sink column fails the job (ERROR) or drops the row (DROP). Eddy: accepted; has no effect, as Eddy's sinks do not check NOT NULL columns and write nulls as they come.",
};

pub const SINK_ROWTIME_INSERTER: ConfigOption = ConfigOption {
    key: "table.exec.sink.rowtime-inserter",
    default: "ENABLED",
    kind: ValueKind::Enum(&["ENABLED", "DISABLED"]),
    description: "Whether the query's rowtime is put into each stream record handed to the sink, which fails with several time attributes. Eddy: accepted; has no effect, as Eddy's sinks never read a rowtime (a Kafka record's timestamp comes from a writable timestamp metadata column only).",
};

pub const SINK_TYPE_LENGTH_ENFORCER: ConfigOption = ConfigOption {
    key: "table.exec.sink.type-length-enforcer",
    default: "IGNORE",
    kind: ValueKind::Enum(&["IGNORE", "TRIM_PAD", "ERROR"]),
    description: "Whether CHAR, VARCHAR, BINARY and VARBINARY values written to a sink are trimmed and padded to the column's length, checked against it, or left alone. Eddy: accepted; has no effect, as Eddy writes values whatever their length (Flink's IGNORE).",
};

pub const SINK_REQUIRE_ON_CONFLICT: ConfigOption = ConfigOption {
    key: "table.exec.sink.require-on-conflict",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether an updating INSERT into a sink with a PRIMARY KEY that is not the query's upsert key is refused unless it says ON CONFLICT (Flink 2.3, FLIP-558), with table.exec.sink.upsert-materialize = AUTO. Eddy: honoured; with false (or NONE) such an INSERT runs without a SinkUpsertMaterializer, so one key's rows from different upsert keys may overwrite each other.",
};

/// Flink's SinkUpsertMaterializer before upsert sinks.
pub const SINK_UPSERT_MATERIALIZE: ConfigOption = ConfigOption {
    key: "table.exec.sink.upsert-materialize",
    default: "AUTO",
    kind: ValueKind::Enum(&["NONE", "AUTO", "FORCE"]),
    description: "Whether a SinkUpsertMaterializer is added before an upsert sink to restore the order of each key's changes when the query's key differs from the sink's. Eddy: honoured. With AUTO (and table.exec.sink.require-on-conflict), such an INSERT is refused without ON CONFLICT, as in Flink 2.3; NONE runs it without a materializer; FORCE puts one (ON CONFLICT's strategy, DEDUPLICATE by default) before every print, blackhole or upsert-kafka sink with a PRIMARY KEY, whatever the query, as Flink does.",
};

pub const SINK_UPSERT_MATERIALIZE_STRATEGY_ADAPTIVE_THRESHOLD_HIGH: ConfigOption = ConfigOption {
    key: "table.exec.sink.upsert-materialize-strategy.adaptive.threshold.high",
    default: "",
    kind: ValueKind::String,
    description: "With the ADAPTIVE strategy, the entries per key at which the SinkUpsertMaterializer switches from VALUE to MAP state; unset means a state-backend default. Eddy: not applicable — Eddy's SinkUpsertMaterializer keeps each key's rows as one value in keyed state and has no other layout.",
};

pub const SINK_UPSERT_MATERIALIZE_STRATEGY_ADAPTIVE_THRESHOLD_LOW: ConfigOption = ConfigOption {
    key: "table.exec.sink.upsert-materialize-strategy.adaptive.threshold.low",
    default: "",
    kind: ValueKind::String,
    description: "With the ADAPTIVE strategy, the entries per key at which the SinkUpsertMaterializer switches back from MAP to VALUE state; unset means a state-backend default. Eddy: not applicable — Eddy's SinkUpsertMaterializer keeps each key's rows as one value in keyed state and has no other layout.",
};

pub const SINK_UPSERT_MATERIALIZE_STRATEGY_TYPE: ConfigOption = ConfigOption {
    key: "table.exec.sink.upsert-materialize-strategy.type",
    default: "LEGACY",
    kind: ValueKind::Enum(&["LEGACY", "MAP", "VALUE", "ADAPTIVE"]),
    description: "Which state layout the SinkUpsertMaterializer uses for each key's rows. Eddy: not applicable — Eddy's SinkUpsertMaterializer keeps each key's rows as one value in keyed state and has no other layout.",
};

pub const SORT_ASYNC_MERGE_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.sort.async-merge-enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether a batch sort merges its spilled files asynchronously. Eddy: not applicable — Eddy's batch sorts run on DataFusion, which spills within sql-gateway.batch.memory-limit.",
};

pub const SORT_DEFAULT_LIMIT: ConfigOption = ConfigOption {
    key: "table.exec.sort.default-limit",
    default: "-1",
    kind: ValueKind::Int {
        min: -1,
        max: MAX_COUNT,
    },
    description: "A LIMIT the batch planner adds to an ORDER BY that has none; -1 adds none. Eddy: accepted; has no effect, as an ORDER BY without LIMIT returns every row.",
};

pub const SORT_MAX_NUM_FILE_HANDLES: ConfigOption = ConfigOption {
    key: "table.exec.sort.max-num-file-handles",
    default: "128",
    kind: ValueKind::Int {
        min: 2,
        max: MAX_COUNT,
    },
    description: "The most spill files a batch external merge sort opens at once. Eddy: not applicable — Eddy's batch sorts run on DataFusion.",
};

pub const SOURCE_CDC_EVENTS_DUPLICATE: ConfigOption = ConfigOption {
    key: "table.exec.source.cdc-events-duplicate",
    default: "false",
    kind: ValueKind::Bool,
    description: "When true, a CDC source with a PRIMARY KEY (debezium-json, canal-json) gets a stateful normalization that drops duplicated change events. Eddy: accepted; has no effect, as Eddy reads CDC formats without deduplication (Flink's false), so a duplicated event is applied twice.",
};

pub const SPILL_COMPRESSION_BLOCK_SIZE: ConfigOption = ConfigOption {
    key: "table.exec.spill-compression.block-size",
    default: "64 kb",
    kind: ValueKind::MemorySize,
    description: "Memory used to compress data that batch operators spill. Eddy: not applicable — Eddy's batch queries spill through DataFusion, with no setting of this kind.",
};

pub const SPILL_COMPRESSION_ENABLED: ConfigOption = ConfigOption {
    key: "table.exec.spill-compression.enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether batch sort, hash aggregation and hash join compress the data they spill. Eddy: not applicable — Eddy's batch queries spill through DataFusion, with no setting of this kind.",
};

pub const UID_FORMAT: ConfigOption = ConfigOption {
    key: "table.exec.uid.format",
    default: "<id>_<transformation>",
    kind: ValueKind::String,
    description: "The pattern of the UIDs the planner gives streaming transformations, which savepoints map state by. Eddy: not applicable — Eddy identifies its operators' state itself and has no compiled plans.",
};

pub const UID_GENERATION: ConfigOption = ConfigOption {
    key: "table.exec.uid.generation",
    default: "PLAN_ONLY",
    kind: ValueKind::Enum(&["PLAN_ONLY", "ALWAYS", "DISABLED"]),
    description: "When the planner sets explicit UIDs on streaming transformations: only for pipelines from a compiled plan, always, or never. Eddy: not applicable — Eddy identifies its operators' state itself and has no compiled plans.",
};

pub const UNBOUNDED_OVER_VERSION: ConfigOption = ConfigOption {
    key: "table.exec.unbounded-over.version",
    default: "2",
    kind: ValueKind::Int {
        min: 1,
        max: 2,
    },
    description: "Which implementation of the unbounded OVER aggregation runs: 1, the legacy one, or 2, the faster one. Eddy: accepted; has no effect, as Eddy has a single OVER aggregation operator of its own.",
};

// ---------------------------------------------------------------------------------------
// TableConfigOptions
// ---------------------------------------------------------------------------------------

pub const BUILTIN_CATALOG_NAME: ConfigOption = ConfigOption {
    key: "table.builtin-catalog-name",
    default: "default_catalog",
    kind: ValueKind::String,
    description: "The name of the catalog a new table environment creates and starts in. Eddy: accepted; has no effect, as every Eddy session starts in default_catalog, which cannot be renamed.",
};

pub const BUILTIN_DATABASE_NAME: ConfigOption = ConfigOption {
    key: "table.builtin-database-name",
    default: "default_database",
    kind: ValueKind::String,
    description: "The name of the database created in the built-in catalog. Eddy: accepted; has no effect, as every Eddy session starts in default_catalog.default_database.",
};

pub const CATALOG_MODIFICATION_LISTENERS: ConfigOption = ConfigOption {
    key: "table.catalog-modification.listeners",
    default: "",
    kind: ValueKind::String,
    description: "A semicolon-separated list of listener factories notified after catalog DDL succeeds. Eddy: not applicable — Eddy loads no jars or factories.",
};

/// A list in Flink (semicolon-separated), which `ValueKind::Enum` cannot express.
pub const COLUMN_EXPANSION_STRATEGY: ConfigOption = ConfigOption {
    key: "table.column-expansion-strategy",
    default: "",
    kind: ValueKind::String,
    description: "Which virtual metadata columns SELECT * leaves out (EXCLUDE_ALIASED_VIRTUAL_METADATA_COLUMNS, EXCLUDE_DEFAULT_VIRTUAL_METADATA_COLUMNS); by default none. Eddy: accepted; has no effect, as SELECT * always expands to every column, Flink's default.",
};

pub const DISPLAY_MAX_COLUMN_WIDTH: ConfigOption = ConfigOption {
    key: "table.display.max-column-width",
    default: "30",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "How many characters of a variable-length column the client console prints before truncating. Eddy: not applicable — results go to PostgreSQL clients (psql and others), which lay them out themselves.",
};

pub const DYNAMIC_TABLE_OPTIONS_ENABLED: ConfigOption = ConfigOption {
    key: "table.dynamic-table-options.enabled",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether OPTIONS hints may override table options in a query. Eddy: not applicable — Eddy does not read OPTIONS hints; table options come from CREATE TABLE and ALTER TABLE.",
};

pub const GENERATED_CODE_MAX_LENGTH: ConfigOption = ConfigOption {
    key: "table.generated-code.max-length",
    default: "4000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The length above which generated Java code is split into sub-functions. Eddy: not applicable — Eddy generates no code.",
};

pub const GENERATED_CODE_MAX_MEMBERS: ConfigOption = ConfigOption {
    key: "table.generated-code.max-members",
    default: "10000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "The number of class members above which generated Java code groups them into arrays. Eddy: not applicable — Eddy generates no code.",
};

pub const LEGACY_NESTED_ROW_NULLABILITY: ConfigOption = ConfigOption {
    key: "table.legacy-nested-row-nullability",
    default: "false",
    kind: ValueKind::Bool,
    description: "When true, NOT NULL on fields of nested ROW types is ignored, as before Flink 2.2. Eddy: accepted; has no effect, as Eddy has no legacy mode for nested ROW nullability.",
};

pub const PLAN_COMPILE_CATALOG_OBJECTS: ConfigOption = ConfigOption {
    key: "table.plan.compile.catalog-objects",
    default: "ALL",
    kind: ValueKind::Enum(&["ALL", "SCHEMA", "IDENTIFIER"]),
    description: "How much of each catalog table, function and type COMPILE PLAN writes into the plan. Eddy: not applicable — Eddy has no COMPILE PLAN or EXECUTE PLAN.",
};

pub const PLAN_FORCE_RECOMPILE: ConfigOption = ConfigOption {
    key: "table.plan.force-recompile",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether COMPILE PLAN overwrites an existing plan file instead of failing. Eddy: not applicable — Eddy has no COMPILE PLAN.",
};

pub const PLAN_RESTORE_CATALOG_OBJECTS: ConfigOption = ConfigOption {
    key: "table.plan.restore.catalog-objects",
    default: "ALL",
    kind: ValueKind::Enum(&["ALL", "ALL_ENFORCED", "IDENTIFIER"]),
    description: "How catalog objects are restored from a compiled plan: from the plan with catalog lookups, from the plan alone, or from the catalog alone. Eddy: not applicable — Eddy has no EXECUTE PLAN.",
};

pub const RESOURCES_DOWNLOAD_DIR: ConfigOption = ConfigOption {
    key: "table.resources.download-dir",
    default: "/tmp",
    kind: ValueKind::String,
    description: "The local directory where the planner stores downloaded resources such as function jars (by default the JVM's temporary directory). Eddy: not applicable — Eddy loads no jars or other remote resources.",
};

pub const RTAS_CTAS_ATOMICITY_ENABLED: ConfigOption = ConfigOption {
    key: "table.rtas-ctas.atomicity-enabled",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether CREATE TABLE AS SELECT and REPLACE TABLE AS SELECT are atomic on sinks that support staging. Eddy: not applicable — Eddy has no CREATE TABLE AS or REPLACE TABLE AS.",
};

/// An enum of one word rather than a string, so that `hive` is refused instead of
/// silently parsed as Flink's default dialect.
pub const SQL_DIALECT: ConfigOption = ConfigOption {
    key: "table.sql-dialect",
    default: "default",
    kind: ValueKind::Enum(&["default"]),
    description: "The SQL dialect statements are parsed in: default or hive. Eddy: accepted; only default, Flink's own dialect, which Eddy parses; hive is refused.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    ASYNC_LOOKUP_BUFFER_CAPACITY,
    ASYNC_LOOKUP_KEY_ORDERED_ENABLED,
    ASYNC_LOOKUP_OUTPUT_MODE,
    ASYNC_LOOKUP_TIMEOUT,
    ASYNC_ML_PREDICT_MAX_CONCURRENT_OPERATIONS,
    ASYNC_ML_PREDICT_OUTPUT_MODE,
    ASYNC_ML_PREDICT_TIMEOUT,
    ASYNC_SCALAR_BUFFER_CAPACITY,
    ASYNC_SCALAR_MAX_ATTEMPTS,
    ASYNC_SCALAR_MAX_CONCURRENT_OPERATIONS,
    ASYNC_SCALAR_RETRY_DELAY,
    ASYNC_SCALAR_RETRY_STRATEGY,
    ASYNC_SCALAR_TIMEOUT,
    ASYNC_STATE_ENABLED,
    ASYNC_TABLE_MAX_CONCURRENT_OPERATIONS,
    ASYNC_TABLE_MAX_RETRIES,
    ASYNC_TABLE_RETRY_DELAY,
    ASYNC_TABLE_RETRY_STRATEGY,
    ASYNC_TABLE_TIMEOUT,
    DEDUPLICATE_INSERT_UPDATE_AFTER_SENSITIVE_ENABLED,
    DEDUPLICATE_MINI_BATCH_COMPACT_CHANGES_ENABLED,
    DELTA_JOIN_CACHE_ENABLED,
    DELTA_JOIN_LEFT_CACHE_SIZE,
    DELTA_JOIN_RIGHT_CACHE_SIZE,
    DISABLED_OPERATORS,
    INTERVAL_JOIN_MIN_CLEANUP_INTERVAL,
    LEGACY_CAST_BEHAVIOUR,
    LOCAL_HASH_AGG_ADAPTIVE_DISTINCT_VALUE_RATE_THRESHOLD,
    LOCAL_HASH_AGG_ADAPTIVE_ENABLED,
    LOCAL_HASH_AGG_ADAPTIVE_SAMPLING_THRESHOLD,
    OPERATOR_FUSION_CODEGEN_ENABLED,
    RANK_TOPN_CACHE_SIZE,
    RESOURCE_DEFAULT_PARALLELISM,
    SIMPLIFY_OPERATOR_NAME_ENABLED,
    SINK_KEYED_SHUFFLE,
    SINK_NESTED_CONSTRAINT_ENFORCER,
    SINK_NOT_NULL_ENFORCER,
    SINK_REQUIRE_ON_CONFLICT,
    SINK_ROWTIME_INSERTER,
    SINK_TYPE_LENGTH_ENFORCER,
    SINK_UPSERT_MATERIALIZE,
    SINK_UPSERT_MATERIALIZE_STRATEGY_ADAPTIVE_THRESHOLD_HIGH,
    SINK_UPSERT_MATERIALIZE_STRATEGY_ADAPTIVE_THRESHOLD_LOW,
    SINK_UPSERT_MATERIALIZE_STRATEGY_TYPE,
    SORT_ASYNC_MERGE_ENABLED,
    SORT_DEFAULT_LIMIT,
    SORT_MAX_NUM_FILE_HANDLES,
    SOURCE_CDC_EVENTS_DUPLICATE,
    SPILL_COMPRESSION_BLOCK_SIZE,
    SPILL_COMPRESSION_ENABLED,
    UID_FORMAT,
    UID_GENERATION,
    UNBOUNDED_OVER_VERSION,
    BUILTIN_CATALOG_NAME,
    BUILTIN_DATABASE_NAME,
    CATALOG_MODIFICATION_LISTENERS,
    COLUMN_EXPANSION_STRATEGY,
    DISPLAY_MAX_COLUMN_WIDTH,
    DYNAMIC_TABLE_OPTIONS_ENABLED,
    GENERATED_CODE_MAX_LENGTH,
    GENERATED_CODE_MAX_MEMBERS,
    LEGACY_NESTED_ROW_NULLABILITY,
    PLAN_COMPILE_CATALOG_OBJECTS,
    PLAN_FORCE_RECOMPILE,
    PLAN_RESTORE_CATALOG_OBJECTS,
    RESOURCES_DOWNLOAD_DIR,
    RTAS_CTAS_ATOMICITY_ENABLED,
    SQL_DIALECT,
];
