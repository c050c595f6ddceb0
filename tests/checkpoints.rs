//! Checkpoints, recovery and savepoints end to end, on the real `eddy` binary: a throttled
//! `datagen` sequence with an event-time column written as Flink users write it
//! (`TO_TIMESTAMP_LTZ(id, 3)`), a one-second TUMBLE window aggregation, and the filesystem
//! sink. The expected rows come from the semantics: window k holds the ids of
//! `[1000 k, 1000 (k + 1))` that the sequence produces, so its count, sum and maximum are
//! known without running anything. Every comparison checks both ways (no row missing, no
//! row extra), which is what exactly-once means for the sink.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::{
    describe_job, exec, read_part_files, simple, sqlstate, stop_part_way, submit, try_simple,
    wait_for_status, Eddy,
};
use tokio_postgres::Client;

/// The rows of `count, sum, max` per one-second window over ids `1..=n`.
fn expected(n: i64) -> Vec<String> {
    let mut rows = Vec::new();
    let mut k = 0;
    while k * 1000 <= n {
        let lo = (k * 1000).max(1);
        let hi = ((k + 1) * 1000 - 1).min(n);
        if lo <= hi {
            let count = hi - lo + 1;
            let sum = (lo + hi) * count / 2;
            rows.push(format!("{count},{sum},{hi}"));
        }
        k += 1;
    }
    rows.sort();
    rows
}

/// Checks that the sink directory holds exactly `expected`, reporting rows missing and rows
/// extra (a duplicate counts as extra).
fn assert_rows(dir: &Path, expected: &[String]) {
    common::assert_same(read_part_files(dir), expected.to_vec());
}

/// Creates the source of `n` ids at `rate` rows per second and the sink in `out`.
async fn create_tables(client: &Client, n: i64, rate: i64, out: &Path) {
    exec(
        client,
        &format!(
            "CREATE TABLE seq (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), \
             WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
             'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{n}', \
             'rows-per-second' = '{rate}')"
        ),
    )
    .await;
    exec(
        client,
        &format!(
            "CREATE TABLE windows (c BIGINT, s BIGINT, mx BIGINT) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
}

const WINDOW_QUERY: &str = "INSERT INTO windows SELECT COUNT(*), SUM(id), MAX(id) \
     FROM TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) \
     GROUP BY window_start, window_end";

fn path_of(url: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(url.strip_prefix("file://").unwrap_or(url))
}

fn int(job: &std::collections::HashMap<String, Option<String>>, key: &str) -> i64 {
    job.get(key)
        .cloned()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {job:?}"))
}

/// Both keyed state backends.
const BACKENDS: [&str; 2] = ["hashmap", "rocksdb"];

#[tokio::test]
async fn a_checkpointed_job_commits_exactly_its_rows_and_reports_its_checkpoints() {
    for backend in BACKENDS {
        checkpointed_job(backend).await;
    }
}

async fn checkpointed_job(backend: &str) {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    create_tables(&client, 20_000, 10_000, &out).await;
    exec(&client, &format!("SET 'state.backend.type' = '{backend}'")).await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    let job = submit(&client, WINDOW_QUERY).await;
    // Files become visible at completed checkpoints, before the job ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    while read_part_files(&out).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no file was committed while the job ran"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let running = describe_job(&client, &job).await;
    assert_eq!(running["status"].as_deref(), Some("RUNNING"), "{running:?}");
    let done = wait_for_status(&client, &job, "FINISHED").await;
    assert_rows(&out, &expected(20_000));
    assert!(int(&done, "completed_checkpoints") >= 2, "{done:?}");
    assert_eq!(int(&done, "restarts"), 0, "{done:?}");
    let latest = done["latest_checkpoint_path"].clone().expect("a path");
    assert!(
        path_of(&latest).join("_metadata").is_file(),
        "{latest} holds no _metadata"
    );
    // Checkpoints live under the data directory unless configured otherwise.
    assert!(
        path_of(&latest).starts_with(eddy.data_dir().join("checkpoints")),
        "{latest}"
    );
    let rest = common::rest_get(eddy.rest_port, &format!("/jobs/{job}/checkpoints"));
    assert!(rest["counts"]["completed"].as_u64().unwrap() >= 2, "{rest}");
    assert_eq!(
        rest["latest"]["completed"]["external_path"],
        latest.as_str(),
        "{rest}"
    );
    let jobs = simple(&client, "SHOW JOBS").await;
    let row: std::collections::HashMap<_, _> = jobs[0].iter().cloned().collect();
    assert!(row.contains_key("restarts") && row.contains_key("completed_checkpoints"));
}

#[tokio::test]
async fn a_checkpoint_that_times_out_is_aborted_and_the_job_goes_on() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    create_tables(&client, 10_000, 10_000, &out).await;
    for set in [
        "SET 'execution.checkpointing.interval' = '100 ms'",
        // Nothing completes within 1 ms: every checkpoint times out.
        "SET 'execution.checkpointing.timeout' = '1 ms'",
        "SET 'execution.checkpointing.tolerable-failed-checkpoints' = '1000'",
    ] {
        exec(&client, set).await;
    }
    let job = submit(&client, WINDOW_QUERY).await;
    let done = wait_for_status(&client, &job, "FINISHED").await;
    assert!(int(&done, "failed_checkpoints") >= 1, "{done:?}");
    assert_eq!(int(&done, "restarts"), 0, "{done:?}");
    assert_rows(&out, &expected(10_000));
}

