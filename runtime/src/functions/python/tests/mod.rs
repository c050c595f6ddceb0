use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};

use super::*;

const MODULE: &str = r#"
import datetime, decimal, os

def add(a: int, b: int = 1) -> int:
    return a + b

def shout(s) -> str:
    print("shouting", s)
    return None if s is None else s.upper() + "!"

def untyped(x):
    return x

def fails(x: int) -> int:
    return 10 // x

def wrong(x: int) -> int:
    return "ten"

def die(x: int) -> int:
    os._exit(3)

def day_after(d: datetime.date) -> datetime.date:
    return d + datetime.timedelta(days=1)

def halve(d: decimal.Decimal) -> decimal.Decimal:
    return d / 2

class FakeType:
    pass

class BigIntType(FakeType):
    pass

class Wrapper:
    # What pyflink's udf() makes: the function, its result type, determinism.
    def __init__(self, f):
        self._func = f
        self._result_type = BigIntType()
        self._deterministic = False
    def __call__(self, *args):
        return self._func(*args)

def _twice(x):
    return 2 * x

twice = Wrapper(_twice)
"#;

fn module() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("udfs.py"), MODULE).unwrap();
    dir
}

fn definition(dir: &tempfile::TempDir, target: &str, result_type: DataType) -> PythonFunction {
    PythonFunction {
        name: target.rsplit('.').next().unwrap().to_string(),
        target: target.to_string(),
        body: None,
        params: Vec::new(),
        param_types: Vec::new(),
        files: vec![dir.path().join("udfs.py").display().to_string()],
        executable: "python3".into(),
        arity: (0, None),
        result_type: result_type.to_string(),
        result_name: result_type.to_string(),
        deterministic: true,
    }
}

fn call(udf: &ScalarUDF, args: Vec<ArrayRef>, return_type: DataType) -> Result<ArrayRef> {
    let rows = args.first().map(|a| a.len()).unwrap_or(1);
    let arg_fields = args
        .iter()
        .map(|a| Arc::new(Field::new("a", a.data_type().clone(), true)))
        .collect();
    let out = udf.invoke_with_args(ScalarFunctionArgs {
        args: args.into_iter().map(ColumnarValue::Array).collect(),
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new("r", return_type, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })?;
    out.to_array(rows)
}

fn sqlstate(e: &DataFusionError) -> &'static str {
    crate::error::datafusion_sqlstate(e)
}

#[test]
fn describes_arity_result_type_and_pyflink_wrappers() {
    let dir = module();
    let add = describe(&definition(&dir, "udfs.add", DataType::Int64)).unwrap();
    assert_eq!(add.arity, (1, Some(2)));
    assert_eq!(add.result_type.as_deref(), Some("BIGINT"));
    assert!(add.deterministic);
    let untyped = describe(&definition(&dir, "udfs.untyped", DataType::Int64)).unwrap();
    assert_eq!(untyped.result_type, None);
    let twice = describe(&definition(&dir, "udfs.twice", DataType::Int64)).unwrap();
    assert_eq!(twice.result_type.as_deref(), Some("BIGINT"));
    assert!(!twice.deterministic);
    let missing = describe(&definition(&dir, "udfs.nope", DataType::Int64)).unwrap_err();
    assert_eq!(missing.sqlstate(), "38000");
    assert!(missing.to_string().contains("nope"), "{missing}");
    let no_module = describe(&definition(&dir, "nomodule_here.f", DataType::Int64)).unwrap_err();
    assert!(
        no_module
            .to_string()
            .contains("No module named 'nomodule_here'"),
        "{no_module}"
    );
    let mut bad_python = definition(&dir, "udfs.add", DataType::Int64);
    bad_python.executable = "/no/such/python".into();
    let e = describe(&bad_python).unwrap_err();
    assert!(e.to_string().contains("/no/such/python"), "{e}");
}

#[test]
fn runs_a_batch_with_nulls_and_reuses_its_worker_after_an_exception() {
    let dir = module();
    let udf = python_udf(definition(&dir, "udfs.add", DataType::Int64)).unwrap();
    let a: ArrayRef = Arc::new(Int64Array::from(vec![1, -3, 41]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![2, 5, 1]));
    let out = call(&udf, vec![a.clone(), b], DataType::Int64).unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[3, 2, 42]);
    // b's default.
    let out = call(&udf, vec![a], DataType::Int64).unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[2, -2, 42]);
    let shout = python_udf(definition(&dir, "udfs.shout", DataType::Utf8)).unwrap();
    let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a\"b\n"), None, Some("é")]));
    let out = call(&shout, vec![s], DataType::Utf8).unwrap();
    let out = out.as_string::<i32>();
    assert_eq!(out.value(0), "A\"B\n!");
    assert!(out.is_null(1));
    assert_eq!(out.value(2), "É!");

    let fails = python_udf(definition(&dir, "udfs.fails", DataType::Int64)).unwrap();
    let x: ArrayRef = Arc::new(Int64Array::from(vec![5, 0, 2]));
    let e = call(&fails, vec![x], DataType::Int64).unwrap_err();
    assert_eq!(sqlstate(&e), "38000");
    let text = e.to_string();
    assert!(
        text.contains("ZeroDivisionError") && text.contains("row 2"),
        "{text}"
    );
    // The same worker answers the next batch.
    let x: ArrayRef = Arc::new(Int64Array::from(vec![5, 2]));
    let out = call(&fails, vec![x], DataType::Int64).unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[2, 5]);
}

