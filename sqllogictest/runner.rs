//! sqllogictest runner for Eddy.
//!
//! Runs every `.slt` file under `sqllogictest/test_files/` against a freshly started `eddy`
//! process (its own free ports and temporary data dir), talking PostgreSQL's simple query
//! protocol through tokio-postgres, so every value arrives in PostgreSQL's text encoding.
//!
//! ```text
//! cargo test --test sqllogictests                 # every file
//! cargo test --test sqllogictests -- ddl/ errors  # files whose path contains "ddl/" or "errors"
//! EDDY_SLT_FILTER=bounded cargo test --test sqllogictests
//! ```
//!
//! A failing record does not stop its file: every failing record is reported.
//!
//! In a file, `__TEST_DIR__` is replaced by a scratch directory of that file and
//! `__DATA_DIR__` by the absolute path of `sqllogictest/data/`. `NULL` values read as `NULL`,
//! empty strings as `(empty)`.
//!
//! Expected results are compared as the crate does by default (whitespace-normalized rows),
//! with two additions for outputs that are only partly known (`SET`, `SHOW JOBS`, `EXPLAIN`):
//! - `<slt:ignore>` matches any text, as in the crate; a line holding only `<slt:ignore>` before
//!   and after an expected row (`<slt:ignore>` / `key value` / `<slt:ignore>`) therefore means
//!   "some row is exactly `key value`" (the output is padded with a newline at both ends so the
//!   first and last rows can match too);
//! - a line `<slt:absent> TEXT` means no output row (values joined by one space) contains TEXT.
//!
//! An error's text is `<SQLSTATE>: <message>` (plus `DETAIL:` and `HINT:` when present), so
//! `statement error 42P01` and `statement error 42P01.*missing_table` match on the code, the
//! message or both; `statement error (42P01)` matches the code exactly.
//!
//! Environment: `EDDY_BIN` (binary to run, defaults to the one cargo built), `EDDY_SLT_PORT`
//! (connect to a server already listening on this port instead of starting one per file),
//! `EDDY_SLT_FILTER` (substring filter), `EDDY_SLT_TIMEOUT` (seconds per file, default 300),
//! `EDDY_SLT_KEEP_LOGS=1` (print the eddy log of passing files too), `EDDY_SLT_CLUSTER=N`
//! (run each file against a standalone cluster: `eddy jobmanager` and N `eddy taskmanager`
//! processes sharing the embedded TaskManager's 4 slots, so parallelism-4 jobs span them),
//! `EDDY_SLT_ONE_WAY=1` (skip the three-way replay of stateful queries, `three_ways.rs`).

mod three_ways;

