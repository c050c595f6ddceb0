//! More of Flink's built-in functions with Flink's semantics: hashing, URLs, IP addresses,
//! regular expressions, time zones and Unix time, `ELEMENT`, `STR_TO_MAP` and
//! `RAND_INTEGER`. Each answers NULL for a NULL argument, as Flink's do; where Flink answers
//! NULL for input it cannot read (a bad URL, an address out of range), so does Eddy.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Int32Array, Int64Array, ListBuilder, MapBuilder,
    MapFieldNames, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use rand::{Rng, SeedableRng};
use regex::Regex;
use sha1::{Digest, Sha1};

/// Which function a [`FlinkText`] is.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Text {
    /// `SHA1(string)`: the SHA-1 digest of the UTF-8 bytes, 40 lower-case hex digits.
    Sha1,
    /// `URL_ENCODE(string)` / `URL_DECODE(string)`: Java's `URLEncoder` / `URLDecoder`
    /// with UTF-8 (`application/x-www-form-urlencoded`); a bad escape decodes to NULL.
    UrlEncode,
    UrlDecode,
    /// `INET_ATON(string)` / `INET_NTOA(integer)`: an IPv4 address and its number.
    InetAton,
    InetNtoa,
    /// `REGEXP_SUBSTR(string, regex)`: the first match, NULL without one.
    RegexpSubstr,
    /// `REGEXP_EXTRACT_ALL(string, regex [, group])`: every match's group (1 by default).
    RegexpExtractAll,
    /// `PARSE_URL(url, part [, key])`: HOST, PATH, QUERY (or one key's value), REF,
    /// PROTOCOL, AUTHORITY, FILE or USERINFO of a URL.
    ParseUrl,
    /// `CONVERT_TZ(string, from_zone, to_zone)`: a `yyyy-MM-dd HH:mm:ss` time moved from
    /// one time zone to another.
    ConvertTz,
    /// `UNIX_TIMESTAMP([string [, format]])`: seconds since the epoch, now or of a time in
    /// the session's time zone; text the format does not match gives Long.MIN_VALUE, as in
    /// Flink.
    UnixTimestamp,
    /// `FROM_UNIXTIME(seconds [, format])`: a Unix time as text in the session's time zone,
    /// `yyyy-MM-dd HH:mm:ss` unless a Java date-time format is given (DataFusion's function
    /// of the name returns a timestamp).
    FromUnixtime,
    /// `ELEMENT(array)`: the one element of an array, NULL when empty; an error when it
    /// has more.
    Element,
    /// `STR_TO_MAP(string [, list_delimiter, key_value_delimiter])`: both delimiters are
    /// regular expressions (`,` and `=` by default); a key without a value maps to NULL.
    StrToMap,
    /// `RAND_INTEGER([seed,] bound)`: a random INT in `[0, bound)`.
    RandInteger,
    /// `RAND([seed])`: a random DOUBLE in `[0, 1)`; with a seed, the same sequence each
    /// time (per batch: a function keeps no state between batches).
    Rand,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    use Text::*;
    [
        Sha1,
        UrlEncode,
        UrlDecode,
        InetAton,
        InetNtoa,
        RegexpSubstr,
        RegexpExtractAll,
        ParseUrl,
        ConvertTz,
        UnixTimestamp,
        FromUnixtime,
        Element,
        StrToMap,
        RandInteger,
        Rand,
    ]
    .into_iter()
    .map(|f| {
        let volatility = match f {
            UnixTimestamp | RandInteger | Rand => Volatility::Volatile,
            _ => Volatility::Immutable,
        };
        Arc::new(ScalarUDF::from(FlinkText {
            function: f,
            signature: Signature::user_defined(volatility),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkText {
    function: Text,
    signature: Signature,
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// STR_TO_MAP's type: MAP<STRING, STRING>, with the field names DataFusion's maps have.
fn string_map() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Utf8, true),
            ])),
            false,
        )),
        false,
    )
}

