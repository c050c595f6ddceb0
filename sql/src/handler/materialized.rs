//! Materialized views: `CREATE MATERIALIZED VIEW` (and Flink's `CREATE MATERIALIZED
//! TABLE`) plans the query into a job whose sink is the internal `materialized`
//! connector, with checkpoints every FRESHNESS; the view is then a catalog table read
//! through the same connector, so `SELECT`, joins and `DESCRIBE` work as for any table.
//! When the gateway starts, each view whose job is gone is started again from that job's
//! newest checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eddy_cluster::JobStatus;
use eddy_connectors::materialized::{key_of, store::Store, GENERATION, KEY, PATH};

use super::subscribe::blocking;
use eddy_planner::{materialized_view_key, plan_insert, InsertTarget};
use eddy_runtime::config::{
    checkpointing, endpoint, pipeline, table as table_options, Configuration,
};
use eddy_runtime::jobgraph::{ConnectorSpec, JobGraph, SerializedSchema};

use super::rows::{table, text};
use crate::catalog::{
    CatalogMaterializedView, CatalogTable, Column, DatabaseName, FlinkType, ObjectName,
};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

/// What `CREATE MATERIALIZED ...` asks for.
pub(super) struct Definition {
    pub name: crate::catalog::ObjectPath,
    pub query: String,
    pub if_not_exists: bool,
    pub freshness: Option<std::time::Duration>,
    pub flink_table: bool,
    /// `WITH (...)` of a Flink materialized table: its rows go to this connector.
    pub options: Option<BTreeMap<String, String>>,
    pub partition_keys: Vec<String>,
}

/// Whether the view's rows live in Eddy's own store (not in a connector's table).
pub(super) fn in_own_store(view: &CatalogMaterializedView) -> bool {
    view.table.options.get("connector").map(String::as_str) == Some("materialized")
}

fn tag(flink_table: bool, verb: &str) -> String {
    match flink_table {
        true => format!("{verb} MATERIALIZED TABLE"),
        false => format!("{verb} MATERIALIZED VIEW"),
    }
}

/// Where the view called `name` keeps its files: a directory of its own under
/// `sql-gateway.materialized-view.dir` (a local directory, `materialized/` in the data dir
/// by default, or an object store URL such as `s3://bucket/views`).
fn view_location(config: &Configuration, data_dir: &Path, name: &str) -> String {
    // Only the name's plain characters: a quoted name may hold `/`, `#` or `?`, which a
    // path or URL would read as structure.
    let plain: String = name
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c,
                false => '_',
            },
        )
        .collect();
    let own = format!("{plain}-{}", uuid::Uuid::new_v4().simple());
    match config.get_string(&endpoint::MATERIALIZED_VIEW_DIR) {
        dir if dir.is_empty() => std::path::absolute(data_dir)
            .unwrap_or_else(|_| data_dir.to_path_buf())
            .join("materialized")
            .join(own)
            .to_string_lossy()
            .into_owned(),
        dir if url::Url::parse(&dir).is_ok_and(|u| u.scheme().len() > 1) => {
            format!("{}/{own}", dir.trim_end_matches('/'))
        }
        dir => PathBuf::from(dir).join(own).to_string_lossy().into_owned(),
    }
}

