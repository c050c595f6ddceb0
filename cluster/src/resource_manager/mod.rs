//! The ResourceManager: knows every TaskExecutor and its slots, grants slots to JobMasters,
//! and declares a TaskExecutor lost when its heartbeats stop.

mod slot_manager;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};

pub use slot_manager::SlotManager;

use crate::error::{ClusterError, Result};
use crate::gateway::{
    ResourceManagerGateway, SlotAllocation, TaskExecutorInfo, TaskExecutorRegistration,
};

/// A TaskExecutor the ResourceManager no longer has, and the jobs that had slots on it.
#[derive(Debug, Clone)]
pub struct LostTaskExecutor {
    pub info: TaskExecutorInfo,
    pub jobs: Vec<String>,
    pub reason: String,
}

/// The in-process ResourceManager.
pub struct ResourceManager {
    slots: Mutex<SlotManager>,
    accepts_registrations: bool,
    /// Told of every TaskExecutor that is lost, so the jobs on it fail.
    lost: Option<mpsc::UnboundedSender<LostTaskExecutor>>,
}

impl ResourceManager {
    /// A ResourceManager for the embedded cluster: one TaskExecutor, registered at start.
    pub fn embedded() -> Self {
        Self {
            slots: Mutex::new(SlotManager::default()),
            accepts_registrations: false,
            lost: None,
        }
    }

    /// A ResourceManager for a standalone cluster: lost TaskExecutors are sent to `lost`.
    pub fn standalone(lost: mpsc::UnboundedSender<LostTaskExecutor>) -> Self {
        Self {
            slots: Mutex::new(SlotManager::default()),
            accepts_registrations: true,
            lost: Some(lost),
        }
    }

    /// Removes TaskExecutors that have not heartbeaten within `timeout`. Runs every
    /// `interval` until the process ends.
    pub async fn monitor_heartbeats(&self, interval: Duration, timeout: Duration) {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
        loop {
            tick.tick().await;
            let silent = self.slots.lock().await.remove_silent(timeout);
            for (info, jobs) in silent {
                let reason = format!(
                    "TaskManager {} at {} is lost: no heartbeat for {} ms (heartbeat.timeout)",
                    info.id,
                    info.rpc_address,
                    info.since_heartbeat.as_millis()
                );
                tracing::warn!(task_executor = %info.id, jobs = ?jobs, "{reason}");
                if let Some(lost) = &self.lost {
                    let _ = lost.send(LostTaskExecutor { info, jobs, reason });
                }
            }
        }
    }
}

#[async_trait]
impl ResourceManagerGateway for ResourceManager {
    async fn register_task_executor(&self, registration: TaskExecutorRegistration) -> Result<()> {
        tracing::info!(
            task_executor = %registration.id,
            num_slots = registration.num_slots,
            rpc = %registration.rpc_address,
            data = %registration.data_address,
            "TaskExecutor registered"
        );
        let info = TaskExecutorInfo {
            id: registration.id.clone(),
            num_slots: registration.num_slots,
            free_slots: registration.num_slots,
            rpc_address: registration.rpc_address.clone(),
            data_address: registration.data_address.clone(),
            since_heartbeat: Duration::ZERO,
        };
        let jobs = self.slots.lock().await.register(registration);
        if !jobs.is_empty() {
            // It restarted: whatever ran on it is gone.
            if let Some(lost) = &self.lost {
                let reason = format!(
                    "TaskManager {} at {} restarted and lost its tasks",
                    info.id, info.rpc_address
                );
                let _ = lost.send(LostTaskExecutor { info, jobs, reason });
            }
        }
        Ok(())
    }

    async fn heartbeat(&self, id: &str) -> Result<bool> {
        Ok(self.slots.lock().await.heartbeat(id))
    }

    async fn disconnect_task_executor(&self, id: &str, reason: &str) -> Result<()> {
        let removed = self.slots.lock().await.remove(id);
        if let Some((info, jobs)) = removed {
            tracing::warn!(task_executor = %id, jobs = ?jobs, "{reason}");
            if let Some(lost) = &self.lost {
                let _ = lost.send(LostTaskExecutor {
                    info,
                    jobs,
                    reason: reason.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn request_slots(&self, job_id: &str, count: usize) -> Result<Vec<SlotAllocation>> {
        self.slots.lock().await.allocate(job_id, count)
    }

    async fn release_slots(&self, job_id: &str) -> Result<()> {
        self.slots.lock().await.release(job_id);
        Ok(())
    }

    async fn task_executor(&self, id: &str) -> Result<TaskExecutorInfo> {
        self.slots
            .lock()
            .await
            .get(id)
            .ok_or_else(|| ClusterError::UnknownTaskExecutor(id.to_string()))
    }

    async fn task_executors(&self) -> Result<Vec<TaskExecutorInfo>> {
        Ok(self.slots.lock().await.summary())
    }

    fn accepts_registrations(&self) -> bool {
        self.accepts_registrations
    }
}
