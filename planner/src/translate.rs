//! Walks an optimized DataFusion `LogicalPlan` and builds the streaming operators it
//! describes: scans become sources, filters and projections become Calcs (merged when
//! adjacent), unions join several chains into one vertex.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::{conjunction, PhysicalExpr};
use eddy_runtime::changelog::{with_op_field, OP_COLUMN};
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{
    CalcSpec, OperatorSpec, Partitioner, SerializedSchema, SourceSpec, DROP_UPDATE_BEFORE,
};

use crate::error::{PlanError, Result};
use crate::exec::{ExecEdge, ExecGraph, ExecKind, ExecNodeId};
use crate::table::ConnectorTable;

/// Where an open chain's rows come from.
pub(crate) enum Head {
    Source(Box<SourceSpec>),
    /// Upstream nodes and how their rows are distributed over this chain's subtasks, in
    /// input order (a join's left input first).
    Inputs(Vec<(ExecNodeId, Partitioner)>),
    /// The streams of several upstream nodes as one (UNION ALL), on the same subtasks.
    Union(Vec<ExecNodeId>),
}

/// A filter and projection not yet serialized, so that adjacent ones can merge.
pub(crate) struct PendingCalc {
    input_schema: SchemaRef,
    filter: Option<Arc<dyn PhysicalExpr>>,
    projection: Option<Vec<Arc<dyn PhysicalExpr>>>,
    output_schema: SchemaRef,
    description: Vec<String>,
}

/// A chain of operators under construction, not yet a vertex.
pub(crate) struct OpenChain {
    pub head: Head,
    pub ops: Vec<OperatorSpec>,
    pub pending: Option<PendingCalc>,
    pub names: Vec<String>,
    /// The chain's output is an updating stream: its batches carry row kinds in the
    /// `__op` column, last.
    pub updating: bool,
    /// For an updating chain, the node whose updates it carries, as error messages name it.
    pub producer: Option<String>,
    /// For an updating chain, the columns whose values identify the row each change is to
    /// (Flink's upsert key), when known: an upsert sink with another key needs `-U`.
    pub upsert_key: Option<Vec<usize>>,
    /// Every change to one upsert key comes from one subtask, in order: the operator that
    /// made the changes ran keyed by (a part of) that key, and nothing since reordered
    /// them. A join's upsert key is not: a row whose join key changes is retracted by one
    /// subtask and added by another. What keeps the latest row per key (a keyed
    /// materialized view) needs this; a multiset of rows does not.
    pub key_ordered: bool,
}

/// A window TVF that runs after the exchange, in its window aggregation's chain.
pub(crate) struct FusedTvf {
    /// The node, found again by value.
    pub node: crate::WindowTvfNode,
    /// The upstream vertex and the partitioner it reads from.
    pub upstream: (ExecNodeId, Partitioner),
    /// The aggregation keeps HOP / CUMULATE windows as slices: the TVF hands out slices.
    pub slices: bool,
}

/// The exec graph built so far, and what translation needs to know on the way.
pub(crate) struct GraphParts {
    pub exec: ExecGraph,
    pub parallelism: u32,
    /// Set while translating the input of a window aggregation, the only place a SESSION
    /// window TVF may appear.
    pub in_window_aggregate: bool,
    /// A window TVF to run after the exchange, in its aggregation's chain.
    pub fused_tvf: Option<FusedTvf>,
    /// Set while translating the right input of a temporal join, the only place a
    /// versioned table (`FOR SYSTEM_TIME AS OF`) may appear.
    pub temporal_right: bool,
    /// Refuse an updating INSERT into an upsert sink whose key is not the query's, as
    /// Flink 2.3 does without ON CONFLICT (`table.exec.sink.require-on-conflict`).
    pub require_on_conflict: bool,
    /// `table.exec.sink.upsert-materialize` = FORCE: every upsert sink with a primary key
    /// gets a SinkUpsertMaterializer.
    pub force_upsert_materialize: bool,
    /// Aggregate in two phases, local before the exchange and global after it, as Flink
    /// does with mini-batches on and `table.optimizer.agg-phase-strategy` not ONE_PHASE.
    pub two_phase_aggregation: bool,
    /// `table.exec.mini-batch.enabled`: regular joins gather and fold their inputs.
    pub mini_batch: bool,
}

