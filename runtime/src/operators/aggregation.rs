//! What window aggregation and group aggregation share: DataFusion's vectorized group
//! values and grouped accumulators over a decoded `AggregateExec`, and the encoding of a
//! group's accumulator states as one keyed-state value (per aggregate, its state row in
//! Arrow's row format, length-prefixed), which checkpoints carry and rescaling splits.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::{GroupsAccumulatorAdapter, PhysicalExpr};
use datafusion::physical_plan::aggregates::group_values::{new_group_values, GroupValues};
use datafusion::physical_plan::aggregates::order::GroupOrdering;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};

use crate::error::{Result, RuntimeError};
use crate::expr_codec::decode_plan;
use crate::jobgraph::SerializedPlan;

/// Groups and their accumulators.
pub(crate) struct Groups {
    pub groups: Box<dyn GroupValues>,
    pub accumulators: Vec<Box<dyn GroupsAccumulator>>,
}

/// The group keys and aggregates of an `AggregateExec`, ready to run over batches.
pub(crate) struct Aggregation {
    pub group_exprs: Vec<Arc<dyn PhysicalExpr>>,
    pub group_schema: SchemaRef,
    pub aggregates: Vec<Arc<AggregateFunctionExpr>>,
    pub filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    /// Group keys in Arrow's row format: their address in keyed state.
    pub keys: RowConverter,
    /// One per aggregate, over its intermediate state's types.
    states: Vec<RowConverter>,
    /// The input rows are partial states (group keys, then each aggregate's state
    /// columns) from a local aggregation, merged instead of aggregated: a final-mode plan.
    merges_partials: bool,
    /// How many state columns each aggregate has.
    state_widths: Vec<usize>,
}

