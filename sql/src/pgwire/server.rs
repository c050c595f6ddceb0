//! Accepts connections and hands each to pgwire with Eddy's handlers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::net::TcpListener;

use super::handler::EddyHandler;
use crate::engine::Engine;

struct Factory {
    handler: Arc<EddyHandler>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Factory {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.handler.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}

impl NoopStartupHandler for EddyHandler {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.connections.clone())
    }
}

/// Counts a served connection for as long as it lives.
struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes a slot if fewer than `max` are taken.
fn try_slot(counter: &Arc<AtomicUsize>, max: usize) -> Option<ConnectionSlot> {
    if counter.fetch_add(1, Ordering::AcqRel) < max {
        Some(ConnectionSlot(counter.clone()))
    } else {
        counter.fetch_sub(1, Ordering::AcqRel);
        None
    }
}

/// Most refusals answered at once; a flood past even that is dropped without an answer.
const MAX_REFUSING: usize = 64;

/// Serves the PostgreSQL protocol on `listener` until the process ends, at most
/// `max_connections` clients at once. Cancel requests do not count (as in PostgreSQL):
/// a full server must still be able to cancel its own queries.
pub async fn serve(listener: TcpListener, engine: Arc<Engine>, max_connections: usize) {
    let connections = Arc::new(ConnectionManager::new());
    let factory = Arc::new(Factory {
        handler: Arc::new(EddyHandler::new(engine, connections.clone())),
        cancel: Arc::new(DefaultCancelHandler::new(connections)),
    });
    let active = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let factory = factory.clone();
                let active = active.clone();
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    let slot = if super::refuse::is_cancel_request(&socket).await {
                        None
                    } else {
                        match try_slot(&active, max_connections) {
                            Some(slot) => Some(slot),
                            None => {
                                tracing::warn!(%peer, max_connections, "refusing a connection: too many clients");
                                if let Some(_refusal) = try_slot(&refusing, MAX_REFUSING) {
                                    super::refuse::refuse_too_many(socket, max_connections).await;
                                }
                                return;
                            }
                        }
                    };
                    let _slot = slot;
                    if let Err(e) = pgwire::tokio::process_socket(socket, None, factory).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
