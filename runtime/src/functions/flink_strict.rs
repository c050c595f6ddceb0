//! DataFusion functions whose answers Flink gives differently, wrapped to Flink's: GREATEST
//! and LEAST are NULL when any argument is (DataFusion skips NULLs), and the SHA digests are
//! lower-case hexadecimal strings (DataFusion's are bytes), with Flink's `SHA2(s, bits)`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use datafusion::arrow::compute::kernels::boolean::or;
use datafusion::arrow::compute::{is_null, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use datafusion::functions::{core, crypto};
    let strict = |inner: Arc<ScalarUDF>| Arc::new(ScalarUDF::from(NullStrict { inner }));
    let hex = |inner: Arc<ScalarUDF>| Arc::new(ScalarUDF::from(HexDigest { inner }));
    vec![
        strict(core::greatest()),
        strict(core::least()),
        hex(crypto::sha224()),
        hex(crypto::sha256()),
        hex(crypto::sha384()),
        hex(crypto::sha512()),
        Arc::new(ScalarUDF::from(Sha2 {
            signature: Signature::user_defined(Volatility::Immutable),
        })),
    ]
}

/// `inner`, NULL on every row where an argument is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NullStrict {
    inner: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for NullStrict {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut any_null: Option<BooleanArray> = None;
        for value in &args.args {
            let nulls = match value {
                ColumnarValue::Scalar(s) if s.is_null() => {
                    return Ok(ColumnarValue::Scalar(ScalarValue::try_from(
                        self.inner.return_type(
                            &args
                                .arg_fields
                                .iter()
                                .map(|f| f.data_type().clone())
                                .collect::<Vec<_>>(),
                        )?,
                    )?))
                }
                ColumnarValue::Scalar(_) => continue,
                ColumnarValue::Array(a) if a.null_count() == 0 => continue,
                ColumnarValue::Array(a) => is_null(a)?,
            };
            any_null = Some(match any_null {
                None => nulls,
                Some(m) => or(&m, &nulls)?,
            });
        }
        let out = self.inner.invoke_with_args(args)?;
        match any_null {
            None => Ok(out),
            Some(mask) => Ok(ColumnarValue::Array(nullif(&out.into_array(rows)?, &mask)?)),
        }
    }
}

/// `inner` (a digest as bytes) as lower-case hexadecimal text.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HexDigest {
    inner: Arc<ScalarUDF>,
}

fn to_hex(digest: &ArrayRef) -> ArrayRef {
    let bytes = digest.as_binary::<i32>();
    let mut out = StringBuilder::with_capacity(bytes.len(), bytes.len() * 64);
    for r in 0..bytes.len() {
        match bytes.is_null(r) {
            true => out.append_null(),
            false => out.append_value(
                bytes
                    .value(r)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            ),
        }
    }
    Arc::new(out.finish())
}

impl ScalarUDFImpl for HexDigest {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        args.return_field = Arc::new(datafusion::arrow::datatypes::Field::new(
            self.name(),
            DataType::Binary,
            true,
        ));
        let digest = self.inner.invoke_with_args(args)?.into_array(rows)?;
        let digest = datafusion::arrow::compute::cast(&digest, &DataType::Binary)?;
        Ok(ColumnarValue::Array(to_hex(&digest)))
    }
}

/// Flink's `SHA2(string, bits)`: SHA-224, 256, 384 or 512 as hexadecimal text.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Sha2 {
    signature: Signature,
}

impl ScalarUDFImpl for Sha2 {
    fn name(&self) -> &str {
        "sha2"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types.len() {
            2 => Ok(vec![DataType::Utf8, DataType::Int64]),
            n => Err(DataFusionError::Plan(format!(
                "function SHA2 takes a string and a bit length, not {n} arguments"
            ))),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::functions::crypto;
        let rows = args.number_rows;
        let bits = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Int64(bits)) => *bits,
            _ => {
                return Err(DataFusionError::Plan(
                    "SHA2 takes its bit length as a literal (224, 256, 384 or 512)".into(),
                ))
            }
        };
        let Some(bits) = bits else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
        };
        let inner = match bits {
            224 => crypto::sha224(),
            256 => crypto::sha256(),
            384 => crypto::sha384(),
            512 => crypto::sha512(),
            other => {
                return Err(DataFusionError::External(Box::new(
                    crate::RuntimeError::User(format!(
                        "SHA2: {other} is not a bit length; use 224, 256, 384 or 512"
                    )),
                )))
            }
        };
        let digest = inner.invoke_with_args(ScalarFunctionArgs {
            args: vec![args.args[0].clone()],
            arg_fields: vec![args.arg_fields[0].clone()],
            number_rows: rows,
            return_field: Arc::new(datafusion::arrow::datatypes::Field::new(
                "digest",
                DataType::Binary,
                true,
            )),
            config_options: args.config_options.clone(),
        })?;
        let digest =
            datafusion::arrow::compute::cast(&digest.into_array(rows)?, &DataType::Binary)?;
        Ok(ColumnarValue::Array(to_hex(&digest)))
    }
}
