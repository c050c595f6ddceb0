//! Flink's statements on catalogs and databases: CREATE / ALTER / DROP / USE / SHOW /
//! DESCRIBE CATALOG, CREATE / ALTER / DROP / USE / SHOW DATABASE(S), and SHOW TABLES /
//! VIEWS with FROM and LIKE.

use std::collections::BTreeMap;

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create_table::parse_options;
use super::normalize_ident;
use super::statement::Statement;
use super::words::{end, key_list, word};
use crate::error::{Result, SqlError};

/// `[NOT] LIKE | ILIKE 'pattern'` of the SHOW statements, with SQL's `%` and `_`.
#[derive(Debug, Clone, PartialEq)]
pub struct LikeFilter {
    pub negated: bool,
    pub case_insensitive: bool,
    pub pattern: String,
}

impl LikeFilter {
    /// Whether `name` is listed.
    pub fn matches(&self, name: &str) -> bool {
        let (name, pattern) = match self.case_insensitive {
            true => (name.to_lowercase(), self.pattern.to_lowercase()),
            false => (name.to_string(), self.pattern.clone()),
        };
        let name: Vec<char> = name.chars().collect();
        let pattern: Vec<char> = pattern.chars().collect();
        like(&name, &pattern) != self.negated
    }
}

/// SQL LIKE over characters, `\` escaping the next one; iterative with one backtrack
/// point, so no pattern makes it recurse or take exponential time.
fn like(name: &[char], pattern: &[char]) -> bool {
    let (mut n, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, n));
                p += 1;
            }
            Some('\\') if pattern.get(p + 1) == Some(&name[n]) => {
                n += 1;
                p += 2;
            }
            Some('_') => {
                n += 1;
                p += 1;
            }
            Some(&c) if c != '\\' && c == name[n] => {
                n += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

/// What ALTER CATALOG changes.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterCatalog {
    Set(BTreeMap<String, String>),
    Reset(Vec<String>),
    Comment(String),
}

/// A statement on catalogs or databases, or a SHOW of a database's objects.
#[derive(Debug, Clone, PartialEq)]
pub enum NamespaceStatement {
    CreateCatalog {
        name: String,
        if_not_exists: bool,
        comment: Option<String>,
        options: BTreeMap<String, String>,
    },
    DropCatalog {
        name: String,
        if_exists: bool,
    },
    AlterCatalog {
        name: String,
        change: AlterCatalog,
    },
    UseCatalog(String),
    ShowCatalogs(Option<LikeFilter>),
    ShowCurrentCatalog,
    ShowCreateCatalog(String),
    DescribeCatalog {
        name: String,
        extended: bool,
    },
    CreateDatabase {
        name: Vec<String>,
        if_not_exists: bool,
        comment: Option<String>,
        properties: BTreeMap<String, String>,
    },
    DropDatabase {
        name: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    AlterDatabase {
        name: Vec<String>,
        properties: BTreeMap<String, String>,
    },
    UseDatabase(Vec<String>),
    ShowDatabases {
        catalog: Option<String>,
        like: Option<LikeFilter>,
    },
    ShowCurrentDatabase,
    /// SHOW TABLES (tables, views and materialized tables, as Flink's) or SHOW VIEWS.
    ShowObjects {
        views_only: bool,
        database: Option<Vec<String>>,
        like: Option<LikeFilter>,
    },
}

impl NamespaceStatement {
    /// Whether it answers rows and changes nothing: a Describe may run it to learn its
    /// columns.
    pub fn answers_rows(&self) -> bool {
        matches!(
            self,
            NamespaceStatement::ShowCatalogs(_)
                | NamespaceStatement::ShowCurrentCatalog
                | NamespaceStatement::ShowCreateCatalog(_)
                | NamespaceStatement::DescribeCatalog { .. }
                | NamespaceStatement::ShowDatabases { .. }
                | NamespaceStatement::ShowCurrentDatabase
                | NamespaceStatement::ShowObjects { .. }
        )
    }
}

fn name_parts(p: &mut Parser) -> Result<Vec<String>> {
    let name = p.parse_object_name(false)?;
    name.0
        .iter()
        .map(|part| {
            part.as_ident()
                .map(normalize_ident)
                .ok_or_else(|| SqlError::Syntax(format!("'{name}' is not a name")))
        })
        .collect()
}

/// A catalog's name: one part, as Flink's parser wants it.
fn catalog_name(p: &mut Parser) -> Result<String> {
    let ident = p.parse_identifier()?;
    if p.peek_token().token == Token::Period {
        return Err(SqlError::Syntax(format!(
            "a catalog name is a single identifier; found '.' after '{}'",
            ident.value
        )));
    }
    Ok(normalize_ident(&ident))
}

fn database_name(p: &mut Parser) -> Result<Vec<String>> {
    let parts = name_parts(p)?;
    match parts.len() {
        1 | 2 => Ok(parts),
        _ => Err(SqlError::Syntax(format!(
            "a database name is 'database' or 'catalog.database', not '{}'",
            parts.join(".")
        ))),
    }
}

fn if_exists(p: &mut Parser) -> bool {
    p.parse_keywords(&[Keyword::IF, Keyword::EXISTS])
}

fn if_not_exists(p: &mut Parser) -> bool {
    p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS])
}

