//! Slot bookkeeping: which slot of which TaskExecutor belongs to which job.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{ClusterError, Result};
use crate::gateway::{SlotAllocation, TaskExecutorGateway};

struct Registered {
    gateway: Arc<dyn TaskExecutorGateway>,
    /// The job holding each slot, if any.
    slots: Vec<Option<String>>,
}

/// Free and allocated slots of all TaskExecutors.
#[derive(Default)]
pub struct SlotManager {
    executors: BTreeMap<String, Registered>,
}

impl SlotManager {
    /// Adds (or replaces) a TaskExecutor with all its slots free.
    pub fn register(&mut self, id: String, num_slots: u32, gateway: Arc<dyn TaskExecutorGateway>) {
        self.executors.insert(
            id,
            Registered {
                gateway,
                slots: vec![None; num_slots as usize],
            },
        );
    }

    fn free_count(&self) -> usize {
        self.executors
            .values()
            .map(|e| e.slots.iter().filter(|s| s.is_none()).count())
            .sum()
    }

    /// Grants `count` slots to a job, spreading them over TaskExecutors, or none at all.
    pub fn allocate(&mut self, job_id: &str, count: usize) -> Result<Vec<SlotAllocation>> {
        let available = self.free_count();
        if available < count {
            return Err(ClusterError::NotEnoughSlots {
                required: count,
                available,
            });
        }
        let mut granted = Vec::with_capacity(count);
        while granted.len() < count {
            for (id, e) in self.executors.iter_mut() {
                if granted.len() == count {
                    break;
                }
                if let Some(i) = e.slots.iter().position(|s| s.is_none()) {
                    e.slots[i] = Some(job_id.to_string());
                    granted.push(SlotAllocation {
                        task_executor: id.clone(),
                        slot_index: i as u32,
                    });
                }
            }
        }
        Ok(granted)
    }

    /// Frees every slot of a job.
    pub fn release(&mut self, job_id: &str) {
        for e in self.executors.values_mut() {
            for s in e.slots.iter_mut() {
                if s.as_deref() == Some(job_id) {
                    *s = None;
                }
            }
        }
    }

    /// The gateway of a TaskExecutor.
    pub fn gateway(&self, id: &str) -> Option<Arc<dyn TaskExecutorGateway>> {
        self.executors.get(id).map(|e| e.gateway.clone())
    }

    /// (id, total slots, free slots) per TaskExecutor.
    pub fn summary(&self) -> Vec<(String, u32, u32)> {
        self.executors
            .iter()
            .map(|(id, e)| {
                let free = e.slots.iter().filter(|s| s.is_none()).count() as u32;
                (id.clone(), e.slots.len() as u32, free)
            })
            .collect()
    }
}
