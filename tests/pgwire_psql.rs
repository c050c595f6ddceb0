//! `psql` connects and runs statements (issue 2, item 2). Skipped when psql is not installed
//! (.ci/run installs postgresql-client).

mod common;

use std::process::Command;

use common::{test_data_dir, Eddy};

fn psql(eddy: &Eddy, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &eddy.pg_port.to_string(),
            "-U",
            "eddy",
            "-d",
            "eddy",
        ])
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "30")
        .output()
        .expect("run psql")
}

fn psql_available() -> bool {
    Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn psql_runs_statements() {
    assert!(
        psql_available(),
        "psql is not installed: run .ci/run (it installs postgresql-client) or apt-get install postgresql-client"
    );
    let eddy = Eddy::start();
    let ddl = format!(
        "CREATE TABLE people (id INT, name STRING, dept STRING, age INT, salary DOUBLE, active BOOLEAN) \
         WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
        test_data_dir().join("people.csv").display()
    );
    let out = psql(&eddy, &ddl);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = psql(
        &eddy,
        "SELECT name, salary, active FROM people WHERE id <= 2 ORDER BY id",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Alice|120000.5|t\nBob|95000|t\n"
    );

    // An error: non-zero exit, SQLSTATE-bearing message on stderr.
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &eddy.pg_port.to_string(),
            "-U",
            "eddy",
            "-d",
            "eddy",
        ])
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
            "-c",
            "SELECT * FROM no_such_table",
        ])
        .output()
        .expect("run psql");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("42P01") && err.contains("no_such_table"),
        "{err}"
    );
}
