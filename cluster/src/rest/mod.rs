//! The REST API under Flink's paths, so tools that read Flink's `/overview` and
//! `/jobs/overview` read Eddy's too. Jobs are submitted through SQL; `PATCH /jobs/{jid}` cancels.

mod jobs;
mod overview;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::gateway::DispatcherGateway;

/// What the handlers read.
#[derive(Clone)]
pub struct RestState {
    pub dispatcher: Arc<dyn DispatcherGateway>,
}

/// The router: `/overview`, `/jobs/overview`, `/jobs/{jid}`, `/jobs/{jid}/checkpoints`,
/// `/taskmanagers`.
pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/overview", get(overview::overview))
        .route("/taskmanagers", get(overview::taskmanagers))
        .route("/taskmanagers/{id}", get(overview::taskmanager))
        .route("/config", get(overview::config))
        .route("/jobs", get(jobs::list))
        .route("/jobs/overview", get(jobs::overview))
        .route("/jobs/{jid}", get(jobs::job).patch(jobs::cancel))
        .route("/jobs/{jid}/checkpoints", get(jobs::checkpoints))
        .with_state(state)
}

/// Serves the REST API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: RestState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
