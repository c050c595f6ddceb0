//! The `kafka` connector's source end to end, against a real Kafka-protocol broker (tansu,
//! started by the test, see `common/kafka.rs`) and the real `eddy` binary over pgwire:
//! startup and bounded modes, bad records, offsets in checkpoints and the group,
//! per-partition watermarks, partitions found later, restores at another parallelism.
//! Expected rows come from what the test produced; every comparison checks both ways.

mod common;

use std::time::{Duration, Instant};

use common::kafka::{orders_ddl, produce_orders, Broker};
use common::{
    assert_same, describe_error, describe_job, exec, joined_rows, read_part_files, sqlstate,
    submit, try_simple, values, wait_for_status, wait_until, Eddy,
};

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
        joined_rows(&client, "SELECT id, amount FROM orders").await,
        expected,
    );
    let n = joined_rows(&client, "SELECT count(*), count(DISTINCT id) FROM orders").await;
    assert_eq!(n, vec!["60,60".to_string()]);

    // A job over it at parallelism 2 finishes by itself and writes every record once.
    let out = csv_sink(&client, &eddy, "orders_out", "id BIGINT, amount DOUBLE").await;
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
            joined_rows(&client, &format!("SELECT id FROM {name}")).await,
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
        joined_rows(&client, "SELECT id FROM lenient").await,
        vec!["1".into(), "3".into()],
    );
    csv_sink(&client, &eddy, "lenient_out", "id BIGINT").await;
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
    let out = csv_sink(&client, &eddy, "clicks_out", "id BIGINT").await;
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
    let out = csv_sink(
        &client,
        &eddy,
        "quiet_out",
        "window_start TIMESTAMP(3), n BIGINT",
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
    let out = csv_sink(&client, &eddy, "logs_out", "id BIGINT").await;
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
    let out = csv_sink(&client, &eddy, "rescale_out", "id BIGINT").await;
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
async fn metadata_columns_read_what_kafka_knows_of_each_record() {
    let broker = Broker::start();
    broker.create_topic("meta", 2);
    // Record timestamps: 2024-01-01 00:00:0i UTC.
    let base = 1_704_067_200_000i64;
    let values: Vec<String> = (0..4)
        .map(|i| format!("{{\"id\":{i},\"amount\":1.0}}"))
        .collect();
    let records: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                (i % 2) as i32,
                None,
                Some(v.as_str()),
                Some(base + 1000 * i as i64),
            )
        })
        .collect();
    broker.produce("meta", &records);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE meta (id BIGINT, amount DOUBLE, \
             off BIGINT METADATA FROM 'offset' VIRTUAL, \
             `partition` INT METADATA VIRTUAL, \
             topic STRING METADATA VIRTUAL, \
             rec_ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', \
             ts_type STRING METADATA FROM 'timestamp-type' VIRTUAL, \
             hdrs MAP<STRING, BYTES> METADATA FROM 'headers', \
             epoch INT METADATA FROM 'leader-epoch' VIRTUAL) WITH ( \
             'connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = '{}', \
             'format' = 'json', 'scan.startup.mode' = 'earliest-offset', \
             'scan.bounded.mode' = 'latest-offset')",
            broker.address()
        ),
    )
    .await;
    assert_same(
        joined_rows(
            &client,
            "SELECT id, off, \"partition\", topic, rec_ts, ts_type, \
             CAST(hdrs['source'] AS STRING), epoch FROM meta",
        )
        .await,
        vec![
            "0,0,0,meta,2024-01-01 00:00:00+00,CreateTime,test,0".into(),
            "1,0,1,meta,2024-01-01 00:00:01+00,CreateTime,test,0".into(),
            "2,1,0,meta,2024-01-01 00:00:02+00,CreateTime,test,0".into(),
            "3,1,1,meta,2024-01-01 00:00:03+00,CreateTime,test,0".into(),
        ],
    );
    // SHOW CREATE TABLE keeps the declarations.
    let ddl = values_of(&client, "SHOW CREATE TABLE meta").await;
    assert!(ddl.contains("METADATA FROM 'offset' VIRTUAL"), "{ddl}");
    assert!(ddl.contains("METADATA FROM 'timestamp'"), "{ddl}");

    // An INSERT writes the timestamp column as the records' timestamps; the VIRTUAL
    // columns are not written (the query fills the others).
    broker.create_topic("stamped", 1);
    exec(
        &client,
        &format!(
            "CREATE TABLE stamped (id BIGINT, t TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', \
             off BIGINT METADATA FROM 'offset' VIRTUAL, \
             h MAP<STRING, BYTES> METADATA FROM 'headers') WITH ('connector' = 'kafka', \
             'topic' = 'stamped', 'properties.bootstrap.servers' = '{}', 'format' = 'json')",
            broker.address()
        ),
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO stamped SELECT id, rec_ts, hdrs FROM meta WHERE id < 2",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    let mut written: Vec<_> = broker
        .read_all("stamped")
        .into_iter()
        .map(|r| (r.value, r.timestamp, r.headers))
        .collect();
    written.sort();
    let headers = vec![("source".to_string(), Some("test".to_string()))];
    assert_eq!(
        written,
        vec![
            (Some("{\"id\":0}".into()), Some(base), headers.clone()),
            (Some("{\"id\":1}".into()), Some(base + 1000), headers),
        ]
    );

    // Mistakes, named.
    for (ddl, state, words) in [
        (
            "CREATE TABLE bad1 (id BIGINT, x INT METADATA FROM 'leader' VIRTUAL) WITH \
             ('connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = 'h:1', \
             'format' = 'json')"
                .to_string(),
            "42704",
            vec!["'leader'", "offset"],
        ),
        (
            "CREATE TABLE bad2 (id BIGINT, o BIGINT METADATA FROM 'offset') WITH \
             ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv')"
                .to_string(),
            "42704",
            vec!["'offset'", "filesystem"],
        ),
        (
            "CREATE TABLE bad3 (id BIGINT, o ARRAY<INT> METADATA FROM 'offset' VIRTUAL) WITH \
             ('connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = 'h:1', \
             'format' = 'json')"
                .to_string(),
            "42704",
            vec!["ARRAY<INT>", "BIGINT"],
        ),
    ] {
        let err = try_simple(&client, &ddl).await.unwrap_err();
        let text = describe_error(&err);
        assert_eq!(sqlstate(&err).as_deref(), Some(state), "{text}");
        for w in words {
            assert!(text.contains(w), "{text}");
        }
    }
    // A metadata column only read must be VIRTUAL in a table an INSERT writes.
    exec(
        &client,
        &format!(
            "CREATE TABLE readonly (id BIGINT, o BIGINT METADATA FROM 'offset') WITH \
             ('connector' = 'kafka', 'topic' = 'stamped', 'properties.bootstrap.servers' = \
             '{}', 'format' = 'json')",
            broker.address()
        ),
    )
    .await;
    let err = try_simple(&client, "INSERT INTO readonly VALUES (1, 2)")
        .await
        .unwrap_err();
    assert!(
        describe_error(&err).contains("declare it VIRTUAL"),
        "{}",
        describe_error(&err)
    );
}

/// Every value of a result, joined by newlines.
async fn values_of(client: &tokio_postgres::Client, sql: &str) -> String {
    values(client, sql)
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
}

/// A filesystem CSV table `name (columns)` in the test's scratch directory, and its path.
async fn csv_sink(
    client: &tokio_postgres::Client,
    eddy: &Eddy,
    name: &str,
    columns: &str,
) -> std::path::PathBuf {
    let out = eddy.scratch_dir().join(name);
    exec(
        client,
        &format!(
            "CREATE TABLE {name} ({columns}) WITH ('connector' = 'filesystem', 'path' = '{}', \
             'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    out
}
