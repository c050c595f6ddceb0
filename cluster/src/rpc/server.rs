//! gRPC services in front of this process's roles. A message that does not decode fails
//! only its own call; a TaskManager of another protocol version is refused at
//! registration.

use std::sync::Arc;

use eddy_runtime::checkpoint::TaskCommand;
use eddy_runtime::jobgraph::JobGraph;
use tonic::{Request, Response, Status};

use super::convert::{status_of, tdd_from_proto, PROTOCOL_VERSION};
use super::proto;
use super::proto::job_manager_server::JobManager;
use super::proto::task_executor_server::TaskExecutor as TaskExecutorRpc;
use crate::checkpoint::CheckpointReport;
use crate::dispatcher::Dispatcher;
use crate::gateway::{
    DispatcherGateway, ExecutionAttemptId, JobMasterGateway, ResourceManagerGateway,
    TaskExecutionState, TaskExecutorGateway, TaskExecutorRegistration,
};
use crate::resource_manager::ResourceManager;
use crate::task_executor::TaskExecutor;

pub use super::proto::job_manager_server::JobManagerServer;
pub use super::proto::task_executor_server::TaskExecutorServer;

/// The JobManager's RPC endpoint: ResourceManager, JobMasters and Dispatcher.
pub struct JobManagerService {
    pub dispatcher: Arc<Dispatcher>,
    pub resource_manager: Arc<ResourceManager>,
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl JobManager for JobManagerService {
    async fn register_task_executor(
        &self,
        request: Request<proto::RegisterTaskExecutorRequest>,
    ) -> Answer<proto::Empty> {
        let peer = request.remote_addr();
        let r = request.into_inner();
        if r.protocol_version != PROTOCOL_VERSION {
            let message = format!(
                "refused TaskManager '{}' (eddy {}, RPC protocol {}): this JobManager is eddy {} with RPC protocol {}",
                r.id,
                r.build_version,
                r.protocol_version,
                env!("CARGO_PKG_VERSION"),
                PROTOCOL_VERSION
            );
            tracing::warn!(?peer, "{message}");
            return Err(Status::failed_precondition(message));
        }
        if r.id.is_empty() || r.rpc_address.is_empty() {
            return Err(Status::invalid_argument(
                "a registration needs an id and an RPC address",
            ));
        }
        // taskmanager.numberOfTaskSlots's own bounds.
        if !(1..=1024).contains(&r.num_slots) {
            return Err(Status::invalid_argument(format!(
                "a TaskManager offers 1 to 1024 slots, not {}",
                r.num_slots
            )));
        }
        self.resource_manager
            .register_task_executor(TaskExecutorRegistration {
                id: r.id,
                num_slots: r.num_slots,
                rpc_address: r.rpc_address,
                data_address: r.data_address,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn heartbeat(
        &self,
        request: Request<proto::HeartbeatRequest>,
    ) -> Answer<proto::HeartbeatResponse> {
        let request = request.into_inner();
        let known = self
            .resource_manager
            .heartbeat(&request.id)
            .await
            .map_err(status_of)?;
        for state in request.undelivered {
            // A job that has ended since does not need it.
            if let Ok(state) = TaskExecutionState::try_from(state) {
                let _ = self.dispatcher.update_task_execution_state(state).await;
            }
        }
        Ok(Response::new(proto::HeartbeatResponse { known }))
    }

    async fn update_task_execution_state(
        &self,
        request: Request<proto::TaskExecutionState>,
    ) -> Answer<proto::Empty> {
        let state = TaskExecutionState::try_from(request.into_inner())?;
        self.dispatcher
            .update_task_execution_state(state)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn submit_job(
        &self,
        request: Request<proto::SubmitJobRequest>,
    ) -> Answer<proto::JobIdMessage> {
        let graph = JobGraph::from_bytes(&request.into_inner().job_graph)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let job_id = self.dispatcher.submit_job(graph).await.map_err(status_of)?;
        Ok(Response::new(proto::JobIdMessage { job_id }))
    }

    async fn list_jobs(&self, _: Request<proto::Empty>) -> Answer<proto::JobList> {
        let jobs = self.dispatcher.list_jobs().await.map_err(status_of)?;
        Ok(Response::new(proto::JobList {
            jobs: jobs.iter().map(Into::into).collect(),
        }))
    }

    async fn get_job_details(
        &self,
        request: Request<proto::JobIdMessage>,
    ) -> Answer<proto::JobDetails> {
        let j = self
            .dispatcher
            .job_details(&request.into_inner().job_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&j).into()))
    }

    async fn cancel_job(&self, request: Request<proto::JobIdMessage>) -> Answer<proto::Empty> {
        self.dispatcher
            .cancel_job(&request.into_inner().job_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn request_job_result(
        &self,
        request: Request<proto::JobIdMessage>,
    ) -> Answer<proto::JobDetails> {
        let j = self
            .dispatcher
            .request_job_result(&request.into_inner().job_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new((&j).into()))
    }

    async fn report_checkpoint(
        &self,
        request: Request<proto::CheckpointReportMessage>,
    ) -> Answer<proto::Empty> {
        let report: CheckpointReport = serde_json::from_slice(&request.into_inner().report)
            .map_err(|e| Status::invalid_argument(format!("checkpoint report: {e}")))?;
        self.dispatcher
            .report_checkpoint(report)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn trigger_savepoint(
        &self,
        request: Request<proto::SavepointRequest>,
    ) -> Answer<proto::SavepointResponse> {
        let r = request.into_inner();
        let path = self
            .dispatcher
            .trigger_savepoint(&r.job_id, r.target, r.stop, r.drain)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::SavepointResponse { path }))
    }

    async fn list_task_executors(
        &self,
        _: Request<proto::Empty>,
    ) -> Answer<proto::TaskExecutorList> {
        let list = self
            .resource_manager
            .task_executors()
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::TaskExecutorList {
            task_executors: list.iter().map(Into::into).collect(),
        }))
    }
}

/// A TaskManager's RPC endpoint.
pub struct TaskExecutorService {
    pub task_executor: Arc<TaskExecutor>,
}

#[tonic::async_trait]
impl TaskExecutorRpc for TaskExecutorService {
    async fn submit_task(
        &self,
        request: Request<proto::TaskDeploymentDescriptor>,
    ) -> Answer<proto::Empty> {
        let tdd = tdd_from_proto(request.into_inner())?;
        self.task_executor
            .submit_task(tdd)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn cancel_task(&self, request: Request<proto::ExecutionAttempt>) -> Answer<proto::Empty> {
        self.task_executor
            .cancel_task(&request.into_inner().into())
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn job_metrics(
        &self,
        request: Request<proto::JobIdMessage>,
    ) -> Answer<proto::JobMetricsResponse> {
        let m = self
            .task_executor
            .job_metrics(&request.into_inner().job_id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::JobMetricsResponse {
            vertices: m
                .into_iter()
                .map(|(vertex_id, m)| proto::VertexMetrics {
                    vertex_id,
                    metrics: Some(m.into()),
                })
                .collect(),
        }))
    }

    async fn task_command(
        &self,
        request: Request<proto::TaskCommandRequest>,
    ) -> Answer<proto::Empty> {
        let r = request.into_inner();
        let command: TaskCommand = serde_json::from_slice(&r.command)
            .map_err(|e| Status::invalid_argument(format!("task command: {e}")))?;
        let attempt: Option<ExecutionAttemptId> = r.attempt.map(Into::into);
        self.task_executor
            .task_command(&r.job_id, attempt.as_ref(), command)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }

    async fn release_job(
        &self,
        request: Request<proto::ReleaseJobRequest>,
    ) -> Answer<proto::Empty> {
        let r = request.into_inner();
        self.task_executor
            .release_job(&r.job_id, r.up_to_attempt)
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Empty {}))
    }
}