fn comment(p: &mut Parser) -> Result<Option<String>> {
    match p.parse_keyword(Keyword::COMMENT) {
        true => Ok(Some(p.parse_literal_string()?)),
        false => Ok(None),
    }
}

pub(super) fn like_filter(p: &mut Parser) -> Result<Option<LikeFilter>> {
    let negated = p.parse_keyword(Keyword::NOT);
    let case_insensitive = match () {
        _ if p.parse_keyword(Keyword::LIKE) => false,
        _ if p.parse_keyword(Keyword::ILIKE) => true,
        _ if negated => return Err(SqlError::Syntax("expected LIKE or ILIKE after NOT".into())),
        _ => return Ok(None),
    };
    Ok(Some(LikeFilter {
        negated,
        case_insensitive,
        pattern: p.parse_literal_string()?,
    }))
}

/// `SHOW COLUMNS FROM | IN name [[NOT] LIKE | ILIKE 'pattern']`.
pub(super) fn parse_show_columns(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.next_token(); // SHOW
    p.next_token(); // COLUMNS
    p.next_token(); // FROM | IN
    let name = super::create_table::object_path(&mut p)?;
    let like = like_filter(&mut p)?;
    end(&mut p, "SHOW COLUMNS")?;
    Ok(Statement::ShowColumns { name, like })
}

