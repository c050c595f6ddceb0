//! The data server of a TaskManager: consumers on other TaskManagers connect here and
//! request the subpartitions they read. Each connection has a writer task that sends the
//! frames producing subtasks encoded, in the order they were queued.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::Sender;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::frame::{self, Frame, DATA_PROTOCOL_VERSION, MAX_CONTROL_FRAME};
use super::partition::{Grant, PartitionRegistry};

/// How long a new connection may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts data connections until the process ends.
pub async fn serve(listener: TcpListener, registry: Arc<PartitionRegistry>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let registry = registry.clone();
                tokio::spawn(async move {
                    if let Err(reason) = connection(stream, peer, registry).await {
                        tracing::warn!(%peer, "data connection closed: {reason}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a data connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    registry: Arc<PartitionRegistry>,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    super::keep_alive(&stream);
    let (mut reader, writer) = stream.into_split();
    match tokio::time::timeout(
        HELLO_TIMEOUT,
        frame::read_limited(&mut reader, MAX_CONTROL_FRAME),
    )
    .await
    {
        Ok(Ok(Some(Frame::Hello { version }))) if version == DATA_PROTOCOL_VERSION => {}
        Ok(Ok(Some(Frame::Hello { version }))) => {
            return Err(format!(
                "refused: data protocol version {version}, this TaskManager speaks {DATA_PROTOCOL_VERSION}"
            ))
        }
        Ok(Ok(_)) => return Err("refused: the peer did not start with a hello".into()),
        Ok(Err(e)) => return Err(format!("refused: {e}")),
        Err(_) => return Err("refused: no hello within 10 s".into()),
    }
    tracing::debug!(%peer, "data connection accepted");
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let mut write_task = tokio::spawn(write_frames(writer, rx));
    let mut channels: HashMap<u64, Sender<Grant>> = HashMap::new();
    let result = loop {
        let next = tokio::select! {
            f = frame::read_limited(&mut reader, MAX_CONTROL_FRAME) => f,
            // A failed write means the consumer is unreachable: stop reading too.
            w = &mut write_task => {
                break Err(match w {
                    Ok(Err(e)) => format!("cannot write to the consumer: {e}"),
                    _ => "the connection's writer ended".to_string(),
                });
            }
        };
        let frame = match next {
            Ok(Some(f)) => f,
            Ok(None) => break Err("the consumer closed the connection".to_string()),
            Err(e) => break Err(e.to_string()),
        };
        match frame {
            Frame::PartitionRequest {
                channel,
                key,
                credits,
            } => match registry.attach(&key) {
                Some(grants) => {
                    let _ = grants.send(Grant::Attach {
                        writer: tx.clone(),
                        channel,
                        credits,
                    });
                    channels.insert(channel, grants);
                }
                None => break Err(format!("subpartition {key:?} was requested twice")),
            },
            Frame::Credit { channel, credits } => {
                if let Some(g) = channels.get(&channel) {
                    let _ = g.send(Grant::Credit(credits));
                }
            }
            Frame::CancelPartition { channel } => {
                channels.remove(&channel);
            }
            other => break Err(format!("unexpected frame from a consumer: {other:?}")),
        }
    };
    if let Err(reason) = &result {
        let reason = format!("the data connection from the TaskManager at {peer} broke: {reason}");
        for (_, g) in channels.drain() {
            let _ = g.send(Grant::Lost(reason.clone()));
        }
    }
    drop(tx);
    write_task.abort();
    result
}

/// Writes queued frames, flushing whenever the queue runs dry.
pub(super) async fn write_frames(
    writer: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(256 << 10, writer);
    while let Some(bytes) = rx.recv().await {
        w.write_all(&bytes).await?;
        while let Ok(more) = rx.try_recv() {
            w.write_all(&more).await?;
        }
        w.flush().await?;
    }
    w.shutdown().await
}