#[tokio::test]
async fn stop_with_savepoint_then_resume_at_another_parallelism_gives_the_straight_run() {
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.numberOfTaskSlots=4"]);
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    let n = 30_000;
    create_tables(&client, n, 10_000, &out).await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    let first = submit(&client, WINDOW_QUERY).await;
    wait_for_status(&client, &first, "RUNNING").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let rows = simple(&client, &format!("STOP JOB '{first}' WITH SAVEPOINT")).await;
    let savepoint = rows[0][0].1.clone().expect("a savepoint path");
    assert!(
        path_of(&savepoint).starts_with(eddy.data_dir().join("savepoints")),
        "{savepoint}"
    );
    assert!(
        path_of(&savepoint).join("_metadata").is_file(),
        "{savepoint}"
    );
    wait_for_status(&client, &first, "FINISHED").await;
    let partial = read_part_files(&out).len();
    assert!(
        partial > 0 && partial < expected(n).len(),
        "the first run should have stopped part way: {partial} windows"
    );

    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
    )
    .await;
    exec(&client, "SET 'parallelism.default' = '3'").await;
    let second = submit(&client, WINDOW_QUERY).await;
    let done = wait_for_status(&client, &second, "FINISHED").await;
    assert_rows(&out, &expected(n));
    let rest = common::rest_get(eddy.rest_port, &format!("/jobs/{second}/checkpoints"));
    assert!(
        rest["latest"]["restored"]["id"].as_u64().is_some(),
        "{rest} {done:?}"
    );
}

#[tokio::test]
async fn a_bad_savepoint_path_or_unclaimed_state_is_refused_before_any_job_runs() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    create_tables(&client, 5_000, 5_000, &out).await;
    let missing = eddy.scratch_dir().join("no-such-savepoint");
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{}'", missing.display()),
    )
    .await;
    let e = try_simple(&client, WINDOW_QUERY).await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("22023"), "{e:?}");
    assert!(
        common::describe_error(&e).contains("no-such-savepoint"),
        "{e:?}"
    );
    let empty = eddy.scratch_dir().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{}'", empty.display()),
    )
    .await;
    let e = try_simple(&client, WINDOW_QUERY).await.unwrap_err();
    assert!(
        common::describe_error(&e).contains("does not hold a savepoint"),
        "{e:?}"
    );
    assert!(simple(&client, "SHOW JOBS").await.is_empty(), "no job ran");

    // A savepoint of this query...
    exec(&client, "RESET 'execution.savepoint.path'").await;
    exec(&client, "SET 'execution.checkpointing.interval' = '100 ms'").await;
    exec(&client, "DROP TABLE seq").await;
    exec(
        &client,
        "CREATE TABLE seq (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), \
         WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000', \
         'rows-per-second' = '2000')",
    )
    .await;
    let job = submit(&client, WINDOW_QUERY).await;
    wait_for_status(&client, &job, "RUNNING").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = simple(&client, &format!("STOP JOB '{job}' WITH SAVEPOINT")).await;
    let savepoint = rows[0][0].1.clone().unwrap();
    // ...holds window state a query with another aggregation does not claim.
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
    )
    .await;
    let changed = "INSERT INTO windows SELECT COUNT(*), MIN(id), MAX(id) \
         FROM TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) \
         GROUP BY window_start, window_end";
    let e = try_simple(&client, changed).await.unwrap_err();
    let message = common::describe_error(&e);
    assert!(
        message.contains("window-aggregate") && message.contains("ignore-unclaimed-state"),
        "{message}"
    );
    exec(
        &client,
        "SET 'execution.savepoint.ignore-unclaimed-state' = 'true'",
    )
    .await;
    let job = submit(&client, changed).await;
    wait_for_status(&client, &job, "RUNNING").await;
    simple(&client, &format!("STOP JOB '{job}'")).await;
}

