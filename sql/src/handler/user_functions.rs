//! User functions: CREATE and DROP FUNCTION in Python, and how SHOW FUNCTIONS and
//! DESCRIBE FUNCTION see them.
//!
//! Flink's three kinds: catalog functions live in a database and are kept with the catalog,
//! temporary ones live in a database for the session, and temporary system functions live
//! for the session without a namespace, ahead of the built-in functions. A call `f(x)`
//! finds, in Flink's order, a temporary system function, a built-in one, a temporary
//! function of the current database, then a catalog function of the current database.
//!
//! A function is loaded once when it is created, in a Python process, so a missing module
//! or a wrong name fails the CREATE, and its result type and arity are known from then on.

use std::collections::BTreeMap;
use std::path::Path;

use eddy_runtime::config::python as python_options;
use eddy_runtime::functions::python::{self, PythonFunction};

use crate::catalog::{DatabaseName, FlinkType, ObjectName};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{CreateFunction, FunctionKind};
use crate::session::Session;

/// The languages Eddy runs, as CREATE FUNCTION writes them.
fn is_python(language: &str) -> bool {
    matches!(
        language,
        "PYTHON" | "PLPYTHON3U" | "PLPYTHONU" | "PLPYTHON3"
    )
}

/// What Eddy says to a function in a language it does not run.
fn not_runnable(create: &CreateFunction) -> SqlError {
    let what = match create.language.as_str() {
        "JAVA" | "SCALA" if create.params.is_none() => "JVM (Java or Scala) code",
        "SQL" | "PLPGSQL" => "SQL-language functions",
        _ => "that language",
    };
    SqlError::NotSupported(format!(
        "CREATE FUNCTION {}{} LANGUAGE {}: Eddy runs no {what}; it runs Python functions: CREATE FUNCTION f AS 'module.function' LANGUAGE PYTHON (with SET 'python.files'), or CREATE FUNCTION f(x BIGINT) RETURNS BIGINT LANGUAGE plpython3u AS $$ return x + 1 $$",
        create.name,
        if create.using_jar { " USING JAR" } else { "" },
        create.language,
    ))
}

/// The full name of a function of `kind`; `None` for a temporary system function.
fn full_name(
    session: &Session,
    name: &crate::catalog::ObjectPath,
    kind: FunctionKind,
) -> Result<Option<ObjectName>> {
    match kind {
        FunctionKind::TemporarySystem if name.0.len() > 1 => Err(SqlError::Syntax(format!(
            "Temporary system function '{name}' cannot have a catalog or database: it belongs to no namespace"
        ))),
        FunctionKind::TemporarySystem => Ok(None),
        _ => Ok(Some(session.resolve(name))),
    }
}

/// `python.files` as absolute paths, so TaskManagers started elsewhere find the same files.
fn python_files(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| match Path::new(f).is_absolute() {
            true => f.to_string(),
            false => std::env::current_dir()
                .map(|d| d.join(f).display().to_string())
                .unwrap_or_else(|_| f.to_string()),
        })
        .collect()
}

/// Reads a SQL type's name, as the function's loader reported it.
fn type_named(text: &str) -> Result<FlinkType> {
    let mut p = datafusion::sql::sqlparser::parser::Parser::new(&crate::parser::DIALECT)
        .try_with_sql(text)?;
    crate::parser::data_type::TypeParser::new(&mut p).parse_type()
}

