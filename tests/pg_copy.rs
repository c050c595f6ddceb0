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

/// What a psycopg script printed; it fails the test if python3 or psycopg is missing.
fn python(eddy: &Eddy, script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script, &eddy.pg_port.to_string()])
        .output()
        .expect("python3 with psycopg (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    let stdout = python(&eddy, script);
    // What PostgreSQL 15 gives psycopg for the same table: the header is not a row.
    assert_eq!(
        stdout,
        "id,name\n1,plain\n2,\"with,comma\"\n3,\"say \"\"hi\"\"\"\n3"
    );
}

#[tokio::test]
async fn copy_errors_are_postgresql_errors() {
    let eddy = Eddy::start();
    let client = people(&eddy).await;
    // SQLSTATEs PostgreSQL 15 answers for the same statements (server files aside, which
    // PostgreSQL reads and writes and Eddy does not).
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
        ("COPY people FROM '/tmp/people.in'", "0A000"),
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

/// A filesystem table that COPY FROM fills, in another format than `people`'s.
async fn empty_copy_of_people(client: &tokio_postgres::Client, eddy: &Eddy, name: &str) {
    let ddl = format!(
        "CREATE TABLE {name} (id INT, name STRING, score DOUBLE, ok BOOLEAN) \
         WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
        eddy.scratch_dir().join(name).display()
    );
    client.batch_execute(&ddl).await.expect("create table");
}

fn psql_ok(eddy: &Eddy, sql: &str) -> String {
    let out = psql(eddy, sql);
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every column of a table as PostgreSQL's text COPY writes it, in id order.
fn dump(eddy: &Eddy, table: &str) -> String {
    psql_ok(
        eddy,
        &format!("COPY (SELECT id, name, score, ok FROM {table} ORDER BY id) TO STDOUT"),
    )
}

#[tokio::test]
async fn copy_from_stdin_fills_a_table_through_psql_psycopg_and_tokio_postgres() {
    let eddy = Eddy::start();
    let client = people(&eddy).await;
    // people.csv holds commas, quotes, tabs, backslashes and NULLs; its text COPY equals
    // PostgreSQL's (copy_to_stdout_writes_what_postgresql_writes).
    let original = dump(&eddy, "people");
    let text_file = eddy.scratch_dir().join("people.txt");
    let csv_file = eddy.scratch_dir().join("people.csv");
    psql_ok(
        &eddy,
        &format!("\\copy people TO '{}'", text_file.display()),
    );
    psql_ok(
        &eddy,
        &format!(
            "\\copy people TO '{}' WITH (FORMAT csv, HEADER)",
            csv_file.display()
        ),
    );

    // psql's \copy sends the file over COPY FROM STDIN, in either format.
    empty_copy_of_people(&client, &eddy, "from_text").await;
    let tag = psql_ok(
        &eddy,
        &format!("\\copy from_text FROM '{}'", text_file.display()),
    );
    assert_eq!(tag.trim(), "COPY 6");
    assert_eq!(dump(&eddy, "from_text"), original);
    empty_copy_of_people(&client, &eddy, "from_csv").await;
    let tag = psql_ok(
        &eddy,
        &format!(
            "\\copy from_csv FROM '{}' WITH (FORMAT csv, HEADER)",
            csv_file.display()
        ),
    );
    assert_eq!(tag.trim(), "COPY 6");
    assert_eq!(dump(&eddy, "from_csv"), original);

    // psycopg's copy.write_row, over a column list; the other columns are NULL.
    empty_copy_of_people(&client, &eddy, "from_psycopg").await;
    let script = "import sys, psycopg\n\
        with psycopg.connect(host='127.0.0.1', port=sys.argv[1], user='eddy', dbname='eddy') as c:\n\
        \x20   cur = c.cursor()\n\
        \x20   with cur.copy('COPY from_psycopg (name, id) FROM STDIN') as copy:\n\
        \x20       copy.write_row(('a\\tb', 1))\n\
        \x20       copy.write_row((None, 2))\n\
        \x20   print(cur.rowcount)";
    let stdout = python(&eddy, script);
    assert_eq!(stdout.trim(), "2");
    assert_eq!(
        dump(&eddy, "from_psycopg"),
        "1\ta\\tb\t\\N\t\\N\n2\t\\N\t\\N\t\\N\n"
    );

    // tokio-postgres sends COPY over the extended protocol.
    empty_copy_of_people(&client, &eddy, "from_tokio").await;
    let sink = client
        .copy_in("COPY from_tokio FROM STDIN WITH (FORMAT csv)")
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    use futures::SinkExt;
    sink.send(bytes::Bytes::from_static(b"7,seven,7.5,true\n8,,,\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    assert_eq!(
        dump(&eddy, "from_tokio"),
        "7\tseven\t7.5\tt\n8\t\\N\t\\N\t\\N\n"
    );
}

/// `\copy shop.t` writes into `shop.t`, not into a `t` of the current database.
#[tokio::test]
async fn copy_from_writes_into_the_table_its_full_name_names() {
    let eddy = Eddy::start();
    let client = people(&eddy).await;
    client.batch_execute("CREATE DATABASE shop").await.unwrap();
    empty_copy_of_people(&client, &eddy, "t").await;
    std::fs::create_dir_all(eddy.scratch_dir().join("t")).unwrap();
    let ddl = format!(
        "CREATE TABLE shop.t (id INT, name STRING, score DOUBLE, ok BOOLEAN) \
         WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
        eddy.scratch_dir().join("shop_t").display()
    );
    client.batch_execute(&ddl).await.unwrap();
    let file = eddy.scratch_dir().join("rows.txt");
    std::fs::write(&file, "1\tone\t1.5\tt\n").unwrap();
    let tag = psql_ok(&eddy, &format!("\\copy shop.t FROM '{}'", file.display()));
    assert_eq!(tag.trim(), "COPY 1");
    assert_eq!(dump(&eddy, "shop.t"), "1\tone\t1.5\tt\n");
    assert_eq!(dump(&eddy, "t"), "");
}

#[tokio::test]
async fn copy_from_refuses_bad_data_with_postgresql_errors() {
    let eddy = Eddy::start();
    let client = people(&eddy).await;
    empty_copy_of_people(&client, &eddy, "target").await;
    let copy = |data: &'static [u8], sql: &'static str| {
        let client = &client;
        async move {
            let sink = client.copy_in(sql).await?;
            futures::pin_mut!(sink);
            use futures::SinkExt;
            sink.send(bytes::Bytes::from_static(data)).await?;
            sink.finish().await
        }
    };
    // As PostgreSQL 15 answers the same COPY into a table of the same columns.
    for (data, sql, state, words) in [
        (
            &b"1\tok\t1\tt\nx\tbad\t1\tt\n"[..],
            "COPY target FROM STDIN",
            "22P02",
            "\"x\"",
        ),
        (
            b"1\tok\n",
            "COPY target FROM STDIN",
            "22P04",
            "missing data for column \"score\"",
        ),
        (
            b"1\ta\t1\tt\t9\n",
            "COPY target FROM STDIN",
            "22P04",
            "extra data after last expected column",
        ),
        (
            b"\"open\n",
            "COPY target FROM STDIN (FORMAT csv)",
            "22P04",
            "unterminated CSV quoted field",
        ),
        (
            b"1,a,1,maybe\n",
            "COPY target FROM STDIN (FORMAT csv)",
            "22P02",
            "\"maybe\"",
        ),
    ] {
        let e = copy(data, sql).await.expect_err(sql);
        let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!(db.code().code(), state, "{sql}: {}", db.message());
        assert!(db.message().contains(words), "{sql}: {}", db.message());
    }
    // Refused before any data: no such table or column, or a table that cannot be written.
    // (A connection each: tokio-postgres 0.7 does not go on after a COPY refused at
    // Execute, against PostgreSQL 15 either: "unexpected message from server".)
    for (sql, state) in [
        ("COPY nope FROM STDIN", "42P01"),
        ("COPY target (nope) FROM STDIN", "42703"),
        ("COPY target FROM '/etc/passwd'", "0A000"),
        ("COPY target FROM STDIN (FORMAT binary)", "0A000"),
    ] {
        let fresh = eddy.connect().await;
        let Err(e) = fresh.copy_in::<_, bytes::Bytes>(sql).await else {
            panic!("{sql} was taken");
        };
        assert_eq!(
            describe_error(&e).split(':').next(),
            Some(state),
            "{sql}: {e:?}"
        );
    }
    client
        .batch_execute(
            "CREATE TABLE gen (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1')",
        )
        .await
        .unwrap();
    let fresh = eddy.connect().await;
    let Err(e) = fresh
        .copy_in::<_, bytes::Bytes>("COPY gen FROM STDIN")
        .await
    else {
        panic!("COPY into datagen was taken");
    };
    assert!(describe_error(&e).starts_with("42809"), "{e:?}");
    // Nothing was written by the failed COPYs, and the session goes on.
    let written: Vec<_> = std::fs::read_dir(eddy.scratch_dir().join("target"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
    assert_eq!(
        // RowDescription, the row, CommandComplete.
        client.simple_query("SELECT 1").await.map(|r| r.len()).ok(),
        Some(3)
    );
}
