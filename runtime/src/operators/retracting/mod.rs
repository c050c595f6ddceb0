//! Aggregates kept per group: over an updating input (Flink's retract accumulators), and
//! over an insert-only one whose groups are cached decoded between batches
//! ([`RetractingAggregation::try_new_append_only`]). Over an updating input, rows with kind
//! `+I` or `+U` are added to their group, rows with `-U` or `-D` taken out again, and each
//! group counts the rows it holds, so that it can be deleted when the count drops to zero.
//!
//! DataFusion's grouped accumulators cannot take rows out, so this path runs its row
//! accumulators, one per group and aggregate touched by a batch, fed with all of that
//! group's rows at once (one `take` per batch and aggregate; each group reads its slice);
//! `COUNT` is a number of its own. Only aggregates whose retraction does not depend on order are
//! used that way (`COUNT`, `SUM`, `AVG`, variances): DataFusion's sliding `MIN` / `MAX` and
//! distinct accumulators retract in window order only. `MIN`, `MAX` and `COUNT(DISTINCT)`
//! keep instead what Flink's `MaxWithRetractAggFunction` keeps: each value (in Arrow's row
//! format, which sorts as the values do) with how many rows hold it. `FIRST_VALUE` and
//! `LAST_VALUE` keep what Flink's `FirstValueWithRetractAggFunction` keeps: every non-null
//! value in arrival order; a retraction takes out the earliest occurrence of its value.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, new_null_array, Array, ArrayRef, BinaryArray, BooleanArray, Int64Array,
    Int8Array, UInt32Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::{cast, cast_with_options, take, CastOptions};
