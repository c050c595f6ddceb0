//! Authentication and TLS (issue 16): `sql-gateway.endpoint.pg.auth` = `password` and
//! `scram-sha-256` over configuration users and CREATE USER, checked with tokio-postgres,
//! psql and psycopg; TLS with a certificate made by openssl, checked with psql's
//! `sslmode=verify-full`; the REST API's bearer token. The messages and SQLSTATEs are
//! PostgreSQL 15's for the same statements.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{describe_error, scalar, Eddy};
use tokio_postgres::{Client, NoTls};

const SCRAM: &str = "sql-gateway.endpoint.pg.auth=scram-sha-256";
/// A configuration superuser.
const ADMIN: &str = "sql-gateway.endpoint.pg.users.admin.password=admin-pw";

async fn login(eddy: &Eddy, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let conn = format!(
        "host=127.0.0.1 port={} user={user} password='{password}' dbname=eddy connect_timeout=30",
        eddy.pg_port
    );
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn must_login(eddy: &Eddy, user: &str, password: &str) -> Client {
    match login(eddy, user, password).await {
        Ok(c) => c,
        Err(e) => panic!("{user} cannot log in: {}", describe_error(&e)),
    }
}

/// Asserts that a login fails as PostgreSQL's does.
async fn refused(eddy: &Eddy, user: &str, password: &str) {
    match login(eddy, user, password).await {
        Ok(_) => panic!("{user} logged in with password {password:?}"),
        Err(e) => assert_eq!(
            describe_error(&e),
            format!("28P01: password authentication failed for user \"{user}\""),
        ),
    }
}

/// The SQLSTATE and message of a failing statement.
async fn error_of(client: &Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(_) => panic!("`{sql}` succeeded"),
        Err(e) => describe_error(&e),
    }
}

async fn ok(client: &Client, sql: &str) {
    if let Err(e) = client.simple_query(sql).await {
        panic!("`{sql}` failed: {}", describe_error(&e));
    }
}

/// The first authentication request the server sends for `user`: its code and body.
fn first_auth_request(port: u16, user: &str) -> (u32, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "eddy")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    s.write_all(&packet).unwrap();
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], b'R', "expected an authentication request");
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut rest = vec![0u8; len - 4];
    s.read_exact(&mut rest).unwrap();
    let code = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    (code, rest[4..].to_vec())
}

/// The error a startup packet without `user` gets.
fn no_user_refusal(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut body = 196608u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"database\0eddy\0\0");
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    s.write_all(&packet).unwrap();
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    assert_eq!(
        reply.first(),
        Some(&b'E'),
        "expected an ErrorResponse: {reply:?}"
    );
    assert!(
        String::from_utf8_lossy(&reply).contains("C28000"),
        "{reply:?}"
    );
    String::from_utf8_lossy(&reply).to_string()
}

fn psql(port: u16, conninfo: &str, password: &str, command: &str) -> Output {
    Command::new("psql")
        .arg(format!("host=127.0.0.1 port={port} dbname=eddy {conninfo}"))
        .args([
            "-X",
            "-A",
            "-t",
            "-w",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            command,
        ])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "30")
        .output()
        .expect("psql is installed (.ci/run installs postgresql-client)")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).trim().to_string()
}

