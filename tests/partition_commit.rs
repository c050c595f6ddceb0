//! Partition commit of a partitioned filesystem table (Flink's `sink.partition-commit.*`)
//! end to end, on the real `eddy` binary, with the options of Nexmark q10: one partition
//! per minute of event time (`dt`, `hm`), committed with a `_SUCCESS` file once the
//! watermark has passed the partition's minute plus one minute. What a success file
//! promises is that the partition is complete: every partition that has one must hold
//! exactly its minute's rows, checked while the job still writes later minutes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_same, exec, read_part_files, simple, submit, wait_for_status, Eddy};

const PARTITIONED_OPTIONS: &str = "'format' = 'csv', \
     'sink.partition-commit.trigger' = 'partition-time', \
     'sink.partition-commit.delay' = '1 min', \
     'sink.partition-commit.policy.kind' = 'success-file', \
     'partition.time-extractor.timestamp-pattern' = '$dt $hm:00', \
     'sink.rolling-policy.rollover-interval' = '1min', \
     'sink.rolling-policy.check-interval' = '1min'";

/// Ids `1..` are seconds of event time from the epoch: minute `m` holds ids
/// `60 m .. 60 m + 59` (minute 0 starts at 1).
fn minute_rows(m: i64) -> Vec<String> {
    ((60 * m).max(1)..60 * (m + 1))
        .map(|id| id.to_string())
        .collect()
}

async fn create_source(client: &tokio_postgres::Client, end: i64, rate: i64) {
    exec(
        client,
        &format!(
            "CREATE TABLE seq (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 1000, 3), \
             WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
             'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{end}', \
             'rows-per-second' = '{rate}')"
        ),
    )
    .await;
}

async fn create_sink(client: &tokio_postgres::Client, name: &str, out: &Path) {
    exec(
        client,
        &format!(
            "CREATE TABLE {name} (id BIGINT, dt STRING, hm STRING) PARTITIONED BY (dt, hm) \
             WITH ('connector' = 'filesystem', 'path' = '{}', {PARTITIONED_OPTIONS})",
            out.display()
        ),
    )
    .await;
}

const INSERT: &str = "SELECT id, DATE_FORMAT(ts, 'yyyy-MM-dd'), DATE_FORMAT(ts, 'HH:mm') FROM seq";

fn partition(out: &Path, m: i64) -> std::path::PathBuf {
    out.join("dt=1970-01-01").join(format!("hm=00%3A{m:02}"))
}

#[tokio::test]
async fn a_partition_gets_its_success_file_once_the_watermark_passes_it_and_is_complete() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let out = eddy.data_dir().join("q10");
    // Unbounded for the test's purposes: 50 rows (50 s of event time) per second.
    create_source(&client, 1_000_000, 50).await;
    create_sink(&client, "minutes", &out).await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    let job = submit(&client, &format!("INSERT INTO minutes {INSERT}")).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut committed = 0;
    // Until three minutes are committed, every committed one is complete.
    while committed < 3 {
        assert!(
            Instant::now() < deadline,
            "no partition was committed in time"
        );
        committed = 0;
        for m in 0..1000 {
            let dir = partition(&out, m);
            if !dir.join("_SUCCESS").exists() {
                break;
            }
            assert_same(read_part_files(&dir), minute_rows(m));
            committed += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    simple(&client, &format!("STOP JOB '{job}'")).await;
}

#[tokio::test]
async fn at_the_end_of_input_every_partition_is_committed_with_or_without_checkpoints() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    // 150 s of event time: minutes 0, 1 and 2; the watermark never passes minute 2 + 1.
    create_source(&client, 150, 100_000).await;
    for (name, checkpoints) in [("plain", false), ("checkpointed", true)] {
        let out = eddy.data_dir().join(name);
        create_sink(&client, name, &out).await;
        if checkpoints {
            exec(&client, "SET 'execution.checkpointing.interval' = '100 ms'").await;
        }
        let job = submit(&client, &format!("INSERT INTO {name} {INSERT}")).await;
        wait_for_status(&client, &job, "FINISHED").await;
        for m in 0..3 {
            let dir = partition(&out, m);
            assert!(dir.join("_SUCCESS").exists(), "{name}: minute {m}");
            let expected: Vec<String> = minute_rows(m)
                .into_iter()
                .filter(|id| id.parse::<i64>().unwrap() <= 150)
                .collect();
            assert_same(read_part_files(&dir), expected);
        }
    }
}