#[tokio::test]
async fn restoring_a_job_directory_skips_a_checkpoint_whose_metadata_was_not_written() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    create_tables(&client, 1_000_000, 5_000, &out).await;
    exec(&client, "SET 'execution.checkpointing.interval' = '100 ms'").await;
    exec(&client, "SET 'state.checkpoints.num-retained' = '3'").await;
    let job = submit(&client, WINDOW_QUERY).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = describe_job(&client, &job).await;
        if int(&d, "completed_checkpoints") >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    simple(&client, &format!("STOP JOB '{job}'")).await;
    wait_for_status(&client, &job, "CANCELED").await;
    let dir = eddy.data_dir().join("checkpoints").join(&job);
    let mut ids: Vec<u64> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("chk-")?.parse().ok())
        .filter(|id| dir.join(format!("chk-{id}/_metadata")).is_file())
        .collect();
    ids.sort();
    assert!(ids.len() >= 2, "{ids:?}");
    // The newest checkpoint's metadata write was interrupted: it never completed.
    let newest = *ids.last().unwrap();
    std::fs::remove_file(dir.join(format!("chk-{newest}/_metadata"))).unwrap();
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{}'", dir.display()),
    )
    .await;
    let resumed = submit(&client, WINDOW_QUERY).await;
    wait_for_status(&client, &resumed, "RUNNING").await;
    let rest = common::rest_get(eddy.rest_port, &format!("/jobs/{resumed}/checkpoints"));
    assert_eq!(
        rest["latest"]["restored"]["id"].as_u64(),
        Some(ids[ids.len() - 2]),
        "{rest}"
    );
    simple(&client, &format!("STOP JOB '{resumed}'")).await;
}

#[tokio::test]
async fn killing_task_managers_repeatedly_loses_and_duplicates_no_row() {
    for backend in BACKENDS {
        kill_task_managers(backend, false).await;
    }
    // Restarts restore incremental checkpoints: SST files downloaded and read back.
    kill_task_managers("rocksdb", true).await;
}

async fn kill_task_managers(backend: &str, incremental: bool) {
    let mut cluster = Cluster::start(2, 1, &[]);
    let client = cluster.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let n = 60_000;
    create_tables(&client, n, 6_000, &out).await;
    exec(&client, &format!("SET 'state.backend.type' = '{backend}'")).await;
    exec(
        &client,
        &format!("SET 'execution.checkpointing.incremental' = '{incremental}'"),
    )
    .await;
    for set in [
        "SET 'execution.checkpointing.interval' = '300 ms'",
        "SET 'parallelism.default' = '2'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.attempts' = '20'",
        "SET 'restart-strategy.fixed-delay.delay' = '200 ms'",
    ] {
        exec(&client, set).await;
    }
    let job = submit(&client, WINDOW_QUERY).await;
    wait_for_status(&client, &job, "RUNNING").await;
    let mut live = vec![0, 1];
    let seed = std::process::id() as u64;
    for round in 0..3u64 {
        // A moment and a victim that differ from round to round and run to run.
        let jitter = (seed * 7919 + round * 104_729) % 1500;
        tokio::time::sleep(Duration::from_millis(800 + jitter)).await;
        let status = describe_job(&client, &job).await;
        if status["status"].as_deref() == Some("FINISHED") {
            break;
        }
        let victim = live.remove(((seed + round) % 2) as usize);
        cluster.kill_task_manager(victim);
        live.push(cluster.add_task_manager(1));
    }
    let done = wait_for_status(&client, &job, "FINISHED").await;
    assert!(int(&done, "restarts") >= 1, "{backend}: {done:?}");
    assert_rows(&out, &expected(n));
}

