//! Shared startup code for the end-to-end tests: start the real `eddy` binary on free ports with
//! a temporary data dir, connect with tokio-postgres, and poll job states.
//!
//! Each test owns its `Eddy`; dropping it (also while panicking) kills the process. When a test
//! panics, the tail of eddy's log is printed to help find the cause.
#![allow(dead_code)]

pub mod cluster;
pub mod kafka;
pub mod s3;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// How long to wait for eddy to accept connections.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a job to reach a state.
pub const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// The path a `scripts/install-*` script prints (the tool it installed), or `env_var`'s
/// when set (`scripts/test` installs each once for all test binaries).
pub fn installed(env_var: &str, script: &str, needed_by: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env_var) {
        return PathBuf::from(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = std::process::Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {needed_by}",
        script.display()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Stops `job` with a savepoint once it has run a while and returns the savepoint.
pub async fn stop_part_way(client: &Client, job: &str) -> String {
    wait_for_status(client, job, "RUNNING").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let rows = simple(client, &format!("STOP JOB '{job}' WITH SAVEPOINT")).await;
    let savepoint = rows[0][0].1.clone().expect("a savepoint path");
    wait_for_status(client, job, "FINISHED").await;
    savepoint
}

/// Absolute path of `sqllogictest/data/`, the shared input files.
pub fn test_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sqllogictest")
        .join("data")
}

/// A running `eddy` process. Its data dir survives `restart`; everything is removed on drop.
pub struct Eddy {
    child: Option<Child>,
    pub pg_port: u16,
    pub rest_port: u16,
    root: tempfile::TempDir,
    extra_args: Vec<String>,
    /// Environment variables the process gets (an object store's `AWS_*`, say).
    extra_env: Vec<(String, String)>,
    starts: usize,
}

impl Eddy {
    /// Starts eddy with a fresh data dir.
    pub fn start() -> Eddy {
        Self::start_with_args(&[])
    }

    /// Starts eddy with extra CLI arguments (e.g. `["-D", "taskmanager.numberOfTaskSlots=8"]`).
    pub fn start_with_args(args: &[&str]) -> Eddy {
        Self::start_with_env(args, &[])
    }

    /// Starts eddy with extra CLI arguments and environment variables.
    pub fn start_with_env(args: &[&str], env: &[(String, String)]) -> Eddy {
        let root = tempfile::Builder::new()
            .prefix("eddy-e2e")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(root.path().join("data")).unwrap();
        std::fs::create_dir_all(root.path().join("scratch")).unwrap();
        let mut eddy = Eddy {
            child: None,
            pg_port: 0,
            rest_port: 0,
            root,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            extra_env: env.to_vec(),
            starts: 0,
        };
        eddy.spawn();
        eddy
    }

    /// The data dir given to eddy (`--data-dir`).
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A scratch directory for the test's own input and output files.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root.path().join("scratch")
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join(format!("eddy-{}.log", self.starts))
    }

    fn spawn(&mut self) {
        // A free port can be taken by another test's process before this one binds it:
        // that start fails with "Address already in use", and is retried on new ports.
        for _ in 0..5 {
            if self.spawn_once() {
                return;
            }
        }
        panic!(
            "eddy found its ports taken five times\n{}",
            self.log_tail(20)
        );
    }

    /// Starts eddy on fresh ports; false when they were taken meanwhile.
    fn spawn_once(&mut self) -> bool {
        self.starts += 1;
        let (pg_port, rest_port) = free_ports();
        self.pg_port = pg_port;
        self.rest_port = rest_port;
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let bin = std::env::var("EDDY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_eddy").into());
        let mut cmd = Command::new(&bin);
        cmd.arg("--pg-port")
            .arg(pg_port.to_string())
            .arg("--rest-port")
            .arg(rest_port.to_string())
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(&self.extra_args)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        // The readiness line below must reach the log whatever a RUST_LOG set for the
        // tests says (unset, eddy logs at info).
        if let Ok(filter) = std::env::var("RUST_LOG") {
            cmd.env("RUST_LOG", format!("{filter},eddy::process=info"));
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        self.child = Some(child);

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            // Ready is this process's own word for it: a connection alone could reach
            // another test's server that holds the port.
            if self.log().contains("Eddy is ready")
                && TcpStream::connect(("127.0.0.1", pg_port)).is_ok()
            {
                return true;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                if self.log().contains("Address already in use") {
                    return false;
                }
                panic!("eddy exited at startup ({status})\n{}", self.log_tail(80));
            }
            if Instant::now() > deadline {
                panic!(
                    "eddy did not accept connections on {pg_port} within {:?}\n{}",
                    STARTUP_TIMEOUT,
                    self.log_tail(80)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id of the running eddy.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("eddy is running").id()
    }

    /// Opens a session (user `eddy`, database `eddy`, no TLS); the connection runs in a task.
    pub async fn connect(&self) -> Client {
        let conn_str = format!("host=127.0.0.1 port={} user=eddy dbname=eddy", self.pg_port);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match tokio_postgres::connect(&conn_str, NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    return client;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("cannot connect to eddy: {e}\n{}", self.log_tail(80))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Graceful stop: SIGTERM, then SIGKILL after 15 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Hard stop: SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Graceful stop, then start again on the same data dir (new ports).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// SIGKILL, then start again on the same data dir (new ports).
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The log of the current (or last) process.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Eddy {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let exited = matches!(child.try_wait(), Ok(Some(_)));
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() || exited {
                eprintln!(
                    "--- eddy log tail (port {}, exited early: {exited}) ---\n{}",
                    self.pg_port,
                    self.log_tail(80)
                );
            }
        }
    }
}

/// Two distinct ports that were free a moment ago.
pub fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// One row of a simple-query result: column name → text value (`None` for NULL).
pub type TextRow = Vec<(String, Option<String>)>;

/// Runs `sql` with the simple query protocol; rows in PostgreSQL text form.
pub async fn try_simple(client: &Client, sql: &str) -> Result<Vec<TextRow>, tokio_postgres::Error> {
    let mut rows = Vec::new();
    for m in client.simple_query(sql).await? {
        if let SimpleQueryMessage::Row(r) = m {
            rows.push(
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_string(), r.get(i).map(str::to_string)))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// Like `try_simple`, panicking with the SQLSTATE and message on error.
pub async fn simple(client: &Client, sql: &str) -> Vec<TextRow> {
    match try_simple(client, sql).await {
        Ok(rows) => rows,
        Err(e) => panic!("`{sql}` failed: {}", describe_error(&e)),
    }
}

/// Rows as plain value vectors (NULL as `None`).
pub async fn values(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    simple(client, sql)
        .await
        .into_iter()
        .map(|r| r.into_iter().map(|(_, v)| v).collect())
        .collect()
}

/// The single value of a one-row, one-column result.
pub async fn scalar(client: &Client, sql: &str) -> Option<String> {
    let rows = values(client, sql).await;
    assert_eq!(
        rows.len(),
        1,
        "`{sql}` returned {} rows: {rows:?}",
        rows.len()
    );
    assert_eq!(
        rows[0].len(),
        1,
        "`{sql}` returned {} columns",
        rows[0].len()
    );
    rows[0][0].clone()
}

/// Runs statements that return nothing of interest.
pub async fn exec(client: &Client, sql: &str) {
    simple(client, sql).await;
}

/// `<SQLSTATE>: <message>` of a server error, or the client error.
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => format!("client error: {e}"),
    }
}

/// GETs a REST path on `port` and parses the JSON answer.
pub fn rest_get(port: u16, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("REST port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// The SQLSTATE of a server error.
pub fn sqlstate(e: &tokio_postgres::Error) -> Option<String> {
    e.code().map(|c| c.code().to_string())
}

/// Runs an `INSERT` (or statement set) and returns the job id it answers with.
pub async fn submit(client: &Client, sql: &str) -> String {
    let rows = simple(client, sql).await;
    assert_eq!(
        rows.len(),
        1,
        "`{sql}` should return one row with job_id, got {rows:?}"
    );
    let (_, id) = rows[0]
        .iter()
        .find(|(name, _)| name == "job_id")
        .unwrap_or_else(|| panic!("`{sql}` returned no job_id column: {rows:?}"));
    id.clone().expect("job_id is NULL")
}

/// `DESCRIBE JOB '<id>'` as column name → value.
pub async fn describe_job(client: &Client, job_id: &str) -> HashMap<String, Option<String>> {
    let rows = simple(client, &format!("DESCRIBE JOB '{job_id}'")).await;
    assert_eq!(rows.len(), 1, "DESCRIBE JOB returned {rows:?}");
    rows.into_iter().next().unwrap().into_iter().collect()
}

/// Polls `DESCRIBE JOB` until the job's status is `wanted`; panics on timeout or when the job
/// reaches another terminal state. Returns the last description.
pub async fn wait_for_status(
    client: &Client,
    job_id: &str,
    wanted: &str,
) -> HashMap<String, Option<String>> {
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let job = describe_job(client, job_id).await;
        let status = job.get("status").cloned().flatten().unwrap_or_default();
        if status == wanted {
            return job;
        }
        let terminal = ["FINISHED", "FAILED", "CANCELED"];
        if terminal.contains(&status.as_str()) && status != wanted {
            panic!("job {job_id} is {status}, expected {wanted}: {job:?}");
        }
        if Instant::now() > deadline {
            panic!("job {job_id} did not reach {wanted} within {JOB_TIMEOUT:?}: {job:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads every visible file under `dir` (skipping names starting with `.` or `_`, Flink's
/// in-progress and marker files) and returns all their lines.
pub fn read_part_files(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
            }
        }
    }
    lines
}

/// Whether `message` gives line number `line`, in one of the usual spellings
/// (`line 3`, `line: 3`, `line=3`, `file.csv:3`).
pub fn mentions_line(message: &str, line: usize) -> bool {
    let lower = message.to_lowercase();
    let n = line.to_string();
    let followed_ok = |rest: &str| !rest.starts_with(|c: char| c.is_ascii_digit());
    for prefix in ["line ", "line: ", "line=", "line:", ".csv:", ".json:"] {
        let pat = format!("{prefix}{n}");
        let mut from = 0;
        while let Some(i) = lower[from..].find(&pat) {
            let end = from + i + pat.len();
            if followed_ok(&lower[end..]) {
                return true;
            }
            from = end;
        }
    }
    false
}

/// A protocol 3.0 startup packet for user and database `eddy`, for tests that speak the
/// wire protocol by hand.
pub fn startup_packet() -> Vec<u8> {
    let mut body = vec![0, 3, 0, 0];
    for s in ["user", "eddy", "database", "eddy"] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// A `/proc/<pid>/status` field in kB (`VmRSS:`, `VmHWM:`).
pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read /proc status")
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// `expected` and `got` hold the same rows, each as often; the message lists the
/// differences both ways.
pub fn assert_same(mut got: Vec<String>, mut expected: Vec<String>) {
    got.sort();
    expected.sort();
    let mut extra = got.clone();
    let mut missing = Vec::new();
    for row in &expected {
        match extra.iter().position(|r| r == row) {
            Some(i) => {
                extra.remove(i);
            }
            None => missing.push(row.clone()),
        }
    }
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} rows expected, {} got; missing {:?}, extra {:?}",
        expected.len(),
        got.len(),
        &missing[..missing.len().min(20)],
        &extra[..extra.len().min(20)]
    );
}

/// Rows of a query, each as its values joined by commas (NULL empty).
pub async fn joined_rows(client: &Client, sql: &str) -> Vec<String> {
    values(client, sql)
        .await
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// Polls `done` every 100 ms for up to a minute.
pub async fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
