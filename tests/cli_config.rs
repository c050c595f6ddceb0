//! The command line and configuration sources (issue 2, item 1): `--help`, `-D key=value`,
//! `--config FILE` (YAML), their precedence (file < -D < session SET), and bad values.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{describe_job, exec, submit, test_data_dir, wait_for_status, Eddy};
use tokio_postgres::Client;

fn eddy_bin() -> String {
    std::env::var("EDDY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_eddy").into())
}

#[test]
fn help_documents_flags_and_defaults() {
    let out = Command::new(eddy_bin())
        .arg("--help")
        .output()
        .expect("run eddy --help");
    assert!(out.status.success(), "eddy --help failed: {out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--config",
        "--data-dir",
        "--pg-port",
        "--rest-port",
        "-D",
        "5433",
        "8081",
        "eddy-data",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
}

/// Runs eddy with `args` expecting it to refuse to start; returns its stderr+stdout.
fn start_expecting_failure(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (pg, rest) = common::free_ports();
    let mut child = Command::new(eddy_bin())
        .args([
            "--pg-port",
            &pg.to_string(),
            "--rest-port",
            &rest.to_string(),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn eddy");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(!status.success(), "eddy {args:?} exited successfully");
            return format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("eddy {args:?} did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bad_config_value_is_refused_at_startup() {
    let msg = start_expecting_failure(&["-D", "parallelism.default=lots"]);
    assert!(
        msg.contains("parallelism.default"),
        "error does not name the key: {msg}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eddy.yaml");
    std::fs::write(&file, "taskmanager.numberOfTaskSlots: many\n").unwrap();
    let msg = start_expecting_failure(&["--config", file.to_str().unwrap()]);
    assert!(
        msg.contains("taskmanager.numberOfTaskSlots"),
        "error does not name the key: {msg}"
    );
}

async fn tables(client: &Client, eddy: &Eddy) {
    exec(
        client,
        &format!(
            "CREATE TABLE people (id INT, name STRING, dept STRING, age INT, salary DOUBLE, active BOOLEAN) \
             WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            test_data_dir().join("people.csv").display()
        ),
    )
    .await;
    exec(
        client,
        &format!(
            "CREATE TABLE out_t (id INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            eddy.scratch_dir().join("out").display()
        ),
    )
    .await;
    exec(
        client,
        "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10')",
    )
    .await;
    exec(
        client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
}

/// With table.dml-sync on, the job has FINISHED by the time INSERT returns.
async fn assert_dml_sync_on(client: &Client) {
    let job = submit(client, "INSERT INTO out_t SELECT id FROM people").await;
    let desc = describe_job(client, &job).await;
    assert_eq!(
        desc["status"].as_deref(),
        Some("FINISHED"),
        "dml-sync should be on: {desc:?}"
    );
}

/// With table.dml-sync off, INSERT over an unbounded source returns while the job runs.
async fn assert_dml_sync_off(client: &Client) {
    let job = tokio::time::timeout(
        common::JOB_TIMEOUT,
        submit(client, "INSERT INTO bh SELECT id FROM endless"),
    )
    .await
    .expect("INSERT over an unbounded source blocked: dml-sync should be off");
    wait_for_status(client, &job, "RUNNING").await;
    exec(client, &format!("STOP JOB '{job}'")).await;
    wait_for_status(client, &job, "CANCELED").await;
}

#[tokio::test]
async fn dash_d_sets_a_key() {
    let eddy = Eddy::start_with_args(&["-D", "table.dml-sync=true"]);
    let client = eddy.connect().await;
    tables(&client, &eddy).await;
    assert_dml_sync_on(&client).await;

    // A session SET overrides -D, for this session only.
    exec(&client, "SET 'table.dml-sync' = 'false'").await;
    assert_dml_sync_off(&client).await;
    let other = eddy.connect().await;
    assert_dml_sync_on(&other).await;

    // RESET goes back to the -D value.
    exec(&client, "RESET 'table.dml-sync'").await;
    assert_dml_sync_on(&client).await;
}

#[tokio::test]
async fn yaml_file_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join("on.yaml");
    std::fs::write(&on, "table.dml-sync: true\nparallelism.default: 2\n").unwrap();
    let eddy = Eddy::start_with_args(&["--config", on.to_str().unwrap()]);
    let client = eddy.connect().await;
    tables(&client, &eddy).await;
    assert_dml_sync_on(&client).await;
    drop(client);
    drop(eddy);

    // -D wins over the file.
    let off = dir.path().join("off.yaml");
    std::fs::write(&off, "table.dml-sync: false\n").unwrap();
    let eddy = Eddy::start_with_args(&[
        "--config",
        off.to_str().unwrap(),
        "-D",
        "table.dml-sync=true",
    ]);
    let client = eddy.connect().await;
    tables(&client, &eddy).await;
    assert_dml_sync_on(&client).await;
    drop(client);
    drop(eddy);

    // The file alone, set to false.
    let eddy = Eddy::start_with_args(&["--config", off.to_str().unwrap()]);
    let client = eddy.connect().await;
    tables(&client, &eddy).await;
    assert_dml_sync_off(&client).await;
}
