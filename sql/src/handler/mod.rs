//! Statement execution: one `match` sending each statement to the file that handles it.

mod alter;
mod column_origin;
mod copy_from;
mod ctas;
mod ddl;
mod explain;
mod flink_syntax;
mod functions;
mod insert;
mod job;
mod literals;
mod materialized;
mod namespace;
mod output_names;
mod query;
mod role;
mod rows;
mod set;
mod show;
mod statement_set;
mod subscribe;
mod table_like;
mod user_functions;

use datafusion::common::ParamValues;

use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::Statement;
use crate::session::Session;

pub use column_origin::{ATTNUM, TABLE_OID, TYPE_OID, TYPMOD};
pub use copy_from::{
    cancel as cancel_copy_in, submit as submit_copy_in, wait as wait_copy_in, CopyIn,
    MAX_BYTES as MAX_COPY_IN_BYTES,
};
pub use materialized::resume as resume_materialized_views;
pub(crate) use query::plan_view_query;
pub use query::{plan_query, PlannedQuery};
pub(crate) use user_functions::visible as visible_user_functions;

/// Executes one parsed statement; `text` is its SQL (job names use it).
pub async fn execute(
    engine: &Engine,
    session: &Session,
    statement: Statement,
    text: &str,
    params: Option<ParamValues>,
) -> Result<QueryOutput> {
    // As in PostgreSQL 15, where only the owner may create in `public`: a table names any
    // file the server can read or write, so only superusers create or drop objects once
    // clients authenticate.
    if statement.changes_objects()
        && engine.checks_roles()
        && !engine.is_superuser(session.user()).await
    {
        return Err(SqlError::InsufficientPrivilege(format!(
            "for schema {}",
            session.current_database().database
        )));
    }
    let statement = match statement_set::collect(engine, session, statement, text).await? {
        statement_set::Next::Done(output) => return Ok(output),
        statement_set::Next::Run(statement) => statement,
    };
    match statement {
        Statement::BeginStatementSet => statement_set::begin(session),
        Statement::CreateTable {
            table,
            path,
            if_not_exists,
            temporary,
            like,
        } => {
            let target = ddl::Target {
                path: &path,
                if_not_exists,
                temporary,
            };
            let table = match like {
                Some(like) => table_like::merge(engine, session, table, &like).await?,
                None => table,
            };
            ddl::create_table(engine, session, table, target).await
        }
        Statement::DropTable {
            name,
            if_exists,
            temporary,
        } => ddl::drop_table(engine, session, &name, if_exists, temporary).await,
        Statement::CreateTableAs {
            table,
            path,
            query,
            if_not_exists,
            replace,
            temporary,
        } => {
            let ctas = ctas::TableAs {
                table,
                path,
                query,
                if_not_exists,
                replace,
                temporary,
            };
            ctas::create_table_as(engine, session, ctas).await
        }
        Statement::Namespace(statement) => namespace::execute(engine, session, statement).await,
        Statement::Functions(statement) => functions::execute(engine, session, statement).await,
        Statement::AlterTable {
            name,
            if_exists,
            change,
        } => alter::alter_table(engine, session, &name, if_exists, change).await,
        Statement::AlterView { name, change } => {
            alter::alter_view(engine, session, &name, change).await
        }
        Statement::CreateView {
            name,
            query,
            columns,
            comment,
            if_not_exists,
            temporary,
        } => {
            let target = ddl::Target {
                path: &name,
                if_not_exists,
                temporary,
            };
            let view = ddl::ViewDefinition {
                query,
                columns,
                comment,
            };
            ddl::create_view(engine, session, target, view).await
        }
        Statement::DropView {
            name,
            if_exists,
            temporary,
        } => ddl::drop_view(engine, session, &name, if_exists, temporary).await,
        Statement::ShowColumns { name, like } => {
            show::describe(engine, session, &name, like.as_ref()).await
        }
        Statement::CreateMaterializedView {
            name,
            query,
            if_not_exists,
            freshness,
            table,
            options,
            partition_keys,
        } => {
            let def = materialized::Definition {
                name,
                query,
                if_not_exists,
                freshness,
                flink_table: table,
                options,
                partition_keys,
            };
            materialized::create(engine, session, def).await
        }
        Statement::DropMaterializedView { name, if_exists } => {
            materialized::drop_view(engine, &session.resolve(&name), if_exists).await
        }
        Statement::ShowMaterializedViews => {
            materialized::show(engine, &session.current_database()).await
        }
        Statement::Subscribe { name, snapshot } => {
            subscribe::subscribe(engine, &session.resolve(&name), snapshot).await
        }
        Statement::DeclareCursor {
            name,
            hold,
            statement,
        } => subscribe::declare(engine, session, name, hold, *statement, text).await,
        Statement::Fetch { name, count } => subscribe::fetch(session, &name, count).await,
        Statement::CloseCursor(name) => subscribe::close(session, name.as_deref()).await,
        Statement::ShowCreateMaterializedView(name) => {
            materialized::show_create(engine, &session.resolve(&name)).await
        }
        Statement::ShowCreateTable(name) => {
            show::show_create_table(engine, session, &session.resolve(&name)).await
        }
        Statement::ShowCreateView(name) => {
            show::show_create_view(engine, session, &session.resolve(&name)).await
        }
        Statement::ShowVariable(name) => show::show_variable(session, &name),
        Statement::Describe(name) => show::describe(engine, session, &name, None).await,
        Statement::ShowJobs => job::show_jobs(engine).await,
        Statement::DescribeJob(id) => job::describe_job(engine, &id).await,
        Statement::StopJob {
            id,
            with_savepoint,
            with_drain,
        } => job::stop_job(engine, &id, with_savepoint, with_drain).await,
        Statement::Set(kv) => set::set(engine, session, kv).await,
        Statement::Reset(key) => set::reset(session, key.as_deref()),
        Statement::Explain(inner, details) => {
            explain::explain(engine, session, *inner, &details, text).await
        }
        Statement::StatementSet(entries) => {
            insert::statement_set(engine, session, entries, text).await
        }
        Statement::Insert(insert) => insert::insert(engine, session, &insert, text).await,
        Statement::Query(query) => query::query(engine, session, *query, text, params).await,
        Statement::CopyFrom {
            table,
            columns,
            options,
        } => {
            let copy = copy_from::start(engine, session, table, columns, options).await?;
            session.begin_copy_in(copy.clone());
            Ok(QueryOutput::CopyIn(copy))
        }
        Statement::CopyTo { query, options } => {
            match query::query(engine, session, *query, text, None).await? {
                QueryOutput::Rows { schema, stream } => {
                    if let Some(c) = options
                        .force_quote
                        .iter()
                        .find(|c| schema.field_with_name(c).is_err())
                    {
                        return Err(SqlError::UndefinedColumnName(c.clone()));
                    }
                    Ok(QueryOutput::Copy {
                        schema,
                        stream,
                        options,
                    })
                }
                other => Ok(other),
            }
        }
        Statement::Transaction(tag) => {
            // PostgreSQL answers END as COMMIT.
            let tag = if tag == "END" { "COMMIT" } else { tag };
            // As PostgreSQL: a cursor without WITH HOLD ends with its transaction.
            if matches!(tag, "COMMIT" | "ROLLBACK") {
                session.cursors.close_unheld().await;
            }
            Ok(QueryOutput::Command(tag.to_string()))
        }
        Statement::Deallocate { all } => Ok(QueryOutput::Command(
            if all { "DEALLOCATE ALL" } else { "DEALLOCATE" }.to_string(),
        )),
        Statement::CreateRole { name, options } => {
            role::create(engine, session, name, options).await
        }
        Statement::AlterRole { name, options } => role::alter(engine, session, name, options).await,
        Statement::DropRole { names, if_exists } => {
            role::drop(engine, session, names, if_exists).await
        }
        Statement::DiscardAll => {
            // As PostgreSQL's DISCARD ALL (which includes DISCARD TEMP): the next user of a
            // pooled connection finds none of this one's state.
            session.reset(None)?;
            session.temporaries.clear();
            session.cursors.close(None).await?;
            Ok(QueryOutput::Command("DISCARD ALL".to_string()))
        }
    }
}
