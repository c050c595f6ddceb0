//! `CREATE / ALTER / DROP USER | ROLE`, parsed by sqlparser's PostgreSQL grammar (`USER`
//! is read as `ROLE`, as PostgreSQL's own grammar does; only the LOGIN default differs).

use datafusion::sql::sqlparser::ast::{self, AlterRoleOperation, ObjectType, RoleOption};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::normalize_ident;
use super::statement::Statement;
use crate::error::{Result, SqlError};

/// The role attributes Eddy keeps. `password`: `Some(None)` is `PASSWORD NULL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOptions {
    pub superuser: Option<bool>,
    pub login: Option<bool>,
    pub password: Option<Option<String>>,
}

/// Parses a statement that starts `verb USER` or `verb ROLE`.
pub(super) fn parse(sql: &str) -> Result<Statement> {
    let tokens = super::tokenize_spans(sql)?;
    let mut words = tokens.iter().filter(|(t, _)| {
        !matches!(
            t,
            datafusion::sql::sqlparser::tokenizer::Token::Whitespace(_)
        )
    });
    let verb = words.next().map(|(t, _)| super::statement::upper(t));
    let (second, span) = words
        .next()
        .map(|(t, span)| (super::statement::upper(t), span.clone()))
        .ok_or_else(|| SqlError::Syntax("expected USER or ROLE".into()))?;
    let user = second == "USER";
    let text = format!("{}ROLE{}", &sql[..span.start], &sql[span.end..]);
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &text)?;
    if statements.len() != 1 {
        return Err(SqlError::Syntax("expected exactly one statement".into()));
    }
    match (verb.as_deref(), statements.remove(0)) {
        (Some("CREATE"), ast::Statement::CreateRole(c)) => {
            let [name] = c.names.as_slice() else {
                return Err(SqlError::Syntax("CREATE ROLE names one role".into()));
            };
            let name = single_ident(name)?;
            let unsupported = [
                c.inherit.map(|_| "INHERIT"),
                c.bypassrls.map(|_| "BYPASSRLS"),
                c.create_db.map(|_| "CREATEDB"),
                c.create_role.map(|_| "CREATEROLE"),
                c.replication.map(|_| "REPLICATION"),
                c.connection_limit.as_ref().map(|_| "CONNECTION LIMIT"),
                c.valid_until.as_ref().map(|_| "VALID UNTIL"),
                (!c.in_role.is_empty()).then_some("IN ROLE"),
                (!c.in_group.is_empty()).then_some("IN GROUP"),
                (!c.role.is_empty()).then_some("ROLE"),
                (!c.user.is_empty()).then_some("USER"),
                (!c.admin.is_empty()).then_some("ADMIN"),
            ];
            if let Some(option) = unsupported.into_iter().flatten().next() {
                return Err(not_kept(option));
            }
            let password = c.password.map(password).transpose()?;
            Ok(Statement::CreateRole {
                name,
                options: RoleOptions {
                    superuser: c.superuser,
                    // CREATE USER is CREATE ROLE ... LOGIN.
                    login: c.login.or(Some(user)),
                    password,
                },
            })
        }
        (Some("ALTER"), ast::Statement::AlterRole { name, operation }) => {
            let AlterRoleOperation::WithOptions { options } = operation else {
                return Err(SqlError::NotSupported(
                    "ALTER ROLE changes SUPERUSER, LOGIN and PASSWORD only".into(),
                ));
            };
            let mut kept = RoleOptions::default();
            for option in options {
                match option {
                    RoleOption::SuperUser(b) => kept.superuser = Some(b),
                    RoleOption::Login(b) => kept.login = Some(b),
                    RoleOption::Password(p) => kept.password = Some(password(p)?),
                    other => return Err(not_kept(&other.to_string())),
                }
            }
            Ok(Statement::AlterRole {
                name: normalize_ident(&name),
                options: kept,
            })
        }
        (
            Some("DROP"),
            ast::Statement::Drop {
                object_type: ObjectType::Role,
                if_exists,
                names,
                ..
            },
        ) => Ok(Statement::DropRole {
            names: names.iter().map(single_ident).collect::<Result<_>>()?,
            if_exists,
        }),
        (_, other) => Err(SqlError::NotSupported(format!(
            "statement not supported: {}",
            other
                .to_string()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ))),
    }
}

fn single_ident(name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => match part.as_ident().map(normalize_ident) {
            Some(n) if n.is_empty() => {
                Err(SqlError::Syntax("zero-length delimited identifier".into()))
            }
            Some(n) => Ok(n),
            None => Err(SqlError::Syntax(format!("invalid role name {name}"))),
        },
        _ => Err(SqlError::Syntax(format!(
            "role name {name} cannot be qualified"
        ))),
    }
}

fn password(p: ast::Password) -> Result<Option<String>> {
    match p {
        ast::Password::NullPassword => Ok(None),
        ast::Password::Password(ast::Expr::Value(v)) => match v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => Ok(Some(s)),
            other => Err(SqlError::Syntax(format!(
                "expected the password as a quoted string, got {other}"
            ))),
        },
        ast::Password::Password(other) => Err(SqlError::Syntax(format!(
            "expected the password as a quoted string, got {other}"
        ))),
    }
}

fn not_kept(option: &str) -> SqlError {
    SqlError::NotSupported(format!(
        "role option {option} is not supported: Eddy's roles have SUPERUSER, LOGIN and PASSWORD only"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(sql: &str) -> (String, RoleOptions) {
        match parse(sql).unwrap() {
            Statement::CreateRole { name, options } | Statement::AlterRole { name, options } => {
                (name, options)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_user_logs_in_and_create_role_does_not() {
        let (name, o) = options("CREATE USER Alice WITH PASSWORD 'it''s'");
        assert_eq!(name, "alice");
        assert_eq!(o.login, Some(true));
        assert_eq!(o.password, Some(Some("it's".into())));
        let (_, o) = options("create role r superuser");
        assert_eq!(o.login, Some(false));
        assert_eq!(o.superuser, Some(true));
        let (_, o) = options("CREATE ROLE \"R\" LOGIN PASSWORD NULL");
        assert_eq!(o.login, Some(true));
        assert_eq!(o.password, Some(None));
    }

    #[test]
    fn alter_and_drop() {
        let (name, o) = options("ALTER USER bob WITH PASSWORD 'x' NOSUPERUSER");
        assert_eq!(name, "bob");
        assert_eq!(o.password, Some(Some("x".into())));
        assert_eq!(o.superuser, Some(false));
        match parse("DROP USER IF EXISTS a, b").unwrap() {
            Statement::DropRole { names, if_exists } => {
                assert_eq!(names, vec!["a", "b"]);
                assert!(if_exists);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_eddy_does_not_keep_are_refused() {
        for sql in [
            "CREATE ROLE r CREATEDB",
            "CREATE USER u CONNECTION LIMIT 3",
            "ALTER ROLE r RENAME TO s",
            "ALTER ROLE r VALID UNTIL 'infinity'",
        ] {
            let e = parse(sql).unwrap_err();
            assert_eq!(e.sqlstate(), "0A000", "{sql}: {e}");
        }
        assert_eq!(parse("CREATE USER").unwrap_err().sqlstate(), "42601");
        assert_eq!(
            parse("CREATE USER u PASSWORD 42").unwrap_err().sqlstate(),
            "42601"
        );
    }
}
