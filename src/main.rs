//! `eddy`: starts the SQL gateway, the JobManager roles and a TaskManager in one process.

mod config;
mod data_dir;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use eddy_cluster::MiniCluster;
use eddy_connectors::ConnectorRegistry;
use eddy_runtime::config::{core, endpoint, options_markdown};
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
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the catalog and job data.
    #[arg(long, value_name = "DIR", default_value = "./eddy-data")]
    data_dir: PathBuf,
    /// Port of the PostgreSQL wire protocol endpoint (sql-gateway.endpoint.pg.port)
    /// [default: 5433].
    #[arg(long, value_name = "N")]
    pg_port: Option<u16>,
    /// Port of the REST API (rest.port) [default: 8081]: Flink's /overview,
    /// /jobs/overview, /jobs/{jid} and /taskmanagers.
    #[arg(long, value_name = "N")]
    rest_port: Option<u16>,
    /// Sets a configuration key, e.g. -D parallelism.default=4 (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    defines: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints every configuration key with its default as a Markdown table.
    ConfigDocs,
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

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let mut conf = config::load(cli.config.as_deref(), &cli.defines)?;
    if let Some(p) = cli.pg_port {
        conf.set(endpoint::PG_PORT.key, &p.to_string())?;
    }
    if let Some(p) = cli.rest_port {
        conf.set(endpoint::REST_PORT.key, &p.to_string())?;
    }
    config::init_logging(&conf.get_string(&core::LOG_LEVEL));

    let _lock = data_dir::lock(&cli.data_dir)?;
    let registry = Arc::new(ConnectorRegistry::new());
    let cluster = MiniCluster::start(&conf, registry.clone()).await?;
    let engine = Arc::new(eddy_sql::Engine::open(
        &cli.data_dir,
        registry,
        cluster.dispatcher.clone(),
        conf.clone(),
    )?);

    let bind = conf.get_string(&endpoint::BIND_ADDRESS);
    let pg_addr = format!("{bind}:{}", conf.get_int(&endpoint::PG_PORT));
    let listener = tokio::net::TcpListener::bind(&pg_addr)
        .await
        .with_context(|| format!("cannot listen on {pg_addr}"))?;
    tracing::info!(
        address = %pg_addr,
        data_dir = %cli.data_dir.display(),
        "Eddy is ready: psql -h {bind} -p {} -U eddy",
        conf.get_int(&endpoint::PG_PORT)
    );
    let rest_addr = format!("{bind}:{}", conf.get_int(&endpoint::REST_PORT));
    let rest_listener = tokio::net::TcpListener::bind(&rest_addr)
        .await
        .with_context(|| format!("cannot listen on {rest_addr} (REST API)"))?;
    let rest = eddy_cluster::rest::serve(
        rest_listener,
        eddy_cluster::rest::RestState {
            dispatcher: cluster.dispatcher.clone(),
            resource_manager: cluster.resource_manager.clone(),
        },
    );
    tracing::info!(address = %rest_addr, "REST API listening");
    tokio::select! {
        _ = eddy_sql::pgwire::serve(
            listener,
            engine,
            conf.get_int(&endpoint::PG_MAX_CONNECTIONS).max(1) as usize,
            conf.get_duration(&endpoint::PG_STARTUP_TIMEOUT),
        ) => {}
        r = rest => {
            if let Err(e) = r {
                tracing::error!(error = %e, "REST API stopped");
            }
        }
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}
