//! What each `eddy` command runs: the SQL gateway with the REST API, a JobManager, a
//! TaskManager, or a gateway alone. Each runs until SIGTERM or Ctrl-C.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use eddy_cluster::gateway::DispatcherGateway;
use eddy_cluster::rpc::client::GrpcJobManager;
use eddy_connectors::ConnectorRegistry;
use eddy_runtime::config::{checkpointing, cluster, endpoint, Configuration};

use crate::{data_dir, shutdown_signal};

/// Serves the PostgreSQL endpoint (when `gateway`) and the REST API over `dispatcher`
/// until the process is told to stop.
pub async fn serve_gateway(
    data_dir: &Path,
    conf: Configuration,
    registry: Arc<ConnectorRegistry>,
    dispatcher: Arc<dyn DispatcherGateway>,
    gateway: bool,
    result_address: Option<String>,
) -> anyhow::Result<()> {
    let bind = conf.get_string(&endpoint::BIND_ADDRESS);
    let rest_addr = format!("{bind}:{}", conf.get_int(&endpoint::REST_PORT));
    let rest_listener = tokio::net::TcpListener::bind(&rest_addr)
        .await
        .with_context(|| format!("cannot listen on {rest_addr} (REST API)"))?;
    let rest = eddy_cluster::rest::serve(
        rest_listener,
        eddy_cluster::rest::RestState {
            dispatcher: dispatcher.clone(),
            token: Some(conf.get_string(&endpoint::REST_AUTH_TOKEN))
                .filter(|t| !t.is_empty())
                .map(Into::into),
        },
    );
    tracing::info!(address = %rest_addr, "REST API listening");
    let pg = async {
        if !gateway {
            return std::future::pending::<anyhow::Result<()>>().await;
        }
        let options = eddy_sql::pgwire::EndpointOptions::from_config(&conf)?;
        // Passwords and tokens stay here: the engine's configuration goes out with every job.
        let mut engine = eddy_sql::Engine::open(
            data_dir,
            registry,
            dispatcher.clone(),
            conf.without_secrets(),
        )?
        .with_config_users(options.config_user_names());
        if let Some(address) = result_address {
            engine = engine.with_result_address(address);
        }
        let engine = Arc::new(engine);
        options.check_users(&engine).await?;
        eddy_sql::handler::resume_materialized_views(&engine).await;
        let pg_addr = format!("{bind}:{}", conf.get_int(&endpoint::PG_PORT));
        let listener = tokio::net::TcpListener::bind(&pg_addr)
            .await
            .with_context(|| format!("cannot listen on {pg_addr}"))?;
        tracing::info!(
            address = %pg_addr,
            data_dir = %data_dir.display(),
            "Eddy is ready: psql -h {bind} -p {} -U eddy",
            conf.get_int(&endpoint::PG_PORT)
        );
        eddy_sql::pgwire::serve(listener, engine, options).await;
        Ok(())
    };
    tokio::select! {
        r = pg => r?,
        r = rest => {
            if let Err(e) = r {
                tracing::error!(error = %e, "REST API stopped");
            }
        }
        _ = shutdown_signal() => {}
    }
    Ok(())
}

/// The JobManager's configuration: checkpoints and savepoints go under its data directory
/// unless configured. Only the JobManager gets these defaults (the Dispatcher fills them in
/// for jobs that do not set them), so that a job submitted through a gateway elsewhere
/// still uses the JobManager's directories.
pub fn with_state_dirs(conf: &Configuration, data_dir: &Path) -> anyhow::Result<Configuration> {
    let mut conf = conf.clone();
    for (option, sub) in [
        (&checkpointing::CHECKPOINTS_DIR, "checkpoints"),
        (&checkpointing::SAVEPOINTS_DIR, "savepoints"),
    ] {
        if conf.get_string(option).is_empty() {
            let dir = std::path::absolute(data_dir)?.join(sub);
            conf.set(option.key, &dir.to_string_lossy())?;
        }
    }
    Ok(conf)
}

/// `eddy jobmanager`.
pub async fn job_manager(
    data_dir: &Path,
    conf: Configuration,
    gateway: bool,
) -> anyhow::Result<()> {
    let _lock = data_dir::lock(data_dir)?;
    let registry = Arc::new(ConnectorRegistry::new());
    let rpc_addr = format!(
        "{}:{}",
        conf.get_string(&cluster::JOBMANAGER_BIND_HOST),
        conf.get_int(&cluster::JOBMANAGER_RPC_PORT)
    );
    let listener = tokio::net::TcpListener::bind(&rpc_addr)
        .await
        .with_context(|| format!("cannot listen on {rpc_addr} (jobmanager.rpc.port)"))?;
    let jm = eddy_cluster::standalone::start_job_manager(
        &with_state_dirs(&conf, data_dir)?.without_secrets(),
        registry.clone(),
        listener,
    )
    .await?;
    let results = Some(jm.advertised_address.clone());
    // The gateway's jobs name the directories too, so a materialized view knows where its
    // job's checkpoints are.
    let conf = with_state_dirs(&conf, data_dir)?;
    serve_gateway(data_dir, conf, registry, jm.dispatcher, gateway, results).await
}

/// `eddy taskmanager`.
pub async fn task_manager(
    data_dir: &Path,
    conf: Configuration,
    job_manager: &str,
) -> anyhow::Result<()> {
    let _lock = data_dir::lock(data_dir)?;
    let registry = Arc::new(ConnectorRegistry::new());
    eddy_cluster::standalone::run_task_manager(&conf, registry, job_manager, shutdown_signal())
        .await
        .with_context(|| format!("TaskManager of the JobManager at {job_manager}"))
}

/// `eddy gateway`.
pub async fn gateway(
    data_dir: &Path,
    conf: Configuration,
    job_manager: &str,
) -> anyhow::Result<()> {
    let _lock = data_dir::lock(data_dir)?;
    let registry = Arc::new(ConnectorRegistry::new());
    let dispatcher = Arc::new(GrpcJobManager::connect(job_manager)?);
    let bind = conf.get_string(&endpoint::BIND_ADDRESS);
    let port = conf.get_int(&endpoint::RESULT_PORT);
    let listener = tokio::net::TcpListener::bind(format!("{bind}:{port}"))
        .await
        .with_context(|| format!("cannot listen on {bind}:{port} (sql-gateway.result.port)"))?;
    let results = format!(
        "{}:{}",
        conf.get_string(&endpoint::GATEWAY_HOST),
        listener.local_addr()?.port()
    );
    eddy_cluster::standalone::serve_results(listener);
    serve_gateway(data_dir, conf, registry, dispatcher, true, Some(results)).await
}