/// Every field nullable: expressions may produce nulls the plan's schema does not expect
/// (e.g. casts), and a batch must never be rejected for it.
pub(crate) fn nullable(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ))
}

impl OpenChain {
    /// A chain of `ops` after `head`, insert-only.
    pub fn new(head: Head, ops: Vec<OperatorSpec>, names: Vec<String>) -> Self {
        Self {
            head,
            ops,
            pending: None,
            names,
            updating: false,
            producer: None,
            upsert_key: None,
            key_ordered: false,
        }
    }

    /// The node an updating chain's updates come from, for messages.
    pub fn producer(&self) -> &str {
        self.producer.as_deref().unwrap_or("its input")
    }

    /// Refuses an updating chain where `consumer` needs an insert-only one, with Flink's
    /// message.
    pub fn insert_only(&self, consumer: &str) -> Result<()> {
        match self.updating {
            false => Ok(()),
            true => Err(PlanError::NotSupported(format!(
                "{consumer} doesn't support consuming update changes which is produced by node {}",
                self.producer()
            ))),
        }
    }

    /// Drops the old side (`-U`) of each update of an updating chain whose rows (without
    /// kinds) have `schema`: Flink's `DropUpdateBefore`, where no consumer needs it.
    pub fn drop_update_before(&mut self, schema: SchemaRef) -> Result<()> {
        use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
        self.flush()?;
        let input = with_op_field(&nullable(&schema));
        let op = schema.fields().len();
        let predicate: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(Column::new(OP_COLUMN, op)),
            datafusion::logical_expr::Operator::NotEq,
            Arc::new(Literal::new(datafusion::common::ScalarValue::Int8(Some(
                eddy_runtime::RowKind::UpdateBefore.to_i8(),
            )))),
        ));
        let projection: Vec<Arc<dyn PhysicalExpr>> = (0..input.fields().len())
            .map(|i| Arc::new(Column::new(input.field(i).name(), i)) as Arc<dyn PhysicalExpr>)
            .collect();
        self.names.push(DROP_UPDATE_BEFORE.to_string());
        self.ops.push(OperatorSpec::Calc(CalcSpec {
            input_schema: SerializedSchema::encode(&input)?,
            output_schema: SerializedSchema::encode(&input)?,
            filter: Some(encode_expr(&predicate)?),
            projection: projection
                .iter()
                .map(encode_expr)
                .collect::<Result<_, _>>()?,
            description: DROP_UPDATE_BEFORE.to_string(),
        }));
        Ok(())
    }

    /// Serializes the pending Calc, if any, into the chain.
    pub fn flush(&mut self) -> Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let projection = match p.projection {
            Some(exprs) => exprs,
            None => (0..p.input_schema.fields().len())
                .map(|i| {
                    Arc::new(datafusion::physical_expr::expressions::Column::new(
                        p.input_schema.field(i).name(),
                        i,
                    )) as Arc<dyn PhysicalExpr>
                })
                .collect(),
        };
        let description = p.description.join(", ");
        self.names.push(format!("Calc({description})"));
        self.ops.push(OperatorSpec::Calc(CalcSpec {
            input_schema: SerializedSchema::encode(&p.input_schema)?,
            output_schema: SerializedSchema::encode(&p.output_schema)?,
            filter: p.filter.as_ref().map(encode_expr).transpose()?,
            projection: projection
                .iter()
                .map(encode_expr)
                .collect::<Result<_, _>>()?,
            description,
        }));
        Ok(())
    }

    /// Adds a filter, merging it into a pending filter-only Calc.
    fn add_filter(
        &mut self,
        input: SchemaRef,
        predicate: Arc<dyn PhysicalExpr>,
        text: String,
    ) -> Result<()> {
        // Row kinds ride along as the last column; the predicate's columns come before.
        let input = match self.updating {
            true => with_op_field(&input),
            false => input,
        };
        if let Some(p) = &mut self.pending {
            if p.projection.is_none() {
                p.filter = Some(match p.filter.take() {
                    Some(f) => conjunction(vec![f, predicate]),
                    None => predicate,
                });
                p.description.push(format!("where={text}"));
                return Ok(());
            }
        }
        self.flush()?;
        self.pending = Some(PendingCalc {
            input_schema: input.clone(),
            filter: Some(predicate),
            projection: None,
            output_schema: input,
            description: vec![format!("where={text}")],
        });
        Ok(())
    }

    /// Adds a projection, completing a pending filter-only Calc. Physical columns are
    /// positional and a filter keeps positions, so the projection stays valid over the
    /// filter's input.
    pub(crate) fn add_projection(
        &mut self,
        input: SchemaRef,
        mut exprs: Vec<Arc<dyn PhysicalExpr>>,
        output: SchemaRef,
        text: String,
    ) -> Result<()> {
        self.upsert_key = self
            .upsert_key
            .take()
            .and_then(|key| project_key(&key, &exprs, &input));
        // An updating stream's row kinds are projected through, last.
        let (input, output) = match self.updating {
            true => {
                exprs.push(Arc::new(
                    datafusion::physical_expr::expressions::Column::new(
                        OP_COLUMN,
                        input.fields().len(),
                    ),
                ));
                (with_op_field(&input), with_op_field(&output))
            }
            false => (input, output),
        };
        if let Some(p) = &mut self.pending {
            match &p.projection {
                None => {
                    p.projection = Some(exprs);
                    p.output_schema = output;
                    p.description.push(format!("select={text}"));
                    return Ok(());
                }
                // A projection of a projection is one (Flink's FlinkCalcMergeRule), unless
                // that would evaluate a computed expression more than once.
                Some(inner) => {
                    if let Some(merged) = substitute(&exprs, inner) {
                        p.projection = Some(merged);
                        p.output_schema = output;
                        // The filter (on the input) stays; the outer names describe it.
                        p.description.retain(|d| !d.starts_with("select="));
                        p.description.push(format!("select={text}"));
                        return Ok(());
                    }
                }
            }
        }
        self.flush()?;
        self.pending = Some(PendingCalc {
            input_schema: input,
            filter: None,
            projection: Some(exprs.clone()),
            output_schema: output,
            description: vec![format!("select={text}")],
        });
        Ok(())
    }
}