#[test]
fn a_none_argument_reaches_python_as_none() {
    let dir = module();
    let add = python_udf(definition(&dir, "udfs.add", DataType::Int64)).unwrap();
    let a: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(1)]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(1)]));
    let e = call(&add, vec![a, b], DataType::Int64).unwrap_err();
    assert!(e.to_string().contains("NoneType"), "{e}");
}

#[test]
fn results_are_read_as_their_type() {
    let dir = module();
    let wrong = python_udf(definition(&dir, "udfs.wrong", DataType::Int64)).unwrap();
    let x: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    let e = call(&wrong, vec![x.clone()], DataType::Int64).unwrap_err();
    assert_eq!(sqlstate(&e), "22P02", "{e}");
    assert!(e.to_string().contains("ten"), "{e}");
    // An untyped function declared to return text gets str() of its value.
    let untyped = python_udf(definition(&dir, "udfs.untyped", DataType::Utf8)).unwrap();
    let out = call(&untyped, vec![x], DataType::Utf8).unwrap();
    assert_eq!(out.as_string::<i32>().value(0), "1");

    let day_after = python_udf(definition(&dir, "udfs.day_after", DataType::Date32)).unwrap();
    let d = datafusion::arrow::compute::cast(
        &(Arc::new(StringArray::from(vec!["2024-02-28", "2024-02-29"])) as ArrayRef),
        &DataType::Date32,
    )
    .unwrap();
    let out = call(&day_after, vec![d], DataType::Date32).unwrap();
    let text = datafusion::arrow::compute::cast(&out, &DataType::Utf8).unwrap();
    assert_eq!(text.as_string::<i32>().value(0), "2024-02-29");
    assert_eq!(text.as_string::<i32>().value(1), "2024-03-01");

    let halve = python_udf(definition(&dir, "udfs.halve", DataType::Decimal128(10, 3))).unwrap();
    let d = datafusion::arrow::compute::cast(
        &(Arc::new(StringArray::from(vec!["3.5"])) as ArrayRef),
        &DataType::Decimal128(10, 1),
    )
    .unwrap();
    let out = call(&halve, vec![d], DataType::Decimal128(10, 3)).unwrap();
    let text = datafusion::arrow::compute::cast(&out, &DataType::Utf8).unwrap();
    assert_eq!(text.as_string::<i32>().value(0), "1.750");
}

#[test]
fn a_dead_worker_fails_the_call_and_the_next_call_starts_another() {
    let dir = module();
    let die = python_udf(definition(&dir, "udfs.die", DataType::Int64)).unwrap();
    let x: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    let e = call(&die, vec![x.clone()], DataType::Int64).unwrap_err();
    assert_eq!(sqlstate(&e), "58000", "{e}");
    assert!(e.to_string().contains("exited"), "{e}");
    let e = call(&die, vec![x], DataType::Int64).unwrap_err();
    assert!(e.to_string().contains("exited"), "{e}");
}

#[test]
fn a_body_runs_with_its_parameters() {
    let function = PythonFunction {
        name: "clamp".into(),
        target: String::new(),
        body: Some("if x is None:\n    return None\nreturn max(lo, min(x, hi))".into()),
        params: vec!["x".into(), "lo".into(), "hi".into()],
        param_types: Vec::new(),
        files: Vec::new(),
        executable: "python3".into(),
        arity: (3, Some(3)),
        result_type: DataType::Int64.to_string(),
        result_name: "BIGINT".into(),
        deterministic: true,
    };
    assert_eq!(describe(&function).unwrap().arity, (3, Some(3)));
    let udf = python_udf(function).unwrap();
    let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(-5), Some(5), None, Some(50)]));
    let lo: ArrayRef = Arc::new(Int64Array::from(vec![0, 0, 0, 0]));
    let hi: ArrayRef = Arc::new(Int64Array::from(vec![10, 10, 10, 10]));
    let out = call(&udf, vec![x, lo, hi], DataType::Int64).unwrap();
    let out = out.as_primitive::<Int64Type>();
    assert_eq!(
        out.iter().collect::<Vec<_>>(),
        vec![Some(0), Some(5), None, Some(10)]
    );
    // Arity is checked where the call is planned.
    assert!(udf.coerce_types(&[DataType::Int64]).is_err());
}

#[test]
fn the_definition_travels_in_an_encoded_expression() {
    use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
    let dir = module();
    let udf = python_udf(definition(&dir, "udfs.add", DataType::Int64)).unwrap();
    let schema = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
    let column: Arc<dyn PhysicalExpr> =
        Arc::new(datafusion::physical_expr::expressions::Column::new("a", 0));
    let expr: Arc<dyn PhysicalExpr> = Arc::new(ScalarFunctionExpr::new(
        "add",
        udf,
        vec![column],
        Arc::new(Field::new("add", DataType::Int64, true)),
        Arc::new(ConfigOptions::default()),
    ));
    let bytes = crate::expr_codec::encode_expr(&expr).unwrap();
    // A TaskManager's registry has no such function: the definition comes with the call.
    let ctx = crate::expr_codec::function_context();
    let decoded = crate::expr_codec::decode_expr(&bytes, &schema, &ctx).unwrap();
    let batch = datafusion::arrow::record_batch::RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(Int64Array::from(vec![1, 2]))],
    )
    .unwrap();
    let out = decoded.evaluate(&batch).unwrap().into_array(2).unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().values(), &[2, 3]);
}
