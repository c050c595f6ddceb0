//! Regular joins of two streams (no window): Flink's `StreamingJoinOperator`. Both inputs
//! are hashed on the join keys into one operator that keeps every row of each side in keyed
//! state and joins each arriving row with the other side's rows of its key. Inner, outer,
//! semi and anti joins, over insert-only or updating inputs. As in Flink, an inner or semi
//! join of insert-only inputs is insert-only; any other is updating (outer joins retract
//! their null-padded rows, anti joins the rows that gain a match).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, NullEquality, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{BinaryExpr, Expr, Join, JoinType, LogicalPlan, Operator};
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{
    IntervalJoinSpec, OperatorSpec, Partitioner, SerializedExpr, SerializedSchema, StreamJoinSpec,
    WindowJoinType,
};
use eddy_runtime::time::TimeAttribute;

use crate::error::{PlanError, Result};
use crate::exec::ExecNodeId;
use crate::translate::{nullable, translate, GraphParts, Head, OpenChain};

/// A join's two inputs, planned.
pub(crate) struct JoinInputs {
    pub left: ExecNodeId,
    pub right: ExecNodeId,
    /// The extra condition, over the left then the right columns.
    pub filter: Option<SerializedExpr>,
    /// `on=[..]` and `, where=..`, as Flink describes a join.
    pub description: String,
    /// The first input whose changes are updates, by the node that produces them.
    pub updating: Option<String>,
    /// Each input's upsert key, when known (left, right).
    pub keys: (Option<Vec<usize>>, Option<Vec<usize>>),
}

