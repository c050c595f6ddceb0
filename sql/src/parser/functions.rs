//! Flink's statements on modules and functions: SHOW [FULL] MODULES, LOAD / UNLOAD
//! MODULE, USE MODULES, SHOW [USER] FUNCTIONS, DESCRIBE FUNCTION, and CREATE / DROP
//! FUNCTION.

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create_table::{object_path, parse_options};
use super::data_type::TypeParser;
use super::namespace::{like_filter, LikeFilter};
use super::normalize_ident;
use super::statement::Statement;
use super::words::{end, word};
use crate::catalog::{FlinkType, ObjectPath};
use crate::error::{Result, SqlError};

/// A statement on modules or functions.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionStatement {
    ShowModules {
        full: bool,
    },
    LoadModule(String),
    UnloadModule(String),
    UseModules(Vec<String>),
    ShowFunctions {
        user_only: bool,
        like: Option<LikeFilter>,
    },
    DescribeFunction {
        name: ObjectPath,
        extended: bool,
    },
    /// Flink's `CREATE [TEMPORARY [SYSTEM]] FUNCTION ... AS 'module.function' [LANGUAGE
    /// ...]`, or PostgreSQL's `CREATE FUNCTION f(a type, ...) RETURNS type LANGUAGE ... AS
    /// $$body$$`.
    CreateFunction(CreateFunction),
    DropFunction {
        name: ObjectPath,
        kind: FunctionKind,
        if_exists: bool,
    },
    /// Flink's `ALTER [TEMPORARY [SYSTEM]] FUNCTION [IF EXISTS] f AS '...' [LANGUAGE ...]`:
    /// the statement that would create it anew.
    AlterFunction {
        create: CreateFunction,
        if_exists: bool,
    },
}

/// Where a function lives, as Flink tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// In a catalog's database, kept with it.
    Catalog,
    /// In a catalog's database, for the session.
    Temporary,
    /// Without a namespace, for the session, ahead of the built-in functions.
    TemporarySystem,
}

/// A CREATE FUNCTION statement.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateFunction {
    pub name: ObjectPath,
    pub kind: FunctionKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// Flink's class or `module.function`; PostgreSQL's body.
    pub definition: String,
    /// Upper case; Flink's default is JAVA.
    pub language: String,
    pub using_jar: bool,
    /// PostgreSQL's form: parameters with their types, and the result type.
    pub params: Option<Vec<(String, FlinkType)>>,
    pub returns: Option<FlinkType>,
    /// PostgreSQL's VOLATILE, its default (IMMUTABLE and STABLE are deterministic);
    /// Flink's form is deterministic, as pyflink's functions are by default.
    pub volatile: bool,
}

impl FunctionStatement {
    /// Whether it answers rows and changes nothing: a Describe may run it.
    pub fn answers_rows(&self) -> bool {
        matches!(
            self,
            FunctionStatement::ShowModules { .. }
                | FunctionStatement::ShowFunctions { .. }
                | FunctionStatement::DescribeFunction { .. }
        )
    }
}

/// A module's name: an identifier (Flink refuses a quoted string).
fn module_name(p: &mut Parser) -> Result<String> {
    match p.peek_token().token {
        Token::Word(_) => Ok(normalize_ident(&p.parse_identifier()?)),
        t => Err(SqlError::Syntax(format!(
            "expected a module name (an identifier), found {t}"
        ))),
    }
}

/// `TEMPORARY [SYSTEM]`, if there.
fn kind_words(p: &mut Parser) -> FunctionKind {
    match p.parse_keyword(Keyword::TEMPORARY) {
        false => FunctionKind::Catalog,
        true if word(p, "SYSTEM") => FunctionKind::TemporarySystem,
        true => FunctionKind::Temporary,
    }
}

/// PostgreSQL's `(name type, ...)` after `(`.
fn parameters(p: &mut Parser) -> Result<Vec<(String, FlinkType)>> {
    let mut params = Vec::new();
    if p.consume_token(&Token::RParen) {
        return Ok(params);
    }
    loop {
        let name = normalize_ident(&p.parse_identifier()?);
        let t = TypeParser::new(p).parse_type()?;
        params.push((name, t));
        if p.consume_token(&Token::RParen) {
            return Ok(params);
        }
        p.expect_token(&Token::Comma)?;
    }
}

