//! Materialized views over an unbounded stream, through a real server and pgwire client:
//! reads are consistent as of one checkpoint, the contents and the job survive a restart
//! of Eddy (hard kill included), and DROP stops the job and deletes the contents.

mod common;

use std::time::{Duration, Instant};

use common::{exec, simple, sqlstate, try_simple, values, wait_for_status, Eddy};

/// A view whose rows must agree at every consistent point. The source's two subtasks
/// emit the sequence interleaved, in order (subtask 0 the odd numbers, subtask 1 the
/// even ones), so the rows of one parity class form a prefix: their count is fixed by
/// their largest value. The 16 keys are hashed over the aggregation's two subtasks; a
/// read that saw one subtask's changes of a checkpoint without the other's would find a
/// class whose count and largest value disagree (with the default 128 key groups each
/// class has keys on both subtasks), and a change counted twice (say, by a
/// job that started over on top of its predecessor's contents) would too. One scan of
/// the source: two scans would be two sources whose barriers arrive at different rows.
const VIEW: &str = "CREATE MATERIALIZED VIEW counts AS \
     SELECT v % 16 AS k, count(*) AS n, max(v) AS m FROM src GROUP BY v % 16";

async fn setup(client: &tokio_postgres::Client) {
    exec(client, "SET 'parallelism.default' = '2'").await;
    exec(
        client,
        "CREATE TABLE src (v BIGINT) WITH ('connector' = 'datagen', \
         'rows-per-second' = '200', 'fields.v.kind' = 'sequence', \
         'fields.v.start' = '1', 'fields.v.end' = '1000000000000')",
    )
    .await;
    exec(client, VIEW).await;
}

/// Checks that rows `(k, n, m)` are one consistent point of the view and returns the
/// number of source rows they count.
fn consistent_total(rows: &[(i64, i64, i64)]) -> i64 {
    let mut keys: Vec<i64> = rows.iter().map(|r| r.0).collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "a key is in the view twice: {rows:?}");
    let mut total = 0;
    for parity in [0, 1] {
        let class = rows.iter().filter(|r| r.0 % 2 == parity);
        let count: i64 = class.clone().map(|r| r.1).sum();
        let largest = class.map(|r| r.2).max().unwrap_or(0);
        // Odd values 1, 3, .., 2c - 1; even values 2, 4, .., 2c.
        let expected = (largest + parity) / 2;
        assert_eq!(count, expected, "a read saw half of a checkpoint: {rows:?}");
        total += count;
    }
    total
}

fn parse(row: &[Option<String>]) -> (i64, i64, i64) {
    let int = |i: usize| row[i].as_deref().unwrap().parse::<i64>().unwrap();
    (int(0), int(1), int(2))
}

/// The number of source rows one read of the view counts, checked to be consistent.
async fn read(client: &tokio_postgres::Client) -> i64 {
    let rows = values(client, "SELECT k, n, m FROM counts").await;
    let rows: Vec<_> = rows.iter().map(|r| parse(r)).collect();
    consistent_total(&rows)
}

/// Reads until the total passes `at_least`, checking every read is consistent.
async fn read_until(client: &tokio_postgres::Client, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let total = read(client).await;
        if total > at_least {
            return total;
        }
        assert!(
            Instant::now() < deadline,
            "the view stayed at {total} rows (wanted more than {at_least})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn view_files(eddy: &Eddy) -> Vec<String> {
    let dir = eddy.data_dir().join("materialized");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

async fn job_of_view(client: &tokio_postgres::Client) -> (String, String) {
    let rows = values(client, "SHOW MATERIALIZED VIEWS").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0].as_deref(), Some("counts"));
    (rows[0][1].clone().unwrap(), rows[0][2].clone().unwrap())
}

#[tokio::test]
async fn reads_are_consistent_and_survive_restarts() {
    let mut eddy = Eddy::start();
    let files = |eddy: &Eddy| view_files(eddy);
    consistent_across_restarts(&mut eddy, &files).await;
}