pub(super) async fn create(
    engine: &Engine,
    session: &Session,
    def: Definition,
) -> Result<QueryOutput> {
    let full = session.resolve(&def.name);
    // Its job is started again when Eddy restarts; an in-memory catalog is gone by then.
    if !engine
        .catalog
        .read()
        .await
        .catalog(&full.database.catalog)?
        .persists()
    {
        return Err(SqlError::NotSupported(format!(
            "catalog {} is in memory ('generic_in_memory'): a materialized view there would not outlive a restart, its job would; create it in a catalog of type 'eddy'",
            full.database.catalog
        )));
    }
    if engine
        .catalog
        .read()
        .await
        .database(&full.database)?
        .exists(&full.name)
    {
        if def.if_not_exists {
            return Ok(QueryOutput::Command(tag(def.flink_table, "CREATE")));
        }
        return Err(SqlError::DuplicateObject(format!(
            "relation '{}'",
            def.name
        )));
    }
    let Planned {
        mut view,
        graph,
        own_store,
        location,
        config,
    } = plan(engine, session, &full, def).await?;
    // The directory exists while the view does: a subscription ends when it goes.
    if own_store {
        let store = Store::open(&location)?;
        blocking(move || store.create()).await?;
    }
    view.job_id = engine.dispatcher.submit_job(graph).await?;
    let mut catalog = engine.catalog.write().await;
    // Another session may have taken the name (or dropped the database) while the job
    // was being planned.
    let mut next = catalog.clone();
    let taken = match next.database_mut(&full.database) {
        Ok(database) if database.exists(&view.table.name) => true,
        Ok(database) => {
            database
                .materialized
                .insert(view.table.name.clone(), view.clone());
            false
        }
        Err(e) => {
            let _ = engine.dispatcher.cancel_job(&view.job_id).await;
            return Err(e);
        }
    };
    if let Some(e) = taken
        .then(|| SqlError::DuplicateObject(format!("relation '{}'", view.table.name)))
        .or_else(|| engine.save_catalog(&next).err())
    {
        let _ = engine.dispatcher.cancel_job(&view.job_id).await;
        return Err(e);
    }
    *catalog = next;
    drop(catalog);
    // With `table.dml-sync` the statement returns once the view's job ends (over bounded
    // input): its contents are then complete.
    if config.get_bool(&table_options::DML_SYNC) {
        let result = engine.dispatcher.request_job_result(&view.job_id).await?;
        if result.status == JobStatus::Failed {
            return Err(SqlError::JobFailed {
                id: view.job_id,
                error: result.error.unwrap_or_else(|| {
                    eddy_cluster::gateway::Failure::internal("the job failed without a reason")
                }),
            });
        }
    }
    Ok(QueryOutput::Command(tag(view.flink_table, "CREATE")))
}

/// A view planned: its catalog entry (without a job yet) and its job.
struct Planned {
    view: CatalogMaterializedView,
    graph: JobGraph,
    own_store: bool,
    location: String,
    config: Configuration,
}

