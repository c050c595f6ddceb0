//! Flink's `ENCODE(string, charset)` and `DECODE(bytes, charset)`, which turn text into a
//! character set's bytes and back (Java's `String.getBytes` and `new String`: a character
//! the set lacks becomes '?', bytes that are not valid become U+FFFD). PostgreSQL's
//! `encode` / `decode` with 'base64', 'hex' or 'escape' share the names: those formats
//! stay DataFusion's. Also `STARTSWITH` / `ENDSWITH`, which Flink applies to BYTES too.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use datafusion::functions::{encoding, string};
    let user = || Signature::user_defined(Volatility::Immutable);
    vec![
        Arc::new(ScalarUDF::from(Charset {
            inner: encoding::encode(),
            encode: true,
            signature: user(),
        })),
        Arc::new(ScalarUDF::from(Charset {
            inner: encoding::decode(),
            encode: false,
            signature: user(),
        })),
        Arc::new(ScalarUDF::from(Affix {
            inner: string::starts_with(),
            end: false,
            aliases: vec!["startswith".into()],
            signature: user(),
        })),
        Arc::new(ScalarUDF::from(Affix {
            inner: string::ends_with(),
            end: true,
            aliases: vec!["endswith".into()],
            signature: user(),
        })),
    ]
}

/// The character sets Java guarantees (plus common aliases), by normalised name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Set {
    Utf8,
    Ascii,
    Latin1,
    Utf16Be,
    Utf16Le,
    /// Java's "UTF-16": big-endian, written with a byte-order mark, read honouring one.
    Utf16,
}

fn charset(name: &str) -> Option<Set> {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "UTF8" => Set::Utf8,
        "USASCII" | "ASCII" => Set::Ascii,
        "ISO88591" | "LATIN1" | "ISOLATIN1" => Set::Latin1,
        "UTF16BE" => Set::Utf16Be,
        "UTF16LE" => Set::Utf16Le,
        "UTF16" => Set::Utf16,
        _ => return None,
    })
}

/// PostgreSQL's binary-to-text formats, which DataFusion answers.
fn is_pg_format(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "base64" | "hex" | "escape" | "base64pad"
    )
}

