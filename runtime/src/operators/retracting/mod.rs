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

use datafusion::arrow::datatypes::{DataType, FieldRef, SchemaRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::PhysicalExpr;

use crate::error::{Result, RuntimeError};
use crate::operators::state_cache::StateCodec;

mod codec;
mod feed;
mod partial;
mod results;
mod two_phase;

use feed::keep_extreme;
use results::state_columns;

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