/// Loads the function as written, and makes its definition.
async fn define(
    engine: &Engine,
    session: &Session,
    create: &CreateFunction,
) -> Result<PythonFunction> {
    let config = engine.effective_config(session);
    let pg_form = create.params.is_some();
    let mut function = PythonFunction {
        name: create.name.name().to_ascii_lowercase(),
        target: match pg_form {
            true => String::new(),
            false => create.definition.clone(),
        },
        body: pg_form.then(|| create.definition.clone()),
        params: create
            .params
            .iter()
            .flatten()
            .map(|(n, _)| n.clone())
            .collect(),
        param_types: Vec::new(),
        files: python_files(&config.get_string(&python_options::FILES)),
        executable: config.get_string(&python_options::EXECUTABLE),
        arity: (0, None),
        result_type: String::new(),
        result_name: String::new(),
        deterministic: !create.volatile,
    };
    let probe = function.clone();
    let described = tokio::task::spawn_blocking(move || python::describe(&probe))
        .await
        .map_err(|e| SqlError::Internal(format!("loading a Python function: {e}")))?;
    let description = described.map_err(|e| match e {
        eddy_runtime::RuntimeError::UserFunction { message, .. } => SqlError::InvalidFunction(
            format!("{message} (python.files: '{}')", function.files.join(",")),
        ),
        other => SqlError::Runtime(other),
    })?;
    let result = match (&create.returns, &description.result_type) {
        (Some(t), _) => t.clone(),
        (None, Some(text)) => type_named(text)?,
        (None, None) => {
            return Err(SqlError::InvalidFunction(format!(
                "Python function {} '{}' has no result type: annotate its return (def f(x) -> int) or give it with pyflink's @udf(result_type=...)",
                function.name, create.definition
            )))
        }
    };
    let arrow = result.to_arrow();
    let unsupported = |what: String| {
        SqlError::NotSupported(format!(
            "Python function {} {what}: Python functions take and return BOOLEAN, integers, FLOAT, DOUBLE, DECIMAL, STRING, BYTES, DATE and TIMESTAMP values",
            function.name
        ))
    };
    if !python::returnable(&arrow) {
        return Err(unsupported(format!("returns {result}")));
    }
    for (name, t) in create.params.iter().flatten() {
        if !python::returnable(&t.to_arrow()) {
            return Err(unsupported(format!("takes {name} {t}")));
        }
        function.param_types.push(t.to_arrow().to_string());
    }
    function.result_type = arrow.to_string();
    function.result_name = result.to_string();
    function.arity = match &create.params {
        Some(params) => (params.len(), Some(params.len())),
        None => description.arity,
    };
    function.deterministic = function.deterministic && description.deterministic;
    Ok(function)
}

fn exists_error(name: &str) -> SqlError {
    SqlError::DuplicateFunction(format!("Function {name} already exists"))
}

pub(super) async fn create(
    engine: &Engine,
    session: &Session,
    create: CreateFunction,
) -> Result<QueryOutput> {
    if !is_python(&create.language) || create.using_jar {
        return Err(not_runnable(&create));
    }
    let done = || Ok(QueryOutput::Command("CREATE FUNCTION".into()));
    // Function names are kept in lower case, as calls find them.
    let name = full_name(session, &create.name, create.kind)?.map(|mut n| {
        n.name = n.name.to_ascii_lowercase();
        n
    });
    let shown = name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| create.name.name().to_ascii_lowercase());
    // Taken names are checked before Python runs, and again when the function is stored.
    let taken = |catalog: &crate::catalog::Catalog| -> Result<bool> {
        Ok(match (&name, create.kind) {
            (Some(n), FunctionKind::Catalog) => catalog
                .database(&n.database)?
                .functions
                .contains_key(&n.name),
            (Some(n), _) => {
                catalog.database(&n.database)?;
                session.temporaries.snapshot().functions.contains_key(n)
            }
            (None, _) => session
                .temporaries
                .snapshot()
                .system_functions
                .contains_key(&shown),
        })
    };
    if taken(&*engine.catalog.read().await)? && !create.or_replace {
        return match create.if_not_exists {
            true => done(),
            false => Err(exists_error(&shown)),
        };
    }
    let function = define(engine, session, &create).await?;
    match (name.clone(), create.kind) {
        (Some(n), FunctionKind::Catalog) => {
            let mut catalog = engine.catalog.write().await;
            if taken(&catalog)? && !create.or_replace {
                return match create.if_not_exists {
                    true => done(),
                    false => Err(exists_error(&shown)),
                };
            }
            let mut next = catalog.clone();
            next.database_mut(&n.database)?
                .functions
                .insert(function.name.clone(), function);
            engine.save_catalog(&next)?;
            *catalog = next;
        }
        (Some(n), _) => session.temporaries.put_function(Some(n), function),
        (None, _) => session.temporaries.put_function(None, function),
    }
    done()
}

