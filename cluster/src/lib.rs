//! Eddy's cluster roles, as in Flink: the [`dispatcher`] accepts jobs and starts a
//! [`jobmaster`] for each, which schedules the job's subtasks into slots offered by the
//! [`resource_manager`] and deploys them to [`task_executor`]s. Roles talk only through the
//! gateway traits in [`gateway`]; the mini cluster wires in-process implementations, and a
//! multi-process cluster puts the same traits behind gRPC. [`rest`] serves Flink's REST
//! paths over the same gateways.

pub mod dispatcher;
pub mod error;
pub mod gateway;
pub mod jobmaster;
pub mod mini_cluster;
pub mod resource_manager;
pub mod rest;
pub mod task_executor;

pub use dispatcher::Dispatcher;
pub use error::{ClusterError, Result};
pub use gateway::{DispatcherGateway, JobDetails, JobId, JobStatus};
pub use mini_cluster::MiniCluster;
