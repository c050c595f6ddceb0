//! Stopping jobs and cancelling queries (issue 2, items 2 and 5): STOP JOB on an unbounded job,
//! a cancel request on a streaming SELECT (SQLSTATE 57014, session still usable), and LIMIT on an
//! unbounded SELECT.

mod common;

use std::time::{Duration, Instant};

use common::{
    describe_job, exec, simple, sqlstate, submit, values, wait_for_status, Eddy, JOB_TIMEOUT,
};
use futures::{pin_mut, StreamExt};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

async fn with_endless(eddy: &Eddy) -> Client {
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE endless (id BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '100', \
         'fields.v.min' = '0', 'fields.v.max' = '9')",
    )
    .await;
    client
}

/// Waits until no job is RUNNING or CREATED (a cancelled query must not leave one behind).
async fn wait_until_no_job_runs(client: &Client) {
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let jobs = simple(client, "SHOW JOBS").await;
        let busy: Vec<_> = jobs
            .iter()
            .filter(|r| {
                r.iter().any(|(c, v)| {
                    c == "status" && matches!(v.as_deref(), Some("RUNNING") | Some("CREATED"))
                })
            })
            .collect();
        if busy.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("jobs still running after cancel: {busy:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn stop_job_cancels_unbounded_job() {
    let eddy = Eddy::start();
    let client = with_endless(&eddy).await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT, v INT) WITH ('connector' = 'blackhole')",
    )
    .await;

    let job = submit(&client, "INSERT INTO bh SELECT id, v FROM endless").await;
    wait_for_status(&client, &job, "RUNNING").await;

    let jobs = simple(&client, "SHOW JOBS").await;
    let cols: Vec<&str> = jobs[0].iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        cols,
        vec![
            "job_id",
            "job_name",
            "status",
            "start_time",
            "restarts",
            "completed_checkpoints"
        ]
    );
    assert!(
        jobs.iter().any(
            |r| r[0].1.as_deref() == Some(job.as_str()) && r[2].1.as_deref() == Some("RUNNING")
        ),
        "{jobs:?}"
    );

    exec(&client, &format!("STOP JOB '{job}'")).await;
    let desc = wait_for_status(&client, &job, "CANCELED").await;
    assert!(
        desc.get("end_time").cloned().flatten().is_some(),
        "end_time not set: {desc:?}"
    );

    // The state is stable and visible in SHOW JOBS too.
    let jobs = simple(&client, "SHOW JOBS").await;
    assert!(
        jobs.iter()
            .any(|r| r[0].1.as_deref() == Some(job.as_str())
                && r[2].1.as_deref() == Some("CANCELED")),
        "{jobs:?}"
    );
    assert_eq!(
        describe_job(&client, &job).await["status"].as_deref(),
        Some("CANCELED")
    );

    // The slots are free again: another job runs and can be stopped.
    let job2 = submit(&client, "INSERT INTO bh SELECT id, v FROM endless").await;
    wait_for_status(&client, &job2, "RUNNING").await;
    exec(&client, &format!("STOP JOB '{job2}'")).await;
    wait_for_status(&client, &job2, "CANCELED").await;
}

#[tokio::test]
async fn cancel_request_stops_streaming_select_simple_protocol() {
    let eddy = Eddy::start();
    let client = with_endless(&eddy).await;
    let token = client.cancel_token();

    let stream = client
        .simple_query_raw("SELECT id, v FROM endless")
        .await
        .expect("start streaming select");
    pin_mut!(stream);

    // Rows arrive while the query runs (it never ends by itself).
    let mut rows = 0;
    while rows < 3 {
        match tokio::time::timeout(JOB_TIMEOUT, stream.next()).await {
            Err(_) => panic!("no rows from a streaming SELECT within {JOB_TIMEOUT:?}"),
            Ok(None) => panic!("unbounded SELECT ended by itself after {rows} rows"),
            Ok(Some(Err(e))) => panic!("streaming SELECT failed: {}", common::describe_error(&e)),
            Ok(Some(Ok(SimpleQueryMessage::Row(_)))) => rows += 1,
            Ok(Some(Ok(_))) => {}
        }
    }

    token
        .cancel_query(NoTls)
        .await
        .expect("send cancel request");
    let deadline = Instant::now() + JOB_TIMEOUT;
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => break e,
            Ok(None) => panic!("cancelled SELECT ended without an error"),
            Err(_) => {}
        }
        if Instant::now() > deadline {
            panic!("SELECT still running {JOB_TIMEOUT:?} after the cancel request");
        }
    };
    assert_eq!(
        sqlstate(&err).as_deref(),
        Some("57014"),
        "{}",
        common::describe_error(&err)
    );

    // The same session goes on.
    assert_eq!(
        values(&client, "SELECT 1").await,
        vec![vec![Some("1".to_string())]]
    );
    wait_until_no_job_runs(&client).await;
}

