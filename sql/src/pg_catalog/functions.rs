//! PostgreSQL's catalog functions that depend on Eddy's objects or names
//! (`current_schema()`, `pg_get_constraintdef`, `pg_table_is_visible`, ...). They replace
//! the crate's versions, which answer for a database named `public` owned by `postgres`.
//! Catalog queries are small, so these work row by row.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, Array, ArrayRef, AsArray, ListBuilder, RecordBatch, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::procs;
use super::relations::Relations;

type RowFn = dyn Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync;

/// A function of any arguments, computed row by row.
struct RowFunction {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    f: Arc<RowFn>,
}

impl fmt::Debug for RowFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowFunction({})", self.name)
    }
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.f, &other.f)
    }
}

impl Eq for RowFunction {}

impl Hash for RowFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if args.number_rows == 0 {
            return Ok(ColumnarValue::Array(new_empty_array(&self.returns)));
        }
        let out = (0..args.number_rows)
            .map(|row| {
                let values = arrays
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, row))
                    .collect::<Result<Vec<_>>>()?;
                (self.f)(&values)?.cast_to(&self.returns)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

/// A text function taking `arities` numbers of arguments of any type.
fn function(
    name: &'static str,
    arities: &[usize],
    f: impl Fn(&[ScalarValue]) -> Option<String> + Send + Sync + 'static,
) -> ScalarUDF {
    typed(name, arities, DataType::Utf8, move |a| {
        ScalarValue::Utf8(f(a))
    })
}

/// A function returning `returns`.
fn typed(
    name: &'static str,
    arities: &[usize],
    returns: DataType,
    f: impl Fn(&[ScalarValue]) -> ScalarValue + Send + Sync + 'static,
) -> ScalarUDF {
    fallible(name, arities, returns, move |a| Ok(f(a)))
}

/// A function returning `returns` that may refuse its arguments.
fn fallible(
    name: &'static str,
    arities: &[usize],
    returns: DataType,
    f: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    // No arities: any number of arguments.
    let signatures = match arities {
        [] => vec![TypeSignature::VariadicAny],
        _ => arities
            .iter()
            .map(|n| match n {
                0 => TypeSignature::Nullary,
                n => TypeSignature::Any(*n),
            })
            .collect(),
    };
    ScalarUDF::new_from_impl(RowFunction {
        name,
        signature: Signature::one_of(signatures, Volatility::Stable),
        returns,
        f: Arc::new(f),
    })
}

/// A text argument.
fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        _ => None,
    }
}

/// An integer argument (OIDs arrive as int4, int8 or text literals).
fn int(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(i) => i,
        _ => None,
    }
}

/// Types of PostgreSQL's functions, read once from the static `pg_proc` and `pg_type`.
#[derive(Debug, Default)]
pub struct Signatures {
    /// Function OID to result type OID and argument type OIDs.
    functions: HashMap<i64, (i64, Vec<i64>)>,
    /// Type OID to `typname`.
    types: HashMap<i64, String>,
    /// `typname`, and the SQL name of the common types, to type OID.
    oids: HashMap<String, i64>,
}

impl Signatures {
    pub fn read(procs: &[RecordBatch], types: &[RecordBatch]) -> Result<Self> {
        let mut out = Signatures::default();
        for row in rows_of(procs, &["oid", "prorettype", "proargtypes"])? {
            let args = row[2]
                .split_whitespace()
                .filter_map(|a| a.parse().ok())
                .collect();
            if let (Ok(oid), Ok(result)) = (row[0].parse(), row[1].parse()) {
                out.functions.insert(oid, (result, args));
            }
        }
        for row in rows_of(types, &["oid", "typname"])? {
            if let Ok(oid) = row[0].parse::<i64>() {
                out.oids.insert(row[1].clone(), oid);
                if let Some((sql_name, _, _)) = super::relations::known_type(oid as u32) {
                    out.oids.insert(sql_name.to_string(), oid);
                }
                out.types.insert(oid, row[1].clone());
            }
        }
        Ok(out)
    }

