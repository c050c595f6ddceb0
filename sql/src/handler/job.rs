//! SHOW JOBS, DESCRIBE JOB and STOP JOB.

use eddy_cluster::JobDetails;

use super::rows::{opt_text, table, text, Cell};
use crate::engine::{Engine, QueryOutput};
use crate::error::Result;

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

pub(super) async fn show_jobs(engine: &Engine) -> Result<QueryOutput> {
    let jobs = engine.dispatcher.list_jobs().await?;
    table(
        &[
            "job_id",
            "job_name",
            "status",
            "start_time",
            "restarts",
            "completed_checkpoints",
        ],
        jobs.into_iter()
            .map(|j| {
                vec![
                    text(j.job_id),
                    text(j.name),
                    text(j.status.as_str()),
                    text(time(j.start_time)),
                    Cell::Int(Some(j.restarts as i64)),
                    Cell::Int(Some(j.checkpoints.completed as i64)),
                ]
            })
            .collect(),
    )
}

fn describe_row(j: JobDetails) -> Vec<Cell> {
    let latest = j.checkpoints.latest.clone();
    vec![
        text(j.job_id),
        text(j.name),
        text(j.status.as_str()),
        text(time(j.start_time)),
        opt_text(j.end_time.map(time)),
        Cell::Int(Some(j.restarts as i64)),
        Cell::Int(Some(j.checkpoints.completed as i64)),
        Cell::Int(Some(j.checkpoints.failed as i64)),
        Cell::Int(latest.as_ref().map(|c| c.id as i64)),
        Cell::Int(latest.as_ref().map(|c| c.duration_ms as i64)),
        Cell::Int(latest.as_ref().map(|c| c.size as i64)),
        opt_text(latest.map(|c| c.path)),
        Cell::Int(Some(j.metrics.num_records_in as i64)),
        Cell::Int(Some(j.metrics.num_records_out as i64)),
        Cell::Int(Some(j.metrics.num_records_skipped as i64)),
        Cell::Int(Some(j.metrics.num_late_records_dropped as i64)),
        opt_text(j.error.map(|f| f.message)),
    ]
}

pub(super) async fn describe_job(engine: &Engine, id: &str) -> Result<QueryOutput> {
    let details = engine.dispatcher.job_details(id).await?;
    table(
        &[
            "job_id",
            "job_name",
            "status",
            "start_time",
            "end_time",
            "restarts",
            "completed_checkpoints",
            "failed_checkpoints",
            "latest_checkpoint_id",
            "latest_checkpoint_duration_ms",
            "latest_checkpoint_size",
            "latest_checkpoint_path",
            "records_in",
            "records_out",
            "records_skipped",
            "late_records_dropped",
            "error",
        ],
        vec![describe_row(details)],
    )
}

/// Flink's STOP JOB: without a savepoint the job is cancelled; with one, its sources stop
/// after a savepoint barrier (after the final watermark WITH DRAIN), the savepoint is
/// written under `state.savepoints.dir`, and its path is the answer.
pub(super) async fn stop_job(
    engine: &Engine,
    id: &str,
    with_savepoint: bool,
    with_drain: bool,
) -> Result<QueryOutput> {
    if !with_savepoint {
        engine.dispatcher.cancel_job(id).await?;
        return Ok(QueryOutput::Command("STOP JOB".into()));
    }
    let path = engine
        .dispatcher
        .trigger_savepoint(id, None, true, with_drain)
        .await?;
    table(&["savepoint path"], vec![vec![text(path)]])
}
