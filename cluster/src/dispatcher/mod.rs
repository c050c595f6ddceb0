//! The Dispatcher: accepts jobs, starts a JobMaster for each and answers questions about
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use eddy_runtime::connector::ConnectorResolver;
use eddy_runtime::jobgraph::JobGraph;
use tokio::sync::{mpsc, RwLock};

use crate::error::{ClusterError, Result};
use crate::gateway::{DispatcherGateway, JobDetails, JobId, ResourceManagerGateway};
use crate::jobmaster::{JobMaster, JobMasterMessage, JobRecord};

struct JobEntry {
    record: Arc<JobRecord>,
    job_master: mpsc::UnboundedSender<JobMasterMessage>,
}

/// An in-process Dispatcher.
pub struct Dispatcher {
    jobs: RwLock<BTreeMap<u64, (JobId, JobEntry)>>,
    resource_manager: Arc<dyn ResourceManagerGateway>,
    resolver: Arc<dyn ConnectorResolver>,
}

impl Dispatcher {
    /// A Dispatcher scheduling through `resource_manager`.
    pub fn new(
        resource_manager: Arc<dyn ResourceManagerGateway>,
        resolver: Arc<dyn ConnectorResolver>,
    ) -> Self {
        Self {
            jobs: RwLock::new(BTreeMap::new()),
            resource_manager,
            resolver,
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
            if let Ok(executors) = self.resource_manager.task_executors().await {
                let mut total = eddy_runtime::metrics::MetricsSnapshot::default();
                for (id, _, _) in executors {
                    if let Ok(te) = self.resource_manager.task_executor(&id).await {
                        if let Ok(m) = te.job_metrics(&details.job_id).await {
                            total += m;
                        }
                    }
                }
                details.metrics = total;
            }
        }
        details
    }
}

#[async_trait]
impl DispatcherGateway for Dispatcher {
    async fn submit_job(&self, job: JobGraph) -> Result<JobId> {
        job.validate()?;
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let record = Arc::new(JobRecord::new(
            job_id.clone(),
            job.name.clone(),
            job.vertices.iter().map(|v| v.parallelism).collect(),
        ));
        let (job_master, sender) = JobMaster::new(
            job_id.clone(),
            job,
            record.clone(),
            self.resource_manager.clone(),
            self.resolver.clone(),
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
        let (record, job_master) = self.entry(job_id).await?;
        let status = record.status();
        if status.is_terminal() {
            return Err(ClusterError::JobTerminated {
                id: job_id.to_string(),
                status: status.to_string(),
            });
        }
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
}