    /// A type's name as `format_type` prints it for the common types, else its typname
    /// (`_text` as `text[]`).
    fn type_name(&self, oid: i64) -> String {
        if let Some((sql_name, _, _)) = super::relations::known_type(oid as u32) {
            return sql_name.to_string();
        }
        let arrays = super::relations::oid::ARRAYS;
        if let Some((_, element, _)) = arrays.iter().find(|(a, _, _)| i64::from(*a) == oid) {
            if let Some((sql_name, _, _)) = super::relations::known_type(*element) {
                return format!("{sql_name}[]");
            }
        }
        match self.types.get(&oid) {
            Some(n) => match n.strip_prefix('_') {
                Some(element) => format!("{element}[]"),
                None => n.clone(),
            },
            None => format!("unknown (OID={oid})"),
        }
    }

    /// `to_regtype`: a type's OID by its `typname` or its SQL name (`integer`).
    fn by_name(&self, name: &str) -> Option<i64> {
        let name = name
            .trim()
            .trim_start_matches("pg_catalog.")
            .to_ascii_lowercase();
        let name = match name.strip_suffix("[]") {
            Some(element) => format!("_{element}"),
            None => name,
        };
        self.oids.get(&name).copied()
    }

    fn result(&self, function: i64) -> Option<String> {
        let (result, _) = self.functions.get(&function)?;
        Some(self.type_name(*result))
    }

