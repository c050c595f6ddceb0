//! Malformed input both ways (issue 2, item 6): with `*.ignore-parse-errors` the bad records are
//! skipped and counted (DESCRIBE JOB records_skipped) and the job FINISHES; without it the job
//! goes FAILED with an error naming the file and line and quoting the record. Neither crashes
//! the process.

mod common;

use std::path::Path;

use common::{exec, mentions_line, scalar, simple, submit, values, wait_for_status, Eddy};
use tokio_postgres::Client;

/// 10 lines of `id,name,age`; lines 3, 6 and 9 (1-based) are malformed.
const CSV: &str = "\
1,Alice,34
2,Bob,28
3,Carol,forty-five
4,Dave,23
5,Eve,39
6,Frank,not-a-number
7,Grace,30
8,Heidi,27
9,Ivan,9x9
10,Judy,41
";

/// 6 JSON lines; line 2 has a string id, line 5 is cut short.
const JSON: &str = r#"{"id": 1, "name": "Alice"}
{"id": "two", "name": "Bob"}
{"id": 3, "name": "Carol"}
{"id": 4, "name": "Dave"}
{"id": 5, "name": "Ev
{"id": 6, "name": "Frank"}
"#;

async fn create_csv_tables(client: &Client, input: &Path, out: &Path, lenient: bool) {
    let ignore = if lenient {
        ", 'csv.ignore-parse-errors' = 'true'"
    } else {
        ""
    };
    exec(
        client,
        &format!(
            "CREATE TABLE src (id INT, name STRING, age INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv'{ignore})",
            input.display()
        ),
    )
    .await;
    exec(
        client,
        &format!(
            "CREATE TABLE out_t (id INT, name STRING, age INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            out.display()
        ),
    )
    .await;
}

#[tokio::test]
async fn csv_bad_lines_skipped_and_counted() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let input = eddy.scratch_dir().join("people_bad.csv");
    std::fs::write(&input, CSV).unwrap();
    create_csv_tables(&client, &input, &eddy.scratch_dir().join("out"), true).await;

    let job = submit(&client, "INSERT INTO out_t SELECT * FROM src").await;
    let desc = wait_for_status(&client, &job, "FINISHED").await;
    assert_eq!(desc["records_skipped"].as_deref(), Some("3"), "{desc:?}");
    assert_eq!(desc["records_out"].as_deref(), Some("7"), "{desc:?}");
    assert_eq!(desc["error"], None, "{desc:?}");

    let ids = values(&client, "SELECT id FROM out_t ORDER BY id").await;
    let ids: Vec<&str> = ids.iter().map(|r| r[0].as_deref().unwrap()).collect();
    assert_eq!(ids, vec!["1", "2", "4", "5", "7", "8", "10"]);
    assert_eq!(
        scalar(&client, "SELECT sum(age) FROM out_t")
            .await
            .as_deref(),
        Some("222")
    );
}

#[tokio::test]
async fn csv_bad_line_fails_job_naming_file_line_and_record() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let input = eddy.scratch_dir().join("people_bad.csv");
    std::fs::write(&input, CSV).unwrap();
    create_csv_tables(&client, &input, &eddy.scratch_dir().join("out"), false).await;

    let job = submit(&client, "INSERT INTO out_t SELECT * FROM src").await;
    let desc = wait_for_status(&client, &job, "FAILED").await;
    let error = desc["error"]
        .clone()
        .unwrap_or_else(|| panic!("FAILED job without error: {desc:?}"));
    assert!(
        error.contains("people_bad.csv"),
        "error does not name the file: {error}"
    );
    assert!(
        mentions_line(&error, 3),
        "error does not give line 3: {error}"
    );
    assert!(
        error.contains("3,Carol,forty-five"),
        "error does not quote the record: {error}"
    );

    // SHOW JOBS shows it FAILED; the process and the session are fine.
    let jobs = simple(&client, "SHOW JOBS").await;
    assert!(
        jobs.iter().any(|r| r[0].1.as_deref() == Some(job.as_str()) && r[2].1.as_deref() == Some("FAILED")),
        "{jobs:?}"
    );
    assert_eq!(
        values(&client, "SELECT 1").await,
        vec![vec![Some("1".to_string())]]
    );

    // With dml-sync, INSERT itself fails with the job's error.
    exec(&client, "SET 'table.dml-sync' = 'true'").await;
    let err = client
        .simple_query("INSERT INTO out_t SELECT * FROM src")
        .await
        .expect_err("INSERT of a failing job under dml-sync must fail");
    let msg = err
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| err.to_string());
    assert!(
        msg.contains("people_bad.csv") && msg.contains("forty-five"),
        "{msg}"
    );
    assert_eq!(
        values(&client, "SELECT 2").await,
        vec![vec![Some("2".to_string())]]
    );
}

