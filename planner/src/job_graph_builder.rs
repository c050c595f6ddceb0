//! Builds `JobGraph`s: translates each query, appends its sink, and sets parallelism.
//! Operators connected by forward edges with equal parallelism end up chained in one
//! vertex (Flink's operator chaining); a vertex boundary appears only where a chain must
//! join several inputs (UNION).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use eddy_runtime::config::{core, flink_optimizer, flink_table, table, Configuration};
use eddy_runtime::jobgraph::{
    ConnectorSpec, JobGraph, OperatorSpec, Partitioner, SerializedSchema, SinkSpec,
    JOB_GRAPH_VERSION,
};

use crate::error::{PlanError, Result};
use crate::sink_cast::sink_projection;
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};

/// The table an INSERT writes into.
#[derive(Debug, Clone)]
pub struct InsertTarget {
    pub table: String,
    pub spec: ConnectorSpec,
    pub schema: SchemaRef,
    /// The sink's `PRIMARY KEY` columns; empty without one.
    pub primary_key: Vec<String>,
    /// Flink 2.3's `ON CONFLICT` action, when the INSERT says one.
    pub conflict: Option<ConflictStrategy>,
}

/// `INSERT ... ON CONFLICT DO ...` (FLIP-558): what happens when rows of different upsert
/// keys land on one primary key of the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictStrategy {
    /// Keep every row and give the key the latest one still standing (Flink's
    /// SinkUpsertMaterializer).
    Deduplicate,
    /// Fail the job on a conflict.
    Error,
    /// Keep the first row of a key.
    Nothing,
}

fn parallelism(config: &Configuration) -> Result<u32> {
    let p = config.get_int(&core::DEFAULT_PARALLELISM);
    if p < 1 {
        return Err(PlanError::NotSupported(format!(
            "parallelism.default must be at least 1, not {p}"
        )));
    }
    Ok(p as u32)
}

