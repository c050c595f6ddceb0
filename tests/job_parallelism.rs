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

/// One csv file read by several subtasks at once, each a byte range of it (issue 17). The
/// rows, and a bad line's line number, are the file's whatever the parallelism.
#[tokio::test]
async fn one_large_file_is_read_in_byte_ranges_at_any_parallelism() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let scratch = eddy.scratch_dir();
    // Lines of varying length, blank lines among them, so cuts fall anywhere in a line.
    let mut text = String::new();
    let mut expected = Vec::new();
    for id in 0..20_000i64 {
        let pad = "x".repeat((id % 37) as usize);
        text.push_str(&format!("{id},{pad},{}\n", id % 11));
        if id % 1_000 == 0 {
            text.push('\n');
        }
        if id % 11 < 4 {
            expected.push(id);
        }
    }
    let file = scratch.join("one.csv");
    std::fs::write(&file, &text).unwrap();
    exec(
        &client,
        &format!(
            "CREATE TABLE src (id BIGINT, pad STRING, k INT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv', 'source.split.min-size' = '16kb')",
            file.display()
        ),
    )
    .await;
    for p in [1, 4] {
        exec(
            &client,
            &format!(
                "CREATE TABLE out_p{p} (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
                scratch.join(format!("p{p}")).display()
            ),
        )
        .await;
        run_at(
            &client,
            p,
            &format!("out_p{p}"),
            "SELECT id FROM src WHERE k < 4",
        )
        .await;
        let got = sorted_i64_lines(&scratch.join(format!("p{p}")));
        assert_eq!(got.len(), expected.len(), "parallelism {p} row count");
        assert_eq!(got, expected, "parallelism {p} output");
    }
    // A batch query reads the ranges as partitions of its scan.
    let sum: i64 = (0..20_000i64).sum();
    assert_eq!(
        common::values(&client, "SELECT count(*), sum(id) FROM src").await,
        vec![vec![Some("20000".to_string()), Some(sum.to_string())]]
    );

    // A bad line far into the file fails the job with the file's own line number.
    let bad_line = text.lines().count() - 100;
    let mut lines: Vec<&str> = text.lines().collect();
    lines[bad_line - 1] = "oops,x,1";
    std::fs::write(&file, lines.join("\n")).unwrap();
    let job = submit(&client, "INSERT INTO out_p4 SELECT id FROM src").await;
    let desc = wait_for_status(&client, &job, "FAILED").await;
    let error = desc.get("error").cloned().flatten().unwrap_or_default();
    assert!(
        common::mentions_line(&error, bad_line),
        "line {bad_line}: {error}"
    );
    assert!(error.contains("oops,x,1"), "{error}");
}
