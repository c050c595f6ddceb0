//! No input takes the server down (issue 11): statements nested past the depth limit, batch
//! queries past the memory limit, panics in the gateway and in subtasks, too many
//! connections, statement timeouts, oversized messages. Each answers its SQLSTATE and the
//! same server goes on answering.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{
    exec, scalar, simple, sqlstate, startup_packet, submit, try_simple, values, wait_for_status,
    Eddy,
};
use tokio_postgres::Client;

/// The gateway's depth limit (eddy_runtime::limits::MAX_EXPRESSION_DEPTH).
const LIMIT: usize = 1000;

fn chain(n: usize, term: &str, op: &str) -> String {
    vec![term; n].join(op)
}

/// Statements of every deep shape, each at `n` levels.
fn deep_queries(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("plus chain", format!("SELECT {}", chain(n, "1", " + "))),
        (
            "string concat",
            format!("SELECT length({})", chain(n, "'a'", " || ")),
        ),
        (
            "OR list",
            format!(
                "SELECT count(*) FROM (VALUES (1)) t(x) WHERE {}",
                chain(n, "x = 1", " OR ")
            ),
        ),
        (
            "AND list",
            format!(
                "SELECT count(*) FROM (VALUES (1)) t(x) WHERE {}",
                chain(n, "x = 1", " AND ")
            ),
        ),
        (
            "UNION chain",
            format!(
                "SELECT count(*) FROM ({}) u",
                chain(n, "SELECT 1 AS x", " UNION ALL ")
            ),
        ),
        (
            "CASE chain",
            format!(
                "SELECT {}",
                chain(n / 2, "CASE WHEN 1 = 1 THEN 1 ELSE 0 END", " + ")
            ),
        ),
    ]
}

async fn expect_state(client: &Client, sql: &str, state: &str) -> String {
    match try_simple(client, sql).await {
        Ok(rows) => panic!(
            "expected {state}, got {} rows for {}",
            rows.len(),
            &sql[..80.min(sql.len())]
        ),
        Err(e) => {
            assert_eq!(sqlstate(&e).as_deref(), Some(state), "{e:?}");
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_default()
        }
    }
}

#[tokio::test]
async fn statements_past_the_depth_limit_answer_54001_and_under_it_run() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    for (shape, sql) in deep_queries(2 * LIMIT) {
        let msg = expect_state(&client, &sql, "54001").await;
        assert!(msg.contains(&LIMIT.to_string()), "{shape}: {msg}");
    }
    // Just under the limit every shape plans, runs and answers right.
    let n = LIMIT - 20;
    let answers = deep_queries(n);
    assert_eq!(
        scalar(&client, &answers[0].1).await.as_deref(),
        Some(n.to_string().as_str())
    );
    assert_eq!(
        scalar(&client, &answers[1].1).await.as_deref(),
        Some(n.to_string().as_str())
    );
    assert_eq!(scalar(&client, &answers[2].1).await.as_deref(), Some("1"));
    assert_eq!(scalar(&client, &answers[3].1).await.as_deref(), Some("1"));
    assert_eq!(
        scalar(&client, &answers[4].1).await.as_deref(),
        Some(n.to_string().as_str())
    );
    assert_eq!(
        scalar(&client, &answers[5].1).await.as_deref(),
        Some((n / 2).to_string().as_str())
    );
    // Far past it (a million operators) is refused before parsing.
    let huge = format!("SELECT {}", chain(1_000_000, "1", "+"));
    expect_state(&client, &huge, "54001").await;
    // Nesting the parser itself limits (parentheses, function calls) is 54001 as well.
    let parens = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
    expect_state(&client, &parens, "54001").await;
    let calls = format!("SELECT {}1{}", "abs(".repeat(500), ")".repeat(500));
    expect_state(&client, &calls, "54001").await;
    assert_eq!(
        scalar(&client, "SELECT 41 + 1").await.as_deref(),
        Some("42")
    );
}

