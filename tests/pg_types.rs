//! Values on the wire (issue 16): for every type Eddy returns, the RowDescription (type OID,
//! typmod, width) and each value's bytes in text and in binary format, compared with what
//! PostgreSQL 15 sends for the same values. `tests/clients/types/check.py` fetches each case
//! through libpq (psycopg's `PQexecParams`) in both formats; `expected.json` is PostgreSQL's
//! answer, recorded by `record.sh` there.

mod common;

use std::process::Command;

use common::Eddy;

#[test]
fn every_type_is_sent_as_postgres_sends_it() {
    let eddy = Eddy::start();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/types");
    let out = Command::new("python3")
        .arg(format!("{dir}/check.py"))
        .args(["--target", "eddy", "--host", "127.0.0.1"])
        .args(["--port", &eddy.pg_port.to_string()])
        .args(["--user", "eddy", "--dbname", "eddy"])
        .args(["--compare", &format!("{dir}/expected.json")])
        .output()
        .expect("run python3 (with psycopg 3; .ci/run installs it)");
    assert!(
        out.status.success(),
        "differences from PostgreSQL 15:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
