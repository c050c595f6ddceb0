//! JSON values in document order and the path language of Flink's JSON functions (Calcite's
//! `JsonFunctions` over Jayway JsonPath): an optional mode (`lax`, the default, or
//! `strict`), then `$` followed by `.name`, `['name']` / `["name"]` (also after a dot:
//! `$.['a b']`), `[n]` and the wildcards `.*` and `[*]`. In lax mode a step that finds
//! nothing makes the result empty; in strict mode it is an error.
//!
//! Objects keep their keys in document order, as Flink prints them (`serde_json`'s own
//! `Value` sorts them).

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed JSON value, objects in document order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    entries.push((k, v));
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    /// Parses a JSON text; None when it is not one.
    pub fn parse(text: &str) -> Option<Json> {
        serde_json::from_str(text).ok()
    }

    /// Compact JSON text, keys in document order.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Json::String(s) => out.push_str(&quoted(s)),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(k));
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Json::Array(_) | Json::Object(_))
    }
}

/// A string as a JSON string literal.
pub(super) fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct JsonPath {
    strict: bool,
    steps: Vec<Step>,
    /// The path as written after its mode, for messages.
    text: String,
}

/// What a path finds.
#[derive(Debug, PartialEq)]
pub(super) enum Found {
    /// Nothing, or a JSON null (lax mode, a path without wildcards).
    Empty,
    /// One value (a path without wildcards).
    One(Json),
    /// Every value a path with wildcards found, perhaps none: Jayway reads such a path
    /// as a list, which is never missing.
    Many(Vec<Json>),
}

