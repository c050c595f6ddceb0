//! The REST API under Flink's paths, so tools that read Flink's `/overview` and
//! `/jobs/overview` read Eddy's too. Jobs are submitted through SQL; `PATCH /jobs/{jid}` cancels.

mod jobs;
mod overview;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::gateway::DispatcherGateway;

/// What the handlers read.
#[derive(Clone)]
pub struct RestState {
    pub dispatcher: Arc<dyn DispatcherGateway>,
    /// The bearer token every request must carry (`rest.auth.token`), if one is set.
    pub token: Option<Arc<str>>,
}

/// Lets a request through only with `Authorization: Bearer <rest.auth.token>`.
async fn bearer(State(state): State<RestState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.token.as_deref() else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| same_secret(p.trim().as_bytes(), expected.as_bytes())) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(serde_json::json!({
            "errors": ["missing or wrong bearer token: send 'Authorization: Bearer <rest.auth.token>'"]
        })),
    )
        .into_response()
}

/// Compares without stopping at the first difference, so timing tells nothing about how
/// much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
        .route_layer(middleware::from_fn_with_state(state.clone(), bearer))
        .with_state(state)
}

/// Serves the REST API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: RestState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
