//! User functions written in Python (`CREATE FUNCTION f AS 'module.function' LANGUAGE
//! PYTHON`, Flink's form). As in Flink, the function runs in a Python process beside the
//! task, not inside Eddy: a worker per subtask (`worker.rs`) gets a whole batch per
//! request and answers its results, so a batch costs one round trip whatever its rows.
//! The definition travels in the job graph with the expression (`expr_codec.rs`), so a
//! TaskManager in another process starts its own workers from it.

mod worker;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, StringArray};
use datafusion::arrow::compute::{cast, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde::{Deserialize, Serialize};

pub use worker::Description;
use worker::{CallError, Worker, Workers};

use crate::error::RuntimeError;

/// A Python function as its CREATE FUNCTION defined it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PythonFunction {
    /// The name SQL calls it by.
    pub name: String,
    /// Flink's `module.function` (the AS of CREATE FUNCTION), or empty with a body.
    pub target: String,
    /// The body of PostgreSQL's `CREATE FUNCTION f(a, b) ... AS $$ ... $$`, with its
    /// parameters' names.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub params: Vec<String>,
    /// The parameters' types in PostgreSQL's form, as Arrow writes them: arguments are
    /// cast to them. Empty in Flink's form, which takes arguments as the call gives them.
    #[serde(default)]
    pub param_types: Vec<String>,
    /// `python.files` when it was created: files or folders put on the module path.
    pub files: Vec<String>,
    /// `python.executable` when it was created.
    pub executable: String,
    /// How many arguments it takes: at least `arity.0`, at most `arity.1` (any with None).
    pub arity: (usize, Option<usize>),
    /// The result type, as Arrow writes it (`DataType`'s Display, read back by FromStr).
    pub result_type: String,
    /// The result type's SQL name, for messages.
    #[serde(default)]
    pub result_name: String,
    pub deterministic: bool,
}

/// An Arrow type written by its Display, read back.
fn read_type(function: &str, text: &str) -> Result<DataType> {
    text.parse::<DataType>()
        .map_err(|e| DataFusionError::Internal(format!("function {function}: type {text}: {e}")))
}

impl PythonFunction {
    fn data_type(&self) -> Result<DataType> {
        read_type(&self.name, &self.result_type)
    }
}

/// Loads the function in a Python process (as the definition names it, with its files)
/// and says what it takes and returns; the process ends afterwards. Blocking.
pub fn describe(function: &PythonFunction) -> crate::Result<Description> {
    match Worker::start(function) {
        Ok((_, description)) => Ok(description),
        Err(e) => Err(call_error(&function.name, e)),
    }
}

/// The tag naming how values of a type travel (see worker.py); `None` for types Python
/// functions do not take or return.
fn tag(t: &DataType) -> Option<&'static str> {
    Some(match t {
        DataType::Boolean => "bool",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "int",
        DataType::Float32 | DataType::Float64 => "float",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "str",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "bytes",
        DataType::Decimal128(_, _) => "decimal",
        DataType::Date32 => "date",
        DataType::Timestamp(_, _) => "timestamp",
        _ => return None,
    })
}

/// Whether a Python function can take and return values of this type.
pub fn returnable(t: &DataType) -> bool {
    tag(t).is_some()
}

/// The types Python functions take, in words for messages.
const TAKEN: &str =
    "BOOLEAN, integers, FLOAT, DOUBLE, DECIMAL, STRING, BYTES, DATE and TIMESTAMP values";

/// The SQL function: a Python function and its idle workers.
#[derive(Debug)]
pub struct PythonUdf {
    function: PythonFunction,
    return_type: DataType,
    signature: Signature,
    workers: Workers,
}

impl PartialEq for PythonUdf {
    fn eq(&self, other: &Self) -> bool {
        self.function == other.function
    }
}

impl Eq for PythonUdf {}

impl Hash for PythonUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.function.hash(state)
    }
}

/// The SQL function for a definition.
pub fn python_udf(function: PythonFunction) -> Result<Arc<ScalarUDF>> {
    let return_type = function.data_type()?;
    let volatility = match function.deterministic {
        true => Volatility::Immutable,
        false => Volatility::Volatile,
    };
    Ok(Arc::new(ScalarUDF::from(PythonUdf {
        function,
        return_type,
        signature: Signature::user_defined(volatility),
        workers: Workers::default(),
    })))
}

/// The definition of a Python function, for the job graph; `None` for other functions.
pub fn definition_of(udf: &ScalarUDF) -> Option<&PythonFunction> {
    udf.inner().downcast_ref::<PythonUdf>().map(|p| &p.function)
}

fn call_error(name: &str, e: CallError) -> RuntimeError {
    match e {
        CallError::Worker(e) => e,
        CallError::Function { message, kind, .. } if kind == "load" => RuntimeError::UserFunction {
            sqlstate: "38000",
            message: format!("Python function {name} cannot be loaded: {message}"),
        },
        CallError::Function { message, row, kind } => RuntimeError::UserFunction {
            sqlstate: match kind.as_str() {
                "result" => "22P02",
                // A value Python's types cannot hold (a year outside 1..9999).
                "argument" => "22008",
                _ => "38000",
            },
            message: format!(
                "Python function {name} failed on row {} of its batch: {message}",
                row + 1
            ),
        },
    }
}