impl JsonPath {
    /// Parses a path; Err names what is wrong with it. A path without a mode is strict,
    /// as in Calcite.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let text = text.trim();
        let (strict, rest) = match text.split_once(char::is_whitespace) {
            Some((mode, rest)) if mode.eq_ignore_ascii_case("strict") => (true, rest.trim_start()),
            Some((mode, rest)) if mode.eq_ignore_ascii_case("lax") => (false, rest.trim_start()),
            _ => (true, text),
        };
        let chars: Vec<char> = rest.chars().collect();
        if chars.first() != Some(&'$') {
            return Err(format!("a JSON path starts with $: '{text}'"));
        }
        let mut steps = Vec::new();
        let mut i = 1;
        while i < chars.len() {
            match chars[i] {
                '.' if chars.get(i + 1) == Some(&'[') => i += 1,
                '.' if chars.get(i + 1) == Some(&'*') => {
                    steps.push(Step::Wildcard);
                    i += 2;
                }
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    if end == start {
                        return Err(format!("a JSON path step has no name: '{text}'"));
                    }
                    steps.push(Step::Key(chars[start..end].iter().collect()));
                    i = end;
                }
                '[' => {
                    let unclosed = || format!("an unclosed [ in the JSON path '{text}'");
                    let open = i + 1;
                    let step = match chars.get(open) {
                        Some(&q) if q == '\'' || q == '"' => {
                            let end = (open + 1..chars.len())
                                .find(|&j| chars[j] == q)
                                .ok_or_else(unclosed)?;
                            if chars.get(end + 1) != Some(&']') {
                                return Err(unclosed());
                            }
                            i = end + 2;
                            Step::Key(chars[open + 1..end].iter().collect())
                        }
                        _ => {
                            let end = (open..chars.len())
                                .find(|&j| chars[j] == ']')
                                .ok_or_else(unclosed)?;
                            let inner: String = chars[open..end].iter().collect();
                            i = end + 1;
                            match inner.trim() {
                                "*" => Step::Wildcard,
                                n => Step::Index(n.parse().map_err(|_| {
                                    format!("'{n}' is not an index in the JSON path '{text}'")
                                })?),
                            }
                        }
                    };
                    steps.push(step);
                }
                c => return Err(format!("unexpected '{c}' in the JSON path '{text}'")),
            }
        }
        Ok(JsonPath {
            strict,
            steps,
            text: rest.to_string(),
        })
    }

    /// Whether the path is in strict mode.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Evaluates the path over `doc` as Jayway does under Calcite's modes: a step that
    /// finds nothing before any wildcard is an error in strict mode (so is a JSON null at
    /// the end of a path without wildcards) and makes the result empty in lax mode; after
    /// a wildcard, values without the step are left out.
    pub fn find(&self, doc: &Json) -> Result<Found, String> {
        let mut current: Vec<&Json> = vec![doc];
        let mut many = false;
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match (step, value) {
                    (Step::Key(k), Json::Object(entries)) => {
                        if let Some((_, v)) = entries.iter().find(|(key, _)| key == k) {
                            next.push(v);
                        }
                    }
                    (Step::Index(n), Json::Array(items)) => {
                        if let Some(v) = items.get(*n) {
                            next.push(v);
                        }
                    }
                    (Step::Wildcard, Json::Array(items)) => next.extend(items.iter()),
                    (Step::Wildcard, Json::Object(entries)) => {
                        next.extend(entries.iter().map(|(_, v)| v))
                    }
                    _ => {}
                }
            }
            many |= *step == Step::Wildcard;
            if next.is_empty() && !many {
                return match (self.strict, self.has_wildcard()) {
                    (true, _) => Err(format!("No results for path: {}", self.text)),
                    (false, true) => Ok(Found::Many(Vec::new())),
                    (false, false) => Ok(Found::Empty),
                };
            }
            current = next;
        }
        Ok(match (many, current.as_slice()) {
            (false, [Json::Null]) if self.strict => {
                return Err(format!("No results for path: {}", self.text))
            }
            (false, [Json::Null]) => Found::Empty,
            (false, [one]) => Found::One((*one).clone()),
            _ => Found::Many(current.into_iter().cloned().collect()),
        })
    }

    fn has_wildcard(&self) -> bool {
        self.steps.contains(&Step::Wildcard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(doc: &str, path: &str) -> Result<Found, String> {
        JsonPath::parse(path)?.find(&Json::parse(doc).expect("JSON"))
    }

    #[test]
    fn paths_find_what_jayway_finds_and_objects_keep_their_order() {
        let one = |doc: &str, path: &str| match find(doc, path) {
            Ok(Found::One(v)) => v.text(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            one(r#"{"b": 1, "a": [{"c": 2}]}"#, "$"),
            r#"{"b":1,"a":[{"c":2}]}"#
        );
        assert_eq!(one(r#"{"a": [{"b": 1}]}"#, "$.a[0].b"), "1");
        assert_eq!(
            one(r#"{"a.b": [0.998, 0.996]}"#, r#"$.["a.b"][0]"#),
            "0.998"
        );
        assert_eq!(one(r#"{"x y": "r"}"#, "strict $.['x y']"), r#""r""#);
        // Without a mode a path is strict, as in Calcite.
        assert!(find(r#"{"a": 1}"#, "$.b").is_err());
        assert_eq!(find(r#"{"a": 1}"#, "lax $.b"), Ok(Found::Empty));
        assert!(find(r#"{"a": 1}"#, "strict $.b").is_err());
        // A JSON null is nothing in lax mode and an error in strict mode.
        assert_eq!(find(r#"{"a": null}"#, "lax $.a"), Ok(Found::Empty));
        assert!(find(r#"{"a": null}"#, "$.a").is_err());
        // A path with wildcards finds a list, perhaps empty; in strict mode a step before
        // the wildcard must find something.
        assert_eq!(find(r#"{"a": []}"#, "$.a[*]"), Ok(Found::Many(vec![])));
        assert_eq!(find("{}", "lax $.x[*]"), Ok(Found::Many(vec![])));
        assert!(find("{}", "$.x[*]").is_err());
        match find(r#"{"a": [{"b": 1}, {"c": 2}]}"#, "$.a[*].b") {
            Ok(Found::Many(v)) => assert_eq!(Json::Array(v).text(), "[1]"),
            other => panic!("{other:?}"),
        }
        match find(r#"{"a":[{"c":"c1"},{"c":"c2"}]}"#, "lax $.a[*].c") {
            Ok(Found::Many(v)) => assert_eq!(Json::Array(v).text(), r#"["c1","c2"]"#),
            other => panic!("{other:?}"),
        }
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse("$.a[x]").is_err());
        assert_eq!(Json::parse("not json"), None);
    }
}
