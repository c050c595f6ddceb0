//! INSERT INTO ... SELECT and EXECUTE STATEMENT SET: planned into one JobGraph, submitted
//! to the Dispatcher; the reply is the job id (or, with `table.dml-sync`, the job's end).

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use eddy_cluster::JobStatus;
use eddy_planner::{plan_statement_set, InsertTarget};
use eddy_runtime::config::{pipeline, table as table_options};
use eddy_runtime::jobgraph::JobGraph;

use super::rows::{table, text};
use crate::catalog::ObjectPath;
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::StatementSetEntry;
use crate::session::Session;

/// The target table, the named target columns (none: all, in table order) and the query.
fn insert_parts(statement: &ast::Statement) -> Result<(ObjectPath, Vec<String>, Box<ast::Query>)> {
    let ast::Statement::Insert(insert) = statement else {
        return Err(SqlError::Internal("not an INSERT".into()));
    };
    if insert.overwrite {
        return Err(SqlError::NotSupported(
            "INSERT OVERWRITE is not supported".into(),
        ));
    }
    let name = match &insert.table {
        ast::TableObject::TableName(name) => ObjectPath::try_new(
            name.0
                .iter()
                .map(|p| {
                    p.as_ident()
                        .map(crate::parser::normalize_ident)
                        .ok_or_else(|| SqlError::Syntax(format!("'{name}' is not a table name")))
                })
                .collect::<Result<Vec<_>>>()?,
        )?,
        _ => {
            return Err(SqlError::NotSupported(
                "INSERT INTO a table function is not supported".into(),
            ))
        }
    };
    let columns = insert
        .columns
        .iter()
        .map(|c| {
            c.0.last()
                .and_then(|p| p.as_ident())
                .map(crate::parser::normalize_ident)
                .ok_or_else(|| SqlError::Syntax(format!("expected a column name, not {c}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let source = insert
        .source
        .clone()
        .ok_or_else(|| SqlError::Syntax("INSERT needs a query".into()))?;
    Ok((name, columns, source))
}

/// `INSERT INTO t (c, a) <query>`: the query's columns go to the named ones, the others get
/// NULL, as in Flink and PostgreSQL; the result has the table's columns in table order.
fn fill_columns(
    table: &str,
    columns: &[String],
    schema: &datafusion::arrow::datatypes::Schema,
    plan: LogicalPlan,
) -> Result<LogicalPlan> {
    let mut position = std::collections::HashMap::new();
    for (i, c) in columns.iter().enumerate() {
        if schema.field_with_name(c).is_err() {
            return Err(SqlError::UndefinedColumn {
                table: table.to_string(),
                column: c.clone(),
            });
        }
        if position.insert(c.as_str(), i).is_some() {
            return Err(SqlError::DuplicateColumn(c.clone()));
        }
    }
    let width = plan.schema().fields().len();
    if width != columns.len() {
        let more = match width > columns.len() {
            true => "more expressions than target columns",
            false => "more target columns than expressions",
        };
        return Err(SqlError::Syntax(format!(
            "INSERT INTO {table} has {more}: {} columns named, the query gives {width}",
            columns.len()
        )));
    }
    let exprs = schema
        .fields()
        .iter()
        .map(|f| {
            let expr = match position.get(f.name().as_str()) {
                Some(&i) => Expr::Column(Column::from(plan.schema().qualified_field(i))),
                None => Expr::Literal(ScalarValue::try_from(f.data_type())?, None),
            };
            Ok(expr.alias(f.name()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// Plans several INSERTs into one job graph.
pub(super) async fn build_job(
    engine: &Engine,
    session: &Session,
    inserts: &[&ast::Statement],
    text: &str,
) -> Result<JobGraph> {
    let config = engine.effective_config(session);
    let ctx = engine.job_context_for(&config, session).await?;
    build_job_in(engine, session, &ctx, inserts, text).await
}

/// As [`build_job`], in a job context the caller made (COPY FROM registers its rows there).
pub(super) async fn build_job_in(
    engine: &Engine,
    session: &Session,
    ctx: &datafusion::prelude::SessionContext,
    inserts: &[&ast::Statement],
    text: &str,
) -> Result<JobGraph> {
    let config = engine.effective_config(session);
    let state = ctx.state();
    let mut planned = Vec::new();
    for statement in inserts {
        let (path, columns, mut source) = insert_parts(statement)?;
        let full = session.resolve(&path);
        let name = path.to_string();
        super::literals::apply(&mut source);
        if session.temporaries.view(&full).is_some() {
            return Err(SqlError::NotSupported(format!(
                "cannot INSERT INTO view '{name}'"
            )));
        }
        let target_table = match session.temporaries.table(&full) {
            Some(t) => t,
            None => {
                let catalog = engine.catalog.read().await;
                let catalog = catalog.database(&full.database)?;
                if catalog.materialized.contains_key(&full.name) {
                    return Err(SqlError::WrongObjectType(format!(
                        "cannot INSERT INTO materialized view '{name}': its query fills it"
                    )));
                }
                if catalog.views.contains_key(&full.name) {
                    return Err(SqlError::NotSupported(format!(
                        "cannot INSERT INTO view '{name}'"
                    )));
                }
                catalog.table(&full.name)?.clone()
            }
        };
        let connector = engine.connector_table(&target_table, &full, &config, &state)?;
        // A table that cannot be written (datagen, say) is refused now, not when the job runs.
        let mut sink_spec = connector.spec.clone();
        sink_spec.schema =
            eddy_runtime::jobgraph::SerializedSchema::encode(&target_table.writable_schema())?;
        engine.registry.sink(&sink_spec)?;
        let plan = state
            .statement_to_plan(DFStatement::Statement(Box::new(ast::Statement::Query(
                source,
            ))))
            .await?;
        let plan = match columns.is_empty() {
            true => plan,
            false => fill_columns(&name, &columns, &target_table.writable_schema(), plan)?,
        };
        // In batch mode a job may not read an unbounded table, as in Flink.
        super::query::runs_as_job(&plan, &config)?;
        let plan = state.optimize(&plan)?;
        // Computed and VIRTUAL metadata columns are not written: the query fills the rest,
        // and the sink gets those.
        let writable = target_table.writable_schema();
        let mut spec = connector.spec.clone();
        spec.schema = eddy_runtime::jobgraph::SerializedSchema::encode(&writable)?;
        planned.push((
            InsertTarget {
                table: full.job_name(),
                spec,
                schema: writable,
                primary_key: target_table.primary_key.clone().unwrap_or_default(),
            },
            plan,
        ));
    }
    let explicit = config.get_string(&pipeline::NAME);
    let name = if explicit.is_empty() {
        text.to_string()
    } else {
        explicit
    };
    Ok(plan_statement_set(&state, &planned, &config, name)?)
}

async fn submit(engine: &Engine, session: &Session, graph: JobGraph) -> Result<QueryOutput> {
    let sync = engine
        .effective_config(session)
        .get_bool(&table_options::DML_SYNC);
    let job_id = engine.dispatcher.submit_job(graph).await?;
    let output = table(&["job_id"], vec![vec![text(job_id.clone())]])?;
    if !sync {
        return Ok(output);
    }
    // Wait inside the result stream: the client can cancel the wait like any long query.
    let QueryOutput::Rows { schema, stream } = output else {
        return Err(SqlError::Internal("job id result is not a row set".into()));
    };
    let dispatcher = engine.dispatcher.clone();
    let wait = futures::stream::once(async move {
        let result = dispatcher.request_job_result(&job_id).await?;
        if result.status == JobStatus::Failed {
            return Err(SqlError::JobFailed {
                id: job_id,
                error: result.error.unwrap_or_else(|| {
                    eddy_cluster::gateway::Failure::internal("the job failed without a reason")
                }),
            });
        }
        Ok(())
    });
    use futures::StreamExt;
    let stream = wait
        .filter_map(|r: Result<()>| async move { r.err().map(Err) })
        .chain(stream)
        .boxed();
    Ok(QueryOutput::Rows { schema, stream })
}

pub(super) async fn insert(
    engine: &Engine,
    session: &Session,
    statement: &ast::Statement,
    text: &str,
) -> Result<QueryOutput> {
    let graph = build_job(engine, session, &[statement], text).await?;
    submit(engine, session, graph).await
}

pub(super) async fn statement_set(
    engine: &Engine,
    session: &Session,
    entries: Vec<StatementSetEntry>,
    text: &str,
) -> Result<QueryOutput> {
    let inserts: Vec<&ast::Statement> = entries.iter().map(|e| e.insert.as_ref()).collect();
    let graph = build_job(engine, session, &inserts, text).await?;
    submit(engine, session, graph).await
}
