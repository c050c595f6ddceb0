//! A real standalone cluster: `eddy jobmanager` and TaskManager processes on loopback,
//! checked over pgwire and REST. Jobs at parallelism 4 spread over two TaskManagers, so
//! their hash exchanges cross the network.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::{
    describe_job, exec, read_part_files, scalar, simple, sqlstate, submit, wait_for_status, Eddy,
};
use tokio_postgres::Client;

const NEXMARK: &str = "CREATE TABLE nexmark (
  event_type INT,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
  dateTime AS bid.dateTime,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'events.num' = '50000', 'tps' = '0')";

/// Window queries whose every row must come out the same embedded and on the cluster.
const QUERIES: [(&str, &str); 3] = [
    (
        "tumble",
        "SELECT auction, window_start, count(*), max(price) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND)) GROUP BY auction, window_start, window_end",
    ),
    (
        "hop",
        "SELECT auction, window_start, count(*), max(price) FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) GROUP BY auction, window_start, window_end",
    ),
    (
        "cumulate",
        "SELECT bidder, window_start, count(*), sum(price) FROM TABLE(CUMULATE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '4' SECOND)) GROUP BY bidder, window_start, window_end",
    ),
];

async fn run_window_queries(
    client: &Client,
    dir: &std::path::Path,
) -> HashMap<String, Vec<String>> {
    exec(client, "SET 'parallelism.default' = '4'").await;
    exec(client, "SET 'table.dml-sync' = 'true'").await;
    exec(client, NEXMARK).await;
    exec(
        client,
        "CREATE VIEW bid AS SELECT bid.auction, bid.bidder, bid.price, dateTime FROM nexmark WHERE event_type = 2",
    )
    .await;
    let mut out = HashMap::new();
    for (name, query) in QUERIES {
        let path = dir.join(name);
        exec(
            client,
            &format!(
                "CREATE TABLE {name}_out (k BIGINT, window_start TIMESTAMP(3), c BIGINT, m BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                path.display()
            ),
        )
        .await;
        exec(client, &format!("INSERT INTO {name}_out {query}")).await;
        let mut rows = read_part_files(&path);
        rows.sort();
        out.insert(name.to_string(), rows);
    }
    out
}

/// Runs a bounded job at `parallelism` to FINISHED: the cluster still schedules and runs
/// jobs. Its tables are named after `tag`.
async fn a_job_finishes(client: &Client, parallelism: u32, tag: &str) {
    exec(
        client,
        &format!("SET 'parallelism.default' = '{parallelism}'"),
    )
    .await;
    exec(
        client,
        &format!("CREATE TABLE few_{tag} (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000')"),
    )
    .await;
    exec(
        client,
        &format!("CREATE TABLE out_{tag} (id BIGINT) WITH ('connector' = 'blackhole')"),
    )
    .await;
    let job = submit(
        client,
        &format!("INSERT INTO out_{tag} SELECT id FROM few_{tag}"),
    )
    .await;
    wait_for_status(client, &job, "FINISHED").await;
}

#[tokio::test]
async fn window_jobs_over_two_task_managers_give_the_embedded_results() {
    let cluster = Cluster::start(2, 2, &[]);
    let overview = cluster.rest("/overview");
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 4, "{overview}");
    let tms = cluster.rest("/taskmanagers");
    let list = tms["taskmanagers"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{tms}");
    for tm in list {
        assert_eq!(tm["slotsNumber"], 2, "{tm}");
        assert!(tm["dataPort"].as_u64().unwrap() > 0, "{tm}");
        assert!(
            tm["timeSinceLastHeartbeat"].as_u64().unwrap() < 3000,
            "{tm}"
        );
        let id = tm["id"].as_str().unwrap();
        let one = cluster.rest(&format!("/taskmanagers/{id}"));
        assert_eq!(one["id"], id, "{one}");
    }

    let dir = tempfile::tempdir().unwrap();
    let on_cluster = run_window_queries(&cluster.connect().await, &dir.path().join("c")).await;
    let embedded = Eddy::start();
    let alone = run_window_queries(&embedded.connect().await, &dir.path().join("e")).await;
    for (name, _) in QUERIES {
        let (c, e) = (&on_cluster[name], &alone[name]);
        assert!(!e.is_empty(), "{name}: no rows");
        let missing: Vec<_> = e.iter().filter(|r| !c.contains(r)).take(5).collect();
        let extra: Vec<_> = c.iter().filter(|r| !e.contains(r)).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty() && c.len() == e.len(),
            "{name}: {} rows on the cluster, {} embedded; missing {missing:?}, extra {extra:?}",
            c.len(),
            e.len()
        );
    }
    // Both TaskManagers ran subtasks: rows crossed between them.
    let jobs = cluster.rest("/jobs/overview");
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["state"] == "FINISHED"), "{jobs:?}");
}