fn add_insert(
    parts: &mut GraphParts,
    state: &SessionState,
    target: &InsertTarget,
    query: &LogicalPlan,
) -> Result<()> {
    let plan = match sink_projection(&target.table, query.schema(), &target.schema)? {
        Some(exprs) => LogicalPlanBuilder::from(query.clone())
            .project(exprs)?
            .build()?,
        None => query.clone(),
    };
    let mut chain = translate(&plan, state, parts)?;
    if !accepts_updates(&target.spec) {
        chain.insert_only(&format!("Table sink '{}'", target.table))?;
    }
    if target.conflict.is_some() {
        check_upsert_sink(target, chain.updating)?;
    }
    let pk: Vec<usize> = target
        .primary_key
        .iter()
        .filter_map(|k| target.schema.index_of(k).ok())
        .collect();
    // Rows of one upsert key going to another primary key could overwrite each other in
    // any order: Flink 2.3 asks for ON CONFLICT (FLIP-558), which needs a materializer.
    let key_contained = chain
        .upsert_key
        .as_ref()
        .is_some_and(|key| key.iter().all(|k| pk.contains(k)));
    let conflict = chain.updating
        && !pk.is_empty()
        && sink_mode_without_update_before(&target.spec)
        && !key_contained;
    // `table.exec.sink.upsert-materialize` = FORCE: a materializer before every upsert sink
    // with a primary key, whatever the query, as Flink's `analyzeUpsertMaterializeStrategy`.
    let forced = parts.force_upsert_materialize
        && !pk.is_empty()
        && sink_mode_without_update_before(&target.spec);
    let strategy = match forced {
        true => Some(target.conflict.unwrap_or(ConflictStrategy::Deduplicate)),
        false => target.conflict.filter(|_| conflict),
    };
    if let Some(strategy) = strategy {
        if !chain.updating {
            chain.add_insert_kinds(Arc::new(plan.schema().as_arrow().clone()))?;
        }
        chain = upsert_materializer(parts, chain, target, &pk, strategy)?;
    }
    if parts.require_on_conflict && conflict && strategy.is_none() {
        let names = |cols: &[usize]| {
            cols.iter()
                .map(|&c| target.schema.field(c).name().clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(PlanError::UpsertKey(format!(
            "The query has an upsert key that differs from the primary key of the sink table '{}'. \
             Primary key: [{}], upsert key: {}. This can lead to non-deterministic results when \
             multiple records with different upsert keys map to the same primary key. Please \
             specify an ON CONFLICT clause to define how conflicts should be handled: ON \
             CONFLICT DO DEDUPLICATE (update to the latest record, state intensive, since we \
             need to keep the entire history), or ON CONFLICT DO ERROR (fail on conflict), or \
             ON CONFLICT DO NOTHING (keep first record). (Eddy runs ON CONFLICT DO \
             DEDUPLICATE; SET 'table.exec.sink.upsert-materialize' = 'NONE' runs the INSERT \
             without a materializer.)",
            target.table,
            names(&pk),
            chain
                .upsert_key
                .as_deref()
                .map(|k| format!("[{}]", names(k)))
                .unwrap_or_default(),
        )));
    }
    let sink_parallelism = eddy_connectors::options::sink_parallelism(&target.spec.options)
        .map_err(|e| PlanError::InvalidDefinition(e.to_string()))?
        .filter(|&p| p != parts.parallelism);
    if let Some(p) = sink_parallelism {
        chain = exchange_to_sink(parts, chain, target, p)?;
    }
    // An upsert sink is asked for new rows only (ONLY_UPDATE_AFTER) when its primary key,
    // if any, is the query's upsert key; otherwise, and for a sink that shows or writes
    // both sides, an update's old row must reach it too (Flink's `inferSinkRequiredTraits`).
    let update_before = chain.updating
        && !(takes_upserts(&target.spec)
            && (pk.is_empty()
                || chain
                    .upsert_key
                    .as_ref()
                    .is_some_and(|key| same_columns(key, &pk))));
    chain.flush()?;
    chain.names.push(format!(
        "Sink: {}[{}]",
        target.table,
        target.spec.connector()
    ));
    chain.ops.push(OperatorSpec::Sink(SinkSpec {
        connector: target.spec.clone(),
        updating: chain.updating,
        update_before,
    }));
    let default_parallelism = parts.parallelism;
    parts.parallelism = sink_parallelism.unwrap_or(default_parallelism);
    let closed = parts.close(chain);
    parts.parallelism = default_parallelism;
    closed?;
    Ok(())
}

/// ON CONFLICT belongs to upsert sinks, as Flink 2.3 checks (`validateUpsertSink`): not to
/// a sink that takes inserts only (which `print` and `blackhole` are for an insert-only
/// query), nor to one that needs both sides of each update (a changelog format).
fn check_upsert_sink(target: &InsertTarget, updating: bool) -> Result<()> {
    let append = "it only accepts INSERT (append-only) changes";
    let reason = match target.spec.connector() {
        "upsert-kafka" => return Ok(()),
        "print" | "blackhole" => match updating {
            true => return Ok(()),
            false => append,
        },
        // Filesystem and Kafka tables that take updates write a changelog format.
        _ if accepts_updates(&target.spec) => "it requires UPDATE_BEFORE (retract mode)",
        _ => append,
    };
    Err(PlanError::UpsertKey(format!(
        "ON CONFLICT clause is only allowed for upsert sinks. The sink '{}' is not an upsert sink because {reason}.",
        target.table
    )))
}

/// The sources `chain` reads, directly or through the nodes before it (not those of other
/// INSERTs of a statement set).
fn upstream_sources<'a>(
    parts: &'a GraphParts,
    chain: &'a OpenChain,
) -> Vec<&'a eddy_runtime::jobgraph::SourceSpec> {
    let mut sources = Vec::new();
    let mut stack = Vec::new();
    match &chain.head {
        Head::Source(s) => sources.push(s.as_ref()),
        Head::Inputs(inputs) => stack.extend(inputs.iter().map(|(v, _)| *v)),
        Head::Union(inputs) => stack.extend(inputs.iter().copied()),
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let node = parts.exec.node(id);
        if let Some(OperatorSpec::Source(s)) = node.operator() {
            sources.push(s);
        }
        stack.extend(node.inputs.iter().map(|e| e.input));
    }
    sources
}