/// Translates both inputs of `join` into vertices (each must be insert-only for
/// `consumer`, when given) and its extra condition.
pub(crate) fn join_inputs(
    join: &Join,
    consumer: Option<&str>,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<JoinInputs> {
    let mut updating = None;
    let mut side = |plan: &LogicalPlan| -> Result<(ExecNodeId, Option<Vec<usize>>)> {
        let chain = translate(plan, state, parts)?;
        if let Some(consumer) = consumer {
            chain.insert_only(consumer)?;
        }
        if chain.updating && updating.is_none() {
            updating = Some(chain.producer().to_string());
        }
        let key = chain.upsert_key.clone();
        Ok((parts.close(chain)?, key))
    };
    let (left, left_key) = side(&join.left)?;
    let (right, right_key) = side(&join.right)?;
    // The condition sees both sides' columns, also when the output has one side only.
    let joined = join.left.schema().as_ref().join(join.right.schema())?;
    let filter = match &join.filter {
        Some(f) => Some(encode_expr(
            &state.create_physical_expr(f.clone(), &joined)?,
        )?),
        None => None,
    };
    let description = format!(
        "on=[{}]{}",
        join.on
            .iter()
            .map(|(l, r)| format!("{l} = {r}"))
            .collect::<Vec<_>>()
            .join(", "),
        join.filter
            .as_ref()
            .map(|f| format!(", where={f}"))
            .unwrap_or_default()
    );
    Ok(JoinInputs {
        left,
        right,
        filter,
        description,
        updating,
        keys: (left_key, right_key),
    })
}

/// The upsert key of a regular join's output (Flink's `FlinkRelMdUpsertKeys` of a join,
/// for the cases Eddy keeps): a semi or anti join keeps its side's key; an inner join
/// whose one side has at most one row per join key (its key lies within its join keys)
/// keeps the other side's key. Outer joins keep none: null-padded rows of different rows
/// would share a key.
fn join_upsert_key(
    join_type: WindowJoinType,
    keys: &(Option<Vec<usize>>, Option<Vec<usize>>),
    left_keys: &[usize],
    right_keys: &[usize],
    left_width: usize,
) -> Option<Vec<usize>> {
    let unique_per_join_key = |key: &Option<Vec<usize>>, join_keys: &[usize]| {
        key.as_ref()
            .is_some_and(|k| k.iter().all(|c| join_keys.contains(c)))
    };
    match join_type {
        WindowJoinType::LeftSemi | WindowJoinType::LeftAnti => keys.0.clone(),
        WindowJoinType::RightSemi | WindowJoinType::RightAnti => keys.1.clone(),
        WindowJoinType::Inner if unique_per_join_key(&keys.1, right_keys) => keys.0.clone(),
        WindowJoinType::Inner if unique_per_join_key(&keys.0, left_keys) => keys
            .1
            .as_ref()
            .map(|k| k.iter().map(|c| c + left_width).collect()),
        _ => None,
    }
}

/// Plans `join` (equi-join columns `left_keys` = `right_keys`) as a regular streaming join.
pub(crate) fn translate_stream_join(
    join: &Join,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let (join_type, flink_name) = match join.join_type {
        JoinType::Inner => (WindowJoinType::Inner, "InnerJoin"),
        JoinType::Left => (WindowJoinType::LeftOuter, "LeftOuterJoin"),
        JoinType::Right => (WindowJoinType::RightOuter, "RightOuterJoin"),
        JoinType::Full => (WindowJoinType::FullOuter, "FullOuterJoin"),
        JoinType::LeftSemi => (WindowJoinType::LeftSemi, "LeftSemiJoin"),
        JoinType::LeftAnti => (WindowJoinType::LeftAnti, "LeftAntiJoin"),
        JoinType::RightSemi => (WindowJoinType::RightSemi, "RightSemiJoin"),
        JoinType::RightAnti => (WindowJoinType::RightAnti, "RightAntiJoin"),
        other => {
            return Err(PlanError::NotSupported(format!(
                "{other} joins of streams are not supported"
            )))
        }
    };
    if let (Some(bounds), true) = (
        interval_bounds(join),
        matches!(
            join_type,
            WindowJoinType::Inner
                | WindowJoinType::LeftOuter
                | WindowJoinType::RightOuter
                | WindowJoinType::FullOuter
        ),
    ) {
        return translate_interval_join(
            join, join_type, flink_name, bounds, left_keys, right_keys, state, parts,
        );
    }
    if join.null_aware {
        return crate::null_aware_join::translate_null_aware_anti_join(
            join,
            &left_keys,
            &right_keys,
            state,
            parts,
        );
    }
    if left_keys.is_empty() {
        return Err(PlanError::NotSupported(
            "a join of streams needs an equality between the two sides (a cross join would keep every row forever)".into(),
        ));
    }
    let (ls, rs) = (join.left.schema(), join.right.schema());
    for (&l, &r) in left_keys.iter().zip(&right_keys) {
        let (lt, rt) = (ls.field(l).data_type(), rs.field(r).data_type());
        if lt != rt {
            return Err(PlanError::NotSupported(format!(
                "join keys {} ({lt}) and {} ({rt}) differ in type; CAST one side in a subquery",
                ls.field(l).name(),
                rs.field(r).name()
            )));
        }
    }
    let JoinInputs {
        left,
        right,
        filter,
        description,
        updating,
        keys,
    } = join_inputs(join, None, state, parts)?;
    let upsert_key = join_upsert_key(
        join_type,
        &keys,
        &left_keys,
        &right_keys,
        join.left.schema().fields().len(),
    );
    let description = format!("joinType=[{flink_name}], {description}");
    // Flink's changelog inference: inner and semi joins forward their inputs' kinds, any
    // other join may retract what it emitted.
    let output_updating = updating.is_some()
        || !matches!(
            join_type,
            WindowJoinType::Inner | WindowJoinType::LeftSemi | WindowJoinType::RightSemi
        );
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(ls.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(rs.as_arrow()))?,
        output_schema: SerializedSchema::encode(&nullable(join.schema.as_arrow()))?,
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        filter,
        description: description.clone(),
        join_type,
        updating: output_updating,
        nulls_equal: join.null_equality == NullEquality::NullEqualsNull,
        // As Flink's MiniBatchStreamingJoinOperator: inner and outer joins only.
        mini_batch: parts.mini_batch
            && matches!(
                join_type,
                WindowJoinType::Inner
                    | WindowJoinType::LeftOuter
                    | WindowJoinType::RightOuter
                    | WindowJoinType::FullOuter
            ),
    };
    let name = OperatorSpec::StreamJoin(spec.clone()).describe();
    let mut chain = OpenChain::new(
        hashed_inputs(left, left_keys, right, right_keys),
        vec![OperatorSpec::StreamJoin(spec)],
        vec![name.clone()],
    );
    chain.updating = output_updating;
    chain.upsert_key = upsert_key;
    chain.producer = Some(match (updating, join_type) {
        // An inner or semi join passes its input's updates on.
        (
            Some(producer),
            WindowJoinType::Inner | WindowJoinType::LeftSemi | WindowJoinType::RightSemi,
        ) => producer,
        _ => name,
    });
    Ok(chain)
}

