//! `/overview` and `/taskmanagers`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::RestState;
use crate::gateway::JobStatus;

fn internal(e: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "errors": [e.to_string()] })),
    )
}

/// Flink's cluster overview.
pub(super) async fn overview(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let executors = state
        .resource_manager
        .task_executors()
        .await
        .map_err(internal)?;
    let jobs = state.dispatcher.list_jobs().await.map_err(internal)?;
    let count = |s: JobStatus| jobs.iter().filter(|j| j.status == s).count();
    Ok(Json(json!({
        "taskmanagers": executors.len(),
        "slots-total": executors.iter().map(|e| e.1).sum::<u32>(),
        "slots-available": executors.iter().map(|e| e.2).sum::<u32>(),
        "jobs-running": jobs.iter().filter(|j| !j.status.is_terminal()).count(),
        "jobs-finished": count(JobStatus::Finished),
        "jobs-cancelled": count(JobStatus::Canceled),
        "jobs-failed": count(JobStatus::Failed),
        "flink-version": concat!("eddy-", env!("CARGO_PKG_VERSION")),
    })))
}

/// Registered TaskManagers and their slots.
pub(super) async fn taskmanagers(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let executors = state
        .resource_manager
        .task_executors()
        .await
        .map_err(internal)?;
    let list: Vec<Value> = executors
        .into_iter()
        .map(|(id, total, free)| json!({ "id": id, "slotsNumber": total, "freeSlots": free }))
        .collect();
    Ok(Json(json!({ "taskmanagers": list })))
}