use std::fmt;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqllogictest::{
    default_validator, AsyncDB, DBOutput, DefaultColumnType, Normalizer, QueryExpect, Record,
    Runner, StatementExpect,
};
use tokio_postgres::{NoTls, SimpleQueryMessage};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sqllogictest");
    let test_files = root.join("test_files");
    let data_dir = root.join("data");

    // Positional arguments are substring filters; flags cargo or users pass to every test
    // binary (`--nocapture`, `--test-threads=1`, ...) are ignored.
    let mut filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Ok(f) = std::env::var("EDDY_SLT_FILTER") {
        filters.extend(f.split(',').filter(|s| !s.is_empty()).map(str::to_string));
    }
    let timeout = Duration::from_secs(
        std::env::var("EDDY_SLT_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300),
    );

    let mut files = Vec::new();
    collect_slt_files(&test_files, &mut files);
    files.sort();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let (mut passed, mut failed) = (0usize, 0usize);
    let mut failures = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&test_files)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        if !filters.is_empty() && !filters.iter().any(|f| rel.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        let outcome = runtime.block_on(run_file(file, &data_dir, timeout));
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(log) => {
                passed += 1;
                println!("PASS {rel} ({secs:.1}s)");
                if std::env::var_os("EDDY_SLT_KEEP_LOGS").is_some() {
                    println!("--- eddy log ---\n{log}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {rel} ({secs:.1}s)\n{e}");
                failures.push(rel);
            }
        }
    }

    if !failures.is_empty() {
        println!("\nfailed files:");
        for f in &failures {
            println!("  {f}");
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn collect_slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

/// Runs one file against its own eddy. `Ok` carries eddy's log, `Err` the report to print.
async fn run_file(file: &Path, data_dir: &Path, timeout: Duration) -> Result<String, String> {
    let script = std::fs::read_to_string(file).map_err(|e| format!("cannot read file: {e}"))?;
    let scratch = tempfile::Builder::new()
        .prefix("eddy-slt-test-dir")
        .tempdir()
        .map_err(|e| format!("cannot create scratch dir: {e}"))?;
    let script = substitute(&script, scratch.path(), data_dir);
    let name = file.to_string_lossy().into_owned();
    let records = sqllogictest::parse_with_name::<DefaultColumnType>(&script, name)
        .map_err(|e| format!("cannot parse: {e}"))?;

    // EDDY_SLT_PORT: use a server that is already running (for debugging) instead of a fresh one.
    let external = std::env::var("EDDY_SLT_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok());
    let mut eddy = match external {
        Some(_) => None,
        None => Some(EddyProcess::start()?),
    };
    let port = external.unwrap_or_else(|| eddy.as_ref().unwrap().pg_port);

    let mut runner = Runner::new(move || EddyDb::connect(port));
    runner.with_validator(validator);
    // Unlike the crate's run_multi, go on after a failing record so that one run reports every
    // mismatch of a file (later failures may be consequences of earlier ones).
    let mut errors = Vec::new();
    let mut current = String::new();
    // Three ways (three_ways.rs): the session's settings so far and the queries to replay.
    let pace =
        three_ways::directive(&script).filter(|_| std::env::var_os("EDDY_SLT_ONE_WAY").is_none());
    let mut settings: Vec<String> = Vec::new();
    let mut candidates = Vec::new();
    let run_all = async {
        for record in records {
            match &record {
                Record::Halt { .. } => break,
                Record::Statement { loc, sql, .. } | Record::Query { loc, sql, .. } => {
                    current = format!("{sql}\nat {loc}");
                }
                _ => {}
            }
            match &record {
                Record::Statement {
                    sql,
                    expected: StatementExpect::Ok | StatementExpect::Count(_),
                    ..
                } if is_setting(sql) => settings.push(sql.clone()),
                Record::Statement {
                    loc,
                    sql,
                    expected: StatementExpect::Ok | StatementExpect::Count(_),
                    ..
                } if pace.is_some() => {
                    if let Some(query) = three_ways::inserted_query(sql) {
                        candidates.push(three_ways::Candidate {
                            settings: settings.clone(),
                            sql: query.to_string(),
                            expected_rows: None,
                            location: loc.to_string(),
                        });
                    }
                }
                Record::Query {
                    loc,
                    sql,
                    expected:
                        QueryExpect::Results {
                            results,
                            result_mode,
                            ..
                        },
                    ..
                } if pace.is_some() => candidates.push(three_ways::Candidate {
                    settings: settings.clone(),
                    sql: sql.clone(),
                    expected_rows: (result_mode.is_none()
                        && !results.iter().any(|r| r.contains("<slt:")))
                    .then_some(results.len()),
                    location: loc.to_string(),
                }),
                _ => {}
            }
            if let Err(e) = runner.run_async(record).await {
                errors.push(e.display(false).to_string());
            }
        }
        if let Some(rate) = pace {
            current = "the three ways".to_string();
            if let Err(e) = three_ways::run(port, scratch.path(), rate, &candidates).await {
                errors.push(e);
            }
        }
    };
    let timed_out = tokio::time::timeout(timeout, run_all).await.is_err();
    runner.shutdown_async().await;

    let died = eddy.as_mut().and_then(|e| e.exit_status());
    let log = eddy.as_mut().map(|e| e.stop_and_log()).unwrap_or_default();
    if timed_out {
        errors.push(format!(
            "timed out after {}s while running:\n[SQL] {current}",
            timeout.as_secs()
        ));
    }
    let err = if errors.is_empty() {
        None
    } else {
        Some(format!(
            "{} failing record(s):\n\n{}",
            errors.len(),
            errors.join("\n")
        ))
    };
    let err = match (err, died) {
        (None, None) => return Ok(log),
        (Some(e), None) => e,
        (None, Some(status)) => {
            format!("all records passed but eddy exited during the file ({status})")
        }
        (Some(e), Some(status)) => format!("{e}\neddy exited during the file ({status})"),
    };
    Err(format!(
        "{err}\n--- eddy log (tail) ---\n{}",
        tail(&log, 60)
    ))
}

/// The crate's default validator plus `<slt:absent>` lines and row-boundary padding for
/// `<slt:ignore>` (see the module doc).
fn validator(normalizer: Normalizer, actual: &[Vec<String>], expected: &[String]) -> bool {
    const ABSENT: &str = "<slt:absent>";
    let (absent, expected): (Vec<&String>, Vec<&String>) = expected
        .iter()
        .partition(|l| l.trim_start().starts_with(ABSENT));
    let joined: Vec<String> = actual.iter().map(|r| r.join(" ")).collect();
    let only_absent = !absent.is_empty() && expected.is_empty();
    for line in absent {
        let text = line.trim_start()[ABSENT.len()..].trim();
        if joined.iter().any(|r| r.contains(text)) {
            return false;
        }
    }
    let expected: Vec<String> = expected.into_iter().cloned().collect();
    if expected.iter().any(|l| l.contains("<slt:ignore>")) {
        let mut padded = Vec::with_capacity(actual.len() + 2);
        padded.push(vec![String::new()]);
        padded.extend(actual.iter().cloned());
        padded.push(vec![String::new()]);
        return default_validator(normalizer, &padded, &expected);
    }
    if only_absent {
        return true;
    }
    default_validator(normalizer, actual, &expected)
}

/// Whether a statement changes the session's settings.
fn is_setting(sql: &str) -> bool {
    let head = sql.trim_start().to_uppercase();
    head.starts_with("SET") || head.starts_with("RESET")
}

/// Replaces the placeholders. `$__TEST_DIR__` (the crate's own spelling) is accepted too.
fn substitute(script: &str, test_dir: &Path, data_dir: &Path) -> String {
    let test_dir = test_dir.to_string_lossy();
    let data_dir = data_dir.to_string_lossy();
    script
        .replace("$__TEST_DIR__", &test_dir)
        .replace("__TEST_DIR__", &test_dir)
        .replace("$__DATA_DIR__", &data_dir)
        .replace("__DATA_DIR__", &data_dir)
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A running `eddy` with its own ports and data dir, or with `EDDY_SLT_CLUSTER=N` a
/// standalone cluster of a JobManager and N TaskManager processes sharing 4 slots as the
/// embedded TaskManager has them; killed on drop (also on panic).
struct EddyProcess {
    children: Vec<(String, Child)>,
    pg_port: u16,
    _data_dir: tempfile::TempDir,
    log_dir: PathBuf,
}

/// Slots of the embedded TaskManager (`taskmanager.numberOfTaskSlots`'s default), spread
/// over the TaskManagers of a cluster run.
const SLOTS: usize = 4;

impl EddyProcess {
    /// Starts eddy; a start whose ports another process took meanwhile (free ports are
    /// found by binding and letting go) is retried on new ones.
    fn start() -> Result<Self, String> {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::start_once() {
                Ok(eddy) => return Ok(eddy),
                Err(e) if e.contains("Address already in use") => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn start_once() -> Result<Self, String> {
        let bin = std::env::var("EDDY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_eddy").into());
        let task_managers: usize = std::env::var("EDDY_SLT_CLUSTER")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let data_dir = tempfile::Builder::new()
            .prefix("eddy-slt-data")
            .tempdir()
            .map_err(|e| format!("cannot create data dir: {e}"))?;
        let log_dir = data_dir.path().join("logs");
        std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
        let (pg_port, rest_port) = free_ports();
        let mut eddy = EddyProcess {
            children: Vec::new(),
            pg_port,
            log_dir,
            _data_dir: data_dir,
        };
        let spawn = |eddy: &mut EddyProcess, name: &str, args: &[String]| -> Result<(), String> {
            let log = std::fs::File::create(eddy.log_dir.join(format!("{name}.log")))
                .map_err(|e| format!("cannot create log: {e}"))?;
            let log2 = log.try_clone().map_err(|e| e.to_string())?;
            let dir = eddy._data_dir.path().join(name);
            let child = Command::new(&bin)
                .args(args)
                .arg("--data-dir")
                .arg(&dir)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log2))
                .spawn()
                .map_err(|e| format!("cannot start {bin}: {e}"))?;
            eddy.children.push((name.to_string(), child));
            Ok(())
        };
        let mut args = vec![
            "--pg-port".to_string(),
            pg_port.to_string(),
            "--rest-port".to_string(),
            rest_port.to_string(),
        ];
        if task_managers == 0 {
            spawn(&mut eddy, "eddy", &args)?;
        } else {
            let (rpc_port, _) = free_ports();
            args.splice(0..0, ["jobmanager".to_string()]);
            args.extend(["--rpc-port".to_string(), rpc_port.to_string()]);
            spawn(&mut eddy, "jobmanager", &args)?;
            eddy.wait_for(
                || TcpStream::connect(("127.0.0.1", rpc_port)).is_ok(),
                "the JobManager's RPC port",
            )?;
            for i in 0..task_managers {
                let slots = SLOTS / task_managers + usize::from(i < SLOTS % task_managers);
                spawn(
                    &mut eddy,
                    &format!("taskmanager-{i}"),
                    &[
                        "taskmanager".to_string(),
                        "--jobmanager".to_string(),
                        format!("127.0.0.1:{rpc_port}"),
                        "--slots".to_string(),
                        slots.max(1).to_string(),
                    ],
                )?;
            }
            let wanted = format!("\"taskmanagers\":{task_managers}");
            eddy.wait_for(
                || rest_get(rest_port, "/overview").is_some_and(|b| b.contains(&wanted)),
                "the TaskManagers to register",
            )?;
        }
        // Ready is the process's own word for it: a connection alone could reach another
        // process that holds the port.
        let first_log = eddy
            .children
            .first()
            .map(|(name, _)| eddy.log_dir.join(format!("{name}.log")))
            .ok_or("no eddy process")?;
        eddy.wait_for(
            || {
                std::fs::read_to_string(&first_log).is_ok_and(|l| l.contains("Eddy is ready"))
                    && TcpStream::connect(("127.0.0.1", pg_port)).is_ok()
            },
            "the PostgreSQL port",
        )?;
        Ok(eddy)
    }

    fn wait_for(&mut self, ready: impl Fn() -> bool, what: &str) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(status) = self.exit_status() {
                let log = self.stop_and_log();
                return Err(format!(
                    "eddy exited at startup ({status})\n{}",
                    tail(&log, 60)
                ));
            }
            if Instant::now() > deadline {
                let log = self.stop_and_log();
                return Err(format!(
                    "eddy: no {what} within {}s\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    tail(&log, 60)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `Some(status)` if a process has exited.
    fn exit_status(&mut self) -> Option<String> {
        self.children
            .iter_mut()
            .find_map(|(name, c)| match c.try_wait() {
                Ok(Some(status)) => Some(format!("{name}: {status}")),
                _ => None,
            })
    }

    fn stop_and_log(&mut self) -> String {
        let mut out = String::new();
        let single = self.children.len() == 1;
        for (name, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
            let log = std::fs::read_to_string(self.log_dir.join(format!("{name}.log")))
                .unwrap_or_default();
            if single {
                out.push_str(&log);
            } else {
                out.push_str(&format!("--- {name} ---\n{}\n", tail(&log, 40)));
            }
        }
        out
    }
}

impl Drop for EddyProcess {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The body of a GET on the REST port, if it answers.
fn rest_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split("\r\n\r\n").nth(1).map(str::to_string)
}

/// Two distinct ports that were free a moment ago (both listeners are held while picking).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// One pgwire session.
struct EddyDb {
    client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
}

impl EddyDb {
    async fn connect(port: u16) -> Result<Self, PgError> {
        let conn_str = format!("host=127.0.0.1 port={port} user=eddy dbname=eddy");
        // The port accepting TCP does not guarantee the gateway answers the startup yet.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match tokio_postgres::connect(&conn_str, NoTls).await {
                Ok((client, connection)) => {
                    let connection = tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    return Ok(EddyDb { client, connection });
                }
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(PgError::from(e)),
            }
        }
    }
}

/// An error as the runner sees it: `<SQLSTATE>: <message>[ DETAIL: ..][ HINT: ..]`.
#[derive(Debug)]
struct PgError {
    sqlstate: Option<String>,
    text: String,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PgError {}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{}: {}", db.code().code(), db.message());
                if let Some(d) = db.detail() {
                    text.push_str(&format!(" DETAIL: {d}"));
                }
                if let Some(h) = db.hint() {
                    text.push_str(&format!(" HINT: {h}"));
                }
                // One line, so that `.*` in an expected-error regex spans the whole text.
                PgError {
                    sqlstate: Some(db.code().code().to_string()),
                    text: text.replace('\n', " "),
                }
            }
            None => PgError {
                sqlstate: None,
                text: format!("client error: {e}"),
            },
        }
    }
}

#[async_trait]
impl AsyncDB for EddyDb {
    type Error = PgError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let messages = self.client.simple_query(sql).await?;
        let mut columns: Option<usize> = None;
        let mut rows = Vec::new();
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
                SimpleQueryMessage::Row(row) => {
                    columns.get_or_insert(row.len());
                    rows.push(
                        (0..row.len())
                            .map(|i| match row.get(i) {
                                None => "NULL".to_string(),
                                Some("") => "(empty)".to_string(),
                                Some(v) => v.to_string(),
                            })
                            .collect::<Vec<_>>(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match columns {
            // Column types are not checked here (simple query carries no OIDs);
            // tests/pgwire_protocol.rs checks them.
            Some(n) => DBOutput::Rows {
                types: vec![DefaultColumnType::Any; n],
                rows,
            },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn shutdown(&mut self) {
        self.connection.abort();
    }

    fn engine_name(&self) -> &str {
        "eddy"
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }

    async fn run_command(command: std::process::Command) -> std::io::Result<std::process::Output> {
        tokio::process::Command::from(command).output().await
    }

    fn error_sql_state(err: &Self::Error) -> Option<String> {
        err.sqlstate.clone()
    }
}