    fn arguments(&self, function: i64) -> Option<String> {
        let (_, args) = self.functions.get(&function)?;
        Some(
            args.iter()
                .map(|a| self.type_name(*a))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// The named columns of every row, as text.
fn rows_of(batches: &[RecordBatch], columns: &[&str]) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for batch in batches {
        let arrays = columns
            .iter()
            .map(|c| {
                let i = batch.schema().index_of(c)?;
                Ok(cast(batch.column(i), &DataType::Utf8)?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                arrays
                    .iter()
                    .map(|a| a.as_string::<i32>().value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// `json_build_object(k1, v1, ...)` as JSON text (SQLAlchemy builds a column's identity
/// options with it).
fn json_object(args: &[ScalarValue]) -> Option<String> {
    use serde_json::Value;
    let json = |v: &ScalarValue| -> Value {
        if v.is_null() {
            return Value::Null;
        }
        match v {
            ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
            ScalarValue::Int8(_)
            | ScalarValue::Int16(_)
            | ScalarValue::Int32(_)
            | ScalarValue::Int64(_)
            | ScalarValue::UInt8(_)
            | ScalarValue::UInt16(_)
            | ScalarValue::UInt32(_)
            | ScalarValue::UInt64(_) => int(v).map_or(Value::Null, Value::from),
            ScalarValue::Float32(Some(f)) => Value::from(f64::from(*f)),
            ScalarValue::Float64(Some(f)) => Value::from(*f),
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        }
    };
    let mut object = serde_json::Map::new();
    for pair in args.chunks(2) {
        let key = match json(&pair[0]) {
            Value::String(s) => s,
            Value::Null => return None,
            other => other.to_string(),
        };
        object.insert(key, pair.get(1).map_or(Value::Null, json));
    }
    Some(Value::Object(object).to_string())
}

/// The function a `LIKE ... ESCAPE 'c'` pattern is rewritten through.
pub const LIKE_ESCAPE: &str = "eddy_like_escape";

/// The function a computed `CAST(x AS regclass)` becomes.
pub const REGCLASS_CAST: &str = "eddy_regclass";

/// A LIKE pattern whose escape character is `escape`, with backslash escapes instead.
fn like_escape(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => {
                out.push('\\');
                out.extend(chars.next());
            }
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

/// The functions for one statement's view of the catalog.
pub fn functions(r: &Arc<Relations>, signatures: &Arc<Signatures>) -> Vec<ScalarUDF> {
    let (s1, s2, s3, s4) = (
        signatures.clone(),
        signatures.clone(),
        signatures.clone(),
        signatures.clone(),
    );
    let schema = r.schema.clone();
    let database = r.database.clone();
    let user = r.user.clone();
    let roles = r.clone();
    let settings = r.settings.clone();
    let backend_pid = r.backend_pid;
    let (r1, r2, r3, r4, r5) = (r.clone(), r.clone(), r.clone(), r.clone(), r.clone());
    let r6 = r.clone();
    let (f1, f2, f3, f4) = (r.clone(), r.clone(), r.clone(), r.clone());
    let (t1, t2, t3) = (signatures.clone(), signatures.clone(), signatures.clone());
    vec![
        function("current_schema", &[0], move |_| Some(schema.clone())),
        // The session's user (`current_user` is rewritten to this).
        function("session_user", &[0], move |_| Some(user.clone())),
        // The session's process id as BackendKeyData gave it (pg_stat_activity's pid).
        typed("pg_backend_pid", &[0], DataType::Int32, move |_| {
            ScalarValue::Int32(Some(backend_pid))
        }),
        function("current_database", &[0], move |_| Some(database.clone())),
        function("version", &[0], |_| Some(version())),
        // PostgreSQL's settings as the session has them; unknown ones refused as SHOW does,
        // or NULL when the second argument (`missing_ok`) is true.
        fallible("current_setting", &[1, 2], DataType::Utf8, move |a| {
            let Some(name) = text(&a[0]) else {
                return Ok(ScalarValue::Utf8(None));
            };
            let lower = name.to_ascii_lowercase();
            match settings.iter().find(|(k, _)| *k == lower) {
                Some((_, v)) => Ok(ScalarValue::Utf8(Some(v.clone()))),
                None if matches!(a.get(1), Some(ScalarValue::Boolean(Some(true)))) => {
                    Ok(ScalarValue::Utf8(None))
                }
                None => Err(datafusion::error::DataFusionError::External(Box::new(
                    crate::error::SqlError::UndefinedParameter(format!(
                        "unrecognized configuration parameter \"{name}\""
                    )),
                ))),
            }
        }),
        function("pg_get_userbyid", &[1], move |a| {
            let oid = int(&a[0])?;
            Some(match roles.role(oid) {
                Some(role) => role.name.clone(),
                None => format!("unknown (OID={oid})"),
            })
        }),
        function("pg_get_constraintdef", &[1, 2], move |a| {
            let (rel, pk) = r1.by_key_oid(int(&a[0])?)?;
            Some(format!("PRIMARY KEY ({})", key_columns(rel, &pk.columns)))
        }),
        function("pg_get_indexdef", &[1, 3], move |a| {
            let (rel, pk) = r2.by_key_oid(int(&a[0])?)?;
            match a.get(1).and_then(int).unwrap_or(0) {
                0 => Some(format!(
                    "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
                    quote(&pk.name),
                    quote(&rel.schema),
                    quote(&rel.name),
                    key_columns(rel, &pk.columns)
                )),
                n => {
                    let index = usize::try_from(n).ok()?.checked_sub(1)?;
                    Some(quote(&rel.column(*pk.columns.get(index)?)?.name))
                }
            }
        }),
        function("pg_get_viewdef", &[1, 2], move |a| {
            r3.by_oid(int(&a[0])?)?.definition.clone()
        }),
        // Eddy keeps the expression's text as `adbin`.
        function("pg_get_expr", &[2, 3], |a| text(&a[0])),
        // Collations, types and operators are all pg_catalog's, always on the path.
        typed("pg_collation_is_visible", &[1], DataType::Boolean, |a| {
            ScalarValue::Boolean(int(&a[0]).map(|_| true))
        }),
        typed("pg_type_is_visible", &[1], DataType::Boolean, |a| {
            ScalarValue::Boolean(int(&a[0]).map(|_| true))
        }),
        // PostgreSQL's functions are pg_catalog's, always visible; a user function is
        // when it is in the current schema (Flink's current database).
        typed(
            "pg_function_is_visible",
            &[1],
            DataType::Boolean,
            move |a| {
                ScalarValue::Boolean(int(&a[0]).map(|oid| match f1.function(oid) {
                    Some(f) => f.schema_oid == f1.schema_oid,
                    None => true,
                }))
            },
        ),
        // Eddy's tables keep their rows in their connectors, not in relation files.
        typed("pg_table_size", &[1], DataType::Int64, |a| {
            ScalarValue::Int64(int(&a[0]).map(|_| 0))
        }),
        typed("pg_indexes_size", &[1], DataType::Int64, |a| {
            ScalarValue::Int64(int(&a[0]).map(|_| 0))
        }),
        function("pg_size_pretty", &[1], |a| int(&a[0]).map(size_pretty)),
        // Eddy keeps no relation files: every relation is in the default tablespace.
        function("pg_tablespace_location", &[1], |_| Some(String::new())),
        fallible("format", &[], DataType::Utf8, |a| {
            format_text(a).map(ScalarValue::Utf8)
        }),
        function("pg_encoding_to_char", &[1], |a| {
            Some(
                match int(&a[0])? {
                    0 => "SQL_ASCII",
                    6 => "UTF8",
                    _ => "",
                }
                .to_string(),
            )
        }),
        function("pg_get_function_result", &[1], move |a| {
            let oid = int(&a[0])?;
            match f2.function(oid) {
                Some(f) => Some(t1.type_name(i64::from(f.result))),
                None => s1.result(oid),
            }
        }),
        function("pg_get_function_arguments", &[1], move |a| {
            let oid = int(&a[0])?;
            match f3.function(oid) {
                Some(f) => Some(procs::arguments(f, |t| t2.type_name(i64::from(t)))),
                None => s2.arguments(oid),
            }
        }),
        function("pg_get_function_identity_arguments", &[1], move |a| {
            let oid = int(&a[0])?;
            match f4.function(oid) {
                Some(f) => Some(procs::arguments(f, |t| t3.type_name(i64::from(t)))),
                None => s3.arguments(oid),
            }
        }),
        typed("to_regtype", &[1], DataType::Int32, move |a| {
            let oid = text(&a[0]).and_then(|name| s4.by_name(&name));
            ScalarValue::Int32(oid.map(|oid| oid as i32))
        }),
        function(LIKE_ESCAPE, &[2], |a| {
            let pattern = text(&a[0])?;
            // `ESCAPE ''` turns escaping off: every backslash is literal.
            Some(match text(&a[1])?.chars().next() {
                Some(escape) => like_escape(&pattern, escape),
                None => pattern.replace('\\', "\\\\"),
            })
        }),
        function("json_build_object", &[], json_object),
        // Eddy has no sequences, so no column owns one.
        function("pg_get_serial_sequence", &[2], |_| None),
        // Eddy keeps no comments yet.
        function("obj_description", &[1, 2], |_| None),
        function("col_description", &[2], |_| None),
        function("shobj_description", &[2], |_| None),
        typed("pg_table_is_visible", &[1], DataType::Boolean, move |a| {
            ScalarValue::Boolean(int(&a[0]).map(|oid| r4.is_visible(oid)))
        }),
        // `CAST(x AS regclass)` of a computed x (subqueries.rs): an OID as itself, a name
        // as its relation's OID, or 42P01 as in PostgreSQL.
        fallible(REGCLASS_CAST, &[1], DataType::Int32, move |a| {
            let name = match &a[0] {
                v if v.is_null() => return Ok(ScalarValue::Int32(None)),
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => s.clone(),
                v => return v.cast_to(&DataType::Int32),
            };
            let (schema, table) = match name.rsplit_once('.') {
                Some((schema, table)) => (Some(schema.trim_matches('"')), table.trim_matches('"')),
                None => (None, name.trim_matches('"')),
            };
            let found = r6
                .relations
                .iter()
                .find(|x| x.name == table && x.schema == schema.unwrap_or(&r6.schema));
            match found {
                Some(x) => Ok(ScalarValue::Int32(Some(x.oid as i32))),
                None => Err(datafusion::error::DataFusionError::External(Box::new(
                    crate::error::SqlError::UndefinedTable(name.clone()),
                ))),
            }
        }),
        typed("to_regclass", &[1], DataType::Int32, move |a| {
            let name = a[0].to_string();
            let (schema, name) = match name.rsplit_once('.') {
                Some((s, n)) => (s.trim_matches('"'), n.trim_matches('"')),
                None => (r5.schema.as_str(), name.trim_matches('"')),
            };
            let found = r5
                .relations
                .iter()
                .find(|x| x.name == name && x.schema == schema);
            ScalarValue::Int32(found.map(|x| x.oid as i32))
        }),
    ]
}

/// `current_schemas(include_implicit)`: the search path, with `pg_catalog` first when
/// implicit schemas are asked for.
pub fn current_schemas(r: &Relations) -> Result<ScalarUDF> {
    let schema = r.schema.clone();
    Ok(datafusion::logical_expr::create_udf(
        "current_schemas",
        vec![DataType::Boolean],
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let implicit = arrays.first().map(|a| a.as_ref());
            let rows = implicit.map_or(1, |a: &dyn Array| a.len());
            let mut out = ListBuilder::new(StringBuilder::new());
            for row in 0..rows {
                let with_implicit = implicit
                    .and_then(|a| ScalarValue::try_from_array(a, row).ok())
                    .is_some_and(|v| v == ScalarValue::Boolean(Some(true)));
                if with_implicit {
                    out.values().append_value("pg_catalog");
                }
                out.values().append_value(&schema);
                out.append(true);
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ))
}

/// `pg_size_pretty` as PostgreSQL 15 computes it: bytes below 10 kB, then each unit up
/// to TB below 20 units of the next, halves rounded away from zero.
fn size_pretty(size: i64) -> String {
    const UNITS: [(&str, i64, bool, u32); 5] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
    ];
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = size;
    for (i, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let Some((_, _, next_round, next_bits)) = UNITS.get(i + 1) else {
            break;
        };
        if size.unsigned_abs() < *limit as u64 {
            let size = if *round { half_rounded(size) } else { size };
            return format!("{size} {name}");
        }
        // A division, not a shift, so that negative sizes round as positive ones do.
        let shift = next_bits - bits - u32::from(*next_round) + u32::from(*round);
        size /= 1i64 << shift;
    }
    format!("{} TB", half_rounded(size))
}

/// What `version()` answers: PostgreSQL's form, which drivers parse for the version.
pub fn version() -> String {
    format!(
        "PostgreSQL 15.0 (Eddy {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION")
    )
}

fn key_columns(rel: &super::relations::Relation, columns: &[i16]) -> String {
    columns
        .iter()
        .filter_map(|n| rel.column(*n))
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PostgreSQL's `format(fmt, args...)`: `%s` as text (NULL as empty), `%I` as a quoted
/// identifier, `%L` as a quoted literal (NULL as `NULL`), `%%`, and `%n$` positions.
fn format_text(args: &[ScalarValue]) -> Result<Option<String>> {
    let refuse = |m: &str| {
        datafusion::error::DataFusionError::External(Box::new(
            crate::error::SqlError::InvalidParameter(m.to_string()),
        ))
    };
    let Some(fmt) = args.first().and_then(text) else {
        return Ok(None);
    };
    let value = |i: usize| -> Result<Option<String>> {
        let v = args
            .get(i + 1)
            .ok_or_else(|| refuse("too few arguments for format()"))?;
        Ok(match v {
            v if v.is_null() => None,
            ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
                s.clone()
            }
            v => Some(v.to_string()),
        })
    };
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = chars
            .next()
            .ok_or_else(|| refuse("unterminated format() type specifier"))?;
        if spec == '%' {
            out.push('%');
            continue;
        }
        let mut index = next;
        if spec.is_ascii_digit() {
            let mut n = 0usize;
            while spec.is_ascii_digit() {
                n = n * 10 + spec.to_digit(10).unwrap_or(0) as usize;
                spec = chars
                    .next()
                    .ok_or_else(|| refuse("unterminated format() type specifier"))?;
            }
            if spec != '$' || n == 0 {
                return Err(refuse(
                    "format specifies argument 0, but arguments are numbered from 1",
                ));
            }
            index = n - 1;
            spec = chars
                .next()
                .ok_or_else(|| refuse("unterminated format() type specifier"))?;
        }
        next = index + 1;
        match spec {
            's' => out.push_str(&value(index)?.unwrap_or_default()),
            'I' => match value(index)? {
                Some(v) => out.push_str(&quote(&v)),
                None => {
                    return Err(refuse(
                        "null values cannot be formatted as an SQL identifier",
                    ))
                }
            },
            'L' => match value(index)? {
                Some(v) => out.push_str(&format!("'{}'", v.replace('\'', "''"))),
                None => out.push_str("NULL"),
            },
            other => {
                return Err(refuse(&format!(
                    "unrecognized format() type specifier \"{other}\""
                )))
            }
        }
    }
    Ok(Some(out))
}

/// An identifier as PostgreSQL prints it: quoted unless lower-case and plain.
fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match plain {
        true => name.to_string(),
        false => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::size_pretty;

    #[test]
    fn like_patterns_move_to_backslash_escapes() {
        assert_eq!(super::like_escape("pg/_%", '/'), "pg\\_%");
        assert_eq!(super::like_escape("a\\b//c", '/'), "a\\\\b\\/c");
    }

    #[test]
    fn sizes_print_as_postgres_prints_them() {
        // SELECT pg_size_pretty(n::bigint) on PostgreSQL 15.18.
        for (n, text) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (10485248, "10 MB"),
            (20971007, "20 MB"),
            (20971008, "20 MB"),
            (-10240, "-10 kB"),
            (-10241, "-10 kB"),
            (1i64 << 53, "8192 TB"),
        ] {
            assert_eq!(size_pretty(n), text, "{n}");
        }
    }
}