#[tokio::test]
async fn a_streaming_select_gets_its_rows_from_the_task_managers() {
    let cluster = Cluster::start(2, 2, &[]);
    let client = cluster.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE gen (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '20000', 'fields.id.min' = '1', 'fields.id.max' = '9', 'fields.s.length' = '3')",
    )
    .await;
    let rows = simple(&client, "SELECT id, s FROM gen WHERE id > 0 LIMIT 2000").await;
    assert_eq!(rows.len(), 2000);
    for r in &rows {
        let id: i64 = r[0].1.as_deref().unwrap().parse().unwrap();
        assert!((1..=9).contains(&id), "{r:?}");
        assert_eq!(r[1].1.as_deref().unwrap().len(), 3, "{r:?}");
    }
    // The job ends once the client has its rows.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = cluster.rest("/jobs/overview");
        if jobs["jobs"][0]["state"] == "CANCELED" {
            break;
        }
        assert!(Instant::now() < deadline, "{jobs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.rest("/overview")["slots-available"], 4);
}

#[tokio::test]
async fn a_job_short_of_slots_fails_naming_them_or_gets_them_from_a_new_task_manager() {
    let mut cluster = Cluster::start(2, 2, &["-D", "slot.request.timeout=2s"]);
    let client = cluster.connect().await;
    exec(
        &client,
        "CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(&client, "SET 'parallelism.default' = '6'").await;
    exec(&client, "SET 'table.dml-sync' = 'true'").await;
    let e = client
        .simple_query("INSERT INTO bh SELECT id FROM gen")
        .await
        .unwrap_err();
    let msg = common::describe_error(&e);
    assert_eq!(sqlstate(&e).as_deref(), Some("53000"), "{msg}");
    assert!(
        msg.contains("needs 6 slots") && msg.contains("4 are available"),
        "{msg}"
    );

    // A job that waits gets the slots of a TaskManager that registers meanwhile.
    exec(&client, "SET 'slot.request.timeout' = '60s'").await;
    exec(&client, "SET 'table.dml-sync' = 'false'").await;
    let job = submit(&client, "INSERT INTO bh SELECT id FROM gen").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        describe_job(&client, &job).await["status"].as_deref(),
        Some("CREATED")
    );
    cluster.add_task_manager(2);
    wait_for_status(&client, &job, "FINISHED").await;
}

#[tokio::test]
async fn killing_a_task_manager_fails_its_jobs_promptly_and_the_cluster_goes_on() {
    let mut cluster = Cluster::start(2, 2, &[]);
    let client = cluster.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE gen (id BIGINT, v BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'rows-per-second' = '5000', 'fields.id.min' = '0', 'fields.id.max' = '20')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT, c BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO bh SELECT id, count(*) FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY id, window_start, window_end",
    )
    .await;
    wait_for_status(&client, &job, "RUNNING").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim = "tm-1";
    assert!(cluster.rest("/taskmanagers").to_string().contains(victim));
    let killed = Instant::now();
    cluster.kill_task_manager(1);
    let details = wait_for_status(&client, &job, "FAILED").await;
    let error = details["error"].clone().unwrap_or_default();
    eprintln!("failed {:?} after the kill: {error}", killed.elapsed());
    assert!(
        error.contains("TaskManager")
            && (error.contains("lost") || error.contains("data connection")),
        "{error}"
    );
    // The JobManager drops the lost TaskManager and its slots.
    cluster.wait_for_task_managers(1);
    assert!(
        !cluster.rest("/taskmanagers").to_string().contains(victim),
        "{victim} is still listed"
    );
    assert_eq!(cluster.rest("/overview")["slots-available"], 2);
    // The rest of the cluster runs jobs.
    a_job_finishes(&client, 2, "after").await;
    // Dropped at the first RPC it could not answer, or at the heartbeat timeout.
    let log = cluster.log("jobmanager");
    assert!(
        log.contains("TaskManager tm-1")
            && (log.contains("is lost") || log.contains("cannot be reached")),
        "{}",
        cluster.logs()
    );
}

