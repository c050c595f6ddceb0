//! Flink's `PARSE_JSON(s)`, `TRY_PARSE_JSON(s)` and `JSON(s)`: JSON text checked and
//! written compactly (no whitespace outside strings; keys, their order and the numbers'
//! digits kept as written). Flink's PARSE_JSON gives a VARIANT, which Eddy does not have:
//! here it is the JSON text, which is how Flink shows a VARIANT. `JSON(s)` marks text as
//! JSON inside `JSON_OBJECT` / `JSON_ARRAY`, where the SQL layer inserts it unquoted.
//! Text that is not JSON fails the query naming the function, except in TRY_PARSE_JSON,
//! where it is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Kind {
    Parse,
    TryParse,
    Json,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonText {
    kind: Kind,
    signature: Signature,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [Kind::Parse, Kind::TryParse, Kind::Json]
        .into_iter()
        .map(|kind| {
            Arc::new(ScalarUDF::from(JsonText {
                kind,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

/// `text` without whitespace outside strings, or `None` when it is not one JSON value.
fn compact(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, c) if c.is_whitespace() => continue,
            _ => {}
        }
        out.push(c);
    }
    Some(out)
}

impl ScalarUDFImpl for JsonText {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Parse => "parse_json",
            Kind::TryParse => "try_parse_json",
            Kind::Json => "json",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null] => {
                Ok(vec![DataType::Utf8])
            }
            // Flink's PARSE_JSON(s, allowDuplicateKeys): a repeated key is kept either way.
            [t, DataType::Boolean] if self.kind != Kind::Json && !t.is_nested() => {
                Ok(vec![DataType::Utf8, DataType::Boolean])
            }
            _ => Err(DataFusionError::Plan(format!(
                "function {} takes a string of JSON, not ({})",
                self.name().to_uppercase(),
                arg_types
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = arrays[0].as_string::<i32>();
        let mut out = StringBuilder::with_capacity(text.len(), text.values().len());
        for r in 0..text.len() {
            if text.is_null(r) {
                out.append_null();
                continue;
            }
            match (compact(text.value(r)), self.kind) {
                (Some(json), _) => out.append_value(json),
                (None, Kind::TryParse) => out.append_null(),
                (None, _) => {
                    return Err(DataFusionError::External(Box::new(
                        crate::RuntimeError::User(format!(
                            "{}: '{}' is not valid JSON",
                            self.name().to_uppercase(),
                            text.value(r)
                        )),
                    )))
                }
            }
        }
        let out: ArrayRef = Arc::new(out.finish());
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compacts_outside_strings_only() {
        assert_eq!(compact(r#"{"a": 1}"#).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(
            compact(r#"{ "b" : "x y \" z", "a": [1, 2.50] }"#).as_deref(),
            Some(r#"{"b":"x y \" z","a":[1,2.50]}"#)
        );
        assert_eq!(compact("bad"), None);
        assert_eq!(compact("[1] [2]"), None);
        assert_eq!(compact(" 3 ").as_deref(), Some("3"));
    }
}