/// Puts Flink's SinkUpsertMaterializer before the sink (ON CONFLICT DO DEDUPLICATE): the
/// rows go by the sink's primary key `pk` to it, and it sends the sink upserts of that key.
fn upsert_materializer(
    parts: &mut GraphParts,
    chain: OpenChain,
    target: &InsertTarget,
    pk: &[usize],
    strategy: ConflictStrategy,
) -> Result<OpenChain> {
    use eddy_runtime::jobgraph::WatermarkConflict;
    let (name, on_watermark) = match strategy {
        ConflictStrategy::Deduplicate => ("DEDUPLICATE", None),
        ConflictStrategy::Error => ("ERROR", Some(WatermarkConflict::Error)),
        ConflictStrategy::Nothing => ("NOTHING", Some(WatermarkConflict::Nothing)),
    };
    // DO ERROR and DO NOTHING compact as the watermark passes: without a watermark on
    // every source nothing would be written before the end, which Flink refuses.
    if on_watermark.is_some() {
        let without: Vec<String> = upstream_sources(parts, &chain)
            .into_iter()
            .filter(|s| s.watermark.is_none() && s.connector.connector() != "values")
            .map(|s| s.connector.table.clone())
            .collect();
        if !without.is_empty() {
            return Err(PlanError::InvalidDefinition(format!(
                "ON CONFLICT DO {name} requires all source tables to define watermarks, but the following source(s) do not: {}. Please add a WATERMARK declaration to these tables.",
                without.join(", ")
            )));
        }
    }
    let upsert_key = chain.upsert_key.clone();
    let upstream = parts.close(chain)?;
    let description = format!(
        "conflictStrategy=[{name}], pk=[{}]",
        target.primary_key.join(", ")
    );
    let name = format!("SinkMaterializer({description})");
    let mut chain = OpenChain::new(
        Head::Inputs(vec![(
            upstream,
            Partitioner::Hash {
                key_columns: pk.to_vec(),
            },
        )]),
        vec![OperatorSpec::UpsertMaterializer(
            eddy_runtime::jobgraph::UpsertMaterializerSpec {
                schema: SerializedSchema::encode(&nullable(&target.schema))?,
                key_columns: pk.to_vec(),
                upsert_key,
                table: target.table.clone(),
                description,
                on_watermark,
            },
        )],
        vec![name.clone()],
    );
    chain.updating = true;
    chain.producer = Some(name);
    chain.upsert_key = Some(pk.to_vec());
    chain.key_ordered = true;
    Ok(chain)
}