/// ALTER FUNCTION: a catalog function's new definition, loaded as CREATE loads one.
pub(super) async fn alter(
    engine: &Engine,
    session: &Session,
    create: CreateFunction,
    if_exists: bool,
) -> Result<QueryOutput> {
    let what = match create.kind {
        FunctionKind::Catalog => None,
        FunctionKind::Temporary => Some("temporary catalog"),
        FunctionKind::TemporarySystem => Some("temporary system"),
    };
    if let Some(what) = what {
        return Err(SqlError::NotSupported(format!(
            "Alter {what} function is not supported"
        )));
    }
    let name = session.resolve(&create.name);
    let exists = engine
        .catalog
        .read()
        .await
        .database(&name.database)?
        .functions
        .contains_key(&name.name.to_ascii_lowercase());
    match (exists, if_exists) {
        (true, _) => {
            self::create(engine, session, create).await?;
            Ok(QueryOutput::Command("ALTER FUNCTION".into()))
        }
        (false, true) => Ok(QueryOutput::Command("ALTER FUNCTION".into())),
        (false, false) => Err(SqlError::UndefinedFunction(format!(
            "Function {name} does not exist"
        ))),
    }
}

pub(super) async fn drop(
    engine: &Engine,
    session: &Session,
    name: &crate::catalog::ObjectPath,
    kind: FunctionKind,
    if_exists: bool,
) -> Result<QueryOutput> {
    let full = full_name(session, name, kind)?;
    let bare = name.name().to_ascii_lowercase();
    let dropped = match (&full, kind) {
        (Some(n), FunctionKind::Catalog) => {
            let mut catalog = engine.catalog.write().await;
            match catalog.database(&n.database)?.functions.contains_key(&bare) {
                false => false,
                true => {
                    let mut next = catalog.clone();
                    next.database_mut(&n.database)?.functions.remove(&bare);
                    engine.save_catalog(&next)?;
                    *catalog = next;
                    true
                }
            }
        }
        (Some(n), _) => session
            .temporaries
            .drop_function(Some(&n.database.object(&bare)), &bare),
        (None, _) => session.temporaries.drop_function(None, &bare),
    };
    match dropped || if_exists {
        true => Ok(QueryOutput::Command("DROP FUNCTION".into())),
        false => Err(SqlError::UndefinedFunction(format!(
            "Function {} does not exist",
            full.map(|n| n.to_string()).unwrap_or(bare)
        ))),
    }
}

/// A user function a session sees, with what DESCRIBE FUNCTION says of it.
pub(crate) struct Visible {
    pub function: PythonFunction,
    pub system: bool,
    pub temporary: bool,
}

/// The user functions calls in `at` find by name, in the order that shadows: a later
/// entry of the same name replaces an earlier one (catalog, then temporary, then temporary
/// system); a catalog or temporary one named as a built-in function is left out, as the
/// built-in one wins.
pub(crate) fn visible(
    catalog: &crate::catalog::Catalog,
    temporaries: &crate::session::TemporaryObjects,
    at: &DatabaseName,
    is_builtin: impl Fn(&str) -> bool,
) -> BTreeMap<String, Visible> {
    let mut out = BTreeMap::new();
    let in_database = catalog
        .database(at)
        .map(|d| d.functions.values().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    for function in in_database {
        out.insert(
            function.name.clone(),
            Visible {
                function,
                system: false,
                temporary: false,
            },
        );
    }
    for (name, function) in &temporaries.functions {
        if name.database == *at {
            out.insert(
                function.name.clone(),
                Visible {
                    function: function.clone(),
                    system: false,
                    temporary: true,
                },
            );
        }
    }
    out.retain(|name, _| !is_builtin(name));
    for function in temporaries.system_functions.values() {
        out.insert(
            function.name.clone(),
            Visible {
                function: function.clone(),
                system: true,
                temporary: true,
            },
        );
    }
    out
}