/// Both inputs of a join, each hashed on its join keys.
pub(crate) fn hashed_inputs(
    left: ExecNodeId,
    left_keys: Vec<usize>,
    right: ExecNodeId,
    right_keys: Vec<usize>,
) -> Head {
    Head::Inputs(vec![
        (
            left,
            Partitioner::Hash {
                key_columns: left_keys,
            },
        ),
        (
            right,
            Partitioner::Hash {
                key_columns: right_keys,
            },
        ),
    ])
}

/// The time bounds of an interval join: the rowtime column of each side, and `lower`,
/// `upper` (milliseconds) with `r.ts + lower <= l.ts <= r.ts + upper`.
pub(crate) struct IntervalBounds {
    left_time: usize,
    right_time: usize,
    lower: i64,
    upper: i64,
}

/// `join`'s condition as an interval join's, when it bounds the left rowtime by the right
/// one from both sides (`l.ts BETWEEN r.ts - INTERVAL .. AND r.ts + INTERVAL ..`, or two
/// comparisons).
pub(crate) fn interval_bounds(join: &Join) -> Option<IntervalBounds> {
    let (ls, rs) = (join.left.schema(), join.right.schema());
    let filter = join.filter.as_ref()?;
    let mut conjuncts = Vec::new();
    split_conjuncts(filter, &mut conjuncts);
    let (mut lower, mut upper) = (None::<i64>, None::<i64>);
    let mut columns = None;
    // `a op b` with each side a time column plus an offset.
    let mut bound = |a: &Expr, op: Operator, b: &Expr| -> Option<()> {
        let (a, b) = (time_term(a, ls, rs)?, time_term(b, ls, rs)?);
        // As `l - r op c`.
        let (l, r, c, op) = match (a.0, b.0) {
            (Side::Left(l), Side::Right(r)) => (l, r, b.1 - a.1, op),
            (Side::Right(r), Side::Left(l)) => (l, r, a.1 - b.1, op.swap()?),
            _ => return None,
        };
        if *columns.get_or_insert((l, r)) != (l, r) {
            return None;
        }
        match op {
            Operator::GtEq => lower = Some(lower.map_or(c, |x| x.max(c))),
            Operator::Gt => lower = Some(lower.map_or(c + 1, |x| x.max(c + 1))),
            Operator::LtEq => upper = Some(upper.map_or(c, |x| x.min(c))),
            Operator::Lt => upper = Some(upper.map_or(c - 1, |x| x.min(c - 1))),
            _ => return None,
        }
        Some(())
    };
    for conjunct in conjuncts {
        match conjunct {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(
                    op,
                    Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
                ) =>
            {
                let _ = bound(left, *op, right);
            }
            Expr::Between(between) if !between.negated => {
                let _ = bound(&between.expr, Operator::GtEq, &between.low);
                let _ = bound(&between.expr, Operator::LtEq, &between.high);
            }
            _ => {}
        }
    }
    let ((left_time, right_time), lower, upper) = (columns?, lower?, upper?);
    let rowtime = |schema: &DFSchema, i: usize| {
        TimeAttribute::of(schema.field(i)) == Some(TimeAttribute::Rowtime)
    };
    (rowtime(ls, left_time) && rowtime(rs, right_time)).then_some(IntervalBounds {
        left_time,
        right_time,
        lower,
        upper,
    })
}