/// Ends `chain` in a vertex of its own so that the sink's vertex can have `sink.parallelism`
/// = `p`, as Flink's `CommonExecSink` does (`table.exec.sink.keyed-shuffle` = AUTO): rows
/// go by the sink's primary key when it has one (and `p` > 1), so that each key's rows stay
/// in order on one subtask; an updating stream needs that key; an insert-only one without
/// it is spread over the sink's subtasks.
fn exchange_to_sink(
    parts: &mut GraphParts,
    chain: OpenChain,
    target: &InsertTarget,
    p: u32,
) -> Result<OpenChain> {
    let updating = chain.updating;
    let producer = chain.producer.clone();
    let upsert_key = chain.upsert_key.clone();
    let key_ordered = chain.key_ordered;
    let keyed = !target.primary_key.is_empty() && (p > 1 || updating);
    let partitioner = match updating {
        false if !keyed => Partitioner::Rebalance,
        true if target.primary_key.is_empty() => {
            return Err(PlanError::NotSupported(format!(
                "The sink for table '{}' has a configured parallelism of {p}, while the input \
                 parallelism is {}. Since the configured parallelism is different from the \
                 input's parallelism and the changelog mode is not insert-only, a primary key \
                 is required but could not be found.",
                target.table, parts.parallelism
            )))
        }
        _ => Partitioner::Hash {
            key_columns: target
                .primary_key
                .iter()
                .map(|k| target.schema.index_of(k))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| PlanError::DataFusion(e.into()))?,
        },
    };
    let partitioner_copy = partitioner.clone();
    let upstream = parts.close(chain)?;
    let mut chain = OpenChain::new(
        Head::Inputs(vec![(upstream, partitioner)]),
        Vec::new(),
        Vec::new(),
    );
    chain.updating = updating;
    chain.producer = producer;
    // The exchange moves rows, not columns: the key stays where it was. Its changes stay
    // in order when the rows go by columns of the key (all of one key to one subtask).
    chain.key_ordered = key_ordered
        && match (&partitioner_copy, &upsert_key) {
            (Partitioner::Hash { key_columns }, Some(key)) => {
                key_columns.iter().all(|c| key.contains(c))
            }
            _ => false,
        };
    chain.upsert_key = upsert_key;
    Ok(chain)
}

/// Sinks that take an updating stream: `print` shows the row kinds, `blackhole` drops
/// them, `collect` hands them to the client, `materialized` folds them into a view's
/// contents, and the filesystem and Kafka sinks write them in a changelog format
/// (`debezium-json`, `canal-json`).
fn accepts_updates(spec: &ConnectorSpec) -> bool {
    match spec.connector() {
        "print" | "blackhole" | "collect" | "materialized" | "upsert-kafka" => true,
        "filesystem" | "kafka" => spec
            .options
            .get("format")
            .or_else(|| spec.options.get("value.format"))
            .is_some_and(|f| {
                eddy_connectors::registry::format_factory(f).is_ok_and(|f| f.produces_changelog())
            }),
        _ => false,
    }
}

/// Whether two column sets are equal.
fn same_columns(a: &[usize], b: &[usize]) -> bool {
    let sorted = |cols: &[usize]| {
        let mut cols = cols.to_vec();
        cols.sort_unstable();
        cols.dedup();
        cols
    };
    sorted(a) == sorted(b)
}

/// Sinks whose changelog mode is the one the planner asks for, as Flink's `print` and
/// `blackhole` return the requested mode: with a primary key, upserts (`+I`, `+U`, `-D`).
/// A changelog format (`debezium-json`) needs both sides of an update.
fn takes_upserts(spec: &ConnectorSpec) -> bool {
    match spec.connector() {
        "blackhole" | "upsert-kafka" => true,
        // A view keyed by the query's upsert key keeps the latest row per key.
        "materialized" => spec
            .options
            .contains_key(eddy_connectors::materialized::KEY.key),
        _ => false,
    }
}

/// Sinks whose changelog mode (as Flink's `getChangelogMode` answers the query's) has no
/// `-U`, so that rows of different upsert keys cannot be told apart under one primary key:
/// `print` returns the requested mode, `blackhole` drops `-U`, `upsert-kafka` is upsert.
fn sink_mode_without_update_before(spec: &ConnectorSpec) -> bool {
    matches!(spec.connector(), "print" | "blackhole" | "upsert-kafka")
}

fn finish(parts: GraphParts, name: String, config: &Configuration) -> Result<JobGraph> {
    let mut graph = JobGraph {
        version: JOB_GRAPH_VERSION,
        name,
        vertices: Vec::new(),
        edges: Vec::new(),
        config: config.clone(),
    };
    let mut exec = parts.exec;
    crate::exec::infer(&mut exec)?;
    (graph.vertices, graph.edges) = crate::exec::chain(exec);
    graph.validate()?;
    Ok(graph)
}

/// Plans `INSERT INTO target <query>` where `query` is an optimized logical plan.
pub fn plan_insert(
    state: &SessionState,
    target: &InsertTarget,
    query: &LogicalPlan,
    config: &Configuration,
    name: String,
) -> Result<JobGraph> {
    plan_statement_set(state, &[(target.clone(), query.clone())], config, name)
}

