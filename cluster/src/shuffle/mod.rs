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

/// Has the kernel probe an idle data connection, so that a peer that vanished without
/// closing it (power loss, a partition) is noticed within a minute rather than never.
fn keep_alive(stream: &tokio::net::TcpStream) {
    let probe = socket2::TcpKeepalive::new()
        .with_time(std::time::Duration::from_secs(15))
        .with_interval(std::time::Duration::from_secs(5))
        .with_retries(6);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&probe) {
        tracing::debug!(error = %e, "cannot enable TCP keep-alive on a data connection");
    }
}

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
        // Held while connecting, so that subtasks deployed together share one connection
        // rather than racing to open several; only deployment waits on it.
        let mut map = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(address) {
            if !c.is_broken() {
                return Ok(c.clone());
            }
        }
        let conn = Arc::new(
            self.runtime
                .block_on(Connection::open(address))
                .map_err(RuntimeError::External)?,
        );
        tracing::debug!(address = %conn.address, "data connection opened");
        map.insert(address.to_string(), conn.clone());
        Ok(conn)
    }

    /// Forgets what a job left behind.
    pub fn release_job(&self, job_id: &str, up_to_attempt: u32) {
        self.partitions.release_job(job_id, up_to_attempt);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use eddy_runtime::{StreamElement, Watermark};

    use eddy_runtime::exchange::RecordWriter;
    use eddy_runtime::jobgraph::Partitioner;

    use super::*;

    async fn network() -> (Arc<NetworkEnvironment>, SocketAddr) {
        NetworkEnvironment::start(TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap()
    }

    /// Two network stacks on loopback, as two TaskManagers: the producer's, its data
    /// address, and the consumer's.
    async fn two_task_managers() -> (Arc<NetworkEnvironment>, SocketAddr, Arc<NetworkEnvironment>) {
        let (producer, address) = network().await;
        let (consumer, _) = network().await;
        (producer, address, consumer)
    }

    fn key(job_id: &str, consumer: u32) -> ChannelKey {
        ChannelKey {
            job_id: job_id.into(),
            attempt: 0,
            edge: 0,
            producer: 0,
            consumer,
        }
    }

    /// Takes a channel's elements to its end: the first column's values and the watermarks.
    fn read_all(input: &mut InputChannel) -> (Vec<i64>, Vec<Watermark>) {
        let (mut values, mut watermarks) = (Vec::new(), Vec::new());
        loop {
            let element = input
                .receiver()
                .recv_timeout(Duration::from_secs(10))
                .unwrap();
            input.consumed();
            match element {
                StreamElement::Batch(b) => values.extend(
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .iter(),
                ),
                StreamElement::Watermark(w) => watermarks.push(w),
                StreamElement::EndOfInput => return (values, watermarks),
                StreamElement::WatermarkStatus(_) | StreamElement::Barrier(_) => {}
            }
        }
    }

    fn batch(start: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(start..start + 100))],
        )
        .unwrap()
    }

    /// Two network stacks on loopback, as two TaskManagers: a producer sends only against
    /// credit, so a consumer that reads nothing holds it at its queue's capacity; once the
    /// consumer reads, every element arrives in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn credits_bound_what_a_producer_sends_ahead() {
        let (producer_tm, producer_addr, consumer_tm) = two_task_managers().await;
        let key = key("job", 1);
        let capacity = 4;
        let sent = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let mut output = producer_tm.output_channel(key.clone(), cancel.clone());
        let counter = sent.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                output.send(StreamElement::Batch(batch(i * 100)))?;
                counter.fetch_add(1, Ordering::SeqCst);
            }
            output.send(StreamElement::Watermark(Watermark(7)))?;
            output.send(StreamElement::EndOfInput)
        });
        let address = producer_addr.to_string();
        let mut input = tokio::task::spawn_blocking(move || {
            consumer_tm.input_channel(&key, &address, capacity)
        })
        .await
        .unwrap()
        .unwrap();
        // Nothing is read: the producer gets as far as its initial credit, and no further.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sent.load(Ordering::SeqCst) < capacity && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sent.load(Ordering::SeqCst), capacity);
        let (values, watermarks) = tokio::task::spawn_blocking(move || read_all(&mut input))
            .await
            .unwrap();
        assert_eq!(values, (0..100_000).collect::<Vec<i64>>());
        assert_eq!(watermarks, [Watermark(7)]);
        producer.join().unwrap().unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 1000);
    }

    /// A consumer whose producer's TaskManager goes away fails naming the connection; a
    /// producer whose consumer cancels stops with a cancellation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_connection_fails_the_consumer_and_a_cancel_stops_the_producer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // A "TaskManager" that accepts, reads the hello and the request, then dies.
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let hello = frame::read(&mut s).await;
            assert!(
                matches!(hello, Ok(Some(frame::Frame::Hello { .. }))),
                "{hello:?}"
            );
            let request = frame::read(&mut s).await;
            assert!(
                matches!(request, Ok(Some(frame::Frame::PartitionRequest { .. }))),
                "{request:?}"
            );
            drop(s);
        });
        let (consumer_tm, _) = network().await;
        let lost = key("job", 0);
        let input = tokio::task::spawn_blocking(move || {
            consumer_tm.input_channel(&lost, &address, 2).unwrap()
        })
        .await
        .unwrap();
        let closed = tokio::task::spawn_blocking(move || {
            assert!(input
                .receiver()
                .recv_timeout(Duration::from_secs(10))
                .is_err());
            input.closed_error().to_string()
        })
        .await
        .unwrap();
        assert!(closed.contains("data connection"), "{closed}");

        let (producer_tm, producer_addr, consumer_tm) = two_task_managers().await;
        let cancelled = key("job2", 0);
        let mut output =
            producer_tm.output_channel(cancelled.clone(), Arc::new(AtomicBool::new(false)));
        let producer = std::thread::spawn(move || loop {
            output.send(StreamElement::Batch(batch(0)))?;
        });
        let address = producer_addr.to_string();
        let input = tokio::task::spawn_blocking(move || {
            consumer_tm.input_channel(&cancelled, &address, 2).unwrap()
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(input);
        let result: eddy_runtime::Result<()> =
            tokio::task::spawn_blocking(move || producer.join().unwrap())
                .await
                .unwrap();
        assert!(matches!(result, Err(RuntimeError::Cancelled)), "{result:?}");
    }

    /// What each of `n` remote consumers receives when one producer writes `batches` over
    /// `partitioner` (two network stacks on loopback, as two TaskManagers).
    async fn exchange(partitioner: Partitioner, n: u32, batches: i64) -> Vec<Vec<i64>> {
        let (producer_tm, producer_addr, consumer_tm) = two_task_managers().await;
        let job_id = format!("{partitioner}");
        let key = |c: u32| key(&job_id, c);
        let cancel = Arc::new(AtomicBool::new(false));
        let outputs = (0..n)
            .map(|c| producer_tm.output_channel(key(c), cancel.clone()))
            .collect();
        let producer = std::thread::spawn(move || {
            let mut writer = RecordWriter::new(partitioner, outputs, 128);
            for i in 0..batches {
                writer.emit(StreamElement::Batch(batch(i * 100)))?;
            }
            writer.emit(StreamElement::EndOfInput)
        });
        let address = producer_addr.to_string();
        let consumers: Vec<_> = (0..n)
            .map(|c| {
                let consumer_tm = consumer_tm.clone();
                let address = address.clone();
                let key = key(c);
                std::thread::spawn(move || {
                    let mut input = consumer_tm.input_channel(&key, &address, 2).unwrap();
                    read_all(&mut input).0
                })
            })
            .collect();
        let out = tokio::task::spawn_blocking(move || {
            consumers.into_iter().map(|c| c.join().unwrap()).collect()
        })
        .await
        .unwrap();
        producer.join().unwrap().unwrap();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hash_broadcast_and_rebalance_cross_the_network() {
        let all: Vec<i64> = (0..1000).collect();
        // Broadcast: every consumer gets every row, in order.
        for got in exchange(Partitioner::Broadcast, 3, 10).await {
            assert_eq!(got, all);
        }
        // Rebalance: whole batches round-robin.
        let got = exchange(Partitioner::Rebalance, 2, 10).await;
        assert_eq!(got[0].len(), 500);
        assert_eq!(got[1].len(), 500);
        assert_eq!(&got[0][..100], &all[..100]);
        assert_eq!(&got[1][..100], &all[100..200]);
        // Hash: each row once, at the subtask its key group belongs to.
        let got = exchange(
            Partitioner::Hash {
                key_columns: vec![0],
            },
            4,
            10,
        )
        .await;
        let mut seen: Vec<i64> = got.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, all);
        let mut expected: Vec<Vec<i64>> = vec![Vec::new(); 4];
        for i in 0..10 {
            let b = batch(i * 100);
            let parts = eddy_runtime::exchange::partition_batch(&b, &[0], 4, 128).unwrap();
            for (c, p) in parts.iter().enumerate() {
                let a = p.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                expected[c].extend(a.values().iter());
            }
        }
        assert_eq!(got, expected);
    }
}
