//! INSERT INTO ... SELECT and EXECUTE STATEMENT SET: planned into one JobGraph, submitted
//! to the Dispatcher; the reply is the job id (or, with `table.dml-sync`, the job's end).

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use eddy_cluster::JobStatus;
use eddy_planner::{plan_statement_set, ConflictStrategy, InsertTarget};
use eddy_runtime::config::{pipeline, table as table_options};
use eddy_runtime::jobgraph::JobGraph;

use super::rows::{table, text};
use crate::catalog::ObjectPath;
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::StatementSetEntry;
use crate::session::Session;

/// `PARTITION (k = 'v', ...)` of an INSERT: each static partition column and its value
/// as text (`None`: NULL).
type StaticPartition = Vec<(String, Option<String>)>;

/// The target table, the named target columns (none: all, in table order), the query and
/// the static partition.
fn insert_parts(
    statement: &ast::Statement,
) -> Result<(ObjectPath, Vec<String>, Box<ast::Query>, StaticPartition)> {
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
    let mut source = insert
        .source
        .clone()
        .ok_or_else(|| SqlError::Syntax("INSERT needs a query".into()))?;
    // The sink takes the query's columns by position, so unnamed expressions may repeat
    // (`SELECT k, 0, 0`), as Flink allows; DataFusion needs their names unique.
    super::output_names::alias_repeats(&mut source);
    let statics = insert
        .partitioned
        .iter()
        .flatten()
        .map(static_partition_value)
        .collect::<Result<Vec<_>>>()?;
    Ok((name, columns, source, statics))
}

/// One `k = value` of `PARTITION (...)`.
fn static_partition_value(expr: &ast::Expr) -> Result<(String, Option<String>)> {
    let bad = || {
        SqlError::Syntax(format!(
            "PARTITION takes column = literal pairs, as PARTITION (dt = '2024-01-01'); not {expr}"
        ))
    };
    let ast::Expr::BinaryOp {
        left,
        op: ast::BinaryOperator::Eq,
        right,
    } = expr
    else {
        return Err(bad());
    };
    let ast::Expr::Identifier(column) = left.as_ref() else {
        return Err(bad());
    };
    let value = match right.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Null => None,
            ast::Value::Number(n, _) => Some(n.clone()),
            ast::Value::Boolean(b) => Some(b.to_string()),
            other => Some(other.clone().into_string().ok_or_else(bad)?),
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Some(format!("-{n}")),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    Ok((crate::parser::normalize_ident(column), value))
}

/// `INSERT INTO t PARTITION (k = v) [(columns)] <query>`: the query fills the named
/// columns (by default every column but the static ones, in table order) and each
/// static partition column gets its value, as in Flink.
fn with_static_partition(
    table: &crate::catalog::CatalogTable,
    name: &str,
    columns: &[String],
    statics: &StaticPartition,
    plan: LogicalPlan,
) -> Result<(Vec<String>, LogicalPlan)> {
    let writable = table.writable_schema();
    for (i, (key, _)) in statics.iter().enumerate() {
        if !table.partition_keys.contains(key) {
            return Err(SqlError::InvalidDefinition(format!(
                "Static partition column '{key}' of table '{name}' is not a partition column; its partition columns are [{}]",
                table.partition_keys.join(", ")
            )));
        }
        if statics[..i].iter().any(|(k, _)| k == key) {
            return Err(SqlError::DuplicateColumn(key.clone()));
        }
        if columns.contains(key) {
            return Err(SqlError::Syntax(format!(
                "column '{key}' is both a static partition and a target column of INSERT INTO {name}"
            )));
        }
    }
    let mut named: Vec<String> = match columns.is_empty() {
        true => writable
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|c| !statics.iter().any(|(k, _)| k == c))
            .collect(),
        false => columns.to_vec(),
    };
    let mut exprs: Vec<Expr> = plan
        .schema()
        .iter()
        .map(|(q, f)| Expr::Column(Column::from((q, f))))
        .collect();
    for (key, value) in statics {
        let field = writable
            .field_with_name(key)
            .map_err(|_| SqlError::UndefinedColumn {
                table: name.to_string(),
                column: key.clone(),
            })?;
        let literal = Expr::Literal(ScalarValue::Utf8(value.clone()), None);
        exprs.push(cast(literal, field.data_type().clone()).alias(format!("__static_{key}")));
        named.push(key.clone());
    }
    let plan = LogicalPlanBuilder::from(plan).project(exprs)?.build()?;
    Ok((named, plan))
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
        let (path, columns, mut source, statics) = insert_parts(statement)?;
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
        if !target_table.partition_keys.is_empty()
            && matches!(
                target_table.options.get("connector").map(String::as_str),
                Some("kafka" | "upsert-kafka")
            )
        {
            return Err(SqlError::NotSupported(format!(
                "Table '{name}' is a partitioned table, but the underlying DynamicTableSink doesn't implement the SupportsPartitioning interface."
            )));
        }
        let (columns, plan) = match statics.is_empty() {
            true => (columns, plan),
            false => with_static_partition(&target_table, &name, &columns, &statics, plan)?,
        };
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
                conflict: match crate::parser::on_conflict::conflict_of(statement)? {
                    Some("DEDUPLICATE") => Some(ConflictStrategy::Deduplicate),
                    Some("ERROR") => Some(ConflictStrategy::Error),
                    Some(_) => Some(ConflictStrategy::Nothing),
                    None => None,
                },
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
