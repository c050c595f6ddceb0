//! A job at parallelism 4 produces the same multiset as at parallelism 1 (issue 2, tests).
//! The sink's part files are read directly from disk, independently of Eddy's own reader.

mod common;

use std::path::Path;

use common::{exec, scalar, submit, wait_for_status, Eddy};
use tokio_postgres::Client;

/// Runs `INSERT INTO <sink> <select>` at the given parallelism and waits for FINISHED.
async fn run_at(client: &Client, parallelism: u32, sink: &str, select: &str) -> String {
    exec(
        client,
        &format!("SET 'parallelism.default' = '{parallelism}'"),
    )
    .await;
    let job = submit(client, &format!("INSERT INTO {sink} {select}")).await;
    wait_for_status(client, &job, "FINISHED").await;
    job
}

fn sorted_i64_lines(dir: &Path) -> Vec<i64> {
    let mut v: Vec<i64> = common::read_part_files(dir)
        .iter()
        .map(|l| {
            l.trim()
                .parse()
                .unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn datagen_sequence_same_multiset_at_1_and_4() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let scratch = eddy.scratch_dir();
    exec(
        &client,
        "CREATE TABLE seq (v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10000', \
         'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '10000')",
    )
    .await;
    for p in [1, 4] {
        exec(
            &client,
            &format!(
                "CREATE TABLE out_p{p} (v BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                scratch.join(format!("p{p}")).display()
            ),
        )
        .await;
    }
    let select = "SELECT v FROM seq WHERE v % 7 = 3";
    run_at(&client, 1, "out_p1", select).await;
    run_at(&client, 4, "out_p4", select).await;

    let expected: Vec<i64> = (1..=10_000i64).filter(|v| v % 7 == 3).collect();
    let p1 = sorted_i64_lines(&scratch.join("p1"));
    let p4 = sorted_i64_lines(&scratch.join("p4"));
    assert_eq!(p1.len(), expected.len(), "parallelism 1 row count");
    assert_eq!(p1, expected, "parallelism 1 output");
    assert_eq!(p4.len(), expected.len(), "parallelism 4 row count");
    assert_eq!(p4, expected, "parallelism 4 output");

    // Eddy reads the same back.
    let sum: i64 = expected.iter().sum();
    for p in [1, 4] {
        assert_eq!(
            scalar(&client, &format!("SELECT sum(v) FROM out_p{p}")).await,
            Some(sum.to_string())
        );
    }
}

#[tokio::test]
async fn csv_directory_through_filter_same_multiset_at_1_and_4() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let scratch = eddy.scratch_dir();

    // Four input files of 2500 rows each: id,name,score.
    let input = scratch.join("input");
    std::fs::create_dir_all(&input).unwrap();
    let mut all = Vec::new();
    for f in 0..4 {
        let mut text = String::new();
        for i in 0..2500 {
            let id = f * 2500 + i;
            let score = (id * 37) % 101;
            text.push_str(&format!("{id},name{id},{score}\n"));
            all.push((id, score));
        }
        std::fs::write(input.join(format!("part-{f}.csv")), text).unwrap();
    }
    exec(
        &client,
        &format!(
            "CREATE TABLE src (id INT, name STRING, score INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            input.display()
        ),
    )
    .await;
    for p in [1, 4] {
        exec(
            &client,
            &format!(
                "CREATE TABLE out_p{p} (id INT, label STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                scratch.join(format!("p{p}")).display()
            ),
        )
        .await;
    }
    let select = "SELECT id, upper(name) FROM src WHERE score >= 50 AND id % 2 = 0";
    run_at(&client, 1, "out_p1", select).await;
    run_at(&client, 4, "out_p4", select).await;

    let mut expected: Vec<String> = all
        .iter()
        .filter(|(id, score)| *score >= 50 && id % 2 == 0)
        .map(|(id, _)| format!("{id},NAME{id}"))
        .collect();
    expected.sort();
    for p in [1, 4] {
        let mut got = common::read_part_files(&scratch.join(format!("p{p}")));
        got.sort();
        assert_eq!(got.len(), expected.len(), "parallelism {p} row count");
        assert_eq!(got, expected, "parallelism {p} output");
    }
}