/// Parses the statement if it is one of this module's; `None` leaves it to others.
pub(super) fn parse(sql: &str) -> Result<Option<Statement>> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    let statement = if p.parse_keyword(Keyword::CREATE) {
        if word(&mut p, "CATALOG") {
            let if_not_exists = if_not_exists(&mut p);
            let name = catalog_name(&mut p)?;
            let comment = comment(&mut p)?;
            p.expect_keyword(Keyword::WITH)?;
            let options = parse_options(&mut p)?;
            end(&mut p, "CREATE CATALOG")?;
            NamespaceStatement::CreateCatalog {
                name,
                if_not_exists,
                comment,
                options,
            }
        } else if word(&mut p, "DATABASE") {
            let if_not_exists = if_not_exists(&mut p);
            let name = database_name(&mut p)?;
            let comment = comment(&mut p)?;
            let properties = match p.parse_keyword(Keyword::WITH) {
                true => parse_options(&mut p)?,
                false => BTreeMap::new(),
            };
            end(&mut p, "CREATE DATABASE")?;
            NamespaceStatement::CreateDatabase {
                name,
                if_not_exists,
                comment,
                properties,
            }
        } else {
            return Ok(None);
        }
    } else if p.parse_keyword(Keyword::DROP) {
        if word(&mut p, "CATALOG") {
            let if_exists = if_exists(&mut p);
            let name = catalog_name(&mut p)?;
            end(&mut p, "DROP CATALOG")?;
            NamespaceStatement::DropCatalog { name, if_exists }
        } else if word(&mut p, "DATABASE") {
            let if_exists = if_exists(&mut p);
            let name = database_name(&mut p)?;
            let cascade = p.parse_keyword(Keyword::CASCADE);
            if !cascade {
                let _ = p.parse_keyword(Keyword::RESTRICT);
            }
            end(&mut p, "DROP DATABASE")?;
            NamespaceStatement::DropDatabase {
                name,
                if_exists,
                cascade,
            }
        } else {
            return Ok(None);
        }
    } else if p.parse_keyword(Keyword::ALTER) {
        if word(&mut p, "CATALOG") {
            let name = catalog_name(&mut p)?;
            let change = if p.parse_keyword(Keyword::SET) {
                AlterCatalog::Set(parse_options(&mut p)?)
            } else if word(&mut p, "RESET") {
                AlterCatalog::Reset(key_list(&mut p)?)
            } else if p.parse_keyword(Keyword::COMMENT) {
                AlterCatalog::Comment(p.parse_literal_string()?)
            } else {
                return Err(SqlError::Syntax(
                    "expected ALTER CATALOG name SET (...), RESET (...) or COMMENT '...'".into(),
                ));
            };
            end(&mut p, "ALTER CATALOG")?;
            NamespaceStatement::AlterCatalog { name, change }
        } else if word(&mut p, "DATABASE") {
            let name = database_name(&mut p)?;
            p.expect_keyword(Keyword::SET)?;
            let properties = parse_options(&mut p)?;
            end(&mut p, "ALTER DATABASE")?;
            NamespaceStatement::AlterDatabase { name, properties }
        } else {
            return Ok(None);
        }
    } else if word(&mut p, "USE") {
        // USE MODULES is the functions parser's, as in Flink (a database called modules
        // is written `modules` in backticks).
        if word(&mut p, "MODULES") {
            return Ok(None);
        }
        // `USE catalog` names a database called `catalog` unless CATALOG is followed by
        // a name.
        let catalog = matches!(&p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("CATALOG"))
            && !matches!(
                p.peek_nth_token(1).token,
                Token::EOF | Token::SemiColon | Token::Period
            );
        if catalog {
            p.next_token();
            let name = catalog_name(&mut p)?;
            end(&mut p, "USE CATALOG")?;
            NamespaceStatement::UseCatalog(name)
        } else {
            let name = database_name(&mut p)?;
            end(&mut p, "USE")?;
            NamespaceStatement::UseDatabase(name)
        }
    } else if word(&mut p, "SHOW") {
        if word(&mut p, "CATALOGS") {
            let like = like_filter(&mut p)?;
            end(&mut p, "SHOW CATALOGS")?;
            NamespaceStatement::ShowCatalogs(like)
        } else if word(&mut p, "CURRENT") {
            let statement = if word(&mut p, "CATALOG") {
                NamespaceStatement::ShowCurrentCatalog
            } else if word(&mut p, "DATABASE") {
                NamespaceStatement::ShowCurrentDatabase
            } else {
                return Err(SqlError::Syntax(
                    "expected SHOW CURRENT CATALOG or SHOW CURRENT DATABASE".into(),
                ));
            };
            end(&mut p, "SHOW CURRENT")?;
            statement
        } else if word(&mut p, "DATABASES") {
            let catalog = match p.parse_keyword(Keyword::FROM) || p.parse_keyword(Keyword::IN) {
                true => {
                    let parts = name_parts(&mut p)?;
                    match parts.as_slice() {
                        [c] => Some(c.clone()),
                        _ => {
                            return Err(SqlError::Syntax(format!(
                                "SHOW DATABASES FROM / IN takes a catalog, a single identifier, not '{}'",
                                parts.join(".")
                            )))
                        }
                    }
                }
                false => None,
            };
            let like = like_filter(&mut p)?;
            end(&mut p, "SHOW DATABASES")?;
            NamespaceStatement::ShowDatabases { catalog, like }
        } else if matches!(&p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && (w.value.eq_ignore_ascii_case("TABLES") || w.value.eq_ignore_ascii_case("VIEWS")))
        {
            let views_only = word(&mut p, "VIEWS");
            if !views_only {
                p.next_token();
            }
            let database = match p.parse_keyword(Keyword::FROM) || p.parse_keyword(Keyword::IN) {
                true => Some(database_name(&mut p)?),
                false => None,
            };
            let like = like_filter(&mut p)?;
            end(&mut p, "SHOW TABLES")?;
            NamespaceStatement::ShowObjects {
                views_only,
                database,
                like,
            }
        } else if p.parse_keyword(Keyword::CREATE) && word(&mut p, "CATALOG") {
            let name = catalog_name(&mut p)?;
            end(&mut p, "SHOW CREATE CATALOG")?;
            NamespaceStatement::ShowCreateCatalog(name)
        } else {
            return Ok(None);
        }
    } else if word(&mut p, "DESCRIBE") || word(&mut p, "DESC") {
        // `DESCRIBE catalog` and `DESCRIBE catalog.t` are tables.
        if !word(&mut p, "CATALOG") || matches!(p.peek_token().token, Token::EOF | Token::Period) {
            return Ok(None);
        }
        let extended = matches!(&p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("EXTENDED"))
            && p.peek_nth_token(1).token != Token::EOF;
        if extended {
            p.next_token();
        }
        let name = catalog_name(&mut p)?;
        end(&mut p, "DESCRIBE CATALOG")?;
        NamespaceStatement::DescribeCatalog { name, extended }
    } else {
        return Ok(None);
    };
    Ok(Some(Statement::Namespace(statement)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(sql: &str) -> NamespaceStatement {
        match parse(sql).unwrap() {
            Some(Statement::Namespace(n)) => n,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn like_matches_as_sql_does() {
        let f = |p: &str, ci: bool, neg: bool| LikeFilter {
            negated: neg,
            case_insensitive: ci,
            pattern: p.into(),
        };
        assert!(f("db%", false, false).matches("db1"));
        assert!(!f("db%", false, false).matches("default"));
        assert!(f("%p_r%", false, false).matches("v_person"));
        assert!(f("p_r%", false, false).matches("person"));
        assert!(!f("p_r%", false, false).matches("v_person"));
        assert!(f("DB%", true, false).matches("db1"));
        assert!(!f("DB%", false, false).matches("db1"));
        assert!(f("db0a%", false, true).matches("db0b"));
        assert!(f("a\\_b", false, false).matches("a_b"));
        assert!(!f("a\\_b", false, false).matches("axb"));
        assert!(f("%%%", false, false).matches(""));
        // No blow-up on many wildcards.
        assert!(!f(&"%a".repeat(30), false, false).matches(&"a".repeat(29)));
    }

    #[test]
    fn parses_catalog_and_database_statements() {
        assert_eq!(
            ns("create catalog if not exists c1 comment 'it''s' with ('type'='generic_in_memory')"),
            NamespaceStatement::CreateCatalog {
                name: "c1".into(),
                if_not_exists: true,
                comment: Some("it's".into()),
                options: [("type".to_string(), "generic_in_memory".to_string())].into(),
            }
        );
        assert!(parse("create catalog invalid.cat with ('type'='generic_in_memory')").is_err());
        assert_eq!(
            ns("use catalog c1"),
            NamespaceStatement::UseCatalog("c1".into())
        );
        // A database called `catalog`.
        assert_eq!(
            ns("use catalog"),
            NamespaceStatement::UseDatabase(vec!["catalog".into()])
        );
        assert_eq!(
            ns("USE c0.db1;"),
            NamespaceStatement::UseDatabase(vec!["c0".into(), "db1".into()])
        );
        assert_eq!(
            ns("show databases from c0 not ilike 'db0a%'"),
            NamespaceStatement::ShowDatabases {
                catalog: Some("c0".into()),
                like: Some(LikeFilter {
                    negated: true,
                    case_insensitive: true,
                    pattern: "db0a%".into()
                })
            }
        );
        assert!(parse("show databases in c0.t").is_err());
        assert_eq!(
            ns("show views in catalog1.db1 not like '%person%'"),
            NamespaceStatement::ShowObjects {
                views_only: true,
                database: Some(vec!["catalog1".into(), "db1".into()]),
                like: Some(LikeFilter {
                    negated: true,
                    case_insensitive: false,
                    pattern: "%person%".into()
                })
            }
        );
        assert_eq!(
            ns("desc catalog extended cat2"),
            NamespaceStatement::DescribeCatalog {
                name: "cat2".into(),
                extended: true
            }
        );
        assert_eq!(
            ns("drop database if exists c.db cascade"),
            NamespaceStatement::DropDatabase {
                name: vec!["c".into(), "db".into()],
                if_exists: true,
                cascade: true
            }
        );
        assert_eq!(
            ns("alter catalog cat2 reset ()"),
            NamespaceStatement::AlterCatalog {
                name: "cat2".into(),
                change: AlterCatalog::Reset(vec![])
            }
        );
        assert!(parse("describe orders").unwrap().is_none());
        assert!(parse("create table t (a int)").unwrap().is_none());
    }
}
