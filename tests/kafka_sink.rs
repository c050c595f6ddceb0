//! The `kafka` connector's sink end to end, against a real Kafka-protocol broker (tansu,
//! see `common/kafka.rs`) and the real `eddy` binary: keys, values and partitioners, errors,
//! and exactly-once delivery across a killed TaskManager, checked on the broker's raw log.

mod common;

use std::time::{Duration, Instant};

use common::kafka::{orders_ddl, produce_orders, Broker};
use common::{assert_same, exec, joined_rows, submit, wait_for_status, wait_until, Eddy};

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
            joined_rows(&client, &format!("SELECT k_user, amount FROM {t}")).await,
            expected.clone(),
        );
    }
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

/// Flink's schema for `(id BIGINT NOT NULL, name STRING, price DECIMAL(10, 2),
/// ts TIMESTAMP(3))`, as its `AvroSchemaConverter` derives it.
const ORDERS_AVRO: &str = r#"{"type":"record","name":"record","namespace":"org.apache.flink.avro.generated","fields":[
  {"name":"id","type":"long"},
  {"name":"name","type":["null","string"],"default":null},
  {"name":"price","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}],"default":null},
  {"name":"ts","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null}]}"#;

fn avro_order(id: i64, name: Option<&str>, cents: i64, ts: i64) -> apache_avro::types::Value {
    use apache_avro::types::Value;
    let some = |v: Value| Value::Union(1, Box::new(v));
    Value::Record(vec![
        ("id".into(), Value::Long(id)),
        (
            "name".into(),
            match name {
                Some(n) => some(Value::String(n.into())),
                None => Value::Union(0, Box::new(Value::Null)),
            },
        ),
        (
            "price".into(),
            some(Value::Decimal(apache_avro::Decimal::from(
                cents.to_be_bytes().to_vec(),
            ))),
        ),
        ("ts".into(), some(Value::TimestampMillis(ts))),
    ])
}

#[tokio::test]
async fn avro_records_read_and_write_as_the_avro_reference_encodes_them() {
    use rdkafka::producer::{BaseRecord, Producer};
    let schema = apache_avro::Schema::parse_str(ORDERS_AVRO).unwrap();
    let base = 1_704_067_200_000i64;
    let orders = [
        avro_order(1, Some("ann"), 1050, base),
        avro_order(2, None, -5, base + 1_500),
        avro_order(3, Some("zoë"), 99_999_999, base + 3_000),
    ];
    let broker = Broker::start();
    broker.create_topic("avro_in", 1);
    broker.create_topic("avro_out", 1);
    let producer = broker.producer();
    for order in &orders {
        let datum = apache_avro::to_avro_datum(&schema, order.clone()).unwrap();
        producer
            .send(BaseRecord::<[u8], [u8]>::to("avro_in").payload(&datum))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let eddy = Eddy::start();
    let client = eddy.connect().await;
    for (name, extra) in [
        (
            "avro_in",
            ", 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'",
        ),
        ("avro_out", ", 'properties.batch.num.messages' = '1'"),
    ] {
        exec(
            &client,
            &format!(
                "CREATE TABLE {name} (id BIGINT NOT NULL, name STRING, price DECIMAL(10, 2), \
                 ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = '{name}', \
                 'properties.bootstrap.servers' = '{}', 'format' = 'avro'{extra})",
                broker.address()
            ),
        )
        .await;
    }
    assert_same(
        joined_rows(&client, "SELECT * FROM avro_in").await,
        vec![
            "1,ann,10.50,2024-01-01 00:00:00".into(),
            "2,,-0.05,2024-01-01 00:00:01.5".into(),
            "3,zoë,999999.99,2024-01-01 00:00:03".into(),
        ],
    );
    let job = submit(
        &client,
        "INSERT INTO avro_out SELECT * FROM avro_in WHERE id > 1",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    let written: Vec<apache_avro::types::Value> = broker
        .read_all("avro_out")
        .into_iter()
        .map(|r| {
            let raw = r.raw.expect("a value");
            let mut datum = raw.as_slice();
            let value = apache_avro::from_avro_datum(&schema, &mut datum, None).unwrap();
            assert!(datum.is_empty(), "one datum per record");
            value
        })
        .collect();
    assert_eq!(written, orders[1..].to_vec());

    // Avro records are messages: a file cannot hold them this way.
    let err = common::try_simple(
        &client,
        "CREATE TABLE avro_file (id BIGINT) WITH ('connector' = 'filesystem', \
         'path' = '/tmp/x', 'format' = 'avro')",
    )
    .await
    .unwrap_err();
    assert_eq!(common::sqlstate(&err).as_deref(), Some("22023"), "{err:?}");
}

#[tokio::test]
async fn a_null_raw_value_or_key_is_written_as_none() {
    let broker = Broker::start();
    broker.create_topic("raw_nulls", 1);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE raw_nulls (k STRING, v STRING) WITH ('connector' = 'kafka', \
             'topic' = 'raw_nulls', 'properties.bootstrap.servers' = '{}', \
             'key.format' = 'raw', 'key.fields' = 'k', 'value.format' = 'raw', \
             'value.fields-include' = 'EXCEPT_KEY', 'properties.batch.num.messages' = '1')",
            broker.address()
        ),
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO raw_nulls VALUES ('a', 'x'), ('b', CAST(NULL AS STRING)), \
         (CAST(NULL AS STRING), 'y')",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    let mut records: Vec<_> = broker
        .read_all("raw_nulls")
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect();
    records.sort();
    assert_eq!(
        records,
        vec![
            (None, Some("y".to_string())),
            (Some("a".to_string()), Some("x".to_string())),
            (Some("b".to_string()), None),
        ]
    );
}
