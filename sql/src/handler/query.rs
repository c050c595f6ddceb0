//! SELECT: over bounded tables a batch query through DataFusion; over unbounded tables a
//! streaming job whose collect sink feeds the client until LIMIT or cancel.

use std::sync::Arc;

use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use eddy_cluster::{DispatcherGateway, JobStatus};
use eddy_planner::{is_unbounded_plan, plan_collect, scanned_tables};
use eddy_runtime::config::{execution, Configuration};
use futures::StreamExt;

use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::session::Session;

/// A planned query and, when PostgreSQL's output names had duplicates, the names its
/// result columns must carry.
pub struct PlannedQuery {
    pub ctx: SessionContext,
    pub plan: LogicalPlan,
    pub output_names: Option<Vec<String>>,
    /// The session's relations, which result columns are traced to.
    pub relations: Option<Arc<crate::pg_catalog::Relations>>,
    /// It runs as a streaming job (its rows come from a collect sink), not a batch query.
    pub streaming: bool,
    /// `table.exec.mini-batch.enabled`, which decides whether some operators update.
    pub mini_batch: bool,
}

/// Whether a query runs as a streaming job under `execution.runtime-mode`; refuses a query
/// of an unbounded table in batch mode, as Flink does.
pub(crate) fn runs_as_job(plan: &LogicalPlan, config: &Configuration) -> Result<bool> {
    let (unbounded, reads_tables) = scanned_tables(plan);
    match config
        .get_string(&execution::RUNTIME_MODE)
        .to_ascii_lowercase()
        .as_str()
    {
        "batch" => match unbounded.first() {
            Some(t) => Err(SqlError::NotSupported(format!(
                "Querying an unbounded table '{t}' in batch mode is not allowed. The table source is unbounded."
            ))),
            // Window TVFs and temporal joins exist only in the streaming runtime; over
            // bounded tables they give batch answers there too.
            None => Ok(is_unbounded_plan(plan)),
        },
        "streaming" => Ok(reads_tables || is_unbounded_plan(plan)),
        _ => Ok(is_unbounded_plan(plan)),
    }
}

impl PlannedQuery {
    /// The result schema as the client sees it.
    pub fn output_schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        let schema = self.plan.schema().as_arrow().clone();
        let schema = match &self.output_names {
            Some(names) => super::output_names::rename(&schema, names),
            None => Arc::new(schema),
        };
        // A streaming result that updates comes as a changelog, its row kinds first. Asked
        // of the optimized plan, as the job is planned from it (subqueries become joins).
        let optimized = self.ctx.state().optimize(&self.plan);
        let plan = optimized.as_ref().unwrap_or(&self.plan);
        let schema = match self.streaming && eddy_planner::is_updating_plan(plan, self.mini_batch) {
            true => Arc::new(datafusion::arrow::datatypes::Schema::new(
                std::iter::once(Arc::new(op_field()))
                    .chain(schema.fields().iter().cloned())
                    .collect::<Vec<_>>(),
            )),
            false => schema,
        };
        self.with_origins(schema)
    }

    /// `schema` with the relation and declared type of each column read straight from one.
    fn with_origins(
        &self,
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> datafusion::arrow::datatypes::SchemaRef {
        match &self.relations {
            Some(r) => super::column_origin::annotate(schema, &self.plan, r),
            None => schema,
        }
    }
}

/// Plans a query against a fresh context, with PostgreSQL's output column names; binds
/// parameters when given.
pub async fn plan_query(
    engine: &Engine,
    session: &Session,
    mut statement: ast::Statement,
    params: Option<ParamValues>,
) -> Result<PlannedQuery> {
    // Names first: `SELECT 1` is `?column?`, not the name of the cast literals get next.
    let output_names = super::output_names::apply(&mut statement);
    if let ast::Statement::Query(q) = &mut statement {
        super::literals::apply(q);
    }
    let config = engine.effective_config(session);
    let ctx = engine.session_context_for(&config, session).await?;
    let relations = ctx
        .state()
        .config()
        .get_extension::<crate::pg_catalog::Relations>();
    let plan = ctx
        .state()
        .statement_to_plan(DFStatement::Statement(Box::new(statement.clone())))
        .await?;
    // A query over an unbounded table is a job: planned again with Flink's SUM and AVG.
    let mut streaming = runs_as_job(&plan, &config)?;
    let (ctx, mut plan) = match streaming {
        true => {
            let job_ctx = engine.job_context_for(&config, session).await?;
            let job_plan = job_ctx
                .state()
                .statement_to_plan(DFStatement::Statement(Box::new(statement)))
                .await;
            match job_plan {
                Ok(job_plan) => (job_ctx, job_plan),
                // A bounded query streaming mode would run as a job, using what only
                // batch queries have (PostgreSQL's catalog functions): answered as batch.
                Err(_) if !is_unbounded_plan(&plan) => {
                    streaming = false;
                    (ctx, plan)
                }
                Err(e) => return Err(e.into()),
            }
        }
        false => (ctx, plan),
    };
    if let Some(params) = params {
        plan = plan.with_param_values(params)?;
    }
    Ok(PlannedQuery {
        ctx,
        plan,
        output_names,
        relations,
        streaming,
        mini_batch: config.get_bool(&eddy_runtime::config::table::MINI_BATCH_ENABLED),
    })
}