#[tokio::test]
async fn scram_users_from_configuration_and_create_user() {
    let eddy = Eddy::start_with_args(&["-D", SCRAM, "-D", ADMIN]);
    // SCRAM-SHA-256 is offered, and without TLS never its channel-binding variant.
    let (code, body) = first_auth_request(eddy.pg_port, "admin");
    assert_eq!(code, 10, "AuthenticationSASL");
    assert_eq!(body, b"SCRAM-SHA-256\0\0");
    // A startup packet without a user is refused, as PostgreSQL refuses it.
    assert!(no_user_refusal(eddy.pg_port)
        .contains("no PostgreSQL user name specified in startup packet"));

    let admin = must_login(&eddy, "admin", "admin-pw").await;
    assert_eq!(scalar(&admin, "SELECT 1 + 1").await.as_deref(), Some("2"));
    refused(&eddy, "admin", "admin-pw ").await;
    refused(&eddy, "admin", "").await;
    // An unknown user fails exactly as a wrong password does.
    refused(&eddy, "ghost", "admin-pw").await;

    ok(&admin, "CREATE USER alice WITH PASSWORD 'alice-1'").await;
    assert_eq!(
        error_of(&admin, "CREATE USER alice").await,
        "42710: role \"alice\" already exists"
    );
    assert_eq!(
        error_of(&admin, "CREATE ROLE admin").await,
        "42710: role \"admin\" already exists"
    );
    assert_eq!(
        error_of(&admin, "DROP USER nobody").await,
        "42704: role \"nobody\" does not exist"
    );
    ok(&admin, "DROP USER IF EXISTS nobody").await;
    // A role without LOGIN cannot connect, whatever its password.
    ok(&admin, "CREATE ROLE reader PASSWORD 'reader-1'").await;
    refused(&eddy, "reader", "reader-1").await;
    assert_eq!(
        error_of(&admin, "ALTER USER admin PASSWORD 'x'")
            .await
            .split(':')
            .next(),
        Some("42501")
    );
    assert!(error_of(&admin, "SET 'rest.auth.token' = 'x'")
        .await
        .starts_with("22023: 'rest.auth.token' cannot be set in a session"),);
    // Secrets are not in the session's view of the configuration.
    let settings = common::values(&admin, "SET").await;
    assert!(
        !format!("{settings:?}").contains("admin-pw"),
        "{settings:?}"
    );
    // An empty password is no password (PostgreSQL clears it the same way).
    ok(&admin, "CREATE USER blank PASSWORD ''").await;
    refused(&eddy, "blank", "").await;
    ok(&admin, "CREATE USER nopass").await;
    refused(&eddy, "nopass", "").await;
    assert_eq!(
        error_of(&admin, "DROP USER admin").await.split(':').next(),
        Some("42501")
    );
    // Dropping several roles where one is missing drops none.
    assert_eq!(
        error_of(&admin, "DROP USER blank, nobody").await,
        "42704: role \"nobody\" does not exist"
    );
    ok(&admin, "DROP USER blank, nopass").await;
    ok(&admin, "CREATE USER root2 SUPERUSER PASSWORD 'root-2'").await;
    let root2 = must_login(&eddy, "root2", "root-2").await;
    assert_eq!(
        error_of(&root2, "DROP USER root2").await,
        "55006: current user cannot be dropped"
    );
    ok(&admin, "DROP USER root2").await;

    let alice = must_login(&eddy, "alice", "alice-1").await;
    assert_eq!(
        scalar(&alice, "SELECT current_user").await.as_deref(),
        Some("alice")
    );
    let roles = common::values(
        &alice,
        "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname",
    )
    .await;
    let row = |n: &str, s: &str, l: &str| vec![Some(n.to_string()), Some(s.into()), Some(l.into())];
    assert_eq!(
        roles,
        vec![
            row("admin", "t", "t"),
            row("alice", "f", "t"),
            row("eddy", "t", "t"),
            row("reader", "f", "f"),
        ]
    );
    assert_eq!(
        common::values(&alice, "SELECT usename FROM pg_user ORDER BY 1").await,
        vec![
            vec![Some("admin".into())],
            vec![Some("alice".into())],
            vec![Some("eddy".into())]
        ]
    );
    assert_eq!(
        error_of(&alice, "CREATE USER carl").await,
        "42501: permission denied to create role"
    );
    assert_eq!(
        error_of(&alice, "DROP USER reader").await,
        "42501: permission denied to drop role"
    );
    assert_eq!(
        error_of(&alice, "ALTER USER reader PASSWORD 'x'").await,
        "42501: permission denied to alter role \"reader\""
    );
    assert_eq!(
        error_of(&alice, "ALTER USER alice SUPERUSER").await,
        "42501: permission denied to alter superuser roles or change superuser attribute"
    );
    // As in PostgreSQL, the permission is checked first.
    assert_eq!(
        error_of(&alice, "DROP USER alice").await,
        "42501: permission denied to drop role"
    );
    // A table names files the server reads: only superusers create or drop one.
    assert_eq!(
        error_of(&alice, "CREATE TABLE secrets (l STRING) WITH ('connector' = 'filesystem', 'path' = '/etc/passwd', 'format' = 'raw')").await,
        "42501: permission denied for schema default_database"
    );
    ok(
        &admin,
        "CREATE TABLE shared (id INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    assert_eq!(
        error_of(&alice, "DROP TABLE shared").await,
        "42501: permission denied for schema default_database"
    );
    // A Python function runs any code on the server: only superusers make or drop one,
    // as PostgreSQL's untrusted plpython3u.
    for statement in [
        "CREATE TEMPORARY FUNCTION f(x INT) RETURNS INT LANGUAGE plpython3u AS $$ return x $$",
        "CREATE FUNCTION f AS 'os.getcwd' LANGUAGE PYTHON",
        "ALTER FUNCTION f AS 'os.getcwd' LANGUAGE PYTHON",
        "DROP FUNCTION IF EXISTS f",
    ] {
        assert_eq!(
            error_of(&alice, statement).await,
            "42501: permission denied for schema default_database",
            "{statement}"
        );
    }
    // Her own password she may change.
    ok(&alice, "ALTER USER alice WITH PASSWORD 'alice-2'").await;
    refused(&eddy, "alice", "alice-1").await;
    must_login(&eddy, "alice", "alice-2").await;
    drop((admin, alice));

    // Roles survive a restart, and the catalog keeps verifiers, not passwords.
    let mut eddy = eddy;
    eddy.restart();
    let catalog = std::fs::read_to_string(eddy.data_dir().join("catalog.json")).unwrap();
    assert!(catalog.contains("SCRAM-SHA-256$4096:"), "{catalog}");
    for secret in ["alice-1", "alice-2", "reader-1", "admin-pw"] {
        assert!(!catalog.contains(secret), "{secret} is stored in clear");
    }
    must_login(&eddy, "alice", "alice-2").await;

    // psql and psycopg log in with their own SCRAM implementations.
    let out = psql(eddy.pg_port, "user=alice", "alice-2", "SELECT 40 + 2");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42");
    let out = psql(eddy.pg_port, "user=alice", "wrong", "SELECT 1");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("password authentication failed for user \"alice\""),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, psycopg\n\
             with psycopg.connect(host='127.0.0.1', port=sys.argv[1], user='alice', password='alice-2', dbname='eddy') as c:\n\
             \x20   print(c.execute('SELECT 6 * 7').fetchone()[0])",
            &eddy.pg_port.to_string(),
        ])
        .output()
        .expect("python3 with psycopg (.ci/run installs it)");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42");

    let admin = must_login(&eddy, "admin", "admin-pw").await;
    ok(&admin, "DROP USER alice, reader").await;
    refused(&eddy, "alice", "alice-2").await;
}