/// Where the key columns `key` (of `input`) end up after the projection `exprs`: each
/// must be passed through as a column, or cast in a way that keeps distinct values
/// distinct (Flink keeps the upsert key through such casts), or the key is lost.
fn project_key(
    key: &[usize],
    exprs: &[Arc<dyn PhysicalExpr>],
    input: &Schema,
) -> Option<Vec<usize>> {
    use datafusion::physical_expr::expressions::{CastExpr, Column, TryCastExpr};
    let passes = |e: &Arc<dyn PhysicalExpr>, k: usize| -> bool {
        let is_key =
            |e: &Arc<dyn PhysicalExpr>| e.downcast_ref::<Column>().is_some_and(|c| c.index() == k);
        let from = || input.fields().get(k).map(|f| f.data_type().clone());
        if is_key(e) {
            return true;
        }
        let (inner, to) = match (
            e.downcast_ref::<CastExpr>(),
            e.downcast_ref::<TryCastExpr>(),
        ) {
            (Some(c), _) => (c.expr(), c.cast_type()),
            (_, Some(c)) => (c.expr(), c.cast_type()),
            _ => return false,
        };
        is_key(inner) && from().is_some_and(|from| cast_keeps_distinct(&from, to))
    };
    key.iter()
        .map(|&k| exprs.iter().position(|e| passes(e, k)))
        .collect()
}

