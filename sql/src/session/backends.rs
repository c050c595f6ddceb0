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

/// The gateway's session list, as a catalog query holds it: read only when it lists
/// `pg_stat_activity`, not copied for every statement.
#[derive(Clone)]
pub struct SessionList(pub std::sync::Arc<dyn Backends>);

impl std::fmt::Debug for SessionList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionList")
    }
}

/// PostgreSQL's `track_activity_query_size`: the longest query text a session shows.
pub const QUERY_TEXT_LIMIT: usize = 1024;