#[tokio::test]
async fn deep_expressions_in_jobs_views_and_computed_columns() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    exec(
        &client,
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10')",
    )
    .await;
    exec(
        &client,
        &format!(
            "CREATE TABLE out_t (v BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    let deep = chain(2 * LIMIT, "id", " + ");
    let deep_or = chain(2 * LIMIT, "id = 1", " OR ");
    expect_state(
        &client,
        &format!("INSERT INTO out_t SELECT id FROM src WHERE {deep_or}"),
        "54001",
    )
    .await;
    let deep_union = chain(2 * LIMIT, "SELECT id FROM src", " UNION ALL ");
    expect_state(&client, &format!("INSERT INTO out_t {deep_union}"), "54001").await;
    let deep_case = chain(LIMIT, "CASE WHEN id = 1 THEN 1 ELSE 0 END", " + ");
    expect_state(
        &client,
        &format!("INSERT INTO out_t SELECT {deep_case} FROM src"),
        "54001",
    )
    .await;
    expect_state(
        &client,
        &format!("INSERT INTO out_t SELECT {deep} FROM src"),
        "54001",
    )
    .await;
    expect_state(
        &client,
        &format!("CREATE VIEW v AS SELECT {deep} AS v FROM src"),
        "54001",
    )
    .await;
    expect_state(
        &client,
        &format!("CREATE TABLE c (id BIGINT, v AS {deep}) WITH ('connector' = 'datagen')"),
        "54001",
    )
    .await;
    expect_state(&client, &format!("EXPLAIN SELECT {deep} FROM src"), "54001").await;
    // Under the limit the job runs its expression in a subtask: each row is id * n.
    let n = LIMIT - 20;
    let under = chain(n, "id", " + ");
    let job = submit(
        &client,
        &format!("INSERT INTO out_t SELECT {under} FROM src"),
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    // An OR list under the limit, evaluated by the job's filter: only id 3 passes.
    let ors = format!("{} OR id = 3", chain(LIMIT - 30, "id = 99", " OR "));
    let out_or = eddy.scratch_dir().join("out_or");
    exec(
        &client,
        &format!(
            "CREATE TABLE out_or (v BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            out_or.display()
        ),
    )
    .await;
    let job_or = submit(
        &client,
        &format!("INSERT INTO out_or SELECT id FROM src WHERE {ors}"),
    )
    .await;
    wait_for_status(&client, &job_or, "FINISHED").await;
    assert_eq!(common::read_part_files(&out_or), vec!["3".to_string()]);
    let mut got: Vec<i64> = common::read_part_files(&out)
        .iter()
        .map(|l| l.trim().parse::<i64>().unwrap())
        .collect();
    got.sort();
    let want: Vec<i64> = (1..=10).map(|i| i * n as i64).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_batch_query_past_the_memory_limit_answers_53200_and_spilling_queries_finish() {
    let eddy = Eddy::start_with_args(&["-D", "sql-gateway.batch.memory-limit=64mb"]);
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '20000', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '19999')",
    )
    .await;
    // Two DISTINCT aggregates of 60 million values each: DataFusion keeps them as hash
    // sets in one accumulator, which cannot spill and does not fit in 64 MiB.
    let msg = expect_state(
        &client,
        "SELECT count(DISTINCT a.id * 100000 + b.id), count(DISTINCT b.id * 100000 + a.id) \
         FROM s a, s b WHERE b.id < 3000",
        "53200",
    )
    .await;
    assert!(msg.contains("sql-gateway.batch.memory-limit"), "{msg}");
    assert!(msg.contains("64 MiB"), "{msg}");
    // One DISTINCT becomes a grouped aggregation, which spills to the data dir and
    // finishes with the right answer in the same 64 MiB.
    assert_eq!(
        scalar(
            &client,
            "SELECT count(DISTINCT a.id * 100000 + b.id) FROM s a, s b WHERE b.id < 3000",
        )
        .await
        .as_deref(),
        Some("60000000")
    );
    assert_eq!(scalar(&client, "SELECT 1").await.as_deref(), Some("1"));
}

#[tokio::test]
async fn panics_fail_their_statement_or_job_and_the_server_goes_on() {
    let eddy = Eddy::start_with_args(&["-D", "debug.testing-functions=true"]);
    let client = eddy.connect().await;
    let msg = expect_state(
        &client,
        "SELECT eddy_test_panic('boom in a query')",
        "XX000",
    )
    .await;
    assert!(msg.contains("boom in a query"), "{msg}");
    // The same connection goes on, through the extended protocol too.
    assert_eq!(scalar(&client, "SELECT 2").await.as_deref(), Some("2"));
    let e = client
        .query("SELECT eddy_test_panic($1)", &[&"boom prepared"])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("XX000"));
    let one: i32 = client.query_one("SELECT 1::INT", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);

    exec(
        &client,
        "CREATE TABLE gen (name STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '100')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (name STRING) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO bh SELECT eddy_test_panic('boom in a subtask') FROM gen",
    )
    .await;
    wait_for_status(&client, &job, "FAILED").await;
    let jobs = values(&client, "SHOW JOBS").await;
    let error = common::describe_job(&client, &job).await;
    assert!(
        format!("{error:?}").contains("boom in a subtask"),
        "{error:?} / {jobs:?}"
    );
    // The TaskExecutor still runs jobs.
    let ok = submit(&client, "INSERT INTO bh SELECT name FROM gen").await;
    wait_for_status(&client, &ok, "FINISHED").await;

    // Without the flag the function does not exist.
    let plain = Eddy::start();
    let c2 = plain.connect().await;
    expect_state(&c2, "SELECT eddy_test_panic('x')", "42883").await;
}

