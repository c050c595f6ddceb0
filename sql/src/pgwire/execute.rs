//! Execute for the extended protocol: rows go out as they are produced, flushed whenever
//! the next one is not ready yet, `max_rows` at a time when the client asks for pieces
//! (PortalSuspended, and the next Execute of the portal goes on where the last stopped).
//! pgwire's default Execute collects a piece's rows before sending the first, which never
//! ends for a streaming SELECT asked for all its rows. A finished portal falls back to
//! pgwire's default.

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
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::PgWireBackendMessage;

use super::handler::EddyHandler;

/// The portal to stream, and whether it has yet to run, if this Execute is one this
/// module handles.
async fn streamable<C>(client: &C, message: &Execute) -> Option<(Arc<Portal<String>>, bool)>
where
    C: ClientInfo + ClientPortalStore,
    C::PortalStore: PortalStore<Statement = String>,
{
    if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return None;
    }
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    let Some(Entry::Value(portal)) = client.portal_store().get_portal(name) else {
        return None;
    };
    let initial = match *portal.state().lock().await {
        PortalExecutionState::Initial => true,
        PortalExecutionState::Suspended(_) => false,
        PortalExecutionState::Finished => return None,
    };
    Some((portal, initial))
}

/// Sends up to `max_rows` rows of a started portal (all when 0), then PortalSuspended if
/// it stopped at the limit, else CommandComplete with the rows of this piece as PostgreSQL
/// counts them; a portal that ran out is finished.
async fn send_piece<C>(client: &mut C, portal: &Portal<String>, max_rows: usize) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let state = portal.state();
    let mut state = state.lock().await;
    let PortalExecutionState::Suspended(results) = &mut *state else {
        return Err(PgWireError::PortalNotStarted);
    };
    let tag = results.command_tag().to_string();
    let rows = results.data_rows();
    let mut count = 0usize;
    let suspended = loop {
        if max_rows > 0 && count == max_rows {
            // As PostgreSQL: no look-ahead, so a portal that ends exactly at the limit is
            // suspended, and the next Execute completes it with no rows.
            break true;
        }
        let next = match rows.next().now_or_never() {
            Some(next) => next,
            None => {
                // Nothing ready: let the client see what it has so far.
                client.flush().await?;
                rows.next().await
            }
        };
        match next {
            Some(Ok(row)) => {
                client.feed(PgWireBackendMessage::DataRow(row)).await?;
                count += 1;
            }
            Some(Err(e)) => {
                *state = PortalExecutionState::Finished;
                return Err(e);
            }
            None => break false,
        }
    };
    if suspended {
        client
            .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
            .await?;
    } else {
        *state = PortalExecutionState::Finished;
        client
            .send(PgWireBackendMessage::CommandComplete(
                Tag::new(&tag).with_rows(count).into(),
            ))
            .await?;
    }
    Ok(())
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
    let Some((portal, initial)) = streamable(client, &message).await else {
        return handler._on_execute(client, message).await;
    };
    let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
    let mut transaction_status = client.transaction_status();
    client.set_state(PgWireConnectionState::QueryInProgress);
    if !initial {
        // The rows' own cancel watch may have been replaced by a statement run in between
        // (its signal is the connection's latest): this piece listens for a cancel itself.
        let handle = client.session_extensions().get::<Arc<ConnectionHandle>>();
        let sent = match handle {
            Some(h) => {
                let cancel = h.start_query().await;
                match select(send_piece(client, &portal, max_rows).boxed(), cancel).await {
                    Either::Left((sent, _)) => sent,
                    Either::Right((_, piece)) => {
                        // The piece holds the portal's lock until it is dropped.
                        drop(piece);
                        *portal.state().lock().await = PortalExecutionState::Finished;
                        Err(PgWireError::QueryCanceled)
                    }
                }
            }
            None => send_piece(client, &portal, max_rows).await,
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        return sent;
    }
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
        Response::Query(results) => {
            portal.start(results).await;
            if let Err(e) = send_piece(client, &portal, max_rows).await {
                client.set_state(PgWireConnectionState::ReadyForQuery);
                return Err(e);
            }
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
            super::copy::send_copy_out(client, copy).await?;
        }
        Response::CopyIn(copy) => {
            // The data comes next; CopyDone ends the statement (then Sync).
            client.set_state(PgWireConnectionState::CopyInProgress(true));
            pgwire::api::copy::send_copy_in_response(client, copy).await?;
            return Ok(());
        }
        Response::CopyBoth(_) => {
            return Err(PgWireError::ApiError(
                "COPY BOTH is not supported".to_string().into(),
            ));
        }
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(transaction_status);
    Ok(())
}

