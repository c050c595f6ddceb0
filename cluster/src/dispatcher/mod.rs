//! The Dispatcher: accepts jobs, starts a JobMaster for each and answers questions about
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use eddy_runtime::jobgraph::JobGraph;
use eddy_runtime::metrics::MetricsSnapshot;
use tokio::sync::{mpsc, RwLock};

use crate::checkpoint::coordinator::{CompletedCheckpoint, SavepointRequest};
use crate::checkpoint::storage::CheckpointStorage;
use crate::checkpoint::CheckpointReport;
use crate::error::{ClusterError, Result};
use crate::gateway::{
    DispatcherGateway, JobDetails, JobId, JobMasterGateway, TaskExecutionState, TaskExecutorInfo,
};
use crate::jobmaster::{JobMaster, JobMasterMessage, JobMasterServices, JobRecord, JobStart};
use crate::resource_manager::LostTaskExecutor;
use eddy_runtime::config::checkpointing;

/// How long a TaskExecutor may take to report a running job's counters.
const METRICS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

struct JobEntry {
    record: Arc<JobRecord>,
    job_master: mpsc::UnboundedSender<JobMasterMessage>,
}

/// How many ended jobs the Dispatcher remembers, and for how long (Flink's
/// `jobstore.max-capacity` and `jobstore.expiration-time`).
#[derive(Debug, Clone, Copy)]
pub struct JobStoreLimits {
    pub max_capacity: usize,
    pub expiration: std::time::Duration,
}

impl JobStoreLimits {
    /// The limits a configuration sets.
    pub fn from_config(config: &eddy_runtime::config::Configuration) -> Self {
        use eddy_runtime::config::job_store;
        Self {
            max_capacity: config.get_int(&job_store::MAX_CAPACITY).max(0) as usize,
            expiration: std::time::Duration::from_secs(
                config.get_int(&job_store::EXPIRATION_TIME).max(0) as u64,
            ),
        }
    }
}

/// An in-process Dispatcher.
pub struct Dispatcher {
    jobs: RwLock<BTreeMap<u64, (JobId, JobEntry)>>,
    services: JobMasterServices,
    limits: JobStoreLimits,
}

impl Dispatcher {
    /// A Dispatcher scheduling through `resource_manager`.
    pub fn new(services: JobMasterServices, limits: JobStoreLimits) -> Self {
        Self {
            jobs: RwLock::new(BTreeMap::new()),
            services,
            limits,
        }
    }

    /// Fails the jobs that had subtasks on TaskExecutors the ResourceManager lost. Runs
    /// until `lost` closes.
    pub async fn follow_lost_task_executors(
        &self,
        mut lost: mpsc::UnboundedReceiver<LostTaskExecutor>,
    ) {
        while let Some(l) = lost.recv().await {
            self.services.rpc.forget(&l.info.rpc_address);
            for job in &l.jobs {
                if let Ok((_, job_master)) = self.entry(job).await {
                    let _ = job_master.send(JobMasterMessage::TaskExecutorLost {
                        id: l.info.id.clone(),
                        reason: l.reason.clone(),
                    });
                }
            }
        }
    }

    /// The JobMaster of a job that has not ended.
    async fn running_job_master(
        &self,
        job_id: &str,
    ) -> Result<mpsc::UnboundedSender<JobMasterMessage>> {
        let (record, job_master) = self.entry(job_id).await?;
        let status = record.status();
        if status.is_terminal() {
            return Err(ClusterError::JobTerminated {
                id: job_id.to_string(),
                status: status.to_string(),
            });
        }
        Ok(job_master)
    }

    /// Hands a message to a job's JobMaster; fails when the job has ended.
    async fn deliver(&self, job_id: &str, message: JobMasterMessage) -> Result<()> {
        let (_, job_master) = self.entry(job_id).await?;
        job_master
            .send(message)
            .map_err(|_| ClusterError::JobTerminated {
                id: job_id.to_string(),
                status: "ended".to_string(),
            })
    }