/// Shared files a checkpoint's `_metadata` references, as (checkpoint that uploaded the
/// file, local path).
fn shared_files(checkpoint: &Path) -> Vec<(u64, std::path::PathBuf)> {
    let text = std::fs::read_to_string(checkpoint.join("_metadata")).unwrap();
    let metadata: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut files = Vec::new();
    for task in metadata["tasks"].as_array().unwrap() {
        for url in task["shared"].as_array().into_iter().flatten() {
            let path = path_of(url.as_str().unwrap());
            let uploaded_by = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse().ok())
                .unwrap();
            files.push((uploaded_by, path));
        }
    }
    files
}

#[tokio::test]
async fn incremental_checkpoints_upload_only_new_files_and_restore_at_another_parallelism() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    let n = 60_000;
    create_tables(&client, n, 6_000, &out).await;
    for set in [
        "SET 'state.backend.type' = 'rocksdb'",
        "SET 'execution.checkpointing.incremental' = 'true'",
        "SET 'execution.checkpointing.interval' = '200 ms'",
        "SET 'state.checkpoints.num-retained' = '2'",
        "SET 'parallelism.default' = '2'",
    ] {
        exec(&client, set).await;
    }
    let job = submit(&client, WINDOW_QUERY).await;
    // A checkpoint that references an SST file an earlier checkpoint uploaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no checkpoint reused a file");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let described = describe_job(&client, &job).await;
        assert_eq!(
            described["status"].as_deref(),
            Some("RUNNING"),
            "{described:?}"
        );
        let Some(latest) = described["latest_checkpoint_path"].clone() else {
            continue;
        };
        let checkpoint = path_of(&latest);
        let id: u64 = checkpoint
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("chk-"))
            .and_then(|n| n.parse().ok())
            .unwrap();
        // The checkpoint may be subsumed and deleted while it is read.
        if !checkpoint.join("_metadata").is_file() {
            continue;
        }
        let files = shared_files(&checkpoint);
        if files.iter().any(|(by, _)| *by < id) {
            break;
        }
    }
    simple(&client, &format!("STOP JOB '{job}'")).await;
    let cancelled = wait_for_status(&client, &job, "CANCELED").await;
    // Checkpoints went on after the one that showed reuse: the sink committed their output,
    // so the job resumes from the latest (an older one would write those rows again).
    let latest = path_of(
        &cancelled["latest_checkpoint_path"]
            .clone()
            .expect("a latest checkpoint"),
    );
    assert!(shared_files(&latest).iter().all(|(_, p)| p.is_file()));

    // Every file a retained checkpoint references exists, and of the files uploaded up to
    // the latest checkpoint, none is left that no retained checkpoint references.
    let job_dir = latest.parent().unwrap().to_path_buf();
    let mut retained = Vec::new();
    for entry in std::fs::read_dir(&job_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("chk-") && entry.path().join("_metadata").is_file() {
            retained.extend(shared_files(&entry.path()));
        }
    }
    for (_, path) in &retained {
        assert!(
            path.is_file(),
            "{} is referenced but missing",
            path.display()
        );
    }
    let latest_id: u64 = latest
        .to_string_lossy()
        .rsplit("chk-")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for uploaded in std::fs::read_dir(job_dir.join("shared")).unwrap().flatten() {
        let by: u64 = uploaded.file_name().to_string_lossy().parse().unwrap();
        if by > latest_id {
            continue;
        }
        for file in std::fs::read_dir(uploaded.path()).unwrap().flatten() {
            assert!(
                retained.iter().any(|(_, p)| *p == file.path()),
                "{} is referenced by no retained checkpoint",
                file.path().display()
            );
        }
    }

    // Resumed at parallelism 3 from the cancelled job's latest incremental checkpoint, the
    // job writes exactly the rows an undisturbed run writes.
    exec(&client, "SET 'parallelism.default' = '3'").await;
    exec(
        &client,
        &format!("SET 'execution.savepoint.path' = '{}'", latest.display()),
    )
    .await;
    let resumed = submit(&client, WINDOW_QUERY).await;
    wait_for_status(&client, &resumed, "FINISHED").await;
    assert_rows(&out, &expected(n));
}