impl ScalarUDFImpl for FlinkText {
    fn name(&self) -> &str {
        match self.function {
            Text::Sha1 => "sha1",
            Text::UrlEncode => "url_encode",
            Text::UrlDecode => "url_decode",
            Text::InetAton => "inet_aton",
            Text::InetNtoa => "inet_ntoa",
            Text::RegexpSubstr => "regexp_substr",
            Text::RegexpExtractAll => "regexp_extract_all",
            Text::ParseUrl => "parse_url",
            Text::ConvertTz => "convert_tz",
            Text::UnixTimestamp => "unix_timestamp",
            Text::FromUnixtime => "from_unixtime",
            Text::Element => "element",
            Text::StrToMap => "str_to_map",
            Text::RandInteger => "rand_integer",
            Text::Rand => "rand",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let n = args.len();
        let name = self.name().to_uppercase();
        let ok = match self.function {
            Text::Sha1 | Text::UrlEncode | Text::UrlDecode | Text::InetAton | Text::InetNtoa => {
                n == 1
            }
            Text::RegexpSubstr => n == 2,
            Text::RegexpExtractAll | Text::ParseUrl => n == 2 || n == 3,
            Text::ConvertTz => n == 3,
            // A third argument is the parser's carrier of the session's time zone.
            Text::UnixTimestamp => n <= 3,
            Text::FromUnixtime => (1..=3).contains(&n),
            Text::Element => n == 1,
            Text::StrToMap => n == 1 || n == 3,
            Text::RandInteger => n == 1 || n == 2,
            Text::Rand => n <= 1,
        };
        if !ok {
            return Err(plan_error(format!(
                "function {name} does not take {n} arguments"
            )));
        }
        Ok(match self.function {
            Text::InetNtoa | Text::RandInteger | Text::Rand => vec![DataType::Int64; n],
            Text::FromUnixtime => {
                if !args[0].is_integer() && args[0] != DataType::Null {
                    return Err(plan_error(format!(
                        "FROM_UNIXTIME takes seconds as an integer, not {}",
                        args[0]
                    )));
                }
                let mut types = vec![DataType::Int64];
                types.extend(args.get(1).map(|_| DataType::Utf8));
                types.extend(args.get(2).cloned());
                types
            }
            Text::UnixTimestamp if n == 3 => {
                vec![DataType::Utf8, DataType::Utf8, args[2].clone()]
            }
            Text::RegexpExtractAll if n == 3 => {
                vec![DataType::Utf8, DataType::Utf8, DataType::Int64]
            }
            Text::Element => match &args[0] {
                DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                    args.to_vec()
                }
                DataType::Null => args.to_vec(),
                other => return Err(plan_error(format!("ELEMENT takes an array, not {other}"))),
            },
            _ => vec![DataType::Utf8; n],
        })
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Text::InetAton | Text::UnixTimestamp => DataType::Int64,
            Text::RandInteger => DataType::Int32,
            Text::Rand => DataType::Float64,
            Text::RegexpExtractAll => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            }
            Text::StrToMap => string_map(),
            Text::Element => match args.first() {
                Some(
                    DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _),
                ) => f.data_type().clone(),
                _ => DataType::Null,
            },
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // The session's zone: the type of the parser's carrier argument, else DataFusion's
        // setting (which Eddy leaves unset: UTC).
        let zone = match args.args.last().map(|a| a.data_type()) {
            Some(DataType::Timestamp(_, Some(tz))) if args.args.len() == 3 => Some(tz.to_string()),
            _ => args.config_options.execution.time_zone.clone(),
        };
        let a: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|v| v.to_array(rows))
            .collect::<Result<_>>()?;
        let text = |i: usize| -> Result<ArrayRef> { Ok(cast(&a[i], &DataType::Utf8)?) };
        let out: ArrayRef = match self.function {
            Text::Sha1 => {
                let s = text(0)?;
                let s = s.as_string::<i32>();
                strings(rows, |r| {
                    s.is_valid(r).then(|| {
                        Sha1::digest(s.value(r).as_bytes())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect()
                    })
                })
            }
            Text::UrlEncode => {
                let s = text(0)?;
                let s = s.as_string::<i32>();
                strings(rows, |r| s.is_valid(r).then(|| url_encode(s.value(r))))
            }
            Text::UrlDecode => {
                let s = text(0)?;
                let s = s.as_string::<i32>();
                strings(rows, |r| {
                    s.is_valid(r).then(|| url_decode(s.value(r))).flatten()
                })
            }
            Text::InetAton => {
                let s = text(0)?;
                let s = s.as_string::<i32>();
                Arc::new(Int64Array::from_iter(
                    (0..rows).map(|r| s.is_valid(r).then(|| inet_aton(s.value(r))).flatten()),
                ))
            }
            Text::InetNtoa => {
                let n = cast(&a[0], &DataType::Int64)?;
                let n = n.as_primitive::<Int64Type>();
                strings(rows, |r| {
                    n.is_valid(r)
                        .then(|| n.value(r))
                        .filter(|v| (0..=u32::MAX as i64).contains(v))
                        .map(|v| std::net::Ipv4Addr::from(v as u32).to_string())
                })
            }
            Text::RegexpSubstr => {
                let (s, p) = (text(0)?, text(1)?);
                let (s, p) = (s.as_string::<i32>(), p.as_string::<i32>());
                let mut regexes = Regexes::default();
                let mut out = StringBuilder::new();
                for r in 0..rows {
                    if s.is_null(r) || p.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    let m = regexes
                        .get(p.value(r))?
                        .and_then(|re| re.find(s.value(r)).map(|m| m.as_str().to_string()));
                    out.append_option(m);
                }
                Arc::new(out.finish())
            }
            Text::RegexpExtractAll => regexp_extract_all(&a, rows)?,
            Text::ParseUrl => {
                let parts: Vec<ArrayRef> = (0..a.len()).map(text).collect::<Result<_>>()?;
                let col = |i: usize| parts[i].as_string::<i32>();
                strings(rows, |r| {
                    let key = match parts.len() {
                        3 if col(2).is_null(r) => return None,
                        3 => Some(col(2).value(r)),
                        _ => None,
                    };
                    if col(0).is_null(r) || col(1).is_null(r) {
                        return None;
                    }
                    parse_url(col(0).value(r), col(1).value(r), key)
                })
            }
            Text::ConvertTz => {
                let parts: Vec<ArrayRef> = (0..3).map(text).collect::<Result<_>>()?;
                let col = |i: usize| parts[i].as_string::<i32>();
                let mut out = StringBuilder::new();
                for r in 0..rows {
                    if (0..3).any(|i| col(i).is_null(r)) {
                        out.append_null();
                        continue;
                    }
                    out.append_option(convert_tz(
                        col(0).value(r),
                        col(1).value(r),
                        col(2).value(r),
                    )?);
                }
                Arc::new(out.finish())
            }
            Text::UnixTimestamp => unix_timestamp(&a, rows, zone.as_deref())?,
            Text::FromUnixtime => from_unixtime(&a, rows, zone.as_deref())?,
            Text::Element => element(&a[0], rows)?,
            Text::StrToMap => str_to_map(&a, rows)?,
            Text::RandInteger => {
                let (seed, bound) = match a.len() {
                    2 => (
                        Some(cast(&a[0], &DataType::Int64)?),
                        cast(&a[1], &DataType::Int64)?,
                    ),
                    _ => (None, cast(&a[0], &DataType::Int64)?),
                };
                let bound = bound.as_primitive::<Int64Type>();
                let mut seeded = seed.as_ref().and_then(|s| {
                    let s = s.as_primitive::<Int64Type>();
                    (!s.is_empty() && s.is_valid(0))
                        .then(|| rand::rngs::StdRng::seed_from_u64(s.value(0) as u64))
                });
                let mut values = Vec::with_capacity(rows);
                for r in 0..rows {
                    if bound.is_null(r) {
                        values.push(None);
                        continue;
                    }
                    let b = bound.value(r);
                    if b <= 0 || b > i32::MAX as i64 {
                        return Err(user_error(format!(
                            "RAND_INTEGER's bound must be a positive INT, not {b}"
                        )));
                    }
                    let v = match &mut seeded {
                        Some(rng) => rng.random_range(0..b),
                        None => rand::rng().random_range(0..b),
                    };
                    values.push(Some(v as i32));
                }
                Arc::new(Int32Array::from(values))
            }
            Text::Rand => {
                let seed = match a.first() {
                    Some(s) => {
                        let s = cast(s, &DataType::Int64)?;
                        let s = s.as_primitive::<Int64Type>();
                        (!s.is_empty() && s.is_valid(0)).then(|| s.value(0))
                    }
                    None => None,
                };
                let values: Vec<f64> = match seed {
                    Some(seed) => {
                        let mut rng = rand::rngs::StdRng::seed_from_u64(seed as u64);
                        (0..rows).map(|_| rng.random::<f64>()).collect()
                    }
                    None => (0..rows).map(|_| rand::rng().random::<f64>()).collect(),
                };
                Arc::new(datafusion::arrow::array::Float64Array::from(values))
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn strings(rows: usize, mut f: impl FnMut(usize) -> Option<String>) -> ArrayRef {
    let mut out = StringBuilder::with_capacity(rows, 0);
    for r in 0..rows {
        out.append_option(f(r));
    }
    Arc::new(out.finish())
}

/// Compiled patterns of one call (a pattern is usually the same on every row). A pattern
/// that does not compile matches nothing, as Flink's REGEXP functions answer NULL for it.
#[derive(Default)]
struct Regexes(HashMap<String, Option<Regex>>);

impl Regexes {
    fn get(&mut self, pattern: &str) -> Result<Option<&Regex>> {
        if !self.0.contains_key(pattern) {
            self.0.insert(pattern.to_string(), Regex::new(pattern).ok());
        }
        Ok(self.0.get(pattern).and_then(Option::as_ref))
    }
}

/// Java's `URLEncoder.encode(s, UTF_8)`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, UTF_8)`; None for a bad escape.
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `a.b.c.d` as a number; None unless four parts of 0..=255.
fn inet_aton(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut n: i64 = 0;
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i64 = p.parse().ok()?;
        if v > 255 {
            return None;
        }
        n = n * 256 + v;
    }
    Some(n)
}

fn regexp_extract_all(a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = cast(&a[0], &DataType::Utf8)?;
    let p = cast(&a[1], &DataType::Utf8)?;
    let (s, p) = (s.as_string::<i32>(), p.as_string::<i32>());
    let group = match a.get(2) {
        Some(g) => Some(cast(g, &DataType::Int64)?),
        None => None,
    };
    let group = group.as_ref().map(|g| g.as_primitive::<Int64Type>());
    let mut regexes = Regexes::default();
    let mut out = ListBuilder::new(StringBuilder::new());
    for r in 0..rows {
        if s.is_null(r) || p.is_null(r) || group.is_some_and(|g| g.is_null(r)) {
            out.append_null();
            continue;
        }
        let index = group.map_or(1, |g| g.value(r));
        let Some(re) = regexes.get(p.value(r))? else {
            out.append_null();
            continue;
        };
        if index < 0 || index as usize > re.captures_len() - 1 {
            return Err(user_error(format!(
                "REGEXP_EXTRACT_ALL: the pattern '{}' has no group {index}",
                p.value(r)
            )));
        }
        for caps in re.captures_iter(s.value(r)) {
            out.values()
                .append_option(caps.get(index as usize).map(|m| m.as_str()));
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// One part of a URL, as Java's `java.net.URL` names them.
fn parse_url(text: &str, part: &str, key: Option<&str>) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    // `url` gives an empty path "/" to a URL without one; java.net.URL gives "".
    let path = match (url.path(), text.split_once("://")) {
        ("/", Some((_, rest))) if !rest.contains('/') => "",
        (p, _) => p,
    };
    let userinfo = match (url.username(), url.password()) {
        ("", None) => None,
        (user, None) => Some(user.to_string()),
        (user, Some(pw)) => Some(format!("{user}:{pw}")),
    };
    let host = url.host_str().map(str::to_string);
    match (part, key) {
        ("QUERY", Some(key)) => url
            .query()?
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string()),
        (_, Some(_)) => None,
        ("HOST", _) => host,
        ("PATH", _) => Some(path.to_string()),
        ("QUERY", _) => url.query().map(str::to_string),
        ("REF", _) => url.fragment().map(str::to_string),
        ("PROTOCOL", _) => Some(url.scheme().to_string()),
        ("AUTHORITY", _) => {
            let mut authority = String::new();
            if let Some(u) = &userinfo {
                authority.push_str(u);
                authority.push('@');
            }
            authority.push_str(&host?);
            if let Some(port) = url.port() {
                authority.push_str(&format!(":{port}"));
            }
            Some(authority)
        }
        ("FILE", _) => Some(match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        }),
        ("USERINFO", _) => userinfo,
        _ => None,
    }
}

/// A fixed time zone: `UTC`, `Z` or an offset (`+08:00`); None for a named region.
fn zone(name: &str) -> Option<chrono::FixedOffset> {
    if name.eq_ignore_ascii_case("UTC") || name == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    name.parse::<chrono::FixedOffset>().ok()
}

/// `local` (a wall-clock time) in the zone named `name`, as an instant.
fn in_zone(local: NaiveDateTime, name: &str) -> Result<Option<DateTime<chrono::Utc>>> {
    if let Some(offset) = zone(name) {
        return Ok(offset
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc)));
    }
    let tz: chrono_tz::Tz = name
        .parse()
        .map_err(|_| user_error(format!("'{name}' is not a time zone")))?;
    Ok(tz
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc)))
}

