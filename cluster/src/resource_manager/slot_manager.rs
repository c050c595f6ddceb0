//! Which slot of which TaskExecutor runs which job. Touched on scheduling, registration
//! and heartbeats only, never on the data path.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::error::{ClusterError, Result};
use crate::gateway::{SlotAllocation, TaskExecutorInfo, TaskExecutorRegistration};

struct Registered {
    registration: TaskExecutorRegistration,
    /// The job holding each slot.
    slots: Vec<Option<String>>,
    last_heartbeat: Instant,
}

/// The ResourceManager's slot table.
#[derive(Default)]
pub struct SlotManager {
    executors: BTreeMap<String, Registered>,
}

impl SlotManager {
    /// Adds a TaskExecutor's slots, replacing what an earlier registration of the same id
    /// offered. Returns the jobs that held slots of the replaced registration.
    pub fn register(&mut self, registration: TaskExecutorRegistration) -> Vec<String> {
        let slots = vec![None; registration.num_slots as usize];
        let old = self.executors.insert(
            registration.id.clone(),
            Registered {
                registration,
                slots,
                last_heartbeat: Instant::now(),
            },
        );
        old.map(|o| jobs_of(&o)).unwrap_or_default()
    }

    /// Records a heartbeat; false if `id` is not registered.
    pub fn heartbeat(&mut self, id: &str) -> bool {
        match self.executors.get_mut(id) {
            Some(e) => {
                e.last_heartbeat = Instant::now();
                true
            }
            None => false,
        }
    }

    /// Removes one TaskExecutor; returns it with the jobs that held its slots.
    pub fn remove(&mut self, id: &str) -> Option<(TaskExecutorInfo, Vec<String>)> {
        let e = self.executors.remove(id)?;
        Some((info(&e, Instant::now()), jobs_of(&e)))
    }

    /// Removes TaskExecutors silent for longer than `timeout`; returns each with the jobs
    /// that held its slots.
    pub fn remove_silent(
        &mut self,
        timeout: std::time::Duration,
    ) -> Vec<(TaskExecutorInfo, Vec<String>)> {
        let now = Instant::now();
        let silent: Vec<String> = self
            .executors
            .iter()
            .filter(|(_, e)| now.duration_since(e.last_heartbeat) > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        silent
            .into_iter()
            .filter_map(|id| {
                let e = self.executors.remove(&id)?;
                Some((info(&e, now), jobs_of(&e)))
            })
            .collect()
    }

    fn free_count(&self) -> usize {
        self.executors
            .values()
            .map(|e| e.slots.iter().filter(|s| s.is_none()).count())
            .sum()
    }

    /// Grants `count` free slots to `job_id`, spread over TaskExecutors, or none.
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
            for e in self.executors.values_mut() {
                if granted.len() == count {
                    break;
                }
                if let Some(i) = e.slots.iter().position(|s| s.is_none()) {
                    e.slots[i] = Some(job_id.to_string());
                    granted.push(SlotAllocation {
                        task_executor: e.registration.id.clone(),
                        slot_index: i as u32,
                        rpc_address: e.registration.rpc_address.clone(),
                        data_address: e.registration.data_address.clone(),
                    });
                }
            }
        }
        Ok(granted)
    }

    /// Frees every slot `job_id` holds.
    pub fn release(&mut self, job_id: &str) {
        for e in self.executors.values_mut() {
            for s in e.slots.iter_mut() {
                if s.as_deref() == Some(job_id) {
                    *s = None;
                }
            }
        }
    }

    /// One TaskExecutor.
    pub fn get(&self, id: &str) -> Option<TaskExecutorInfo> {
        let now = Instant::now();
        self.executors.get(id).map(|e| info(e, now))
    }

    /// Every TaskExecutor, by id.
    pub fn summary(&self) -> Vec<TaskExecutorInfo> {
        let now = Instant::now();
        self.executors.values().map(|e| info(e, now)).collect()
    }
}

fn info(e: &Registered, now: Instant) -> TaskExecutorInfo {
    let r = &e.registration;
    TaskExecutorInfo {
        id: r.id.clone(),
        num_slots: r.num_slots,
        free_slots: e.slots.iter().filter(|s| s.is_none()).count() as u32,
        rpc_address: r.rpc_address.clone(),
        data_address: r.data_address.clone(),
        since_heartbeat: now.duration_since(e.last_heartbeat),
    }
}

fn jobs_of(e: &Registered) -> Vec<String> {
    let mut jobs: Vec<String> = e.slots.iter().flatten().cloned().collect();
    jobs.sort();
    jobs.dedup();
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: &str, slots: u32) -> TaskExecutorRegistration {
        TaskExecutorRegistration {
            id: id.into(),
            num_slots: slots,
            rpc_address: format!("{id}:1"),
            data_address: format!("{id}:2"),
        }
    }

    #[test]
    fn spreads_slots_and_reports_jobs_of_silent_executors() {
        let mut m = SlotManager::default();
        m.register(reg("a", 2));
        m.register(reg("b", 2));
        let slots = m.allocate("j1", 3).unwrap();
        let on: Vec<&str> = slots.iter().map(|s| s.task_executor.as_str()).collect();
        assert_eq!(on, ["a", "b", "a"]);
        assert_eq!(slots[1].data_address, "b:2");
        assert!(matches!(
            m.allocate("j2", 2),
            Err(ClusterError::NotEnoughSlots {
                required: 2,
                available: 1
            })
        ));
        assert!(m
            .remove_silent(std::time::Duration::from_secs(60))
            .is_empty());
        let lost = m.remove_silent(std::time::Duration::ZERO);
        assert_eq!(lost.len(), 2);
        assert_eq!(lost[0].1, vec!["j1".to_string()]);
        assert!(!m.heartbeat("a"));
        // A re-registration of a live id hands back the jobs of its old slots.
        m.register(reg("c", 1));
        m.allocate("j3", 1).unwrap();
        assert_eq!(m.register(reg("c", 1)), vec!["j3".to_string()]);
    }
}