/// Plans a view's query as a SELECT is planned, so that its columns get the names
/// PostgreSQL (and Flink) give them: `person.id` is `id`.
pub(crate) async fn plan_view_query(ctx: &SessionContext, query: &str) -> Result<LogicalPlan> {
    plan_view_query_with_names(ctx, query)
        .await
        .map(|(plan, _)| plan)
}

/// As [`plan_view_query`], with PostgreSQL's output names when some repeat.
pub(crate) async fn plan_view_query_with_names(
    ctx: &SessionContext,
    query: &str,
) -> Result<(LogicalPlan, Option<Vec<String>>)> {
    let sql = crate::parser::rewrite_window_tvfs(query)?;
    let sql = crate::parser::rewrite_temporal_tables(&sql)?;
    let sql = crate::parser::rewrite_time_units(&sql)?;
    let sql = crate::parser::flink_operators::rewrite_flink_operators(&sql)?;
    let mut statements =
        datafusion::sql::sqlparser::parser::Parser::parse_sql(&crate::parser::dialect(), &sql)?;
    if statements.len() != 1 {
        return Err(SqlError::Syntax("a view holds exactly one query".into()));
    }
    let mut statement = statements.remove(0);
    crate::parser::rewrite_group_windows(&mut statement)?;
    // Duplicate names cannot be renamed back inside a view: they keep DataFusion's
    // internal aliases there (and a materialized view refuses them).
    let names = super::output_names::apply(&mut statement);
    if let ast::Statement::Query(q) = &mut statement {
        super::literals::apply(q);
    }
    let plan = ctx
        .state()
        .statement_to_plan(DFStatement::Statement(Box::new(statement)))
        .await?;
    Ok((plan, names))
}

pub(super) async fn query(
    engine: &Engine,
    session: &Session,
    statement: ast::Statement,
    text: &str,
    params: Option<ParamValues>,
) -> Result<QueryOutput> {
    let planned = plan_query(engine, session, statement, params).await?;
    let output = query_output(engine, session, &planned, text).await?;
    Ok(match output {
        QueryOutput::Rows { schema, stream } => QueryOutput::Rows {
            schema: planned.with_origins(schema),
            stream,
        },
        output => output,
    })
}

async fn query_output(
    engine: &Engine,
    session: &Session,
    planned: &PlannedQuery,
    text: &str,
) -> Result<QueryOutput> {
    let (ctx, plan, names) = (
        &planned.ctx,
        planned.plan.clone(),
        planned.output_names.clone(),
    );
    let output = if planned.streaming {
        streaming_query(engine, session, ctx, plan, text).await?
    } else {
        // Planned here, so that a bad query fails before any row; run on the executor.
        let df = ctx.execute_logical_plan(plan).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let task = Arc::new(df.task_ctx());
        let physical = df.create_physical_plan().await?;
        QueryOutput::Rows {
            schema,
            stream: engine.batch_executor.execute(physical, task),
        }
    };
    Ok(match (names, output) {
        (Some(names), QueryOutput::Rows { schema, stream }) => {
            let renamed = super::output_names::rename(&schema, &names);
            let out = renamed.clone();
            let stream = stream.map(move |b| {
                b.and_then(|b| {
                    datafusion::arrow::record_batch::RecordBatch::try_new(
                        out.clone(),
                        b.columns().to_vec(),
                    )
                    .map_err(|e| SqlError::Internal(e.to_string()))
                })
            });
            QueryOutput::Rows {
                schema: renamed,
                stream: Box::pin(stream),
            }
        }
        (_, output) => output,
    })
}

/// Cancels the job and forgets the collector when the client stops reading.
struct CollectGuard {
    dispatcher: Arc<dyn DispatcherGateway>,
    job_id: String,
    collect_id: String,
}

impl Drop for CollectGuard {
    fn drop(&mut self) {
        eddy_connectors::collect::unregister_collector(&self.collect_id);
        let dispatcher = self.dispatcher.clone();
        let job_id = std::mem::take(&mut self.job_id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                // The job may have ended by itself already; that is fine.
                let _ = dispatcher.cancel_job(&job_id).await;
            });
        }
    }
}

/// Splits a top-level LIMIT off a plan: streaming jobs have no LIMIT operator, the
/// client side stops reading instead.
fn split_limit(plan: LogicalPlan) -> Result<(LogicalPlan, Option<usize>)> {
    if let LogicalPlan::Limit(limit) = &plan {
        let skip = match limit.get_skip_type()? {
            datafusion::logical_expr::SkipType::Literal(n) => n,
            _ => return Err(SqlError::NotSupported("OFFSET must be a constant".into())),
        };
        let fetch = match limit.get_fetch_type()? {
            datafusion::logical_expr::FetchType::Literal(n) => n,
            _ => return Err(SqlError::NotSupported("LIMIT must be a constant".into())),
        };
        if skip > 0 {
            return Err(SqlError::NotSupported(
                "OFFSET is not supported on unbounded tables".into(),
            ));
        }
        return Ok((limit.input.as_ref().clone(), fetch));
    }
    Ok((plan, None))
}

