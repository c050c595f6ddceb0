//! Modules and functions: SHOW [FULL] MODULES, LOAD / UNLOAD / USE MODULES, SHOW
//! FUNCTIONS, DESCRIBE FUNCTION, and CREATE / DROP FUNCTION.
//!
//! Eddy has one module, Flink's `core`: its built-in functions (DataFusion's and Eddy's
//! Flink functions), which cannot be unloaded. User functions are written in Python
//! (`user_functions.rs`); it runs no JVM code, so functions written in Java or Scala (`AS
//! 'class'`, `USING JAR`) are refused with what Eddy offers instead.

use std::collections::BTreeSet;

use super::rows::{opt_text, table, text, Cell};
use crate::catalog::ObjectPath;
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::FunctionStatement;

/// The one module Eddy has.
const CORE: &str = "core";

fn no_module(name: &str) -> SqlError {
    SqlError::UndefinedObject(format!(
        "No module with name '{name}' exists; Eddy has the '{CORE}' module only (its built-in functions)"
    ))
}

/// Every built-in function's name, as SHOW FUNCTIONS lists them.
fn builtin_names(engine: &Engine) -> BTreeSet<String> {
    let state = engine.bare_context().state();
    state
        .scalar_functions()
        .keys()
        .chain(state.aggregate_functions().keys())
        .chain(state.window_functions().keys())
        .filter(|n| !n.starts_with("eddy_"))
        .cloned()
        .collect()
}

/// The user functions `session` sees by name; with `callable`, only those a call finds
/// (a built-in function hides a catalog function of its name).
async fn user_functions(
    engine: &Engine,
    session: &crate::session::Session,
    callable: bool,
) -> std::collections::BTreeMap<String, super::user_functions::Visible> {
    let builtin = builtin_names(engine);
    let catalog = engine.catalog.read().await;
    super::user_functions::visible(
        &catalog,
        &session.temporaries.snapshot(),
        &session.current_database(),
        |n| callable && builtin.contains(n),
    )
}

/// DESCRIBE FUNCTION of a user function, with the rows Flink shows for one.
fn describe_user(found: &super::user_functions::Visible, extended: bool) -> Result<QueryOutput> {
    let f = &found.function;
    let mut rows = vec![
        vec![text("is system function"), text(found.system.to_string())],
        vec![text("is temporary"), text(found.temporary.to_string())],
        vec![
            text("class name"),
            text(match &f.body {
                Some(body) => body.clone(),
                None => f.target.clone(),
            }),
        ],
        vec![text("function language"), text("PYTHON")],
        vec![
            text("resource uris"),
            text(format!("[{}]", f.files.join(", "))),
        ],
    ];
    if extended {
        rows.push(vec![text("kind"), text("SCALAR")]);
        rows.push(vec![
            text("deterministic"),
            text(f.deterministic.to_string()),
        ]);
        let arity = match f.arity {
            (low, Some(high)) if low == high => format!("{low} arguments"),
            (low, Some(high)) => format!("{low} to {high} arguments"),
            (low, None) => format!("at least {low} arguments"),
        };
        rows.push(vec![
            text("signature"),
            text(format!("{arity}, returns {}", f.result_name)),
        ]);
    }
    table(&["info name", "info value"], rows)
}

