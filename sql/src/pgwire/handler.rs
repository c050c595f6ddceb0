//! The simple and extended query protocols on top of the statement handlers.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use futures::Sink;
use futures::StreamExt;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{NoopQueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::ClientPortalStore;
use pgwire::api::{
    ClientInfo, ConnectionHandle, ConnectionManager, Type, METADATA_APPLICATION_NAME,
    METADATA_CLIENT_ENCODING, METADATA_DATABASE, METADATA_USER,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::PgWireBackendMessage;

use super::cancel::{cancellable, CancelWatch};
use super::encode::encode_batch;
use super::guard::{guarded, guarded_stream, Deadline};
use super::idle::{Activities, Activity};
use super::types::{decode_params, fields, param_pg_type};
use crate::engine::{Engine, QueryOutput};
use crate::error::SqlError;
use crate::handler::{execute, plan_query};
use crate::parser::{split_statements, Statement};
use crate::session::{Session, Zone};

/// Serves every connection of a gateway.
pub(super) struct EddyHandler {
    pub(super) engine: Arc<Engine>,
    pub(super) connections: Arc<ConnectionManager>,
    /// Per-connection activity, for the idle-in-transaction timeout.
    pub(super) activities: Arc<Activities>,
    /// Process ids and cancel keys of new connections.
    pub(super) pids: pgwire::api::RandomPidSecretKeyGenerator,
    parser: Arc<NoopQueryParser>,
    /// How connections authenticate.
    pub(super) auth: super::auth::Authenticator,
}

impl EddyHandler {
    pub fn new(
        engine: Arc<Engine>,
        connections: Arc<ConnectionManager>,
        auth: super::auth::Authenticator,
    ) -> Self {
        Self {
            engine,
            connections,
            activities: Arc::default(),
            pids: Default::default(),
            parser: Arc::new(NoopQueryParser::new()),
            auth,
        }
    }
}

fn error_info(e: &SqlError) -> ErrorInfo {
    ErrorInfo::new(
        "ERROR".to_string(),
        e.sqlstate().to_string(),
        e.client_message(),
    )
}

pub(super) fn pg_error(e: SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(&e)))
}

pub(super) fn session<C: ClientInfo>(client: &C, engine: &Engine) -> Arc<Session> {
    client.session_extensions().get_or_insert_with(|| {
        // What the client set in its startup packet is what SHOW answers, as reported in
        // ParameterStatus.
        let session = match client.metadata().get(METADATA_USER) {
            Some(user) => Session::for_user(user),
            None => Session::default(),
        }
        .with_pid(client.pid_and_secret_key().0);
        // The PostgreSQL database a client connects to is a catalog (docs/postgres.md).
        if let Some(start) = client
            .metadata()
            .get(METADATA_DATABASE)
            .and_then(|name| engine.startup_database(name))
        {
            session.use_database(start);
        }
        // pgjdbc sends its JVM's zone as TimeZone.
        for key in [
            METADATA_APPLICATION_NAME,
            METADATA_CLIENT_ENCODING,
            "TimeZone",
        ] {
            if let Some(value) = client.metadata().get(key) {
                if let Err(e) = session.set(key, value) {
                    tracing::debug!(key, error = %e, "startup parameter not taken");
                }
            }
        }
        session
    })
}

fn handle<C: ClientInfo>(client: &C) -> Option<Arc<ConnectionHandle>> {
    // pgwire stores the handle as an `Arc<ConnectionHandle>` extension.
    client
        .session_extensions()
        .get::<Arc<ConnectionHandle>>()
        .map(|h| h.as_ref().clone())
}

