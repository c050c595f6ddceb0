//! `eddy`: starts the SQL gateway, the JobManager roles and a TaskManager in one process;
//! `eddy jobmanager`, `eddy taskmanager` and `eddy gateway` run them as separate processes
//! of a standalone cluster.

mod config;
mod data_dir;
mod process;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use eddy_cluster::MiniCluster;
use eddy_connectors::ConnectorRegistry;
use eddy_runtime::config::{
    cluster, core, endpoint, options_markdown, task_manager, Configuration,
};
use eddy_runtime::limits;

/// Eddy: a streaming SQL engine speaking Flink SQL over the PostgreSQL wire protocol.
///
/// Connect with `psql -h 127.0.0.1 -p 5433 -U eddy`. Configuration keys use Flink's names
/// (`parallelism.default`, `taskmanager.numberOfTaskSlots`, `execution.buffer-timeout`, ...)
/// and are read, lowest precedence first, from the YAML file given by --config, from -D
/// flags, and from `SET 'key' = 'value'` in a session. `eddy config-docs` lists every key.
/// Logs go to stderr; their level comes from RUST_LOG or `-D log.level=debug`.
#[derive(Parser, Debug)]
#[command(name = "eddy", version, about, long_about)]
struct Cli {
    /// YAML file of configuration keys (flat `key: value` or nested maps).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Directory for the catalog and job data.
    #[arg(long, value_name = "DIR", default_value = "./eddy-data", global = true)]
    data_dir: PathBuf,
    /// Port of the PostgreSQL wire protocol endpoint (sql-gateway.endpoint.pg.port)
    /// [default: 5433].
    #[arg(long, value_name = "N", global = true)]
    pg_port: Option<u16>,
    /// Port of the REST API (rest.port) [default: 8081]: Flink's /overview,
    /// /jobs/overview, /jobs/{jid} and /taskmanagers.
    #[arg(long, value_name = "N", global = true)]
    rest_port: Option<u16>,
    /// Sets a configuration key, e.g. -D parallelism.default=4 (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE", global = true)]
    defines: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints every configuration key with its default as a Markdown table.
    ConfigDocs,
    /// Runs the JobManager of a standalone cluster: Dispatcher, JobMasters,
    /// ResourceManager and REST API, plus the SQL gateway unless --no-gateway. TaskManagers
    /// register on its RPC port (jobmanager.rpc.port, 6123).
    Jobmanager {
        /// Port of the RPC endpoint (jobmanager.rpc.port) [default: 6123].
        #[arg(long, value_name = "N")]
        rpc_port: Option<u16>,
        /// Run without the SQL gateway (start one with `eddy gateway`).
        #[arg(long)]
        no_gateway: bool,
    },
    /// Runs a TaskManager: registers its slots with the JobManager, heartbeats and runs
    /// the subtasks deployed to it.
    Taskmanager {
        /// The JobManager's RPC endpoint [default: jobmanager.rpc.address:jobmanager.rpc.port].
        #[arg(long, value_name = "HOST:PORT")]
        jobmanager: Option<String>,
        /// Port of the TaskManager's RPC endpoint (taskmanager.rpc.port) [default: any].
        #[arg(long, value_name = "N")]
        rpc_port: Option<u16>,
        /// Port of its data exchange server (taskmanager.data.port) [default: any].
        #[arg(long, value_name = "N")]
        data_port: Option<u16>,
        /// Task slots offered (taskmanager.numberOfTaskSlots).
        #[arg(long, value_name = "N")]
        slots: Option<u32>,
    },
    /// Runs a SQL gateway alone, submitting jobs to the JobManager at --jobmanager.
    Gateway {
        /// The JobManager's RPC endpoint [default: jobmanager.rpc.address:jobmanager.rpc.port].
        #[arg(long, value_name = "HOST:PORT")]
        jobmanager: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::ConfigDocs) = cli.command {
        print!("{}", config::docs_page(&options_markdown()));
        return Ok(());
    }
    // Statements are planned and run on these threads: their stacks must hold the
    // deepest statement the gateway accepts (see eddy_runtime::limits).
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(limits::THREAD_STACK_SIZE)
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(serve(cli))
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let mut conf = config::load(cli.config.as_deref(), &cli.defines)?;
    if let Some(p) = cli.pg_port {
        conf.set(endpoint::PG_PORT.key, &p.to_string())?;
    }
    if let Some(p) = cli.rest_port {
        conf.set(endpoint::REST_PORT.key, &p.to_string())?;
    }
    let job_manager_address = |conf: &Configuration, flag: Option<String>| {
        flag.unwrap_or_else(|| {
            format!(
                "{}:{}",
                conf.get_string(&cluster::JOBMANAGER_RPC_ADDRESS),
                conf.get_int(&cluster::JOBMANAGER_RPC_PORT)
            )
        })
    };
    match cli.command {
        None | Some(Command::ConfigDocs) => {
            config::init_logging(&conf.get_string(&core::LOG_LEVEL));
            embedded(&cli.data_dir, conf).await
        }
        Some(Command::Jobmanager {
            rpc_port,
            no_gateway,
        }) => {
            if let Some(p) = rpc_port {
                conf.set(cluster::JOBMANAGER_RPC_PORT.key, &p.to_string())?;
            }
            config::init_logging(&conf.get_string(&core::LOG_LEVEL));
            process::job_manager(&cli.data_dir, conf, !no_gateway).await
        }
        Some(Command::Taskmanager {
            jobmanager,
            rpc_port,
            data_port,
            slots,
        }) => {
            for (key, v) in [
                (cluster::TASKMANAGER_RPC_PORT.key, rpc_port.map(u32::from)),
                (cluster::TASKMANAGER_DATA_PORT.key, data_port.map(u32::from)),
                (task_manager::NUM_TASK_SLOTS.key, slots),
            ] {
                if let Some(v) = v {
                    conf.set(key, &v.to_string())?;
                }
            }
            config::init_logging(&conf.get_string(&core::LOG_LEVEL));
            let jm = job_manager_address(&conf, jobmanager);
            process::task_manager(&cli.data_dir, conf, &jm).await
        }
        Some(Command::Gateway { jobmanager }) => {
            config::init_logging(&conf.get_string(&core::LOG_LEVEL));
            let jm = job_manager_address(&conf, jobmanager);
            process::gateway(&cli.data_dir, conf, &jm).await
        }
    }
}

/// Everything in one process.
async fn embedded(data_dir: &std::path::Path, conf: Configuration) -> anyhow::Result<()> {
    let _lock = data_dir::lock(data_dir)?;
    let registry = Arc::new(ConnectorRegistry::new());
    let conf = process::with_state_dirs(&conf, data_dir)?;
    let cluster = MiniCluster::start(&conf.without_secrets(), registry.clone()).await?;
    process::serve_gateway(data_dir, conf, registry, cluster.dispatcher, true, None).await
}
