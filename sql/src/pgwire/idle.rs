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
use std::time::Duration;

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
}

/// What the idle timeout needs to know about one connection.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

impl Activity {
    fn new(startup_timeout: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                started: false,
                startup_deadline: Instant::now() + startup_timeout,
                startup_timeout,
                busy: 0,
                in_transaction: false,
                idle_since: Instant::now(),
                timeout: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The startup finished: the connection is a session now.
    pub fn started(&self) {
        self.lock().started = true;
        self.changed.notify_one();
    }

    /// A statement starts; it counts as running until the guard is dropped.
    pub fn statement(self: &Arc<Self>) -> BusyGuard {
        self.lock().busy += 1;
        self.changed.notify_one();
        BusyGuard(self.clone())
    }

    /// Records a transaction boundary and the session's current timeout.
    pub fn update(&self, in_transaction: Option<bool>, timeout: Option<Duration>) {
        let mut s = self.lock();
        if let Some(t) = in_transaction {
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
        let a = Arc::new(Activity::new(startup_timeout));
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