/// Whether casting `from` to `to` maps distinct values to distinct values: an integer
/// widened (or a row number, UInt64, as BIGINT), an integer or a string as a string.
fn cast_keeps_distinct(
    from: &datafusion::arrow::datatypes::DataType,
    to: &datafusion::arrow::datatypes::DataType,
) -> bool {
    use datafusion::arrow::datatypes::DataType::*;
    let width = |t: &datafusion::arrow::datatypes::DataType| match t {
        Int8 => Some((8, true)),
        Int16 => Some((16, true)),
        Int32 => Some((32, true)),
        Int64 => Some((64, true)),
        UInt8 => Some((8, false)),
        UInt16 => Some((16, false)),
        UInt32 => Some((32, false)),
        UInt64 => Some((64, false)),
        _ => None,
    };
    let string =
        |t: &datafusion::arrow::datatypes::DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    if from == to {
        return true;
    }
    match (width(from), width(to)) {
        // The row number is a UInt64 that never reaches 2^63.
        (Some((64, false)), Some((64, true))) => true,
        (Some((f, fs)), Some((t, ts))) => (fs == ts && t >= f) || (!fs && ts && t > f),
        (Some(_), None) => string(to),
        (None, _) => string(from) && string(to),
    }
}

/// `outer` (over `inner`'s output) rewritten over `inner`'s input, when no expression of
/// `inner` other than a column or a literal is read more than once (which would compute
/// it twice, or, for PROCTIME(), give two values).
fn substitute(
    outer: &[Arc<dyn PhysicalExpr>],
    inner: &[Arc<dyn PhysicalExpr>],
) -> Option<Vec<Arc<dyn PhysicalExpr>>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::physical_expr::expressions::{Column, Literal};
    let trivial = |e: &Arc<dyn PhysicalExpr>| {
        e.downcast_ref::<Column>().is_some() || e.downcast_ref::<Literal>().is_some()
    };
    let mut reads = vec![0usize; inner.len()];
    for e in outer {
        e.apply(|node| {
            if let Some(c) = node.downcast_ref::<Column>() {
                if let Some(n) = reads.get_mut(c.index()) {
                    *n += 1;
                }
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .ok()?;
    }
    if inner.iter().zip(&reads).any(|(e, &n)| n > 1 && !trivial(e)) {
        return None;
    }
    outer
        .iter()
        .map(|e| {
            Arc::clone(e)
                .transform_up(|node| match node.downcast_ref::<Column>() {
                    Some(c) => match inner.get(c.index()) {
                        Some(replacement) => Ok(Transformed::yes(Arc::clone(replacement))),
                        None => Err(datafusion::error::DataFusionError::Internal(
                            "a column past its input".into(),
                        )),
                    },
                    None => Ok(Transformed::no(node)),
                })
                .map(|t| t.data)
                .ok()
        })
        .collect()
}

impl OpenChain {
    /// Makes an insert-only chain (rows of `schema`) updating: each row gets kind `+I`.
    pub fn add_insert_kinds(&mut self, schema: SchemaRef) -> Result<()> {
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = (0..schema.fields().len())
            .map(|i| {
                Arc::new(datafusion::physical_expr::expressions::Column::new(
                    schema.field(i).name(),
                    i,
                )) as Arc<dyn PhysicalExpr>
            })
            .collect();
        exprs.push(Arc::new(
            datafusion::physical_expr::expressions::Literal::new(
                datafusion::common::ScalarValue::Int8(Some(
                    eddy_runtime::stream_element::RowKind::Insert.to_i8(),
                )),
            ),
        ));
        self.add_projection(
            schema.clone(),
            exprs,
            with_op_field(&nullable(&schema)),
            "+I".to_string(),
        )?;
        self.updating = true;
        Ok(())
    }
}

impl GraphParts {
    /// Closes a chain: adds a node for its head and each of its operators, and returns
    /// the last one, which a consumer reads.
    pub fn close(&mut self, mut chain: OpenChain) -> Result<ExecNodeId> {
        chain.flush()?;
        let p = self.parallelism;
        let mut names = chain.names.into_iter();
        let mut ops = chain.ops.into_iter();
        let mut last = match chain.head {
            Head::Source(spec) => {
                let name = format!(
                    "Source: {}[{}]",
                    spec.connector.table,
                    spec.connector.connector()
                );
                self.exec.push(
                    ExecKind::Operator(Box::new(OperatorSpec::Source(*spec))),
                    name,
                    Vec::new(),
                    p,
                )?
            }
            Head::Union(inputs) => {
                let inputs = inputs
                    .into_iter()
                    .map(|input| ExecEdge {
                        input,
                        exchange: Partitioner::Forward,
                    })
                    .collect();
                self.exec
                    .push(ExecKind::Union, "Union".to_string(), inputs, p)?
            }
            Head::Inputs(inputs) => {
                let op = ops.next().ok_or_else(|| {
                    PlanError::NotSupported(
                        "internal: a chain reads its inputs with no operator".into(),
                    )
                })?;
                let name = names.next().unwrap_or_else(|| op.describe());
                let inputs = inputs
                    .into_iter()
                    .map(|(input, exchange)| ExecEdge { input, exchange })
                    .collect();
                self.exec
                    .push(ExecKind::Operator(Box::new(op)), name, inputs, p)?
            }
        };
        for op in ops {
            let name = names.next().unwrap_or_else(|| op.describe());
            let input = vec![ExecEdge {
                input: last,
                exchange: Partitioner::Forward,
            }];
            last = self
                .exec
                .push(ExecKind::Operator(Box::new(op)), name, input, p)?;
        }
        Ok(last)
    }
}

/// Translates `plan` into an open chain, closing any vertices it needs on the way.
pub(crate) fn translate(
    plan: &LogicalPlan,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let provider = datafusion::datasource::source_as_provider(&scan.source)?;
            let table = ConnectorTable::from_provider(provider.as_ref()).ok_or_else(|| {
                PlanError::NotSupported(format!(
                    "table '{}' cannot be read by a streaming job",
                    scan.table_name
                ))
            })?;
            // Only partition filters are pushed into scans, and they stay above them too.
            if scan.filters.iter().any(|f| !table.is_partition_filter(f)) {
                return Err(PlanError::NotSupported(
                    "filters pushed into a scan are not supported in streaming jobs".into(),
                ));
            }
            if table.is_upsert() {
                return crate::upsert_source::translate_upsert_scan(scan, table, state, parts);
            }
            let mut source = table.source_spec(state, scan.projection.clone())?;
            source.connector.partition_filter =
                table.partition_filter(&scan.filters, state)?;
            let mut chain = OpenChain::new(Head::Source(Box::new(source)), Vec::new(), Vec::new());
            // A changelog source (`debezium-json`) is an updating stream from the start,
            // keyed by its primary key. Its `-U` rows go unless a consumer needs them (the
            // changelog-mode inference then takes this DropUpdateBefore out), as Flink
            // drops them after a CDC source asked for ONLY_UPDATE_AFTER.
            if let Some(format) = table.changelog_format() {
                chain.updating = true;
                chain.producer = Some(format!(
                    "TableSourceScan(table=[[{}]], format=[{format}])",
                    table.spec.table
                ));
                let schema = scan.projected_schema.as_arrow();
                let key: Option<Vec<usize>> = table
                    .spec
                    .primary_key
                    .iter()
                    .map(|k| schema.index_of(k).ok())
                    .collect();
                chain.upsert_key = key.filter(|k| !k.is_empty());
                chain.drop_update_before(Arc::new(schema.clone()))?;
            }
            Ok(chain)
        }
        LogicalPlan::Filter(filter) => {
            if let Some(rank) = crate::rank::as_rank(filter) {
                return crate::rank::translate_rank(&rank, true, state, parts);
            }
            let mut chain = translate(&filter.input, state, parts)?;
            let input_schema = filter.input.schema();
            let predicate = state.create_physical_expr(filter.predicate.clone(), input_schema)?;
            chain.add_filter(
                Arc::new(input_schema.as_arrow().clone()),
                predicate,
                filter.predicate.to_string(),
            )?;
            Ok(chain)
        }
        LogicalPlan::Projection(projection) => {
            // A Top-N whose rank number nobody reads changes per row, not per rank.
            let rank = match projection.input.as_ref() {
                LogicalPlan::Filter(f) => crate::rank::as_rank(f),
                _ => None,
            };
            let mut chain = match rank {
                Some(rank) => {
                    let output_rank =
                        crate::rank::reads_rank(&projection.expr, &projection.input, &rank);
                    crate::rank::translate_rank(&rank, output_rank, state, parts)?
                }
                None => translate(&projection.input, state, parts)?,
            };
            let input_schema = projection.input.schema();
            let exprs = projection
                .expr
                .iter()
                .map(|e| state.create_physical_expr(e.clone(), input_schema))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let text = projection
                .expr
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            chain.add_projection(
                Arc::new(input_schema.as_arrow().clone()),
                exprs,
                nullable(projection.schema.as_arrow()),
                text,
            )?;
            Ok(chain)
        }
        LogicalPlan::SubqueryAlias(alias) => translate(&alias.input, state, parts),
        LogicalPlan::Extension(_) => {
            if let Some(node) = crate::logical::window_tvf::as_window_tvf(plan) {
                return crate::windowing::translate_window_tvf(node, state, parts);
            }
            if let Some(join) = crate::logical::temporal_table::as_temporal_join(plan) {
                return crate::temporal_join::translate_temporal_join(join, state, parts);
            }
            match crate::logical::temporal_table::as_temporal_table(plan) {
                Some(node) if parts.temporal_right => translate(&node.input, state, parts),
                Some(node) => Err(PlanError::NotSupported(format!(
                    "'{}' FOR SYSTEM_TIME AS OF {} is supported only as the right side of a JOIN (a temporal join)",
                    node.table, node.as_of
                ))),
                None => Err(PlanError::NotSupported(
                    "this kind of query is not supported in streaming jobs".into(),
                )),
            }
        }
        LogicalPlan::Aggregate(agg) => {
            crate::windowing::translate_window_aggregate(agg, state, parts)
        }
        LogicalPlan::Join(join) => crate::windowing::translate_window_join(join, state, parts),
        LogicalPlan::Values(values) => Ok(OpenChain::new(
            Head::Source(Box::new(values_source(&values.schema, &values.values, state)?)),
            Vec::new(),
            Vec::new(),
        )),
        // `SELECT 1, 'a'` without FROM: one row of no columns, which a projection fills.
        LogicalPlan::EmptyRelation(empty) => {
            let rows = match empty.produce_one_row {
                true => vec![Vec::new()],
                false => Vec::new(),
            };
            Ok(OpenChain::new(
                Head::Source(Box::new(values_source(&empty.schema, &rows, state)?)),
                Vec::new(),
                Vec::new(),
            ))
        }
        LogicalPlan::Window(window) => crate::over::translate_over(window, state, parts),
        LogicalPlan::Union(union) => {
            let mut chains = union
                .inputs
                .iter()
                .map(|input| translate(input, state, parts))
                .collect::<Result<Vec<_>>>()?;
            // One updating input makes the union updating: the others' rows become `+I`.
            let updating = chains.iter().find(|c| c.updating).map(|c| c.producer().to_string());
            let mut inputs = Vec::new();
            for (mut chain, input) in chains.drain(..).zip(&union.inputs) {
                if updating.is_some() && !chain.updating {
                    chain.add_insert_kinds(Arc::new(input.schema().as_arrow().clone()))?;
                }
                inputs.push(parts.close(chain)?);
            }
            let mut chain = OpenChain::new(Head::Union(inputs), Vec::new(), Vec::new());
            chain.updating = updating.is_some();
            chain.producer = updating;
            Ok(chain)
        }
        other => Err(PlanError::NotSupported(format!(
            "{} is not supported in streaming queries yet; projections, filters, VALUES, UNION, GROUP BY, joins, window table functions, window aggregations and window joins are",
            describe_node(other)
        ))),
    }
}

