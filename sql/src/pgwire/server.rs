//! Accepts connections and hands each to pgwire with Eddy's handlers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::collections::HashMap;

use futures::{Sink, SinkExt};
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthDriver,
    ServerParameterProvider, StartupHandler,
};
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{
    ClientInfo, ConnectionGuard, ConnectionHandle, PidSecretKeyGenerator,
    METADATA_APPLICATION_NAME, METADATA_CLIENT_ENCODING, METADATA_USER,
};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::net::{TcpListener, TcpStream};

use super::auth::{Authenticator, EndpointOptions};
use super::handler::EddyHandler;
use super::idle::Expiry;
use super::refuse::Opening;
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

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.handler.clone()
    }
}

/// The settings sent as ParameterStatus at startup: the values `SHOW` answers, from the same
/// table (`session::reported_parameters`), under PostgreSQL's spelling of their names.
struct ReportedParameters;

impl ServerParameterProvider for ReportedParameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let mut params: HashMap<String, String> = crate::session::reported_parameters()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Parameters a client sets in its startup packet come back as it set them.
        for (name, key) in [
            ("application_name", METADATA_APPLICATION_NAME),
            ("client_encoding", METADATA_CLIENT_ENCODING),
            ("session_authorization", METADATA_USER),
        ] {
            if let Some(v) = client.metadata().get(key) {
                params.insert(name.to_string(), v.clone());
            }
        }
        Some(params)
    }
}

#[async_trait::async_trait]
impl StartupHandler for EddyHandler {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let driver = AuthDriver::<ReportedParameters>::new(ReportedParameters);
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if client
                    .metadata()
                    .get(METADATA_USER)
                    .is_none_or(|u| u.is_empty())
                {
                    return Err(fatal(
                        "28000",
                        "no PostgreSQL user name specified in startup packet".into(),
                    ));
                }
                if self.auth.ssl_required && !client.is_secure() {
                    return Err(fatal(
                        "28000",
                        "connection without TLS refused (sql-gateway.endpoint.pg.ssl.required = true): connect with sslmode=require".into(),
                    ));
                }
                match self.auth.mechanism(client.is_secure()) {
                    None => self.admit(client, None).await,
                    Some(mechanism) => match driver.begin_authentication(client, mechanism).await {
                        Ok(AuthOutcome::InProgress) => Ok(()),
                        Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                            self.admit(client, final_message).await
                        }
                        Err(e) => Err(failed(client, e)),
                    },
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(m) => {
                match driver.advance_authentication(client, m).await {
                    Ok(AuthOutcome::InProgress) => Ok(()),
                    Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                        self.admit(client, final_message).await
                    }
                    Err(e) => Err(failed(client, e)),
                }
            }
            _ => Ok(()),
        }
    }
}

fn fatal(sqlstate: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        sqlstate.into(),
        message,
    )))
}

/// A failed exchange as PostgreSQL reports it: a wrong proof or password as 28P01 with
/// PostgreSQL's message; a broken exchange (malformed SCRAM, a channel-binding mismatch)
/// keeps pgwire's protocol error.
fn failed<C: ClientInfo>(client: &C, e: PgWireError) -> PgWireError {
    let user = client
        .metadata()
        .get(METADATA_USER)
        .cloned()
        .unwrap_or_default();
    tracing::info!(peer = %client.socket_addr(), %user, error = %e, "authentication failed");
    match e {
        PgWireError::InvalidPassword(_) => super::auth::login_failed(&user),
        other => other,
    }
}

impl EddyHandler {
    /// Lets an authenticated client in: its process id and cancel key, its connection
    /// registered for cancels, and PostgreSQL's closing messages of startup.
    async fn admit<C>(
        &self,
        client: &mut C,
        final_message: Option<Authentication>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(m) = final_message {
            client.send(PgWireBackendMessage::Authentication(m)).await?;
        }
        let (pid, secret_key) = self.pids.generate(client);
        client.set_pid_and_secret_key(pid, secret_key.clone());
        let (handle, guard) = self.connections.register(pid, secret_key);
        client
            .session_extensions()
            .insert::<Arc<ConnectionHandle>>(handle);
        client.session_extensions().insert::<ConnectionGuard>(guard);
        if let Some(a) = self.activities.get(&client.socket_addr()) {
            let metadata = client.metadata();
            let value = |key: &str| metadata.get(key).cloned().unwrap_or_default();
            a.started(
                pid,
                value(pgwire::api::METADATA_USER),
                value(pgwire::api::METADATA_APPLICATION_NAME),
            );
        }
        finish_authentication(client, &ReportedParameters).await
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

/// Two handles on one connection (the same socket, duplicated).
fn split(socket: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let std = socket.into_std()?;
    let spare = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, TcpStream::from_std(spare)?))
}

/// Sends a FATAL error and closes the connection.
async fn terminate(mut socket: TcpStream, sqlstate: &str, message: &str) {
    use tokio::io::AsyncWriteExt;
    let _ = socket
        .write_all(&super::refuse::fatal_error(sqlstate, message))
        .await;
    let _ = socket.shutdown().await;
}

/// Most refusals answered at once; a flood past even that is dropped without an answer.
const MAX_REFUSING: usize = 64;

/// Serves the PostgreSQL protocol on `listener` until the process ends, at most
/// `max_connections` clients at once. Cancel requests do not count (as in PostgreSQL):
/// a full server must still be able to cancel its own queries.
pub async fn serve(listener: TcpListener, engine: Arc<Engine>, options: EndpointOptions) {
    let max_connections = options.max_connections;
    let startup_timeout = options.startup_timeout;
    let tls = options.tls.clone();
    let connections = Arc::new(ConnectionManager::new());
    let auth = Authenticator::new(&options, engine.clone());
    let factory = Arc::new(Factory {
        handler: Arc::new(EddyHandler::new(engine, connections.clone(), auth)),
        cancel: Arc::new(DefaultCancelHandler::new(connections)),
    });
    factory
        .handler
        .engine
        .serve_backends(factory.handler.activities.clone());
    let active = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let factory = factory.clone();
                let activities = factory.handler.activities.clone();
                let active = active.clone();
                let refusing = refusing.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let opening = super::refuse::opening(&socket, startup_timeout).await;
                    let slot = if opening == Opening::Cancel {
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
                    // A second handle on the socket, to say why when the server ends the
                    // connection itself.
                    let (socket, spare) = match split(socket) {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "cannot set up the connection");
                            return;
                        }
                    };
                    let activity = activities.open(peer, startup_timeout);
                    tokio::select! {
                        r = pgwire::tokio::process_socket(socket, tls.clone(), factory) => {
                            if let Err(e) = r {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        }
                        expiry = activity.expired() => {
                            tracing::info!(%peer, ?expiry, "ending a connection");
                            let (sqlstate, message) = match expiry {
                                Expiry::Startup(t) => ("08P01", format!(
                                    "canceling authentication due to timeout (sql-gateway.endpoint.pg.startup-timeout = {} ms)",
                                    t.as_millis()
                                )),
                                Expiry::IdleInTransaction(t) => ("25P03", format!(
                                    "terminating connection due to idle-in-transaction timeout (idle_in_transaction_session_timeout = {} ms)",
                                    t.as_millis()
                                )),
                            };
                            if tls.is_some() && opening == Opening::Tls {
                                // The socket carries TLS records: a plain message would be
                                // garbage to the client, so the connection just closes.
                                let _ = tokio::io::AsyncWriteExt::shutdown(&mut { spare }).await;
                            } else {
                                terminate(spare, sqlstate, &message).await;
                            }
                        }
                    }
                    activities.close(&peer);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
