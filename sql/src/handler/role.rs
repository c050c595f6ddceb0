//! CREATE / ALTER / DROP USER and ROLE, with PostgreSQL's rules for who may do what once
//! clients authenticate; under `trust` every session may, as every PostgreSQL client may
//! claim to be the superuser under trust.

use crate::catalog::{CatalogRole, Verifier};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::RoleOptions;
use crate::pg_catalog::ROLE_NAME;
use crate::session::Session;

fn command(tag: &str) -> Result<QueryOutput> {
    Ok(QueryOutput::Command(tag.into()))
}

/// Whether the session may manage other roles.
async fn may_manage(engine: &Engine, session: &Session) -> bool {
    !engine.checks_roles() || engine.is_superuser(session.user()).await
}

fn from_configuration(name: &str) -> SqlError {
    SqlError::InsufficientPrivilege(format!(
        "to change role \"{name}\": it is defined in the configuration file (sql-gateway.endpoint.pg.users.{name}.password); change it there"
    ))
}

/// The verifier to keep. An empty password is no password, as in PostgreSQL ("empty string
/// is not a valid password, clearing password"): it would let anyone in.
fn verifier(password: Option<String>) -> Option<String> {
    password
        .filter(|p| !p.is_empty())
        .map(|p| Verifier::from_password_or_verifier(&p).to_string())
}

pub(super) async fn create(
    engine: &Engine,
    session: &Session,
    name: String,
    options: RoleOptions,
) -> Result<QueryOutput> {
    if !may_manage(engine, session).await {
        return Err(SqlError::InsufficientPrivilege("to create role".into()));
    }
    let mut catalog = engine.catalog.write().await;
    if name == ROLE_NAME || engine.config_users.contains(&name) || catalog.roles.contains_key(&name)
    {
        return Err(SqlError::DuplicateRole(name));
    }
    let role = CatalogRole {
        superuser: options.superuser.unwrap_or(false),
        login: options.login.unwrap_or(false),
        password: options.password.and_then(verifier),
    };
    let mut next = catalog.clone();
    next.roles.insert(name, role);
    engine.save_catalog(&next)?;
    *catalog = next;
    command("CREATE ROLE")
}

pub(super) async fn alter(
    engine: &Engine,
    session: &Session,
    name: String,
    options: RoleOptions,
) -> Result<QueryOutput> {
    if engine.config_users.contains(&name) {
        return Err(from_configuration(&name));
    }
    let manager = may_manage(engine, session).await;
    let mut catalog = engine.catalog.write().await;
    let current = match catalog.roles.get(&name) {
        Some(role) => role.clone(),
        // The built-in superuser has no entry until it is given a password.
        None if name == ROLE_NAME => CatalogRole {
            superuser: true,
            login: true,
            password: None,
        },
        None => return Err(SqlError::UndefinedRole(name)),
    };
    if options.superuser.is_some() && !manager {
        return Err(SqlError::InsufficientPrivilege(
            "to alter superuser roles or change superuser attribute".into(),
        ));
    }
    // A role may change its own password; anything else takes a superuser.
    let own_password =
        name == session.user() && options.superuser.is_none() && options.login.is_none();
    if !manager && !own_password {
        return Err(SqlError::InsufficientPrivilege(format!(
            "to alter role \"{name}\""
        )));
    }
    if name == ROLE_NAME && (options.superuser == Some(false) || options.login == Some(false)) {
        return Err(SqlError::InsufficientPrivilege(format!(
            "to take SUPERUSER or LOGIN from \"{ROLE_NAME}\", Eddy's built-in superuser"
        )));
    }
    let role = CatalogRole {
        superuser: options.superuser.unwrap_or(current.superuser),
        login: options.login.unwrap_or(current.login),
        password: match options.password {
            Some(p) => verifier(p),
            None => current.password,
        },
    };
    let mut next = catalog.clone();
    next.roles.insert(name, role);
    engine.save_catalog(&next)?;
    *catalog = next;
    command("ALTER ROLE")
}

pub(super) async fn drop(
    engine: &Engine,
    session: &Session,
    names: Vec<String>,
    if_exists: bool,
) -> Result<QueryOutput> {
    if !may_manage(engine, session).await {
        return Err(SqlError::InsufficientPrivilege("to drop role".into()));
    }
    let mut catalog = engine.catalog.write().await;
    let mut next = catalog.clone();
    for name in names {
        if engine.config_users.contains(&name) {
            return Err(from_configuration(&name));
        }
        if name == ROLE_NAME {
            return Err(SqlError::InsufficientPrivilege(format!(
                "to drop role \"{ROLE_NAME}\": it is Eddy's built-in superuser"
            )));
        }
        if name == session.user() {
            return Err(SqlError::ObjectInUse(
                "current user cannot be dropped".into(),
            ));
        }
        if next.roles.remove(&name).is_none() && !if_exists {
            return Err(SqlError::UndefinedRole(name));
        }
    }
    engine.save_catalog(&next)?;
    *catalog = next;
    command("DROP ROLE")
}
