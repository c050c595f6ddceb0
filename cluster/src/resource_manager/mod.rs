//! The ResourceManager: knows every TaskExecutor and its slots, grants slots to jobs.

mod slot_manager;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

pub use slot_manager::SlotManager;

use crate::error::{ClusterError, Result};
use crate::gateway::{ResourceManagerGateway, SlotAllocation, TaskExecutorGateway};

/// An in-process ResourceManager.
#[derive(Default)]
pub struct ResourceManager {
    slots: Mutex<SlotManager>,
}

impl ResourceManager {
    /// A ResourceManager with no TaskExecutors yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ResourceManagerGateway for ResourceManager {
    async fn register_task_executor(
        &self,
        id: String,
        num_slots: u32,
        gateway: Arc<dyn TaskExecutorGateway>,
    ) -> Result<()> {
        tracing::info!(task_executor = %id, num_slots, "TaskExecutor registered");
        self.slots.lock().await.register(id, num_slots, gateway);
        Ok(())
    }

    async fn request_slots(&self, job_id: &str, count: usize) -> Result<Vec<SlotAllocation>> {
        self.slots.lock().await.allocate(job_id, count)
    }

    async fn release_slots(&self, job_id: &str) -> Result<()> {
        self.slots.lock().await.release(job_id);
        Ok(())
    }

    async fn task_executor(&self, id: &str) -> Result<Arc<dyn TaskExecutorGateway>> {
        self.slots
            .lock()
            .await
            .gateway(id)
            .ok_or(ClusterError::Unreachable("TaskExecutor"))
    }

    async fn task_executors(&self) -> Result<Vec<(String, u32, u32)>> {
        Ok(self.slots.lock().await.summary())
    }
}