/// `VALUES (..), (..)` as a bounded source: the rows are evaluated here and travel in the
/// job graph, as Flink's `StreamExecValues` carries its literals.
fn values_source(
    schema: &datafusion::common::DFSchema,
    rows: &[Vec<datafusion::logical_expr::Expr>],
    state: &SessionState,
) -> Result<SourceSpec> {
    let schema = nullable(schema.as_arrow());
    let one_row = datafusion::arrow::record_batch::RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        Vec::new(),
        &datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(DataFusionError::from)?;
    let empty = datafusion::common::DFSchema::empty();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (c, field) in schema.fields().iter().enumerate() {
        let mut cells = Vec::with_capacity(rows.len());
        for row in rows {
            let expr = state.create_physical_expr(row[c].clone(), &empty)?;
            let array = expr.evaluate(&one_row)?.into_array(1)?;
            cells.push(
                datafusion::arrow::compute::cast(&array, field.data_type())
                    .map_err(DataFusionError::from)?,
            );
        }
        let refs: Vec<&dyn datafusion::arrow::array::Array> =
            cells.iter().map(|a| a.as_ref()).collect();
        columns.push(match refs.is_empty() {
            true => datafusion::arrow::array::new_empty_array(field.data_type()),
            false => datafusion::arrow::compute::concat(&refs).map_err(DataFusionError::from)?,
        });
    }
    let batch = datafusion::arrow::record_batch::RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(rows.len())),
    )
    .map_err(DataFusionError::from)?;
    let spec = eddy_runtime::jobgraph::ConnectorSpec {
        table: "VALUES".to_string(),
        schema: SerializedSchema::encode(&schema)?,
        options: [
            ("connector".to_string(), "values".to_string()),
            (
                eddy_connectors::values::VALUES_ROWS.key.to_string(),
                eddy_connectors::values::encode_rows(&batch)?,
            ),
        ]
        .into(),
        primary_key: Vec::new(),
        partition_keys: Vec::new(),
        partition_filter: None,
        read_columns: None,
    };
    Ok(SourceSpec {
        connector: spec,
        computed: Vec::new(),
        table_schema: None,
        watermark: None,
        projection: None,
    })
}