#[tokio::test]
async fn password_method_takes_a_postgresql_verifier() {
    // The verifier PostgreSQL 15.18 stored for CREATE ROLE r PASSWORD 'pencil'.
    let verifier = "SCRAM-SHA-256$4096:WNnCmERWN/N2fp/vVzdd7A==$ZPtqGo7DEkOwfWPvpWMhB9I2fzqV0bInAQilwZyxYH4=:23Ev31tHO9Hvl4xMCt6YQwQt27ZC6F032zu8OfvEGmY=";
    let user = format!("sql-gateway.endpoint.pg.users.r.password={verifier}");
    let eddy = Eddy::start_with_args(&["-D", "sql-gateway.endpoint.pg.auth=password", "-D", &user]);
    let (code, _) = first_auth_request(eddy.pg_port, "r");
    assert_eq!(code, 3, "AuthenticationCleartextPassword");
    let out = psql(
        eddy.pg_port,
        "user=r",
        "pencil",
        "SELECT current_database()",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "default_catalog");
    refused(&eddy, "r", "pencil!").await;
    refused(&eddy, "nobody", "pencil").await;
}

/// Runs openssl; panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// A CA and a certificate it signed for localhost and 127.0.0.1.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Eddy test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[tokio::test]
async fn tls_with_verify_full_and_channel_binding() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let cert = format!(
        "sql-gateway.endpoint.pg.ssl.cert={}",
        certs.path().join("server.crt").display()
    );
    let key = format!(
        "sql-gateway.endpoint.pg.ssl.key={}",
        certs.path().join("server.key").display()
    );
    let eddy = Eddy::start_with_args(&[
        "-D",
        SCRAM,
        "-D",
        ADMIN,
        "-D",
        &cert,
        "-D",
        &key,
        "-D",
        "sql-gateway.endpoint.pg.ssl.required=true",
    ]);
    let root = certs.path().join("ca.crt");
    let verify_full = format!(
        "host=localhost user=admin sslmode=verify-full sslrootcert={}",
        root.display()
    );
    let out = psql(eddy.pg_port, &verify_full, "admin-pw", "\\conninfo");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("SSL connection (protocol: TLSv1.3"),
        "{}",
        text(&out.stdout)
    );
    // SCRAM bound to the TLS channel (SCRAM-SHA-256-PLUS), as libpq does when offered.
    let bound = format!("{verify_full} channel_binding=require");
    let out = psql(eddy.pg_port, &bound, "admin-pw", "SELECT 1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = psql(eddy.pg_port, &bound, "wrong", "SELECT 1");
    assert!(
        text(&out.stderr).contains("password authentication failed for user \"admin\""),
        "{}",
        text(&out.stderr)
    );
    // Without TLS the server refuses, as a hostssl-only pg_hba.conf does.
    let out = psql(
        eddy.pg_port,
        "user=admin sslmode=disable",
        "admin-pw",
        "SELECT 1",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("connection without TLS refused"),
        "{}",
        text(&out.stderr)
    );
    // A certificate from another CA is not trusted by the client.
    let other = tempfile::tempdir().unwrap();
    certificates(other.path());
    let wrong_root = format!(
        "host=localhost user=admin sslmode=verify-full sslrootcert={}",
        other.path().join("ca.crt").display()
    );
    let out = psql(eddy.pg_port, &wrong_root, "admin-pw", "SELECT 1");
    assert!(!out.status.success(), "verified against the wrong CA");
    assert!(
        text(&out.stderr).contains("certificate verify failed"),
        "{}",
        text(&out.stderr)
    );
}

