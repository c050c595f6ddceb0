//! `SUBSCRIBE [TO] view` and cursors. A subscription reads the view's committed contents
//! (its snapshot, as `+I` rows) and then every checkpoint's changes as they are committed,
//! each row with its kind in an `op` column first, as a streaming SELECT of an updating
//! query shows them. It reads the view's directory, not the job, so it starts and ends
//! without touching the job, and every batch it sends is one whole checkpoint's worth.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_connectors::materialized::retractions::Retractions;
use eddy_connectors::materialized::store::Store;
use eddy_connectors::materialized::PATH;
use eddy_runtime::changelog;

use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{FetchCount, Statement};
use crate::session::Session;

/// How often a subscription looks for newly committed changes.
const POLL: Duration = Duration::from_millis(100);

pub(super) async fn subscribe(
    engine: &Engine,
    full: &crate::catalog::ObjectName,
    snapshot: bool,
) -> Result<QueryOutput> {
    let name = full.name.as_str();
    let view = {
        let catalog = engine.catalog.read().await;
        let catalog = catalog.database(&full.database)?;
        match catalog.materialized.get(name) {
            Some(v) if !super::materialized::in_own_store(v) => {
                return Err(SqlError::WrongObjectType(format!(
                    "'{name}' writes its rows to connector '{}': SUBSCRIBE reads materialized views kept in Eddy's own store",
                    v.table.options.get("connector").map(String::as_str).unwrap_or_default()
                )))
            }
            Some(v) => v.clone(),
            None if catalog.exists(name) => {
                return Err(SqlError::WrongObjectType(format!(
                    "'{name}' is not a materialized view; SUBSCRIBE reads materialized views"
                )))
            }
            None => return Err(SqlError::UndefinedTable(name.to_string())),
        }
    };
    let path = view
        .table
        .options
        .get(PATH.key)
        .ok_or_else(|| SqlError::Internal(format!("materialized view '{name}' has no path")))?;
    let key = eddy_connectors::materialized::key_of(&view.table.options)?;
    let store = Store::open(path)?.keyed(key.clone());
    let data = view.table.physical_schema();
    let schema: SchemaRef = Arc::new(Schema::new(
        std::iter::once(Arc::new(Field::new("op", DataType::Utf8, false)))
            .chain(data.fields().iter().cloned())
            .collect::<Vec<_>>(),
    ));
    // The snapshot is read now, so the statement fails at once if it cannot be.
    let (first, position) = {
        let store = store.clone();
        let data = data.clone();
        blocking(move || store.snapshot(&data)).await?
    };
    // A keyed view's changes are upserts: the subscription adds each update's old row,
    // starting from the snapshot's rows.
    let retractions = key
        .map(|key| Retractions::new(&data, &key, &first))
        .transpose()?;
    // Batches ready to go out, taken from the back; `true` for changes, which go through
    // the retractions first (the snapshot does not).
    let ready: Vec<(RecordBatch, bool)> = match snapshot {
        true => first.into_iter().rev().map(|b| (b, false)).collect(),
        false => Vec::new(),
    };
    let out = schema.clone();
    // The state is gone once an error was sent: the subscription ends there, rather than
    // go on without the changes it failed on.
    let stream =
        futures::stream::unfold(Some((store, position, ready, retractions)), move |state| {
            let out = out.clone();
            async move {
                let (store, mut position, mut ready, mut retractions) = state?;
                loop {
                    if let Some((batch, change)) = ready.pop() {
                        let batch = match (change, retractions.as_mut()) {
                            (true, Some(r)) => match r.apply(&batch) {
                                Ok(b) => b,
                                Err(e) => return Some((Err(SqlError::from(e)), None)),
                            },
                            _ => batch,
                        };
                        if batch.num_rows() == 0 {
                            continue;
                        }
                        let batch = with_ops(&out, &batch);
                        return Some((batch, Some((store, position, ready, retractions))));
                    }
                    let step = {
                        let store = store.clone();
                        blocking(move || store.changes_since(position)).await
                    };
                    match step {
                        Ok((changes, reached)) => {
                            position = reached;
                            // Taken from the back: keep the commit order.
                            ready = changes.into_iter().rev().map(|b| (b, true)).collect();
                        }
                        Err(e) => return Some((Err(e), None)),
                    }
                    if ready.is_empty() {
                        let exists = {
                            let store = store.clone();
                            blocking(move || store.exists()).await
                        };
                        if !exists.unwrap_or(true) {
                            // The view was dropped: the subscription ends.
                            return None;
                        }
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        });
    Ok(QueryOutput::Rows {
        schema,
        stream: Box::pin(stream),
    })
}

/// A view's batch for the client: its row kinds as text, first.
fn with_ops(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let ops: StringArray = changelog::op_strings(batch)?;
    let columns: Vec<ArrayRef> = std::iter::once(Arc::new(ops) as ArrayRef)
        .chain(changelog::data_columns(batch).iter().cloned())
        .collect();
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| SqlError::Internal(e.to_string()))
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> eddy_runtime::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SqlError::Internal(format!("reading a materialized view: {e}")))?
        .map_err(SqlError::from)
}

pub(super) async fn declare(
    engine: &Engine,
    session: &Session,
    name: String,
    hold: bool,
    statement: Statement,
    text: &str,
) -> Result<QueryOutput> {
    let subscription = matches!(statement, Statement::Subscribe { .. });
    let output = Box::pin(super::execute(engine, session, statement, text, None)).await?;
    let QueryOutput::Rows { schema, stream } = output else {
        return Err(SqlError::Internal(
            "a cursor's statement returned no rows".into(),
        ));
    };
    session
        .cursors
        .declare(&name, schema, stream, subscription, hold)
        .await?;
    Ok(QueryOutput::Command("DECLARE CURSOR".into()))
}

pub(super) async fn fetch(session: &Session, name: &str, count: FetchCount) -> Result<QueryOutput> {
    let batch = session.cursors.fetch(name, count).await?;
    Ok(QueryOutput::Rows {
        schema: batch.schema(),
        stream: Box::pin(futures::stream::once(async move { Ok(batch) })),
    })
}

pub(super) async fn close(session: &Session, name: Option<&str>) -> Result<QueryOutput> {
    session.cursors.close(name).await?;
    Ok(QueryOutput::Command(
        if name.is_some() {
            "CLOSE CURSOR"
        } else {
            "CLOSE CURSOR ALL"
        }
        .into(),
    ))
}
