//! The sessions a gateway serves, as `pg_stat_activity` lists them: the gateway's
//! connections report what they run, and each catalog query takes a snapshot.

use std::net::SocketAddr;
use std::time::SystemTime;

/// One session, as a row of `pg_stat_activity`.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The process id the client got in BackendKeyData (and cancels with).
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub client: SocketAddr,
    pub backend_start: SystemTime,
    /// Since when the open transaction (`BEGIN`) runs.
    pub xact_start: Option<SystemTime>,
    /// The last statement: running when `state` is `active`.
    pub query: String,
    pub query_start: Option<SystemTime>,
    pub state_change: SystemTime,
    /// `active`, `idle` or `idle in transaction`, as PostgreSQL names them.
    pub state: &'static str,
}

/// Where the engine asks for the sessions it serves (the pgwire gateway).
pub trait Backends: Send + Sync {
    fn backends(&self) -> Vec<Backend>;
}