#[tokio::test]
async fn a_task_manager_stopped_with_sigterm_exits_and_fails_its_jobs() {
    let mut cluster = Cluster::start(2, 2, &[]);
    let client = cluster.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = submit(&client, "INSERT INTO bh SELECT id FROM gen").await;
    wait_for_status(&client, &job, "RUNNING").await;
    assert!(
        cluster.stop_task_manager(0),
        "the TaskManager did not exit cleanly"
    );
    let details = wait_for_status(&client, &job, "FAILED").await;
    let error = details["error"].clone().unwrap_or_default();
    assert!(error.contains("TaskManager"), "{error}");
    cluster.wait_for_task_managers(1);
}

#[tokio::test]
async fn a_panicking_operator_fails_its_job_and_leaves_the_cluster_usable() {
    let mut cluster = Cluster::start(2, 2, &["-D", "debug.testing-functions=true"]);
    let client = cluster.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE gen (name STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '1000')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (name STRING) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO bh SELECT eddy_test_panic('boom on a TaskManager') FROM gen",
    )
    .await;
    let details = wait_for_status(&client, &job, "FAILED").await;
    let error = details["error"].clone().unwrap_or_default();
    assert!(error.contains("boom on a TaskManager"), "{error}");
    assert!(cluster.all_running(), "{}", cluster.logs());
    let ok = submit(&client, "INSERT INTO bh SELECT name FROM gen").await;
    wait_for_status(&client, &ok, "FINISHED").await;
    assert_eq!(cluster.rest("/overview")["slots-available"], 4);
}

#[tokio::test]
async fn a_user_error_in_a_task_keeps_its_sqlstate_across_processes() {
    let cluster = Cluster::start(2, 2, &[]);
    let client = cluster.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "1,a\n2,b\nthree,c\n").unwrap();
    exec(
        &client,
        &format!(
            "CREATE TABLE src (id BIGINT, s STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            csv.display()
        ),
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT, s STRING) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(&client, "SET 'table.dml-sync' = 'true'").await;
    let e = client
        .simple_query("INSERT INTO bh SELECT * FROM src")
        .await
        .unwrap_err();
    // A malformed record, as in the embedded run: 22P04, naming the file and line.
    assert_eq!(sqlstate(&e).as_deref(), Some("22P04"), "{e:?}");
    assert!(common::describe_error(&e).contains("bad.csv"), "{e:?}");
}

/// A client that stops reading a streaming SELECT holds back the job on both
/// TaskManagers: they stop producing instead of buffering.
#[tokio::test]
async fn a_slow_client_back_pressures_the_task_managers() {
    use futures::StreamExt;
    let cluster = Cluster::start(2, 2, &[]);
    let client = cluster.connect().await;
    let admin = cluster.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE fast (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '2000000', 'fields.s.length' = '100')",
    )
    .await;
    let rows = client
        .query_raw("SELECT id, s FROM fast", std::iter::empty::<i32>())
        .await
        .unwrap();
    futures::pin_mut!(rows);
    for _ in 0..10 {
        rows.next().await.unwrap().unwrap();
    }
    let job = scalar(&admin, "SELECT 1").await; // the admin session works meanwhile
    assert_eq!(job.as_deref(), Some("1"));
    let job_id = cluster.rest("/jobs/overview")["jobs"][0]["jid"]
        .as_str()
        .unwrap()
        .to_string();
    let produced = || -> u64 {
        cluster.rest(&format!("/jobs/{job_id}"))["metrics"]["numRecordsOut"]
            .as_u64()
            .unwrap_or(0)
    };
    let mut last = produced();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = produced();
        if now == last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the job kept producing: {now} rows"
        );
        last = now;
    }
    eprintln!("produced {last} rows for a client that read 10");
    assert!(last > 10, "no rows counted: the metrics did not come back");
    assert_eq!(
        cluster.rest("/jobs/overview")["jobs"][0]["state"],
        "RUNNING",
        "the job should be held back, not ended"
    );
    assert!(
        last < 1_000_000,
        "{last} rows produced for a client that read 10"
    );
    for i in 0..2 {
        let rss_kb = common::proc_status_kb(cluster.task_manager_pid(i), "VmRSS:");
        assert!(rss_kb < 1_000_000, "TaskManager {i}: RSS {rss_kb} kB");
    }
}