    async fn expire_ended_jobs(&self) {
        let now = chrono::Utc::now();
        let expiration =
            chrono::Duration::from_std(self.limits.expiration).unwrap_or(chrono::Duration::MAX);
        let mut jobs = self.jobs.write().await;
        jobs.retain(|_, (_, entry)| {
            let d = entry.record.details();
            match d.end_time {
                Some(end) if d.status.is_terminal() => now - end < expiration,
                _ => true,
            }
        });
        let ended: Vec<u64> = jobs
            .iter()
            .filter(|(_, (_, e))| e.record.status().is_terminal())
            .map(|(seq, _)| *seq)
            .collect();
        let excess = ended.len().saturating_sub(self.limits.max_capacity);
        for seq in ended.into_iter().take(excess) {
            jobs.remove(&seq);
        }
    }

    async fn entry(
        &self,
        job_id: &str,
    ) -> Result<(Arc<JobRecord>, mpsc::UnboundedSender<JobMasterMessage>)> {
        let jobs = self.jobs.read().await;
        jobs.values()
            .find(|(id, _)| id == job_id)
            .map(|(_, e)| (e.record.clone(), e.job_master.clone()))
            .ok_or_else(|| ClusterError::JobNotFound(job_id.to_string()))
    }

    async fn with_live_metrics(&self, record: &JobRecord) -> JobDetails {
        let mut details = record.details();
        if !details.status.is_terminal() {
            if let Ok(executors) = self.services.resource_manager.task_executors().await {
                // All TaskExecutors at once, each with a short deadline: one that hangs
                // must not stall SHOW JOBS or the REST API.
                let asks = executors.iter().filter_map(|info| {
                    let te = self.services.rpc.task_executor(&info.rpc_address).ok()?;
                    let job_id = details.job_id.clone();
                    Some(async move {
                        tokio::time::timeout(METRICS_TIMEOUT, te.job_metrics(&job_id)).await
                    })
                });
                let mut per_vertex = BTreeMap::<u32, MetricsSnapshot>::new();
                for answer in futures::future::join_all(asks).await {
                    if let Ok(Ok(m)) = answer {
                        for (vertex, m) in m {
                            *per_vertex.entry(vertex).or_default() += m;
                        }
                    }
                }
                let mut total = MetricsSnapshot::default();
                for v in &mut details.vertices {
                    v.metrics = per_vertex.get(&v.id).copied().unwrap_or_default();
                    total += v.metrics;
                }
                details.metrics = total;
            }
        }
        details
    }
}

#[async_trait]
impl DispatcherGateway for Dispatcher {
    async fn submit_job(&self, mut job: JobGraph) -> Result<JobId> {
        job.validate()?;
        self.expire_ended_jobs().await;
        // Where checkpoints and savepoints go, unless the job says: the JobManager's
        // defaults (under its data directory).
        for option in [
            &checkpointing::CHECKPOINTS_DIR,
            &checkpointing::SAVEPOINTS_DIR,
        ] {
            if job.config.get_string(option).is_empty() {
                let default = self.services.defaults.get_string(option);
                if !default.is_empty() {
                    job.config.set(option.key, &default)?;
                }
            }
        }
        let storage = match job
            .config
            .get_string(&checkpointing::CHECKPOINTS_DIR)
            .as_str()
        {
            "" => CheckpointStorage::open(
                &std::env::temp_dir()
                    .join("eddy-checkpoints")
                    .to_string_lossy(),
            )?,
            dir => CheckpointStorage::open(dir)?,
        };
        if job
            .config
            .get_string(&checkpointing::CHECKPOINTS_DIR)
            .is_empty()
        {
            job.config
                .set(checkpointing::CHECKPOINTS_DIR.key, storage.url())?;
        }
        // A savepoint to restore is checked before the job exists: a wrong path, or state
        // the job cannot claim, is the user's error now rather than a failed job later.
        let restore = match job
            .config
            .get_string(&checkpointing::SAVEPOINT_PATH)
            .as_str()
        {
            "" => None,
            path => {
                let restored = load_checkpoint(path).await?;
                let max_parallelism = job
                    .config
                    .get_int(&eddy_runtime::config::pipeline::MAX_PARALLELISM)
                    .max(1) as u32;
                crate::checkpoint::restore::plan(
                    &restored.metadata,
                    &restored.root,
                    &job,
                    max_parallelism,
                    job.config.get_bool(&checkpointing::IGNORE_UNCLAIMED_STATE),
                )?;
                Some(restored)
            }
        };
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let record = Arc::new(JobRecord::new(job_id.clone(), &job));
        let (job_master, sender) = JobMaster::new(
            job_id.clone(),
            job,
            record.clone(),
            self.services.clone(),
            JobStart { storage, restore },
        );
        {
            let mut jobs = self.jobs.write().await;
            let seq = jobs.keys().next_back().map_or(0, |k| k + 1);
            jobs.insert(
                seq,
                (
                    job_id.clone(),
                    JobEntry {
                        record,
                        job_master: sender,
                    },
                ),
            );
        }
        tracing::info!(job = %job_id, "job submitted");
        tokio::spawn(job_master.run());
        Ok(job_id)
    }

