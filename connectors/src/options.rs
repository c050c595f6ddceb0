//! Checking a table's WITH map against the options a connector declares, and reading
//! typed values out of it. `connector` is always allowed; any other key must be declared
//! (an unknown key is an error listing the valid ones, as Flink's `FactoryUtil` does).
//!
//! A declared key may be a pattern with `#` standing for a column of the table
//! (`fields.#.kind`): `fields.price.kind` matches it when `price` is a column.

use std::collections::BTreeMap;
use std::time::Duration;

use datafusion::arrow::datatypes::Schema;

use crate::error::{ConnectorError, Result};

/// The option every table has.
pub const CONNECTOR: &str = "connector";

/// `sink.parallelism`, as Flink's `FactoryUtil.SINK_PARALLELISM`: the sink's own subtask
/// count, which the planner gives the sink's vertex (declared by the sinks that take it).
pub const SINK_PARALLELISM: OptionKey = OptionKey::new(
    "sink.parallelism",
    "The sink's parallelism; by default that of its input. When it differs from the \
     input's, an insert-only input is rebalanced over the sink's subtasks and an updating \
     one is hashed by the sink's PRIMARY KEY, which it then needs.",
);

/// The value of `sink.parallelism`, if set: a whole number of at least 1.
pub fn sink_parallelism(options: &BTreeMap<String, String>) -> Result<Option<u32>> {
    let Some(value) = options.get(SINK_PARALLELISM.key) else {
        return Ok(None);
    };
    match value.trim().parse::<u32>() {
        Ok(p) if p >= 1 => Ok(Some(p)),
        _ => Err(ConnectorError::invalid(
            SINK_PARALLELISM.key,
            value,
            "expected a whole number of at least 1",
        )),
    }
}

/// A declared WITH option: its Flink key, default and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionKey {
    /// The key, e.g. `path` or the pattern `fields.#.kind`.
    pub key: &'static str,
    /// The value used when the option is absent.
    pub default: Option<&'static str>,
    /// What the option does (for docs and `SHOW`).
    pub description: &'static str,
}

/// How a WITH key matched a declared [`OptionKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMatch<'k> {
    /// The key is the declared key.
    Exact,
    /// The key matched a `#` pattern; this is the text in place of `#`.
    Column(&'k str),
}

impl OptionKey {
    /// An option without a default.
    pub const fn new(key: &'static str, description: &'static str) -> Self {
        Self {
            key,
            default: None,
            description,
        }
    }

    /// An option with a default value.
    pub const fn with_default(
        key: &'static str,
        default: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            key,
            default: Some(default),
            description,
        }
    }

    /// Whether the key is a `#` pattern.
    pub fn is_pattern(&self) -> bool {
        self.key.contains('#')
    }

    /// Matches a WITH key against this declaration.
    pub fn matches<'k>(&self, key: &'k str) -> Option<KeyMatch<'k>> {
        match self.key.split_once('#') {
            None => (self.key == key).then_some(KeyMatch::Exact),
            Some((prefix, suffix)) => {
                let middle = key.strip_prefix(prefix)?.strip_suffix(suffix)?;
                (!middle.is_empty()).then_some(KeyMatch::Column(middle))
            }
        }
    }

    /// The key of a pattern option for one column (`fields.#.kind` → `fields.price.kind`).
    pub fn for_column(&self, column: &str) -> String {
        self.key.replacen('#', column, 1)
    }
}

