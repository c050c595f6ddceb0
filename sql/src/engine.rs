//! The engine a gateway serves: the catalog, the connector registry, the Dispatcher and
//! the process configuration. Each statement gets a DataFusion context with the catalog's
//! tables and views registered.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider};
use datafusion::common::TableReference;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use eddy_cluster::DispatcherGateway;
use eddy_connectors::ConnectorRegistry;
use eddy_planner::{
    register_temporal_function, register_window_functions, ConnectorTable, TableDefinition,
};
use eddy_runtime::config::{core, endpoint, Configuration};
use eddy_runtime::fault_injection::testing_functions;
use eddy_runtime::functions::eddy_functions;
use eddy_runtime::jobgraph::{ConnectorSpec, SerializedSchema};
use futures::stream::BoxStream;
use tokio::sync::RwLock;

use crate::batch_executor::BatchExecutor;
use crate::catalog::{catalog_path, Catalog, CatalogStore, CatalogTable, DatabaseName, ObjectName};
use crate::error::{Result, SqlError};
use crate::parser::{parse_statement, Statement};
use crate::pg_catalog::{self, PgCatalog, Relation, RelationKind, Relations};
use crate::session::{Session, TemporaryObjects, Zone};

/// What a statement returns.
pub enum QueryOutput {
    /// A command tag such as `CREATE TABLE`.
    Command(String),
    /// Rows, produced lazily.
    Rows {
        schema: SchemaRef,
        stream: BoxStream<'static, Result<RecordBatch>>,
    },
    /// `COPY ... FROM STDIN` waits for the client's data.
    CopyIn(crate::handler::CopyIn),
    /// Rows for `COPY ... TO STDOUT`, in its format.
    Copy {
        schema: SchemaRef,
        stream: BoxStream<'static, Result<RecordBatch>>,
        options: crate::parser::CopyOptions,
    },
}

/// The runtime batch queries share: one memory pool of `limit` bytes (fair between the
/// operators that can spill, which spill to `spill_dir` past their share) so that no
/// query can take the process's memory. Spill files a crashed process left are removed.
fn batch_runtime(spill_dir: &Path, limit: u64) -> Result<Arc<RuntimeEnv>> {
    if spill_dir.exists() {
        let _ = std::fs::remove_dir_all(spill_dir);
    }
    std::fs::create_dir_all(spill_dir).map_err(|e| crate::error::SqlError::Storage {
        path: spill_dir.display().to_string(),
        source: e,
    })?;
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(usize::try_from(limit).unwrap_or(usize::MAX)),
        std::num::NonZeroUsize::MIN.saturating_add(2),
    );
    Ok(RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_temp_file_path(spill_dir)
        .build_arc()?)
}

/// Shared by every session of a gateway.
pub struct Engine {
    pub(crate) catalog: RwLock<Catalog>,
    store: CatalogStore,
    pub(crate) registry: Arc<ConnectorRegistry>,
    pub(crate) dispatcher: Arc<dyn DispatcherGateway>,
    pub(crate) config: Configuration,
    /// The memory pool and spill directory every batch query shares.
    runtime: Arc<RuntimeEnv>,
    /// The runtime batch queries execute on.
    pub(crate) batch_executor: BatchExecutor,
    /// Where a collect sink in another process sends a streaming SELECT's rows (the
    /// gateway's result endpoint); none when every sink runs in this process.
    pub(crate) result_address: Option<String>,
    /// The gateway's data directory (materialized views live under it by default).
    pub(crate) data_dir: std::path::PathBuf,
    /// PostgreSQL's system catalogs, for client catalog queries.
    pub(crate) pg_catalog: PgCatalog,
    /// Users defined in the configuration file (their passwords stay with the endpoint).
    pub(crate) config_users: std::collections::BTreeSet<String>,
    /// The sessions the gateway serves, for `pg_stat_activity`.
    backends: std::sync::OnceLock<Arc<dyn crate::session::Backends>>,
    /// Each catalog's default database, readable without the catalog's async lock: a
    /// connection's startup packet names the catalog it starts in.
    entry_points: std::sync::RwLock<std::collections::BTreeMap<String, String>>,
}

fn entry_points(catalog: &Catalog) -> std::collections::BTreeMap<String, String> {
    catalog
        .catalogs
        .iter()
        .map(|(name, c)| (name.clone(), c.default_database().to_string()))
        .collect()
}