#[tokio::test]
async fn connections_past_the_limit_are_refused_with_53300() {
    let eddy = Eddy::start_with_args(&["-D", "sql-gateway.endpoint.pg.max-connections=3"]);
    let conn_str = format!("host=127.0.0.1 port={} user=eddy dbname=eddy", eddy.pg_port);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(eddy.connect().await);
    }
    let err = match tokio_postgres::connect(&conn_str, tokio_postgres::NoTls).await {
        Ok(_) => panic!("a fourth connection was accepted"),
        Err(e) => e,
    };
    assert_eq!(sqlstate(&err).as_deref(), Some("53300"), "{err:?}");
    let msg = err
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("too many clients") && msg.contains("max-connections = 3"),
        "{msg}"
    );
    // psql and libpq ask for SSL first; the refusal answers that too.
    let mut raw = TcpStream::connect(("127.0.0.1", eddy.pg_port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .unwrap();
    let mut n = [0u8; 1];
    raw.read_exact(&mut n).unwrap();
    assert_eq!(&n, b"N");
    raw.write_all(&startup_packet()).unwrap();
    let mut reply = Vec::new();
    let _ = raw.read_to_end(&mut reply);
    assert_eq!(reply.first(), Some(&b'E'));
    assert!(String::from_utf8_lossy(&reply).contains("53300"));
    // The held connections still work; closing one makes room.
    assert_eq!(scalar(&held[0], "SELECT 1").await.as_deref(), Some("1"));
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio_postgres::connect(&conn_str, tokio_postgres::NoTls).await {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                assert_eq!(scalar(&c, "SELECT 1").await.as_deref(), Some("1"));
                break;
            }
            Err(e) if std::time::Instant::now() < deadline => {
                assert_eq!(sqlstate(&e).as_deref(), Some("53300"), "{e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("no room after closing a connection: {e}"),
        }
    }
}

#[tokio::test]
async fn statement_timeout_cancels_batch_and_streaming_queries_with_57014() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '20000')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1')",
    )
    .await;
    exec(&client, "SET statement_timeout = '300ms'").await;
    // Eight trillion rows: this cannot finish before the timeout.
    let msg = expect_state(
        &client,
        "SELECT count(*) FROM s a, s b, s c WHERE a.id + b.id + c.id = -1",
        "57014",
    )
    .await;
    assert!(msg.contains("statement timeout"), "{msg}");
    // An unbounded SELECT streams until the timeout ends it.
    expect_state(&client, "SELECT id FROM slow", "57014").await;
    expect_state(&client, "SET statement_timeout = 'soon'", "22023").await;
    exec(&client, "SET statement_timeout = 0").await;
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM s").await.as_deref(),
        Some("20000")
    );
    assert_eq!(
        values(&client, "SHOW statement_timeout").await,
        vec![vec![Some("0".to_string())]]
    );
}