/// Checks `options` against the declared keys of `connector`: every key must be declared
/// (or be `connector`), pattern keys must name a column of `schema`, and every required
/// non-pattern key must be present.
pub fn check_options(
    connector: &str,
    table: &str,
    schema: &Schema,
    options: &BTreeMap<String, String>,
    required: &[OptionKey],
    optional: &[OptionKey],
) -> Result<()> {
    let declared = || required.iter().chain(optional.iter());
    for key in options.keys() {
        if key == CONNECTOR {
            continue;
        }
        let mut matched = None;
        for decl in declared() {
            match decl.matches(key) {
                Some(KeyMatch::Exact) => {
                    matched = Some(KeyMatch::Exact);
                    break;
                }
                Some(m @ KeyMatch::Column(_)) => matched = Some(m),
                None => {}
            }
        }
        match matched {
            Some(KeyMatch::Exact) => {}
            Some(KeyMatch::Column(column)) => {
                if schema.field_with_name(column).is_err() {
                    let columns: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    return Err(ConnectorError::OptionNotApplicable {
                        option: key.clone(),
                        reason: format!(
                            "table '{table}' has no column '{column}' (columns: {})",
                            columns.join(", ")
                        ),
                    });
                }
            }
            None => {
                let mut valid: Vec<String> = declared().map(|d| d.key.to_string()).collect();
                valid.sort();
                valid.dedup();
                return Err(ConnectorError::UnknownOption {
                    connector: connector.to_string(),
                    option: key.clone(),
                    valid,
                });
            }
        }
    }
    for decl in required {
        if !decl.is_pattern() && !options.contains_key(decl.key) {
            return Err(ConnectorError::MissingOption {
                connector: connector.to_string(),
                option: decl.key.to_string(),
            });
        }
    }
    sink_parallelism(options).map(|_| ())
}

/// The raw value of an option, or its default.
pub fn get<'a>(options: &'a BTreeMap<String, String>, key: &OptionKey) -> Option<&'a str> {
    options.get(key.key).map(String::as_str).or(key.default)
}

/// The value of a required option.
pub fn get_required<'a>(
    connector: &str,
    options: &'a BTreeMap<String, String>,
    key: &OptionKey,
) -> Result<&'a str> {
    get(options, key).ok_or_else(|| ConnectorError::MissingOption {
        connector: connector.to_string(),
        option: key.key.to_string(),
    })
}

/// A boolean option (`true` / `false`, any case).
pub fn get_bool(options: &BTreeMap<String, String>, key: &OptionKey) -> Result<bool> {
    match get(options, key) {
        None => Ok(false),
        Some(v) => parse_bool(key.key, v),
    }
}

/// Parses `true` / `false` (any case).
pub fn parse_bool(option: &str, value: &str) -> Result<bool> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConnectorError::invalid(
            option,
            value,
            "expected 'true' or 'false'",
        ))
    }
}

/// An optional positive integer option.
pub fn get_positive_u64(
    options: &BTreeMap<String, String>,
    key: &OptionKey,
) -> Result<Option<u64>> {
    get(options, key)
        .map(|v| match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConnectorError::invalid(
                key.key,
                v,
                "expected a positive integer",
            )),
        })
        .transpose()
}

/// An optional non-negative integer option.
pub fn get_u64(options: &BTreeMap<String, String>, key: &OptionKey) -> Result<Option<u64>> {
    get(options, key)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| ConnectorError::invalid(key.key, v, "expected a non-negative integer"))
        })
        .transpose()
}

/// A single-character option; Java escapes `\t` and `\\` are understood as Flink does.
/// The character must be ASCII, since formats split bytes.
pub fn get_char(options: &BTreeMap<String, String>, key: &OptionKey) -> Result<Option<u8>> {
    let Some(raw) = get(options, key) else {
        return Ok(None);
    };
    let unescaped = match raw {
        "\\t" => "\t",
        "\\\\" => "\\",
        "\\'" => "'",
        "\\\"" => "\"",
        other => other,
    };
    let bytes = unescaped.as_bytes();
    if bytes.len() != 1 || !bytes[0].is_ascii() {
        return Err(ConnectorError::invalid(
            key.key,
            raw,
            "expected a single ASCII character",
        ));
    }
    Ok(Some(bytes[0]))
}

