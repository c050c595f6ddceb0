//! A session's open cursors (`DECLARE ... CURSOR FOR`): each holds its statement's row
//! stream, read a FETCH at a time.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use crate::error::{Result, SqlError};
use crate::parser::FetchCount;

struct Cursor {
    schema: SchemaRef,
    stream: BoxStream<'static, Result<RecordBatch>>,
    /// Rows of a batch a FETCH took only part of.
    pending: Option<RecordBatch>,
    /// A subscription never ends: a FETCH waits for its first row only, then takes what
    /// is ready (as Materialize's FETCH does), instead of waiting for all it asked for.
    subscription: bool,
    /// Declared WITH HOLD: it outlives COMMIT and ROLLBACK.
    hold: bool,
    done: bool,
    /// The error the stream ended with, raised again by every later FETCH (after the
    /// rows taken before it).
    failed: Option<(String, String)>,
}

/// The cursors of one session, by name.
#[derive(Default)]
pub struct Cursors {
    open: tokio::sync::Mutex<BTreeMap<String, Cursor>>,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursors").finish_non_exhaustive()
    }
}

fn missing(name: &str) -> SqlError {
    SqlError::InvalidCursor(format!("cursor \"{name}\" does not exist"))
}

impl Cursors {
    /// Opens a cursor over `stream`.
    pub async fn declare(
        &self,
        name: &str,
        schema: SchemaRef,
        stream: BoxStream<'static, Result<RecordBatch>>,
        subscription: bool,
        hold: bool,
    ) -> Result<()> {
        let mut open = self.open.lock().await;
        if open.contains_key(name) {
            return Err(SqlError::DuplicateCursor(format!(
                "cursor \"{name}\" already exists"
            )));
        }
        open.insert(
            name.to_string(),
            Cursor {
                schema,
                stream,
                pending: None,
                subscription,
                hold,
                done: false,
                failed: None,
            },
        );
        Ok(())
    }

    /// The columns a FETCH of `name` returns.
    pub async fn schema(&self, name: &str) -> Result<SchemaRef> {
        let open = self.open.lock().await;
        open.get(name)
            .map(|c| c.schema.clone())
            .ok_or_else(|| missing(name))
    }

    /// The next `count` rows of `name` (fewer at its end).
    pub async fn fetch(&self, name: &str, count: FetchCount) -> Result<RecordBatch> {
        let mut open = self.open.lock().await;
        let cursor = open.get_mut(name).ok_or_else(|| missing(name))?;
        let want = match count {
            FetchCount::Rows(n) => usize::try_from(n).unwrap_or(usize::MAX),
            FetchCount::All => usize::MAX,
        };
        if let Some((sqlstate, message)) = &cursor.failed {
            return Err(SqlError::CursorFailed {
                sqlstate: sqlstate.clone(),
                message: message.clone(),
            });
        }
        let mut out = Vec::new();
        let mut got = 0;
        while got < want {
            let next = if let Some(p) = cursor.pending.take() {
                Some(Ok(p))
            } else if cursor.done {
                None
            } else if cursor.subscription && got > 0 {
                match cursor.stream.next().now_or_never() {
                    Some(next) => next,
                    None => break,
                }
            } else {
                cursor.stream.next().await
            };
            match next {
                None => {
                    cursor.done = true;
                    break;
                }
                Some(Err(e)) => {
                    cursor.done = true;
                    cursor.failed = Some((e.sqlstate().to_string(), e.client_message()));
                    if out.is_empty() {
                        return Err(e);
                    }
                    // The rows already taken go out first; the next FETCH reports it.
                    break;
                }
                Some(Ok(batch)) => {
                    let take = (want - got).min(batch.num_rows());
                    if take < batch.num_rows() {
                        cursor.pending = Some(batch.slice(take, batch.num_rows() - take));
                    }
                    out.push(batch.slice(0, take));
                    got += take;
                }
            }
        }
        datafusion::arrow::compute::concat_batches(&cursor.schema, &out)
            .map_err(|e| SqlError::Internal(e.to_string()))
    }

    /// The end of a transaction: cursors declared without WITH HOLD close.
    pub async fn close_unheld(&self) {
        self.open.lock().await.retain(|_, c| c.hold);
    }

    /// Closes `name`, or every cursor.
    pub async fn close(&self, name: Option<&str>) -> Result<()> {
        let mut open = self.open.lock().await;
        match name {
            None => open.clear(),
            Some(name) => {
                open.remove(name).ok_or_else(|| missing(name))?;
            }
        }
        Ok(())
    }
}
