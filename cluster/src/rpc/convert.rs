//! Conversions between the gateway types and their wire form, and between cluster errors
//! and gRPC statuses. Errors keep their class and SQLSTATE across the wire.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use eddy_runtime::connector::SourceSplit;
use eddy_runtime::error::ErrorClass;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;
use tonic::{Code, Status};

use super::proto;
use crate::error::ClusterError;
use crate::gateway::{
    ExecutionAttemptId, ExecutionState, Failure, JobDetails, JobStatus, SlotAllocation,
    TaskExecutionState, TaskExecutorInfo, VertexDetails,
};
use crate::task_executor::TaskDeploymentDescriptor;

/// Version of the RPC protocol; a TaskManager of another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Metadata key naming which [`ClusterError`] a status stands for.
const ERROR_KIND: &str = "x-eddy-error";
const ERROR_CLASS: &str = "x-eddy-class";
const ERROR_SQLSTATE: &str = "x-eddy-sqlstate";
const ERROR_ARG: &str = "x-eddy-arg";

fn bad(what: &str) -> Status {
    Status::invalid_argument(format!("malformed message: {what}"))
}

pub fn class_name(c: ErrorClass) -> &'static str {
    match c {
        ErrorClass::User => "user",
        ErrorClass::External => "external",
        ErrorClass::Internal => "internal",
    }
}

fn class_of(s: &str) -> ErrorClass {
    match s {
        "user" => ErrorClass::User,
        "external" => ErrorClass::External,
        _ => ErrorClass::Internal,
    }
}

impl From<&Failure> for proto::Failure {
    fn from(f: &Failure) -> Self {
        Self {
            message: f.message.clone(),
            class: class_name(f.class).to_string(),
            sqlstate: f.sqlstate.clone(),
        }
    }
}

impl From<proto::Failure> for Failure {
    fn from(f: proto::Failure) -> Self {
        let sqlstate = if f.sqlstate.len() == 5 && f.sqlstate.is_ascii() {
            f.sqlstate
        } else {
            "XX000".to_string()
        };
        Self {
            message: f.message,
            class: class_of(&f.class),
            sqlstate,
        }
    }
}

impl From<MetricsSnapshot> for proto::Metrics {
    fn from(m: MetricsSnapshot) -> Self {
        Self {
            num_records_in: m.num_records_in,
            num_records_out: m.num_records_out,
            num_records_skipped: m.num_records_skipped,
            num_late_records_dropped: m.num_late_records_dropped,
            num_bytes_in: m.num_bytes_in,
            num_bytes_out: m.num_bytes_out,
        }
    }
}

impl From<proto::Metrics> for MetricsSnapshot {
    fn from(m: proto::Metrics) -> Self {
        Self {
            num_records_in: m.num_records_in,
            num_records_out: m.num_records_out,
            num_records_skipped: m.num_records_skipped,
            num_late_records_dropped: m.num_late_records_dropped,
            num_bytes_in: m.num_bytes_in,
            num_bytes_out: m.num_bytes_out,
        }
    }
}

impl From<&VertexDetails> for proto::VertexDetails {
    fn from(v: &VertexDetails) -> Self {
        Self {
            id: v.id,
            name: v.name.clone(),
            parallelism: v.parallelism,
            status: v.status.clone(),
            metrics: Some(v.metrics.into()),
        }
    }
}

impl From<proto::VertexDetails> for VertexDetails {
    fn from(v: proto::VertexDetails) -> Self {
        Self {
            id: v.id,
            name: v.name,
            parallelism: v.parallelism,
            status: v.status,
            metrics: v.metrics.map(Into::into).unwrap_or_default(),
        }
    }
}

impl From<&ExecutionAttemptId> for proto::ExecutionAttempt {
    fn from(a: &ExecutionAttemptId) -> Self {
        Self {
            job_id: a.job_id.clone(),
            vertex_id: a.vertex_id,
            subtask_index: a.subtask_index,
            attempt: a.attempt,
        }
    }
}

impl From<proto::ExecutionAttempt> for ExecutionAttemptId {
    fn from(a: proto::ExecutionAttempt) -> Self {
        Self {
            job_id: a.job_id,
            vertex_id: a.vertex_id,
            subtask_index: a.subtask_index,
            attempt: a.attempt,
        }
    }
}

impl From<&TaskExecutionState> for proto::TaskExecutionState {
    fn from(s: &TaskExecutionState) -> Self {
        use proto::ExecutionStateKind as K;
        let (kind, failure) = match &s.state {
            ExecutionState::Deploying => (K::Deploying, None),
            ExecutionState::Running => (K::Running, None),
            ExecutionState::Finished => (K::Finished, None),
            ExecutionState::Canceled => (K::Canceled, None),
            ExecutionState::Failed(f) => (K::Failed, Some(f.into())),
        };
        Self {
            attempt: Some((&s.attempt).into()),
            state: kind as i32,
            failure,
            metrics: Some(s.metrics.into()),
        }
    }
}

