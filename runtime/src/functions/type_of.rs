//! Flink's `TYPEOF(input [, force_serializable])`: the input's type as Flink writes it
//! (`INT NOT NULL`, `DECIMAL(10, 2)`, `ARRAY<INT>`), decided when the query is planned, as
//! Flink's `TypeOfFunction` is. A string or binary literal has its exact length
//! (`CHAR(3)`, `BINARY(2)`), as in Flink; any other text is `STRING`. With
//! `force_serializable` TRUE, types whose summary cannot be parsed back are written in full
//! (`VARCHAR(2147483647)`, `TIMESTAMP(3) WITH LOCAL TIME ZONE`).
//!
//! The type is read by an analyzer rule ([`TypeOfRule`]), before the optimizer folds
//! constants: folded, `CAST('a' AS STRING)` would look like the literal `'a'` and
//! `TRY_CAST('1' AS INT)` like a value that cannot be NULL. The rule passes the text as a
//! third argument, which the optimizer then makes the call's value.

use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, IntervalUnit, TimeUnit};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::DFSchema;
use datafusion::common::ScalarValue;
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    lit, ColumnarValue, Expr, ExprSchemable, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

/// The prefix of the third argument [`TypeOfRule`] adds: the answer.
const ANSWER: &str = "eddy:typeof:";

/// Reads each TYPEOF's input type while the plan is as written (see the module).
#[derive(Debug, Default)]
pub struct TypeOfRule;

impl AnalyzerRule for TypeOfRule {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        // Most plans have none: leave them untouched, names and all.
        let mut found = false;
        plan.apply_with_subqueries(|node| {
            found = node
                .expressions()
                .iter()
                .any(|e| e.exists(|e| Ok(is_typeof(e))).unwrap_or(false));
            Ok(match found {
                true => TreeNodeRecursion::Stop,
                false => TreeNodeRecursion::Continue,
            })
        })?;
        if !found {
            return Ok(plan);
        }
        plan.transform_up_with_subqueries(|node| {
            let schema = merge_schema(&node.inputs());
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let name = names.save(&e);
                let answered = e.transform_up(|e| answer(e, &schema))?;
                Ok(answered.update_data(|e| name.restore(e)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "eddy_typeof"
    }
}

fn is_typeof(e: &Expr) -> bool {
    matches!(e, Expr::ScalarFunction(f) if f.func.name() == "typeof")
}

/// `typeof(x [, b])` with its answer as a third argument.
fn answer(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::ScalarFunction(f) = &e else {
        return Ok(Transformed::no(e));
    };
    if f.func.name() != "typeof" || f.args.is_empty() || f.args.len() > 2 {
        return Ok(Transformed::no(e));
    }
    let serializable = match f.args.get(1) {
        None => false,
        Some(Expr::Literal(v, _)) => force_serializable(Some(Some(v)))?,
        Some(_) => return Err(DataFusionError::Plan(SIGNATURES.into())),
    };
    let input = &f.args[0];
    let (_, field) = input.to_field(schema)?;
    let literal = match input {
        Expr::Literal(v, _) => Some(v),
        _ => None,
    };
    let text = match array_constructor(input, schema)? {
        // `ARRAY[1, 2]` is NOT NULL, and so are its items when all of theirs are.
        Some(items) => format!(
            "ARRAY<{}> NOT NULL",
            flink_type(items.data_type(), items.is_nullable(), None, serializable)
        ),
        None => flink_type(
            field.data_type(),
            field.is_nullable(),
            literal,
            serializable,
        ),
    };
    let args = vec![
        input.clone(),
        lit(serializable),
        lit(format!("{ANSWER}{text}")),
    ];
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(f.func.clone(), args),
    )))
}

/// For `ARRAY[...]` (`make_array`), the item field with Flink's nullability: NOT NULL
/// when no element can be NULL (Arrow's list items are always nullable).
fn array_constructor(e: &Expr, schema: &DFSchema) -> Result<Option<Field>> {
    let Expr::ScalarFunction(f) = e else {
        return Ok(None);
    };
    if f.func.name() != "make_array" {
        return Ok(None);
    }
    let (_, field) = e.to_field(schema)?;
    let DataType::List(item) = field.data_type() else {
        return Ok(None);
    };
    let mut nullable = false;
    for a in &f.args {
        nullable |= a.to_field(schema)?.1.is_nullable();
    }
    Ok(Some(item.as_ref().clone().with_nullable(nullable)))
}

