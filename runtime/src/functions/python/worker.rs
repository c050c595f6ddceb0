//! The Python processes that run a function: started on first use, one per concurrent
//! caller, and kept for the next batch. A worker whose process died or broke the protocol
//! is dropped (and killed); one whose function raised is healthy and goes back.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::PythonFunction;
use crate::error::RuntimeError;

const WORKER: &str = include_str!("worker.py");

/// Bytes of a worker's stderr kept to explain its death.
const STDERR_TAIL: usize = 4096;

/// What a worker answers once it has loaded the function.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Description {
    /// Positional parameters without and with defaults; `None` when it takes `*args`.
    pub arity: (usize, Option<usize>),
    /// The SQL type its decorator or return annotation names, if any.
    pub result_type: Option<String>,
    pub deterministic: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Loaded {
    Failed { error: String },
    Described(Description),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reply {
    Failed {
        error: String,
        row: usize,
        kind: String,
    },
    Values {
        v: Vec<Option<String>>,
    },
}

/// How a call failed.
#[derive(Debug)]
pub enum CallError {
    /// The function raised, or returned what cannot be the result (`kind` "result"), at `row`.
    Function {
        message: String,
        row: usize,
        kind: String,
    },
    /// The process could not be started, died, or answered nonsense.
    Worker(RuntimeError),
}

/// One Python process with the function loaded.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    name: String,
}

impl Worker {
    /// Starts a process and loads the function; returns what it found.
    pub fn start(function: &PythonFunction) -> Result<(Worker, Description), CallError> {
        let spawn_error = |e: std::io::Error| {
            CallError::Worker(RuntimeError::External(format!(
                "cannot start Python ('{}', set by python.executable) for function {}: {e}",
                function.executable, function.name
            )))
        };
        let mut child = Command::new(&function.executable)
            .args(["-u", "-c", WORKER])
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(CallError::Worker(RuntimeError::Internal(
                "a Python worker started without its pipes".into(),
            )));
        };
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        // Unread, stderr would fill its pipe and stop the worker mid-call.
        if let Err(e) = drain_stderr(stderr, tail.clone(), function.name.clone()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CallError::Worker(RuntimeError::External(format!(
                "cannot start the thread reading the Python worker of function {}: {e}",
                function.name
            ))));
        }
        let mut worker = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: tail,
            name: function.name.clone(),
        };
        let spec = serde_json::json!({
            "name": function.name,
            "target": function.target,
            "body": function.body,
            "params": function.params,
            "files": function.files,
        });
        let line = worker.exchange(spec.to_string().as_bytes())?;
        match serde_json::from_str::<Loaded>(&line) {
            Ok(Loaded::Described(d)) => Ok((worker, d)),
            Ok(Loaded::Failed { error }) => Err(CallError::Function {
                message: error,
                row: 0,
                kind: "load".into(),
            }),
            Err(e) => Err(CallError::Worker(
                worker.broken(&format!("answered '{line}' ({e})")),
            )),
        }
    }

    /// Sends one request line and reads one answer line.
    fn exchange(&mut self, request: &[u8]) -> Result<String, CallError> {
        let sent = self
            .stdin
            .write_all(request)
            .and_then(|_| self.stdin.write_all(b"\n"))
            .and_then(|_| self.stdin.flush());
        if let Err(e) = sent {
            return Err(CallError::Worker(
                self.broken(&format!("did not take a request ({e})")),
            ));
        }
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(CallError::Worker(self.broken("exited"))),
            Ok(_) => Ok(line),
            Err(e) => Err(CallError::Worker(
                self.broken(&format!("could not be read ({e})")),
            )),
        }
    }

    /// Whether its process has ended.
    fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs a batch: one request, the results as text.
    pub fn call(&mut self, request: &[u8]) -> Result<Vec<Option<String>>, CallError> {
        let line = self.exchange(request)?;
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Values { v }) => Ok(v),
            Ok(Reply::Failed { error, row, kind }) => Err(CallError::Function {
                message: error,
                row,
                kind,
            }),
            Err(e) => Err(CallError::Worker(
                self.broken(&format!("answered '{}' ({e})", line.trim_end())),
            )),
        }
    }

    /// The error for a worker that cannot go on, with its exit status and last words.
    fn broken(&mut self, what: &str) -> RuntimeError {
        // Give a dying process a moment to finish writing its traceback.
        let status = match self.child.try_wait() {
            Ok(Some(s)) => Some(s),
            _ => {
                std::thread::sleep(std::time::Duration::from_millis(50));
                self.child.try_wait().ok().flatten()
            }
        };
        let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let tail = String::from_utf8_lossy(&Vec::from(tail)).trim().to_string();
        let said = match tail.is_empty() {
            true => String::new(),
            false => format!("; it wrote: {tail}"),
        };
        RuntimeError::External(format!(
            "the Python worker of function {}{status} {what}{said}",
            self.name
        ))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs what a worker writes to stderr (the user's prints, tracebacks) and keeps its tail.
fn drain_stderr(
    stderr: std::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<u8>>>,
    name: String,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(format!("python-{name}"))
        .spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut chunk = [0u8; 1024];
            loop {
                let n = match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                tracing::info!(function = %name, "python: {}", String::from_utf8_lossy(&chunk[..n]).trim_end());
                let mut kept = tail.lock().unwrap_or_else(|p| p.into_inner());
                kept.extend(&chunk[..n]);
                let excess = kept.len().saturating_sub(STDERR_TAIL);
                kept.drain(..excess);
            }
        })
        .map(|_| ())
}

/// Idle workers of one function instance. Locked only to take or return a worker, once
/// per batch, never while Python runs, so callers on several partitions run in parallel.
#[derive(Default)]
pub struct Workers {
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Workers")
    }
}

impl Workers {
    /// Runs `request` on an idle worker, or a new one. An idle worker whose process
    /// ended while it waited (killed, out of memory) is dropped, not used.
    pub fn call(
        &self,
        function: &PythonFunction,
        request: &[u8],
    ) -> Result<Vec<Option<String>>, CallError> {
        let idle = loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(mut w) => {
                    if !w.has_exited() {
                        break Some(w);
                    }
                }
                None => break None,
            }
        };
        let mut worker = match idle {
            Some(w) => w,
            None => Worker::start(function)?.0,
        };
        let result = worker.call(request);
        if !matches!(result, Err(CallError::Worker(_))) {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(worker);
        }
        result
    }
}