impl TryFrom<proto::TaskExecutionState> for TaskExecutionState {
    type Error = Status;
    fn try_from(s: proto::TaskExecutionState) -> Result<Self, Status> {
        use proto::ExecutionStateKind as K;
        let state = match K::try_from(s.state).map_err(|_| bad("execution state"))? {
            K::Deploying => ExecutionState::Deploying,
            K::Running => ExecutionState::Running,
            K::Finished => ExecutionState::Finished,
            K::Canceled => ExecutionState::Canceled,
            K::Failed => ExecutionState::Failed(
                s.failure
                    .map(Failure::from)
                    .unwrap_or_else(|| Failure::internal("a task failed without a reason")),
            ),
            K::ExecutionStateUnspecified => return Err(bad("execution state")),
        };
        Ok(Self {
            attempt: s.attempt.ok_or_else(|| bad("attempt"))?.into(),
            state,
            metrics: s.metrics.map(Into::into).unwrap_or_default(),
        })
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl From<&JobDetails> for proto::JobDetails {
    fn from(j: &JobDetails) -> Self {
        Self {
            job_id: j.job_id.clone(),
            name: j.name.clone(),
            status: j.status.as_str().to_string(),
            start_time_millis: millis(j.start_time),
            end_time_millis: j.end_time.map(millis),
            error: j.error.as_ref().map(Into::into),
            parallelism: j.parallelism.clone(),
            metrics: Some(j.metrics.into()),
            vertices: j.vertices.iter().map(Into::into).collect(),
            restarts: j.restarts,
            checkpoints: serde_json::to_string(&j.checkpoints).unwrap_or_default(),
        }
    }
}

impl TryFrom<proto::JobDetails> for JobDetails {
    type Error = Status;
    fn try_from(j: proto::JobDetails) -> Result<Self, Status> {
        let status = [
            JobStatus::Created,
            JobStatus::Running,
            JobStatus::Restarting,
            JobStatus::Failing,
            JobStatus::Failed,
            JobStatus::Cancelling,
            JobStatus::Canceled,
            JobStatus::Finished,
        ]
        .into_iter()
        .find(|s| s.as_str() == j.status)
        .ok_or_else(|| bad("job status"))?;
        Ok(Self {
            job_id: j.job_id,
            name: j.name,
            status,
            start_time: time(j.start_time_millis),
            end_time: j.end_time_millis.map(time),
            error: j.error.map(Into::into),
            parallelism: j.parallelism,
            metrics: j.metrics.map(Into::into).unwrap_or_default(),
            vertices: j.vertices.into_iter().map(Into::into).collect(),
            restarts: j.restarts,
            checkpoints: serde_json::from_str(&j.checkpoints).unwrap_or_default(),
        })
    }
}

impl From<&TaskExecutorInfo> for proto::TaskExecutorInfo {
    fn from(t: &TaskExecutorInfo) -> Self {
        Self {
            id: t.id.clone(),
            num_slots: t.num_slots,
            free_slots: t.free_slots,
            rpc_address: t.rpc_address.clone(),
            data_address: t.data_address.clone(),
            millis_since_heartbeat: t.since_heartbeat.as_millis() as u64,
        }
    }
}

impl From<proto::TaskExecutorInfo> for TaskExecutorInfo {
    fn from(t: proto::TaskExecutorInfo) -> Self {
        Self {
            id: t.id,
            num_slots: t.num_slots,
            free_slots: t.free_slots,
            rpc_address: t.rpc_address,
            data_address: t.data_address,
            since_heartbeat: Duration::from_millis(t.millis_since_heartbeat),
        }
    }
}

/// The wire form of a deployment.
pub fn tdd_to_proto(
    tdd: &TaskDeploymentDescriptor,
) -> Result<proto::TaskDeploymentDescriptor, ClusterError> {
    Ok(proto::TaskDeploymentDescriptor {
        attempt: Some((&tdd.attempt).into()),
        job_graph: tdd.job_graph.to_bytes()?,
        slot_index: tdd.slot_index,
        splits: tdd
            .splits
            .iter()
            .map(|s| proto::SourceSplit {
                id: s.id.clone(),
                state: s.state.to_string(),
            })
            .collect(),
        slots: tdd
            .slots
            .iter()
            .map(|s| proto::SlotLocation {
                task_executor: s.task_executor.clone(),
                slot_index: s.slot_index,
                data_address: s.data_address.clone(),
            })
            .collect(),
        job_master_address: tdd.job_master_address.clone(),
        restore: match &tdd.restore {
            Some(r) => serde_json::to_vec(r).map_err(|e| {
                ClusterError::Runtime(eddy_runtime::RuntimeError::Internal(e.to_string()))
            })?,
            None => Vec::new(),
        },
    })
}

/// A deployment read off the wire.
pub fn tdd_from_proto(
    t: proto::TaskDeploymentDescriptor,
) -> Result<TaskDeploymentDescriptor, Status> {
    let graph =
        JobGraph::from_bytes(&t.job_graph).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let splits = t
        .splits
        .into_iter()
        .map(|s| {
            Ok(SourceSplit {
                id: s.id,
                state: serde_json::from_str(&s.state).map_err(|_| bad("split state"))?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    Ok(TaskDeploymentDescriptor {
        attempt: t.attempt.ok_or_else(|| bad("attempt"))?.into(),
        job_graph: Arc::new(graph),
        slot_index: t.slot_index,
        splits,
        slots: t
            .slots
            .into_iter()
            .map(|s| SlotAllocation {
                task_executor: s.task_executor,
                slot_index: s.slot_index,
                rpc_address: String::new(),
                data_address: s.data_address,
            })
            .collect(),
        job_master_address: t.job_master_address,
        restore: match t.restore.is_empty() {
            true => None,
            false => Some(serde_json::from_slice(&t.restore).map_err(|_| bad("restore"))?),
        },
    })
}

fn with_meta(mut status: Status, kind: &str, failure: Option<&Failure>, arg: &str) -> Status {
    let m = status.metadata_mut();
    if let Ok(v) = kind.parse() {
        m.insert(ERROR_KIND, v);
    }
    if let Some(f) = failure {
        if let Ok(v) = class_name(f.class).parse() {
            m.insert(ERROR_CLASS, v);
        }
        if let Ok(v) = f.sqlstate.parse() {
            m.insert(ERROR_SQLSTATE, v);
        }
    }
    if let Ok(v) = arg.parse() {
        m.insert(ERROR_ARG, v);
    }
    status
}

/// The status a cluster error is answered with.
pub fn status_of(e: ClusterError) -> Status {
    match &e {
        ClusterError::JobNotFound(id) => {
            with_meta(Status::not_found(e.to_string()), "job-not-found", None, id)
        }
        ClusterError::JobTerminated { id, status } => with_meta(
            Status::failed_precondition(e.to_string()),
            "job-terminated",
            None,
            &format!("{id} {status}"),
        ),
        ClusterError::NotEnoughSlots {
            required,
            available,
        } => with_meta(
            Status::resource_exhausted(e.to_string()),
            "not-enough-slots",
            None,
            &format!("{required} {available}"),
        ),
        ClusterError::UnknownTaskExecutor(id) => with_meta(
            Status::not_found(e.to_string()),
            "unknown-task-executor",
            None,
            id,
        ),
        ClusterError::Incompatible(_) => Status::failed_precondition(e.to_string()),
        ClusterError::Runtime(r) => {
            let f = Failure::from_runtime(r);
            with_meta(Status::internal(f.message.clone()), "failure", Some(&f), "")
        }
        ClusterError::Remote(f) => {
            with_meta(Status::internal(f.message.clone()), "failure", Some(f), "")
        }
        ClusterError::Unreachable(_) | ClusterError::Rpc { .. } => {
            Status::unavailable(e.to_string())
        }
    }
}

/// The cluster error a status from `address` stands for.
pub fn error_of(status: Status, address: &str) -> ClusterError {
    let meta = |k: &str| {
        status
            .metadata()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let arg = meta(ERROR_ARG);
    let mut two = arg.split(' ');
    match meta(ERROR_KIND).as_str() {
        "job-not-found" => ClusterError::JobNotFound(arg),
        "job-terminated" => ClusterError::JobTerminated {
            id: two.next().unwrap_or_default().to_string(),
            status: two.next().unwrap_or_default().to_string(),
        },
        "not-enough-slots" => ClusterError::NotEnoughSlots {
            required: two.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            available: two.next().and_then(|n| n.parse().ok()).unwrap_or(0),
        },
        "unknown-task-executor" => ClusterError::UnknownTaskExecutor(arg),
        "failure" => ClusterError::Remote(Failure::from(proto::Failure {
            message: status.message().to_string(),
            class: meta(ERROR_CLASS),
            sqlstate: meta(ERROR_SQLSTATE),
        })),
        _ if status.code() == Code::FailedPrecondition => {
            ClusterError::Incompatible(status.message().to_string())
        }
        _ => ClusterError::Rpc {
            address: address.to_string(),
            message: format!("{:?}: {}", status.code(), status.message()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_and_sqlstate_across_the_wire() {
        let user = ClusterError::Runtime(eddy_runtime::RuntimeError::BadRecord {
            location: "f.csv:3".into(),
            reason: "bad int".into(),
            record: "x".into(),
        });
        match error_of(status_of(user), "a:1") {
            ClusterError::Remote(f) => {
                assert_eq!(f.sqlstate, "22P04");
                assert_eq!(f.class, ErrorClass::User);
                assert!(f.message.contains("f.csv:3"), "{}", f.message);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            error_of(status_of(ClusterError::JobNotFound("j1".into())), "a:1"),
            ClusterError::JobNotFound(id) if id == "j1"
        ));
        assert!(matches!(
            error_of(
                status_of(ClusterError::NotEnoughSlots {
                    required: 8,
                    available: 3
                }),
                "a:1"
            ),
            ClusterError::NotEnoughSlots {
                required: 8,
                available: 3
            }
        ));
        assert!(matches!(
            error_of(Status::unavailable("connection refused"), "a:1"),
            ClusterError::Rpc { address, .. } if address == "a:1"
        ));
    }
}
