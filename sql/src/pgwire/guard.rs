//! What stands between one statement and the rest of the server: a panic while planning,
//! executing or streaming rows fails that statement with XX000 and the panic's message,
//! and PostgreSQL's `statement_timeout` ends it with 57014. The connection goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

use crate::error::{Result, SqlError};
use eddy_runtime::error::panic_message;

/// When a statement must be done by, and how its timeout was written.
#[derive(Debug, Clone)]
pub(super) struct Deadline {
    at: Instant,
    setting: String,
}

impl Deadline {
    /// The deadline of a statement starting now, if `statement_timeout` is set.
    pub fn after(timeout: Option<(Duration, String)>) -> Option<Self> {
        timeout.map(|(d, setting)| Deadline {
            at: Instant::now() + d,
            setting,
        })
    }

    fn error(&self) -> SqlError {
        SqlError::StatementTimeout(format!("statement_timeout = {}", self.setting))
    }
}

/// Runs `f`, turning a panic into [`SqlError::Panic`] and a passed deadline into
/// [`SqlError::StatementTimeout`].
pub(super) async fn guarded<T>(
    deadline: Option<&Deadline>,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    let caught = async {
        match AssertUnwindSafe(f).catch_unwind().await {
            Ok(r) => r,
            Err(payload) => {
                let msg = panic_message(payload.as_ref());
                tracing::error!(panic = %msg, "a statement panicked; failing it");
                Err(SqlError::Panic(msg))
            }
        }
    };
    match deadline {
        Some(d) => match tokio::time::timeout_at(d.at, caught).await {
            Ok(r) => r,
            Err(_) => Err(d.error()),
        },
        None => caught.await,
    }
}

/// The same guard over a stream of rows: a panic or the deadline ends it with the error.
pub(super) fn guarded_stream<T: Send + 'static>(
    stream: BoxStream<'static, Result<T>>,
    deadline: Option<Deadline>,
) -> BoxStream<'static, Result<T>> {
    futures::stream::unfold((Some(stream), deadline), |(stream, deadline)| async move {
        let mut stream = stream?;
        let next = guarded(deadline.as_ref(), stream.next().map(Ok::<_, SqlError>)).await;
        match next {
            Ok(Some(item)) => Some((item, (Some(stream), deadline))),
            Ok(None) => None,
            // After a panic the stream may be in any state: it is not polled again.
            Err(e) => Some((Err(e), (None, deadline))),
        }
    })
    .boxed()
}
