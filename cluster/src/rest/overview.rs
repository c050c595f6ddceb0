//! `/overview` and `/taskmanagers`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::RestState;
use crate::gateway::{JobStatus, TaskExecutorInfo};

fn internal(e: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "errors": [e.to_string()] })),
    )
}

/// What Flink's web UI reads first (`/config`).
pub(super) async fn config() -> Json<Value> {
    let now = chrono::Local::now();
    Json(json!({
        "refresh-interval": 3000,
        "timezone-name": now.format("%Z").to_string(),
        "timezone-offset": now.offset().local_minus_utc() * 1000,
        "flink-version": concat!("eddy-", env!("CARGO_PKG_VERSION")),
        "flink-revision": env!("CARGO_PKG_VERSION"),
        "features": {
            "web-submit": false,
            "web-cancel": true,
            "web-rescale": false,
            "web-history": false,
        },
    }))
}

/// Flink's cluster overview.
pub(super) async fn overview(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let executors = state.dispatcher.task_executors().await.map_err(internal)?;
    let jobs = state.dispatcher.list_jobs().await.map_err(internal)?;
    let count = |s: JobStatus| jobs.iter().filter(|j| j.status == s).count();
    Ok(Json(json!({
        "taskmanagers": executors.len(),
        "slots-total": executors.iter().map(|e| e.num_slots).sum::<u32>(),
        "slots-available": executors.iter().map(|e| e.free_slots).sum::<u32>(),
        "jobs-running": jobs.iter().filter(|j| !j.status.is_terminal()).count(),
        "jobs-finished": count(JobStatus::Finished),
        "jobs-cancelled": count(JobStatus::Canceled),
        "jobs-failed": count(JobStatus::Failed),
        "flink-version": concat!("eddy-", env!("CARGO_PKG_VERSION")),
    })))
}

fn taskmanager_json(e: &TaskExecutorInfo) -> Value {
    let data_port = e
        .data_address
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(0);
    json!({
        "id": e.id,
        "path": e.rpc_address,
        "dataAddress": e.data_address,
        "dataPort": data_port,
        "slotsNumber": e.num_slots,
        "freeSlots": e.free_slots,
        "timeSinceLastHeartbeat": e.since_heartbeat.as_millis() as u64,
    })
}

/// Registered TaskManagers and their slots.
pub(super) async fn taskmanagers(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let executors = state.dispatcher.task_executors().await.map_err(internal)?;
    let list: Vec<Value> = executors.iter().map(taskmanager_json).collect();
    Ok(Json(json!({ "taskmanagers": list })))
}

/// One TaskManager.
pub(super) async fn taskmanager(
    State(state): State<RestState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let executors = state.dispatcher.task_executors().await.map_err(internal)?;
    match executors.iter().find(|e| e.id == id) {
        Some(e) => Ok(Json(taskmanager_json(e))),
        None => Err((
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": [format!("TaskManager '{id}' is not registered")] })),
        )),
    }
}
