//! Cancel requests (psql's Ctrl-C). pgwire itself cancels a statement while the handler
//! runs; once the handler has returned, rows still stream out (a streaming SELECT may run
//! forever), so the row stream watches the connection's cancel signal itself.

use std::sync::Arc;

use futures::channel::oneshot;
use futures::stream::BoxStream;
use futures::StreamExt;
use pgwire::api::ConnectionHandle;

/// The cancel signal of one query.
pub(super) struct CancelWatch {
    handle: Option<Arc<ConnectionHandle>>,
    rx: Option<oneshot::Receiver<()>>,
}

impl CancelWatch {
    /// A watch that takes over the connection's cancel signal when first awaited, which
    /// is after pgwire's own watch over the handler has ended.
    pub fn new(handle: Option<Arc<ConnectionHandle>>) -> Self {
        Self { handle, rx: None }
    }

    /// Resolves only when the client asked to cancel. A replaced or dropped signal (the
    /// next query started) never resolves.
    pub async fn cancelled(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rx = Some(h.start_query().await);
        }
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
