//! Execute for the extended protocol when the client asks for every row (`max_rows` 0):
//! rows go out as they are produced, flushed whenever the next one is not ready yet.
//! pgwire's default Execute collects all rows of a portal before sending the first, which
//! never ends for a streaming SELECT. Anything else falls back to pgwire's default.

use std::fmt::Debug;
use std::sync::Arc;

use futures::future::{select, Either};
use futures::{FutureExt, Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Portal, PortalExecutionState};
use pgwire::api::query::{send_execution_response, ExtendedQueryHandler};
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionHandle, PgWireConnectionState, DEFAULT_NAME,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::PgWireBackendMessage;

use super::handler::EddyHandler;

/// The portal to stream, if this Execute is one this module handles.
async fn streamable<C>(client: &C, message: &Execute) -> Option<Arc<Portal<String>>>
where
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore<Statement = String>,
{
    if message.max_rows != 0 || !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return None;
    }
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    let Some(Entry::Value(portal)) = client.portal_store().get_portal(name) else {
        return None;
    };
    let initial = matches!(*portal.state().lock().await, PortalExecutionState::Initial);
    initial.then_some(portal)
}

/// Handles an Execute message.
pub(super) async fn on_execute<C>(
    handler: &EddyHandler,
    client: &mut C,
    message: Execute,
) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = String>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let Some(portal) = streamable(client, &message).await else {
        return handler._on_execute(client, message).await;
    };
    let mut transaction_status = client.transaction_status();
    client.set_state(PgWireConnectionState::QueryInProgress);
    // Mark the portal used: a second Execute of it answers with no rows, as after
    // pgwire's own execution.
    *portal.state().lock().await = PortalExecutionState::Finished;

    // As pgwire does: a cancel request ends the statement while it is being planned.
    let handle = client.session_extensions().get::<Arc<ConnectionHandle>>();
    let response = match handle {
        Some(h) => {
            let cancel = h.start_query().await;
            match select(handler.do_query(client, portal.as_ref(), 0).boxed(), cancel).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => Err(PgWireError::QueryCanceled),
            }
        }
        None => handler.do_query(client, portal.as_ref(), 0).await,
    }?;

    match response {
        Response::Query(mut results) => {
            let tag = results.command_tag().to_string();
            let rows = results.data_rows();
            let mut count = 0usize;
            loop {
                let next = match rows.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        // Nothing ready: let the client see what it has so far.
                        client.flush().await?;
                        rows.next().await
                    }
                };
                match next {
                    Some(row) => {
                        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                        count += 1;
                    }
                    None => break,
                }
            }
            client
                .send(PgWireBackendMessage::CommandComplete(
                    Tag::new(&tag).with_rows(count).into(),
                ))
                .await?;
        }
        Response::EmptyQuery => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        }
        Response::Execution(tag) => send_execution_response(client, tag).await?,
        Response::TransactionStart(tag) => {
            send_execution_response(client, tag).await?;
            transaction_status = transaction_status.to_in_transaction_state();
        }
        Response::TransactionEnd(tag) => {
            send_execution_response(client, tag).await?;
            transaction_status = transaction_status.to_idle_state();
        }
        Response::Error(e) => {
            client
                .send(PgWireBackendMessage::ErrorResponse((*e).into()))
                .await?;
            transaction_status = transaction_status.to_error_state();
        }
        Response::CopyOut(copy) => {
            pgwire::api::copy::send_copy_out_response(client, copy).await?;
        }
        Response::CopyIn(_) | Response::CopyBoth(_) => {
            return Err(PgWireError::ApiError(
                "COPY is not supported".to_string().into(),
            ));
        }
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(transaction_status);
    Ok(())
}