fn convert_tz(time: &str, from: &str, to: &str) -> Result<Option<String>> {
    let Ok(local) = NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S") else {
        return Ok(None);
    };
    let Some(instant) = in_zone(local, from)? else {
        return Ok(None);
    };
    let moved = match zone(to) {
        Some(offset) => instant.with_timezone(&offset).naive_local(),
        None => {
            let tz: chrono_tz::Tz = to
                .parse()
                .map_err(|_| user_error(format!("'{to}' is not a time zone")))?;
            instant.with_timezone(&tz).naive_local()
        }
    };
    Ok(Some(moved.format("%Y-%m-%d %H:%M:%S").to_string()))
}

/// The strftime pattern of a Java date-time `format`, translated once per distinct text.
fn strftime_of<'a>(
    cache: &'a mut HashMap<String, String>,
    java: &str,
    function: &str,
) -> Result<&'a str> {
    if !cache.contains_key(java) {
        let strftime = super::date_format::java_to_strftime(java)
            .map_err(|e| user_error(format!("{function}'s format '{java}': {e}")))?;
        cache.insert(java.to_string(), strftime);
    }
    Ok(cache[java].as_str())
}

fn unix_timestamp(a: &[ArrayRef], rows: usize, session_zone: Option<&str>) -> Result<ArrayRef> {
    let Some(text) = a.first() else {
        let now = crate::time::now_millis().div_euclid(1000);
        return Ok(Arc::new(Int64Array::from(vec![now; rows])));
    };
    let text = cast(text, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let format = match a.get(1) {
        Some(f) => Some(cast(f, &DataType::Utf8)?),
        None => None,
    };
    let format = format.as_ref().map(|f| f.as_string::<i32>());
    let session_zone = session_zone.unwrap_or("UTC");
    let mut patterns: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        if text.is_null(r) || format.is_some_and(|f| f.is_null(r)) {
            out.push(None);
            continue;
        }
        let java = format.map_or("yyyy-MM-dd HH:mm:ss", |f| f.value(r));
        let pattern = strftime_of(&mut patterns, java, "UNIX_TIMESTAMP")?;
        let value = text.value(r);
        let seconds = match DateTime::parse_from_str(value, pattern) {
            Ok(t) => Some(t.timestamp()),
            Err(_) => {
                let local = NaiveDateTime::parse_from_str(value, pattern)
                    .ok()
                    .or_else(|| {
                        NaiveDate::parse_from_str(value, pattern)
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                    });
                match local {
                    Some(local) => in_zone(local, session_zone)?.map(|t| t.timestamp()),
                    None => None,
                }
            }
        };
        // Flink answers Long.MIN_VALUE for text the format does not read.
        out.push(Some(seconds.unwrap_or(i64::MIN)));
    }
    Ok(Arc::new(Int64Array::from(out)))
}

