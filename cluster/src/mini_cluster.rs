//! The single-process cluster `eddy` starts by default: a ResourceManager, a Dispatcher and
//! one TaskExecutor, wired through the same gateway traits a distributed cluster uses.

use std::sync::Arc;

use eddy_runtime::config::{task_manager, Configuration};
use eddy_runtime::connector::ConnectorResolver;

use crate::dispatcher::{Dispatcher, JobStoreLimits};
use crate::error::Result;
use crate::gateway::{DispatcherGateway, ResourceManagerGateway};
use crate::resource_manager::ResourceManager;
use crate::task_executor::TaskExecutor;

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
        let resource_manager: Arc<dyn ResourceManagerGateway> = Arc::new(ResourceManager::new());
        let slots = config.get_int(&task_manager::NUM_TASK_SLOTS).max(1) as u32;
        let capacity = config.get_int(&task_manager::CHANNEL_CAPACITY).max(1) as usize;
        let task_executor = Arc::new(TaskExecutor::new(
            "taskexecutor-0".to_string(),
            resolver.clone(),
            capacity,
        ));
        resource_manager
            .register_task_executor(task_executor.id().to_string(), slots, task_executor)
            .await?;
        let dispatcher: Arc<dyn DispatcherGateway> = Arc::new(Dispatcher::new(
            resource_manager.clone(),
            resolver,
            JobStoreLimits::from_config(config),
        ));
        Ok(Self {
            dispatcher,
            resource_manager,
        })
    }
}
