//! SHOW JOBS, DESCRIBE JOB and STOP JOB.

use eddy_cluster::JobDetails;

use super::rows::{opt_text, table, text, Cell};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

pub(super) async fn show_jobs(engine: &Engine) -> Result<QueryOutput> {
    let jobs = engine.dispatcher.list_jobs().await?;
    table(
        &["job_id", "job_name", "status", "start_time"],
        jobs.into_iter()
            .map(|j| {
                vec![
                    text(j.job_id),
                    text(j.name),
                    text(j.status.as_str()),
                    text(time(j.start_time)),
                ]
            })
            .collect(),
    )
}

fn describe_row(j: JobDetails) -> Vec<Cell> {
    vec![
        text(j.job_id),
        text(j.name),
        text(j.status.as_str()),
        text(time(j.start_time)),
        opt_text(j.end_time.map(time)),
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
            "records_in",
            "records_out",
            "records_skipped",
            "late_records_dropped",
            "error",
        ],
        vec![describe_row(details)],
    )
}

pub(super) async fn stop_job(
    engine: &Engine,
    id: &str,
    with_savepoint: bool,
) -> Result<QueryOutput> {
    if with_savepoint {
        return Err(SqlError::NotSupported(
            "STOP JOB ... WITH SAVEPOINT needs checkpointing, which is not available yet; use STOP JOB '<id>'".into(),
        ));
    }
    engine.dispatcher.cancel_job(id).await?;
    Ok(QueryOutput::Command("STOP JOB".into()))
}