/// The `op` column of a changelog result.
fn op_field() -> datafusion::arrow::datatypes::Field {
    datafusion::arrow::datatypes::Field::new(
        "op",
        datafusion::arrow::datatypes::DataType::Utf8,
        false,
    )
}

/// A result batch's columns for the client: an updating result's row kinds as text, first.
fn changelog_columns(
    batch: &datafusion::arrow::record_batch::RecordBatch,
    updating: bool,
) -> Result<Vec<datafusion::arrow::array::ArrayRef>> {
    if !updating {
        return Ok(batch.columns().to_vec());
    }
    let ops = eddy_runtime::changelog::op_strings(batch)
        .map_err(|e| SqlError::Internal(e.to_string()))?;
    Ok(
        std::iter::once(Arc::new(ops) as datafusion::arrow::array::ArrayRef)
            .chain(eddy_runtime::changelog::data_columns(batch).iter().cloned())
            .collect(),
    )
}

async fn streaming_query(
    engine: &Engine,
    session: &Session,
    ctx: &SessionContext,
    plan: LogicalPlan,
    text: &str,
) -> Result<QueryOutput> {
    // The LIMIT comes off before optimizing, while it is still the plan's root.
    let (plan, limit) = split_limit(plan)?;
    let plan = ctx.state().optimize(&plan)?;
    let config = engine.effective_config(session);
    let collect_id = uuid::Uuid::new_v4().simple().to_string();
    let graph = plan_collect(
        &ctx.state(),
        &plan,
        &collect_id,
        engine.result_address.as_deref(),
        &config,
        text.to_string(),
    )?;
    // An updating result streams its changes, each row with its kind first in an `op`
    // column, as Flink's SQL client shows a changelog.
    let updating = eddy_planner::is_updating(&graph);
    let op = updating.then(op_field);
    // Rows come from another subtask's output: every column may hold nulls there.
    let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(
        op.into_iter()
            .chain(
                plan.schema()
                    .as_arrow()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true)),
            )
            .collect::<Vec<_>>(),
    ));
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    eddy_connectors::collect::register_collector(&collect_id, tx);
    let job_id = match engine.dispatcher.submit_job(graph).await {
        Ok(id) => id,
        Err(e) => {
            eddy_connectors::collect::unregister_collector(&collect_id);
            return Err(e.into());
        }
    };
    let guard = CollectGuard {
        dispatcher: engine.dispatcher.clone(),
        job_id: job_id.clone(),
        collect_id,
    };
    let remaining = limit.unwrap_or(usize::MAX);
    let out_schema = schema.clone();
    // Rows arrive until LIMIT is reached or the job ends; a job that fails (even before
    // any writer registered with the collector) ends the stream with its error.
    type Ended = std::result::Result<eddy_cluster::JobDetails, eddy_cluster::ClusterError>;
    let ended: futures::future::BoxFuture<'static, Ended> = {
        let dispatcher = engine.dispatcher.clone();
        let job_id = job_id.clone();
        Box::pin(async move { dispatcher.request_job_result(&job_id).await })
    };
    let stream = futures::stream::unfold(
        (rx, remaining, guard, Some(ended)),
        move |(mut rx, remaining, guard, mut ended)| {
            let schema = out_schema.clone();
            async move {
                if remaining == 0 {
                    return None;
                }
                loop {
                    let next = match ended.as_mut() {
                        Some(end) => tokio::select! {
                            batch = rx.recv() => Ok(batch),
                            details = end => Err(details),
                        },
                        None => Ok(rx.recv().await),
                    };
                    match next {
                        Ok(Some(batch)) => {
                            let n = batch.num_rows().min(remaining);
                            let batch = batch.slice(0, n);
                            let batch = changelog_columns(&batch, updating).and_then(|c| {
                                datafusion::arrow::record_batch::RecordBatch::try_new(schema, c)
                                    .map_err(|e| SqlError::Internal(e.to_string()))
                            });
                            return Some((batch, (rx, remaining - n, guard, ended)));
                        }
                        Ok(None) => return None,
                        Err(details) => {
                            ended = None;
                            match details {
                                // The JobManager cannot be asked (a gateway of its own lost
                                // it): the rows may be incomplete, so say so.
                                Err(e) => return Some((Err(e.into()), (rx, 0, guard, None))),
                                Ok(d) if d.status == JobStatus::Failed => {
                                    let e = SqlError::JobFailed {
                                        id: d.job_id,
                                        error: d.error.unwrap_or_else(|| {
                                            eddy_cluster::gateway::Failure::internal(
                                                "the job failed without a reason",
                                            )
                                        }),
                                    };
                                    return Some((Err(e), (rx, 0, guard, None)));
                                }
                                // Finished: drain what the sink already sent, then end.
                                _ => eddy_connectors::collect::unregister_collector(
                                    &guard.collect_id,
                                ),
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(QueryOutput::Rows {
        schema,
        stream: Box::pin(stream),
    })
}
