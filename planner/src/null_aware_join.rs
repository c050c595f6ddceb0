//! `a NOT IN (SELECT b ...)` over streams: DataFusion's null-aware anti join. A NULL
//! anywhere changes every row's answer (one NULL `b` makes every `a` unknown, a NULL `a`
//! is unknown as soon as there is any `b`), so no join key can spread the rows: as in
//! Flink, which plans NOT IN as an anti join on `a = b OR a IS NULL OR b IS NULL`, every
//! row of both sides goes to one subtask. Both sides get a constant column to hash and
//! join on; the condition decides; the constant goes again after the join.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Join, LogicalPlan, Operator};
use datafusion::physical_expr::expressions::{BinaryExpr, Column, IsNullExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;
use eddy_runtime::expr_codec::encode_expr;
use eddy_runtime::jobgraph::{OperatorSpec, SerializedSchema, StreamJoinSpec, WindowJoinType};

use crate::error::{PlanError, Result};
use crate::exec::ExecNodeId;
use crate::translate::{nullable, translate, GraphParts, OpenChain};

/// The constant column both sides are joined on.
const ALL_ROWS: &str = "__not_in";

/// Plans `join`, a null-aware left anti join (`NOT IN`) on `left_keys` = `right_keys`.
pub(crate) fn translate_null_aware_anti_join(
    join: &Join,
    left_keys: &[usize],
    right_keys: &[usize],
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    if join.filter.is_some() {
        return Err(PlanError::NotSupported(
            "NOT IN (subquery) with a correlated condition over streams is not supported; write NOT EXISTS".into(),
        ));
    }
    let left_schema: SchemaRef = Arc::new(join.left.schema().as_arrow().clone());
    let right_schema: SchemaRef = Arc::new(join.right.schema().as_arrow().clone());
    let (left, left_ext, left_key) = with_constant(&join.left, &left_schema, state, parts)?;
    let (right, right_ext, _) = with_constant(&join.right, &right_schema, state, parts)?;
    let (lw, rw) = (left_schema.fields().len(), right_schema.fields().len());
    // Over the left's columns, its constant, then the right's: a row of the right blocks
    // a left row unless some pair is known to differ.
    let column = |name: &str, i: usize| Arc::new(Column::new(name, i)) as Arc<dyn PhysicalExpr>;
    let or = |a, b| Arc::new(BinaryExpr::new(a, Operator::Or, b)) as Arc<dyn PhysicalExpr>;
    let mut condition: Option<Arc<dyn PhysicalExpr>> = None;
    for (&l, &r) in left_keys.iter().zip(right_keys) {
        let a = column(left_schema.field(l).name(), l);
        let b = column(right_schema.field(r).name(), lw + 1 + r);
        let pair = or(
            or(
                Arc::new(BinaryExpr::new(a.clone(), Operator::Eq, b.clone())),
                Arc::new(IsNullExpr::new(a)),
            ),
            Arc::new(IsNullExpr::new(b)),
        );
        condition = Some(match condition {
            None => pair,
            Some(c) => Arc::new(BinaryExpr::new(c, Operator::And, pair)),
        });
    }
    let description = format!(
        "joinType=[LeftAntiJoin], where=[{}], nullAware=[true]",
        left_keys
            .iter()
            .zip(right_keys)
            .map(|(&l, &r)| {
                let (a, b) = (left_schema.field(l).name(), right_schema.field(r).name());
                format!("({a} = {b} OR {a} IS NULL OR {b} IS NULL)")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&left_ext)?,
        right_schema: SerializedSchema::encode(&right_ext)?,
        output_schema: SerializedSchema::encode(&left_ext)?,
        left_keys: vec![lw],
        right_keys: vec![rw],
        filter: condition.as_ref().map(encode_expr).transpose()?,
        description: description.clone(),
        join_type: WindowJoinType::LeftAnti,
        // A left row is retracted once a blocking right row arrives.
        updating: true,
        nulls_equal: false,
        mini_batch: false,
    };
    let name = format!("Join({description})");
    let mut chain = OpenChain::new(
        crate::join::hashed_inputs(left, vec![lw], right, vec![rw]),
        vec![OperatorSpec::StreamJoin(spec)],
        vec![name.clone()],
    );
    chain.updating = true;
    chain.producer = Some(name);
    // An anti join passes left rows whole: the left side's key stays theirs.
    chain.upsert_key = left_key;
    let exprs = (0..lw)
        .map(|i| column(left_schema.field(i).name(), i))
        .collect();
    chain.add_projection(
        left_ext,
        exprs,
        nullable(&left_schema),
        left_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    Ok(chain)
}

/// Translates `plan` with the constant column appended, into a vertex of its own; with
/// the plan's upsert key.
fn with_constant(
    plan: &LogicalPlan,
    schema: &SchemaRef,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<(ExecNodeId, SchemaRef, Option<Vec<usize>>)> {
    let mut chain = translate(plan, state, parts)?;
    let key = chain.upsert_key.clone();
    let width = schema.fields().len();
    let mut exprs: Vec<Arc<dyn PhysicalExpr>> = (0..width)
        .map(|i| Arc::new(Column::new(schema.field(i).name(), i)) as Arc<dyn PhysicalExpr>)
        .collect();
    exprs.push(Arc::new(Literal::new(ScalarValue::Int32(Some(0)))));
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(ALL_ROWS, DataType::Int32, true)));
    let extended = nullable(&Schema::new(fields));
    let text = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .chain([format!("0 AS {ALL_ROWS}")])
        .collect::<Vec<_>>()
        .join(", ");
    chain.add_projection(schema.clone(), exprs, extended.clone(), text)?;
    Ok((parts.close(chain)?, extended, key))
}