#[tokio::test]
async fn an_oversized_message_is_refused_without_allocating_it() {
    let eddy = Eddy::start();
    let mut raw = TcpStream::connect(("127.0.0.1", eddy.pg_port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(&startup_packet()).unwrap();
    // Read up to ReadyForQuery ('Z').
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen
        .windows(6)
        .any(|w| w[0] == b'Z' && w[1..5] == [0, 0, 0, 5])
    {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed during startup");
        seen.extend_from_slice(&buf[..n]);
    }
    // A Query message claiming 2 GB.
    raw.write_all(&[b'Q', 0x7f, 0xff, 0xff, 0xf0]).unwrap();
    let mut rest = Vec::new();
    // The server closes the connection at once rather than waiting for 2 GB (the read
    // timeout above would turn a wait into an error here); it serves on.
    raw.read_to_end(&mut rest)
        .expect("the server kept a connection that announced a 2 GB message");
    let client = eddy.connect().await;
    assert_eq!(scalar(&client, "SELECT 1").await.as_deref(), Some("1"));
    let rss_kb = common::proc_status_kb(eddy.pid(), "VmHWM:");
    assert!(
        rss_kb < 1_000_000,
        "peak RSS {rss_kb} kB: the message was allocated"
    );
}

/// A bounded source and a sink: INSERTs between them finish quickly.
async fn finished_job_tables(client: &Client) {
    exec(
        client,
        "CREATE TABLE gen (v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '5')",
    )
    .await;
    exec(
        client,
        "CREATE TABLE bh (v INT) WITH ('connector' = 'blackhole')",
    )
    .await;
}

#[tokio::test]
async fn ended_jobs_are_forgotten_past_the_job_store_capacity() {
    let eddy = Eddy::start_with_args(&["-D", "jobstore.max-capacity=2"]);
    let client = eddy.connect().await;
    finished_job_tables(&client).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let id = submit(&client, "INSERT INTO bh SELECT v FROM gen").await;
        wait_for_status(&client, &id, "FINISHED").await;
        ids.push(id);
    }
    let listed: Vec<String> = simple(&client, "SHOW JOBS")
        .await
        .into_iter()
        .map(|r| {
            r.into_iter()
                .find(|(k, _)| k == "job_id")
                .and_then(|(_, v)| v)
                .unwrap()
        })
        .collect();
    assert_eq!(listed, ids[2..].to_vec());

    let eddy = Eddy::start_with_args(&["-D", "jobstore.expiration-time=0"]);
    let client = eddy.connect().await;
    finished_job_tables(&client).await;
    let id = submit(&client, "INSERT INTO bh SELECT v FROM gen").await;
    wait_for_status(&client, &id, "FINISHED").await;
    assert!(simple(&client, "SHOW JOBS").await.is_empty());
}

#[tokio::test]
async fn a_session_idle_in_a_transaction_is_ended_with_25p03() {
    let eddy = Eddy::start();
    let conn_str = format!("host=127.0.0.1 port={} user=eddy dbname=eddy", eddy.pg_port);
    let (client, connection) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls)
        .await
        .unwrap();
    let ended = tokio::spawn(connection);
    exec(&client, "SET idle_in_transaction_session_timeout = '2s'").await;
    // Idle outside a transaction: nothing happens.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(scalar(&client, "SELECT 1").await.as_deref(), Some("1"));
    // Busy inside one: nothing happens either (a statement may run past the timeout). The
    // timeout is long enough that no pause between these statements reaches it.
    exec(&client, "BEGIN").await;
    exec(
        &client,
        "CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '2')",
    )
    .await;
    exec(&client, "SET statement_timeout = '3s'").await;
    let e = try_simple(&client, "SELECT id FROM slow")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("57014"));
    exec(&client, "SET statement_timeout = 0").await;
    // Idle inside it: the server ends the session and says why.
    let result = tokio::time::timeout(Duration::from_secs(30), ended)
        .await
        .expect("the idle session was not ended")
        .unwrap();
    let e = result.expect_err("the connection ended without an error");
    assert_eq!(sqlstate(&e).as_deref(), Some("25P03"), "{e:?}");
    assert!(client.simple_query("SELECT 1").await.is_err());
    // COMMIT ends the transaction: idle after it is fine.
    let other = eddy.connect().await;
    exec(&other, "SET idle_in_transaction_session_timeout = '2s'").await;
    exec(&other, "BEGIN").await;
    exec(&other, "COMMIT").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(scalar(&other, "SELECT 2").await.as_deref(), Some("2"));
}