impl Engine {
    /// Opens the catalog under `data_dir` (creating an empty one the first time).
    pub fn open(
        data_dir: &Path,
        registry: Arc<ConnectorRegistry>,
        dispatcher: Arc<dyn DispatcherGateway>,
        config: Configuration,
    ) -> Result<Self> {
        let store = CatalogStore::new(catalog_path(data_dir));
        let catalog = store.load()?;
        let entry_points = std::sync::RwLock::new(entry_points(&catalog));
        let batch_memory_limit = config.get_memory_size(&endpoint::BATCH_MEMORY_LIMIT);
        let runtime = batch_runtime(&data_dir.join("tmp"), batch_memory_limit)?;
        Ok(Self {
            catalog: RwLock::new(catalog),
            store,
            registry,
            dispatcher,
            config,
            runtime,
            batch_executor: BatchExecutor::start(batch_memory_limit)?,
            result_address: None,
            data_dir: data_dir.to_path_buf(),
            pg_catalog: PgCatalog::new()?,
            config_users: Default::default(),
            backends: Default::default(),
            entry_points,
        })
    }

    /// Names the users of the configuration file (superusers SQL cannot alter or drop).
    pub fn with_config_users(mut self, users: impl IntoIterator<Item = String>) -> Self {
        self.config_users = users.into_iter().collect();
        self
    }

    /// Whether clients prove who they are (`sql-gateway.endpoint.pg.auth` is not `trust`):
    /// only then do roles limit what a session may do.
    pub(crate) fn checks_roles(&self) -> bool {
        !self
            .config
            .get_string(&endpoint::PG_AUTH)
            .eq_ignore_ascii_case("trust")
    }

    /// Whether `user` is a superuser: Eddy's built-in `eddy`, a user of the configuration
    /// file, or a role made with SUPERUSER.
    pub(crate) async fn is_superuser(&self, user: &str) -> bool {
        user == pg_catalog::ROLE_NAME
            || self.config_users.contains(user)
            || self
                .catalog
                .read()
                .await
                .roles
                .get(user)
                .is_some_and(|r| r.superuser)
    }

    /// Tells collect sinks in other processes to send a streaming SELECT's rows to the
    /// result endpoint at `address` (host:port).
    pub fn with_result_address(mut self, address: String) -> Self {
        self.result_address = Some(address);
        self
    }