#[tokio::test]
async fn cancel_request_stops_streaming_select_extended_protocol() {
    let eddy = Eddy::start();
    let client = with_endless(&eddy).await;
    let token = client.cancel_token();

    let stream = client
        .query_raw("SELECT id, v FROM endless WHERE v >= $1", [0i32])
        .await
        .expect("start streaming select");
    pin_mut!(stream);

    let mut rows = 0;
    while rows < 3 {
        match tokio::time::timeout(JOB_TIMEOUT, stream.next()).await {
            Err(_) => panic!("no rows from a streaming SELECT within {JOB_TIMEOUT:?}"),
            Ok(None) => panic!("unbounded SELECT ended by itself after {rows} rows"),
            Ok(Some(Err(e))) => panic!("streaming SELECT failed: {}", common::describe_error(&e)),
            Ok(Some(Ok(row))) => {
                let v: i32 = row.get(1);
                assert!((0..=9).contains(&v), "v out of range: {v}");
                rows += 1;
            }
        }
    }

    token
        .cancel_query(NoTls)
        .await
        .expect("send cancel request");
    let deadline = Instant::now() + JOB_TIMEOUT;
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => break e,
            Ok(None) => panic!("cancelled SELECT ended without an error"),
            Err(_) => {}
        }
        if Instant::now() > deadline {
            panic!("SELECT still running {JOB_TIMEOUT:?} after the cancel request");
        }
    };
    assert_eq!(
        sqlstate(&err).as_deref(),
        Some("57014"),
        "{}",
        common::describe_error(&err)
    );

    let rows = client
        .query("SELECT count(*) FROM (SELECT 1) t", &[])
        .await
        .expect("session after cancel");
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    wait_until_no_job_runs(&client).await;
}

#[tokio::test]
async fn cancel_before_rows_still_cancels() {
    // A cancel request is sent repeatedly until the query ends, as psql's Ctrl-C would be by an
    // impatient user; the query must end with 57014 however early the first request lands.
    let eddy = Eddy::start();
    let client = with_endless(&eddy).await;
    let token = client.cancel_token();
    let query = tokio::spawn(async move {
        let r = client
            .simple_query("SELECT id FROM endless WHERE v > 100")
            .await;
        (client, r)
    });
    let deadline = Instant::now() + JOB_TIMEOUT;
    while !query.is_finished() {
        if Instant::now() > deadline {
            panic!("SELECT not cancelled within {JOB_TIMEOUT:?}");
        }
        token
            .cancel_query(NoTls)
            .await
            .expect("send cancel request");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (client, result) = query.await.unwrap();
    let err = result.expect_err("a SELECT over an unbounded table cannot finish");
    assert_eq!(
        sqlstate(&err).as_deref(),
        Some("57014"),
        "{}",
        common::describe_error(&err)
    );
    assert_eq!(
        values(&client, "SELECT 3").await,
        vec![vec![Some("3".to_string())]]
    );
}

#[tokio::test]
async fn limit_ends_unbounded_select() {
    let eddy = Eddy::start();
    let client = with_endless(&eddy).await;

    let rows = tokio::time::timeout(
        JOB_TIMEOUT,
        values(&client, "SELECT id, v FROM endless LIMIT 5"),
    )
    .await
    .expect("SELECT ... LIMIT 5 over an unbounded table did not end");
    assert_eq!(rows.len(), 5, "{rows:?}");
    for r in &rows {
        let v: i32 = r[1].as_deref().unwrap().parse().unwrap();
        assert!((0..=9).contains(&v), "{r:?}");
    }

    // Extended protocol, with a filter.
    let rows = tokio::time::timeout(
        JOB_TIMEOUT,
        client.query("SELECT v FROM endless WHERE v < 5 LIMIT 5", &[]),
    )
    .await
    .expect("SELECT ... LIMIT 5 over an unbounded table did not end")
    .expect("query");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.get::<_, i32>(0) < 5));

    // Nothing keeps running once the LIMIT is reached.
    assert_eq!(
        values(&client, "SELECT 1").await,
        vec![vec![Some("1".to_string())]]
    );
    wait_until_no_job_runs(&client).await;
}

#[tokio::test]
async fn stop_job_ends_a_job_waiting_for_slots() {
    // Four slots: the first job takes them all, the second waits (as Flink's scheduler
    // does) and must still answer STOP JOB.
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(&client, "SET 'parallelism.default' = '4'").await;
    exec(
        &client,
        "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let first = submit(&client, "INSERT INTO sink SELECT id FROM endless").await;
    wait_for_status(&client, &first, "RUNNING").await;
    let second = submit(&client, "INSERT INTO sink SELECT id + 1 FROM endless").await;
    let waiting = describe_job(&client, &second).await;
    assert_eq!(waiting["status"].as_deref(), Some("CREATED"), "{waiting:?}");
    exec(&client, &format!("STOP JOB '{second}'")).await;
    wait_for_status(&client, &second, "CANCELED").await;
    exec(&client, &format!("STOP JOB '{first}'")).await;
    wait_for_status(&client, &first, "CANCELED").await;
}
