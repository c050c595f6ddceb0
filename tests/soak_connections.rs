//! A soak: 200 concurrent connections run batch queries, prepared statements, portals read
//! in pieces, cancels, job submissions and STOP JOBs against one server, in two equal phases. Afterwards every job
//! is accounted for, open file descriptors are back at their start, memory did not grow
//! from the first phase to the second (a leak grows with the work done), and the server
//! answers. Bounded in time: `EDDY_SOAK_SECONDS` per phase (default 60: two minutes in all).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{exec, scalar, simple, Eddy};
use tokio_postgres::{Client, NoTls};

const CONNECTIONS: usize = 200;
/// Connections that also submit and stop jobs (the slots bound how many jobs run at once).
const JOB_CONNECTIONS: usize = 4;
/// Connections that also cancel streaming SELECTs (each one a job while it runs).
const CANCEL_CONNECTIONS: usize = 8;

#[derive(Default)]
struct Counts {
    statements: AtomicUsize,
    cancels: AtomicUsize,
    jobs: std::sync::Mutex<Vec<String>>,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

async fn connect(port: u16) -> Client {
    let conn_str = format!("host=127.0.0.1 port={port} user=eddy dbname=eddy");
    let (client, connection) = tokio_postgres::connect(&conn_str, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn worker(port: u16, id: usize, until: Instant, counts: Arc<Counts>) {
    let mut client = connect(port).await;
    let prepared = client
        .prepare("SELECT count(*) FROM s WHERE id < $1")
        .await
        .unwrap();
    let mut round = 0i64;
    while Instant::now() < until {
        round += 1;
        let n: i64 = client
            .query_one(&prepared, &[&(round % 50)])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, round % 50);
        let rows = client
            .simple_query("SELECT id % 7, count(*) FROM s GROUP BY 1 ORDER BY 1")
            .await
            .unwrap();
        assert!(rows.len() >= 7);
        counts.statements.fetch_add(2, Ordering::Relaxed);
        if round % 5 == 0 {
            // A portal read in pieces (Execute with a row limit), closed half way. No sort:
            // a suspended portal keeps its operators' memory (a sort's spill reservation),
            // as PostgreSQL's keeps its work_mem, and 200 of them would fill the pool.
            let tx = client.transaction().await.unwrap();
            let portal = tx.bind("SELECT id FROM s", &[]).await.unwrap();
            assert_eq!(tx.query_portal(&portal, 10).await.unwrap().len(), 10);
            assert_eq!(tx.query_portal(&portal, 10).await.unwrap().len(), 10);
            tx.commit().await.unwrap();
            counts.statements.fetch_add(2, Ordering::Relaxed);
        }
        if id < CANCEL_CONNECTIONS && round % 4 == 0 {
            // An unbounded SELECT never ends by itself; the cancel request (sent on a
            // connection of its own, as psql's Ctrl-C does) ends it and its job.
            // Cancelled once its first row is in: a cancel that arrived before the query
            // started would find nothing to cancel, as in PostgreSQL.
            let token = client.cancel_token();
            let mut rows = Box::pin(
                client
                    .simple_query_raw("SELECT id FROM endless")
                    .await
                    .unwrap(),
            );
            use futures::StreamExt;
            let mut cancelled = false;
            let read = async {
                loop {
                    match rows.next().await {
                        Some(Ok(tokio_postgres::SimpleQueryMessage::Row(_))) if !cancelled => {
                            token.cancel_query(NoTls).await.unwrap();
                            cancelled = true;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break Err(e),
                        None => break Ok(()),
                    }
                }
            };
            let r = tokio::time::timeout(Duration::from_secs(60), read)
                .await
                .expect("the cancelled query did not end within 60 s");
            let e = r.expect_err("the endless query ended by itself");
            assert_eq!(common::sqlstate(&e).as_deref(), Some("57014"), "{e:?}");
            counts.cancels.fetch_add(1, Ordering::Relaxed);
        }
        if id < JOB_CONNECTIONS && round % 3 == 0 {
            let bounded = common::submit(&client, "INSERT INTO bh SELECT id FROM s").await;
            let unbounded = common::submit(&client, "INSERT INTO bh SELECT id FROM endless").await;
            exec(&client, &format!("STOP JOB '{unbounded}'")).await;
            counts.jobs.lock().unwrap().extend([bounded, unbounded]);
        }
    }
}

async fn phase(eddy: &Eddy, seconds: u64, counts: &Arc<Counts>) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|id| tokio::spawn(worker(eddy.pg_port, id, until, counts.clone())))
        .collect();
    for t in tasks {
        t.await.expect("a soak connection failed");
    }
}

/// Waits until every job has ended; returns their final statuses.
async fn settle(eddy: &Eddy, client: &Client, ids: &[String]) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let jobs: Vec<(String, String)> = simple(client, "SHOW JOBS")
            .await
            .into_iter()
            .map(|r| {
                let get = |k: &str| {
                    r.iter()
                        .find(|(n, _)| n == k)
                        .and_then(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                (get("job_id"), get("status"))
            })
            .collect();
        let open = jobs
            .iter()
            .filter(|(_, s)| !["FINISHED", "CANCELED", "FAILED"].contains(&s.as_str()))
            .count();
        if open == 0 && ids.iter().all(|id| jobs.iter().any(|(j, _)| j == id)) {
            return jobs;
        }
        if Instant::now() > deadline {
            let open: Vec<&(String, String)> = jobs
                .iter()
                .filter(|(_, s)| !["FINISHED", "CANCELED", "FAILED"].contains(&s.as_str()))
                .collect();
            let mut why = String::new();
            for (id, _) in &open {
                why += &format!("{:?}\n", common::describe_job(client, id).await);
                for line in eddy.log().lines().filter(|l| l.contains(id.as_str())) {
                    why += line;
                    why += "\n";
                }
            }
            panic!("jobs did not end: {open:?}\n{why}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_busy_connections_leave_no_trace() {
    let seconds: u64 = std::env::var("EDDY_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let eddy = Eddy::start_with_args(&[
        "-D",
        "taskmanager.numberOfTaskSlots=16",
        "-D",
        "jobstore.max-capacity=100000",
        "-D",
        "sql-gateway.endpoint.pg.max-connections=210",
    ]);
    let admin = eddy.connect().await;
    exec(
        &admin,
        "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3000', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '2999')",
    )
    .await;
    exec(&admin, "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000')").await;
    exec(
        &admin,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let pid = eddy.pid();
    let fds_before = open_fds(pid);

    let counts = Arc::new(Counts::default());
    phase(&eddy, seconds, &counts).await;
    let first_jobs = counts.jobs.lock().unwrap().clone();
    settle(&eddy, &admin, &first_jobs).await;
    let rss_after_first = common::proc_status_kb(pid, "VmRSS:");

    phase(&eddy, seconds, &counts).await;
    let ids = counts.jobs.lock().unwrap().clone();
    let jobs = settle(&eddy, &admin, &ids).await;
    let rss_after_second = common::proc_status_kb(pid, "VmRSS:");

    // Every job is accounted for: bounded ones finished, stopped ones were cancelled.
    for (i, id) in ids.iter().enumerate() {
        let status = &jobs.iter().find(|(j, _)| j == id).unwrap().1;
        let wanted = if i % 2 == 0 { "FINISHED" } else { "CANCELED" };
        // A stopped job may have been too quick to cancel only if it was bounded; these
        // are unbounded, so each must be CANCELED.
        assert_eq!(status, wanted, "job {id}");
    }
    assert!(counts.cancels.load(Ordering::Relaxed) > 0);
    assert!(!ids.is_empty());
    // Back to the admin connection alone: descriptors are where they started.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fds = open_fds(pid);
        if fds <= fds_before + 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "open files: {fds_before} before, {fds} after"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The second phase did as much work as the first; a leak would have grown memory by
    // about as much again.
    assert!(
        rss_after_second <= rss_after_first + rss_after_first / 4 + 64 * 1024,
        "RSS grew from {rss_after_first} kB after the first phase to {rss_after_second} kB after the second"
    );
    assert_eq!(
        scalar(&admin, "SELECT count(*) FROM s").await.as_deref(),
        Some("3000")
    );
    eprintln!(
        "soak: {} statements, {} cancels, {} jobs; RSS {rss_after_first} kB -> {rss_after_second} kB",
        counts.statements.load(Ordering::Relaxed),
        counts.cancels.load(Ordering::Relaxed),
        ids.len()
    );
}