/// One argument's values as worker.py reads them: Arrow's text, bytes as base64.
fn write_argument(out: &mut Vec<u8>, array: &ArrayRef, tag: &str) -> Result<()> {
    out.extend_from_slice(b"{\"t\":\"");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b"\",\"v\":[");
    let bytes = tag == "bytes";
    let values = match bytes {
        true => cast(array, &DataType::Binary)?,
        false => cast_with_options(
            array,
            &DataType::Utf8,
            &CastOptions {
                safe: false,
                format_options: FormatOptions::default(),
            },
        )?,
    };
    for row in 0..array.len() {
        if row > 0 {
            out.push(b',');
        }
        if array.is_null(row) {
            out.extend_from_slice(b"null");
        } else if bytes {
            out.push(b'"');
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(values.as_binary::<i32>().value(row));
            out.extend_from_slice(encoded.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, values.as_string::<i32>().value(row))
                .map_err(|e| DataFusionError::Internal(e.to_string()))?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

impl PythonUdf {
    /// The type an argument of type `t` is passed as, in Flink's form.
    fn argument_type(&self, t: &DataType) -> Result<DataType> {
        match t {
            DataType::Dictionary(_, value) => self.argument_type(value),
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => Ok(DataType::Int64),
            DataType::UInt64 => Ok(DataType::Decimal128(20, 0)),
            DataType::Float16 => Ok(DataType::Float32),
            DataType::Date64 => Ok(DataType::Date32),
            DataType::Null => Ok(DataType::Utf8),
            DataType::Timestamp(TimeUnit::Second, tz) => {
                Ok(DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))
            }
            t if tag(t).is_some() => Ok(t.clone()),
            t => Err(DataFusionError::NotImplemented(format!(
                "Python function {} cannot take a {t} argument: Python functions take {TAKEN}",
                self.function.name
            ))),
        }
    }

    /// Results as text into the result type: PL/Python's rule, each read as the type's input.
    fn results(&self, values: Vec<Option<String>>) -> Result<ArrayRef> {
        let bad = |e: String| {
            DataFusionError::External(Box::new(RuntimeError::UserFunction {
                sqlstate: "22P02",
                message: format!(
                    "Python function {} returned a value that is not a {}: {e}",
                    self.function.name, self.function.result_name
                ),
            }))
        };
        if tag(&self.return_type) == Some("bytes") {
            let mut out = BinaryBuilder::with_capacity(values.len(), 0);
            for v in &values {
                match v {
                    None => out.append_null(),
                    Some(text) => out.append_value(
                        base64::engine::general_purpose::STANDARD
                            .decode(text)
                            .map_err(|e| bad(e.to_string()))?,
                    ),
                }
            }
            return Ok(Arc::new(out.finish()));
        }
        let text: ArrayRef = Arc::new(StringArray::from(values));
        let options = CastOptions {
            safe: false,
            format_options: FormatOptions::default(),
        };
        cast_with_options(&text, &self.return_type, &options).map_err(|e| bad(e.to_string()))
    }
}

impl ScalarUDFImpl for PythonUdf {
    fn name(&self) -> &str {
        &self.function.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (low, high) = self.function.arity;
        if arg_types.len() < low || high.is_some_and(|h| arg_types.len() > h) {
            let wanted = match high {
                Some(h) if h == low => format!("{low}"),
                Some(h) => format!("{low} to {h}"),
                None => format!("at least {low}"),
            };
            return Err(DataFusionError::Plan(format!(
                "Invalid function call: Python function {} takes {wanted} arguments, not {}",
                self.function.name,
                arg_types.len()
            )));
        }
        if !self.function.param_types.is_empty() {
            return self
                .function
                .param_types
                .iter()
                .map(|t| read_type(&self.function.name, t))
                .collect();
        }
        arg_types.iter().map(|t| self.argument_type(t)).collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Constant arguments make one call, unless the function may answer each row
        // differently (VOLATILE, or pyflink's deterministic=False).
        let scalar = self.function.deterministic
            && args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = match scalar {
            true => 1,
            false => args.number_rows,
        };
        if rows == 0 {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.return_type),
            ));
        }
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let result_tag = tag(&self.return_type).unwrap_or("str");
        let mut request =
            format!("{{\"n\":{rows},\"result\":\"{result_tag}\",\"args\":[").into_bytes();
        for (i, array) in arrays.iter().enumerate() {
            if i > 0 {
                request.push(b',');
            }
            let t = tag(array.data_type()).ok_or_else(|| {
                DataFusionError::Internal(format!("uncoerced argument type {}", array.data_type()))
            })?;
            write_argument(&mut request, array, t)?;
        }
        request.extend_from_slice(b"]}");
        let values = self
            .workers
            .call(&self.function, &request)
            .map_err(|e| DataFusionError::External(Box::new(call_error(&self.function.name, e))))?;
        if values.len() != rows {
            return Err(DataFusionError::External(Box::new(RuntimeError::External(
                format!(
                    "the Python worker of function {} answered {} values for {rows} rows",
                    self.function.name,
                    values.len()
                ),
            ))));
        }
        let out = self.results(values)?;
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests;
