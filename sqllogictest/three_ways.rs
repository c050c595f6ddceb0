//! Runs each stateful streaming query of a suite three ways, as the checkpoint issue asks:
//! straight through at parallelism 1; at parallelism 2 with checkpoints every 200 ms, stopped
//! with a savepoint part way; resumed from that savepoint at parallelism 3 to the end. The
//! second and third ways run once per state backend. All of them write into filesystem
//! sinks (`json`, so any column type fits), and the rows of the straight run must equal the
//! rows of the stopped-and-resumed one, compared both ways (missing and extra rows).
//!
//! A file takes part with a line `# three-ways: rows-per-second=N`: the stopped run reads each
//! source subtask at N rows per second (`debug.source.rows-per-second`, with
//! `execution.batch-size` = 1), slow enough for a checkpoint to complete before its input
//! ends. A query is stateful when its streaming plan holds a window aggregate or a join;
//! queries with `LIMIT` (whose rows depend on timing) are left out.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Operators whose state the three ways must carry across a savepoint.
const STATEFUL: &[&str] = &["WindowAggregate", "WindowJoin", "Join("];

const BACKENDS: &[&str] = &["hashmap", "rocksdb"];

/// How long the paced run reads before it is stopped (and at least one checkpoint).
const RUN_BEFORE_STOP: Duration = Duration::from_millis(600);

const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// The pace a file asks for with `# three-ways: rows-per-second=N`, if it takes part.
pub fn directive(script: &str) -> Option<f64> {
    script.lines().find_map(|l| {
        l.trim()
            .strip_prefix("# three-ways: rows-per-second=")
            .and_then(|n| n.trim().parse().ok())
    })
}

/// The query of an `INSERT INTO t SELECT ...` without a column list.
pub fn inserted_query(sql: &str) -> Option<&str> {
    let rest = strip_keyword(sql.trim_start(), "INSERT")?;
    let rest = strip_keyword(rest, "INTO")?;
    let target_end = rest.find(char::is_whitespace)?;
    let query = rest[target_end..].trim_start();
    let upper = query.get(..6)?.to_uppercase();
    (upper == "SELECT" || upper.starts_with("WITH")).then_some(query)
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| text[keyword.len()..].trim_start())
}

/// A query of the file with the session settings in force when it ran.
pub struct Candidate {
    pub settings: Vec<String>,
    pub sql: String,
    /// Rows the file expects, when they are listed one per line and fully known.
    pub expected_rows: Option<usize>,
    pub location: String,
}

/// Runs every stateful candidate three ways. `Ok` holds how many queries ran.
pub async fn run(
    port: u16,
    scratch: &Path,
    rate: f64,
    candidates: &[Candidate],
) -> Result<usize, String> {
    let mut checked = 0;
    let mut errors = Vec::new();
    for (n, candidate) in candidates.iter().enumerate() {
        match check(port, scratch, rate, n, candidate).await {
            Ok(true) => checked += 1,
            Ok(false) => {}
            Err(e) => errors.push(format!(
                "three ways of:\n[SQL] {}\nat {}\n{e}\n",
                candidate.sql, candidate.location
            )),
        }
    }
    if errors.is_empty() && checked == 0 {
        return Err("the file asks for three ways but none of its queries is stateful".into());
    }
    if errors.is_empty() {
        println!("  three ways: {checked} stateful queries");
        Ok(checked)
    } else {
        Err(errors.join("\n"))
    }
}

async fn connect(port: u16) -> Result<Client, String> {
    let conn = format!("host=127.0.0.1 port={port} user=eddy dbname=eddy");
    let (client, connection) = tokio_postgres::connect(&conn, NoTls)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Rows of a statement as text, NULL as `NULL`.
async fn rows(client: &Client, sql: &str) -> Result<Vec<Vec<String>>, String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| format!("`{sql}` failed: {}", describe(&e)))?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

async fn exec(client: &Client, sql: &str) -> Result<(), String> {
    rows(client, sql).await.map(drop)
}

