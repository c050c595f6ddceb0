//! Connections that hold a slot without using it: one that has not finished its startup
//! within `sql-gateway.endpoint.pg.startup-timeout` (PostgreSQL's `authentication_timeout`)
//! is ended with FATAL 08P01, and, as PostgreSQL's `idle_in_transaction_session_timeout`
//! does, a session that opened a transaction (`BEGIN`) and then sends nothing for longer than
//! the timeout is ended with FATAL 25P03, so that a client which went away mid-transaction
//! cannot hold a connection forever.
//!
//! Each connection has an [`Activity`]: the handler marks statements busy while they run
//! and stream rows and records `BEGIN` / `COMMIT`; [`Activity::expired`] resolves once the
//! session has been idle inside a transaction for longer than its timeout, and the server
//! then drops the connection's protocol task and sends the error itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::session::{Backend, Backends};

use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection is ended.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expiry {
    /// The startup did not finish in time.
    Startup(Duration),
    /// Idle inside a transaction for this long.
    IdleInTransaction(Duration),
}

#[derive(Debug)]
struct State {
    /// Whether the startup (and authentication) finished, and by when it must.
    started: bool,
    startup_deadline: Instant,
    startup_timeout: Duration,
    /// Statements running or streaming rows.
    busy: usize,
    in_transaction: bool,
    /// When the last statement ended.
    idle_since: Instant,
    timeout: Option<Duration>,
    /// What `pg_stat_activity` shows: the session, once its startup finished (pid, user,
    /// application name), and its last statement.
    session: Option<(i32, String, String)>,
    backend_start: SystemTime,
    xact_start: Option<SystemTime>,
    query: String,
    query_start: Option<SystemTime>,
    state_change: SystemTime,
}

/// What the idle timeout and `pg_stat_activity` need to know about one connection.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
    changed: Notify,
    peer: SocketAddr,
}

impl Activity {
    fn new(peer: SocketAddr, startup_timeout: Duration) -> Self {
        Self {
            peer,
            state: Mutex::new(State {
                started: false,
                startup_deadline: Instant::now() + startup_timeout,
                startup_timeout,
                busy: 0,
                in_transaction: false,
                idle_since: Instant::now(),
                timeout: None,
                session: None,
                backend_start: SystemTime::now(),
                xact_start: None,
                query: String::new(),
                query_start: None,
                state_change: SystemTime::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The startup finished: the connection is a session of `user` now.
    pub fn started(&self, pid: i32, user: String, application_name: String) {
        let mut s = self.lock();
        s.started = true;
        s.session = Some((pid, user, application_name));
        s.state_change = SystemTime::now();
        drop(s);
        self.changed.notify_one();
    }

    /// The statement `query` starts; it counts as running until the guard is dropped.
    pub fn statement(self: &Arc<Self>, query: &str) -> BusyGuard {
        let mut s = self.lock();
        s.busy += 1;
        s.query.clear();
        // As PostgreSQL's track_activity_query_size: the start of a long text.
        let mut end = query.len().min(crate::session::QUERY_TEXT_LIMIT);
        while !query.is_char_boundary(end) {
            end -= 1;
        }
        s.query.push_str(&query[..end]);
        s.query.shrink_to(crate::session::QUERY_TEXT_LIMIT);
        let now = SystemTime::now();
        s.query_start = Some(now);
        s.state_change = now;
        drop(s);
        self.changed.notify_one();
        BusyGuard(self.clone())
    }

    /// The session as `pg_stat_activity` shows it, once it has started.
    fn backend(&self) -> Option<Backend> {
        let s = self.lock();
        let (pid, user, application_name) = s.session.clone()?;
        Some(Backend {
            pid,
            user,
            application_name,
            client: self.peer,
            backend_start: s.backend_start,
            xact_start: s.xact_start,
            query: s.query.clone(),
            query_start: s.query_start,
            state_change: s.state_change,
            state: match (s.busy > 0, s.in_transaction) {
                (true, _) => "active",
                (false, true) => "idle in transaction",
                (false, false) => "idle",
            },
        })
    }

    /// Records a transaction boundary and the session's current timeout.
    pub fn update(&self, in_transaction: Option<bool>, timeout: Option<Duration>) {
        let mut s = self.lock();
        if let Some(t) = in_transaction {
            if t != s.in_transaction {
                s.xact_start = t.then(SystemTime::now);
            }
            s.in_transaction = t;
        }
        s.timeout = timeout;
        drop(s);
        self.changed.notify_one();
    }

    /// Resolves when the connection must end: its startup took too long, or it has been
    /// idle in a transaction past its timeout.
    pub async fn expired(&self) -> Expiry {
        loop {
            let deadline = {
                let s = self.lock();
                if !s.started {
                    Some((s.startup_deadline, Expiry::Startup(s.startup_timeout)))
                } else {
                    match s.timeout {
                        Some(t) if s.busy == 0 && s.in_transaction => {
                            Some((s.idle_since + t, Expiry::IdleInTransaction(t)))
                        }
                        _ => None,
                    }
                }
            };
            match deadline {
                Some((at, expiry)) => tokio::select! {
                    _ = self.changed.notified() => {}
                    _ = tokio::time::sleep_until(at) => {
                        // Does it still hold? The startup or a statement may have begun just now.
                        let s = self.lock();
                        let holds = match expiry {
                            Expiry::Startup(_) => !s.started,
                            Expiry::IdleInTransaction(t) => {
                                s.busy == 0 && s.in_transaction && s.idle_since + t <= Instant::now()
                            }
                        };
                        if holds {
                            return expiry;
                        }
                    }
                },
                None => self.changed.notified().await,
            }
        }
    }
}

/// Marks a statement of the connection as running while it lives.
#[derive(Debug)]
pub(super) struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy = s.busy.saturating_sub(1);
        s.idle_since = Instant::now();
        s.state_change = SystemTime::now();
        drop(s);
        self.0.changed.notify_one();
    }
}

/// The activity of every open connection, by the client's address (which the handler
/// knows from pgwire's `ClientInfo`). Touched once per connection and per statement.
#[derive(Debug, Default)]
pub(super) struct Activities(Mutex<HashMap<SocketAddr, Arc<Activity>>>);

impl Activities {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Arc<Activity>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection, which must finish its startup within `startup_timeout`.
    pub fn open(&self, peer: SocketAddr, startup_timeout: Duration) -> Arc<Activity> {
        let a = Arc::new(Activity::new(peer, startup_timeout));
        self.lock().insert(peer, a.clone());
        a
    }

    /// Forgets a closed connection.
    pub fn close(&self, peer: &SocketAddr) {
        self.lock().remove(peer);
    }

    /// The activity of the connection from `peer`.
    pub fn get(&self, peer: &SocketAddr) -> Option<Arc<Activity>> {
        self.lock().get(peer).cloned()
    }
}

impl Backends for Activities {
    fn backends(&self) -> Vec<Backend> {
        let activities: Vec<_> = self.lock().values().cloned().collect();
        let mut all: Vec<_> = activities.iter().filter_map(|a| a.backend()).collect();
        all.sort_by_key(|b| b.pid);
        all
    }
}
