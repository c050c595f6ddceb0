//! Flink's JSON functions in their plain forms (Calcite's defaults): `JSON_VALUE(json,
//! path)` (RETURNING STRING, NULL ON EMPTY, NULL ON ERROR), `JSON_QUERY(json, path)`
//! (WITHOUT ARRAY WRAPPER, NULL ON EMPTY and ON ERROR), `JSON_EXISTS(json, path)` (FALSE
//! ON ERROR) and `JSON_STRING(value)`. Paths are those of `json_path.rs`. Text that is not
//! JSON is an error, answered as ON ERROR says.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::json_path::{Found, Json, JsonPath};

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
        match (self.function, n) {
            (JsonFunction::String, 1) => Ok(args.to_vec()),
            (JsonFunction::String, _) => Err(DataFusionError::Plan(format!(
                "function JSON_STRING does not take {n} arguments"
            ))),
            (_, 2) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => Err(DataFusionError::Plan(format!(
                "function {} takes a JSON text and a path, not {n} arguments (the RETURNING, ON EMPTY, ON ERROR and WRAPPER clauses are not supported yet)",
                self.name().to_uppercase()
            ))),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            JsonFunction::Exists => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
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
        let (doc, path) = (cast(&a[0], &DataType::Utf8)?, cast(&a[1], &DataType::Utf8)?);
        let (doc, path) = (doc.as_string::<i32>(), path.as_string::<i32>());
        let mut paths: Vec<(String, Result<JsonPath, String>)> = Vec::new();
        // Per row: None for NULL input, else what the path found (Err: an error).
        let mut found = |r: usize| -> Option<Result<Found, String>> {
            if doc.is_null(r) || path.is_null(r) {
                return None;
            }
            let text = path.value(r);
            let compiled = match paths.iter().position(|(p, _)| p == text) {
                Some(i) => &paths[i].1,
                None => {
                    paths.push((text.to_string(), JsonPath::parse(text)));
                    &paths[paths.len() - 1].1
                }
            };
            Some(match (compiled, Json::parse(doc.value(r))) {
                (Err(e), _) => Err(e.clone()),
                (_, None) => Err("not JSON".into()),
                (Ok(p), Some(json)) => p.find(&json),
            })
        };
        let out: ArrayRef = match self.function {
            JsonFunction::Exists => {
                let mut out = BooleanBuilder::with_capacity(rows);
                for r in 0..rows {
                    out.append_option(
                        found(r).map(|f| matches!(f, Ok(Found::One(_) | Found::Many(_)))),
                    );
                }
                Arc::new(out.finish())
            }
            JsonFunction::Value => {
                let mut out = StringBuilder::new();
                for r in 0..rows {
                    out.append_option(match found(r) {
                        Some(Ok(Found::One(Json::String(s)))) => Some(s),
                        Some(Ok(Found::One(Json::Null))) => None,
                        Some(Ok(Found::One(v))) if v.is_scalar() => Some(v.text()),
                        // An object, an array or several values: an error, NULL ON ERROR.
                        _ => None,
                    });
                }
                Arc::new(out.finish())
            }
            JsonFunction::Query => {
                let mut out = StringBuilder::new();
                for r in 0..rows {
                    out.append_option(match found(r) {
                        Some(Ok(Found::One(v))) if !v.is_scalar() => Some(v.text()),
                        Some(Ok(Found::Many(items))) => Some(Json::Array(items).text()),
                        // A scalar without a wrapper: an error, NULL ON ERROR.
                        _ => None,
                    });
                }
                Arc::new(out.finish())
            }
            JsonFunction::String => unreachable!("answered above"),
        };
        Ok(ColumnarValue::Array(out))
    }
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