/// The same with the view's files and the checkpoints in an object store: an S3-protocol
/// server (moto), reached through `s3://` URLs and the `AWS_*` variables.
#[tokio::test]
async fn a_view_and_its_checkpoints_in_an_object_store_survive_restarts() {
    let s3 = common::s3::S3Server::start();
    s3.create_bucket("eddy");
    let mut eddy = Eddy::start_with_env(
        &[
            "-D",
            "sql-gateway.materialized-view.dir=s3://eddy/views",
            "-D",
            "state.checkpoints.dir=s3://eddy/checkpoints",
        ],
        &s3.env(),
    );
    let files = |_: &Eddy| s3.keys("eddy", "views/");
    consistent_across_restarts(&mut eddy, &files).await;
    assert!(
        !s3.keys("eddy", "checkpoints/").is_empty(),
        "the checkpoints went to the object store"
    );
    for local in ["materialized", "checkpoints"] {
        assert!(
            !eddy.data_dir().join(local).exists(),
            "{local} was kept in the data dir"
        );
    }
}

/// Reads stay consistent while the view's job runs, across a graceful restart and a hard
/// kill of Eddy, and DROP stops the job and deletes the view's `files`.
async fn consistent_across_restarts(eddy: &mut Eddy, files: &dyn Fn(&Eddy) -> Vec<String>) {
    let client = eddy.connect().await;
    setup(&client).await;
    // Many checkpoints' worth of reads, each consistent.
    let before = read_until(&client, 300).await;
    let (first_job, status) = job_of_view(&client).await;
    assert_eq!(status, "RUNNING");

    // A graceful restart: the contents are there at once, and the view goes on.
    drop(client);
    eddy.restart();
    let client = eddy.connect().await;
    let total = read(&client).await;
    assert!(total >= before, "the view lost rows: {total} < {before}");
    let (second_job, _) = job_of_view(&client).await;
    assert_ne!(first_job, second_job, "a new job keeps the view");
    let after_restart = read_until(&client, total + 200).await;

    // A hard kill: what was committed stays, and nothing is counted twice (the new job
    // restores the checkpoint the contents were committed at).
    drop(client);
    eddy.kill_and_restart();
    let client = eddy.connect().await;
    let total = read(&client).await;
    assert!(total >= after_restart);
    read_until(&client, total + 200).await;
    assert!(
        eddy.log().contains("materialized view's job started again"),
        "{}",
        eddy.log_tail(30)
    );

    // DROP stops the job and deletes the contents.
    assert!(!files(eddy).is_empty());
    let (job, _) = job_of_view(&client).await;
    exec(&client, "DROP MATERIALIZED VIEW counts").await;
    wait_for_status(&client, &job, "CANCELED").await;
    assert!(files(eddy).is_empty(), "{:?}", files(eddy));
    let err = try_simple(&client, "SELECT * FROM counts")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("42P01"));
    // The definition is gone after a restart too.
    drop(client);
    eddy.restart();
    let client = eddy.connect().await;
    assert!(simple(&client, "SHOW MATERIALIZED VIEWS").await.is_empty());
}

#[tokio::test]
async fn a_view_over_bounded_input_keeps_its_contents_after_its_job_finished() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    for sql in [
        "SET 'table.dml-sync' = 'true'",
        "SET 'parallelism.default' = '2'",
        "CREATE TABLE nx (event_type INT, bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, \
         channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>) \
         WITH ('connector' = 'nexmark', 'events.num' = '5000', 'tps' = '0')",
        "CREATE MATERIALIZED VIEW per_auction AS SELECT bid.auction, count(*) AS n \
         FROM nx WHERE event_type = 2 GROUP BY bid.auction",
    ] {
        exec(&client, sql).await;
    }
    let expected =
        "SELECT bid.auction, count(*) AS n FROM nx WHERE event_type = 2 GROUP BY bid.auction";
    let mut want = values(&client, expected).await;
    want.sort();
    let mut got = values(&client, "SELECT * FROM per_auction").await;
    got.sort();
    assert_eq!(got, want);
    assert!(!got.is_empty());
    assert_eq!(job_status(&client).await, "FINISHED");
    drop(client);
    eddy.restart();
    let client = eddy.connect().await;
    let mut again = values(&client, "SELECT * FROM per_auction").await;
    again.sort();
    assert_eq!(again, want);
    assert_eq!(job_status(&client).await, "FINISHED");
    assert!(
        !eddy.log().contains("started again"),
        "a finished view needs no job: {}",
        eddy.log_tail(20)
    );
}