impl Aggregation {
    /// Decodes the planner's `AggregateExec` over rows of `input_schema`.
    pub fn decode(
        plan: &SerializedPlan,
        input_schema: &SchemaRef,
        functions: &Arc<TaskContext>,
    ) -> Result<Self> {
        let plan = decode_plan(plan, functions)?;
        let exec = (plan.as_ref() as &dyn std::any::Any)
            .downcast_ref::<AggregateExec>()
            .ok_or_else(|| {
                RuntimeError::Internal("an aggregate spec holds no AggregateExec".into())
            })?;
        let group_exprs: Vec<Arc<dyn PhysicalExpr>> = exec
            .group_expr()
            .expr()
            .iter()
            .map(|(e, _)| Arc::clone(e))
            .collect();
        let group_schema = Arc::new(Schema::new(
            group_exprs
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    Ok(Field::new(
                        format!("g{i}"),
                        e.data_type(input_schema)?,
                        true,
                    ))
                })
                .collect::<Result<Vec<_>>>()?,
        ));
        let aggregates = exec.aggr_expr().to_vec();
        let merges_partials = matches!(
            exec.mode(),
            AggregateMode::Final | AggregateMode::FinalPartitioned
        );
        let keys = RowConverter::new(
            group_schema
                .fields()
                .iter()
                .map(|f| SortField::new(f.data_type().clone()))
                .collect(),
        )?;
        let state_widths = aggregates
            .iter()
            .map(|a| Ok(a.state_fields()?.len()))
            .collect::<Result<Vec<_>>>()?;
        let states = aggregates
            .iter()
            .map(|a| {
                Ok(RowConverter::new(
                    a.state_fields()?
                        .iter()
                        .map(|f| SortField::new(f.data_type().clone()))
                        .collect(),
                )?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            group_exprs,
            group_schema,
            aggregates,
            filters: exec.filter_expr().to_vec(),
            keys,
            states,
            merges_partials,
            state_widths,
        })
    }

    /// Empty groups with a fresh accumulator per aggregate.
    pub fn new_groups(&self) -> Result<Groups> {
        Ok(Groups {
            groups: new_group_values(self.group_schema.clone(), &GroupOrdering::None)?,
            accumulators: self.new_accumulators()?,
        })
    }

    /// A fresh accumulator per aggregate.
    pub fn new_accumulators(&self) -> Result<Vec<Box<dyn GroupsAccumulator>>> {
        self.aggregates.iter().map(create_accumulator).collect()
    }

    /// Adds the rows of `batch` (each aggregate's FILTER applied) to the groups
    /// `group_indices` gives them, among `total` groups.
    pub fn update(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        batch: &RecordBatch,
        group_indices: &[usize],
        total: usize,
    ) -> Result<()> {
        if self.merges_partials {
            return self.merge_partials(accumulators, batch, group_indices, total);
        }
        for ((acc, a), f) in accumulators
            .iter_mut()
            .zip(&self.aggregates)
            .zip(&self.filters)
        {
            let values = evaluate(&a.expressions(), batch)?;
            let filter = match f {
                Some(f) => Some(f.evaluate(batch)?.into_array(batch.num_rows())?),
                None => None,
            };
            let filter = filter
                .as_ref()
                .and_then(|f| f.as_any().downcast_ref::<BooleanArray>());
            acc.update_batch(&values, group_indices, filter, total)?;
        }
        Ok(())
    }

    /// Merges a local aggregation's rows (group keys, then each aggregate's state columns;
    /// its FILTERs were applied there) into the groups `group_indices` gives them.
    fn merge_partials(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        batch: &RecordBatch,
        group_indices: &[usize],
        total: usize,
    ) -> Result<()> {
        let mut column = self.group_exprs.len();
        for (acc, &width) in accumulators.iter_mut().zip(&self.state_widths) {
            let states = batch.columns().get(column..column + width).ok_or_else(|| {
                RuntimeError::Internal("a partial aggregate row lacks state columns".into())
            })?;
            acc.merge_batch(states, group_indices, total)?;
            column += width;
        }
        Ok(())
    }

    /// The accumulators' states as columns (each aggregate's, in order), one row per group
    /// in group order (emptying them): what a local aggregation sends.
    pub fn state_columns(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
    ) -> Result<Vec<ArrayRef>> {
        let mut columns = Vec::new();
        for acc in accumulators.iter_mut() {
            columns.extend(acc.state(EmitTo::All)?);
        }
        Ok(columns)
    }

    /// The accumulators' states, one value per group in group order (emptying them).
    pub fn encode_states(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        groups: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let mut values = vec![Vec::new(); groups];
        for (acc, converter) in accumulators.iter_mut().zip(&self.states) {
            let encoded = converter.convert_columns(&acc.state(EmitTo::All)?)?;
            for (r, value) in values.iter_mut().enumerate() {
                let bytes = encoded.row(r).data();
                value.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                value.extend_from_slice(bytes);
            }
        }
        Ok(values)
    }

    /// Merges encoded states into `accumulators`: value `i` into group `group_indices[i]`
    /// of `total`.
    pub fn merge_states(
        &self,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        values: &[&[u8]],
        group_indices: &[usize],
        total: usize,
    ) -> Result<()> {
        let damaged = || RuntimeError::Internal("an aggregate's stored state is truncated".into());
        let mut parts: Vec<Vec<&[u8]>> = vec![Vec::with_capacity(values.len()); self.states.len()];
        for value in values {
            let mut rest = *value;
            for part in parts.iter_mut() {
                let (len, tail) = rest.split_at_checked(4).ok_or_else(damaged)?;
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                let (bytes, tail) = tail.split_at_checked(len).ok_or_else(damaged)?;
                part.push(bytes);
                rest = tail;
            }
        }
        for ((acc, converter), part) in accumulators.iter_mut().zip(&self.states).zip(parts) {
            let parser = converter.parser();
            let states = converter.convert_rows(part.into_iter().map(|b| parser.parse(b)))?;
            acc.merge_batch(&states, group_indices, total)?;
        }
        Ok(())
    }
}

/// A vectorized accumulator for `agg`, adapting row accumulators where DataFusion has no
/// grouped one (as its own hash aggregation does).
fn create_accumulator(agg: &Arc<AggregateFunctionExpr>) -> Result<Box<dyn GroupsAccumulator>> {
    if agg.groups_accumulator_supported() {
        Ok(agg.create_groups_accumulator()?)
    } else {
        let agg = Arc::clone(agg);
        Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
            agg.create_accumulator()
        })))
    }
}

/// Evaluates expressions over a batch into arrays.
pub(crate) fn evaluate(
    exprs: &[Arc<dyn PhysicalExpr>],
    batch: &RecordBatch,
) -> Result<Vec<ArrayRef>> {
    exprs
        .iter()
        .map(|e| Ok(e.evaluate(batch)?.into_array(batch.num_rows())?))
        .collect()
}

/// Keeps the rows at `indices`, or all of them when `indices` is `None`.
pub(crate) fn take_rows(
    arrays: &[ArrayRef],
    indices: Option<&UInt32Array>,
) -> Result<Vec<ArrayRef>> {
    match indices {
        None => Ok(arrays.to_vec()),
        Some(i) => arrays
            .iter()
            .map(|a| Ok(take(a.as_ref(), i, None)?))
            .collect(),
    }
}