fn encode_one(s: &str, set: Set, out: &mut Vec<u8>) {
    match set {
        Set::Utf8 => out.extend_from_slice(s.as_bytes()),
        Set::Ascii => out.extend(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' })),
        Set::Latin1 => out.extend(
            s.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        ),
        Set::Utf16Be | Set::Utf16 => {
            if set == Set::Utf16 {
                out.extend_from_slice(&[0xFE, 0xFF]);
            }
            s.encode_utf16()
                .for_each(|u| out.extend_from_slice(&u.to_be_bytes()));
        }
        Set::Utf16Le => s
            .encode_utf16()
            .for_each(|u| out.extend_from_slice(&u.to_le_bytes())),
    }
}

fn decode_one(b: &[u8], set: Set) -> String {
    let utf16 = |b: &[u8], big: bool| {
        let units = b.chunks(2).map(|c| match (c, big) {
            ([hi, lo], true) => u16::from_be_bytes([*hi, *lo]),
            ([lo, hi], false) => u16::from_le_bytes([*lo, *hi]),
            // An odd trailing byte is malformed input.
            _ => 0xFFFD,
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
    };
    match set {
        Set::Utf8 => String::from_utf8_lossy(b).into_owned(),
        Set::Ascii => b
            .iter()
            .map(|&c| match c.is_ascii() {
                true => c as char,
                false => char::REPLACEMENT_CHARACTER,
            })
            .collect(),
        Set::Latin1 => b.iter().map(|&c| c as char).collect(),
        Set::Utf16Be => utf16(b, true),
        Set::Utf16Le => utf16(b, false),
        Set::Utf16 => match b {
            [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
            [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
            _ => utf16(b, true),
        },
    }
}

/// ENCODE or DECODE.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Charset {
    inner: Arc<ScalarUDF>,
    encode: bool,
    signature: Signature,
}

impl Charset {
    fn flink_type(&self) -> DataType {
        match self.encode {
            true => DataType::Binary,
            false => DataType::Utf8,
        }
    }
}

impl ScalarUDFImpl for Charset {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 {
            return Err(DataFusionError::Plan(format!(
                "function {} takes a value and a character set, not {} arguments",
                self.name().to_uppercase(),
                arg_types.len()
            )));
        }
        let value = match (&arg_types[0], self.encode) {
            (DataType::Binary | DataType::LargeBinary | DataType::BinaryView, _) => {
                DataType::Binary
            }
            (_, true) => DataType::Utf8,
            // DECODE of text: PostgreSQL's decode('aGk=', 'base64').
            (t, false) if t.is_null() => DataType::Binary,
            (_, false) => DataType::Utf8,
        };
        Ok(vec![value, DataType::Utf8])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.flink_type())
    }

    /// The result's type follows the format: a PostgreSQL format gives DataFusion's.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let format = match args.scalar_arguments.get(1).copied().flatten() {
            Some(ScalarValue::Utf8(Some(f))) => Some(f.as_str()),
            _ => None,
        };
        let data_type = match format {
            Some(f) if is_pg_format(f) => {
                self.inner.return_field_from_args(args)?.data_type().clone()
            }
            _ => self.flink_type(),
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let format = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(f)) => f.clone(),
            ColumnarValue::Scalar(_) => None,
            ColumnarValue::Array(_) => {
                return Err(DataFusionError::Plan(format!(
                    "{} takes its character set as a literal",
                    self.name().to_uppercase()
                )))
            }
        };
        let Some(format) = format else {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(
                args.return_field.data_type(),
            )?));
        };
        if is_pg_format(&format) {
            let mut args = args;
            // DataFusion's encode takes bytes; text is its UTF-8.
            if self.encode {
                args.args[0] = match &args.args[0] {
                    ColumnarValue::Scalar(v) => {
                        ColumnarValue::Scalar(v.cast_to(&DataType::Binary)?)
                    }
                    ColumnarValue::Array(a) => ColumnarValue::Array(
                        datafusion::arrow::compute::cast(a, &DataType::Binary)?,
                    ),
                };
                args.arg_fields[0] = Arc::new(Field::new("value", DataType::Binary, true));
            }
            return self.inner.invoke_with_args(args);
        }
        let set = charset(&format).ok_or_else(|| {
            DataFusionError::External(Box::new(crate::RuntimeError::User(format!(
                "{}: unknown character set '{format}'; Eddy knows UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE and UTF-16LE",
                self.name().to_uppercase()
            ))))
        })?;
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let values = args.args[0].clone().into_array(args.number_rows)?;
        let out: ArrayRef = match self.encode {
            true => {
                let text = datafusion::arrow::compute::cast(&values, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                let mut out = BinaryBuilder::with_capacity(text.len(), text.values().len());
                let mut buf = Vec::new();
                for r in 0..text.len() {
                    if text.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    buf.clear();
                    encode_one(text.value(r), set, &mut buf);
                    out.append_value(&buf);
                }
                Arc::new(out.finish())
            }
            false => {
                let bytes = datafusion::arrow::compute::cast(&values, &DataType::Binary)?;
                let bytes = bytes.as_binary::<i32>();
                let mut out = StringBuilder::with_capacity(bytes.len(), bytes.values().len());
                for r in 0..bytes.len() {
                    match bytes.is_null(r) {
                        true => out.append_null(),
                        false => out.append_value(decode_one(bytes.value(r), set)),
                    }
                }
                Arc::new(out.finish())
            }
        };
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// STARTSWITH / ENDSWITH: DataFusion's for text, a byte comparison for BYTES.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Affix {
    inner: Arc<ScalarUDF>,
    end: bool,
    aliases: Vec<String>,
    signature: Signature,
}

fn is_bytes(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

impl ScalarUDFImpl for Affix {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [a, b] if is_bytes(a) || is_bytes(b) => Ok(vec![DataType::Binary; 2]),
            [_, _] => Ok(vec![DataType::Utf8; 2]),
            _ => Err(DataFusionError::Plan(format!(
                "function {} takes two arguments, not {}",
                self.name().to_uppercase(),
                arg_types.len()
            ))),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !is_bytes(&args.args[0].data_type()) {
            return self.inner.invoke_with_args(args);
        }
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (value, affix): (&BinaryArray, &BinaryArray) =
            (arrays[0].as_binary::<i32>(), arrays[1].as_binary::<i32>());
        let out: BooleanArray = (0..value.len())
            .map(|r| {
                if value.is_null(r) || affix.is_null(r) {
                    return None;
                }
                let (v, a) = (value.value(r), affix.value(r));
                Some(match self.end {
                    true => v.ends_with(a),
                    false => v.starts_with(a),
                })
            })
            .collect();
        let out: ArrayRef = Arc::new(out);
        match scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str, set: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_one(s, charset(set).unwrap(), &mut out);
        out
    }

    #[test]
    fn character_sets_as_java_has_them() {
        assert_eq!(enc("abc", "UTF-8"), b"abc");
        assert_eq!(enc("é", "UTF-16BE"), vec![0x00, 0xE9]);
        assert_eq!(enc("é", "ISO-8859-1"), vec![0xE9]);
        assert_eq!(enc("é", "US-ASCII"), b"?");
        assert_eq!(decode_one(&[0x00, 0xE9], Set::Utf16Be), "é");
        assert_eq!(decode_one(b"hello", charset("us-ascii").unwrap()), "hello");
        assert_eq!(decode_one(&enc("héllo", "UTF-16"), Set::Utf16), "héllo");
        assert_eq!(decode_one(&[0xFF], Set::Utf8), "\u{FFFD}");
        assert!(charset("EBCDIC").is_none());
        assert!(is_pg_format("Base64"));
    }
}
