//! `BEGIN STATEMENT SET; INSERT ...; INSERT ...; END;` sent as separate statements, as
//! Flink's SQL client takes them: the INSERTs are collected in the session and `END`
//! submits them as one job. While a set is open, anything but an INSERT is refused.

use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{Statement, StatementSetEntry};
use crate::session::Session;

/// What the caller does with a statement.
pub(super) enum Next {
    /// The set took it (or submitted itself): this is the answer.
    Done(QueryOutput),
    /// No set is open: run it.
    Run(Statement),
}

fn only_inserts() -> SqlError {
    SqlError::NotSupported(
        "Only INSERT statement is allowed in Statement Set; END submits the set".into(),
    )
}

fn open_set(session: &Session) -> std::sync::MutexGuard<'_, Option<Vec<StatementSetEntry>>> {
    session
        .statement_set
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// `BEGIN STATEMENT SET` when none is open.
pub(super) fn begin(session: &Session) -> Result<QueryOutput> {
    *open_set(session) = Some(Vec::new());
    Ok(QueryOutput::Command("BEGIN STATEMENT SET".into()))
}

/// Takes `statement` into the open set, submits the set at `END`, or leaves it to run.
pub(super) async fn collect(
    engine: &Engine,
    session: &Session,
    statement: Statement,
    text: &str,
) -> Result<Next> {
    let entries = {
        let mut set = open_set(session);
        let Some(entries) = set.as_mut() else {
            return Ok(Next::Run(statement));
        };
        match statement {
            Statement::Insert(insert) => {
                entries.push(StatementSetEntry {
                    text: text.to_string(),
                    insert,
                });
                return Ok(Next::Done(QueryOutput::Command(
                    "ADD TO STATEMENT SET".into(),
                )));
            }
            // Only Flink's END submits the set (a driver's COMMIT is refused with the rest).
            Statement::Transaction("END") => set.take().unwrap_or_default(),
            // Abandoning the set: ROLLBACK drops it, DISCARD ALL (a pool handing the
            // connection on) drops it and runs.
            Statement::Transaction("ROLLBACK") => {
                *set = None;
                return Ok(Next::Done(QueryOutput::Command("ROLLBACK".into())));
            }
            statement @ Statement::DiscardAll => {
                *set = None;
                return Ok(Next::Run(statement));
            }
            _ => return Err(only_inserts()),
        }
    };
    if entries.is_empty() {
        // Flink: "No statement in the statement set, skip submit."
        return Ok(Next::Done(QueryOutput::Command("END".into())));
    }
    let text = entries
        .iter()
        .map(|e| e.text.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    let output = super::insert::statement_set(engine, session, entries, &text).await?;
    Ok(Next::Done(output))
}