/// Plans the view `def` called `full`: its columns, where its rows go (and by which key),
/// and the job that keeps them.
async fn plan(
    engine: &Engine,
    session: &Session,
    full: &ObjectName,
    def: Definition,
) -> Result<Planned> {
    let settings = session.config().explicit().clone();
    let config = engine.config.merged_with(&session.config());
    // The query's unqualified names are the view's own database's, as for a view.
    let ctx = engine.job_context(&config, &full.database).await?;
    let (plan, names) = super::query::plan_view_query_with_names(&ctx, &def.query).await?;
    // Its columns are a table's: each name once, as PostgreSQL requires of a view.
    if let Some(names) = names {
        let mut seen = std::collections::HashSet::new();
        if let Some(name) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(SqlError::DuplicateColumn(name.clone()));
        }
    }
    let columns = plan
        .schema()
        .fields()
        .iter()
        .map(|f| {
            Ok(Column {
                name: f.name().clone(),
                data_type: FlinkType::from_arrow(f.data_type()).ok_or_else(|| {
                    SqlError::NotSupported(format!(
                        "column '{}' has type {}, which a materialized view cannot hold",
                        f.name(),
                        f.data_type()
                    ))
                })?,
                // Rows come through the job: any column may be null there.
                nullable: true,
                expression: None,
                metadata: None,
                comment: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let location = view_location(&engine.config, &engine.data_dir, &full.name);
    let own_store = def.options.is_none();
    let mut options = def.options.unwrap_or_else(|| {
        BTreeMap::from([
            ("connector".to_string(), "materialized".to_string()),
            (PATH.key.to_string(), location.clone()),
        ])
    });
    // Eddy's own store keeps the latest row per key when the query has a key whose
    // changes come in order; the job then sends upserts.
    if own_store {
        let state = ctx.state();
        let optimized = state.optimize(&plan)?;
        if let Some(key) = materialized_view_key(&state, &optimized, &config)? {
            let text: Vec<String> = key.iter().map(usize::to_string).collect();
            options.insert(KEY.key.to_string(), text.join(","));
        }
    }
    let table = CatalogTable {
        name: full.name.clone(),
        columns,
        watermark: None,
        primary_key: None,
        primary_key_name: None,
        comment: None,
        partition_keys: def.partition_keys,
        options,
    };
    table.check_partition_keys()?;
    if !own_store {
        // The connector's table is checked as CREATE TABLE checks one.
        engine.registry.validate_table(
            &table.name,
            &table.physical_schema(),
            &table.options,
            &[],
        )?;
    }
    let view = CatalogMaterializedView {
        table,
        query: def.query,
        flink_table: def.flink_table,
        freshness_ms: def.freshness.map(|d| d.as_millis() as u64),
        job_id: String::new(),
        generation: 0,
        previous_jobs: Vec::new(),
        checkpoints_dir: config.get_string(&checkpointing::CHECKPOINTS_DIR),
        settings,
    };
    let graph = job_graph(engine, &view, full, &config, &ctx).await?;
    Ok(Planned {
        view,
        graph,
        own_store,
        location,
        config,
    })
}

/// `EXPLAIN CREATE MATERIALIZED VIEW`: the job the view would run.
pub(super) async fn explain(
    engine: &Engine,
    session: &Session,
    def: Definition,
) -> Result<JobGraph> {
    let full = session.resolve(&def.name);
    Ok(plan(engine, session, &full, def).await?.graph)
}

/// The job that keeps `view` up to date: its query into the `materialized` sink, with a
/// checkpoint every FRESHNESS (commits happen at checkpoints).
async fn job_graph(
    engine: &Engine,
    view: &CatalogMaterializedView,
    name: &ObjectName,
    config: &Configuration,
    ctx: &datafusion::prelude::SessionContext,
) -> Result<JobGraph> {
    let state = ctx.state();
    let plan = super::query::plan_view_query(ctx, &view.query).await?;
    let plan = state.optimize(&plan)?;
    let mut config = config.clone();
    let interval = match view.freshness_ms {
        Some(ms) => Some(std::time::Duration::from_millis(ms)),
        None => config.get_optional_duration(&checkpointing::INTERVAL),
    }
    .unwrap_or_else(|| {
        engine
            .config
            .get_duration(&endpoint::MATERIALIZED_VIEW_FRESHNESS)
    });
    config.set(
        checkpointing::INTERVAL.key,
        &format!("{} ms", interval.as_millis().max(1)),
    )?;
    if config.get_string(&pipeline::NAME).is_empty() {
        config.set(
            pipeline::NAME.key,
            &format!("materialized view {}", view.table.name),
        )?;
    }
    let schema = view.table.physical_schema();
    let mut options = view.table.options.clone();
    // A keyed view's key is the sink's primary key: the job sends it upserts when that is
    // the query's upsert key.
    let stored_key = match in_own_store(view) {
        true => key_of(&options)?,
        false => None,
    };
    // The contents are folded by the key recorded when the view was created: a plan that
    // no longer has it as its ordered upsert key (the planner changed) would fold wrongly.
    if stored_key.is_some() && materialized_view_key(&state, &plan, &config)? != stored_key {
        return Err(SqlError::NotSupported(format!(
            "materialized view '{}' keeps its rows by key columns {:?}, which its query, as \
             planned now, no longer has as its key: drop the view and create it again",
            view.table.name,
            stored_key.unwrap_or_default()
        )));
    }
    let primary_key: Vec<String> = match in_own_store(view) {
        true => stored_key
            .unwrap_or_default()
            .iter()
            .map(|&c| {
                schema
                    .fields()
                    .get(c)
                    .map(|f| f.name().clone())
                    .ok_or_else(|| {
                        SqlError::Internal(format!(
                            "materialized view '{}' has no column {c} for its key",
                            view.table.name
                        ))
                    })
            })
            .collect::<Result<_>>()?,
        false => Vec::new(),
    };
    if in_own_store(view) {
        options.insert(GENERATION.key.to_string(), view.generation.to_string());
    }
    let target = InsertTarget {
        table: name.job_name(),
        spec: ConnectorSpec {
            table: name.job_name(),
            schema: SerializedSchema::encode(&schema)?,
            options,
            primary_key: Vec::new(),
            partition_keys: view.table.partition_keys.clone(),
            partition_filter: None,
            read_columns: None,
        },
        schema: Arc::clone(&schema),
        primary_key,
        conflict: None,
    };
    let name = config.get_string(&pipeline::NAME);
    Ok(plan_insert(&state, &target, &plan, &config, name)?)
}

pub(super) async fn drop_view(
    engine: &Engine,
    full: &ObjectName,
    if_exists: bool,
) -> Result<QueryOutput> {
    let name = full.name.as_str();
    let mut catalog = engine.catalog.write().await;
    let database = match catalog.database(&full.database) {
        Err(_) if if_exists => return Ok(QueryOutput::Command("DROP MATERIALIZED VIEW".into())),
        d => d?,
    };
    let Some(view) = database.materialized.get(name).cloned() else {
        if if_exists {
            return Ok(QueryOutput::Command("DROP MATERIALIZED VIEW".into()));
        }
        if database.exists(name) {
            return Err(SqlError::WrongObjectType(format!(
                "'{name}' is not a materialized view"
            )));
        }
        return Err(SqlError::UndefinedTable(name.to_string()));
    };
    let mut next = catalog.clone();
    next.database_mut(&full.database)?.materialized.remove(name);
    engine.save_catalog(&next)?;
    *catalog = next;
    drop(catalog);
    // The job may have ended already; the view is gone either way. Its files go once it
    // has stopped, so that no late commit writes them again.
    if engine.dispatcher.cancel_job(&view.job_id).await.is_ok() {
        let ended = engine.dispatcher.request_job_result(&view.job_id);
        if tokio::time::timeout(std::time::Duration::from_secs(30), ended)
            .await
            .is_err()
        {
            tracing::warn!(view = name, job = %view.job_id, "the dropped view's job did not stop within 30 s");
        }
    }
    // A connector's table keeps what the job wrote, as Flink's does.
    if let Some(path) = view
        .table
        .options
        .get(PATH.key)
        .filter(|_| in_own_store(&view))
    {
        let store = Store::open(path);
        let cleared = blocking(move || store?.clear()).await;
        if let Err(e) = cleared {
            tracing::warn!(view = name, error = %e, "the dropped view's files stay");
        }
    }
    Ok(QueryOutput::Command(tag(view.flink_table, "DROP")))
}

pub(super) async fn show(engine: &Engine, at: &DatabaseName) -> Result<QueryOutput> {
    // The views, then their jobs' status without the catalog's lock: a view's files may
    // be in an object store.
    let views: Vec<(String, CatalogMaterializedView)> = {
        let catalog = engine.catalog.read().await;
        catalog
            .database(at)?
            .materialized
            .iter()
            .map(|(name, view)| (name.clone(), view.clone()))
            .collect()
    };
    let mut rows = Vec::new();
    for (name, view) in views {
        let status = match engine.dispatcher.job_details(&view.job_id).await {
            Ok(d) => d.status.as_str(),
            // Finished before Eddy last started: the JobManager has forgotten the job.
            Err(_) if finished(view.clone()).await => JobStatus::Finished.as_str(),
            Err(_) => "UNKNOWN",
        };
        rows.push(vec![text(&name), text(&view.job_id), text(status)]);
    }
    table(&["materialized view name", "job id", "job status"], rows)
}

pub(super) async fn show_create(engine: &Engine, full: &ObjectName) -> Result<QueryOutput> {
    let name = full.name.as_str();
    let catalog = engine.catalog.read().await;
    let view = catalog
        .database(&full.database)?
        .materialized
        .get(name)
        .ok_or_else(|| SqlError::UndefinedTable(name.to_string()))?;
    table(&["result"], vec![vec![text(view.ddl())]])
}

/// Whether the view's last job committed its final epoch (it read bounded input to the
/// end): its contents are complete and stay as they are.
async fn finished(view: CatalogMaterializedView) -> bool {
    let Some(path) = view
        .table
        .options
        .get(PATH.key)
        .filter(|_| in_own_store(&view))
        .cloned()
    else {
        return false;
    };
    blocking(move || Store::open(&path)?.is_finished())
        .await
        .unwrap_or(false)
}

/// Starts again the job of every materialized view whose job this JobManager does not
/// run (Eddy restarted, or the job failed for good), restoring its newest checkpoint so
/// the contents go on from where they were committed. A view whose checkpoint cannot be
/// restored starts over: its old contents are deleted first, as they would otherwise be
/// counted twice.
pub async fn resume(engine: &Engine) {
    let views: Vec<(ObjectName, CatalogMaterializedView)> = {
        let catalog = engine.catalog.read().await;
        catalog
            .databases()
            .flat_map(|(d, db)| {
                db.materialized
                    .values()
                    .map(move |v| (d.object(&v.table.name), v.clone()))
            })
            .collect()
    };
    for (name, view) in views {
        match engine.dispatcher.job_details(&view.job_id).await {
            Ok(d) if !d.status.is_terminal() || d.status == JobStatus::Finished => continue,
            _ if finished(view.clone()).await => continue,
            _ => {}
        }
        match restart(engine, &name, view.clone()).await {
            Ok(restarted) => {
                tracing::info!(view = %name, job = %restarted.job_id, "materialized view's job started again");
                let mut catalog = engine.catalog.write().await;
                let mut next = catalog.clone();
                match next.database_mut(&name.database) {
                    Ok(d) if d.materialized.contains_key(&name.name) => {
                        d.materialized.insert(name.name.clone(), restarted);
                    }
                    _ => {
                        let _ = engine.dispatcher.cancel_job(&restarted.job_id).await;
                        continue;
                    }
                }
                match engine.save_catalog(&next) {
                    Ok(()) => *catalog = next,
                    Err(e) => {
                        tracing::error!(view = %view.table.name, error = %e, "cannot record the view's new job")
                    }
                }
            }
            Err(e) => {
                tracing::error!(view = %view.table.name, error = %e, "cannot start the materialized view's job; it keeps its last contents")
            }
        }
    }
}

async fn restart(
    engine: &Engine,
    name: &ObjectName,
    mut view: CatalogMaterializedView,
) -> Result<CatalogMaterializedView> {
    let mut settings = Configuration::new();
    for (k, v) in &view.settings {
        settings.set(k, v)?;
    }
    let config = engine.config.merged_with(&settings);
    let ctx = engine.job_context(&config, &name.database).await?;
    // A connector's table (`WITH (...)`) is the connector's to keep: never cleared here.
    let store = view
        .table
        .options
        .get(PATH.key)
        .filter(|_| in_own_store(&view))
        .map(|p| Store::open(p))
        .transpose()?;
    // A generation number is never used twice, even if the catalog missed the last one.
    let on_disk = match store.clone() {
        Some(s) => blocking(move || s.newest_generation()).await?,
        None => None,
    };
    view.generation = view.generation.max(on_disk.unwrap_or(0)) + 1;
    let old_job = std::mem::take(&mut view.job_id);
    view.previous_jobs.push(old_job);
    // The newest job that completed a checkpoint: a job that failed (or an Eddy that
    // stopped again) before its first checkpoint leaves its predecessor's to restore.
    if !view.checkpoints_dir.is_empty() {
        for job in view.previous_jobs.clone().iter().rev() {
            let mut restoring = config.clone();
            restoring.set(
                checkpointing::SAVEPOINT_PATH.key,
                &format!("{}/{job}", view.checkpoints_dir.trim_end_matches('/')),
            )?;
            let graph = job_graph(engine, &view, name, &restoring, &ctx).await?;
            match engine.dispatcher.submit_job(graph).await {
                Ok(id) => {
                    view.job_id = id;
                    return Ok(view);
                }
                Err(e)
                    if e.to_string()
                        .contains("does not hold a savepoint or checkpoint") =>
                {
                    tracing::info!(view = %view.table.name, job = %job, "no checkpoint of this job of the view")
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    // A connector's table may hold what the last job wrote (a Kafka topic at least once,
    // files a finished job committed): computing it again would write those rows twice.
    if !in_own_store(&view) {
        return Err(SqlError::NotSupported(format!(
            "materialized table '{}' writes into connector '{}' and none of its jobs left a checkpoint to resume from; its job stays stopped so that no row is written twice: drop it and create it again to start over",
            view.table.name,
            view.table.options.get("connector").map(String::as_str).unwrap_or_default()
        )));
    }
    tracing::warn!(view = %view.table.name, "no checkpoint of the view's jobs to restore; its contents are computed again");
    if let Some(store) = store {
        blocking(move || {
            store.clear()?;
            store.create()
        })
        .await?;
    }
    let graph = job_graph(engine, &view, name, &config, &ctx).await?;
    view.job_id = engine.dispatcher.submit_job(graph).await?;
    Ok(view)
}