fn describe(engine: &Engine, name: &ObjectPath, extended: bool) -> Result<QueryOutput> {
    let state = engine.bare_context().state();
    let key = name.name().to_ascii_lowercase();
    let (kind, signature, volatility) = if let Some(f) = state.scalar_functions().get(&key) {
        ("SCALAR", f.signature().clone(), f.signature().volatility)
    } else if let Some(f) = state.aggregate_functions().get(&key) {
        ("AGGREGATE", f.signature().clone(), f.signature().volatility)
    } else if let Some(f) = state.window_functions().get(&key) {
        ("WINDOW", f.signature().clone(), f.signature().volatility)
    } else {
        return Err(SqlError::UndefinedFunction(format!(
            "Function '{name}' does not exist; SHOW FUNCTIONS lists Eddy's functions"
        )));
    };
    let mut rows = vec![
        vec![text("is system function"), Cell::Bool(true)],
        vec![text("is temporary"), Cell::Bool(false)],
        vec![text("function language"), opt_text(None)],
    ];
    if extended {
        rows.push(vec![text("kind"), text(kind)]);
        rows.push(vec![
            text("deterministic"),
            Cell::Bool(volatility == datafusion::logical_expr::Volatility::Immutable),
        ]);
        rows.push(vec![
            text("signature"),
            text(format!("{:?}", signature.type_signature)),
        ]);
    }
    // One column of text for the values, as Flink prints them.
    let rows = rows
        .into_iter()
        .map(|r| {
            let value = match &r[1] {
                Cell::Bool(b) => text(b.to_string()),
                other => other.clone(),
            };
            vec![r[0].clone(), value]
        })
        .collect();
    table(&["info name", "info value"], rows)
}

pub(super) async fn execute(
    engine: &Engine,
    session: &crate::session::Session,
    statement: FunctionStatement,
) -> Result<QueryOutput> {
    use FunctionStatement as F;
    match statement {
        F::ShowModules { full } => {
            let modules = session.modules();
            match full {
                false => table(
                    &["module name"],
                    modules
                        .iter()
                        .filter(|(_, used)| *used)
                        .map(|(n, _)| vec![text(n)])
                        .collect(),
                ),
                true => table(
                    &["module name", "used"],
                    modules
                        .iter()
                        .map(|(n, used)| vec![text(n), Cell::Bool(*used)])
                        .collect(),
                ),
            }
        }
        F::LoadModule(name) => match name == CORE {
            true => Err(SqlError::DuplicateConstraint(format!(
                "A module with name '{name}' already exists"
            ))),
            false => Err(SqlError::UndefinedObject(format!(
                "Could not find a module named '{name}': Eddy has the '{CORE}' module only (its built-in functions)"
            ))),
        },
        F::UnloadModule(name) => match name == CORE {
            true => Err(SqlError::NotSupported(format!(
                "the '{CORE}' module holds Eddy's built-in functions and cannot be unloaded"
            ))),
            false => Err(no_module(&name)),
        },
        F::UseModules(names) => {
            let mut seen = BTreeSet::new();
            for n in &names {
                if !seen.insert(n) {
                    return Err(SqlError::InvalidParameter(format!(
                        "Module '{n}' appears more than once"
                    )));
                }
                if n != CORE {
                    return Err(no_module(n));
                }
            }
            session.use_modules(&names);
            Ok(QueryOutput::Command("USE MODULES".into()))
        }
        F::ShowFunctions { user_only, like } => {
            let mut names: BTreeSet<String> =
                user_functions(engine, session, false)
                    .await
                    .into_keys()
                    .collect();
            if !user_only {
                names.extend(builtin_names(engine));
            }
            let names: Vec<String> = names
                .into_iter()
                .filter(|n| like.as_ref().is_none_or(|l| l.matches(n)))
                .collect();
            table(
                &["function name"],
                names.into_iter().map(|n| vec![text(n)]).collect(),
            )
        }
        F::DescribeFunction { name, extended } => {
            let users = user_functions(engine, session, true).await;
            match users.get(&name.name().to_ascii_lowercase()) {
                Some(found) if name.0.len() == 1 => describe_user(found, extended),
                _ => describe(engine, &name, extended),
            }
        }
        F::CreateFunction(create) => super::user_functions::create(engine, session, create).await,
        F::AlterFunction { create, if_exists } => {
            super::user_functions::alter(engine, session, create, if_exists).await
        }
        F::DropFunction {
            name,
            kind,
            if_exists,
        } => super::user_functions::drop(engine, session, &name, kind, if_exists).await,
    }
}