/// Starts eddy expecting it to stop at once; returns what it printed.
fn start_fails(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (pg, rest) = common::free_ports();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args([
            "--pg-port",
            &pg.to_string(),
            "--rest-port",
            &rest.to_string(),
            "--data-dir",
        ])
        .arg(dir.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("eddy started with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn unusable_settings_stop_the_start() {
    let out = start_fails(&[
        "-D",
        "sql-gateway.endpoint.pg.ssl.cert=/no/such/server.crt",
        "-D",
        "sql-gateway.endpoint.pg.ssl.key=/no/such/server.key",
    ]);
    assert!(
        out.contains("cannot use /no/such/server.crt for TLS"),
        "{out}"
    );
    let out = start_fails(&["-D", "sql-gateway.endpoint.pg.ssl.cert=/no/such/server.crt"]);
    assert!(out.contains("TLS needs both"), "{out}");
    let out = start_fails(&["-D", SCRAM]);
    assert!(out.contains("no user has one"), "{out}");
    let out = start_fails(&[
        "-D",
        SCRAM,
        "-D",
        "sql-gateway.endpoint.pg.users.admin.password=",
    ]);
    assert!(
        out.contains("the password of user 'admin' is empty"),
        "{out}"
    );
    let out = start_fails(&["-D", "sql-gateway.endpoint.pg.auth=md5"]);
    assert!(
        out.contains("expected one of trust, password, scram-sha-256"),
        "{out}"
    );
}

/// A GET with optional headers; the status code.
fn rest_status(port: u16, path: &str, headers: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to REST port");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

#[test]
fn rest_api_takes_a_bearer_token() {
    let eddy = Eddy::start_with_args(&["-D", "rest.auth.token=t0ken"]);
    let port = eddy.rest_port;
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rest_status(port, "/overview", ""), 401);
    assert_eq!(
        rest_status(port, "/jobs/overview", "Authorization: Bearer wrong\r\n"),
        401
    );
    assert_eq!(
        rest_status(port, "/jobs/overview", "Authorization: Basic t0ken\r\n"),
        401
    );
    assert_eq!(
        rest_status(port, "/overview", "Authorization: Bearer t0ken\r\n"),
        200
    );
    assert_eq!(
        rest_status(port, "/jobs/overview", "Authorization: Bearer t0ken\r\n"),
        200
    );
}

/// With authentication, `pg_stat_activity` shows another user's query only to superusers,
/// as PostgreSQL does: a user who is not one sees `<insufficient privilege>` there (the
/// query may hold a password: ALTER USER ... PASSWORD).
#[tokio::test]
async fn pg_stat_activity_hides_other_users_queries_from_non_superusers() {
    let eddy = Eddy::start_with_args(&["-D", SCRAM, "-D", ADMIN]);
    let admin = must_login(&eddy, "admin", "admin-pw").await;
    ok(&admin, "CREATE USER alice WITH PASSWORD 'alice-1'").await;
    ok(&admin, "ALTER USER alice PASSWORD 'alice-2'").await;
    let alice = must_login(&eddy, "alice", "alice-2").await;
    let by_alice = sessions_seen(&alice).await;
    assert_eq!(
        by_alice,
        [
            "admin|<insufficient privilege>".to_string(),
            "alice|SELECT usename, query FROM pg_stat_activity ORDER BY usename".to_string(),
        ]
    );
    let by_admin = sessions_seen(&admin).await;
    assert_eq!(
        by_admin[0],
        "admin|SELECT usename, query FROM pg_stat_activity ORDER BY usename"
    );
    assert_eq!(
        by_admin[1],
        "alice|SELECT usename, query FROM pg_stat_activity ORDER BY usename"
    );
}

/// `usename|query` of every session in `pg_stat_activity`, by user.
async fn sessions_seen(client: &Client) -> Vec<String> {
    let rows = client
        .simple_query("SELECT usename, query FROM pg_stat_activity ORDER BY usename")
        .await
        .expect("pg_stat_activity");
    rows.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(format!(
                "{}|{}",
                r.get(0).unwrap_or_default(),
                r.get(1).unwrap_or_default()
            )),
            _ => None,
        })
        .collect()
}
