//! Gateways of roles in this process, by address (Flink's local RPC): what the embedded
//! cluster wires its roles with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{ClusterError, Result};
use crate::gateway::{JobMasterGateway, RpcService, TaskExecutorGateway};

/// An [`RpcService`] over roles registered in this process.
#[derive(Default)]
pub struct LocalRpcService {
    task_executors: RwLock<HashMap<String, Arc<dyn TaskExecutorGateway>>>,
    job_masters: RwLock<HashMap<String, Arc<dyn JobMasterGateway>>>,
}

impl LocalRpcService {
    /// Makes `gateway` reachable at `address`.
    pub fn add_task_executor(&self, address: &str, gateway: Arc<dyn TaskExecutorGateway>) {
        self.task_executors
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.to_string(), gateway);
    }

    /// Makes `gateway` reachable at `address`.
    pub fn add_job_master(&self, address: &str, gateway: Arc<dyn JobMasterGateway>) {
        self.job_masters
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.to_string(), gateway);
    }
}

impl RpcService for LocalRpcService {
    fn task_executor(&self, address: &str) -> Result<Arc<dyn TaskExecutorGateway>> {
        self.task_executors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(address)
            .cloned()
            .ok_or_else(|| ClusterError::Rpc {
                address: address.to_string(),
                message: "no TaskExecutor at this address in this process".into(),
            })
    }

    fn job_master(&self, address: &str) -> Result<Arc<dyn JobMasterGateway>> {
        self.job_masters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(address)
            .cloned()
            .ok_or_else(|| ClusterError::Rpc {
                address: address.to_string(),
                message: "no JobManager at this address in this process".into(),
            })
    }
}