#[tokio::test]
async fn a_connection_that_does_not_finish_its_startup_is_closed_with_08p01() {
    let eddy = Eddy::start_with_args(&["-D", "sql-gateway.endpoint.pg.startup-timeout=500ms"]);
    let started = std::time::Instant::now();
    let mut raw = TcpStream::connect(("127.0.0.1", eddy.pg_port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The first bytes of a startup packet, and then nothing.
    raw.write_all(&startup_packet()[..3]).unwrap();
    let mut reply = Vec::new();
    let _ = raw.read_to_end(&mut reply);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the connection was not closed"
    );
    assert_eq!(reply.first(), Some(&b'E'), "{reply:?}");
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("08P01") && text.contains("startup-timeout"),
        "{text}"
    );
    // A client that starts up normally is served.
    let client = eddy.connect().await;
    assert_eq!(scalar(&client, "SELECT 1").await.as_deref(), Some("1"));
}

/// A streaming SELECT whose client stops reading back-pressures its job: the job stops
/// producing rather than buffering rows for the client.
#[tokio::test]
async fn a_streaming_select_buffers_no_more_than_its_client_has_not_read() {
    use futures::StreamExt;
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE fast (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '2000000', 'fields.s.length' = '100')",
    )
    .await;
    let admin = eddy.connect().await;
    let rows = client
        .query_raw("SELECT id, s FROM fast", std::iter::empty::<i32>())
        .await
        .unwrap();
    futures::pin_mut!(rows);
    for _ in 0..10 {
        rows.next().await.unwrap().unwrap();
    }
    // The client reads nothing more. Once the channels between source, sink and client are
    // full, the source stops.
    let job = simple(&admin, "SHOW JOBS").await[0]
        .iter()
        .find(|(k, _)| k == "job_id")
        .and_then(|(_, v)| v.clone())
        .unwrap();
    let produced = |d: std::collections::HashMap<String, Option<String>>| -> u64 {
        d["records_out"].as_deref().unwrap_or("0").parse().unwrap()
    };
    let mut last = produced(common::describe_job(&admin, &job).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = produced(common::describe_job(&admin, &job).await);
        if now == last {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job kept producing: {now} rows"
        );
        last = now;
    }
    // What waits for the client is a few batches (channels of 8 and 4 batches of 8192
    // rows, the socket's buffers), not the two million rows a second the source could make.
    eprintln!("produced {last} rows for a client that read 10");
    assert!(last > 10, "the job reports no rows out");
    assert!(
        last < 500_000,
        "{last} rows produced for a client that read 10"
    );
    let rss_kb = common::proc_status_kb(eddy.pid(), "VmRSS:");
    assert!(rss_kb < 1_000_000, "RSS {rss_kb} kB");
}
