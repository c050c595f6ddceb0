//! `/jobs`, `/jobs/overview`, `/jobs/{jid}` (GET, and PATCH to cancel) and
//! `/jobs/{jid}/checkpoints`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::RestState;
use crate::error::ClusterError;
use crate::gateway::JobDetails;

fn job_json(j: &JobDetails) -> Value {
    let start = j.start_time.timestamp_millis();
    let end = j.end_time.map(|t| t.timestamp_millis());
    json!({
        "jid": j.job_id,
        "name": j.name,
        "state": j.status.as_str(),
        "start-time": start,
        "end-time": end.unwrap_or(-1),
        "duration": end.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()) - start,
        "parallelism": j.parallelism,
        "metrics": {
            "numRecordsIn": j.metrics.num_records_in,
            "numRecordsOut": j.metrics.num_records_out,
            "numRecordsSkipped": j.metrics.num_records_skipped,
            "numLateRecordsDropped": j.metrics.num_late_records_dropped,
        },
        "vertices": j.vertices.iter().map(|v| json!({
            "id": v.id.to_string(),
            "name": v.name,
            "parallelism": v.parallelism,
            "status": v.status,
            "metrics": {
                "read-records": v.metrics.num_records_in,
                "write-records": v.metrics.num_records_out,
                "read-bytes": v.metrics.num_bytes_in,
                "write-bytes": v.metrics.num_bytes_out,
            },
        })).collect::<Vec<_>>(),
        "error": j.error.as_ref().map(|f| f.message.clone()),
        "error-sqlstate": j.error.as_ref().map(|f| f.sqlstate.clone()),
    })
}

fn error(e: ClusterError) -> (StatusCode, Json<Value>) {
    let status = match e {
        ClusterError::JobNotFound(_) => StatusCode::NOT_FOUND,
        ClusterError::JobTerminated { .. } => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({ "errors": [e.to_string()] })))
}

/// Every job, as Flink's job overview.
pub(super) async fn overview(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let jobs = state.dispatcher.list_jobs().await.map_err(error)?;
    Ok(Json(
        json!({ "jobs": jobs.iter().map(job_json).collect::<Vec<_>>() }),
    ))
}

/// Every job's id and status (Flink's `/jobs`).
pub(super) async fn list(
    State(state): State<RestState>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let jobs = state.dispatcher.list_jobs().await.map_err(error)?;
    let list: Vec<Value> = jobs
        .iter()
        .map(|j| json!({ "id": j.job_id, "status": j.status.as_str() }))
        .collect();
    Ok(Json(json!({ "jobs": list })))
}

/// Cancels a job (Flink's `PATCH /jobs/:jobid`, `?mode=cancel` being the only mode).
pub(super) async fn cancel(
    State(state): State<RestState>,
    Path(jid): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)> {
    if let Some(mode) = params.get("mode") {
        if mode != "cancel" {
            return Err((
                StatusCode::BAD_REQUEST,
                Json(
                    json!({ "errors": [format!("mode '{mode}' is not supported; use mode=cancel")] }),
                ),
            ));
        }
    }
    state.dispatcher.cancel_job(&jid).await.map_err(error)?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))))
}

/// One job.
pub(super) async fn job(
    State(state): State<RestState>,
    Path(jid): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let job = state.dispatcher.job_details(&jid).await.map_err(error)?;
    Ok(Json(job_json(&job)))
}

/// A job's checkpoint statistics, in the shape of Flink's `/jobs/:jobid/checkpoints`.
pub(super) async fn checkpoints(
    State(state): State<RestState>,
    Path(jid): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let job = state.dispatcher.job_details(&jid).await.map_err(error)?;
    let c = &job.checkpoints;
    let completed = c.latest.as_ref().map(|l| {
        json!({
            "id": l.id,
            "status": "COMPLETED",
            "is_savepoint": l.savepoint,
            "external_path": l.path,
            "end_to_end_duration": l.duration_ms,
            "state_size": l.size,
            "latest_ack_timestamp": l.completed_at,
        })
    });
    Ok(Json(json!({
        "counts": {
            "restored": u64::from(c.restored.is_some()),
            "total": c.triggered,
            "in_progress": c.in_progress,
            "completed": c.completed,
            "failed": c.failed,
        },
        "latest": {
            "completed": completed,
            "restored": c.restored.map(|id| json!({ "id": id })),
        },
        "restarts": job.restarts,
    })))
}