async fn job_status(client: &tokio_postgres::Client) -> String {
    let rows = values(client, "SHOW MATERIALIZED VIEWS").await;
    rows[0][2].clone().unwrap()
}

/// Applies a subscription's rows (`op`, `k`, `n`, `m`) to a multiset of `(k, n, m)`.
fn apply(
    view: &mut std::collections::BTreeMap<(i64, i64, i64), i64>,
    rows: &[Vec<Option<String>>],
) {
    for row in rows {
        let key = parse(&row[1..]);
        let delta = match row[0].as_deref() {
            Some("+I" | "+U") => 1,
            Some("-U" | "-D") => -1,
            op => panic!("row kind {op:?}"),
        };
        let count = view.entry(key).or_default();
        *count += delta;
        assert!(*count >= 0, "{key:?} retracted more often than inserted");
        if *count == 0 {
            view.remove(&key);
        }
    }
}

#[tokio::test]
async fn subscriptions_stream_the_snapshot_then_whole_checkpoints_of_changes() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    setup(&client).await;
    read_until(&client, 50).await;

    exec(&client, "BEGIN").await;
    exec(&client, "DECLARE c CURSOR FOR SUBSCRIBE TO counts").await;
    let mut view = std::collections::BTreeMap::new();
    let mut fetches = 0;
    let mut total = 0;
    while total < 300 {
        // Each FETCH ALL waits for a row, then takes whole checkpoints: after each, the
        // folded changes are a consistent view.
        let rows = values(&client, "FETCH ALL FROM c").await;
        assert!(!rows.is_empty(), "FETCH waits for at least one row");
        if fetches == 0 {
            assert!(
                rows.iter().all(|r| r[0].as_deref() == Some("+I")),
                "the snapshot: {rows:?}"
            );
        }
        apply(&mut view, &rows);
        let current: Vec<_> = view.keys().copied().collect();
        total = consistent_total(&current);
        fetches += 1;
    }
    assert!(fetches > 1);
    // FETCH n takes at most n rows.
    assert_eq!(values(&client, "FETCH 2 FROM c").await.len(), 2);
    exec(&client, "CLOSE c").await;
    let err = try_simple(&client, "FETCH 1 FROM c").await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("34000"));
    exec(
        &client,
        "DECLARE d CURSOR FOR SUBSCRIBE counts WITH (SNAPSHOT = false)",
    )
    .await;
    let err = try_simple(&client, "DECLARE d CURSOR FOR SELECT 1")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("42P03"));
    // Without the snapshot, the first rows are changes: an existing key is updated.
    let rows = values(&client, "FETCH ALL FROM d").await;
    assert!(
        rows.iter().any(|r| r[0].as_deref() == Some("-U")),
        "{rows:?}"
    );
    exec(&client, "COMMIT").await;

    let err = try_simple(&client, "SUBSCRIBE src").await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("42809"));

    // SUBSCRIBE streams without a cursor too (endlessly: this is the connection's last
    // statement); its Describe names the op column first.
    let statement = client.prepare("SUBSCRIBE counts").await.unwrap();
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["op", "k", "n", "m"]);
    let rows = client
        .query_raw(&statement, std::iter::empty::<i32>())
        .await
        .unwrap();
    futures::pin_mut!(rows);
    use futures::StreamExt;
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.get::<_, &str>(0), "+I");
}
