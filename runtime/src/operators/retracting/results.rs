//! Groups' results: each aggregate's value for every group, one array per aggregate, and
//! the row accumulators' states as columns.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, new_null_array, ArrayRef, Int64Array, UInt32Array,
};
use datafusion::arrow::compute::{cast_with_options, take, CastOptions};
use datafusion::arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;

use super::{GroupAccumulator, GroupState, Kind, RetractingAggregation, ValueFunction};
use crate::error::{Result, RuntimeError};

impl RetractingAggregation {
    /// Each aggregate's value for every group, one array per aggregate.
    pub fn evaluate(&self, states: &mut [GroupState]) -> Result<Vec<ArrayRef>> {
        let mismatched = || RuntimeError::Internal("mismatched accumulator".into());
        let mut columns = Vec::with_capacity(self.kinds.len());
        for (j, (kind, aggregate)) in self.kinds.iter().zip(&self.aggregates).enumerate() {
            let column: ArrayRef = match kind {
                Kind::Count { .. }
                | Kind::SharedDistinct { .. }
                | Kind::Values {
                    function: ValueFunction::CountDistinct,
                    ..
                } => {
                    let counts = states
                        .iter()
                        .map(|s| match &s.accumulators[j] {
                            GroupAccumulator::Count(n) | GroupAccumulator::SharedCount(n) => Ok(*n),
                            GroupAccumulator::Distinct(values) => Ok(values.len() as i64),
                            _ => Err(mismatched()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Arc::new(Int64Array::from(counts))
                }
                Kind::Values { function, values } => {
                    let chosen = states
                        .iter()
                        .map(|s| match (&s.accumulators[j], function) {
                            (GroupAccumulator::Values(counts), ValueFunction::Min) => {
                                Ok(counts.keys().next().map(Vec::as_slice))
                            }
                            (GroupAccumulator::Values(counts), _) => {
                                Ok(counts.keys().next_back().map(Vec::as_slice))
                            }
                            _ => Err(mismatched()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    decode_values(&chosen, values, aggregate)?
                }
                Kind::Ordered { last, values } => {
                    let chosen = states
                        .iter()
                        .map(|s| match &s.accumulators[j] {
                            GroupAccumulator::Ordered(arrivals) => Ok(match last {
                                true => arrivals.by_arrival.values().next_back(),
                                false => arrivals.by_arrival.values().next(),
                            }
                            .map(Vec::as_slice)),
                            _ => Err(mismatched()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    decode_values(&chosen, values, aggregate)?
                }
                Kind::Accumulator { .. } => {
                    let values = states
                        .iter_mut()
                        .map(|s| match &mut s.accumulators[j] {
                            GroupAccumulator::Row(a) => Ok(a.evaluate()?),
                            _ => Err(mismatched()),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    match values.is_empty() {
                        true => new_empty_array(aggregate.field().data_type()),
                        false => ScalarValue::iter_to_array(values)?,
                    }
                }
            };
            columns.push(column);
        }
        Ok(columns)
    }
}

/// Aggregate `j`'s row accumulators' states as columns, one row per group.
pub(super) fn state_columns(states: &mut [GroupState], j: usize) -> Result<Vec<ArrayRef>> {
    let n = states.len();
    let mut columns: Vec<Vec<ScalarValue>> = Vec::new();
    for state in states.iter_mut() {
        let GroupAccumulator::Row(a) = &mut state.accumulators[j] else {
            return Err(RuntimeError::Internal("mismatched accumulator".into()));
        };
        for (k, value) in a.state()?.into_iter().enumerate() {
            if columns.len() <= k {
                columns.push(Vec::with_capacity(n));
            }
            columns[k].push(value);
        }
    }
    columns
        .into_iter()
        .map(|c| Ok(ScalarValue::iter_to_array(c)?))
        .collect()
}

/// Kept values (row format), one per group, as the aggregate's results; none is NULL.
/// MIN / MAX answer in their own type (the argument's, coerced).
pub(super) fn decode_values(
    chosen: &[Option<&[u8]>],
    values: &RowConverter,
    aggregate: &AggregateFunctionExpr,
) -> Result<ArrayRef> {
    let wanted = aggregate.field().data_type().clone();
    let present: Vec<&[u8]> = chosen.iter().flatten().copied().collect();
    if present.is_empty() {
        return Ok(new_null_array(&wanted, chosen.len()));
    }
    let parser = values.parser();
    let column = values
        .convert_rows(present.iter().map(|b| parser.parse(b)))?
        .pop()
        .ok_or_else(|| RuntimeError::Internal("a kept value without its column".into()))?;
    let mut next = 0u32;
    let placed: UInt32Array = chosen
        .iter()
        .map(|c| {
            c.map(|_| {
                next += 1;
                next - 1
            })
        })
        .collect();
    let column = take(column.as_ref(), &placed, None)?;
    // As a value's own cast would: an overflow is an error, not a NULL.
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    Ok(match column.data_type() == &wanted {
        true => column,
        false => cast_with_options(&column, &wanted, &strict)?,
    })
}
