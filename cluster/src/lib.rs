//! Eddy's cluster roles, as in Flink: the [`dispatcher`] accepts jobs and starts a
//! [`jobmaster`] for each, which schedules the job's subtasks into slots offered by the
//! [`resource_manager`] and deploys them to [`task_executor`]s. Roles talk only through the
//! gateway traits in [`gateway`] and name each other by address: the [`mini_cluster`] wires
//! them in one process, [`standalone`] runs them as processes that talk over gRPC
//! ([`rpc`]), and subtasks on different TaskManagers exchange rows through [`shuffle`].
//! [`rest`] serves Flink's REST paths over the Dispatcher. [`checkpoint`] holds the
//! checkpoint coordinator, checkpoint storage and restore.

pub mod checkpoint;
pub mod dispatcher;
pub mod error;
pub mod gateway;
pub mod jobmaster;
pub mod mini_cluster;
pub mod resource_manager;
pub mod rest;
pub mod rpc;
pub mod shuffle;
pub mod standalone;
pub mod task_executor;

pub use dispatcher::Dispatcher;
pub use error::{ClusterError, Result};
pub use gateway::{DispatcherGateway, JobDetails, JobId, JobStatus};
pub use mini_cluster::MiniCluster;
