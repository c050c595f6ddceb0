//! COPY ... FROM STDIN on the wire: CopyInResponse (text format, one column format per
//! column, as PostgreSQL sends), the client's CopyData gathered in the session, and at
//! CopyDone the rows written and `COPY n` sent. A CopyFail ends it with PostgreSQL's 57014.

use std::fmt::Debug;
use std::sync::Arc;

use futures::future::{select, Either};
use futures::FutureExt;
use pgwire::api::ConnectionHandle;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, Tag};
use pgwire::api::ClientInfo;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::PgWireBackendMessage;

use super::handler::{pg_error, session, EddyHandler};
use crate::handler::CopyIn;

/// Marks the connection busy while a COPY's data comes.
struct CopyBusy(std::sync::Mutex<Option<super::idle::BusyGuard>>);

fn end_busy<C: ClientInfo>(client: &C) {
    if let Some(busy) = client.session_extensions().get::<CopyBusy>() {
        busy.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The CopyInResponse for `copy`: text, every column text.
pub(super) fn copy_in_response(copy: &CopyIn) -> CopyResponse {
    CopyResponse::new(0, copy.schema.fields().len(), futures::stream::empty())
}

#[async_trait]
impl CopyHandler for EddyHandler {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // The session is busy while the data comes (an idle-in-transaction timeout must not
        // end it), from its first CopyData to CopyDone or CopyFail.
        let busy = client
            .session_extensions()
            .get_or_insert_with(|| CopyBusy(std::sync::Mutex::new(None)));
        let mut guard = busy.0.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = self
                .activities
                .get(&client.socket_addr())
                .map(|a| a.statement("COPY FROM STDIN"));
        }
        drop(guard);
        let taken = session(client, &self.engine).copy_in_data(&copy_data.data);
        if taken.is_err() {
            end_busy(client);
        }
        taken.map_err(pg_error)
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        end_busy(client);
        let session = session(client, &self.engine);
        let Some((copy, data)) = session.take_copy_in() else {
            // The data was refused already (too large); its error has been sent.
            return Err(pg_error(crate::error::SqlError::Internal(
                "CopyDone without a COPY FROM in progress".into(),
            )));
        };
        // Busy while the rows are written (an idle-in-transaction timeout must not end it).
        let _busy = self
            .activities
            .get(&client.socket_addr())
            .map(|a| a.statement(&format!("COPY {} FROM STDIN", copy.table)));
        let (job, rows) = crate::handler::submit_copy_in(&self.engine, &session, &copy, &data)
            .await
            .map_err(pg_error)?;
        if let Some(job) = job {
            // The client may cancel while the rows are written: the job is cancelled too.
            let wait = crate::handler::wait_copy_in(&self.engine, &job);
            let handle = client.session_extensions().get::<Arc<ConnectionHandle>>();
            let done = match handle {
                Some(h) => {
                    let cancel = h.start_query().await;
                    match select(wait.boxed(), cancel).await {
                        Either::Left((done, _)) => done,
                        Either::Right(_) => {
                            crate::handler::cancel_copy_in(&self.engine, &job).await;
                            // The job may have finished as the cancel came: then every
                            // row is in, and the COPY succeeded.
                            crate::handler::wait_copy_in(&self.engine, &job)
                                .await
                                .map_err(|_| crate::error::SqlError::Cancelled)
                        }
                    }
                }
                None => wait.await,
            };
            done.map_err(pg_error)?;
        }
        client
            .send(PgWireBackendMessage::CommandComplete(
                Tag::new("COPY").with_rows(rows).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        end_busy(client);
        session(client, &self.engine).take_copy_in();
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_string(),
            "57014".to_string(),
            format!("COPY from stdin failed: {}", fail.message),
        )))
    }
}