fn describe_node(plan: &LogicalPlan) -> &'static str {
    match plan {
        LogicalPlan::Aggregate(_) => "GROUP BY / aggregation",
        LogicalPlan::Join(_) => "JOIN",
        LogicalPlan::Sort(_) => "ORDER BY",
        LogicalPlan::Limit(_) => "LIMIT",
        LogicalPlan::Window(_) => "an OVER window",
        LogicalPlan::Distinct(_) => "DISTINCT",
        LogicalPlan::Values(_) => "VALUES",
        LogicalPlan::EmptyRelation(_) => "a SELECT without FROM",
        _ => "this kind of query",
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};

    use super::*;

    fn col(i: usize) -> Arc<dyn PhysicalExpr> {
        Arc::new(Column::new(&format!("c{i}"), i))
    }

    fn plus_one(e: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(
            e,
            Operator::Plus,
            Arc::new(Literal::new(datafusion::common::ScalarValue::Int64(Some(
                1,
            )))),
        ))
    }

    #[test]
    fn only_casts_that_keep_values_distinct_keep_an_upsert_key() {
        use datafusion::arrow::datatypes::DataType::*;
        for (from, to) in [
            (Int32, Int64),
            (Int8, Int32),
            (UInt64, Int64),
            (UInt32, Int64),
            (Int64, Utf8),
            (Utf8View, Utf8),
            (Int64, Int64),
        ] {
            assert!(cast_keeps_distinct(&from, &to), "{from} -> {to}");
        }
        for (from, to) in [
            (Int64, Int32),
            (Int32, Float64),
            (Float32, Float64),
            (Int64, UInt64),
            (
                Timestamp(datafusion::arrow::datatypes::TimeUnit::Millisecond, None),
                Utf8,
            ),
            (Utf8, Int64),
        ] {
            assert!(!cast_keeps_distinct(&from, &to), "{from} -> {to}");
        }
    }

    #[test]
    fn projections_merge_unless_a_computed_value_would_be_computed_twice() {
        // inner: [c1, c0 + 1]; outer: [c1 + 1, c0] over it is [(c0 + 1) + 1, c1].
        let inner = vec![col(1), plus_one(col(0))];
        let merged = substitute(&[plus_one(col(1)), col(0)], &inner).unwrap();
        assert_eq!(merged[0].to_string(), "c0@0 + 1 + 1");
        assert_eq!(merged[1].to_string(), "c1@1");
        // Reading the computed column twice would compute it twice: not merged.
        assert!(substitute(&[col(1), plus_one(col(1))], &inner).is_none());
        // A plain column may be read any number of times.
        assert!(substitute(&[col(0), col(0)], &inner).is_some());
    }
}