use datafusion::arrow::datatypes::{DataType, FieldRef, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::PhysicalExpr;

use super::aggregation::evaluate;
use crate::changelog::ops;
use crate::error::{Result, RuntimeError};
use crate::operators::state_cache::StateCodec;
use crate::stream_element::RowKind;

mod codec;
mod partial;

use codec::{put_prefixed, split_prefixed};

/// Whether the aggregate `function` (DataFusion's name) can run over an updating input;
/// the planner refuses the others with a message naming them.
pub fn supports_retraction(function: &str, distinct: bool) -> bool {
    match distinct {
        true => function == "count",
        false => matches!(
            function,
            "count"
                | "sum"
                | "avg"
                | "min"
                | "max"
                | "stddev"
                | "stddev_pop"
                | "var"
                | "var_pop"
                | "first_value"
                | "last_value"
        ),
    }
}

/// Whether a local phase can pre-aggregate the aggregate over an updating input (Flink's
/// two-phase aggregation with `COUNT_RETRACT`, `SUM_RETRACT`, `MIN_RETRACT`, ...): the
/// state of `COUNT`, `SUM` and `AVG` is sums and counts, which the global phase adds and
/// subtracts; the variances' is a count, a mean and a sum of squared deviations, which it
/// merges and takes apart (Flink splits them too, as sums of values and of squares); and
/// `MIN`, `MAX` and `COUNT(DISTINCT)` keep value counts. `FIRST_VALUE` / `LAST_VALUE`
/// depend on arrival order: those keep one phase.
pub fn supports_local_retraction(function: &str, distinct: bool) -> bool {
    match distinct {
        true => function == "count",
        false => {
            matches!(function, "count" | "sum" | "avg" | "min" | "max") || is_variance(function)
        }
    }
}

/// DataFusion's variances and standard deviations, whose state is Welford's.
fn is_variance(function: &str) -> bool {
    matches!(function, "stddev" | "stddev_pop" | "var" | "var_pop")
}

/// How one aggregate keeps its state.
enum Kind {
    /// DataFusion's row accumulator, its state (whatever `state()` holds) in row format.
    Accumulator { state: RowConverter },
    /// `COUNT`: a number, kept as DataFusion's count state (the same bytes in row format).
    Count { state: RowConverter },
    /// Insert-only `COUNT(DISTINCT)`: bit `bit` of the values of shared set `set`.
    SharedDistinct { set: usize, bit: u32 },
    /// The argument's values with their row counts.
    Values {
        function: ValueFunction,
        values: RowConverter,
    },
    /// The argument's values in arrival order.
    Ordered { last: bool, values: RowConverter },
}

#[derive(Clone, Copy)]
enum ValueFunction {
    Min,
    Max,
    CountDistinct,
}

/// One aggregate's accumulator for one group.
pub(crate) enum GroupAccumulator {
    Row(Box<dyn Accumulator>),
    Count(i64),
    /// The values of its shared set with its bit.
    SharedCount(i64),
    /// Value (row format) → how many rows hold it, in order: MIN and MAX.
    Values(BTreeMap<Vec<u8>, i64>),
    /// The same for `COUNT(DISTINCT)`, which needs no order but a lookup per row.
    Distinct(DistinctCounts),
    Ordered(Arrivals),
}

/// Value (row format) → how many rows hold it.
pub(crate) type DistinctCounts = HashMap<Vec<u8>, i64, foldhash::fast::RandomState>;

/// Non-null values in arrival order, for FIRST_VALUE / LAST_VALUE over retractions.
#[derive(Default)]
pub(crate) struct Arrivals {
    next: u64,
    /// Arrival number → value (row format).
    by_arrival: BTreeMap<u64, Vec<u8>>,
    /// Value → its arrival numbers, earliest first.
    by_value: BTreeMap<Vec<u8>, VecDeque<u64>>,
}

impl Arrivals {
    fn add(&mut self, value: &[u8]) {
        let at = self.next;
        self.next += 1;
        self.by_arrival.insert(at, value.to_vec());
        self.by_value
            .entry(value.to_vec())
            .or_default()
            .push_back(at);
    }

    /// Takes out the earliest occurrence of `value`, as Flink's retract does.
    fn retract(&mut self, value: &[u8]) {
        let Some(arrivals) = self.by_value.get_mut(value) else {
            return;
        };
        if let Some(at) = arrivals.pop_front() {
            self.by_arrival.remove(&at);
        }
        if arrivals.is_empty() {
            self.by_value.remove(value);
        }
    }
}

/// One group: how many rows it holds, and its accumulators.
pub(crate) struct GroupState {
    pub rows: i64,
    pub accumulators: Vec<GroupAccumulator>,
    /// Insert-only, one per shared set of values ([`SharedSet`]): value → the bits of the
    /// `COUNT(DISTINCT)`s that counted it.
    pub sets: Vec<DistinctBits>,
}

/// Value (row format) → one bit per `COUNT(DISTINCT)` of a [`SharedSet`].
pub(crate) type DistinctBits = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

/// Insert-only `COUNT(DISTINCT)`s of one argument (with different FILTERs, as Nexmark q15's
/// rank1/rank2/rank3 counts) share one set of values, each value with a bit per aggregate
/// that counted it, as Flink's distinct `MapView` keeps one map per argument: a row costs
/// one lookup per argument, not one per aggregate.
struct SharedSet {
    /// The aggregates, by their bit.
    members: Vec<usize>,
    /// The argument's values in row format.
    values: RowConverter,
    value_type: DataType,
}

/// The aggregates of one aggregation, over an updating input, or over an insert-only one
/// whose group states a cache keeps decoded ([`Self::append_only`]).
pub(crate) struct RetractingAggregation {
    aggregates: Vec<Arc<AggregateFunctionExpr>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    kinds: Vec<Kind>,
    /// Rows are only added: MIN, MAX, FIRST_VALUE and LAST_VALUE keep one value, not every
    /// value a later retraction could need.
    append_only: bool,
    /// Insert-only: each aggregate's DataFusion state, in row format, and its fields.
    partial: Vec<RowConverter>,
    state_fields: Vec<Vec<FieldRef>>,
    shared: Vec<SharedSet>,
}

impl RetractingAggregation {
    /// The aggregates and their FILTERs, over rows of `input_schema`.
    pub fn try_new(
        aggregates: &[Arc<AggregateFunctionExpr>],
        filters: &[Option<Arc<dyn PhysicalExpr>>],
        input_schema: &SchemaRef,
    ) -> Result<Self> {
        let kinds = aggregates
            .iter()
            .map(|a| {
                let function = a.fun().name();
                if !supports_retraction(function, a.is_distinct()) {
                    return Err(RuntimeError::Internal(format!(
                        "{} cannot take retractions",
                        a.name()
                    )));
                }
                if matches!(function, "first_value" | "last_value") {
                    // Ordered by another column, the answer is not the arrival order's.
                    if !a.order_bys().is_empty() {
                        return Err(RuntimeError::Internal(format!(
                            "{} with ORDER BY cannot take retractions",
                            a.name()
                        )));
                    }
                    return Ok(Kind::Ordered {
                        last: function == "last_value",
                        values: RowConverter::new(
                            a.expressions()
                                .iter()
                                .map(|e| Ok(SortField::new(e.data_type(input_schema)?)))
                                .collect::<Result<Vec<_>>>()?,
                        )?,
                    });
                }
                // The state of DataFusion's accumulator, kept in Arrow's row format.
                let state = || -> Result<(RowConverter, Vec<DataType>)> {
                    let types: Vec<DataType> = a
                        .create_sliding_accumulator()?
                        .state()?
                        .iter()
                        .map(|s| s.data_type())
                        .collect();
                    let converter =
                        RowConverter::new(types.iter().cloned().map(SortField::new).collect())?;
                    Ok((converter, types))
                };
                if (function, a.is_distinct()) == ("count", false) {
                    let (converter, types) = state()?;
                    return Ok(match types == [DataType::Int64] {
                        true => Kind::Count { state: converter },
                        false => Kind::Accumulator { state: converter },
                    });
                }
                let value_function = match (function, a.is_distinct()) {
                    ("count", true) => Some(ValueFunction::CountDistinct),
                    ("min", _) => Some(ValueFunction::Min),
                    ("max", _) => Some(ValueFunction::Max),
                    _ => None,
                };
                Ok(match value_function {
                    Some(function) => Kind::Values {
                        function,
                        values: RowConverter::new(
                            a.expressions()
                                .iter()
                                .map(|e| Ok(SortField::new(e.data_type(input_schema)?)))
                                .collect::<Result<Vec<_>>>()?,
                        )?,
                    },
                    None => Kind::Accumulator { state: state()?.0 },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            aggregates: aggregates.to_vec(),
            filters: filters.to_vec(),
            kinds,
            append_only: false,
            partial: Vec::new(),
            state_fields: Vec::new(),
            shared: Vec::new(),
        })
    }

    /// The aggregates over an insert-only input, whose group states are kept and stored as
    /// DataFusion's partial states (`partial.rs`); `None` when one of them cannot be kept
    /// so (only `COUNT`, `COUNT(DISTINCT)`, `SUM`, `AVG`, `MIN`, `MAX` and the variances
    /// can, with their usual states), and when none is a `COUNT(DISTINCT)`: DataFusion's
    /// grouped accumulators are vectorized over groups, and per-group accumulators gain
    /// only where a group's state is a set of values, which that path decodes and encodes
    /// whole per batch. `MIN` / `MAX` keep their one value, `COUNT(DISTINCT)` its values,
    /// the others DataFusion's row accumulator.
    pub fn try_new_append_only(
        aggregates: &[Arc<AggregateFunctionExpr>],
        filters: &[Option<Arc<dyn PhysicalExpr>>],
    ) -> Result<Option<Self>> {
        let counts_distinct = aggregates
            .iter()
            .any(|a| a.is_distinct() && a.fun().name() == "count");
        if !counts_distinct {
            return Ok(None);
        }
        let mut kinds = Vec::with_capacity(aggregates.len());
        let mut partial = Vec::with_capacity(aggregates.len());
        let mut state_fields = Vec::with_capacity(aggregates.len());
        let mut shared: Vec<SharedSet> = Vec::new();
        // Each shared set's argument, as text: equal text, equal argument.
        let mut arguments: Vec<String> = Vec::new();
        for (j, a) in aggregates.iter().enumerate() {
            let fields = a.state_fields()?;
            let types: Vec<DataType> = fields.iter().map(|f| f.data_type().clone()).collect();
            let converter = |types: &[DataType]| {
                RowConverter::new(types.iter().cloned().map(SortField::new).collect())
            };
            let values = |function| -> Result<Kind> {
                Ok(Kind::Values {
                    function,
                    values: converter(&types)?,
                })
            };
            let kind = match (a.fun().name(), a.is_distinct(), types.as_slice()) {
                ("count", false, [DataType::Int64]) => Kind::Count {
                    state: converter(&types)?,
                },
                ("count", true, [DataType::List(item)]) => {
                    let argument = format!("{:?}", a.expressions());
                    let joins = arguments.iter().zip(&shared).position(|(arg, set)| {
                        *arg == argument
                            && set.members.len() < 64
                            && set.value_type == *item.data_type()
                    });
                    let set = match joins {
                        Some(set) => set,
                        None => {
                            shared.push(SharedSet {
                                members: Vec::new(),
                                values: converter(&[item.data_type().clone()])?,
                                value_type: item.data_type().clone(),
                            });
                            arguments.push(argument);
                            shared.len() - 1
                        }
                    };
                    let bit = shared[set].members.len() as u32;
                    shared[set].members.push(j);
                    Kind::SharedDistinct { set, bit }
                }
                ("min", false, [_]) => values(ValueFunction::Min)?,
                ("max", false, [_]) => values(ValueFunction::Max)?,
                (function, false, _) if function == "sum" || function == "avg" => {
                    Kind::Accumulator {
                        state: converter(&types)?,
                    }
                }
                (function, false, _) if is_variance(function) => Kind::Accumulator {
                    state: converter(&types)?,
                },
                _ => return Ok(None),
            };
            kinds.push(kind);
            partial.push(converter(&types)?);
            state_fields.push(fields);
        }
        Ok(Some(Self {
            aggregates: aggregates.to_vec(),
            filters: filters.to_vec(),
            kinds,
            append_only: true,
            partial,
            state_fields,
            shared,
        }))
    }

    /// A fresh accumulator for aggregate `j`: a sliding one where rows are taken out.
    fn new_accumulator(&self, j: usize) -> Result<Box<dyn Accumulator>> {
        let aggregate = self
            .aggregates
            .get(j)
            .ok_or_else(|| RuntimeError::Internal("no such aggregate".into()))?;
        Ok(match self.append_only {
            true => aggregate.create_accumulator()?,
            false => aggregate.create_sliding_accumulator()?,
        })
    }

    /// Insert-only, the type aggregate `j` keeps values of (MIN, MAX, COUNT(DISTINCT)).
    fn value_type(&self, j: usize) -> Option<DataType> {
        let field = self.state_fields.get(j)?.first()?;
        match (self.kinds.get(j)?, field.data_type()) {
            (
                Kind::Values {
                    function: ValueFunction::CountDistinct,
                    ..
                },
                DataType::List(item),
            ) => Some(item.data_type().clone()),
            (Kind::Values { .. }, t) => Some(t.clone()),
            _ => None,
        }
    }

    /// `n` groups holding nothing.
    fn fresh_groups(&self, n: usize) -> Result<Vec<GroupState>> {
        (0..n)
            .map(|_| {
                let accumulators = self
                    .kinds
                    .iter()
                    .enumerate()
                    .map(|(j, kind)| {
                        Ok(match kind {
                            Kind::Accumulator { .. } => {
                                GroupAccumulator::Row(self.new_accumulator(j)?)
                            }
                            Kind::Count { .. } => GroupAccumulator::Count(0),
                            Kind::SharedDistinct { .. } => GroupAccumulator::SharedCount(0),
                            Kind::Values {
                                function: ValueFunction::CountDistinct,
                                ..
                            } => GroupAccumulator::Distinct(DistinctCounts::default()),
                            Kind::Values { .. } => GroupAccumulator::Values(BTreeMap::new()),
                            Kind::Ordered { .. } => GroupAccumulator::Ordered(Arrivals::default()),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let sets = self
                    .shared
                    .iter()
                    .map(|_| DistinctBits::default())
                    .collect();
                Ok(GroupState {
                    rows: 0,
                    accumulators,
                    sets,
                })
            })
            .collect()
    }

    /// Adds and takes out the rows of `batch` (an updating stream's) in their groups.
    pub fn apply(
        &self,
        states: &mut [GroupState],
        batch: &RecordBatch,
        group_indices: &[usize],
    ) -> Result<()> {
        let kinds = match (ops(batch), self.append_only) {
            (Some(kinds), _) => Some(kinds),
            (None, true) => None,
            (None, false) => {
                return Err(RuntimeError::Internal(
                    "an updating input without row kinds".into(),
                ))
            }
        };
        // Per group, its rows that add and its rows that take out, in arrival order.
        let mut added: Vec<Vec<u32>> = vec![Vec::new(); states.len()];
        let mut retracted: Vec<Vec<u32>> = vec![Vec::new(); states.len()];
        for (row, &g) in group_indices.iter().enumerate() {
            let retraction = match kinds {
                Some(kinds) => is_retraction(kinds, row)?,
                None => false,
            };
            match retraction {
                false => {
                    added[g].push(row as u32);
                    states[g].rows += 1;
                }
                // Row by row, as Flink: a retraction for a group holding no rows (its state
                // expired, or a delete of something never inserted) is ignored.
                true if states[g].rows <= 0 => {}
                true => {
                    retracted[g].push(row as u32);
                    states[g].rows -= 1;
                }
            }
        }
        self.feed(states, batch, &added, &retracted)
    }

    /// The local phase of a two-phase aggregation: the change the rows of `batch` (an
    /// updating stream's) make to each of `total` groups, one value per group: what they
    /// add and what they take out, each kept as a group state of its own (the retracted
    /// rows added to it), encoded as [`Self::encode`] does, length-prefixed one after the
    /// other. The global phase merges the first and subtracts the second
    /// ([`Self::merge_changes`]).
    pub fn local_changes(
        &self,
        batch: &RecordBatch,
        group_indices: &[usize],
        total: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let kinds = ops(batch)
            .ok_or_else(|| RuntimeError::Internal("an updating input without row kinds".into()))?;
        let mut added: Vec<Vec<u32>> = vec![Vec::new(); total];
        let mut retracted: Vec<Vec<u32>> = vec![Vec::new(); total];
        for (row, &g) in group_indices.iter().enumerate() {
            match is_retraction(kinds, row)? {
                false => added[g].push(row as u32),
                true => retracted[g].push(row as u32),
            }
        }
        let none = vec![Vec::new(); total];
        let fresh = vec![None; total];
        let mut halves = Vec::with_capacity(2);
        for rows in [&added, &retracted] {
            let mut states = self.restore(&fresh)?;
            for (state, rows) in states.iter_mut().zip(rows) {
                state.rows = rows.len() as i64;
            }
            self.feed(&mut states, batch, rows, &none)?;
            halves.push(self.encode(&mut states)?);
        }
        let (Some(taken), Some(added)) = (halves.pop(), halves.pop()) else {
            return Err(RuntimeError::Internal(
                "a local change without halves".into(),
            ));
        };
        Ok(added
            .into_iter()
            .zip(taken)
            .map(|(added, taken)| {
                let mut value = Vec::with_capacity(added.len() + taken.len() + 8);
                put_prefixed(&mut value, &added);
                put_prefixed(&mut value, &taken);
                value
            })
            .collect())
    }

    /// The global phase: merges local phases' changes (`changes`, one per row, the row's
    /// group in `group_indices`) into the groups' states. A group's rows and value counts
    /// take the difference; a sum and count take what was added, less what was taken out.
    pub fn merge_changes(
        &self,
        states: &mut [GroupState],
        changes: &BinaryArray,
        group_indices: &[usize],
    ) -> Result<()> {
        let damaged = || RuntimeError::Internal("a local aggregate's change is truncated".into());
        for (row, &g) in group_indices.iter().enumerate() {
            let (added, rest) = split_prefixed(changes.value(row)).ok_or_else(damaged)?;
            let (taken, _) = split_prefixed(rest).ok_or_else(damaged)?;
            let mut halves = self.restore(&[Some(added.to_vec()), Some(taken.to_vec())])?;
            let (Some(taken), Some(added)) = (halves.pop(), halves.pop()) else {
                return Err(damaged());
            };
            let state = &mut states[g];
            state.rows += added.rows - taken.rows;
            for (j, (plus, minus)) in added
                .accumulators
                .into_iter()
                .zip(taken.accumulators)
                .enumerate()
            {
                match (&mut state.accumulators[j], plus, minus) {
                    (
                        GroupAccumulator::Count(count),
                        GroupAccumulator::Count(plus),
                        GroupAccumulator::Count(minus),
                    ) => *count += plus - minus,
                    (
                        GroupAccumulator::Distinct(counts),
                        GroupAccumulator::Distinct(plus),
                        GroupAccumulator::Distinct(minus),
                    ) => {
                        let changes = plus
                            .into_iter()
                            .chain(minus.into_iter().map(|(v, c)| (v, -c)));
                        for (value, delta) in changes {
                            add_count(counts, value, delta);
                        }
                    }
                    (
                        GroupAccumulator::Values(counts),
                        GroupAccumulator::Values(plus),
                        GroupAccumulator::Values(minus),
                    ) => {
                        let changes = plus
                            .into_iter()
                            .chain(minus.into_iter().map(|(v, c)| (v, -c)));
                        for (value, delta) in changes {
                            add_count(counts, value, delta);
                        }
                    }
                    (
                        GroupAccumulator::Row(target),
                        GroupAccumulator::Row(mut plus),
                        GroupAccumulator::Row(mut minus),
                    ) => {
                        target.merge_batch(&state_arrays(plus.as_mut())?)?;
                        if taken.rows > 0 {
                            let aggregate = &self.aggregates[j];
                            subtract(target, minus.as_mut(), aggregate)?;
                        }
                    }
                    _ => {
                        return Err(RuntimeError::Internal(format!(
                            "{} has no local phase over updates",
                            self.aggregates[j].name()
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds the rows `added` gives each group and takes out the rows `retracted` gives it,
    /// aggregate by aggregate.
    fn feed(
        &self,
        states: &mut [GroupState],
        batch: &RecordBatch,
        added: &[Vec<u32>],
        retracted: &[Vec<u32>],
    ) -> Result<()> {
        for (j, (kind, aggregate)) in self.kinds.iter().zip(&self.aggregates).enumerate() {
            if let Kind::SharedDistinct { .. } = kind {
                continue;
            }
            let mut arguments = evaluate(&aggregate.expressions(), batch)?;
            if let Some(wanted) = self.value_type(j) {
                // Values are kept in their state's type, which the argument may only coerce to.
                for argument in arguments.iter_mut().filter(|a| a.data_type() != &wanted) {
                    *argument = cast(argument, &wanted)?;
                }
            }
            let filter = match &self.filters[j] {
                Some(f) => Some(f.evaluate(batch)?.into_array(batch.num_rows())?),
                None => None,
            };
            let filter = filter
                .as_ref()
                .and_then(|f| f.as_any().downcast_ref::<BooleanArray>());
            let counted = |row: &u32| {
                filter.is_none_or(|f| f.is_valid(*row as usize) && f.value(*row as usize))
            };
            // Aggregates skip rows with a NULL argument (COUNT(*) has none).
            let nulls = arguments.iter().fold(None, |all: Option<NullBuffer>, a| {
                NullBuffer::union(all.as_ref(), a.logical_nulls().as_ref())
            });
            let valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
            match kind {
                Kind::Accumulator { .. } => {
                    for (rows_of, retract) in [(added, false), (retracted, true)] {
                        // Every group's rows, group after group, taken in one pass; each
                        // group's accumulator reads its slice.
                        let mut order = Vec::new();
                        let mut ends = Vec::with_capacity(states.len());
                        for rows in rows_of {
                            order.extend(rows.iter().copied().filter(counted));
                            ends.push(order.len());
                        }
                        if order.is_empty() {
                            continue;
                        }
                        let indices = UInt32Array::from(order);
                        let values = arguments
                            .iter()
                            .map(|a| Ok(take(a.as_ref(), &indices, None)?))
                            .collect::<Result<Vec<_>>>()?;
                        let mut start = 0;
                        for (state, end) in states.iter_mut().zip(ends) {
                            let (from, len) = (start, end - start);
                            start = end;
                            let GroupAccumulator::Row(accumulator) = &mut state.accumulators[j]
                            else {
                                continue;
                            };
                            if len == 0 {
                                continue;
                            }
                            let slice: Vec<ArrayRef> =
                                values.iter().map(|v| v.slice(from, len)).collect();
                            match retract {
                                false => accumulator.update_batch(&slice)?,
                                true => accumulator.retract_batch(&slice)?,
                            }
                        }
                    }
                }
                Kind::Count { .. } => {
                    for (g, state) in states.iter_mut().enumerate() {
                        let GroupAccumulator::Count(count) = &mut state.accumulators[j] else {
                            continue;
                        };
                        for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                            let n = rows
                                .iter()
                                .filter(|r| counted(r) && valid(**r as usize))
                                .count();
                            *count += delta * n as i64;
                        }
                    }
                }
                Kind::SharedDistinct { .. } => {}
                Kind::Ordered { values, .. } => {
                    let encoded = values.convert_columns(&arguments)?;
                    // Flink's FIRST_VALUE / LAST_VALUE skip nulls.
                    let kept = |row: &&u32| counted(row) && valid(**row as usize);
                    for (g, state) in states.iter_mut().enumerate() {
                        let GroupAccumulator::Ordered(arrivals) = &mut state.accumulators[j] else {
                            continue;
                        };
                        // One group's adds come before its retractions within a batch: the
                        // rows were split so, and a retraction names an earlier add.
                        for &row in added[g].iter().filter(kept) {
                            arrivals.add(encoded.row(row as usize).data());
                        }
                        for &row in retracted[g].iter().filter(kept) {
                            arrivals.retract(encoded.row(row as usize).data());
                        }
                    }
                }
                Kind::Values { values, function } => {
                    let encoded = values.convert_columns(&arguments)?;
                    // MIN, MAX and COUNT(DISTINCT) skip nulls.
                    let kept = |row: &&u32| counted(row) && valid(**row as usize);
                    for (g, state) in states.iter_mut().enumerate() {
                        match &mut state.accumulators[j] {
                            GroupAccumulator::Distinct(counts) => {
                                for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                                    for &row in rows.iter().filter(kept) {
                                        add_count(counts, encoded.row(row as usize).data(), delta);
                                    }
                                }
                            }
                            // Nothing is taken out: only the least (greatest) value matters.
                            GroupAccumulator::Values(counts) if self.append_only => {
                                // The batch's best row first: one copy per group, not per
                                // row of a rising maximum.
                                let best = added[g]
                                    .iter()
                                    .filter(kept)
                                    .map(|&row| encoded.row(row as usize))
                                    .reduce(|a, b| match (function, b < a) {
                                        (ValueFunction::Min, true)
                                        | (ValueFunction::Max, false) => b,
                                        _ => a,
                                    });
                                if let Some(best) = best {
                                    keep_extreme(counts, *function, best.data());
                                }
                            }
                            GroupAccumulator::Values(counts) => {
                                for (rows, delta) in [(&added[g], 1), (&retracted[g], -1)] {
                                    for &row in rows.iter().filter(kept) {
                                        add_count(counts, encoded.row(row as usize).data(), delta);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        for (s, set) in self.shared.iter().enumerate() {
            self.feed_shared(s, set, states, batch, added)?;
        }
        Ok(())
    }

    /// Adds the rows `added` gives each group to the values of shared set `s`: per row, the
    /// bits of the aggregates whose FILTER takes it; a bit newly set counts the value.
    fn feed_shared(
        &self,
        s: usize,
        set: &SharedSet,
        states: &mut [GroupState],
        batch: &RecordBatch,
        added: &[Vec<u32>],
    ) -> Result<()> {
        let first = *set
            .members
            .first()
            .ok_or_else(|| RuntimeError::Internal("a shared set without members".into()))?;
        let mut arguments = evaluate(&self.aggregates[first].expressions(), batch)?;
        for argument in arguments
            .iter_mut()
            .filter(|a| a.data_type() != &set.value_type)
        {
            *argument = cast(argument, &set.value_type)?;
        }
        let nulls = arguments.iter().fold(None, |all: Option<NullBuffer>, a| {
            NullBuffer::union(all.as_ref(), a.logical_nulls().as_ref())
        });
        let encoded = set.values.convert_columns(&arguments)?;
        let filters = set
            .members
            .iter()
            .map(|&j| match &self.filters[j] {
                Some(f) => Ok(Some(f.evaluate(batch)?.into_array(batch.num_rows())?)),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let filters: Vec<Option<&BooleanArray>> = filters
            .iter()
            .map(|f| {
                f.as_ref()
                    .and_then(|f| f.as_any().downcast_ref::<BooleanArray>())
            })
            .collect();
        for (g, state) in states.iter_mut().enumerate() {
            let (values, accumulators) = (&mut state.sets[s], &mut state.accumulators);
            for &row in &added[g] {
                let row = row as usize;
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                let mut bits = 0u64;
                for (bit, filter) in filters.iter().enumerate() {
                    if filter.is_none_or(|f| f.is_valid(row) && f.value(row)) {
                        bits |= 1 << bit;
                    }
                }
                if bits == 0 {
                    continue;
                }
                let value = encoded.row(row).data();
                let mut new = match values.get_mut(value) {
                    Some(seen) => {
                        let new = bits & !*seen;
                        *seen |= bits;
                        new
                    }
                    None => {
                        values.insert(value.to_vec(), bits);
                        bits
                    }
                };
                while new != 0 {
                    let bit = new.trailing_zeros() as usize;
                    new &= new - 1;
                    if let Some(GroupAccumulator::SharedCount(n)) =
                        accumulators.get_mut(set.members[bit])
                    {
                        *n += 1;
                    }
                }
            }
        }
        Ok(())
    }

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

/// Groups are cached decoded in front of keyed state.
impl StateCodec for RetractingAggregation {
    type Value = GroupState;

    fn restore(&self, stored: &[Option<Vec<u8>>]) -> Result<Vec<GroupState>> {
        RetractingAggregation::restore(self, stored)
    }

    fn encode(&self, values: &mut [GroupState]) -> Result<Vec<Vec<u8>>> {
        RetractingAggregation::encode(self, values)
    }

    fn is_empty(&self, value: &GroupState) -> bool {
        value.rows <= 0
    }

    fn fresh(&self) -> Result<GroupState> {
        self.fresh_groups(1)?
            .pop()
            .ok_or_else(|| RuntimeError::Internal("no fresh group state".into()))
    }
}

/// An accumulator's state as one-row columns, as `merge_batch` takes it.
fn state_arrays(accumulator: &mut dyn Accumulator) -> Result<Vec<ArrayRef>> {
    accumulator
        .state()?
        .into_iter()
        .map(|v| Ok(v.to_array()?))
        .collect()
}

/// Takes what `minus` holds out of `target`, for aggregates whose state is sums and
/// counts (`supports_local_retraction`): each state value less `minus`'s, merged into a
/// fresh accumulator. DataFusion's accumulators cannot retract from an empty state (their
/// counts are unsigned), so the local phase never retracts; the difference is taken here,
/// where the group holds the rows taken out. When it cannot be (more taken out than the
/// group held: its state expired, say) the group keeps what it has, as a retraction for
/// a group holding no rows is ignored.
fn subtract(
    target: &mut Box<dyn Accumulator>,
    minus: &mut dyn Accumulator,
    aggregate: &AggregateFunctionExpr,
) -> Result<()> {
    let held = target.state()?;
    let taken = minus.state()?;
    let difference = match is_variance(aggregate.fun().name()) {
        true => match subtract_welford(&held, &taken) {
            Some(d) => d,
            None => return Ok(()),
        },
        false => {
            let mut difference = Vec::with_capacity(held.len());
            for (h, t) in held.iter().zip(&taken) {
                difference.push(match (h.is_null(), t.is_null()) {
                    (_, true) => h.clone(),
                    (true, false) => return Ok(()),
                    // Counts are unsigned: less than nothing is not a count. Sums wrap
                    // around as the accumulators' own arithmetic does.
                    (false, false) => match h.data_type().is_unsigned_integer() {
                        true => match h.sub_checked(t) {
                            Ok(d) => d,
                            Err(_) => return Ok(()),
                        },
                        false => h.sub(t)?,
                    },
                });
            }
            difference
        }
    };
    let difference = difference
        .iter()
        .map(|d| Ok(d.to_array()?))
        .collect::<Result<Vec<_>>>()?;
    let mut fresh = aggregate.create_sliding_accumulator()?;
    fresh.merge_batch(&difference)?;
    *target = fresh;
    Ok(())
}

/// A variance's state (count, mean, sum of squared deviations from it: Welford's) less
/// the state of rows taken out, by Chan's merge of two parts run backwards: the rest's
/// count and mean follow from the sums, and its squared deviations are the whole's less
/// the part's and less what the two means' distance added. None when the part is not in
/// the whole (more rows than it holds).
fn subtract_welford(held: &[ScalarValue], taken: &[ScalarValue]) -> Option<Vec<ScalarValue>> {
    let parts = |s: &[ScalarValue]| match s {
        [ScalarValue::UInt64(Some(n)), ScalarValue::Float64(Some(mean)), ScalarValue::Float64(Some(m2))] => {
            Some((*n, *mean, *m2))
        }
        _ => None,
    };
    let (n, mean, m2) = parts(held)?;
    let (n_b, mean_b, m2_b) = parts(taken)?;
    let n_a = n.checked_sub(n_b)?;
    let (mean_a, m2_a) = match (n_b, n_a) {
        (0, _) => (mean, m2),
        (_, 0) => (0.0, 0.0),
        // One value deviates from nothing: no rounding residue may stand for a variance.
        (_, 1) => (n as f64 * mean - n_b as f64 * mean_b, 0.0),
        _ => {
            let (n, n_a, n_b) = (n as f64, n_a as f64, n_b as f64);
            let mean_a = (n * mean - n_b * mean_b) / n_a;
            let delta = mean_b - mean_a;
            // Rounding must not leave a negative sum of squares.
            (mean_a, (m2 - m2_b - delta * delta * n_a * n_b / n).max(0.0))
        }
    };
    Some(vec![
        ScalarValue::UInt64(Some(n_a)),
        ScalarValue::Float64(Some(mean_a)),
        ScalarValue::Float64(Some(m2_a)),
    ])
}

/// Keeps `value` alone when it is less (`MIN`) or greater (`MAX`) than the value kept.
fn keep_extreme(counts: &mut BTreeMap<Vec<u8>, i64>, function: ValueFunction, value: &[u8]) {
    let better = match function {
        ValueFunction::Min => counts
            .first_key_value()
            .is_none_or(|(k, _)| value < k.as_slice()),
        _ => counts
            .last_key_value()
            .is_none_or(|(k, _)| value > k.as_slice()),
    };
    if better {
        counts.clear();
        counts.insert(value.to_vec(), 1);
    }
}

/// Aggregate `j`'s row accumulators' states as columns, one row per group.
fn state_columns(states: &mut [GroupState], j: usize) -> Result<Vec<ArrayRef>> {
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

/// Adds `delta` rows holding `value`; a value no row holds any more is forgotten.
fn add_count<M: ValueCounts>(counts: &mut M, value: impl AsRef<[u8]>, delta: i64) {
    let value = value.as_ref();
    let now = match counts.count_mut(value) {
        Some(count) => {
            *count += delta;
            *count
        }
        None if delta != 0 => {
            counts.insert_count(value.to_vec(), delta);
            delta
        }
        None => return,
    };
    if now == 0 {
        counts.forget(value);
    }
}

/// The maps value counts are kept in: ordered for MIN / MAX, hashed for COUNT(DISTINCT).
trait ValueCounts {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64>;
    fn insert_count(&mut self, value: Vec<u8>, count: i64);
    fn forget(&mut self, value: &[u8]);
}

impl ValueCounts for BTreeMap<Vec<u8>, i64> {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64> {
        self.get_mut(value)
    }
    fn insert_count(&mut self, value: Vec<u8>, count: i64) {
        self.insert(value, count);
    }
    fn forget(&mut self, value: &[u8]) {
        self.remove(value);
    }
}

impl ValueCounts for DistinctCounts {
    fn count_mut(&mut self, value: &[u8]) -> Option<&mut i64> {
        self.get_mut(value)
    }
    fn insert_count(&mut self, value: Vec<u8>, count: i64) {
        self.insert(value, count);
    }
    fn forget(&mut self, value: &[u8]) {
        self.remove(value);
    }
}

/// Whether row `row` takes a row out (`-U`, `-D`) rather than adding one.
fn is_retraction(kinds: &Int8Array, row: usize) -> Result<bool> {
    match RowKind::from_i8(kinds.value(row)) {
        Some(RowKind::Insert | RowKind::UpdateAfter) => Ok(false),
        Some(RowKind::UpdateBefore | RowKind::Delete) => Ok(true),
        None => Err(RuntimeError::Internal(format!(
            "a row kind of {}",
            kinds.value(row)
        ))),
    }
}

/// Kept values (row format), one per group, as the aggregate's results; none is NULL.
/// MIN / MAX answer in their own type (the argument's, coerced).
fn decode_values(
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
