//! HOP and CUMULATE window aggregations keep their windows as slices (one state per slice,
//! merged when a window fires). Slices outlive the windows that fire first, so a savepoint
//! carries slices some of whose windows were already emitted: resumed at another
//! parallelism, the job must neither emit those windows again nor lose the later ones.
//! The expected rows come from the semantics: a sequence of ids at `id` ms of event time,
//! so each window's count, sum and maximum per key are known without running anything.

mod common;

use common::{exec, read_part_files, stop_part_way, submit, wait_for_status, Eddy};

/// `k, count, sum, max` per key `id % 3` and window, over ids `1..=n`; `windows(id)` lists
/// the windows (as ends) holding the id.
fn expected(n: i64, windows: impl Fn(i64) -> Vec<i64>) -> Vec<String> {
    let mut groups: std::collections::BTreeMap<(i64, i64), (i64, i64, i64)> = Default::default();
    for id in 1..=n {
        for end in windows(id) {
            let g = groups.entry((id % 3, end)).or_insert((0, 0, 0));
            *g = (g.0 + 1, g.1 + id, g.2.max(id));
        }
    }
    groups
        .iter()
        .map(|((k, _), (c, s, m))| format!("{k},{c},{s},{m}"))
        .collect()
}

#[tokio::test]
async fn hop_and_cumulate_slices_resume_from_a_savepoint_at_another_parallelism() {
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.numberOfTaskSlots=4"]);
    let client = eddy.connect().await;
    let n = 30_000;
    exec(
        &client,
        &format!(
            "CREATE TABLE seq (id BIGINT, k AS id % 3, ts AS TO_TIMESTAMP_LTZ(id, 3), \
             WATERMARK FOR ts AS ts - INTERVAL '100' MILLISECOND) WITH ('connector' = 'datagen', \
             'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{n}', \
             'rows-per-second' = '10000')"
        ),
    )
    .await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    // HOP: 1 s windows every 250 ms, the four holding an id end in the next 250 ms steps.
    let hop = |id: i64| -> Vec<i64> {
        let first_end = (id / 250 + 1) * 250;
        (0..4).map(|i| first_end + 250 * i).collect()
    };
    // CUMULATE: 250 ms steps up to 1 s, ends from the id's step to the cycle's end.
    let cumulate = |id: i64| -> Vec<i64> {
        let cycle_end = (id / 1000 + 1) * 1000;
        let first_end = (id / 250 + 1) * 250;
        (first_end..=cycle_end).step_by(250).collect()
    };
    // One on each keyed state backend.
    for (name, backend, tvf, expected) in [
        (
            "hops",
            "hashmap",
            "HOP(TABLE seq, DESCRIPTOR(ts), INTERVAL '250' MILLISECOND, INTERVAL '1' SECOND)",
            expected(n, hop),
        ),
        (
            "cumulates",
            "rocksdb",
            "CUMULATE(TABLE seq, DESCRIPTOR(ts), INTERVAL '250' MILLISECOND, INTERVAL '1' SECOND)",
            expected(n, cumulate),
        ),
    ] {
        let out = eddy.scratch_dir().join(name);
        exec(
            &client,
            &format!(
                "CREATE TABLE {name} (k BIGINT, c BIGINT, s BIGINT, mx BIGINT) WITH \
                 ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                out.display()
            ),
        )
        .await;
        let query = format!(
            "INSERT INTO {name} SELECT k, COUNT(*), SUM(id), MAX(id) FROM TABLE({tvf}) \
             GROUP BY k, window_start, window_end"
        );
        exec(&client, "RESET 'execution.savepoint.path'").await;
        exec(&client, &format!("SET 'state.backend.type' = '{backend}'")).await;
        exec(&client, "SET 'parallelism.default' = '2'").await;
        let first = submit(&client, &query).await;
        let savepoint = stop_part_way(&client, &first).await;
        exec(
            &client,
            &format!("SET 'execution.savepoint.path' = '{savepoint}'"),
        )
        .await;
        exec(&client, "SET 'parallelism.default' = '3'").await;
        let second = submit(&client, &query).await;
        wait_for_status(&client, &second, "FINISHED").await;
        common::assert_same(read_part_files(&out), expected);
    }
}
