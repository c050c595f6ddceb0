//! A real standalone cluster for tests: `eddy jobmanager` plus TaskManager processes, each
//! with its own data dir and log, on free loopback ports, with short heartbeats so a lost
//! TaskManager is noticed within seconds. Everything is killed on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

use super::{free_ports, STARTUP_TIMEOUT};

/// Heartbeat settings every process of a test cluster gets.
pub const HEARTBEAT: [&str; 4] = [
    "-D",
    "heartbeat.interval=300ms",
    "-D",
    "heartbeat.timeout=5s",
];

pub struct Cluster {
    job_manager: Option<Child>,
    task_managers: Vec<Option<Child>>,
    pub pg_port: u16,
    pub rest_port: u16,
    pub rpc_port: u16,
    root: tempfile::TempDir,
    extra: Vec<String>,
}

fn bin() -> String {
    std::env::var("EDDY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_eddy").into())
}

impl Cluster {
    /// A JobManager and `task_managers` TaskManagers of `slots` slots each; `extra` goes to
    /// every process (e.g. `-D slot.request.timeout=2s`). Returns once all have registered.
    pub fn start(task_managers: usize, slots: u32, extra: &[&str]) -> Cluster {
        let root = tempfile::Builder::new()
            .prefix("eddy-cluster")
            .tempdir()
            .expect("temp dir");
        let mut cluster = Cluster {
            job_manager: None,
            task_managers: Vec::new(),
            pg_port: 0,
            rest_port: 0,
            rpc_port: 0,
            root,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        // A port found free may be taken by another test's process before the JobManager
        // binds it (TaskManagers bind any free port): then start again on other ports.
        for attempt in 1..=5 {
            let (pg_port, rest_port) = free_ports();
            let (rpc_port, _) = free_ports();
            (cluster.pg_port, cluster.rest_port, cluster.rpc_port) = (pg_port, rest_port, rpc_port);
            let jm = cluster.spawn(
                "jobmanager",
                &[
                    "jobmanager",
                    "--pg-port",
                    &pg_port.to_string(),
                    "--rest-port",
                    &rest_port.to_string(),
                    "--rpc-port",
                    &rpc_port.to_string(),
                ],
            );
            cluster.job_manager = Some(jm);
            if cluster.try_wait_for_port(pg_port) {
                break;
            }
            let log = cluster.log("jobmanager");
            assert!(
                attempt < 5 && log.contains("cannot listen"),
                "the JobManager did not start\n{}",
                cluster.logs()
            );
        }
        for _ in 0..task_managers {
            cluster.add_task_manager(slots);
        }
        cluster.wait_for_task_managers(task_managers);
        cluster
    }

    fn spawn(&self, name: &str, args: &[&str]) -> Child {
        let data = self.root.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(self.log_path(name)).expect("log file");
        Command::new(bin())
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .args(HEARTBEAT)
            .args(&self.extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin()))
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("{name}.log"))
    }

    /// Starts one more TaskManager, with id `tm-<i>`; does not wait for it to register.
    pub fn add_task_manager(&mut self, slots: u32) -> usize {
        let i = self.task_managers.len();
        let tm = self.spawn(
            &format!("taskmanager-{i}"),
            &[
                "taskmanager",
                "--jobmanager",
                &format!("127.0.0.1:{}", self.rpc_port),
                "--slots",
                &slots.to_string(),
                "-D",
                &format!("taskmanager.resource-id=tm-{i}"),
            ],
        );
        self.task_managers.push(Some(tm));
        i
    }

    /// Waits for the JobManager's port; false if it exited first.
    fn try_wait_for_port(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(Ok(Some(_))) = self.job_manager.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "the JobManager did not listen on {port}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    fn wait_for_port(&mut self, port: u16, name: &str) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(Ok(Some(status))) = self.job_manager.as_mut().map(|c| c.try_wait()) {
                panic!("{name} exited at startup ({status})\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {port}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the ResourceManager knows `n` TaskManagers.
    pub fn wait_for_task_managers(&self, n: usize) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let overview = self.rest("/overview");
            if overview["taskmanagers"].as_u64() == Some(n as u64) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{n} TaskManagers did not register: {overview}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL of TaskManager `i`.
    pub fn kill_task_manager(&mut self, i: usize) {
        if let Some(mut c) = self.task_managers[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts `eddy gateway` against this cluster's JobManager; returns its PostgreSQL
    /// port once it listens. It is stopped with the cluster.
    pub fn add_gateway(&mut self) -> u16 {
        let (pg_port, rest_port) = free_ports();
        let gateway = self.spawn(
            "gateway",
            &[
                "gateway",
                "--jobmanager",
                &format!("127.0.0.1:{}", self.rpc_port),
                "--pg-port",
                &pg_port.to_string(),
                "--rest-port",
                &rest_port.to_string(),
            ],
        );
        self.task_managers.push(Some(gateway));
        self.wait_for_port(pg_port, "gateway");
        pg_port
    }

    /// SIGTERM of TaskManager `i`; returns whether it exited by itself within 20 s.
    pub fn stop_task_manager(&mut self, i: usize) -> bool {
        let Some(mut c) = self.task_managers[i].take() else {
            return true;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// The process id of TaskManager `i`.
    pub fn task_manager_pid(&self, i: usize) -> u32 {
        self.task_managers[i].as_ref().expect("running").id()
    }

    /// Whether every process still runs.
    pub fn all_running(&mut self) -> bool {
        let mut ok = matches!(
            self.job_manager.as_mut().map(|c| c.try_wait()),
            Some(Ok(None))
        );
        for c in self.task_managers.iter_mut().flatten() {
            ok &= matches!(c.try_wait(), Ok(None));
        }
        ok
    }

    /// A session on the JobManager's gateway.
    pub async fn connect(&self) -> Client {
        let conn = format!("host=127.0.0.1 port={} user=eddy dbname=eddy", self.pg_port);
        let (client, connection) = tokio_postgres::connect(&conn, NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect: {e}\n{}", self.logs()));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// GET of a REST path, as JSON.
    pub fn rest(&self, path: &str) -> serde_json::Value {
        super::rest_get(self.rest_port, path)
    }

    /// The log of one process (`jobmanager`, `taskmanager-0`, ...).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// The tails of every log.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut names = vec!["jobmanager".to_string()];
        names.extend((0..self.task_managers.len()).map(|i| format!("taskmanager-{i}")));
        for name in names {
            let log = self.log(&name);
            let lines: Vec<&str> = log.lines().collect();
            out.push_str(&format!(
                "--- {name} ---\n{}\n",
                lines[lines.len().saturating_sub(40)..].join("\n")
            ));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for c in self.task_managers.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(c) = self.job_manager.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