#[tokio::test]
async fn rocksdb_holds_window_state_far_larger_than_its_memory_through_checkpoints() {
    // 4 MB for every RocksDB instance of the process, and a window buffer of 1,000 groups:
    // 100,000 groups of one window go to RocksDB and through every checkpoint.
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.memory.managed.size=4mb"]);
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    let n: i64 = 200_000;
    create_tables(&client, n, 1_000_000, &out).await;
    for set in [
        "SET 'state.backend.type' = 'rocksdb'",
        "SET 'table.exec.window-agg.buffer-size-limit' = '1000'",
        "SET 'execution.checkpointing.interval' = '100 ms'",
        "SET 'parallelism.default' = '2'",
    ] {
        exec(&client, set).await;
    }
    exec(
        &client,
        "CREATE VIEW keyed AS SELECT id, ts, id % 100000 AS k FROM seq",
    )
    .await;
    let job = submit(
        &client,
        "INSERT INTO windows SELECT COUNT(*), SUM(id), MAX(id) \
         FROM TABLE(TUMBLE(TABLE keyed, DESCRIPTOR(ts), INTERVAL '1' HOUR)) \
         GROUP BY window_start, window_end, k",
    )
    .await;
    let done = wait_for_status(&client, &job, "FINISHED").await;
    // Key k holds ids k and k + 100,000 (key 0: 100,000 and 200,000).
    let mut expected: Vec<String> = (0..100_000i64)
        .map(|k| {
            let (a, b) = if k == 0 {
                (100_000, 200_000)
            } else {
                (k, k + 100_000)
            };
            format!("2,{},{b}", a + b)
        })
        .collect();
    expected.sort();
    assert_rows(&out, &expected);
    assert!(int(&done, "completed_checkpoints") >= 1, "{done:?}");
    let size = int(&done, "latest_checkpoint_size");
    assert!(
        size > 4 << 20,
        "state of {size} bytes should exceed the 4 MB of memory"
    );
}