enum Side {
    Left(usize),
    Right(usize),
}

fn split_conjuncts<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            split_conjuncts(left, out);
            split_conjuncts(right, out);
        }
        other => out.push(other),
    }
}

/// `col`, `col + INTERVAL ..` or `col - INTERVAL ..`: the column's side and index, and the
/// offset in milliseconds.
fn time_term(expr: &Expr, ls: &DFSchema, rs: &DFSchema) -> Option<(Side, i64)> {
    match expr {
        Expr::Column(c) => match (ls.index_of_column(c).ok(), rs.index_of_column(c).ok()) {
            (Some(l), None) => Some((Side::Left(l), 0)),
            (None, Some(r)) => Some((Side::Right(r), 0)),
            _ => None,
        },
        // Only a cast between timestamp types keeps the value the bounds are taken from.
        Expr::Cast(cast) if matches!(cast.field.data_type(), DataType::Timestamp(..)) => {
            time_term(&cast.expr, ls, rs)
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (side, offset) = time_term(left, ls, rs)?;
            let Expr::Literal(value, _) = right.as_ref() else {
                return None;
            };
            let ms = interval_millis(value)?;
            match op {
                Operator::Plus => Some((side, offset + ms)),
                Operator::Minus => Some((side, offset - ms)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A day-time interval literal in milliseconds.
fn interval_millis(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::IntervalDayTime(Some(v)) => {
            Some(v.days as i64 * 86_400_000 + v.milliseconds as i64)
        }
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
            Some(v.days as i64 * 86_400_000 + v.nanoseconds / 1_000_000)
        }
        _ => None,
    }
}

/// Plans an interval join: both inputs insert-only and hashed on the keys; the result is
/// insert-only, outer rows padded when they expire.
#[allow(clippy::too_many_arguments)]
fn translate_interval_join(
    join: &Join,
    join_type: WindowJoinType,
    flink_name: &str,
    bounds: IntervalBounds,
    left_keys: Vec<usize>,
    right_keys: Vec<usize>,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    // Without a key equality every row goes to one subtask, as Flink runs such a join
    // with parallelism 1.
    let (ls, rs) = (join.left.schema(), join.right.schema());
    let JoinInputs {
        left,
        right,
        filter,
        description,
        ..
    } = join_inputs(join, Some("IntervalJoin"), state, parts)?;
    let description = format!(
        "joinType=[{flink_name}], windowBounds=[isRowTime=true, leftLowerBound={}, leftUpperBound={}, leftTimeIndex={}, rightTimeIndex={}], {description}",
        bounds.lower, bounds.upper, bounds.left_time, bounds.right_time
    );
    let spec = IntervalJoinSpec {
        left_schema: SerializedSchema::encode(&nullable(ls.as_arrow()))?,
        right_schema: SerializedSchema::encode(&nullable(rs.as_arrow()))?,
        output_schema: SerializedSchema::encode(&nullable(join.schema.as_arrow()))?,
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        left_time: bounds.left_time,
        right_time: bounds.right_time,
        lower: bounds.lower,
        upper: bounds.upper,
        filter,
        join_type,
        description: description.clone(),
    };
    Ok(OpenChain::new(
        hashed_inputs(left, left_keys, right, right_keys),
        vec![OperatorSpec::IntervalJoin(spec)],
        vec![format!("IntervalJoin({description})")],
    ))
}