/// One candidate: `Ok(false)` when it is not a stateful streaming query.
async fn check(
    port: u16,
    scratch: &Path,
    rate: f64,
    n: usize,
    candidate: &Candidate,
) -> Result<bool, String> {
    let sql = candidate.sql.trim().trim_end_matches(';');
    let upper = sql.to_uppercase();
    if !(upper.starts_with("SELECT") || upper.starts_with("WITH"))
        || upper.contains(" LIMIT ")
        || sql.contains("${")
    {
        return Ok(false);
    }
    let client = connect(port).await?;
    for setting in &candidate.settings {
        exec(&client, setting).await?;
    }
    let plan = rows(&client, &format!("EXPLAIN {sql}"))
        .await?
        .concat()
        .join("\n");
    if !plan.contains("== Streaming Plan ==") || !STATEFUL.iter().any(|op| plan.contains(op)) {
        return Ok(false);
    }

    let view = format!("three_ways_{n}");
    exec(&client, &format!("CREATE VIEW {view} AS {sql}")).await?;
    let columns = rows(&client, &format!("DESCRIBE {view}"))
        .await?
        .into_iter()
        .map(|c| {
            // A time attribute is a plain timestamp once written out.
            let ty = c[1].replace("*ROWTIME*", "").replace("*PROCTIME*", "");
            format!("`{}` {}", c[0], ty.trim())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let dir = scratch.join("three-ways").join(n.to_string());
    let sink = |name: &str| -> Result<String, String> {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
        Ok(format!(
            "CREATE TABLE {view}_{name} ({columns}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
            path.display()
        ))
    };

    // Straight through at parallelism 1, without checkpoints.
    exec(&client, &sink("straight")?).await?;
    for s in [
        "SET 'parallelism.default' = '1'",
        "RESET 'execution.checkpointing.interval'",
        "SET 'table.dml-sync' = 'true'",
    ] {
        exec(&client, s).await?;
    }
    exec(
        &client,
        &format!("INSERT INTO {view}_straight SELECT * FROM {view}"),
    )
    .await?;
    let straight = read_rows(&dir.join("straight"));
    if let Some(expected) = candidate.expected_rows {
        if straight.values().sum::<usize>() != expected {
            return Err(format!(
                "the straight run into a sink wrote {} rows; the file expects {expected}",
                straight.values().sum::<usize>()
            ));
        }
    }

    for backend in BACKENDS {
        exec(&client, &sink(backend)?).await?;
        let savepoint = stop_part_way(&client, &view, backend, rate).await?;
        // Still paced: the resumed source subtasks without a split end before the first
        // row arrives downstream. Otherwise whether a row counts as late depends on that
        // race (an input that has not ended holds the watermark back), in Eddy as in Flink.
        for s in [
            "SET 'parallelism.default' = '3'".to_string(),
            format!("SET 'execution.savepoint.path' = '{savepoint}'"),
            "SET 'table.dml-sync' = 'true'".to_string(),
        ] {
            exec(&client, &s).await?;
        }
        exec(
            &client,
            &format!("INSERT INTO {view}_{backend} SELECT * FROM {view}"),
        )
        .await?;
        exec(&client, "RESET 'execution.savepoint.path'").await?;
        let resumed = read_rows(&dir.join(backend));
        compare(&straight, &resumed)
            .map_err(|e| format!("{backend}: stopped at parallelism 2 and resumed at 3: {e}"))?;
    }
    for name in ["straight", "hashmap", "rocksdb"] {
        exec(&client, &format!("DROP TABLE {view}_{name}")).await?;
    }
    exec(&client, &format!("DROP VIEW {view}")).await?;
    Ok(true)
}

/// Starts the query at parallelism 2 with checkpoints every 200 ms on `backend`, and stops it
/// with a savepoint once a checkpoint has completed. Returns the savepoint's path.
async fn stop_part_way(
    client: &Client,
    view: &str,
    backend: &str,
    rate: f64,
) -> Result<String, String> {
    for s in [
        format!("SET 'state.backend.type' = '{backend}'"),
        // RocksDB's periodic checkpoints are incremental; the savepoint is whole anyway.
        format!(
            "SET 'execution.checkpointing.incremental' = '{}'",
            backend == "rocksdb"
        ),
        "SET 'parallelism.default' = '2'".to_string(),
        "SET 'execution.checkpointing.interval' = '200 ms'".to_string(),
        format!("SET 'debug.source.rows-per-second' = '{rate}'"),
        "SET 'execution.batch-size' = '1'".to_string(),
        "SET 'table.dml-sync' = 'false'".to_string(),
    ] {
        exec(client, &s).await?;
    }
    let submitted = rows(
        client,
        &format!("INSERT INTO {view}_{backend} SELECT * FROM {view}"),
    )
    .await?;
    let job = submitted
        .first()
        .and_then(|r| r.first())
        .cloned()
        .ok_or("the INSERT answered no job id")?;
    let deadline = Instant::now() + JOB_TIMEOUT;
    let mut running = None;
    loop {
        let (status, completed) = job_status(client, &job).await?;
        if status == "RUNNING" {
            let since = *running.get_or_insert_with(Instant::now);
            if completed >= 1 && since.elapsed() >= RUN_BEFORE_STOP {
                break;
            }
        }
        if ["FINISHED", "FAILED", "CANCELED"].contains(&status.as_str()) {
            return Err(format!(
                "job {job} was {status} before a checkpoint completed: lower the file's rows-per-second"
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "job {job} completed no checkpoint in {JOB_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = rows(client, &format!("STOP JOB '{job}' WITH SAVEPOINT")).await?;
    let savepoint = stopped
        .first()
        .and_then(|r| r.first())
        .cloned()
        .ok_or("STOP JOB answered no savepoint path")?;
    // The job ends FINISHED once its savepoint completed and its sink committed.
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let (status, _) = job_status(client, &job).await?;
        match status.as_str() {
            "FINISHED" => return Ok(savepoint),
            "FAILED" | "CANCELED" => return Err(format!("job {job} was {status} after its stop")),
            _ if Instant::now() > deadline => {
                return Err(format!("job {job} did not finish after its stop"))
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A job's status and completed checkpoints, from `DESCRIBE JOB`.
async fn job_status(client: &Client, job: &str) -> Result<(String, u64), String> {
    let messages = client
        .simple_query(&format!("DESCRIBE JOB '{job}'"))
        .await
        .map_err(|e| describe(&e))?;
    for m in messages {
        if let SimpleQueryMessage::Row(r) = m {
            let column = |name: &str| {
                r.columns()
                    .iter()
                    .position(|c| c.name() == name)
                    .and_then(|i| r.get(i))
                    .unwrap_or_default()
                    .to_string()
            };
            let completed = column("completed_checkpoints").parse().unwrap_or(0);
            return Ok((column("status"), completed));
        }
    }
    Err(format!("DESCRIBE JOB '{job}' answered no row"))
}

/// The committed lines of a filesystem sink's directory, counted.
fn read_rows(dir: &Path) -> BTreeMap<String, usize> {
    let mut rows = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            // In-progress and marker files are not committed output.
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                for line in text.lines().filter(|l| !l.is_empty()) {
                    *rows.entry(line.to_string()).or_default() += 1;
                }
            }
        }
    }
    rows
}

/// Compares two multisets of rows both ways.
fn compare(
    straight: &BTreeMap<String, usize>,
    resumed: &BTreeMap<String, usize>,
) -> Result<(), String> {
    let difference = |a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>| {
        a.iter()
            .filter_map(|(row, &n)| {
                let m = b.get(row).copied().unwrap_or(0);
                (n > m).then(|| format!("  {row} (x{})", n - m))
            })
            .collect::<Vec<_>>()
    };
    let missing = difference(straight, resumed);
    let extra = difference(resumed, straight);
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    Err(format!(
        "rows missing after the resume:\n{}\nrows the straight run does not have:\n{}",
        missing.join("\n"),
        extra.join("\n")
    ))
}
