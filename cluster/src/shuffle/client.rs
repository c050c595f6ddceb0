//! The consuming side: one connection per producing TaskManager, shared by every channel
//! read from it. A reader task decodes frames and hands each element to its channel's
//! queue, which never overflows because the producer sends only against credit.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{Sender, TrySendError};
use eddy_runtime::exchange::CreditListener;
use eddy_runtime::StreamElement;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::frame::{self, Frame};
use super::server::write_frames;

/// How long connecting to another TaskManager's data port may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one producing TaskManager.
pub(super) struct Connection {
    pub address: String,
    pub writer: mpsc::UnboundedSender<Bytes>,
    pub register: mpsc::UnboundedSender<(u64, Sender<StreamElement>)>,
    /// Set when the connection broke.
    pub failure: Arc<OnceLock<String>>,
}

impl Connection {
    pub fn is_broken(&self) -> bool {
        self.failure.get().is_some() || self.writer.is_closed()
    }

    /// Connects and starts the connection's reader and writer tasks.
    pub async fn open(address: &str) -> Result<Connection, String> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| format!("connecting to the data port {address} timed out"))?
            .map_err(|e| format!("cannot connect to the data port {address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        super::keep_alive(&stream);
        let (reader, writer) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(frame::hello());
        let write_task = tokio::spawn(write_frames(writer, rx));
        let (register, registrations) = mpsc::unbounded_channel();
        let failure = Arc::new(OnceLock::new());
        tokio::spawn(read_frames(
            reader,
            registrations,
            failure.clone(),
            address.to_string(),
            write_task,
        ));
        Ok(Connection {
            address: address.to_string(),
            writer: tx,
            register,
            failure,
        })
    }
}

async fn read_frames(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    mut registrations: mpsc::UnboundedReceiver<(u64, Sender<StreamElement>)>,
    failure: Arc<OnceLock<String>>,
    address: String,
    mut write_task: tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut channels: HashMap<u64, Sender<StreamElement>> = HashMap::new();
    let reason = loop {
        let next = tokio::select! {
            f = frame::read(&mut reader) => f,
            // Credits and requests cannot be sent: the producer is unreachable.
            w = &mut write_task => break match w {
                Ok(Err(e)) => format!("cannot write to the producer: {e}"),
                _ => "the connection's writer ended".to_string(),
            },
        };
        let (channel, element) = match next {
            Ok(Some(Frame::Element { channel, element })) => (channel, element),
            Ok(Some(other)) => break format!("unexpected frame from a producer: {other:?}"),
            Ok(None) => break "the producing TaskManager closed the connection".to_string(),
            Err(e) => break e.to_string(),
        };
        // A channel is registered before its request is sent, so before any of its data.
        while let Ok((id, tx)) = registrations.try_recv() {
            channels.insert(id, tx);
        }
        let end = matches!(element, StreamElement::EndOfInput);
        let Some(tx) = channels.get(&channel) else {
            continue; // the consumer is gone already
        };
        match tx.try_send(element) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(_)) => {
                channels.remove(&channel);
                continue;
            }
            Err(TrySendError::Full(_)) => {
                break format!("the producer sent on channel {channel} without credit")
            }
        }
        if end {
            channels.remove(&channel);
        }
    };
    let _ = failure.set(format!(
        "the data connection to the TaskManager at {address} was lost (the TaskManager may have died): {reason}"
    ));
    tracing::warn!(%address, "{reason}");
    // Dropping the queues tells their consumers.
    drop(channels);
    write_task.abort();
}

/// The consumer's side of one remote channel: gives credit back as elements are taken.
pub(super) struct RemoteCredit {
    pub writer: mpsc::UnboundedSender<Bytes>,
    pub channel: u64,
    pub failure: Arc<OnceLock<String>>,
}

impl CreditListener for RemoteCredit {
    fn consumed(&mut self) {
        let _ = self.writer.send(frame::credit(self.channel, 1));
    }

    fn failure(&self) -> Option<String> {
        self.failure.get().cloned()
    }
}

impl Drop for RemoteCredit {
    fn drop(&mut self) {
        let _ = self.writer.send(frame::cancel_partition(self.channel));
    }
}
