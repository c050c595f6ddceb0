//! The `kafka` connector end to end, against a real Kafka-protocol broker (tansu, started
//! by the test, see `common/kafka.rs`) and the real `eddy` binary over pgwire. Expected
//! rows come from what the test produced; every comparison checks both ways (nothing
//! missing, nothing extra).

mod common;

use std::time::{Duration, Instant};

use common::kafka::Broker;
use common::{
    describe_error, describe_job, exec, read_part_files, sqlstate, submit, try_simple, values,
    wait_for_status, Eddy,
};
use tokio_postgres::Client;

/// `expected` and `got` hold the same rows, each as often; the message lists the
/// differences both ways.
fn assert_same(mut got: Vec<String>, mut expected: Vec<String>) {
    got.sort();
    expected.sort();
    let mut extra = got.clone();
    let mut missing = Vec::new();
    for row in &expected {
        match extra.iter().position(|r| r == row) {
            Some(i) => {
                extra.remove(i);
            }
            None => missing.push(row.clone()),
        }
    }
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} rows expected, {} got; missing {missing:?}, extra {extra:?}",
        expected.len(),
        got.len()
    );
}

/// Rows of a query, each as its values joined by commas (NULL empty).
async fn rows(client: &Client, sql: &str) -> Vec<String> {
    values(client, sql)
        .await
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// Produces `n` orders `{"id": i, "amount": i * 1.5, "ts": ...}` round-robin over
/// `partitions`, one second of event time apart from 2024-01-01 00:00:00.
fn produce_orders(broker: &Broker, topic: &str, ids: std::ops::Range<i64>, partitions: i32) {
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

fn orders_ddl(name: &str, broker: &Broker, topic: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} (id BIGINT, amount DOUBLE, ts TIMESTAMP(3), \
         WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', \
         'topic' = '{topic}', 'properties.bootstrap.servers' = '{}', 'format' = 'json'{extra})",
        broker.address()
    )
}

#[tokio::test]
async fn a_bounded_read_of_several_partitions_returns_every_record_once() {
    let broker = Broker::start();
    broker.create_topic("orders", 3);
    produce_orders(&broker, "orders", 0..60, 3);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let bounded =
        ", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'";
    exec(&client, &orders_ddl("orders", &broker, "orders", bounded)).await;
    // PostgreSQL prints a DOUBLE 15 as `15`; Flink's CSV as `15.0`.
    let expected: Vec<String> = (0..60).map(|i| format!("{i},{}", i as f64 * 1.5)).collect();
    let expected_csv: Vec<String> = (0..60)
        .map(|i| format!("{i},{:?}", i as f64 * 1.5))
        .collect();

    // A plain SELECT of a bounded table, as a database answers it.
    assert_same(
        rows(&client, "SELECT id, amount FROM orders").await,
        expected,
    );
    let n = rows(&client, "SELECT count(*), count(DISTINCT id) FROM orders").await;
    assert_eq!(n, vec!["60,60".to_string()]);

    // A job over it at parallelism 2 finishes by itself and writes every record once.
    let out = eddy.scratch_dir().join("orders_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE orders_out (id BIGINT, amount DOUBLE) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    let job = submit(
        &client,
        "INSERT INTO orders_out SELECT id, amount FROM orders",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    assert_same(read_part_files(&out), expected_csv);
}

#[tokio::test]
async fn startup_modes_pick_where_reading_begins() {
    let broker = Broker::start();
    broker.create_topic("events", 2);
    produce_orders(&broker, "events", 0..10, 2);
    // tansu answers a time lookup by when it received records, so the time that splits
    // the topic is taken between two rounds of producing.
    std::thread::sleep(Duration::from_millis(50));
    let split_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::thread::sleep(Duration::from_millis(50));
    produce_orders(&broker, "events", 10..16, 2);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let ids = |from: i64, to: i64| (from..to).map(|i| i.to_string()).collect::<Vec<_>>();
    let bounded = "'scan.bounded.mode' = 'latest-offset'";
    for (name, startup, expected) in [
        (
            "earliest",
            "'scan.startup.mode' = 'earliest-offset'".to_string(),
            ids(0, 16),
        ),
        (
            "latest",
            "'scan.startup.mode' = 'latest-offset'".to_string(),
            vec![],
        ),
        (
            "by_time",
            format!(
                "'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '{split_at}'"
            ),
            ids(10, 16),
        ),
        (
            // Partition 0 holds the even ids 0, 2, .. 14: from its offset 6 on, 12 and 14;
            // partition 1, not listed, starts at its earliest offset.
            "specific",
            "'scan.startup.mode' = 'specific-offsets', \
             'scan.startup.specific-offsets' = 'partition:0,offset:6'"
                .to_string(),
            [12, 14, 1, 3, 5, 7, 9, 11, 13, 15]
                .iter()
                .map(|i| i.to_string())
                .collect(),
        ),
    ] {
        exec(
            &client,
            &orders_ddl(name, &broker, "events", &format!(", {startup}, {bounded}")),
        )
        .await;
        assert_same(
            rows(&client, &format!("SELECT id FROM {name}")).await,
            expected,
        );
    }
    // Group offsets without a committed offset and no reset policy: Flink's error.
    exec(
        &client,
        &orders_ddl(
            "grouped",
            &broker,
            "events",
            &format!(", 'properties.group.id' = 'fresh', {bounded}"),
        ),
    )
    .await;
    let err = try_simple(&client, "SELECT id FROM grouped")
        .await
        .unwrap_err();
    let text = describe_error(&err);
    assert!(
        text.contains("no committed offset") && text.contains("'fresh'"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_records_fail_naming_where_they_are_or_are_skipped_and_counted() {
    let broker = Broker::start();
    broker.create_topic("mixed", 1);
    broker.produce(
        "mixed",
        &[
            (0, None, Some("{\"id\":1,\"amount\":1.0}"), None),
            (0, None, Some("not json"), None),
            (0, None, None, None),
            (0, None, Some("{\"id\":3,\"amount\":3.0}"), None),
        ],
    );
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let bounded =
        ", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'";
    exec(&client, &orders_ddl("strict", &broker, "mixed", bounded)).await;
    let err = try_simple(&client, "SELECT id FROM strict")
        .await
        .unwrap_err();
    let text = describe_error(&err);
    assert!(
        text.contains("topic 'mixed' partition 0 offset 1") && text.contains("not json"),
        "{text}"
    );
    // Skipped and counted; the record without a value (a tombstone) is no row either.
    let lenient = format!("{bounded}, 'json.ignore-parse-errors' = 'true'");
    exec(&client, &orders_ddl("lenient", &broker, "mixed", &lenient)).await;
    assert_same(
        rows(&client, "SELECT id FROM lenient").await,
        vec!["1".into(), "3".into()],
    );
    let out = eddy.scratch_dir().join("lenient_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE lenient_out (id BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    let job = submit(&client, "INSERT INTO lenient_out SELECT id FROM lenient").await;
    let done = wait_for_status(&client, &job, "FINISHED").await;
    assert_eq!(
        done.get("records_skipped").cloned().flatten().as_deref(),
        Some("1"),
        "{done:?}"
    );
}

#[tokio::test]
async fn mistakes_are_named_before_anything_runs() {
    let broker = Broker::start();
    broker.create_topic("t", 1);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let create = |extra: &str| orders_ddl("x", &broker, "t", extra);
    for (extra, state, words) in [
        (
            ", 'scan.startup.mode' = 'earliest'",
            "22023",
            vec!["scan.startup.mode", "earliest-offset"],
        ),
        (
            ", 'properties.no.such.property' = '1'",
            "22023",
            vec!["no.such.property"],
        ),
        (
            ", 'scan.startup.mod' = 'x'",
            "42704",
            vec!["scan.startup.mod"],
        ),
        (
            ", 'csv.field-delimiter' = ';'",
            "42704",
            vec!["csv.field-delimiter"],
        ),
    ] {
        let err = try_simple(&client, &create(extra)).await.unwrap_err();
        let text = describe_error(&err);
        assert_eq!(sqlstate(&err).as_deref(), Some(state), "{text}");
        for w in words {
            assert!(text.contains(w), "{text}");
        }
    }
    // A topic that does not exist is named.
    exec(
        &client,
        &orders_ddl(
            "missing",
            &broker,
            "no_such_topic",
            ", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'",
        ),
    )
    .await;
    let err = try_simple(&client, "SELECT * FROM missing")
        .await
        .unwrap_err();
    let text = describe_error(&err);
    assert!(text.contains("'no_such_topic' does not exist"), "{text}");
    // No broker at the address: the query fails within the API timeout, naming it.
    let (dead_port, _) = common::free_ports();
    exec(
        &client,
        &format!(
            "CREATE TABLE unreachable (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', \
             'properties.bootstrap.servers' = '127.0.0.1:{dead_port}', 'format' = 'json', \
             'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', \
             'properties.default.api.timeout.ms' = '2000')"
        ),
    )
    .await;
    let started = Instant::now();
    let err = try_simple(&client, "SELECT * FROM unreachable")
        .await
        .unwrap_err();
    let text = describe_error(&err);
    assert!(text.contains(&format!("127.0.0.1:{dead_port}")), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn offsets_are_committed_on_checkpoints_and_a_savepoint_resumes_after_them() {
    let broker = Broker::start();
    broker.create_topic("clicks", 2);
    produce_orders(&broker, "clicks", 0..20, 2);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &orders_ddl(
            "clicks",
            &broker,
            "clicks",
            ", 'properties.group.id' = 'g1', 'scan.startup.mode' = 'earliest-offset'",
        ),
    )
    .await;
    let out = eddy.scratch_dir().join("clicks_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE clicks_out (id BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    let job = submit(&client, "INSERT INTO clicks_out SELECT id FROM clicks").await;
    wait_until(|| read_part_files(&out).len() == 20, "the first 20 rows").await;
    // Each partition holds 10 records; a completed checkpoint commits offset 10 for both.
    wait_until(
        || broker.committed("g1", "clicks", 2) == vec![Some(10), Some(10)],
        "offsets committed to group g1",
    )
    .await;
    let stopped = values(&client, &format!("STOP JOB '{job}' WITH SAVEPOINT")).await;
    let savepoint = stopped[0][0].clone().expect("savepoint path");
    produce_orders(&broker, "clicks", 20..30, 2);
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
    )
    .await;
    let resumed = submit(&client, "INSERT INTO clicks_out SELECT id FROM clicks").await;
    wait_until(|| read_part_files(&out).len() >= 30, "the next 10 rows").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same(
        read_part_files(&out),
        (0..30).map(|i| i.to_string()).collect(),
    );
    let job = describe_job(&client, &resumed).await;
    assert_eq!(
        job.get("status").cloned().flatten().as_deref(),
        Some("RUNNING"),
        "{job:?}"
    );
}

/// Polls `done` every 100 ms for up to a minute.
async fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_window_query_reads_kafka_and_writes_kafka_with_per_partition_watermarks() {
    let broker = Broker::start();
    broker.create_topic("bids", 2);
    broker.create_topic("counts", 1);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &orders_ddl(
            "bids",
            &broker,
            "bids",
            ", 'scan.startup.mode' = 'earliest-offset'",
        ),
    )
    .await;
    exec(
        &client,
        &format!(
            "CREATE TABLE counts (window_start TIMESTAMP(3), n BIGINT, total DOUBLE) WITH \
             ('connector' = 'kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = \
             '{}', 'format' = 'json')",
            broker.address()
        ),
    )
    .await;
    exec(&client, "SET 'pipeline.auto-watermark-interval' = '50 ms'").await;
    let job = submit(
        &client,
        "INSERT INTO counts SELECT window_start, count(*), sum(amount) FROM TABLE(\
         TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
    )
    .await;
    wait_for_status(&client, &job, "RUNNING").await;
    // Partition 0 runs ahead to 00:00:35; partition 1 stays at 00:00:12, which holds the
    // watermark (the smaller of the two, less a second) at 00:00:11: only [00:00, 00:10)
    // is complete.
    let record = |p: i32, id: i64, second: i64| {
        (
            p,
            format!("{{\"id\":{id},\"amount\":1.0,\"ts\":\"2024-01-01 00:00:{second:02}\"}}"),
        )
    };
    let first = [
        record(0, 1, 1),
        record(1, 2, 2),
        record(0, 3, 15),
        record(0, 4, 35),
        record(1, 5, 5),
        record(1, 7, 12),
    ];
    let produce = |records: &[(i32, String)]| {
        let r: Vec<_> = records
            .iter()
            .map(|(p, v)| (*p, None, Some(v.as_str()), None))
            .collect();
        broker.produce("bids", &r);
    };
    produce(&first);
    let window = |start: i64, n: i64| {
        format!("{{\"window_start\":\"2024-01-01 00:00:{start:02}\",\"n\":{n},\"total\":{n}.0}}")
    };
    let read = || {
        broker
            .read_all("counts")
            .into_iter()
            .filter_map(|r| r.value)
            .collect::<Vec<_>>()
    };
    wait_until(|| !read().is_empty(), "the first window").await;
    assert_same(read(), vec![window(0, 3)]);
    // Partition 1 catches up to 00:00:31: [00:10, 00:20) fires, [00:30, 00:40) stays open.
    produce(&[record(1, 6, 31)]);
    wait_until(|| read().len() >= 2, "the second window").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same(read(), vec![window(0, 3), window(10, 2)]);
}

#[tokio::test]
async fn an_idle_partition_stops_holding_the_watermark_back() {
    let broker = Broker::start();
    broker.create_topic("quiet", 2);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &orders_ddl(
            "quiet",
            &broker,
            "quiet",
            ", 'scan.startup.mode' = 'earliest-offset'",
        ),
    )
    .await;
    let out = eddy.scratch_dir().join("quiet_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE quiet_out (window_start TIMESTAMP(3), n BIGINT) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    exec(&client, "SET 'pipeline.auto-watermark-interval' = '50 ms'").await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    exec(&client, "SET 'table.exec.source.idle-timeout' = '3 s'").await;
    let job = submit(
        &client,
        "INSERT INTO quiet_out SELECT window_start, count(*) FROM TABLE(\
         TUMBLE(TABLE quiet, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
    )
    .await;
    wait_for_status(&client, &job, "RUNNING").await;
    // Only partition 0 gets records; partition 1 never does, and goes idle after 3 s.
    let records: Vec<String> = [1, 2, 25]
        .iter()
        .map(|s| format!("{{\"id\":{s},\"amount\":1.0,\"ts\":\"2024-01-01 00:00:{s:02}\"}}"))
        .collect();
    let r: Vec<_> = records
        .iter()
        .map(|v| (0, None, Some(v.as_str()), None))
        .collect();
    broker.produce("quiet", &r);
    // Until then the partition without data holds the watermark back, as in Flink: no
    // window has fired half way (a lower bound: nothing can fire early on a slow machine).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        read_part_files(&out).is_empty(),
        "a window fired before partition 1 went idle"
    );
    wait_until(|| !read_part_files(&out).is_empty(), "the first window").await;
    assert_same(
        read_part_files(&out),
        vec!["2024-01-01 00:00:00,2".to_string()],
    );
}

#[tokio::test]
async fn an_exactly_once_sink_commits_every_record_once_across_killed_task_managers() {
    exactly_once_across_a_kill().await;
}

/// What a restarted sink does with the transactions of the checkpoint it restores, whose
/// producer died: commits them by producer id and epoch. Here the producer is the test's,
/// and it dies (is dropped) with its transaction open.
#[tokio::test]
async fn a_transaction_left_open_by_a_dead_producer_is_committed_by_its_id_and_epoch() {
    use rdkafka::config::RDKafkaLogLevel;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use std::sync::{Arc, Mutex};

    struct Pid(Arc<Mutex<Option<(i64, i16)>>>);
    impl rdkafka::ClientContext for Pid {
        fn log(&self, _: RDKafkaLogLevel, _: &str, message: &str) {
            if let Some(pid) = eddy_connectors::kafka::acquired_pid(message) {
                *self.0.lock().unwrap() = Some(pid);
            }
        }
    }
    impl rdkafka::producer::ProducerContext for Pid {
        type DeliveryOpaque = ();
        fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
    }

    let broker = Broker::start();
    broker.create_topic("resumed", 1);
    let pid = Arc::new(Mutex::new(None));
    let producer: BaseProducer<Pid> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("transactional.id", "resume-me")
        .set("debug", "eos")
        .set_log_level(RDKafkaLogLevel::Debug)
        .create_with_context(Pid(pid.clone()))
        .unwrap();
    let t = Duration::from_secs(10);
    producer.init_transactions(t).unwrap();
    producer.begin_transaction().unwrap();
    for v in ["a", "b", "c"] {
        producer
            .send(
                BaseRecord::<str, str>::to("resumed")
                    .partition(0)
                    .payload(v),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(t).unwrap();
    drop(producer);
    let (id, epoch) = pid
        .lock()
        .unwrap()
        .expect("librdkafka logged its producer id");
    let before = broker.committed_log("resumed", 0);
    assert_eq!((before.committed.len(), before.open), (0, 3));
    for _ in 0..2 {
        // A second commit (of a transaction committed already) succeeds too.
        eddy_connectors::kafka::commit_prepared(&broker.address(), "resume-me", id, epoch, t)
            .unwrap();
    }
    let after = broker.committed_log("resumed", 0);
    assert_eq!(after.committed, vec!["a", "b", "c"]);
    assert_eq!(after.open, 0);
}

async fn exactly_once_across_a_kill() {
    use common::cluster::Cluster;
    let broker = Broker::start();
    broker.create_topic("eo_in", 2);
    broker.create_topic("eo_out", 2);
    let n = 600;
    produce_orders(&broker, "eo_in", 0..n, 2);
    let mut cluster = Cluster::start(2, 1, &[]);
    let client = cluster.connect().await;
    exec(
        &client,
        &orders_ddl(
            "eo_in",
            &broker,
            "eo_in",
            ", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'",
        ),
    )
    .await;
    exec(
        &client,
        &format!(
            "CREATE TABLE eo_out (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'eo_out', \
             'properties.bootstrap.servers' = '{}', 'format' = 'json', \
             'sink.partitioner' = 'fixed', 'sink.delivery-guarantee' = 'exactly-once', \
             'sink.transactional-id-prefix' = 'eo-test')",
            broker.address()
        ),
    )
    .await;
    // 150 rows a second per subtask, 10 at a time: about two seconds per attempt.
    exec(&client, "SET 'debug.source.rows-per-second' = '150'").await;
    exec(&client, "SET 'execution.batch-size' = '10'").await;
    for set in [
        "SET 'execution.checkpointing.interval' = '300 ms'",
        "SET 'parallelism.default' = '2'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.attempts' = '20'",
        "SET 'restart-strategy.fixed-delay.delay' = '200 ms'",
    ] {
        exec(&client, set).await;
    }
    let job = submit(&client, "INSERT INTO eo_out SELECT id FROM eo_in").await;
    wait_for_status(&client, &job, "RUNNING").await;
    // Kill a TaskManager once records have been committed, while transactions are open.
    wait_until(
        || (0..2).any(|p| !broker.committed_log("eo_out", p).committed.is_empty()),
        "a first committed transaction",
    )
    .await;
    cluster.kill_task_manager(0);
    cluster.add_task_manager(1);
    let done = wait_for_status(&client, &job, "FINISHED").await;
    let restarts: i64 = done["restarts"]
        .clone()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    assert!(restarts >= 1, "{done:?}");
    let mut committed = Vec::new();
    let mut aborts = 0;
    for p in 0..2 {
        let log = broker.committed_log("eo_out", p);
        assert_eq!(
            log.open, 0,
            "partition {p}: records of a transaction still open"
        );
        aborts += log.aborts;
        committed.extend(log.committed);
    }
    // What the killed attempt wrote after its last checkpoint was aborted; what its last
    // checkpoint held was committed, by it or by the restarted job.
    eprintln!("{aborts} transactions aborted");
    assert_same(
        committed,
        (0..n).map(|i| format!("{{\"id\":{i}}}")).collect(),
    );
    // Nothing is left open: a read_committed reader sees to the end of each partition.
    for (p, (high, stable)) in broker.offsets("eo_out", 2).into_iter().enumerate() {
        assert_eq!(high, stable, "partition {p}");
    }
}

#[tokio::test]
async fn keys_and_values_round_trip_with_flinks_key_options_and_partitioners() {
    let broker = Broker::start();
    broker.create_topic("by_key", 3);
    broker.create_topic("fixed", 2);
    broker.create_topic("spread", 3);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    // One record per produce request: tansu's high watermark after a batch of records
    // falls short (see common/kafka.rs), and the tables are read back to their end.
    let table = |name: &str, topic: &str, extra: &str| {
        format!(
            "CREATE TABLE {name} (k_user STRING, amount BIGINT) WITH ('connector' = 'kafka', \
             'topic' = '{topic}', 'properties.bootstrap.servers' = '{}', \
             'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', \
             'key.format' = 'raw', 'key.fields' = 'k_user', 'key.fields-prefix' = 'k_', \
             'value.format' = 'csv', 'value.fields-include' = 'EXCEPT_KEY', \
             'properties.batch.num.messages' = '1'{extra})",
            broker.address()
        )
    };
    exec(&client, &table("by_key", "by_key", "")).await;
    exec(
        &client,
        &table("fixed", "fixed", ", 'sink.partitioner' = 'fixed'"),
    )
    .await;
    exec(
        &client,
        &table("spread", "spread", ", 'sink.partitioner' = 'round-robin'"),
    )
    .await;
    let input = "VALUES ('ann', 1), ('bob', 2), ('ann', 3), ('cid', 4), ('bob', 5), ('dan', 6)";
    for t in ["by_key", "fixed", "spread"] {
        let job = submit(
            &client,
            &format!("INSERT INTO {t} SELECT * FROM ({input}) AS v(k_user, amount)"),
        )
        .await;
        wait_for_status(&client, &job, "FINISHED").await;
    }
    let expected: Vec<String> = ["ann,1", "bob,2", "ann,3", "cid,4", "bob,5", "dan,6"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // The key is the raw user name; the value the CSV of the other column.
    let records = broker.read_all("by_key");
    assert_same(
        records
            .iter()
            .map(|r| {
                format!(
                    "{},{}",
                    r.key.clone().unwrap_or_default(),
                    r.value.clone().unwrap_or_default()
                )
            })
            .collect(),
        expected.clone(),
    );
    // `default` hashes the key: one user's records share a partition.
    for user in ["ann", "bob"] {
        let partitions: std::collections::BTreeSet<i32> = records
            .iter()
            .filter(|r| r.key.as_deref() == Some(user))
            .map(|r| r.partition)
            .collect();
        assert_eq!(partitions.len(), 1, "{user}: {records:?}");
    }
    // `fixed`: the one sink subtask writes partition 0 only.
    assert!(broker.read_all("fixed").iter().all(|r| r.partition == 0));
    // `round-robin`: every partition gets two of the six.
    let spread = broker.read_all("spread");
    for p in 0..3 {
        assert_eq!(
            spread.iter().filter(|r| r.partition == p).count(),
            2,
            "{spread:?}"
        );
    }
    // Reading back assembles the key and value columns.
    for t in ["by_key", "fixed", "spread"] {
        assert_same(
            rows(&client, &format!("SELECT k_user, amount FROM {t}")).await,
            expected.clone(),
        );
    }
}

#[tokio::test]
async fn a_topic_pattern_picks_up_topics_created_later() {
    let broker = Broker::start();
    broker.create_topic("logs_a", 1);
    produce_orders(&broker, "logs_a", 0..3, 1);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE logs (id BIGINT, amount DOUBLE, ts TIMESTAMP(3)) WITH ('connector' = \
             'kafka', 'topic-pattern' = 'logs_.*', 'properties.bootstrap.servers' = '{}', \
             'format' = 'json', 'scan.startup.mode' = 'earliest-offset', \
             'scan.topic-partition-discovery.interval' = '200 ms')",
            broker.address()
        ),
    )
    .await;
    let out = eddy.scratch_dir().join("logs_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE logs_out (id BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    submit(&client, "INSERT INTO logs_out SELECT id FROM logs").await;
    wait_until(
        || read_part_files(&out).len() == 3,
        "the first topic's rows",
    )
    .await;
    // A new topic matching the pattern is found and read from its start.
    broker.create_topic("logs_b", 2);
    produce_orders(&broker, "logs_b", 3..9, 2);
    broker.create_topic("other", 1);
    produce_orders(&broker, "other", 100..101, 1);
    wait_until(|| read_part_files(&out).len() >= 9, "the new topic's rows").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same(
        read_part_files(&out),
        (0..9).map(|i| i.to_string()).collect(),
    );
}

#[tokio::test]
async fn a_savepoint_restores_at_another_parallelism_without_losing_or_repeating_records() {
    let broker = Broker::start();
    broker.create_topic("rescale", 4);
    produce_orders(&broker, "rescale", 0..40, 4);
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.numberOfTaskSlots=4"]);
    let client = eddy.connect().await;
    exec(
        &client,
        &orders_ddl(
            "rescale",
            &broker,
            "rescale",
            ", 'scan.startup.mode' = 'earliest-offset'",
        ),
    )
    .await;
    let out = eddy.scratch_dir().join("rescale_out");
    exec(
        &client,
        &format!(
            "CREATE TABLE rescale_out (id BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    exec(&client, "SET 'parallelism.default' = '3'").await;
    let job = submit(&client, "INSERT INTO rescale_out SELECT id FROM rescale").await;
    wait_until(|| read_part_files(&out).len() == 40, "the first 40 rows").await;
    let stopped = values(&client, &format!("STOP JOB '{job}' WITH SAVEPOINT")).await;
    let savepoint = stopped[0][0].clone().expect("savepoint path");
    produce_orders(&broker, "rescale", 40..80, 4);
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
    )
    .await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    submit(&client, "INSERT INTO rescale_out SELECT id FROM rescale").await;
    wait_until(|| read_part_files(&out).len() >= 80, "the next 40 rows").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_same(
        read_part_files(&out),
        (0..80).map(|i| i.to_string()).collect(),
    );
}

#[tokio::test]
async fn a_sink_fails_naming_a_missing_topic_or_an_unreachable_broker() {
    let broker = Broker::start();
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let (dead_port, _) = common::free_ports();
    for (name, servers, topic, expected) in [
        (
            "to_missing",
            broker.address(),
            "nope",
            "'nope' does not exist".to_string(),
        ),
        (
            "to_nowhere",
            format!("127.0.0.1:{dead_port}"),
            "t",
            format!("127.0.0.1:{dead_port}"),
        ),
    ] {
        exec(
            &client,
            &format!(
                "CREATE TABLE {name} (id BIGINT) WITH ('connector' = 'kafka', 'topic' = \
                 '{topic}', 'properties.bootstrap.servers' = '{servers}', 'format' = 'json', \
                 'properties.default.api.timeout.ms' = '2000')"
            ),
        )
        .await;
        let started = Instant::now();
        let job = submit(&client, &format!("INSERT INTO {name} VALUES (1), (2)")).await;
        let failed = wait_for_status(&client, &job, "FAILED").await;
        let error = failed.get("error").cloned().flatten().unwrap_or_default();
        assert!(error.contains(&expected), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }
}
