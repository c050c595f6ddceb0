//! Flink's `x IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT]`, which the SQL layer plans
//! as `[NOT] is_json(x, 'KIND')`. As in Flink (Calcite's `SqlJsonUtils`, parsing with
//! Jackson) the text is JSON when it starts with one JSON value of the kind, after optional
//! whitespace; SCALAR is any value but an object or an array. Jackson stops reading after
//! that first value, so `'{} x'` and `'[]]'` are JSON, while a number or `true` must end
//! where a token would (`'1 2'` is JSON, `'1x'` and `'truex'` are not). NULL is not JSON:
//! `IS JSON` is false and `IS NOT JSON` true, never NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// The `is_json` function, for registration.
pub(super) fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(IsJson {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct IsJson {
    signature: Signature,
}

/// What a JSON text starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Array,
    Object,
}

/// Jackson's default limits (`StreamReadConstraints`): nested objects and arrays, digits
/// of a number's integer or fraction part, characters of a property name.
const MAX_DEPTH: usize = 1000;
const MAX_NUMBER_DIGITS: usize = 1000;
const MAX_NAME_LENGTH: usize = 50_000;

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// Calcite's name of a type, as Flink's message shows it.
pub(super) fn calcite_name(t: &DataType) -> String {
    match t {
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Decimal128(..) | DataType::Decimal256(..) => "DECIMAL".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "VARBINARY".into(),
        other => other.to_string().to_uppercase(),
    }
}

fn kind_argument(value: Option<&ScalarValue>) -> Result<&str> {
    match value {
        Some(ScalarValue::Utf8(Some(k)))
            if ["VALUE", "SCALAR", "ARRAY", "OBJECT"].contains(&k.as_str()) =>
        {
            Ok(k)
        }
        _ => Err(bad_kind()),
    }
}

fn bad_kind() -> DataFusionError {
    DataFusionError::Plan(
        "is_json takes the JSON kind as 'VALUE', 'SCALAR', 'ARRAY' or 'OBJECT'; write x IS JSON [kind]".into(),
    )
}

impl ScalarUDFImpl for IsJson {
    fn name(&self) -> &str {
        "is_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            // A non-text operand is refused with the kind in the message, which only
            // `return_field_from_args` sees.
            [text, _] => Ok(vec![
                if is_text(text) {
                    DataType::Utf8
                } else {
                    text.clone()
                },
                DataType::Utf8,
            ]),
            _ => Err(DataFusionError::Plan(format!(
                "is_json takes a text and a JSON kind, not {} arguments",
                args.len()
            ))),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let kind = kind_argument(args.scalar_arguments.get(1).copied().flatten())?;
        if let Some(f) = args.arg_fields.first().filter(|f| !is_text(f.data_type())) {
            let t = calcite_name(f.data_type());
            return Err(DataFusionError::Plan(format!(
                "Cannot apply 'IS JSON {kind}' to arguments of type '<{t}> IS JSON {kind}'. Supported form(s): '<CHARACTER> IS JSON {kind}'"
            )));
        }
        // Never NULL: NULL input is not JSON.
        Ok(Arc::new(Field::new(self.name(), DataType::Boolean, false)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let kind = match &args.args[1] {
            ColumnarValue::Scalar(s) => kind_argument(Some(s))?.to_string(),
            ColumnarValue::Array(_) => return Err(bad_kind()),
        };
        let text: ArrayRef = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let wanted = |k: Kind| match kind.as_str() {
            "SCALAR" => k == Kind::Scalar,
            "ARRAY" => k == Kind::Array,
            "OBJECT" => k == Kind::Object,
            _ => true,
        };
        let out: BooleanArray = (0..rows)
            .map(|r| Some(text.is_valid(r) && first_value(text.value(r)).is_some_and(wanted)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The kind of the JSON value `text` starts with, or `None` when it does not start with one.
fn first_value(text: &str) -> Option<Kind> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    p.skip_space();
    let first = p.peek()?;
    let kind = match first {
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        _ => Kind::Scalar,
    };
    p.value(0)?;
    // Jackson checks what follows a root number (a space must separate it from more);
    // what follows an object, array or string is never read.
    if (first == b'-' || first.is_ascii_digit())
        && p.peek()
            .is_some_and(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return None;
    }
    Some(kind)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.bump();
        self.skip_space();
        if self.peek()? == b'}' {
            self.bump();
            return Some(());
        }
        loop {
            self.skip_space();
            if self.peek()? != b'"' {
                return None;
            }
            let start = self.at;
            self.string()?;
            // Bytes, not characters: only a name of many multi-byte characters could be
            // refused here and not by Jackson.
            if self.at - start - 2 > MAX_NAME_LENGTH {
                return None;
            }
            self.skip_space();
            if self.bump()? != b':' {
                return None;
            }
            self.skip_space();
            self.value(depth)?;
            self.skip_space();
            match self.bump()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.bump();
        self.skip_space();
        if self.peek()? == b']' {
            self.bump();
            return Some(());
        }
        loop {
            self.skip_space();
            self.value(depth)?;
            self.skip_space();
            match self.bump()? {
                b',' => continue,
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        self.bump();
        loop {
            match self.bump()? {
                b'"' => return Some(()),
                b'\\' => match self.bump()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.bump()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                // Control characters must be escaped.
                c if c < 0x20 => return None,
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek()? {
            // No leading zeros: `01` is not a number.
            b'0' if self.bytes.get(self.at + 1).is_some_and(u8::is_ascii_digit) => return None,
            b'0'..=b'9' => {
                if self.digits() > MAX_NUMBER_DIGITS {
                    return None;
                }
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !(1..=MAX_NUMBER_DIGITS).contains(&self.digits()) {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if !self.bytes[self.at..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        // Jackson refuses a literal run on into a Java identifier (`truex`, `null1`), not
        // into other characters (`true,`, `true` and a no-break space).
        let next = self
            .text
            .get(self.at..)
            .and_then(|rest| rest.chars().next());
        match next {
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => None,
            _ => Some(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_value_as_flink_does() {
        // Expected answers: Flink 2.3 (`x IS JSON`, `IS JSON SCALAR|ARRAY|OBJECT`).
        for json in [
            "1",
            "{}",
            "\"abc\"",
            "null",
            " {\"a\": 1} ",
            "  [1]",
            "{} x",
            "{} {}",
            "[1] 2",
            "1 2",
            "true x",
            "\"a\"x",
            "{}x",
            "[]]",
            "{}}",
            "[1] [",
            "-0",
            "1e400",
            "\"\\u00e9\"",
            "123456789012345678901234567890",
            "{\"a\":1,\"a\":2}",
            "[1, {\"a\": [2]}]",
            "1.5e3",
        ] {
            assert!(first_value(json).is_some(), "{json:?} is JSON");
        }
        for not in [
            "abc",
            "",
            "   ",
            "1x",
            "truex",
            "1,",
            "nul",
            "-",
            "1.",
            ".5",
            "01",
            "NaN",
            "[1,]",
            "{\"a\":1,}",
            "{'a': 1}",
            "{a: 1}",
            "/* c */ {}",
            "\"a",
            "[\"a\\x\"]",
            "\"tab\tx\"",
            "{\"a\":1",
        ] {
            assert!(first_value(not).is_none(), "{not:?} is not JSON");
        }
        assert_eq!(first_value("[1, {\"a\": [2]}]"), Some(Kind::Array));
        assert_eq!(first_value("{\"a\": [1]}"), Some(Kind::Object));
        assert_eq!(first_value("null"), Some(Kind::Scalar));
        // Jackson's limits, and what may follow a literal (Flink 2.3's answers).
        assert!(first_value(&"1".repeat(1001)).is_none());
        assert!(first_value(&"1".repeat(1000)).is_some());
        assert!(first_value(&format!("1.{}", "1".repeat(5000))).is_none());
        assert!(first_value(&format!("{{\"{}\":1}}", "a".repeat(50_001))).is_none());
        assert!(first_value(&format!("{{\"{}\":1}}", "a".repeat(50_000))).is_some());
        assert_eq!(first_value("true\u{a0}"), Some(Kind::Scalar));
        assert_eq!(first_value("true\u{e9}"), None);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(first_value(&deep), None);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(first_value(&ok), Some(Kind::Array));
    }
}
