//! Flink's statements on modules and functions: SHOW [FULL] MODULES, LOAD / UNLOAD
//! MODULE, USE MODULES, SHOW [USER] FUNCTIONS, DESCRIBE FUNCTION, and CREATE / DROP
//! FUNCTION.

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create_table::{object_path, parse_options};
use super::namespace::{like_filter, LikeFilter};
use super::normalize_ident;
use super::statement::Statement;
use super::words::{end, word};
use crate::catalog::ObjectPath;
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
    /// `CREATE [TEMPORARY [SYSTEM]] FUNCTION ... AS '...' [LANGUAGE ...]`: its language.
    CreateFunction {
        name: ObjectPath,
        language: String,
        using_jar: bool,
    },
    DropFunction {
        name: ObjectPath,
        if_exists: bool,
    },
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
        let _ = p.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
        if p.parse_keyword(Keyword::TEMPORARY) {
            let _ = word(&mut p, "SYSTEM");
        }
        if !p.parse_keyword(Keyword::FUNCTION) {
            return Ok(None);
        }
        let _ = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let name = object_path(&mut p)?;
        p.expect_keyword(Keyword::AS)?;
        // The class name or code; its language decides what Eddy says.
        let _ = p.parse_literal_string()?;
        let language = match p.parse_keyword(Keyword::LANGUAGE) {
            true => p.parse_identifier()?.value.to_ascii_uppercase(),
            false => "JAVA".to_string(),
        };
        let using_jar = p.parse_keyword(Keyword::USING);
        FunctionStatement::CreateFunction {
            name,
            language,
            using_jar,
        }
    } else if p.parse_keyword(Keyword::DROP) {
        if p.parse_keyword(Keyword::TEMPORARY) {
            let _ = word(&mut p, "SYSTEM");
        }
        if !p.parse_keyword(Keyword::FUNCTION) {
            return Ok(None);
        }
        let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = object_path(&mut p)?;
        end(&mut p, "DROP FUNCTION")?;
        FunctionStatement::DropFunction { name, if_exists }
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
            FunctionStatement::CreateFunction { language, .. } if language == "PYTHON"
        ));
        assert!(matches!(
            f("drop temporary function if exists c1.db.f"),
            FunctionStatement::DropFunction {
                if_exists: true,
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
