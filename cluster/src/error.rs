//! Cluster errors.

use eddy_runtime::RuntimeError;

/// Result alias for the cluster crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// Errors of the cluster roles.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No job has this id.
    #[error("job '{0}' does not exist")]
    JobNotFound(String),
    /// The job cannot get the slots it needs (Flink's NoResourceAvailableException).
    #[error("not enough task slots: the job needs {required} slots but only {available} are available (raise taskmanager.numberOfTaskSlots or lower parallelism.default)")]
    NotEnoughSlots { required: usize, available: usize },
    /// The job is already in a terminal state.
    #[error("job '{id}' is already {status}")]
    JobTerminated { id: String, status: String },
    /// A role could not be reached.
    #[error("{0} is not reachable")]
    Unreachable(&'static str),
    /// No TaskExecutor is registered under this id (it was lost or never registered).
    #[error("TaskManager '{0}' is not registered")]
    UnknownTaskExecutor(String),
    /// A call to another process failed.
    #[error("RPC to {address} failed: {message}")]
    Rpc { address: String, message: String },
    /// A peer speaks another protocol version.
    #[error("{0}")]
    Incompatible(String),
    /// A remote role answered with an error; keeps its class and SQLSTATE.
    #[error("{0}")]
    Remote(crate::gateway::Failure),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