    async fn list_jobs(&self) -> Result<Vec<JobDetails>> {
        self.expire_ended_jobs().await;
        let records: Vec<Arc<JobRecord>> = self
            .jobs
            .read()
            .await
            .values()
            .map(|(_, e)| e.record.clone())
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.with_live_metrics(&r).await);
        }
        Ok(out)
    }

    async fn job_details(&self, job_id: &str) -> Result<JobDetails> {
        let (record, _) = self.entry(job_id).await?;
        Ok(self.with_live_metrics(&record).await)
    }

    async fn cancel_job(&self, job_id: &str) -> Result<()> {
        let job_master = self.running_job_master(job_id).await?;
        let _ = job_master.send(JobMasterMessage::Cancel);
        Ok(())
    }

    async fn request_job_result(&self, job_id: &str) -> Result<JobDetails> {
        let (record, _) = self.entry(job_id).await?;
        let mut rx = record.subscribe();
        while !record.status().is_terminal() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        Ok(record.details())
    }

    async fn task_executors(&self) -> Result<Vec<TaskExecutorInfo>> {
        self.services.resource_manager.task_executors().await
    }

    async fn trigger_savepoint(
        &self,
        job_id: &str,
        target: Option<String>,
        stop: bool,
        drain: bool,
    ) -> Result<String> {
        let job_master = self.running_job_master(job_id).await?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        job_master
            .send(JobMasterMessage::Savepoint(SavepointRequest {
                target,
                stop,
                drain,
                reply,
            }))
            .map_err(|_| ClusterError::JobTerminated {
                id: job_id.to_string(),
                status: "ended".to_string(),
            })?;
        answer.await.map_err(|_| ClusterError::JobTerminated {
            id: job_id.to_string(),
            status: "ended".to_string(),
        })?
    }
}

/// Routes subtask reports to the JobMaster of their job: every JobMaster of this
/// JobManager shares one address.
#[async_trait]
impl JobMasterGateway for Dispatcher {
    async fn update_task_execution_state(&self, state: TaskExecutionState) -> Result<()> {
        let job_id = state.attempt.job_id.clone();
        self.deliver(&job_id, JobMasterMessage::TaskState(state))
            .await
    }

    async fn report_checkpoint(&self, report: CheckpointReport) -> Result<()> {
        let job_id = report.attempt.job_id.clone();
        self.deliver(&job_id, JobMasterMessage::Checkpoint(Box::new(report)))
            .await
    }
}

/// Loads the savepoint or checkpoint a job restores from.
async fn load_checkpoint(path: &str) -> Result<CompletedCheckpoint> {
    crate::checkpoint::coordinator::load(path).await
}