#[tokio::test]
async fn stray_clients_on_the_rpc_and_data_ports_are_refused_and_change_nothing() {
    use std::io::{Read, Write};
    let mut cluster = Cluster::start(2, 2, &[]);
    let data_port = cluster.rest("/taskmanagers")["taskmanagers"][0]["dataPort"]
        .as_u64()
        .unwrap() as u16;
    let garbage: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0xff; 64],
        &[
            0, 0, 0, 13, 0, b'E', b'D', b'D', b'Y', b'D', b'A', b'T', b'A', 0, 0, 0, 99,
        ],
        b"",
    ];
    for port in [data_port, cluster.rpc_port] {
        for bytes in garbage {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            let _ = s.write_all(bytes);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            // The peer closes the connection (or answers an error and closes it).
            let _ = s.read_to_end(&mut sink);
        }
    }
    assert!(cluster.all_running(), "{}", cluster.logs());
    assert!(
        (0..2).any(|i| cluster.log(&format!("taskmanager-{i}")).contains("refused")),
        "{}",
        cluster.logs()
    );
    // Jobs still run across both TaskManagers.
    a_job_finishes(&cluster.connect().await, 4, "after").await;
    cluster.wait_for_task_managers(2);
}

#[tokio::test]
async fn a_task_manager_of_another_protocol_version_is_refused() {
    use eddy_cluster::rpc::proto::job_manager_client::JobManagerClient;
    use eddy_cluster::rpc::proto::RegisterTaskExecutorRequest;
    let mut cluster = Cluster::start(1, 1, &[]);
    let address = format!("127.0.0.1:{}", cluster.rpc_port);
    let mut client = JobManagerClient::new(eddy_cluster::rpc::client::channel(&address).unwrap());
    let refused = client
        .register_task_executor(RegisterTaskExecutorRequest {
            protocol_version: 999,
            build_version: "9.9.9".into(),
            id: "time-traveller".into(),
            num_slots: 4,
            rpc_address: "127.0.0.1:1".into(),
            data_address: "127.0.0.1:2".into(),
        })
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("RPC protocol 999"),
        "{refused:?}"
    );
    assert!(cluster
        .log("jobmanager")
        .contains("refused TaskManager 'time-traveller'"));
    // A message that does not decode fails its own call only.
    let garbage = client
        .submit_job(eddy_cluster::rpc::proto::SubmitJobRequest {
            job_graph: b"{not a job graph".to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(garbage.code(), tonic_code_invalid_argument(), "{garbage:?}");
    assert!(cluster.all_running());
    assert_eq!(cluster.rest("/overview")["taskmanagers"], 1);
}

fn tonic_code_invalid_argument() -> eddy_cluster::rpc::Code {
    eddy_cluster::rpc::Code::InvalidArgument
}

#[tokio::test]
async fn a_gateway_of_its_own_submits_to_the_job_manager_and_streams_results() {
    let mut cluster = Cluster::start(2, 2, &[]);
    let port = cluster.add_gateway();
    let conn = format!("host=127.0.0.1 port={port} user=eddy dbname=eddy");
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10000', 'fields.id.min' = '5', 'fields.id.max' = '7')",
    )
    .await;
    // Rows from the TaskManagers reach this gateway's own result endpoint.
    let rows = simple(&client, "SELECT id FROM gen LIMIT 500").await;
    assert_eq!(rows.len(), 500);
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE few (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000')",
    )
    .await;
    let job = submit(&client, "INSERT INTO bh SELECT id FROM few").await;
    wait_for_status(&client, &job, "FINISHED").await;
    // The JobManager ran it: its REST API lists the job.
    let jobs = cluster.rest("/jobs");
    assert!(jobs.to_string().contains(&job), "{jobs}");
    let shown = simple(&client, "SHOW JOBS").await;
    assert!(shown.len() >= 2, "{shown:?}");
}