fn from_unixtime(a: &[ArrayRef], rows: usize, session_zone: Option<&str>) -> Result<ArrayRef> {
    let seconds = cast(&a[0], &DataType::Int64)?;
    let seconds = seconds.as_primitive::<Int64Type>();
    let format = match a.get(1) {
        Some(f) => Some(cast(f, &DataType::Utf8)?),
        None => None,
    };
    let format = format.as_ref().map(|f| f.as_string::<i32>());
    let session_zone = session_zone.unwrap_or("UTC");
    let fixed = zone(session_zone);
    let named: Option<chrono_tz::Tz> = match fixed {
        Some(_) => None,
        None => Some(
            session_zone
                .parse()
                .map_err(|_| user_error(format!("'{session_zone}' is not a time zone")))?,
        ),
    };
    let mut patterns: HashMap<String, String> = HashMap::new();
    let mut out = StringBuilder::new();
    for r in 0..rows {
        if seconds.is_null(r) || format.is_some_and(|f| f.is_null(r)) {
            out.append_null();
            continue;
        }
        let java = format.map_or("yyyy-MM-dd HH:mm:ss", |f| f.value(r));
        let pattern = strftime_of(&mut patterns, java, "FROM_UNIXTIME")?;
        let Some(instant) = DateTime::from_timestamp(seconds.value(r), 0) else {
            return Err(user_error(format!(
                "FROM_UNIXTIME: {} seconds is out of the range of times",
                seconds.value(r)
            )));
        };
        let written = match (fixed, named) {
            (Some(offset), _) => write!(out, "{}", instant.with_timezone(&offset).format(pattern)),
            (None, Some(tz)) => write!(out, "{}", instant.with_timezone(&tz).format(pattern)),
            (None, None) => write!(out, "{}", instant.format(pattern)),
        };
        written
            .map_err(|_| user_error(format!("FROM_UNIXTIME's format '{java}' does not write")))?;
        out.append_value("");
    }
    Ok(Arc::new(out.finish()))
}