/// The answer [`TypeOfRule`] passed, if it did.
fn passed_answer(arg: Option<&ScalarValue>) -> Option<&str> {
    match arg {
        Some(ScalarValue::Utf8(Some(s))) => s.strip_prefix(ANSWER),
        _ => None,
    }
}

/// The `typeof` function, for registration.
pub(super) fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(TypeOf {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TypeOf {
    signature: Signature,
}

const SIGNATURES: &str = "Invalid input arguments. Expected signatures are:\nTYPEOF(input <ANY>)\nTYPEOF(input <ANY>, force_serializable [<BOOLEAN> & <LITERAL NOT NULL>])";

/// The second argument: a non-NULL BOOLEAN literal, as Flink requires.
fn force_serializable(arg: Option<Option<&ScalarValue>>) -> Result<bool> {
    match arg {
        None => Ok(false),
        Some(Some(ScalarValue::Boolean(Some(b)))) => Ok(*b),
        Some(_) => Err(DataFusionError::Plan(SIGNATURES.into())),
    }
}

/// Flink's summary of a value of `data_type` (`literal`: the value, when it is a constant).
fn flink_type(
    data_type: &DataType,
    nullable: bool,
    literal: Option<&ScalarValue>,
    serializable: bool,
) -> String {
    let field_type = |f: &FieldRef| flink_type(f.data_type(), f.is_nullable(), None, serializable);
    let name = match data_type {
        DataType::Null => return "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            "DECIMAL(20, 0)".into()
        }
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            match literal.and_then(text_length) {
                Some(n) => format!("CHAR({n})"),
                None if serializable => "VARCHAR(2147483647)".into(),
                None => "STRING".into(),
            }
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => match literal.and_then(binary_length) {
            Some(n) => format!("BINARY({n})"),
            None if serializable => "VARBINARY(2147483647)".into(),
            None => "BYTES".into(),
        },
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME(0)".into(),
        DataType::Timestamp(unit, tz) => {
            let p = match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond => 6,
                TimeUnit::Nanosecond => 9,
            };
            match (tz, serializable) {
                (None, _) => format!("TIMESTAMP({p})"),
                (Some(_), false) => format!("TIMESTAMP_LTZ({p})"),
                (Some(_), true) => format!("TIMESTAMP({p}) WITH LOCAL TIME ZONE"),
            }
        }
        DataType::Interval(IntervalUnit::YearMonth) => "INTERVAL MONTH".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL SECOND(3)".into(),
        // Arrow's list items are always nullable; Flink knows `ARRAY[1]`'s are not.
        DataType::List(f) if literal.is_some_and(items_not_null) => {
            let item = flink_type(f.data_type(), false, None, serializable);
            format!("ARRAY<{item}>")
        }
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => format!("ARRAY<{}>", field_type(f)),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("MAP<{}, {}>", field_type(&kv[0]), field_type(&kv[1]))
            }
            other => other.to_string(),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` {}", f.name(), field_type(f)))
                .collect();
            format!("ROW<{}>", fields.join(", "))
        }
        other => other.to_string().to_uppercase(),
    };
    match nullable {
        true => name,
        false => format!("{name} NOT NULL"),
    }
}

/// Whether a list literal holds no NULL item.
fn items_not_null(v: &ScalarValue) -> bool {
    match v {
        ScalarValue::List(list) => list.null_count() == 0 && list.values().null_count() == 0,
        _ => false,
    }
}

fn text_length(v: &ScalarValue) -> Option<usize> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.chars().count()),
        _ => None,
    }
}

fn binary_length(v: &ScalarValue) -> Option<usize> {
    match v {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => Some(b.len()),
        _ => None,
    }
}

impl ScalarUDFImpl for TypeOf {
    fn name(&self) -> &str {
        "typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [_] | [_, DataType::Boolean | DataType::Null] => Ok(args.to_vec()),
            [_, DataType::Boolean, DataType::Utf8] => Ok(args.to_vec()),
            [_, _] => Err(DataFusionError::Plan(SIGNATURES.into())),
            _ => {
                let kinds: Vec<&str> = args.iter().map(|_| "<ANY>").collect();
                Err(DataFusionError::Plan(format!(
                    "No match found for function signature TYPEOF({}).",
                    kinds.join(", ")
                )))
            }
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        force_serializable(args.scalar_arguments.get(1).copied())?;
        if args.arg_fields.len() == 3 && passed_answer(args.scalar_arguments[2]).is_none() {
            return Err(DataFusionError::Plan(
                "No match found for function signature TYPEOF(<ANY>, <ANY>, <ANY>).".into(),
            ));
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
    }

    // Answered while planning, from the input's planned type, as Flink does.
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        if let Some(Expr::Literal(v, _)) = args.get(2) {
            if let Some(text) = passed_answer(Some(v)) {
                return Ok(ExprSimplifyResult::Simplified(lit(text.to_string())));
            }
        }
        let serializable = match args.get(1) {
            None => false,
            Some(Expr::Literal(v, _)) => force_serializable(Some(Some(v)))?,
            Some(_) => return Err(DataFusionError::Plan(SIGNATURES.into())),
        };
        let Some(input) = args.first() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        // Without the analyzer rule's answer (an expression planned outside a session),
        // constants may be folded already: no literal lengths then.
        let text = flink_type(
            &info.get_data_type(input)?,
            info.nullable(input)?,
            None,
            serializable,
        );
        Ok(ExprSimplifyResult::Simplified(lit(text)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Reached only where the planner did not simplify (a constant input folded first).
        let serializable = match args.args.get(1) {
            Some(ColumnarValue::Scalar(v)) => force_serializable(Some(Some(v)))?,
            Some(ColumnarValue::Array(_)) => return Err(DataFusionError::Plan(SIGNATURES.into())),
            None => false,
        };
        if let Some(ColumnarValue::Scalar(v)) = args.args.get(2) {
            if let Some(text) = passed_answer(Some(v)) {
                return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                    text.to_string(),
                ))));
            }
        }
        let field = &args.arg_fields[0];
        let text = flink_type(field.data_type(), field.is_nullable(), None, serializable);
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text))))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::Fields;

    use super::*;

    #[test]
    fn types_are_written_as_flink_writes_them() {
        let t = |d: &DataType, nullable: bool| flink_type(d, nullable, None, false);
        assert_eq!(t(&DataType::Int32, false), "INT NOT NULL");
        assert_eq!(t(&DataType::Int32, true), "INT");
        assert_eq!(t(&DataType::Decimal128(10, 2), true), "DECIMAL(10, 2)");
        assert_eq!(t(&DataType::Null, true), "NULL");
        assert_eq!(t(&DataType::Utf8, false), "STRING NOT NULL");
        assert_eq!(
            flink_type(
                &DataType::Utf8,
                false,
                Some(&ScalarValue::from("abc")),
                false
            ),
            "CHAR(3) NOT NULL"
        );
        assert_eq!(
            flink_type(&DataType::Utf8, false, None, true),
            "VARCHAR(2147483647) NOT NULL"
        );
        let ltz = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        assert_eq!(t(&ltz, true), "TIMESTAMP_LTZ(3)");
        assert_eq!(
            flink_type(&ltz, true, None, true),
            "TIMESTAMP(3) WITH LOCAL TIME ZONE"
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        assert_eq!(t(&list, false), "ARRAY<INT> NOT NULL");
        let row = DataType::Struct(Fields::from(vec![
            Field::new("x", DataType::Int32, true),
            Field::new("y", DataType::Utf8, true),
        ]));
        assert_eq!(t(&row, false), "ROW<`x` INT, `y` STRING> NOT NULL");
        assert_eq!(
            t(&DataType::Interval(IntervalUnit::YearMonth), false),
            "INTERVAL MONTH NOT NULL"
        );
    }

    #[test]
    fn the_second_argument_must_be_a_boolean_literal() {
        assert!(!force_serializable(None).unwrap());
        assert!(force_serializable(Some(Some(&ScalarValue::Boolean(Some(true))))).unwrap());
        for bad in [
            None,
            Some(&ScalarValue::Boolean(None)),
            Some(&ScalarValue::Int32(Some(1))),
        ] {
            assert!(force_serializable(Some(bad)).is_err());
        }
    }
}