#[tokio::test]
async fn json_bad_lines_both_ways() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let input = eddy.scratch_dir().join("people_bad.json");
    std::fs::write(&input, JSON).unwrap();
    for (name, ignore) in [("lenient", "true"), ("strict", "false")] {
        exec(
            &client,
            &format!(
                "CREATE TABLE src_{name} (id INT, name STRING) WITH ('connector' = 'filesystem', 'path' = '{}', \
                 'format' = 'json', 'json.ignore-parse-errors' = '{ignore}')",
                input.display()
            ),
        )
        .await;
        exec(
            &client,
            &format!(
                "CREATE TABLE out_{name} (id INT, name STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
                eddy.scratch_dir().join(format!("out_{name}")).display()
            ),
        )
        .await;
    }

    let job = submit(&client, "INSERT INTO out_lenient SELECT * FROM src_lenient").await;
    let desc = wait_for_status(&client, &job, "FINISHED").await;
    assert_eq!(desc["records_skipped"].as_deref(), Some("2"), "{desc:?}");
    let ids = values(&client, "SELECT id FROM out_lenient ORDER BY id").await;
    let ids: Vec<&str> = ids.iter().map(|r| r[0].as_deref().unwrap()).collect();
    assert_eq!(ids, vec!["1", "3", "4", "6"]);

    let job = submit(&client, "INSERT INTO out_strict SELECT * FROM src_strict").await;
    let desc = wait_for_status(&client, &job, "FAILED").await;
    let error = desc["error"]
        .clone()
        .unwrap_or_else(|| panic!("FAILED job without error: {desc:?}"));
    assert!(
        error.contains("people_bad.json"),
        "error does not name the file: {error}"
    );
    assert!(
        mentions_line(&error, 2),
        "error does not give line 2: {error}"
    );
    assert!(
        error.contains(r#"{"id": "two", "name": "Bob"}"#),
        "error does not quote the record: {error}"
    );
}

#[tokio::test]
async fn garbage_input_never_crashes() {
    // Bytes that are neither CSV nor JSON nor UTF-8: the job ends (FINISHED or FAILED) and the
    // process keeps serving.
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for i in 0..20_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        junk.push((x >> 16) as u8);
        if i % 97 == 0 {
            junk.push(b'\n');
        }
    }
    junk.extend_from_slice(b"\n1,ok,1\n\xff\xfe,\x00,\"unterminated\n,,,,,,,,\n");
    let input = eddy.scratch_dir().join("junk.csv");
    std::fs::write(&input, &junk).unwrap();
    std::fs::write(eddy.scratch_dir().join("junk.json"), &junk).unwrap();

    for (fmt, opts) in [
        ("csv", "'csv.ignore-parse-errors' = 'true'"),
        ("csv", "'csv.ignore-parse-errors' = 'false'"),
        ("json", "'json.ignore-parse-errors' = 'true'"),
        ("json", "'json.ignore-parse-errors' = 'false'"),
    ] {
        let path = eddy.scratch_dir().join(format!("junk.{fmt}"));
        exec(&client, "DROP TABLE IF EXISTS junk").await;
        exec(&client, "DROP TABLE IF EXISTS junk_out").await;
        exec(
            &client,
            &format!(
                "CREATE TABLE junk (id INT, name STRING, age INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = '{fmt}', {opts})",
                path.display()
            ),
        )
        .await;
        exec(
            &client,
            "CREATE TABLE junk_out (id INT, name STRING, age INT) WITH ('connector' = 'blackhole')",
        )
        .await;
        let job = submit(&client, "INSERT INTO junk_out SELECT * FROM junk").await;
        let deadline = std::time::Instant::now() + common::JOB_TIMEOUT;
        loop {
            let desc = common::describe_job(&client, &job).await;
            match desc["status"].as_deref() {
                Some("FINISHED") | Some("FAILED") => break,
                _ if std::time::Instant::now() > deadline => {
                    panic!("job on junk did not end: {desc:?}")
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
        // A batch SELECT over the same junk errors or answers, but never kills the server.
        let _ = client.simple_query("SELECT count(*) FROM junk").await;
        assert!(eddy.is_running(), "eddy died on junk input ({fmt}, {opts})");
        assert_eq!(
            values(&client, "SELECT 1").await,
            vec![vec![Some("1".to_string())]]
        );
    }
}
