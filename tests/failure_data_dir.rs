//! The data directory under bad conditions (issue 11): a second Eddy on it refuses to
//! start, a corrupt catalog stops the start with an error naming the file and its backup
//! (and never a panic), and a catalog write that fails (a full disk) keeps the previous
//! catalog and answers 53100.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{exec, free_ports, sqlstate, try_simple, values, Eddy};

/// Runs eddy on `data_dir` and returns its exit status and log, or panics if it is still
/// running after 30 s (it must refuse at once).
fn start_expecting_refusal(data_dir: &std::path::Path) -> (std::process::ExitStatus, String) {
    let (pg, rest) = free_ports();
    let bin = std::env::var("EDDY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_eddy").into());
    let mut child = Command::new(bin)
        .args([
            "--pg-port",
            &pg.to_string(),
            "--rest-port",
            &rest.to_string(),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            return (out.status, log);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("eddy started on {} instead of refusing", data_dir.display());
}

#[tokio::test]
async fn a_second_eddy_on_the_same_data_dir_refuses_to_start() {
    let eddy = Eddy::start();
    let (status, log) = start_expecting_refusal(&eddy.data_dir());
    assert!(!status.success());
    assert!(
        log.contains(&eddy.data_dir().display().to_string()),
        "{log}"
    );
    assert!(log.contains(&format!("pid {}", eddy.pid())), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    // The first one is unharmed.
    let client = eddy.connect().await;
    assert_eq!(
        values(&client, "SELECT 1").await,
        vec![vec![Some("1".into())]]
    );
}

#[tokio::test]
async fn a_corrupt_catalog_stops_the_start_naming_the_file_and_its_backup() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE a (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE b (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    drop(client);
    eddy.stop();
    let catalog = eddy.data_dir().join("catalog.json");
    let good = std::fs::read(&catalog).unwrap();
    for damaged in [
        &good[..good.len() / 2],
        b"\x00\x01garbage".as_slice(),
        b"".as_slice(),
    ] {
        std::fs::write(&catalog, damaged).unwrap();
        let (status, log) = start_expecting_refusal(&eddy.data_dir());
        assert!(!status.success());
        assert!(log.contains(&catalog.display().to_string()), "{log}");
        assert!(log.contains("catalog.json.bak"), "{log}");
        assert!(!log.contains("panicked"), "{log}");
        // The damaged file is left as it was, for the user to inspect.
        assert_eq!(std::fs::read(&catalog).unwrap(), damaged);
    }
    // The backup is the catalog before the last change: it holds table a only.
    std::fs::rename(eddy.data_dir().join("catalog.json.bak"), &catalog).unwrap();
    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(
        values(&client, "SHOW TABLES").await,
        vec![vec![Some("a".to_string())]]
    );
}

#[tokio::test]
async fn a_failed_catalog_write_keeps_the_previous_catalog() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE a (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let catalog = eddy.data_dir().join("catalog.json");
    let before = std::fs::read(&catalog).unwrap();
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    std::os::unix::fs::symlink("/dev/full", eddy.data_dir().join("catalog.json.tmp")).unwrap();
    let e = try_simple(
        &client,
        "CREATE TABLE b (x INT) WITH ('connector' = 'blackhole')",
    )
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("53100"), "{e:?}");
    assert_eq!(std::fs::read(&catalog).unwrap(), before);
    // The table that could not be saved does not exist, in memory either.
    assert_eq!(
        values(&client, "SHOW TABLES").await,
        vec![vec![Some("a".to_string())]]
    );
    // With room again, the same statement works and survives a restart.
    exec(
        &client,
        "CREATE TABLE b (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    drop(client);
    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(
        values(&client, "SHOW TABLES").await,
        vec![vec![Some("a".to_string())], vec![Some("b".to_string())]]
    );
}
