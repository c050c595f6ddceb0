//! Catalog tables as DataFusion sees them. A batch query scans a bounded table by running
//! its connector's source readers, one DataFusion partition per reader; the streaming
//! planner recognises the same provider in a `TableScan` and turns it into a source.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::DFSchema;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::ExecutionPlan;
use eddy_runtime::config::execution;
use eddy_runtime::config::Configuration;
use eddy_runtime::connector::{ConnectorResolver, ReaderPoll, Source, SourceSplit, SubtaskInfo};
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{
    ConnectorSpec, SerializedExpr, SerializedSchema, SourceSpec, SourceWatermarkSpec,
};
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::operators::append_computed;
use eddy_runtime::RuntimeError;
use eddy_runtime::TimeAttribute;

use crate::error::PlanError;

/// A catalog table backed by a connector. Its schema is the physical columns followed by
/// the computed ones, with the time attributes marked.
#[derive(Clone)]
pub struct ConnectorTable {
    /// The connector, with the physical columns only.
    pub spec: ConnectorSpec,
    pub schema: SchemaRef,
    /// Computed columns, over the physical columns.
    pub computed: Vec<Expr>,
    pub watermark: Option<TableWatermark>,
    /// The declared primary key's columns (a versioned table's key in temporal joins).
    pub primary_key: Vec<String>,
    pub bounded: bool,
    pub resolver: Arc<dyn ConnectorResolver>,
    pub config: Configuration,
}

/// A table's `WATERMARK FOR column AS expr`.
#[derive(Debug, Clone)]
pub struct TableWatermark {
    /// Index of the rowtime column in the table schema.
    pub column: usize,
    /// Over the table schema.
    pub expr: Expr,
    pub text: String,
}

/// What a table is declared with, before DataFusion has checked it.
pub struct TableDefinition {
    pub spec: ConnectorSpec,
    pub physical: SchemaRef,
    /// `(name, expression)` of each computed column.
    pub computed: Vec<(String, String)>,
    /// `(column, expression)` of the watermark.
    pub watermark: Option<(String, String)>,
    /// `PRIMARY KEY (..) NOT ENFORCED` columns; empty without one.
    pub primary_key: Vec<String>,
    pub bounded: bool,
}

fn is_proctime_call(expr: &Expr) -> bool {
    matches!(expr, Expr::ScalarFunction(f) if f.name() == eddy_runtime::functions::PROCTIME)
}

/// The type a computed column gets: timestamps at millisecond precision, as Flink's
/// TIMESTAMP(3) (DataFusion's TO_TIMESTAMP and the like produce nanoseconds).
fn computed_type(t: DataType) -> DataType {
    match t {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Millisecond, tz),
        other => other,
    }
}

impl ConnectorTable {
    /// Checks a table's computed columns and watermark with DataFusion and builds the
    /// table.
    pub fn try_new(
        def: TableDefinition,
        state: &SessionState,
        resolver: Arc<dyn ConnectorResolver>,
        config: Configuration,
    ) -> crate::Result<Self> {
        let physical_df = DFSchema::try_from(def.physical.as_ref().clone())?;
        let mut fields: Vec<Field> = def
            .physical
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut computed = Vec::new();
        for (name, text) in &def.computed {
            let expr = state.create_logical_expr(text, &physical_df).map_err(|e| {
                PlanError::InvalidDefinition(format!(
                    "computed column '{name}' AS {text} is invalid: {}",
                    e.strip_backtrace()
                ))
            })?;
            let data_type = expr.get_type(&physical_df)?;
            let mut field = Field::new(name, computed_type(data_type), true);
            if is_proctime_call(&expr) {
                field = TimeAttribute::Proctime.mark(field.with_nullable(false));
            }
            computed.push(expr);
            fields.push(field);
        }
        let mut watermark = None;
        if let Some((column, text)) = &def.watermark {
            let index = fields
                .iter()
                .position(|f| f.name() == column)
                .ok_or_else(|| {
                    PlanError::InvalidDefinition(format!(
                        "the watermark column '{column}' is not a column of table '{}'",
                        def.spec.table
                    ))
                })?;
            if !matches!(
                fields[index].data_type(),
                DataType::Timestamp(TimeUnit::Millisecond, _)
            ) {
                return Err(PlanError::InvalidDefinition(format!(
                    "invalid type of the watermark column '{column}': it must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not {}",
                    fields[index].data_type()
                )));
            }
            fields[index] = TimeAttribute::Rowtime.mark(fields[index].clone());
            let table_df = DFSchema::try_from(Schema::new(fields.clone()))?;
            let expr = state.create_logical_expr(text, &table_df).map_err(|e| {
                PlanError::InvalidDefinition(format!(
                    "watermark expression {text} is invalid: {}",
                    e.strip_backtrace()
                ))
            })?;
            let t = expr.get_type(&table_df)?;
            if !matches!(t, DataType::Timestamp(_, _)) {
                return Err(PlanError::InvalidDefinition(format!(
                    "watermark expression {text} must return a timestamp, not {}",
                    t
                )));
            }
            watermark = Some(TableWatermark {
                column: index,
                expr,
                text: text.clone(),
            });
        }
        Ok(Self {
            spec: def.spec,
            schema: Arc::new(Schema::new(fields)),
            computed,
            watermark,
            primary_key: def.primary_key,
            bounded: def.bounded,
            resolver,
            config,
        })
    }