#[tokio::test]
async fn rocksdb_spills_window_join_and_session_rows_the_heap_limit_refuses() {
    // 200,000 rows in one 1-hour window: a window join and a SESSION aggregation hold them
    // all until the end. On the heap they exceed a 1 MB buffer limit; RocksDB, with 4 MB of
    // memory, spills them and the results are exact.
    let n: i64 = 200_000;
    for backend in BACKENDS {
        let eddy = Eddy::start_with_args(&["-D", "taskmanager.memory.managed.size=4mb"]);
        let client = eddy.connect().await;
        let (joined, sessions) = (eddy.scratch_dir().join("j"), eddy.scratch_dir().join("s"));
        for sql in [
            format!(
                "CREATE TABLE seq (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), \
                 WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
                 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', \
                 'fields.id.end' = '{n}', 'rows-per-second' = '1000000')"
            ),
            "CREATE VIEW keyed AS SELECT id, ts, id % 1000 AS k FROM seq".to_string(),
            format!(
                "CREATE TABLE joined (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', \
                 'path' = '{}', 'format' = 'csv')",
                joined.display()
            ),
            format!(
                "CREATE TABLE sessions (k BIGINT, c BIGINT, s BIGINT, mx BIGINT) WITH \
                 ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                sessions.display()
            ),
            format!("SET 'state.backend.type' = '{backend}'"),
            "SET 'table.exec.window.buffer-memory-limit' = '1mb'".to_string(),
            "SET 'execution.checkpointing.interval' = '500 ms'".to_string(),
            "SET 'parallelism.default' = '2'".to_string(),
        ] {
            exec(&client, &sql).await;
        }
        let join = submit(
            &client,
            "INSERT INTO joined SELECT l.id, r.id \
             FROM TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' HOUR)) l \
             JOIN TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' HOUR)) r \
             ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.id = r.id",
        )
        .await;
        let session = submit(
            &client,
            "INSERT INTO sessions SELECT k, COUNT(*), SUM(id), MAX(id) \
             FROM TABLE(SESSION(TABLE keyed PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' HOUR)) \
             GROUP BY k, window_start, window_end",
        )
        .await;
        if backend == "hashmap" {
            for job in [&join, &session] {
                let failed = wait_for_status(&client, job, "FAILED").await;
                let error = failed["error"].clone().unwrap_or_default();
                assert!(
                    error.contains("table.exec.window.buffer-memory-limit"),
                    "{error}"
                );
            }
            continue;
        }
        wait_for_status(&client, &join, "FINISHED").await;
        wait_for_status(&client, &session, "FINISHED").await;
        let mut expected_join: Vec<String> = (1..=n).map(|i| format!("{i},{i}")).collect();
        expected_join.sort();
        assert_rows(&joined, &expected_join);
        // Key k holds the 200 ids k + 1000 j (key 0: 1000 j for j in 1..=200).
        let mut expected_sessions: Vec<String> = (0..1000i64)
            .map(|k| {
                let ids: Vec<i64> = match k {
                    0 => (1..=200).map(|j| 1000 * j).collect(),
                    _ => (0..200).map(|j| k + 1000 * j).collect(),
                };
                let max = ids.iter().max().copied().unwrap_or_default();
                format!("{k},200,{},{max}", ids.iter().sum::<i64>())
            })
            .collect();
        expected_sessions.sort();
        assert_rows(&sessions, &expected_sessions);
    }
}

/// Rows of `k, count, sum, max` per SESSION window: ids in blocks of 100 are 10 ms apart
/// within a block and more than 10 s apart between blocks, so each block's ids of one key
/// `id % 3` form one session.
fn expected_sessions(n: i64) -> Vec<String> {
    let mut rows = Vec::new();
    for block in 0..=n / 100 {
        for k in 0..3 {
            let ids: Vec<i64> = (block * 100..block * 100 + 100)
                .filter(|id| *id >= 1 && *id <= n && id % 3 == k)
                .collect();
            if let Some(max) = ids.last() {
                rows.push(format!(
                    "{k},{},{},{max}",
                    ids.len(),
                    ids.iter().sum::<i64>()
                ));
            }
        }
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn session_and_window_join_state_survives_a_savepoint_and_a_rescale() {
    for backend in BACKENDS {
        session_and_join(backend).await;
    }
}

async fn session_and_join(backend: &str) {
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.numberOfTaskSlots=8"]);
    let client = eddy.connect().await;
    let n = 3_000;
    let (sessions, joined) = (eddy.scratch_dir().join("s"), eddy.scratch_dir().join("j"));
    for sql in [
        format!(
            "CREATE TABLE sq (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 10 + (id / 100) * 10000, 3), \
             WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
             'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{n}', \
             'rows-per-second' = '1000')"
        ),
        "CREATE VIEW sk AS SELECT id, ts, id % 3 AS k FROM sq".to_string(),
        format!(
            "CREATE TABLE sessions (k BIGINT, c BIGINT, s BIGINT, mx BIGINT) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            sessions.display()
        ),
        format!(
            "CREATE TABLE joined (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            joined.display()
        ),
        format!("SET 'state.backend.type' = '{backend}'"),
        "SET 'execution.checkpointing.interval' = '200 ms'".to_string(),
    ] {
        exec(&client, &sql).await;
    }
    let session_query = "INSERT INTO sessions SELECT k, COUNT(*), SUM(id), MAX(id) \
         FROM TABLE(SESSION(TABLE sk PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' SECOND)) \
         GROUP BY k, window_start, window_end";
    let join_query = "INSERT INTO joined SELECT l.id, r.id \
         FROM TABLE(TUMBLE(TABLE sq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) l \
         JOIN TABLE(TUMBLE(TABLE sq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) r \
         ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.id = r.id";
    for (query, out, expected) in [
        (session_query, &sessions, expected_sessions(n)),
        (join_query, &joined, {
            let mut rows: Vec<String> = (1..=n).map(|i| format!("{i},{i}")).collect();
            rows.sort();
            rows
        }),
    ] {
        exec(&client, "RESET 'execution.savepoint.path'").await;
        exec(&client, "SET 'parallelism.default' = '2'").await;
        let first = submit(&client, query).await;
        let savepoint = stop_part_way(&client, &first).await;
        let partial = read_part_files(out).len();
        assert!(
            partial < expected.len(),
            "{backend}: the first run should have stopped part way ({partial} rows)"
        );
        exec(
            &client,
            &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
        )
        .await;
        exec(&client, "SET 'parallelism.default' = '3'").await;
        let second = submit(&client, query).await;
        wait_for_status(&client, &second, "FINISHED").await;
        assert_rows(out, &expected);
    }
}

#[tokio::test]
async fn a_user_error_fails_a_checkpointed_job_at_once_instead_of_restarting_it() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let input = eddy.scratch_dir().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("a.csv"), "1\n2\nnot a number\n4\n").unwrap();
    exec(
        &client,
        &format!(
            "CREATE TABLE nums (n BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', \
             'format' = 'csv')",
            input.display()
        ),
    )
    .await;
    exec(
        &client,
        "CREATE TABLE sunk (n BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(&client, "SET 'execution.checkpointing.interval' = '100 ms'").await;
    let job = submit(&client, "INSERT INTO sunk SELECT n FROM nums").await;
    let failed = wait_for_status(&client, &job, "FAILED").await;
    assert_eq!(int(&failed, "restarts"), 0, "{failed:?}");
    let error = failed["error"].clone().unwrap_or_default();
    assert!(error.contains("a.csv"), "{error}");
}

