//! The single-process cluster `eddy` starts by default: a ResourceManager, a Dispatcher and
//! one TaskExecutor, wired through the same gateway traits a distributed cluster uses, with
//! in-process addresses.

use std::sync::Arc;

use eddy_runtime::config::{task_manager, Configuration};
use eddy_runtime::connector::ConnectorResolver;

use crate::dispatcher::{Dispatcher, JobStoreLimits};
use crate::error::Result;
use crate::gateway::{
    DispatcherGateway, JobMasterGateway, ResourceManagerGateway, TaskExecutorRegistration,
};
use crate::jobmaster::JobMasterServices;
use crate::resource_manager::ResourceManager;
use crate::rpc::LocalRpcService;
use crate::task_executor::TaskExecutor;

/// Address of the embedded JobManager's JobMasters.
const JOB_MANAGER_ADDRESS: &str = "local:jobmanager";
/// Address of the embedded TaskExecutor.
const TASK_EXECUTOR_ADDRESS: &str = "local:taskexecutor-0";

/// JobManager roles plus one TaskManager in this process.
pub struct MiniCluster {
    pub dispatcher: Arc<dyn DispatcherGateway>,
    pub resource_manager: Arc<dyn ResourceManagerGateway>,
}

impl MiniCluster {
    /// Starts the roles and registers the TaskExecutor's slots.
    pub async fn start(
        config: &Configuration,
        resolver: Arc<dyn ConnectorResolver>,
    ) -> Result<Self> {
        let rpc = Arc::new(LocalRpcService::default());
        let resource_manager: Arc<dyn ResourceManagerGateway> =
            Arc::new(ResourceManager::embedded());
        let slots = config.get_int(&task_manager::NUM_TASK_SLOTS).max(1) as u32;
        let capacity = config.get_int(&task_manager::CHANNEL_CAPACITY).max(1) as usize;
        let task_executor = Arc::new(TaskExecutor::new(
            "taskexecutor-0".to_string(),
            resolver.clone(),
            rpc.clone(),
            None,
            capacity,
        ));
        rpc.add_task_executor(TASK_EXECUTOR_ADDRESS, task_executor.clone());
        resource_manager
            .register_task_executor(TaskExecutorRegistration {
                id: task_executor.id().to_string(),
                num_slots: slots,
                rpc_address: TASK_EXECUTOR_ADDRESS.to_string(),
                data_address: String::new(),
            })
            .await?;
        let dispatcher = Arc::new(Dispatcher::new(
            JobMasterServices {
                resource_manager: resource_manager.clone(),
                resolver,
                rpc: rpc.clone(),
                address: JOB_MANAGER_ADDRESS.to_string(),
                defaults: config.clone(),
            },
            JobStoreLimits::from_config(config),
        ));
        rpc.add_job_master(
            JOB_MANAGER_ADDRESS,
            dispatcher.clone() as Arc<dyn JobMasterGateway>,
        );
        Ok(Self {
            dispatcher,
            resource_manager,
        })
    }
}