/// PostgreSQL's clauses after RETURNS, in any order: LANGUAGE, AS, and volatility.
fn pg_clauses(p: &mut Parser, create: &mut CreateFunction) -> Result<()> {
    let mut body = None;
    let mut language = None;
    create.volatile = true;
    loop {
        if p.parse_keyword(Keyword::LANGUAGE) {
            language = Some(p.parse_identifier()?.value.to_ascii_uppercase());
        } else if p.parse_keyword(Keyword::AS) {
            body = Some(match p.peek_token().token {
                Token::DollarQuotedString(s) => {
                    p.next_token();
                    s.value
                }
                _ => p.parse_literal_string()?,
            });
        } else if word(p, "VOLATILE") {
            create.volatile = true;
        } else if word(p, "IMMUTABLE") || word(p, "STABLE") {
            create.volatile = false;
        } else {
            break;
        }
    }
    end(p, "CREATE FUNCTION")?;
    create.language = language
        .ok_or_else(|| SqlError::Syntax(format!("CREATE FUNCTION {}: no LANGUAGE", create.name)))?;
    create.definition = body.ok_or_else(|| {
        SqlError::Syntax(format!("CREATE FUNCTION {}: no AS $$body$$", create.name))
    })?;
    Ok(())
}

/// Parses the statement if it is one of this module's; `None` leaves it to others.
pub(super) fn parse(sql: &str) -> Result<Option<Statement>> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    let statement = if word(&mut p, "SHOW") {
        let full = word(&mut p, "FULL");
        if word(&mut p, "MODULES") {
            end(&mut p, "SHOW MODULES")?;
            FunctionStatement::ShowModules { full }
        } else if full {
            return Ok(None);
        } else {
            let user_only = word(&mut p, "USER");
            if !word(&mut p, "FUNCTIONS") {
                return Ok(None);
            }
            // FROM | IN a database: Eddy's functions are the same in every database.
            if p.parse_keyword(Keyword::FROM) || p.parse_keyword(Keyword::IN) {
                object_path(&mut p)?;
            }
            let like = like_filter(&mut p)?;
            end(&mut p, "SHOW FUNCTIONS")?;
            FunctionStatement::ShowFunctions { user_only, like }
        }
    } else if word(&mut p, "LOAD") {
        if !word(&mut p, "MODULE") {
            return Ok(None);
        }
        let name = module_name(&mut p)?;
        if p.parse_keyword(Keyword::WITH) {
            let options = parse_options(&mut p)?;
            if options.contains_key("type") {
                return Err(SqlError::InvalidParameter(format!(
                    "Property 'type' = '{}' is not supported since module name is used to find module",
                    options["type"]
                )));
            }
        }
        end(&mut p, "LOAD MODULE")?;
        FunctionStatement::LoadModule(name)
    } else if word(&mut p, "UNLOAD") {
        if !word(&mut p, "MODULE") {
            return Ok(None);
        }
        let name = module_name(&mut p)?;
        end(&mut p, "UNLOAD MODULE")?;
        FunctionStatement::UnloadModule(name)
    } else if word(&mut p, "USE") {
        // As Flink: an unquoted MODULES is the keyword (`modules` in backticks is a
        // database).
        if !word(&mut p, "MODULES") {
            return Ok(None);
        }
        let mut names = vec![module_name(&mut p)?];
        while p.consume_token(&Token::Comma) {
            names.push(module_name(&mut p)?);
        }
        end(&mut p, "USE MODULES")?;
        FunctionStatement::UseModules(names)
    } else if word(&mut p, "DESCRIBE") || word(&mut p, "DESC") {
        if !word(&mut p, "FUNCTION") || matches!(p.peek_token().token, Token::EOF | Token::Period) {
            return Ok(None);
        }
        let extended = matches!(&p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("EXTENDED"))
            && p.peek_nth_token(1).token != Token::EOF;
        if extended {
            p.next_token();
        }
        let name = object_path(&mut p)?;
        end(&mut p, "DESCRIBE FUNCTION")?;
        FunctionStatement::DescribeFunction { name, extended }
    } else if p.parse_keyword(Keyword::CREATE) {
        let or_replace = p.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
        let kind = kind_words(&mut p);
        if !p.parse_keyword(Keyword::FUNCTION) {
            return Ok(None);
        }
        let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = object_path(&mut p)?;
        let mut create = CreateFunction {
            name,
            kind,
            or_replace,
            if_not_exists,
            definition: String::new(),
            language: "JAVA".to_string(),
            using_jar: false,
            params: None,
            returns: None,
            volatile: false,
        };
        if p.consume_token(&Token::LParen) {
            create.params = Some(parameters(&mut p)?);
            if !word(&mut p, "RETURNS") {
                return Err(SqlError::Syntax(format!(
                    "CREATE FUNCTION {}(...) needs RETURNS and the result type",
                    create.name
                )));
            }
            create.returns = Some(TypeParser::new(&mut p).parse_type()?);
            pg_clauses(&mut p, &mut create)?;
        } else {
            p.expect_keyword(Keyword::AS)?;
            create.definition = p.parse_literal_string()?;
            if p.parse_keyword(Keyword::LANGUAGE) {
                create.language = p.parse_identifier()?.value.to_ascii_uppercase();
            }
            create.using_jar = p.parse_keyword(Keyword::USING);
            if !create.using_jar {
                end(&mut p, "CREATE FUNCTION")?;
            }
        }
        FunctionStatement::CreateFunction(create)
    } else if p.parse_keyword(Keyword::ALTER) {
        let kind = kind_words(&mut p);
        if !p.parse_keyword(Keyword::FUNCTION) {
            return Ok(None);
        }
        let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = object_path(&mut p)?;
        p.expect_keyword(Keyword::AS)?;
        let definition = p.parse_literal_string()?;
        let language = match p.parse_keyword(Keyword::LANGUAGE) {
            true => p.parse_identifier()?.value.to_ascii_uppercase(),
            false => "JAVA".to_string(),
        };
        end(&mut p, "ALTER FUNCTION")?;
        FunctionStatement::AlterFunction {
            create: CreateFunction {
                name,
                kind,
                or_replace: true,
                if_not_exists: false,
                definition,
                language,
                using_jar: false,
                params: None,
                returns: None,
                volatile: false,
            },
            if_exists,
        }
    } else if p.parse_keyword(Keyword::DROP) {
        let kind = kind_words(&mut p);
        if !p.parse_keyword(Keyword::FUNCTION) {
            return Ok(None);
        }
        let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = object_path(&mut p)?;
        // PostgreSQL's argument list, which tells overloads apart; Eddy has none.
        if p.consume_token(&Token::LParen) {
            while !p.consume_token(&Token::RParen) {
                if p.next_token().token == Token::EOF {
                    return Err(SqlError::Syntax("DROP FUNCTION: ( without )".into()));
                }
            }
        }
        end(&mut p, "DROP FUNCTION")?;
        FunctionStatement::DropFunction {
            name,
            kind,
            if_exists,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(Statement::Functions(statement)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(sql: &str) -> FunctionStatement {
        match parse(sql).unwrap() {
            Some(Statement::Functions(s)) => s,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn parses_module_and_function_statements() {
        assert_eq!(
            f("SHOW FULL MODULES"),
            FunctionStatement::ShowModules { full: true }
        );
        assert_eq!(
            f("LOAD MODULE core"),
            FunctionStatement::LoadModule("core".into())
        );
        assert!(parse("LOAD MODULE 'hive'").is_err());
        assert!(parse("LOAD MODULE myhive WITH ('type' = 'hive')").is_err());
        assert_eq!(
            f("USE MODULES hive, core"),
            FunctionStatement::UseModules(vec!["hive".into(), "core".into()])
        );
        assert_eq!(
            f("show user functions like 'f%'"),
            FunctionStatement::ShowFunctions {
                user_only: true,
                like: Some(LikeFilter {
                    negated: false,
                    case_insensitive: false,
                    pattern: "f%".into()
                })
            }
        );
        assert!(matches!(
            f("create temporary system function if not exists f as 'a.B' language python"),
            FunctionStatement::CreateFunction(CreateFunction { language, kind: FunctionKind::TemporarySystem, if_not_exists: true, .. }) if language == "PYTHON"
        ));
        assert!(matches!(
            f("drop temporary function if exists c1.db.f"),
            FunctionStatement::DropFunction {
                if_exists: true,
                kind: FunctionKind::Temporary,
                ..
            }
        ));
        let FunctionStatement::CreateFunction(pg) = f(
            "CREATE OR REPLACE FUNCTION add1(x bigint, y int) RETURNS bigint VOLATILE LANGUAGE plpython3u AS $$\nreturn x + y\n$$",
        ) else {
            panic!()
        };
        assert!(pg.or_replace && pg.volatile);
        assert_eq!(pg.language, "PLPYTHON3U");
        assert_eq!(pg.definition, "\nreturn x + y\n");
        assert_eq!(
            pg.params,
            Some(vec![
                ("x".to_string(), FlinkType::BigInt),
                ("y".to_string(), FlinkType::Int)
            ])
        );
        assert_eq!(pg.returns, Some(FlinkType::BigInt));
        assert!(parse("CREATE FUNCTION f(x int) LANGUAGE python AS $$1$$").is_err());
        assert!(parse("CREATE FUNCTION f AS 'm.f' LANGUAGE PYTHON extra").is_err());
        assert!(matches!(
            f("drop function f(int, text)"),
            FunctionStatement::DropFunction {
                kind: FunctionKind::Catalog,
                ..
            }
        ));
        assert!(parse("describe function").unwrap().is_none());
        assert!(parse("show tables").unwrap().is_none());
        assert!(parse("use db1").unwrap().is_none());
        assert!(parse("use `modules`").unwrap().is_none());
        assert!(parse("use modules").is_err());
    }
}
