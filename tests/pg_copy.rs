//! `COPY ... TO STDOUT` (issue 16): psql's output for each statement of
//! `tests/clients/copy/statements.sql` over `people.csv` equals PostgreSQL 15's, recorded
//! in `expected.out` by `record.sh`; psycopg's `cursor.copy()` reads the same bytes and
//! the row count; what Eddy does not do answers PostgreSQL's SQLSTATEs.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{describe_error, Eddy};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/copy")
}

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
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "30")
        .output()
        .expect("psql is installed (.ci/run installs postgresql-client)")
}

async fn people(eddy: &Eddy) -> tokio_postgres::Client {
    let client = eddy.connect().await;
    let ddl = format!(
        "CREATE TABLE people (id INT, name STRING, score DOUBLE, ok BOOLEAN) \
         WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'csv.null-literal' = '')",
        dir().join("people.csv").display()
    );
    client.batch_execute(&ddl).await.expect("create people");
    client
}

#[tokio::test]
async fn copy_to_stdout_writes_what_postgresql_writes() {
    let eddy = Eddy::start();
    let _client = people(&eddy).await;
    let statements = std::fs::read_to_string(dir().join("statements.sql")).unwrap();
    let mut actual = String::new();
    for statement in statements.lines().filter(|l| !l.trim().is_empty()) {
        actual.push_str(&format!("-- {statement}\n"));
        let out = psql(&eddy, statement);
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        actual.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    let expected = std::fs::read_to_string(dir().join("expected.out")).unwrap();
    if actual != expected {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}: PostgreSQL {e:?}, Eddy {a:?}", i + 1))
            .collect();
        panic!(
            "COPY output differs from PostgreSQL's ({} lines against {}):\n{}\n--- Eddy:\n{actual}",
            actual.lines().count(),
            expected.lines().count(),
            diff.join("\n")
        );
    }
}

#[tokio::test]
async fn psycopg_copy_reads_rows_and_count() {
    let eddy = Eddy::start();
    let _client = people(&eddy).await;
    let script = "import sys, psycopg\n\
        with psycopg.connect(host='127.0.0.1', port=sys.argv[1], user='eddy', dbname='eddy') as c:\n\
        \x20   cur = c.cursor()\n\
        \x20   with cur.copy('COPY (SELECT id, name FROM people WHERE id < 4 ORDER BY id) TO STDOUT (FORMAT csv, HEADER)') as copy:\n\
        \x20       data = b''.join(bytes(b) for b in copy)\n\
        \x20   sys.stdout.write(data.decode() + str(cur.rowcount))";
    let out = Command::new("python3")
        .args(["-c", script, &eddy.pg_port.to_string()])
        .output()
        .expect("python3 with psycopg (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What PostgreSQL 15 gives psycopg for the same table: the header is not a row.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id,name\n1,plain\n2,\"with,comma\"\n3,\"say \"\"hi\"\"\"\n3"
    );
}

#[tokio::test]
async fn copy_errors_are_postgresql_errors() {
    let eddy = Eddy::start();
    let client = people(&eddy).await;
    // SQLSTATEs PostgreSQL 15 answers for the same statements (COPY FROM and server files
    // aside, which PostgreSQL does and Eddy does not yet).
    for (sql, state) in [
        (
            "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, FORCE_QUOTE (b))",
            "42703",
        ),
        ("COPY (SELECT 1 AS a) TO STDOUT (FORMAT binary2)", "22023"),
        ("COPY (SELECT 1 AS a) TO STDOUT (QUOTE '''')", "0A000"),
        ("COPY (SELECT 1 AS a) TO STDOUT (DELIMITER 'x')", "22023"),
        (
            "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, DELIMITER '\"')",
            "22023",
        ),
        ("COPY nope TO STDOUT", "42P01"),
        ("COPY people FROM STDIN", "0A000"),
        ("COPY people TO '/tmp/people.out'", "0A000"),
        ("COPY (SELECT 1 TO STDOUT", "42601"),
    ] {
        match client.simple_query(sql).await {
            Ok(_) => panic!("`{sql}` succeeded"),
            Err(e) => {
                let got = describe_error(&e);
                assert!(
                    got.starts_with(state),
                    "`{sql}`: expected {state}, got {got}"
                );
            }
        }
    }
    // The session goes on.
    assert_eq!(
        common::scalar(&client, "SELECT 1").await.as_deref(),
        Some("1")
    );

    // A query that fails once COPY has begun ends with an ErrorResponse, as PostgreSQL's
    // does (a CopyFail from the server makes tokio-postgres drop the connection).
    let failed = match client
        .copy_out("COPY (SELECT 10 / (id - 6) AS q FROM people) TO STDOUT")
        .await
    {
        Err(e) => e,
        Ok(stream) => {
            use futures::StreamExt;
            let mut stream = std::pin::pin!(stream);
            let mut failure = None;
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    failure = Some(e);
                    break;
                }
            }
            failure.expect("COPY of a failing query succeeded")
        }
    };
    assert!(
        failed.as_db_error().is_some(),
        "not a server error: {failed}"
    );
    assert_eq!(
        common::scalar(&client, "SELECT 2").await.as_deref(),
        Some("2")
    );
}