/// Parses a Flink duration: a number with an optional unit (`ms`, `s`, `min`, `h`, `d`,
/// and their long forms); a bare number is milliseconds.
pub fn parse_duration(option: &str, value: &str) -> Result<Duration> {
    let text = value.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        ConnectorError::invalid(
            option,
            value,
            "expected a duration such as '500 ms', '10 s', '5 min', '1 h' or '2 d'",
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let millis_per_unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(bad)
}

/// Parses a Flink memory size: a number with an optional unit (`b`, `kb`, `mb`, `gb`, `tb`,
/// or `k`, `m`, `g`, `t`; any case); a bare number is bytes.
pub fn parse_memory_size(option: &str, value: &str) -> Result<u64> {
    let text = value.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        ConnectorError::invalid(
            option,
            value,
            "expected a memory size such as '1024', '64 kb', '128 mb' or '1 gb'",
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return Err(bad()),
    };
    match n.checked_mul(multiplier) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    const PATH: OptionKey = OptionKey::new("path", "where");
    const KIND: OptionKey = OptionKey::with_default("fields.#.kind", "random", "kind");

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("id", DataType::Int64, true)])
    }

    #[test]
    fn patterns_match_columns() {
        assert_eq!(KIND.matches("fields.id.kind"), Some(KeyMatch::Column("id")));
        assert_eq!(KIND.matches("fields..kind"), None);
        assert_eq!(KIND.matches("fields.id.min"), None);
        assert_eq!(PATH.matches("path"), Some(KeyMatch::Exact));
        assert_eq!(KIND.for_column("id"), "fields.id.kind");
    }

    #[test]
    fn unknown_missing_and_bad_column() {
        let check = |o| check_options("x", "t", &schema(), &o, &[PATH], &[KIND]);
        check(opts(&[
            ("connector", "x"),
            ("path", "/a"),
            ("fields.id.kind", "s"),
        ]))
        .unwrap();
        match check(opts(&[("path", "/a"), ("pth", "1")])) {
            Err(ConnectorError::UnknownOption { option, valid, .. }) => {
                assert_eq!(option, "pth");
                assert_eq!(valid, vec!["fields.#.kind".to_string(), "path".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check(opts(&[])),
            Err(ConnectorError::MissingOption { option, .. }) if option == "path"
        ));
        let err = check(opts(&[("path", "/a"), ("fields.nope.kind", "random")])).unwrap_err();
        assert!(err.to_string().contains("no column 'nope'"), "{err}");
    }

    #[test]
    fn typed_values() {
        assert_eq!(parse_duration("d", "5 s").unwrap(), Duration::from_secs(5));
        assert_eq!(
            parse_duration("d", "1min").unwrap(),
            Duration::from_secs(60)
        );
        assert_eq!(
            parse_duration("d", "250").unwrap(),
            Duration::from_millis(250)
        );
        assert!(parse_duration("d", "soon").is_err());
        assert_eq!(parse_memory_size("m", "128MB").unwrap(), 128 << 20);
        assert_eq!(parse_memory_size("m", "10").unwrap(), 10);
        assert!(parse_memory_size("m", "0").is_err());
        assert!(parse_memory_size("m", "lots").is_err());
        let delim = OptionKey::with_default("d", ",", "");
        assert_eq!(get_char(&opts(&[]), &delim).unwrap(), Some(b','));
        assert_eq!(
            get_char(&opts(&[("d", "\\t")]), &delim).unwrap(),
            Some(b'\t')
        );
        assert!(get_char(&opts(&[("d", ";;")]), &delim).is_err());
        let n = OptionKey::new("n", "");
        assert!(get_positive_u64(&opts(&[("n", "0")]), &n).is_err());
        assert!(get_positive_u64(&opts(&[("n", "-3")]), &n).is_err());
        assert_eq!(get_positive_u64(&opts(&[("n", "3")]), &n).unwrap(), Some(3));
        assert!(parse_bool("b", "yes").is_err());
    }
}
