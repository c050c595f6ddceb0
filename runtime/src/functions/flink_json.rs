//! Flink's JSON query functions with their clauses, as Calcite's `SqlJsonUtils` answers
//! them: `JSON_VALUE(json, path [RETURNING type] [b ON EMPTY] [b ON ERROR])`,
//! `JSON_QUERY(json, path [RETURNING STRING | ARRAY<STRING>] [wrapper] [b ON EMPTY]
//! [b ON ERROR])`, `JSON_EXISTS(json, path [b ON ERROR])`, and `JSON_STRING(value)`. The
//! parser writes the clauses out as arguments after a marker
//! (`sql/src/parser/json_clauses`); a call without them takes Flink's defaults (RETURNING
//! STRING, NULL ON EMPTY and ON ERROR, WITHOUT ARRAY WRAPPER, FALSE ON ERROR). Paths are
//! those of `json_path.rs`. Text that is not JSON, a strict path that finds nothing and a
//! value of the wrong kind are errors, answered as ON ERROR says; ERROR ON ERROR raises
//! them with the SQLSTATE PostgreSQL's SQL/JSON functions give them.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanBuilder, ListBuilder, StringBuilder,
};
use datafusion::arrow::compute::{cast, interleave};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::json_path::{Found, Json, JsonPath};
use crate::error::RuntimeError;