#[tokio::test]
async fn at_least_once_checkpoints_complete_without_aligning_a_join_s_inputs() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.scratch_dir().join("out");
    let n = 4_000;
    create_tables(&client, n, 4_000, &out).await;
    exec(
        &client,
        &format!(
            "CREATE TABLE pairs (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
    for set in [
        "SET 'execution.checkpointing.interval' = '100 ms'",
        "SET 'execution.checkpointing.mode' = 'AT_LEAST_ONCE'",
        "SET 'parallelism.default' = '2'",
    ] {
        exec(&client, set).await;
    }
    let job = submit(
        &client,
        "INSERT INTO pairs SELECT l.id, r.id \
         FROM TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) l \
         JOIN TABLE(TUMBLE(TABLE seq, DESCRIPTOR(ts), INTERVAL '1' SECOND)) r \
         ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.id = r.id",
    )
    .await;
    let done = wait_for_status(&client, &job, "FINISHED").await;
    assert!(int(&done, "completed_checkpoints") >= 2, "{done:?}");
    let mut expected: Vec<String> = (1..=n).map(|i| format!("{i},{i}")).collect();
    expected.sort();
    // Without a failure nothing is replayed: exactly the rows, even at least once.
    assert_rows(&out, &expected);
}

#[tokio::test]
async fn a_failing_streaming_select_is_not_restarted_into_its_client() {
    let eddy = Eddy::start_with_args(&["-D", "debug.testing-functions=true"]);
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE gen (name STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '10')",
    )
    .await;
    for set in [
        "SET 'execution.checkpointing.interval' = '100 ms'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.attempts' = '5'",
        "SET 'restart-strategy.fixed-delay.delay' = '10 ms'",
    ] {
        exec(&client, set).await;
    }
    // A panic is not the user's error: an INSERT would restart. A SELECT's rows go to its
    // client, which could not tell rows sent again after a restart: it fails instead.
    let e = try_simple(
        &client,
        "SELECT eddy_test_panic('boom into a client') FROM gen",
    )
    .await
    .unwrap_err();
    assert!(
        common::describe_error(&e).contains("boom into a client"),
        "{e:?}"
    );
    let jobs = simple(&client, "SHOW JOBS").await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let row: std::collections::HashMap<_, _> = jobs[0].iter().cloned().collect();
    assert_eq!(row["restarts"].as_deref(), Some("0"), "{row:?}");
}
