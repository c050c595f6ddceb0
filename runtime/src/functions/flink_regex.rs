//! Flink's `REGEXP_REPLACE(s, regex, replacement)` and `REGEXP_COUNT(s, regex)`, which
//! DataFusion answers as PostgreSQL does: Flink replaces every match (PostgreSQL only the
//! first, without the 'g' flag), takes the replacement literally (`$1` is text, as with
//! Java's `Matcher.quoteReplacement`), counts as an INT, and answers NULL rather than
//! failing for a pattern that does not compile. The PostgreSQL forms with flags or a
//! start position stay DataFusion's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkRegex {
    /// DataFusion's function, which answers the other arities.
    inner: Arc<ScalarUDF>,
    /// The arity Flink's form has: 3 for REGEXP_REPLACE, 2 for REGEXP_COUNT.
    flink_arity: usize,
    signature: Signature,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use datafusion::functions::regex;
    [(regex::regexp_replace(), 3), (regex::regexp_count(), 2)]
        .into_iter()
        .map(|(inner, flink_arity)| {
            Arc::new(ScalarUDF::from(FlinkRegex {
                inner,
                flink_arity,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

impl FlinkRegex {
    fn counts(&self) -> bool {
        self.flink_arity == 2
    }
}

impl ScalarUDFImpl for FlinkRegex {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        use DataType::{Int64, Utf8};
        let n = arg_types.len();
        // REGEXP_COUNT(s, regex [, start [, flags]]); REGEXP_REPLACE(s, regex, rep [, flags]).
        let (min, types): (usize, &[DataType]) = match self.counts() {
            true => (2, &[Utf8, Utf8, Int64, Utf8]),
            false => (3, &[Utf8, Utf8, Utf8, Utf8]),
        };
        if n < min || n > types.len() {
            return Err(DataFusionError::Plan(format!(
                "function {} does not take {n} arguments",
                self.name().to_uppercase()
            )));
        }
        Ok(types[..n].to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match (self.counts(), arg_types.len() == self.flink_arity) {
            (true, true) => DataType::Int32,
            (true, false) => DataType::Int64,
            (false, _) => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.len() != self.flink_arity {
            return self.inner.invoke_with_args(args);
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let strings: Vec<&StringArray> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let out: ArrayRef = match self.counts() {
            true => Arc::new(count(strings[0], strings[1])),
            false => Arc::new(replace_all(strings[0], strings[1], strings[2])),
        };
        match all_scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// Compiles patterns as the rows need them, once per distinct pattern in a row (a
/// literal pattern compiles once per batch); `None` for one that does not compile.
#[derive(Default)]
struct Patterns {
    last: Option<(String, Option<regex::Regex>)>,
}

impl Patterns {
    fn get(&mut self, pattern: &str) -> Option<&regex::Regex> {
        if self.last.as_ref().is_none_or(|(p, _)| p != pattern) {
            self.last = Some((pattern.to_string(), regex::Regex::new(pattern).ok()));
        }
        self.last.as_ref().and_then(|(_, re)| re.as_ref())
    }
}

fn replace_all(s: &StringArray, pattern: &StringArray, rep: &StringArray) -> StringArray {
    let mut patterns = Patterns::default();
    let mut out = StringBuilder::with_capacity(s.len(), s.values().len());
    for r in 0..s.len() {
        if s.is_null(r) || pattern.is_null(r) || rep.is_null(r) {
            out.append_null();
            continue;
        }
        match patterns.get(pattern.value(r)) {
            None => out.append_null(),
            Some(re) => out.append_value(re.replace_all(s.value(r), regex::NoExpand(rep.value(r)))),
        }
    }
    out.finish()
}

fn count(s: &StringArray, pattern: &StringArray) -> Int32Array {
    let mut patterns = Patterns::default();
    (0..s.len())
        .map(|r| {
            if s.is_null(r) || pattern.is_null(r) {
                return None;
            }
            let re = patterns.get(pattern.value(r))?;
            Some(re.find_iter(s.value(r)).count() as i32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[Option<&str>]) -> StringArray {
        StringArray::from(v.to_vec())
    }

    #[test]
    fn replaces_every_match_literally() {
        let out = replace_all(
            &strings(&[Some("foobar"), Some("a1b22c"), Some("abc"), None, Some("x")]),
            &strings(&[
                Some("oo|ar"),
                Some("[0-9]+"),
                Some("(b)"),
                Some("a"),
                Some("["),
            ]),
            &strings(&[Some(""), Some("#"), Some("[$1]"), Some("b"), Some("y")]),
        );
        let got: Vec<Option<&str>> = out.iter().collect();
        assert_eq!(
            got,
            vec![Some("fb"), Some("a#b#c"), Some("a[$1]c"), None, None]
        );
    }

    #[test]
    fn counts_matches_and_a_bad_pattern_is_null() {
        let out = count(
            &strings(&[Some("ababab"), Some("abc"), Some("abc"), None]),
            &strings(&[Some("ab"), Some("x"), Some("["), Some("a")]),
        );
        let got: Vec<Option<i32>> = out.iter().collect();
        assert_eq!(got, vec![Some(3), Some(0), None, None]);
    }
}
