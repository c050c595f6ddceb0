//! Cancel requests (psql's Ctrl-C): a query watches its connection's cancel signal while
//! it plans and while its rows stream out.

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use pgwire::api::ConnectionHandle;
use tokio::sync::oneshot;

/// The cancel signal of one query.
pub(super) struct CancelWatch {
    rx: Option<oneshot::Receiver<()>>,
}

impl CancelWatch {
    /// Starts watching for a cancel request on the connection, if it has a handle.
    pub async fn start(handle: Option<Arc<Arc<ConnectionHandle>>>) -> Self {
        match handle {
            Some(h) => Self {
                rx: Some(h.start_query().await),
            },
            None => Self { rx: None },
        }
    }

    /// Resolves only when the client asked to cancel. A replaced or dropped signal (the
    /// next query started) never resolves.
    pub async fn cancelled(&mut self) {
        if let Some(rx) = &mut self.rx {
            if rx.await.is_ok() {
                self.rx = None;
                return;
            }
            self.rx = None;
        }
        futures::future::pending::<()>().await
    }
}

/// Ends `stream` with a cancellation error when the client cancels.
pub(super) fn cancellable<T: Send + 'static, E: Send + 'static>(
    stream: BoxStream<'static, Result<T, E>>,
    watch: CancelWatch,
    cancelled: impl Fn() -> E + Send + 'static,
) -> BoxStream<'static, Result<T, E>> {
    futures::stream::unfold(
        (stream, watch, false, cancelled),
        |(mut stream, mut watch, done, cancelled)| async move {
            if done {
                return None;
            }
            tokio::select! {
                biased;
                _ = watch.cancelled() => {
                    let e = cancelled();
                    Some((Err(e), (stream, watch, true, cancelled)))
                }
                item = stream.next() => {
                    let item = item?;
                    let stop = item.is_err();
                    Some((item, (stream, watch, stop, cancelled)))
                }
            }
        },
    )
    .boxed()
}
