//! Catalog tables as DataFusion sees them. A batch query scans a bounded table by running
//! its connector's source readers, one DataFusion partition per reader; the streaming
//! planner recognises the same provider in a `TableScan` and turns it into a source.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNode;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::ExecutionPlan;
use eddy_runtime::config::execution;
use eddy_runtime::config::Configuration;
use eddy_runtime::connector::{ConnectorResolver, ReaderPoll, Source, SourceSplit, SubtaskInfo};
use eddy_runtime::jobgraph::ConnectorSpec;
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::RuntimeError;

/// A catalog table backed by a connector.
#[derive(Clone)]
pub struct ConnectorTable {
    pub spec: ConnectorSpec,
    pub schema: SchemaRef,
    pub bounded: bool,
    pub resolver: Arc<dyn ConnectorResolver>,
    pub config: Configuration,
}

impl std::fmt::Debug for ConnectorTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorTable")
            .field("table", &self.spec.table)
            .field("bounded", &self.bounded)
            .finish()
    }
}

impl ConnectorTable {
    /// Finds the connector table behind a provider, if it is one.
    pub fn from_provider(provider: &dyn TableProvider) -> Option<&ConnectorTable> {
        (provider as &dyn Any).downcast_ref::<ConnectorTable>()
    }
}

fn external(e: RuntimeError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl TableProvider for ConnectorTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let source = self.resolver.create_source(&self.spec).map_err(external)?;
        let readers = state.config().target_partitions().max(1);
        let splits = source.enumerate_splits(readers as u32).map_err(external)?;
        let mut groups: Vec<Vec<SourceSplit>> = vec![Vec::new(); readers.min(splits.len()).max(1)];
        let n = groups.len();
        for (i, s) in splits.into_iter().enumerate() {
            groups[i % n].push(s);
        }
        let parallelism = groups.len() as u32;
        let partitions = groups
            .into_iter()
            .enumerate()
            .map(|(i, splits)| {
                Arc::new(SourcePartition {
                    source: source.clone(),
                    splits,
                    schema: self.schema.clone(),
                    info: SubtaskInfo {
                        job_id: "batch".into(),
                        vertex_name: self.spec.table.clone(),
                        subtask_index: i as u32,
                        parallelism,
                        metrics: Arc::new(TaskMetrics::default()),
                        batch_size: self.config.get_int(&execution::BATCH_SIZE).max(1) as usize,
                        buffer_timeout: self.config.get_duration(&execution::BUFFER_TIMEOUT),
                    },
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let table = StreamingTable::try_new(self.schema.clone(), partitions)?
            .with_infinite_table(!self.bounded);
        table.scan(state, projection, filters, limit).await
    }
}

/// One reader's worth of a bounded scan.
struct SourcePartition {
    source: Arc<dyn Source>,
    splits: Vec<SourceSplit>,
    schema: SchemaRef,
    info: SubtaskInfo,
}

impl std::fmt::Debug for SourcePartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourcePartition({})", self.info.vertex_name)
    }
}

impl PartitionStream for SourcePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let source = self.source.clone();
        let splits = self.splits.clone();
        let info = self.info.clone();
        // Readers block (file I/O, rate limiting): they get a thread of their own, and stop
        // when the query drops its stream.
        std::thread::spawn(move || {
            let mut reader = match source.create_reader(splits, &info) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(external(e)));
                    return;
                }
            };
            loop {
                let item = match reader.poll_next() {
                    Ok(ReaderPoll::Batch(b)) => Ok(b),
                    Ok(ReaderPoll::Pending(wait)) => {
                        if tx.is_closed() {
                            return;
                        }
                        std::thread::sleep(wait.min(std::time::Duration::from_millis(50)));
                        continue;
                    }
                    Ok(ReaderPoll::Finished) => return,
                    Err(e) => Err(external(e)),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// Whether a plan reads any unbounded table (and so must run as a streaming job).
pub fn is_unbounded_plan(plan: &LogicalPlan) -> bool {
    let mut unbounded = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if let Ok(provider) = datafusion::datasource::source_as_provider(&scan.source) {
                if let Some(t) = ConnectorTable::from_provider(provider.as_ref()) {
                    unbounded |= !t.bounded;
                }
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    let _ = plan.apply_subqueries(|sub| {
        unbounded |= is_unbounded_plan(sub);
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    unbounded
}