    /// How a streaming job reads this table: computed columns, watermark and projection.
    pub fn source_spec(
        &self,
        state: &SessionState,
        projection: Option<Vec<usize>>,
    ) -> crate::Result<SourceSpec> {
        let physical = self.spec.schema.decode()?;
        let physical_df = DFSchema::try_from(physical.as_ref().clone())?;
        let computed = self
            .computed
            .iter()
            .map(|e| {
                Ok(encode_expr(
                    &state.create_physical_expr(e.clone(), &physical_df)?,
                )?)
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let watermark = match &self.watermark {
            Some(w) => {
                let table_df = DFSchema::try_from(self.schema.as_ref().clone())?;
                Some(SourceWatermarkSpec {
                    rowtime: w.column,
                    expr: encode_expr(&state.create_physical_expr(w.expr.clone(), &table_df)?)?,
                    description: w.text.clone(),
                })
            }
            None => None,
        };
        let mut connector = self.spec.clone();
        connector.read_columns = self.read_columns(projection.as_deref(), &physical);
        Ok(SourceSpec {
            connector,
            computed,
            table_schema: Some(SerializedSchema::encode(&self.schema)?),
            watermark,
            projection,
        })
    }

    /// The physical columns a scan projecting `projection` (of the table's columns) reads:
    /// the projected ones, those its projected computed columns use, those the watermark
    /// needs, and every NOT NULL one (a primary key's: NULL cannot stand in for it).
    /// `None` when that is every column.
    fn read_columns(&self, projection: Option<&[usize]>, physical: &Schema) -> Option<Vec<usize>> {
        let width = physical.fields().len();
        let mut read = std::collections::BTreeSet::new();
        let column = |i: usize, read: &mut std::collections::BTreeSet<usize>| {
            if i < width {
                read.insert(i);
                return;
            }
            let Some(expr) = self.computed.get(i - width) else {
                return;
            };
            for c in expr.column_refs() {
                // Unresolvable: read everything rather than guess.
                match physical.index_of(c.name()) {
                    Ok(p) => {
                        read.insert(p);
                    }
                    Err(_) => read.extend(0..width),
                }
            }
        };
        for &i in projection? {
            column(i, &mut read);
        }
        for (i, field) in physical.fields().iter().enumerate() {
            if !field.is_nullable() {
                read.insert(i);
            }
        }
        if let Some(w) = &self.watermark {
            column(w.column, &mut read);
            for c in w.expr.column_refs() {
                match self.schema.index_of(c.name()) {
                    Ok(i) => column(i, &mut read),
                    Err(_) => read.extend(0..width),
                }
            }
        }
        (read.len() < width).then(|| read.into_iter().collect())
    }

    /// The computed columns as physical expressions over the physical columns.
    fn physical_computed(&self, state: &dyn Session) -> DfResult<Vec<Arc<dyn PhysicalExpr>>> {
        let physical = self.spec.schema.decode().map_err(external)?;
        let physical_df = DFSchema::try_from(physical.as_ref().clone())?;
        self.computed
            .iter()
            .map(|e| state.create_physical_expr(e.clone(), &physical_df))
            .collect()
    }

    /// The table's format, when it reads a changelog (`debezium-json`): its rows come
    /// with row kinds, and a batch query cannot read it.
    pub fn changelog_format(&self) -> Option<&str> {
        let format = self
            .spec
            .options
            .get("format")
            .or_else(|| self.spec.options.get("value.format"))?;
        eddy_connectors::registry::format_factory(format)
            .ok()
            .filter(|f| f.produces_changelog())
            .map(|_| format.as_str())
    }

    /// Whether the table is an upsert table (`upsert-kafka`): its rows are each key's
    /// latest value and deletions of keys, a changelog keyed by its primary key.
    pub fn is_upsert(&self) -> bool {
        self.spec.connector() == "upsert-kafka"
    }

    /// Whether `expr` reads partition columns only, so that it can skip whole partitions
    /// (Flink's `SupportsPartitionPushDown`).
    pub fn is_partition_filter(&self, expr: &Expr) -> bool {
        let keys = &self.spec.partition_keys;
        let columns = expr.column_refs();
        !keys.is_empty()
            && !columns.is_empty()
            && columns.iter().all(|c| keys.contains(&c.name))
            && !expr.is_volatile()
            && !expr
                .exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_)
                            | Expr::Exists(_)
                            | Expr::InSubquery(_)
                            | Expr::OuterReferenceColumn(..)
                            | Expr::Placeholder(_)
                    ))
                })
                .unwrap_or(true)
    }

    /// The filters among `filters` that read partition columns only, as one predicate
    /// over the partition columns (in `PARTITIONED BY` order) for the source to prune
    /// partitions with. The filters stay in the plan as well: pruning is a shortcut.
    pub fn partition_filter(
        &self,
        filters: &[Expr],
        state: &dyn Session,
    ) -> DfResult<Option<SerializedExpr>> {
        let Some(predicate) = conjunction(
            filters
                .iter()
                .filter(|f| self.is_partition_filter(f))
                .cloned(),
        ) else {
            return Ok(None);
        };
        let fields = self
            .spec
            .partition_keys
            .iter()
            .map(|k| Ok(self.schema.field_with_name(k)?.clone()))
            .collect::<DfResult<Vec<_>>>()?;
        let keys = DFSchema::try_from(Schema::new(fields))?;
        // The scan's filters name the table; the partition batch has bare columns.
        let predicate = predicate
            .transform(|e| match e {
                Expr::Column(c) => Ok(Transformed::yes(Expr::Column(
                    datafusion::common::Column::new_unqualified(c.name),
                ))),
                other => Ok(Transformed::no(other)),
            })?
            .data;
        // Pruning is a shortcut (the filter stays above the scan): a filter that cannot
        // travel to the source (a session's own function, a subquery) prunes nothing.
        let Ok(physical) = state.create_physical_expr(predicate, &keys) else {
            return Ok(None);
        };
        Ok(encode_expr(&physical).ok())
    }

    /// Finds the connector table behind a provider, if it is one.
    pub fn from_provider(provider: &dyn TableProvider) -> Option<&ConnectorTable> {
        (provider as &dyn Any).downcast_ref::<ConnectorTable>()
    }
}

