//! psycopg 3, the Python driver, against the real binary (`.ci/run` installs psycopg; the
//! test fails when it is missing rather than passing without having run).

mod common;

use std::process::Command;

use common::Eddy;

#[test]
fn psycopg3_queries_parameters_and_errors() {
    let has_psycopg = Command::new("python3")
        .args(["-c", "import psycopg"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        has_psycopg,
        "python3 with psycopg 3 is not installed: run .ci/run (it installs python3-psycopg) or apt-get install python3-psycopg"
    );
    let eddy = Eddy::start();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/psycopg_check.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(eddy.pg_port.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "psycopg check failed:\nstdout: {}\nstderr: {}\neddy log: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        eddy.log_tail(30)
    );
}
