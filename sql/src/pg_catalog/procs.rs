//! Eddy's user functions as PostgreSQL describes functions: rows of `pg_proc` (psql's
//! `\df`, pgjdbc's `getFunctions`) in the schema of their Flink database, written in the
//! language `plpython3u` (`pg_language`), as a function of PostgreSQL's own Python would be.

use eddy_runtime::functions::python::PythonFunction;

use super::relations::{Relations, SUPERUSER};
use super::rows::{row, Row};

/// PostgreSQL's pseudo-type `"any"`: the arguments of Flink's form, which takes what the
/// call gives.
pub const ANY: u32 = 2276;

/// The language of every user function.
pub const PYTHON: &str = "plpython3u";

/// A user function as `pg_proc` lists it.
#[derive(Debug, Clone)]
pub struct UserFunction {
    pub oid: u32,
    pub name: String,
    pub schema: String,
    pub schema_oid: u32,
    /// Argument type OIDs; the last one repeats when `variadic`.
    pub args: Vec<u32>,
    /// The arguments' names, in PostgreSQL's form; none in Flink's.
    pub arg_names: Vec<String>,
    pub variadic: bool,
    pub result: u32,
    /// How many trailing arguments may be left out (Python defaults).
    pub defaults: usize,
    pub deterministic: bool,
    /// The Python body, or Flink's `module.function`.
    pub source: String,
}

impl UserFunction {
    /// `function`, defined in `schema`; OIDs are assigned by [`Relations::with_functions`].
    pub fn of(schema: &str, function: &PythonFunction) -> Self {
        let oid_of = |text: &str| {
            text.parse::<datafusion::arrow::datatypes::DataType>()
                .map(|t| crate::pgwire::pg_type(&t).oid())
                .unwrap_or(ANY)
        };
        let (min, max) = function.arity;
        let (args, variadic) = match function.param_types.is_empty() {
            // Flink's form: any arguments, as many as the Python function takes (its
            // `*args` as VARIADIC).
            true => match max {
                Some(max) => (vec![ANY; max], false),
                None => (vec![ANY; min + 1], true),
            },
            false => (
                function.param_types.iter().map(|t| oid_of(t)).collect(),
                false,
            ),
        };
        UserFunction {
            oid: 0,
            name: function.name.clone(),
            schema: schema.to_string(),
            schema_oid: 0,
            args,
            arg_names: match function.param_types.is_empty() {
                true => Vec::new(),
                false => function.params.clone(),
            },
            variadic,
            result: oid_of(&function.result_type),
            defaults: max.map_or(0, |max| max.saturating_sub(min)),
            deterministic: function.deterministic,
            source: function
                .body
                .clone()
                .unwrap_or_else(|| function.target.clone()),
        }
    }
}

/// The `pg_proc` rows of the user functions (PostgreSQL's own rows come with the table).
pub fn proc_rows(r: &Relations) -> Vec<Row> {
    r.functions
        .iter()
        .map(|f| {
            let args: Vec<i64> = f.args.iter().map(|a| i64::from(*a)).collect();
            row![
                "oid" => f.oid,
                "proname" => f.name.as_str(),
                "pronamespace" => f.schema_oid,
                "proowner" => SUPERUSER,
                "prolang" => r.python_language_oid,
                "procost" => 100i32,
                "provariadic" => if f.variadic { ANY } else { 0 },
                "prokind" => "f",
                "prosecdef" => false,
                "proleakproof" => false,
                "proisstrict" => false,
                "proretset" => false,
                "provolatile" => if f.deterministic { "i" } else { "v" },
                "proparallel" => "u",
                "pronargs" => args.len() as i32,
                "pronargdefaults" => f.defaults as i32,
                "prorettype" => f.result,
                "proargtypes" => super::rows::V::Ints(args),
                "prosrc" => f.source.as_str(),
            ]
        })
        .collect()
}

/// The row of `pg_language` for the user functions' language.
pub fn language_rows(r: &Relations) -> Vec<Row> {
    vec![row![
        "oid" => r.python_language_oid,
        "lanname" => PYTHON,
        "lanowner" => SUPERUSER,
        "lanispl" => true,
        "lanpltrusted" => false,
    ]]
}

/// What `pg_get_function_arguments` prints for a user function: its arguments' names and
/// types (`x integer`), the last marked VARIADIC when it repeats (`VARIADIC "any"`, as
/// PostgreSQL prints its `concat`).
pub fn arguments(f: &UserFunction, type_name: impl Fn(u32) -> String) -> String {
    let name = |oid: u32| match oid {
        ANY => "\"any\"".to_string(),
        _ => type_name(oid),
    };
    let mut out: Vec<String> = f
        .args
        .iter()
        .enumerate()
        .map(
            |(i, a)| match f.arg_names.get(i).filter(|n| !n.is_empty()) {
                Some(n) => format!("{n} {}", name(*a)),
                None => name(*a),
            },
        )
        .collect();
    if let (true, Some(last)) = (f.variadic, out.last_mut()) {
        *last = format!("VARIADIC {last}");
    }
    out.join(", ")
}