impl std::fmt::Debug for ConnectorTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorTable")
            .field("table", &self.spec.table)
            .field("bounded", &self.bounded)
            .finish()
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

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match self.is_partition_filter(f) {
                true => TableProviderFilterPushDown::Inexact,
                false => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if self.is_upsert() {
            return Err(PlanError::NotSupported(format!(
                "Querying a table in batch mode is currently only possible for INSERT-only table sources. But the source for table '{}' (connector 'upsert-kafka') produces other changelog messages than just INSERT. Read it in a streaming job: INSERT INTO a sink, or CREATE MATERIALIZED VIEW over it",
                self.spec.table
            ))
            .into_datafusion());
        }
        if let Some(format) = self.changelog_format() {
            // As Flink refuses it in batch mode: a batch query would see each change as a row.
            return Err(PlanError::NotSupported(format!(
                "Querying a table in batch mode is currently only possible for INSERT-only table sources. But the source for table '{}' (format '{format}') produces other changelog messages than just INSERT. Read it in a streaming job: INSERT INTO a sink, or CREATE MATERIALIZED VIEW over it",
                self.spec.table
            ))
            .into_datafusion());
        }
        let mut spec = self.spec.clone();
        spec.partition_filter = self.partition_filter(filters, state)?;
        let physical = self.spec.schema.decode().map_err(external)?;
        spec.read_columns = self.read_columns(projection.map(Vec::as_slice), &physical);
        let source = self.resolver.create_source(&spec).map_err(external)?;
        let computed = self.physical_computed(state)?;
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
                    computed: computed.clone(),
                    schema: self.schema.clone(),
                    info: SubtaskInfo {
                        job_id: "batch".into(),
                        attempt: 0,
                        vertex_name: self.spec.table.clone(),
                        subtask_index: i as u32,
                        parallelism,
                        metrics: Arc::new(TaskMetrics::default()),
                        batch_size: self.config.get_int(&execution::BATCH_SIZE).max(1) as usize,
                        buffer_timeout: self.config.get_duration(&execution::BUFFER_TIMEOUT),
                        cancel: Default::default(),
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
    computed: Vec<Arc<dyn PhysicalExpr>>,
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
        let computed = self.computed.clone();
        let schema = self.schema.clone();
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
                    Ok(ReaderPoll::Batch(b)) => {
                        append_computed(b, &computed, &schema).map_err(external)
                    }
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
/// The unbounded connector tables `plan` reads, and whether it reads any connector table.
pub fn scanned_tables(plan: &LogicalPlan) -> (Vec<String>, bool) {
    let mut unbounded = Vec::new();
    let mut any = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if let Ok(provider) = datafusion::datasource::source_as_provider(&scan.source) {
                if let Some(t) = ConnectorTable::from_provider(provider.as_ref()) {
                    any = true;
                    if !t.bounded {
                        unbounded.push(scan.table_name.to_string());
                    }
                }
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    let _ = plan.apply_subqueries(|sub| {
        let (u, a) = scanned_tables(sub);
        unbounded.extend(u);
        any |= a;
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    (unbounded, any)
}

pub fn is_unbounded_plan(plan: &LogicalPlan) -> bool {
    let mut unbounded = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Extension(_) = node {
            // Window TVFs and the like exist only in the streaming runtime.
            unbounded = true;
        }
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
