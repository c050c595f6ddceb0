//! Accepts connections and hands each to pgwire with Eddy's handlers.

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

/// Serves the PostgreSQL protocol on `listener` until the process ends.
pub async fn serve(listener: TcpListener, engine: Arc<Engine>) {
    let connections = Arc::new(ConnectionManager::new());
    let factory = Arc::new(Factory {
        handler: Arc::new(EddyHandler::new(engine, connections.clone())),
        cancel: Arc::new(DefaultCancelHandler::new(connections)),
    });
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let factory = factory.clone();
                tokio::spawn(async move {
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
