//! Data exchange between TaskManagers (Flink's netty shuffle): a data server per
//! TaskManager, one multiplexed connection from a consuming TaskManager to each producing
//! one, Arrow IPC for batches, and credit-based flow control. Channels between subtasks of
//! one TaskManager never come here.
//!
//! A consumer asks for a subpartition and grants as many credits as its queue holds; the
//! producer sends an element only against a credit, and the consumer returns one each
//! time its task takes an element. So a slow consumer stops its producers with at most a
//! queue's worth of elements per channel in flight, and the connection's reader never
//! blocks on a full queue (which would stall every other channel on the connection).

mod client;
pub mod frame;
mod partition;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eddy_runtime::exchange::{ChannelKey, InputChannel, OutputChannel};
use eddy_runtime::RuntimeError;
use tokio::net::TcpListener;
use tokio::runtime::Handle;

pub use partition::PartitionRegistry;

use client::{Connection, RemoteCredit};

/// A TaskManager's network stack.
pub struct NetworkEnvironment {
    partitions: Arc<PartitionRegistry>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    next_channel: AtomicU64,
    runtime: Handle,
}

impl NetworkEnvironment {
    /// Starts the data server on `listener`; returns the environment and the address it
    /// listens on.
    pub fn start(listener: TcpListener) -> std::io::Result<(Arc<Self>, SocketAddr)> {
        let address = listener.local_addr()?;
        let partitions = Arc::new(PartitionRegistry::default());
        tokio::spawn(server::serve(listener, partitions.clone()));
        Ok((
            Arc::new(Self {
                partitions,
                connections: Mutex::new(HashMap::new()),
                next_channel: AtomicU64::new(0),
                runtime: Handle::current(),
            }),
            address,
        ))
    }

    /// The sending end of a channel whose consumer runs on another TaskManager. The
    /// sender waits for the consumer's request and credit; `cancel` stops the wait.
    pub fn output_channel(&self, key: ChannelKey, cancel: Arc<AtomicBool>) -> OutputChannel {
        OutputChannel::Remote(self.partitions.sender(key, cancel))
    }

    /// The receiving end of a channel whose producer runs on the TaskManager with data
    /// address `address`. Blocks while connecting: call it from a task's thread.
    pub fn input_channel(
        &self,
        key: &ChannelKey,
        address: &str,
        capacity: usize,
    ) -> eddy_runtime::Result<InputChannel> {
        let conn = self.connection(address)?;
        let channel = self.next_channel.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let lost = || RuntimeError::External(format!("the data connection to {address} closed"));
        conn.register.send((channel, tx)).map_err(|_| lost())?;
        conn.writer
            .send(frame::partition_request(
                channel,
                key,
                capacity.max(1) as u32,
            ))
            .map_err(|_| lost())?;
        Ok(InputChannel::remote(
            rx,
            Box::new(RemoteCredit {
                writer: conn.writer.clone(),
                channel,
                failure: conn.failure.clone(),
            }),
        ))
    }

    fn connection(&self, address: &str) -> eddy_runtime::Result<Arc<Connection>> {
        {
            let map = self.connections.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = map.get(address) {
                if !c.is_broken() {
                    return Ok(c.clone());
                }
            }
        }
        // Connect outside the lock; two tasks racing here make two connections, and the
        // later one is kept for new channels.
        let conn = Arc::new(
            self.runtime
                .block_on(Connection::open(address))
                .map_err(RuntimeError::External)?,
        );
        tracing::debug!(address = %conn.address, "data connection opened");
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.to_string(), conn.clone());
        Ok(conn)
    }

    /// Forgets what a job left behind.
    pub fn release_job(&self, job_id: &str) {
        self.partitions.release_job(job_id);
    }
}