/// The response for a statement's output; timestamptz values are shown in `zone`.
fn to_response(output: QueryOutput, format: &Format, watch: CancelWatch, zone: Zone) -> Response {
    match output {
        // The transaction-status byte of ReadyForQuery follows BEGIN and COMMIT as in
        // PostgreSQL; ROLLBACK TO leaves a failed transaction usable again.
        QueryOutput::Command(tag) => match tag.as_str() {
            "BEGIN" => Response::TransactionStart(Tag::new(&tag)),
            "ROLLBACK TO" => Response::TransactionStart(Tag::new("ROLLBACK")),
            "COMMIT" | "ROLLBACK" => Response::TransactionEnd(Tag::new(&tag)),
            _ => Response::Execution(Tag::new(&tag)),
        },
        QueryOutput::Rows { schema, stream } => {
            let fields = Arc::new(fields(&schema, format));
            let row_fields = fields.clone();
            let stream = cancellable(stream, watch, || SqlError::Cancelled);
            let rows = stream
                .flat_map(move |batch| {
                    let rows = match batch {
                        Ok(b) => encode_batch(&b, &row_fields, zone),
                        Err(e) => vec![Err(pg_error(e))],
                    };
                    futures::stream::iter(rows)
                })
                .boxed();
            Response::Query(QueryResponse::new(fields, rows))
        }
        QueryOutput::Copy {
            schema,
            stream,
            options,
        } => {
            let stream = cancellable(stream, watch, || SqlError::Cancelled).boxed();
            Response::CopyOut(super::copy::copy_out(schema, stream, options, zone))
        }
        QueryOutput::CopyIn(copy) => Response::CopyIn(super::copy_in::copy_in_response(&copy)),
    }
}

/// Runs one statement under its guard (panics, `statement_timeout`), its rows included,
/// and keeps the connection's activity (busy while it runs, transaction boundaries) for the
/// idle-in-transaction timeout. pgwire drops this future when the client cancels.
async fn run(
    engine: &Engine,
    session: &Session,
    text: &str,
    params: Option<ParamValues>,
    activity: Option<Arc<Activity>>,
) -> Result<QueryOutput, SqlError> {
    let busy = activity.as_ref().map(|a| a.statement(text));
    let deadline = Deadline::after(session.statement_timeout());
    let output = guarded(deadline.as_ref(), async {
        let statement = engine.parse(text)?;
        execute(engine, session, statement, text, params).await
    })
    .await;
    if let Some(a) = &activity {
        let boundary = match &output {
            Ok(QueryOutput::Command(tag)) if tag == "BEGIN" => Some(true),
            Ok(QueryOutput::Command(tag)) if tag == "COMMIT" || tag == "ROLLBACK" => Some(false),
            _ => None,
        };
        a.update(boundary, session.idle_in_transaction_timeout());
    }
    // The statement stays busy until its last row is sent.
    let hold = move |stream| {
        guarded_stream(stream, deadline)
            .map(move |item| {
                let _busy = &busy;
                item
            })
            .boxed()
    };
    Ok(match output? {
        QueryOutput::Rows { schema, stream } => QueryOutput::Rows {
            schema,
            stream: hold(stream),
        },
        QueryOutput::Copy {
            schema,
            stream,
            options,
        } => QueryOutput::Copy {
            schema,
            stream: hold(stream),
            options,
        },
        command => command,
    })
}

fn activity<C: ClientInfo>(handler: &EddyHandler, client: &C) -> Option<Arc<Activity>> {
    handler.activities.get(&client.socket_addr())
}