    /// Parses one statement as Flink SQL; a query that reads PostgreSQL's catalog (or one
    /// only PostgreSQL's grammar reads, naming the catalog) is parsed again as PostgreSQL
    /// does, with the rewrites client catalog queries need.
    pub fn parse(&self, sql: &str) -> Result<Statement> {
        match parse_statement(sql) {
            Ok(Statement::Query(q)) if pg_catalog::reads_catalog(&q) => {
                Ok(match self.pg_catalog.parse_query(sql)? {
                    Some(query) => Statement::Query(Box::new(query)),
                    None => Statement::Query(q),
                })
            }
            // Eddy's parser checked the text's size before failing on its grammar.
            Err(e @ SqlError::Syntax(_)) if pg_catalog::names_catalog(sql) => {
                match self.pg_catalog.parse_query(sql)? {
                    Some(query) => Ok(Statement::Query(Box::new(query))),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// The zone `session`'s TIMESTAMP_LTZ values are shown in: its own setting, or the
    /// server's `table.local-time-zone`.
    pub(crate) fn time_zone(&self, session: &Session) -> Zone {
        let configured = self
            .effective_config(session)
            .get_string(&eddy_runtime::config::table::LOCAL_TIME_ZONE);
        Zone::parse(&configured).unwrap_or_else(|| session.time_zone())
    }

    /// Process configuration with the session's settings on top.
    pub fn effective_config(&self, session: &Session) -> Configuration {
        self.config.merged_with(&session.config())
    }

    /// Persists the catalog after a change.
    pub(crate) fn save_catalog(&self, catalog: &Catalog) -> Result<()> {
        self.store.save(catalog)?;
        *self.entry_points.write().unwrap_or_else(|p| p.into_inner()) = entry_points(catalog);
        Ok(())
    }

    /// Where a connection to the PostgreSQL database `name` starts: the catalog of that
    /// name, in its default database. `None` for a name that is no catalog (psql names
    /// the user by default), which starts in `default_catalog`.
    pub(crate) fn startup_database(&self, name: &str) -> Option<DatabaseName> {
        self.entry_points
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|database| DatabaseName::new(name, database))
    }

    /// How a catalog table appears to DataFusion and the planner; checks its computed
    /// columns and watermark.
    pub(crate) fn connector_table(
        &self,
        table: &CatalogTable,
        name: &ObjectName,
        config: &Configuration,
        state: &SessionState,
    ) -> Result<ConnectorTable> {
        let physical = table.physical_schema();
        let definition = TableDefinition {
            spec: ConnectorSpec {
                table: name.job_name(),
                schema: SerializedSchema::encode(&physical)?,
                options: table.options.clone(),
                primary_key: table.primary_key.clone().unwrap_or_default(),
                partition_keys: table.partition_keys.clone(),
                partition_filter: None,
                read_columns: None,
            },
            physical,
            computed: table.computed_columns(),
            watermark: table
                .watermark
                .as_ref()
                .map(|w| (w.column.clone(), w.expression.clone())),
            primary_key: table.primary_key.clone().unwrap_or_default(),
            bounded: self.registry.is_bounded(&table.options)?,
        };
        Ok(ConnectorTable::try_new(
            definition,
            state,
            self.registry.clone(),
            config.clone(),
        )?)
    }

    /// A DataFusion context with Eddy's functions, without catalog tables.
    pub(crate) fn bare_context(&self) -> SessionContext {
        self.bare_context_at(&DatabaseName::default_database(), Zone::utc())
    }

    /// As [`Engine::bare_context`], with unqualified names resolving in `at`, and casts to
    /// TIMESTAMP_LTZ reading times of day in `zone`.
    fn bare_context_at(&self, at: &DatabaseName, zone: Zone) -> SessionContext {
        // Numeric literals such as 1.5 are exact, as in PostgreSQL and Flink, not floats.
        // Eddy's own information_schema (PostgreSQL's type names) replaces DataFusion's.
        let df_config = SessionConfig::new()
            .with_default_catalog_and_schema(&at.catalog, &at.database)
            .with_target_partitions(2)
            .set_bool("datafusion.sql_parser.parse_float_as_decimal", true);
        // Built with its type planner (`regclass` casts) rather than rebuilt later:
        // rebuilding re-registers DataFusion's functions over Eddy's (`date_format`).
        let mut builder = SessionStateBuilder::new()
            .with_config(df_config)
            .with_runtime_env(self.runtime.clone())
            .with_default_features()
            .with_type_planner(Arc::new(crate::type_planner::EddyTypes::new(
                zone,
                pg_catalog::type_planner(),
            )));
        // Ahead of DataFusion's, which plan SUBSTRING and OVERLAY to PostgreSQL's.
        if let Some(planners) = builder.expr_planners() {
            planners.insert(0, Arc::new(eddy_runtime::functions::FlinkStringPlanner));
        }
        let state = builder.build();
        let mut ctx = SessionContext::new_with_state(state);
        for f in eddy_functions() {
            ctx.register_udf(f.as_ref().clone());
        }
        // CURRENT_TIMESTAMP (and NOW()) is Flink's TIMESTAMP_LTZ(3): an instant, shown in
        // the session's zone. Only this function takes the zone: DataFusion's session-wide
        // time zone would also zone TO_TIMESTAMP's results, which Flink leaves without one.
        let mut now_options = datafusion::config::ConfigOptions::default();
        now_options.execution.time_zone = Some(zone.arrow_name());
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::from(
            datafusion::functions::datetime::now::NowFunc::new_with_config(&now_options),
        ));
        for f in eddy_runtime::functions::flink_aggregate_aliases() {
            ctx.register_udaf(f.as_ref().clone());
        }
        ctx.add_analyzer_rule(Arc::new(eddy_runtime::functions::TypeOfRule));
        // Flink's FIRST_VALUE / LAST_VALUE skip NULLs. Registering a rewrite cannot fail.
        let _ = datafusion::execution::FunctionRegistry::register_function_rewrite(
            &mut ctx,
            Arc::new(eddy_runtime::functions::FlinkFirstLastNulls),
        );
        if self.config.get_bool(&core::TESTING_FUNCTIONS) {
            for f in testing_functions() {
                ctx.register_udf(f.as_ref().clone());
            }
        }
        ctx
    }

    /// A DataFusion context with every table and view of the catalog registered, for
    /// batch queries.
    pub(crate) async fn session_context(
        &self,
        config: &Configuration,
        at: &DatabaseName,
    ) -> Result<SessionContext> {
        self.context_with(config, at, false, pg_catalog::ROLE_NAME, None, None)
            .await
    }

    /// As [`Engine::session_context`] at `at`, with `session`'s temporary tables and views
    /// (for a temporary view's query).
    pub(crate) async fn temporary_context(
        &self,
        config: &Configuration,
        at: &DatabaseName,
        session: &Session,
    ) -> Result<SessionContext> {
        let temporaries = session.temporaries.snapshot();
        self.context_with(config, at, false, session.user(), None, Some(&temporaries))
            .await
    }

    /// Where `pg_stat_activity` finds the sessions: the gateway that serves them.
    pub(crate) fn serve_backends(&self, backends: Arc<dyn crate::session::Backends>) {
        // One gateway per engine; a second would list the same sessions.
        let _ = self.backends.set(backends);
    }

    /// As [`Engine::session_context`], for `session`: its user (`current_user`) and its
    /// PostgreSQL settings (`pg_settings`, `current_setting`).
    pub(crate) async fn session_context_for(
        &self,
        config: &Configuration,
        session: &crate::session::Session,
    ) -> Result<SessionContext> {
        let facts = (session.pg_settings(), session.backend_pid());
        let at = session.current_database();
        let temporaries = session.temporaries.snapshot();
        self.context_with(
            config,
            &at,
            false,
            session.user(),
            Some(facts),
            Some(&temporaries),
        )
        .await
    }

    /// As [`Engine::session_context`], for planning streaming jobs: `SUM` and `AVG` have
    /// Flink's result types there (and in the views the job reads), as on TaskManagers.
    pub(crate) async fn job_context(
        &self,
        config: &Configuration,
        at: &DatabaseName,
    ) -> Result<SessionContext> {
        self.context_with(config, at, true, pg_catalog::ROLE_NAME, None, None)
            .await
    }

    /// As [`Engine::job_context`], for a job `session` submits: in its current database,
    /// with its temporary tables and views.
    pub(crate) async fn job_context_for(
        &self,
        config: &Configuration,
        session: &Session,
    ) -> Result<SessionContext> {
        let temporaries = session.temporaries.snapshot();
        let at = session.current_database();
        self.context_with(
            config,
            &at,
            true,
            pg_catalog::ROLE_NAME,
            None,
            Some(&temporaries),
        )
        .await
    }

    async fn context_with(
        &self,
        config: &Configuration,
        at: &DatabaseName,
        job: bool,
        user: &str,
        session: Option<(Vec<(String, String)>, i32)>,
        temporaries: Option<&TemporaryObjects>,
    ) -> Result<SessionContext> {
        let zone = Zone::parse(&config.get_string(&eddy_runtime::config::table::LOCAL_TIME_ZONE))
            .unwrap_or_else(Zone::utc);
        let ctx = self.bare_context_at(at, zone);
        if job {
            for f in eddy_runtime::functions::flink_aggregates() {
                ctx.register_udaf(f.as_ref().clone());
            }
        }
        let catalog = self.catalog.read().await;
        // The session's current database may have been dropped by another session: its
        // unqualified names then find nothing (42P01), and the rest still works.
        let state = ctx.state();
        let mut relations = Vec::new();
        for (name, fc) in &catalog.catalogs {
            let provider = MemoryCatalogProvider::new();
            for database in fc.databases.keys() {
                provider.register_schema(database, Arc::new(MemorySchemaProvider::new()))?;
            }
            ctx.register_catalog(name.as_str(), Arc::new(provider));
        }
        for (database_name, database) in catalog.databases() {
            let materialized = database.materialized.values().map(|m| &m.table);
            for table in database.tables.values().chain(materialized) {
                let name = database_name.object(&table.name);
                // A table the current code cannot read (e.g. an expression that no longer
                // plans) must not make every other table unreadable.
                match self.connector_table(table, &name, config, &state) {
                    Ok(t) => {
                        ctx.register_table(reference(&name), Arc::new(t))?;
                    }
                    Err(e) => tracing::warn!(table = %name, error = %e, "table is not readable"),
                }
                // PostgreSQL clients see the current catalog's databases, as schemas.
                if job || database_name.catalog != at.catalog {
                    continue;
                }
                let relation = match database.materialized.get(&table.name) {
                    Some(m) => Relation::table(
                        table,
                        RelationKind::MaterializedView,
                        Some(m.query.clone()),
                    ),
                    None => Relation::table(table, RelationKind::Table, None),
                };
                relations.push((database_name.database.clone(), relation));
            }
        }
        register_window_functions(&ctx)?;
        register_temporal_function(&ctx);
        register_user_functions(&ctx, &catalog, temporaries, at)?;
        // Views in creation order within a database; a view reading another database's
        // view waits for a later pass.
        let mut pending: Vec<(DatabaseName, &crate::catalog::CatalogView)> = catalog
            .databases()
            .flat_map(|(d, db)| db.views_in_order().map(move |v| (d.clone(), v)))
            .collect();
        loop {
            let before = pending.len();
            let mut unreadable = Vec::new();
            for (database_name, view) in pending {
                // A view's unqualified names are those of its own database.
                set_default_database(&ctx, &database_name);
                let planned = crate::handler::plan_view_query(&ctx, &view.planned_query()).await;
                set_default_database(&ctx, at);
                match planned {
                    Ok(plan) => {
                        if !job && database_name.catalog == at.catalog {
                            let relation =
                                Relation::view(&view.name, plan.schema().as_arrow(), &view.query);
                            relations.push((database_name.database.clone(), relation));
                        }
                        ctx.register_table(
                            reference(&database_name.object(&view.name)),
                            Arc::new(ViewTable::new(plan, Some(view.query.clone()))),
                        )?;
                    }
                    // A view whose tables were dropped stays in the catalog but cannot
                    // be read.
                    Err(e) => {
                        tracing::debug!(view = %view.name, error = %e, "view is not readable");
                        unreadable.push((database_name, view));
                    }
                }
            }
            pending = unreadable;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        if let Some(temporaries) = temporaries {
            self.register_temporaries(&ctx, at, config, temporaries)
                .await?;
        }
        if !job {
            let roles = self
                .config_users
                .iter()
                .map(|name| (name.clone(), true, true))
                .chain(
                    catalog
                        .roles
                        .iter()
                        // A configuration user of the same name is the one that logs in.
                        .filter(|(name, _)| !self.config_users.contains(*name))
                        .map(|(name, r)| (name.clone(), r.superuser, r.login)),
                );
            let backends = self
                .backends
                .get()
                .map(|b| crate::session::SessionList(b.clone()));
            let sees_all = !self.checks_roles()
                || user == pg_catalog::ROLE_NAME
                || self.config_users.contains(user)
                || catalog.roles.get(user).is_some_and(|r| r.superuser);
            let schemas: Vec<String> = catalog
                .catalog(&at.catalog)
                .map(|c| c.databases.keys().cloned().collect())
                .unwrap_or_default();
            let mut relations = Relations::new(&at.catalog, &at.database, &schemas, relations)
                .with_databases(catalog.catalogs.keys().cloned())
                .with_roles(user, roles)
                .with_backends(backends, sees_all);
            if let Some((settings, pid)) = session {
                relations = relations.with_session(settings, pid);
            }
            // The current catalog's user functions, each in its database's schema; a
            // session's temporary function shadows a permanent one of the same name.
            let mut functions: BTreeMap<(String, String), pg_catalog::procs::UserFunction> =
                BTreeMap::new();
            if let Ok(current) = catalog.catalog(&at.catalog) {
                for (database, d) in &current.databases {
                    for f in d.functions.values() {
                        let entry = pg_catalog::procs::UserFunction::of(database, f);
                        functions.insert((database.clone(), f.name.clone()), entry);
                    }
                }
            }
            for (name, f) in temporaries.map(|t| &t.functions).into_iter().flatten() {
                if name.database.catalog == at.catalog {
                    let database = &name.database.database;
                    let entry = pg_catalog::procs::UserFunction::of(database, f);
                    functions.insert((database.clone(), f.name.clone()), entry);
                }
            }
            let relations = relations.with_functions(functions.into_values().collect());
            self.pg_catalog.register(&ctx, relations)?;
        }
        Ok(ctx)
    }
}

/// The user functions calls in `at` find, registered by name over the built-in ones they
/// shadow (`handler::visible_user_functions` says which).
fn register_user_functions(
    ctx: &SessionContext,
    catalog: &Catalog,
    temporaries: Option<&TemporaryObjects>,
    at: &DatabaseName,
) -> Result<()> {
    let state = ctx.state();
    let builtin = |name: &str| {
        state.scalar_functions().contains_key(name)
            || state.aggregate_functions().contains_key(name)
            || state.window_functions().contains_key(name)
    };
    let none = TemporaryObjects::default();
    let temporaries = temporaries.unwrap_or(&none);
    let visible = crate::handler::visible_user_functions(catalog, temporaries, at, builtin);
    for found in visible.into_values() {
        ctx.register_udf(
            eddy_runtime::functions::python::python_udf(found.function)?
                .as_ref()
                .clone(),
        );
    }
    // Qualified calls (`db.f(x)`, `catalog.db.f(x)`, in any database): DataFusion looks a
    // function named so up by the whole name as written, so every function is registered
    // under those names too, a temporary one over the catalog one it shadows.
    let qualified = |name: &ObjectName| {
        let mut names = vec![format!(
            "{}.{}.{}",
            name.database.catalog, name.database.database, name.name
        )];
        if name.database.catalog == at.catalog {
            names.push(format!("{}.{}", name.database.database, name.name));
        }
        names
    };
    let mut by_name: BTreeMap<String, &eddy_runtime::functions::python::PythonFunction> =
        BTreeMap::new();
    for (catalog_name, c) in &catalog.catalogs {
        for (database, d) in &c.databases {
            for f in d.functions.values() {
                let name = DatabaseName::new(catalog_name, database).object(&f.name);
                for q in qualified(&name) {
                    by_name.insert(q, f);
                }
            }
        }
    }
    for (name, f) in &temporaries.functions {
        for q in qualified(name) {
            by_name.insert(q, f);
        }
    }
    for (name, f) in by_name {
        let mut function = f.clone();
        function.name = name;
        ctx.register_udf(
            eddy_runtime::functions::python::python_udf(function)?
                .as_ref()
                .clone(),
        );
    }
    Ok(())
}

/// How DataFusion names a catalog object: all three parts, as written.
pub(crate) fn reference(name: &ObjectName) -> TableReference {
    TableReference::full(
        name.database.catalog.as_str(),
        name.database.database.as_str(),
        name.name.as_str(),
    )
}

/// Makes unqualified names in `ctx` resolve in `database`.
pub(crate) fn set_default_database(ctx: &SessionContext, database: &DatabaseName) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let options = state.config_mut().options_mut();
    options.catalog.default_catalog = database.catalog.clone();
    options.catalog.default_schema = database.database.clone();
}

impl Engine {
    /// Registers a session's temporary tables and views over the permanent objects of the
    /// same names, which they shadow.
    async fn register_temporaries(
        &self,
        ctx: &SessionContext,
        at: &DatabaseName,
        config: &Configuration,
        temporaries: &TemporaryObjects,
    ) -> Result<()> {
        let state = ctx.state();
        // A temporary object whose database was dropped since is skipped: the rest of
        // the session's statements must still plan.
        let placed = |name: &ObjectName| {
            ctx.catalog(&name.database.catalog)
                .and_then(|c| c.schema(&name.database.database))
                .is_some()
        };
        for (name, table) in temporaries.tables.iter().filter(|(n, _)| placed(n)) {
            // A temporary table that does not read hides the permanent one all the same.
            let _ = ctx.deregister_table(reference(name));
            match self.connector_table(table, name, config, &state) {
                Ok(t) => {
                    ctx.register_table(reference(name), Arc::new(t))?;
                }
                Err(e) => {
                    tracing::warn!(table = %name, error = %e, "temporary table is not readable")
                }
            }
        }
        for (name, view) in temporaries.views_in_order().filter(|(n, _)| placed(n)) {
            let _ = ctx.deregister_table(reference(name));
            set_default_database(ctx, &name.database);
            let planned = crate::handler::plan_view_query(ctx, &view.planned_query()).await;
            set_default_database(ctx, at);
            match planned {
                Ok(plan) => {
                    ctx.register_table(
                        reference(name),
                        Arc::new(ViewTable::new(plan, Some(view.query.clone()))),
                    )?;
                }
                Err(e) => {
                    tracing::debug!(view = %name, error = %e, "temporary view is not readable")
                }
            }
        }
        Ok(())
    }
}