/// The argument after the path marking a call whose clauses the parser wrote out.
pub const CLAUSES_MARKER: &str = "__eddy_json";

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum JsonFunction {
    Value,
    Query,
    Exists,
    String,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [
        JsonFunction::Value,
        JsonFunction::Query,
        JsonFunction::Exists,
        JsonFunction::String,
    ]
    .into_iter()
    .map(|f| {
        Arc::new(ScalarUDF::from(FlinkJson {
            function: f,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkJson {
    function: JsonFunction,
    signature: Signature,
}

impl ScalarUDFImpl for FlinkJson {
    fn name(&self) -> &str {
        match self.function {
            JsonFunction::Value => "json_value",
            JsonFunction::Query => "json_query",
            JsonFunction::Exists => "json_exists",
            JsonFunction::String => "json_string",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let n = args.len();
        let text = DataType::Utf8;
        match (self.function, n) {
            (JsonFunction::String, 1) => Ok(args.to_vec()),
            (JsonFunction::String, _) => Err(DataFusionError::Plan(format!(
                "function JSON_STRING does not take {n} arguments"
            ))),
            (_, 2) => Ok(vec![text.clone(), text]),
            // The RETURNING type, then the defaults of ON EMPTY and ON ERROR as that type.
            (JsonFunction::Value, 8) => {
                let t = args[3].clone();
                Ok(vec![
                    text.clone(),
                    text.clone(),
                    text.clone(),
                    t.clone(),
                    text.clone(),
                    t.clone(),
                    text,
                    t,
                ])
            }
            (JsonFunction::Query, 7) => {
                let t = &args[3];
                let is_text = |t: &DataType| {
                    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                };
                let fits = is_text(t) || matches!(t, DataType::List(f) if is_text(f.data_type()));
                if !fits {
                    return Err(DataFusionError::Plan(format!(
                        "JSON_QUERY returns STRING or ARRAY<STRING>, not {t}"
                    )));
                }
                let mut types = vec![text; n];
                types[3] = t.clone();
                Ok(types)
            }
            (JsonFunction::Exists, 4) => Ok(vec![text; n]),
            _ => Err(DataFusionError::Plan(format!(
                "function {} takes a JSON text and a path (then its clauses), not {n} arguments",
                self.name().to_uppercase()
            ))),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match (self.function, args.len()) {
            (JsonFunction::Exists, _) => DataType::Boolean,
            (JsonFunction::Value | JsonFunction::Query, 7 | 8) => args[3].clone(),
            _ => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let t = self.return_type(&types)?;
        if self.function == JsonFunction::Query && matches!(t, DataType::List(_)) {
            for (i, on) in [(5, "empty"), (6, "error")] {
                let said = args.scalar_arguments.get(i).copied().flatten();
                if said.is_some_and(|v| v.to_string() == "empty object") {
                    return Err(DataFusionError::Plan(format!(
                        "Illegal on {on} behavior 'EMPTY OBJECT' for return type: ARRAY<STRING>"
                    )));
                }
            }
        }
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let return_type = args.return_field.data_type().clone();
        let a: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|v| v.to_array(rows))
            .collect::<Result<_>>()?;
        if self.function == JsonFunction::String {
            let mut out = StringBuilder::new();
            for r in 0..rows {
                out.append_option(to_json(&a[0], r)?.map(|j| j.text()));
            }
            return Ok(ColumnarValue::Array(Arc::new(out.finish())));
        }
        let clauses = Clauses::of(self.function, &args.args)?;
        let outcomes = outcomes(&a[0], &a[1], rows)?;
        let out = match self.function {
            JsonFunction::Exists => exists(&outcomes, &clauses)?,
            JsonFunction::Value => value(&outcomes, &clauses, &return_type, &a)?,
            JsonFunction::Query => query(&outcomes, &clauses, &return_type)?,
            JsonFunction::String => unreachable!("answered above"),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// A failure of a JSON function, with the SQLSTATE PostgreSQL gives it.
#[derive(Debug, Clone)]
struct Failure {
    sqlstate: &'static str,
    message: String,
}

impl Failure {
    fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        Failure {
            sqlstate,
            message: message.into(),
        }
    }

    fn raise(&self, function: &str) -> DataFusionError {
        DataFusionError::External(Box::new(RuntimeError::Data {
            sqlstate: self.sqlstate,
            message: format!("{function}: {}", self.message),
        }))
    }
}

/// What a path found in one row.
enum Outcome {
    /// The text or the path is NULL.
    Null,
    /// What the path found, and whether it is a strict path.
    Found(Found, bool),
    Failed(Failure),
}

/// The outcome of each row: the document parsed and the path (compiled once per distinct
/// text) applied.
fn outcomes(doc: &ArrayRef, path: &ArrayRef, rows: usize) -> Result<Vec<Outcome>> {
    let (doc, path) = (cast(doc, &DataType::Utf8)?, cast(path, &DataType::Utf8)?);
    let (doc, path) = (doc.as_string::<i32>(), path.as_string::<i32>());
    let mut paths: HashMap<String, Result<JsonPath, String>> = HashMap::new();
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        if doc.is_null(r) || path.is_null(r) {
            out.push(Outcome::Null);
            continue;
        }
        let text = path.value(r);
        if !paths.contains_key(text) {
            paths.insert(text.to_string(), JsonPath::parse(text));
        }
        let compiled = &paths[text];
        let json = Json::parse(doc.value(r));
        // Calcite answers a lax path over text that is not JSON with an empty result.
        if json.is_none() && compiled.as_ref().is_ok_and(|p| !p.is_strict()) {
            out.push(Outcome::Found(Found::Empty, false));
            continue;
        }
        out.push(match (compiled, json) {
            (Err(e), _) => Outcome::Failed(Failure::new("42601", e.clone())),
            (_, None) => {
                let text = doc.value(r);
                let shown: String = text.chars().take(80).collect();
                let more = if shown.len() < text.len() { "..." } else { "" };
                Outcome::Failed(Failure::new(
                    "22032",
                    format!("invalid JSON text: '{shown}{more}'"),
                ))
            }
            (Ok(p), Some(json)) => match p.find(&json) {
                Ok(found) => Outcome::Found(found, p.is_strict()),
                Err(e) => Outcome::Failed(Failure::new("2203A", e)),
            },
        });
    }
    Ok(out)
}

/// What ON EMPTY or ON ERROR says.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behavior {
    Null,
    Error,
    Default,
    EmptyArray,
    EmptyObject,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Wrapper {
    Without,
    Conditional,
    Unconditional,
}

/// A call's clauses: Flink's defaults, or what `sql/src/parser/json_clauses` wrote out.
struct Clauses {
    wrapper: Wrapper,
    on_empty: Behavior,
    on_error: Behavior,
}

impl Clauses {
    fn of(function: JsonFunction, args: &[ColumnarValue]) -> Result<Clauses> {
        let mut clauses = Clauses {
            wrapper: Wrapper::Without,
            on_empty: Behavior::Null,
            on_error: match function {
                JsonFunction::Exists => Behavior::False,
                _ => Behavior::Null,
            },
        };
        if args.len() == 2 {
            return Ok(clauses);
        }
        let word = |i: usize| -> Result<String> {
            match args.get(i) {
                Some(ColumnarValue::Scalar(s)) if !s.is_null() => Ok(s.to_string()),
                _ => Err(DataFusionError::Plan(format!(
                    "argument {} of a JSON function must be a literal clause",
                    i + 1
                ))),
            }
        };
        if word(2)? != CLAUSES_MARKER {
            return Err(DataFusionError::Plan(
                "a JSON function takes a JSON text and a path, then its clauses".into(),
            ));
        }
        let behavior = |i: usize| -> Result<Behavior> {
            Ok(match word(i)?.as_str() {
                "null" => Behavior::Null,
                "error" => Behavior::Error,
                "default" => Behavior::Default,
                "empty array" => Behavior::EmptyArray,
                "empty object" => Behavior::EmptyObject,
                "true" => Behavior::True,
                "false" => Behavior::False,
                "unknown" => Behavior::Unknown,
                other => {
                    return Err(DataFusionError::Plan(format!(
                        "'{other}' is not an ON EMPTY or ON ERROR behaviour"
                    )))
                }
            })
        };
        match function {
            JsonFunction::Value => {
                clauses.on_empty = behavior(4)?;
                clauses.on_error = behavior(6)?;
            }
            JsonFunction::Query => {
                clauses.wrapper = match word(4)?.as_str() {
                    "conditional" => Wrapper::Conditional,
                    "unconditional" => Wrapper::Unconditional,
                    _ => Wrapper::Without,
                };
                clauses.on_empty = behavior(5)?;
                clauses.on_error = behavior(6)?;
            }
            JsonFunction::Exists => clauses.on_error = behavior(3)?,
            JsonFunction::String => {}
        }
        Ok(clauses)
    }
}

/// Whether each path found something, as Calcite's `jsonExists`: a JSON null is nothing.
fn exists(outcomes: &[Outcome], clauses: &Clauses) -> Result<ArrayRef> {
    let mut out = BooleanBuilder::with_capacity(outcomes.len());
    for o in outcomes {
        out.append_option(match o {
            Outcome::Null => None,
            Outcome::Found(Found::Empty | Found::One(Json::Null), _) => Some(false),
            Outcome::Found(..) => Some(true),
            Outcome::Failed(f) => match clauses.on_error {
                Behavior::True => Some(true),
                Behavior::Unknown => None,
                Behavior::Error => return Err(f.raise("JSON_EXISTS")),
                _ => Some(false),
            },
        });
    }
    Ok(Arc::new(out.finish()))
}

/// Where a row's JSON_VALUE comes from.
#[derive(Clone, Copy)]
enum Source {
    Found,
    DefaultOnEmpty,
    DefaultOnError,
}

/// JSON_VALUE as Calcite's `jsonValue`: a scalar converted to the RETURNING type; nothing,
/// a JSON null and (lax) an object or array are empty; ON EMPTY and ON ERROR say what then.
fn value(
    outcomes: &[Outcome],
    clauses: &Clauses,
    return_type: &DataType,
    args: &[ArrayRef],
) -> Result<ArrayRef> {
    let rows = outcomes.len();
    let mut text = StringBuilder::new();
    let mut failures: Vec<Option<Failure>> = Vec::with_capacity(rows);
    let mut empty = vec![false; rows];
    for (r, o) in outcomes.iter().enumerate() {
        let mut failure = None;
        match o {
            Outcome::Found(Found::One(Json::String(s)), _) => text.append_value(s),
            Outcome::Found(Found::One(v), _) if v.is_scalar() && *v != Json::Null => {
                text.append_value(v.text())
            }
            Outcome::Null => text.append_null(),
            Outcome::Failed(f) => {
                failure = Some(f.clone());
                text.append_null();
            }
            Outcome::Found(Found::Empty | Found::One(Json::Null), _) => {
                empty[r] = true;
                text.append_null();
            }
            Outcome::Found(found, strict) => {
                if *strict {
                    let actual = match found {
                        Found::One(v) => v.text(),
                        Found::Many(items) => Json::Array(items.clone()).text(),
                        Found::Empty => String::new(),
                    };
                    failure = Some(Failure::new(
                        "2203F",
                        format!(
                            "Strict jsonpath mode requires scalar value, and the actual value is: '{actual}'"
                        ),
                    ));
                } else {
                    empty[r] = true;
                }
                text.append_null();
            }
        }
        failures.push(failure);
    }
    let text: ArrayRef = Arc::new(text.finish());
    // Text that does not convert becomes NULL here (a safe cast), found below.
    let converted = cast(&text, return_type)?;
    let mut sources = Vec::with_capacity(rows);
    for r in 0..rows {
        if !text.is_null(r) && converted.is_null(r) {
            failures[r] = Some(Failure::new(
                "2203G",
                format!(
                    "'{}' cannot be returned as {}",
                    text.as_string::<i32>().value(r),
                    super::is_json::calcite_name(return_type)
                ),
            ));
        }
        let (behavior, default, failure) = match (&failures[r], empty[r]) {
            (Some(f), _) => (clauses.on_error, Source::DefaultOnError, f.clone()),
            (None, true) => (
                clauses.on_empty,
                Source::DefaultOnEmpty,
                Failure::new(
                    "22035",
                    "Empty result of JSON_VALUE function is not allowed",
                ),
            ),
            (None, false) => {
                sources.push((Source::Found, r));
                continue;
            }
        };
        match behavior {
            Behavior::Error => return Err(failure.raise("JSON_VALUE")),
            Behavior::Default => sources.push((default, r)),
            // NULL: the converted value is NULL in this row.
            _ => sources.push((Source::Found, r)),
        }
    }
    let no_default: ArrayRef = new_null_array(return_type, rows);
    let (on_empty, on_error) = match args {
        [_, _, _, _, _, on_empty, _, on_error] => (on_empty, on_error),
        _ => (&no_default, &no_default),
    };
    let indices: Vec<(usize, usize)> = sources.into_iter().map(|(s, r)| (s as usize, r)).collect();
    Ok(interleave(
        &[converted.as_ref(), on_empty.as_ref(), on_error.as_ref()],
        &indices,
    )?)
}

/// JSON_QUERY as Calcite's `jsonQuery`: an object or array as JSON text (or, RETURNING
/// ARRAY<STRING>, an array's items, strings unquoted), wrapped as the WRAPPER clause says; a
/// scalar is empty in lax mode and an error in strict mode.
fn query(outcomes: &[Outcome], clauses: &Clauses, return_type: &DataType) -> Result<ArrayRef> {
    let as_array = matches!(return_type, DataType::List(_));
    let mut out: Vec<Option<Json>> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let (behavior, failure) = match o {
            Outcome::Null => {
                out.push(None);
                continue;
            }
            Outcome::Failed(f) => (clauses.on_error, f.clone()),
            Outcome::Found(found, strict) => {
                let value = match found {
                    Found::Empty | Found::One(Json::Null) => None,
                    Found::One(v) => Some(v.clone()),
                    Found::Many(items) => Some(Json::Array(items.clone())),
                };
                let value = value.map(|v| match (clauses.wrapper, v) {
                    (Wrapper::Unconditional, v) => Json::Array(vec![v]),
                    (Wrapper::Conditional, Json::Array(items)) => Json::Array(items),
                    (Wrapper::Conditional, v) => Json::Array(vec![v]),
                    (Wrapper::Without, v) => v,
                });
                match value {
                    Some(v @ Json::Array(_)) => {
                        out.push(Some(v));
                        continue;
                    }
                    Some(v @ Json::Object(_)) if !as_array => {
                        out.push(Some(v));
                        continue;
                    }
                    Some(v @ Json::Object(_)) => (
                        clauses.on_error,
                        Failure::new(
                            "22039",
                            format!("RETURNING ARRAY needs a JSON array, not {}", v.text()),
                        ),
                    ),
                    Some(v) if *strict => (
                        clauses.on_error,
                        Failure::new(
                            "2203C",
                            format!(
                                "Strict jsonpath mode requires array or object value, and the actual value is: '{}'",
                                v.text()
                            ),
                        ),
                    ),
                    _ => (
                        clauses.on_empty,
                        Failure::new("22035", "Empty result of JSON_QUERY function is not allowed"),
                    ),
                }
            }
        };
        out.push(match behavior {
            Behavior::Error => return Err(failure.raise("JSON_QUERY")),
            Behavior::EmptyArray => Some(Json::Array(Vec::new())),
            Behavior::EmptyObject => Some(Json::Object(Vec::new())),
            _ => None,
        });
    }
    if !as_array {
        let mut text = StringBuilder::new();
        for v in &out {
            text.append_option(v.as_ref().map(Json::text));
        }
        let text: ArrayRef = Arc::new(text.finish());
        return Ok(cast(&text, return_type)?);
    }
    let mut list = ListBuilder::new(StringBuilder::new());
    for v in out {
        let Some(Json::Array(items)) = v else {
            // NULL; an object only comes from EMPTY OBJECT, which planning refuses here.
            list.append_null();
            continue;
        };
        for item in items {
            match item {
                Json::Null => list.values().append_null(),
                Json::String(s) => list.values().append_value(s),
                other => list.values().append_value(other.text()),
            }
        }
        list.append(true);
    }
    let list: ArrayRef = Arc::new(list.finish());
    Ok(cast(&list, return_type)?)
}

/// Row `r` of `a` as JSON, None for NULL: numbers and booleans as themselves, arrays and
/// rows (field names as keys) as JSON arrays and objects, anything else as its text.
fn to_json(a: &ArrayRef, r: usize) -> Result<Option<Json>> {
    if a.is_null(r) {
        return Ok(None);
    }
    Ok(Some(match a.data_type() {
        DataType::Boolean => Json::Bool(a.as_boolean().value(r)),
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(r);
            let mut out = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                out.push(to_json(&items, i)?.unwrap_or(Json::Null));
            }
            Json::Array(out)
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut out = Vec::with_capacity(fields.len());
            for (f, c) in fields.iter().zip(s.columns()) {
                out.push((f.name().clone(), to_json(c, r)?.unwrap_or(Json::Null)));
            }
            Json::Object(out)
        }
        t if t.is_numeric() => {
            let text = cast(&a.slice(r, 1), &DataType::Utf8)?;
            let text = text.as_string::<i32>().value(0).to_string();
            match serde_json::from_str::<serde_json::Number>(&text) {
                Ok(n) => Json::Number(n),
                // NaN and the infinities are no JSON numbers.
                Err(_) => Json::String(text),
            }
        }
        _ => {
            let text = cast(&a.slice(r, 1), &DataType::Utf8)?;
            Json::String(text.as_string::<i32>().value(0).to_string())
        }
    }))
}