#[async_trait]
impl SimpleQueryHandler for EddyHandler {
    async fn on_query<C>(
        &self,
        client: &mut C,
        query: pgwire::messages::simplequery::Query,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if super::execute::holds_copy(&query.query) {
            super::execute::on_copy_query(self, client, &query.query).await
        } else {
            self._on_query(client, query).await
        }
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session(client, &self.engine);
        let statements = match split_statements(query) {
            Ok(s) => s,
            Err(e) => return Ok(vec![Response::Error(Box::new(error_info(&e)))]),
        };
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        // COPY FROM STDIN takes the client's next messages, so it must come last: the
        // statements after it would run before its data.
        let copy_from = |t: &String| {
            let copy = t
                .trim_start()
                .get(..4)
                .is_some_and(|w| w.eq_ignore_ascii_case("copy"));
            copy && matches!(
                self.engine.parse(t),
                Ok(crate::parser::Statement::CopyFrom { .. })
            )
        };
        if statements[..statements.len() - 1].iter().any(copy_from) {
            let e = SqlError::NotSupported(
                "COPY FROM STDIN must be the last statement of a query string; send the statements after it separately".into(),
            );
            return Ok(vec![Response::Error(Box::new(error_info(&e)))]);
        }
        let mut responses = Vec::new();
        for text in statements {
            let watch = CancelWatch::new(handle(client));
            match run(&self.engine, &session, &text, None, activity(self, client)).await {
                Ok(out) => responses.push(to_response(
                    out,
                    &Format::UnifiedText,
                    watch,
                    self.engine.time_zone(&session),
                )),
                Err(e) => {
                    // As PostgreSQL: an error ends the rest of a multi-statement query.
                    responses.push(Response::Error(Box::new(error_info(&e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

/// Result columns and parameter types of a statement, for Describe.
async fn describe(
    engine: &Engine,
    session: &Session,
    sql: &str,
) -> Result<(Vec<Type>, Vec<FieldInfo>), SqlError> {
    let statement = engine.parse(sql)?;
    match statement {
        // Utility statements that answer rows are read-only: running them is how their
        // columns are known (a prepared SHOW JOBS must describe the rows it sends).
        s @ (Statement::ShowJobs
        | Statement::ShowCreateTable(_)
        | Statement::ShowCreateView(_)
        | Statement::ShowMaterializedViews
        | Statement::ShowCreateMaterializedView(_)
        // Lazy: its first change is read only when the rows are.
        | Statement::Subscribe { .. }
        | Statement::ShowVariable(_)
        | Statement::Describe(_)
        | Statement::ShowColumns { .. }
        | Statement::DescribeJob(_)
        | Statement::Explain(..)
        | Statement::Set(None)) => describe_by_running(engine, session, s, sql).await,
        Statement::Namespace(n) if n.answers_rows() => {
            describe_by_running(engine, session, Statement::Namespace(n), sql).await
        }
        Statement::Functions(f) if f.answers_rows() => {
            describe_by_running(engine, session, Statement::Functions(f), sql).await
        }
        Statement::Query(q) => {
            let planned = plan_query(engine, session, *q, None).await?;
            let types = ordered_param_types(&planned.plan)?;
            let params = types.iter().map(|t| param_pg_type(t.as_ref())).collect();
            let schema = planned.output_schema();
            Ok((params, fields(&schema, &Format::UnifiedBinary)))
        }
        // A FETCH's columns are its cursor's; running it would consume rows.
        Statement::Fetch { name, .. } => {
            let schema = session.cursors.schema(&name).await?;
            Ok((vec![], fields(&schema, &Format::UnifiedBinary)))
        }
        // END of an open statement set submits it and answers its job's id.
        Statement::Transaction("END") if session.statement_set_open() => {
            let schema = datafusion::arrow::datatypes::Schema::new(vec![
                datafusion::arrow::datatypes::Field::new(
                    "job_id",
                    datafusion::arrow::datatypes::DataType::Utf8,
                    false,
                ),
            ]);
            Ok((vec![], fields(&schema, &Format::UnifiedBinary)))
        }
        // Inside an open statement set an INSERT is only collected.
        Statement::Insert(_) if session.statement_set_open() => Ok((vec![], vec![])),
        Statement::Insert(_) | Statement::StatementSet(_) | Statement::CreateTableAs { .. } => {
            let schema = datafusion::arrow::datatypes::Schema::new(vec![
                datafusion::arrow::datatypes::Field::new(
                    "job_id",
                    datafusion::arrow::datatypes::DataType::Utf8,
                    false,
                ),
            ]);
            Ok((vec![], fields(&schema, &Format::UnifiedBinary)))
        }
        _ => Ok((vec![], vec![])),
    }
}

/// The columns of a read-only utility statement, known by running it.
async fn describe_by_running(
    engine: &Engine,
    session: &Session,
    s: Statement,
    sql: &str,
) -> Result<(Vec<Type>, Vec<FieldInfo>), SqlError> {
    match execute(engine, session, s, sql, None).await? {
        QueryOutput::Rows { schema, .. } => Ok((vec![], fields(&schema, &Format::UnifiedBinary))),
        QueryOutput::Command(_) | QueryOutput::Copy { .. } | QueryOutput::CopyIn(_) => {
            Ok((vec![], vec![]))
        }
    }
}

/// Parameter types `$1..$n` in order.
fn ordered_param_types(
    plan: &datafusion::logical_expr::LogicalPlan,
) -> Result<Vec<Option<datafusion::arrow::datatypes::DataType>>, SqlError> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr;
    let mut map = plan.get_parameter_types()?;
    // DataFusion leaves `CAST($1 AS INT)` untyped; PostgreSQL types the parameter as the
    // cast's target, and drivers need a type to bind a value.
    let mut from_casts = Vec::new();
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|sub| {
                if let Expr::Cast(c) = sub {
                    if let Expr::Placeholder(p) = c.expr.as_ref() {
                        from_casts.push((p.id.clone(), c.field.data_type().clone()));
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    for (id, t) in from_casts {
        if let Some(slot @ None) = map.get_mut(&id) {
            *slot = Some(t);
        }
    }
    let mut out = Vec::new();
    for i in 1..=map.len() {
        out.push(map.get(&format!("${i}")).cloned().flatten());
    }
    Ok(out)
}

#[async_trait]
impl ExtendedQueryHandler for EddyHandler {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        super::execute::on_execute(self, client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session(client, &self.engine);
        let sql = portal
            .statement
            .statement
            .trim()
            .trim_end_matches(';')
            .to_string();
        let watch = CancelWatch::new(handle(client));
        let params = if portal.parameter_len() > 0 {
            let statement = self.engine.parse(&sql).map_err(pg_error)?;
            let Statement::Query(q) = statement else {
                return Err(pg_error(SqlError::NotSupported(
                    "parameters are supported in queries only".into(),
                )));
            };
            let types = guarded(None, async {
                let planned = plan_query(&self.engine, &session, *q, None).await?;
                ordered_param_types(&planned.plan)
            })
            .await
            .map_err(pg_error)?;
            Some(ParamValues::List(
                decode_params(portal, &types)?
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            ))
        } else {
            None
        };
        match run(&self.engine, &session, &sql, params, activity(self, client)).await {
            Ok(out) => Ok(to_response(
                out,
                &portal.result_column_format,
                watch,
                self.engine.time_zone(&session),
            )),
            Err(e) => Err(pg_error(e)),
        }
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        stmt: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session(client, &self.engine);
        let sql = stmt.statement.trim().trim_end_matches(';');
        let (params, fields) = guarded(None, describe(&self.engine, &session, sql))
            .await
            .map_err(pg_error)?;
        let params = params
            .into_iter()
            .enumerate()
            .map(
                |(i, t)| match stmt.parameter_types.get(i).cloned().flatten() {
                    Some(declared) if declared != Type::UNKNOWN => declared,
                    _ => t,
                },
            )
            .collect();
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session(client, &self.engine);
        let sql = portal.statement.statement.trim().trim_end_matches(';');
        let (_, fields) = guarded(None, describe(&self.engine, &session, sql))
            .await
            .map_err(pg_error)?;
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                FieldInfo::new(
                    f.name().to_string(),
                    f.table_id(),
                    f.column_id(),
                    f.datatype().clone(),
                    portal.result_column_format.format_for(i),
                )
                .with_type_modifier(f.type_modifier())
                .with_type_size(f.type_size())
            })
            .collect();
        Ok(DescribePortalResponse::new(fields))
    }
}