fn element(array: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    let DataType::List(field) = array.data_type() else {
        return match array.data_type() {
            DataType::Null => Ok(new_null_array(&DataType::Null, rows)),
            _ => element(&cast(array, &list_of(array.data_type()))?, rows),
        };
    };
    let list = array.as_list::<i32>();
    let mut indices: Vec<Option<u32>> = Vec::with_capacity(rows);
    let offsets = list.value_offsets();
    for r in 0..rows {
        let (start, end) = (offsets[r] as usize, offsets[r + 1] as usize);
        match (list.is_valid(r), end - start) {
            (false, _) | (true, 0) => indices.push(None),
            (true, 1) => indices.push(Some(start as u32)),
            (true, _) => {
                return Err(user_error("Array has more than one element.".into()));
            }
        }
    }
    let indices = datafusion::arrow::array::UInt32Array::from(indices);
    let values = list.values();
    let taken = datafusion::arrow::compute::take(values.as_ref(), &indices, None)?;
    debug_assert_eq!(taken.data_type(), field.data_type());
    Ok(taken)
}

fn list_of(t: &DataType) -> DataType {
    match t {
        DataType::LargeList(f) | DataType::FixedSizeList(f, _) => DataType::List(f.clone()),
        other => other.clone(),
    }
}

fn str_to_map(a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let parts: Vec<ArrayRef> = a
        .iter()
        .map(|c| Ok(cast(c, &DataType::Utf8)?))
        .collect::<Result<_>>()?;
    let col = |i: usize| parts[i].as_string::<i32>();
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut out = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    let mut regexes = Regexes::default();
    for r in 0..rows {
        if (0..parts.len()).any(|i| col(i).is_null(r)) {
            out.append(false)?;
            continue;
        }
        let (list, pair) = match parts.len() {
            3 => (col(1).value(r), col(2).value(r)),
            _ => (",", "="),
        };
        let list = regexes.get(list)?.cloned().ok_or_else(|| {
            user_error(format!("STR_TO_MAP: '{list}' is not a regular expression"))
        })?;
        let pair = regexes.get(pair)?.cloned().ok_or_else(|| {
            user_error(format!("STR_TO_MAP: '{pair}' is not a regular expression"))
        })?;
        for entry in list.split(col(0).value(r)) {
            let mut kv = pair.splitn(entry, 2);
            let key = kv.next().unwrap_or_default();
            out.keys().append_value(key);
            out.values().append_option(kv.next());
        }
        out.append(true)?;
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_addresses_follow_java_and_flink() {
        assert_eq!(url_encode("a b+c/d?e=f&g"), "a+b%2Bc%2Fd%3Fe%3Df%26g");
        assert_eq!(url_decode("a%20b%2Bc+d").as_deref(), Some("a b+c d"));
        assert_eq!(url_decode("%zz"), None);
        assert_eq!(url_decode("%4"), None);
        assert_eq!(inet_aton("127.0.0.1"), Some(2130706433));
        assert_eq!(inet_aton("256.0.0.1"), None);
        assert_eq!(inet_aton("1.2.3"), None);
        let url = "http://user:pw@facebook.com/path1/p.php?k1=v1&k2=v2#Ref1";
        for (part, expected) in [
            ("HOST", Some("facebook.com")),
            ("PATH", Some("/path1/p.php")),
            ("QUERY", Some("k1=v1&k2=v2")),
            ("REF", Some("Ref1")),
            ("PROTOCOL", Some("http")),
            ("AUTHORITY", Some("user:pw@facebook.com")),
            ("FILE", Some("/path1/p.php?k1=v1&k2=v2")),
            ("USERINFO", Some("user:pw")),
            ("NOPE", None),
        ] {
            assert_eq!(parse_url(url, part, None).as_deref(), expected, "{part}");
        }
        assert_eq!(parse_url(url, "QUERY", Some("k1")).as_deref(), Some("v1"));
        assert_eq!(parse_url(url, "QUERY", Some("k9")), None);
        assert_eq!(parse_url("not a url", "HOST", None), None);
    }

    #[test]
    fn time_zones_move_wall_clock_times() {
        assert_eq!(
            convert_tz("1970-01-01 00:00:00", "UTC", "America/Los_Angeles").unwrap(),
            Some("1969-12-31 16:00:00".into())
        );
        assert_eq!(
            convert_tz("2024-06-01 12:00:00", "Europe/Berlin", "UTC").unwrap(),
            Some("2024-06-01 10:00:00".into())
        );
        assert!(convert_tz("2024-06-01 12:00:00", "Mars/Olympus", "UTC").is_err());
    }
}