/// Plans several INSERTs as one job (`EXECUTE STATEMENT SET`).
pub fn plan_statement_set(
    state: &SessionState,
    inserts: &[(InsertTarget, LogicalPlan)],
    config: &Configuration,
    name: String,
) -> Result<JobGraph> {
    let mut parts = graph_parts(config)?;
    for (target, query) in inserts {
        add_insert(&mut parts, state, target, query)?;
    }
    finish(parts, name, config)
}

/// The key a materialized view of `query` keeps its rows by: the query's upsert key when
/// its result updates and every change to one key comes from one subtask in order (see
/// `OpenChain::key_ordered`), so that the latest change of a key is its row. `None`: the
/// view keeps a multiset of rows.
pub fn materialized_view_key(
    state: &SessionState,
    query: &LogicalPlan,
    config: &Configuration,
) -> Result<Option<Vec<usize>>> {
    let mut parts = graph_parts(config)?;
    let chain = translate(query, state, &mut parts)?;
    // An empty key (an aggregation without GROUP BY: one row) leaves a multiset.
    Ok(match chain.updating && chain.key_ordered {
        true => chain.upsert_key.filter(|key| !key.is_empty()),
        false => None,
    })
}

fn graph_parts(config: &Configuration) -> Result<GraphParts> {
    Ok(GraphParts {
        exec: Default::default(),
        parallelism: parallelism(config)?,
        in_window_aggregate: false,
        fused_tvf: None,
        temporal_right: false,
        require_on_conflict: config.get_bool(&flink_table::SINK_REQUIRE_ON_CONFLICT)
            && config
                .get_string(&flink_table::SINK_UPSERT_MATERIALIZE)
                .eq_ignore_ascii_case("AUTO"),
        force_upsert_materialize: config
            .get_string(&flink_table::SINK_UPSERT_MATERIALIZE)
            .eq_ignore_ascii_case("FORCE"),
        mini_batch: config.get_bool(&table::MINI_BATCH_ENABLED),
        two_phase_aggregation: config.get_bool(&table::MINI_BATCH_ENABLED)
            && !config
                .get_string(&flink_optimizer::OPTIMIZER_AGG_PHASE_STRATEGY)
                .eq_ignore_ascii_case("ONE_PHASE"),
    })
}

/// Whether a job's result is an updating stream (a sink's input is), whose batches carry
/// row kinds.
pub fn is_updating(graph: &JobGraph) -> bool {
    graph
        .vertices
        .iter()
        .flat_map(|v| &v.operators)
        .any(|op| matches!(op, OperatorSpec::Sink(s) if s.updating))
}

/// Plans a streaming SELECT whose rows go to the `collect` sink registered as
/// `collect_id`, from where the gateway sends them to the client. `collect_address` is the
/// gateway's result endpoint, for a sink that runs in another process.
pub fn plan_collect(
    state: &SessionState,
    query: &LogicalPlan,
    collect_id: &str,
    collect_address: Option<&str>,
    config: &Configuration,
    name: String,
) -> Result<JobGraph> {
    let schema = nullable(query.schema().as_arrow());
    let mut options = BTreeMap::from([
        ("connector".to_string(), "collect".to_string()),
        ("collect.id".to_string(), collect_id.to_string()),
    ]);
    if let Some(address) = collect_address {
        options.insert("collect.address".to_string(), address.to_string());
    }
    let target = InsertTarget {
        table: "client".to_string(),
        spec: ConnectorSpec {
            table: "client".to_string(),
            schema: SerializedSchema::encode(&schema)?,
            options,
            primary_key: Vec::new(),
            partition_keys: Vec::new(),
            partition_filter: None,
            read_columns: None,
        },
        schema: Arc::clone(&schema),
        primary_key: Vec::new(),
        conflict: None,
    };
    plan_insert(state, &target, query, config, name)
}
