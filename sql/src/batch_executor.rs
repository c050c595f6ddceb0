//! Where batch queries run: a runtime of their own, apart from the gateway's.
//!
//! DataFusion's operators can compute for a long time inside one poll (a nested-loop join
//! over a large cross product does), and a future that does not yield cannot be timed out
//! or cancelled where it runs. On the gateway's runtime such a query would also hold a
//! worker every other connection needs. Here it holds only an executor thread: the gateway
//! answers `statement_timeout` and cancel requests at once, and the query's work stops at its
//! next poll, when it finds nobody is reading any more.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use eddy_runtime::error::panic_message;
use eddy_runtime::limits::THREAD_STACK_SIZE;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use crate::error::{Result, SqlError};

/// Batches in flight between the executor and the connection reading them.
const CHANNEL_BATCHES: usize = 2;

/// The batch-query runtime.
pub(crate) struct BatchExecutor {
    handle: tokio::runtime::Handle,
    /// `sql-gateway.batch.memory-limit` in bytes, for error messages.
    memory_limit: u64,
}

impl BatchExecutor {
    /// Starts the executor's threads, one per core.
    pub fn start(memory_limit: u64) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("eddy-batch")
            .thread_stack_size(THREAD_STACK_SIZE)
            .enable_all()
            .build()
            .map_err(|e| SqlError::Internal(format!("cannot start the batch executor: {e}")))?;
        let handle = runtime.handle().clone();
        // The executor lives as long as the process; a runtime must not be dropped from
        // within async code, which is where the engine ends.
        std::mem::forget(runtime);
        Ok(Self {
            handle,
            memory_limit,
        })
    }

    /// Runs `plan` on the executor; its batches come back through a small channel, so the
    /// query runs only as far ahead of its reader as that channel holds.
    pub fn execute(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        task: Arc<TaskContext>,
    ) -> BoxStream<'static, Result<RecordBatch>> {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let limit = self.memory_limit;
        self.handle.spawn(async move {
            let run = async {
                let mut stream = match execute_stream(plan, task) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(batch_error(e, limit))).await;
                        return;
                    }
                };
                while let Some(batch) = stream.next().await {
                    let failed = batch.is_err();
                    if tx
                        .send(batch.map_err(|e| batch_error(e, limit)))
                        .await
                        .is_err()
                        || failed
                    {
                        // Nobody reads any more (cancelled, timed out, LIMIT reached), or
                        // the query failed: either way it is over.
                        return;
                    }
                }
            };
            if let Err(payload) = AssertUnwindSafe(run).catch_unwind().await {
                let msg = panic_message(payload.as_ref());
                tracing::error!(panic = %msg, "a batch query panicked; failing it");
                let _ = tx.send(Err(SqlError::Panic(msg))).await;
            }
        });
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }
}

/// A batch query's error; running out of the memory pool names the pool's limit.
fn batch_error(e: DataFusionError, limit: u64) -> SqlError {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(detail) => SqlError::OutOfMemory {
            limit: human_bytes(limit),
            detail: detail.clone(),
        },
        _ => SqlError::from(e),
    }
}

/// `2147483648` as `2 GiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && value >= 1024 && value.is_multiple_of(1024) {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn limits_read_as_written() {
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(2 << 30), "2 GiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