/// Whether a simple query holds a COPY, which [`on_copy_query`] runs (comments before it
/// aside).
pub(super) fn holds_copy(query: &str) -> bool {
    use datafusion::sql::sqlparser::tokenizer::Token;
    crate::parser::split_statements(query).is_ok_and(|statements| {
        statements.iter().any(|s| {
            crate::parser::tokenize(s)
                .ok()
                .and_then(|tokens| {
                    tokens
                        .into_iter()
                        .find(|t| !matches!(t, Token::Whitespace(_)))
                })
                .is_some_and(
                    |t| matches!(&t, Token::Word(w) if w.value.eq_ignore_ascii_case("copy")),
                )
        })
    })
}

/// A simple query holding a COPY, as pgwire runs one but with [`send_copy_out`]: a COPY
/// that fails part way answers an ErrorResponse, and the statements after it do not run.
///
/// [`send_copy_out`]: super::copy::send_copy_out
pub(super) async fn on_copy_query<C>(
    handler: &EddyHandler,
    client: &mut C,
    query: &str,
) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use pgwire::api::query::{send_query_response, send_ready_for_query, SimpleQueryHandler};
    if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return Err(PgWireError::NotReadyForQuery);
    }
    let mut transaction_status = client.transaction_status();
    client.set_state(PgWireConnectionState::QueryInProgress);
    let handle = client.session_extensions().get::<Arc<ConnectionHandle>>();
    let responses = match handle {
        Some(h) => {
            let cancel = h.start_query().await;
            let run = SimpleQueryHandler::do_query(handler, client, query).boxed();
            match select(run, cancel).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => Err(PgWireError::QueryCanceled),
            }
        }
        None => SimpleQueryHandler::do_query(handler, client, query).await,
    }?;
    for response in responses {
        let failed = match response {
            Response::Query(results) => send_query_response(client, results, true).await.err(),
            Response::Execution(tag) => send_execution_response(client, tag).await.err(),
            Response::TransactionStart(tag) => {
                transaction_status = transaction_status.to_in_transaction_state();
                send_execution_response(client, tag).await.err()
            }
            Response::TransactionEnd(tag) => {
                transaction_status = transaction_status.to_idle_state();
                send_execution_response(client, tag).await.err()
            }
            Response::EmptyQuery => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                None
            }
            Response::Error(e) => {
                client
                    .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                    .await?;
                transaction_status = transaction_status.to_error_state();
                None
            }
            Response::CopyOut(copy) => super::copy::send_copy_out(client, copy).await.err(),
            Response::CopyIn(copy) => {
                // The data comes next: CopyDone ends the statement and sends ReadyForQuery.
                pgwire::api::copy::send_copy_in_response(client, copy).await?;
                client.set_state(PgWireConnectionState::CopyInProgress(false));
                client.set_transaction_status(transaction_status);
                return Ok(());
            }
            Response::CopyBoth(_) => Some(PgWireError::ApiError(
                "COPY BOTH is not supported".to_string().into(),
            )),
        };
        if let Some(e) = failed {
            if let PgWireError::IoError(_) = e {
                return Err(e);
            }
            let info: pgwire::error::ErrorInfo = e.into();
            client
                .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                .await?;
            transaction_status = transaction_status.to_error_state();
            break;
        }
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(transaction_status);
    send_ready_for_query(client, transaction_status).await
}
