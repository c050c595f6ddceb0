//! `CREATE MATERIALIZED VIEW` (PostgreSQL, RisingWave, Materialize) and Flink's
//! `CREATE MATERIALIZED TABLE ... [FRESHNESS = INTERVAL ..] [REFRESH_MODE = CONTINUOUS] AS`.

use std::time::Duration;

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::statement::{parse_sqlparser, remaining_text, upper, Statement};
use crate::error::{Result, SqlError};

/// Parses `CREATE MATERIALIZED {VIEW | TABLE} ...`.
pub(super) fn parse_create(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.next_token(); // CREATE
    p.next_token(); // MATERIALIZED
    let table = match upper(&p.next_token().token).as_str() {
        "VIEW" => false,
        "TABLE" => true,
        _ => {
            return Err(SqlError::Syntax(
                "expected CREATE MATERIALIZED VIEW or CREATE MATERIALIZED TABLE".into(),
            ))
        }
    };
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = super::create_table::object_path(&mut p)?;
    let mut freshness = None;
    let mut options = None;
    let mut partition_keys = Vec::new();
    loop {
        let word = upper(&p.peek_token().token);
        match word.as_str() {
            "AS" => {
                p.next_token();
                break;
            }
            "PARTITIONED" if table => {
                p.next_token();
                p.expect_keyword(Keyword::BY)?;
                p.expect_token(&Token::LParen)?;
                loop {
                    partition_keys.push(super::normalize_ident(&p.parse_identifier()?));
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                p.expect_token(&Token::RParen)?;
            }
            "WITH" if table => {
                p.next_token();
                options = Some(super::create_table::parse_options(&mut p)?);
            }
            "FRESHNESS" if table => {
                p.next_token();
                p.expect_token(&Token::Eq)?;
                freshness = Some(parse_freshness(&mut p)?);
            }
            "REFRESH_MODE" if table => {
                p.next_token();
                p.expect_token(&Token::Eq)?;
                match upper(&p.next_token().token).as_str() {
                    "CONTINUOUS" => {}
                    "FULL" => {
                        return Err(SqlError::NotSupported(
                            "REFRESH_MODE = FULL is not supported: Eddy keeps materialized \
                             tables up to date continuously (REFRESH_MODE = CONTINUOUS)"
                                .into(),
                        ))
                    }
                    other => {
                        return Err(SqlError::Syntax(format!(
                            "expected REFRESH_MODE = CONTINUOUS or FULL, found '{other}'"
                        )))
                    }
                }
            }
            "" => {
                return Err(SqlError::Syntax(format!(
                    "expected AS <query>, found {}",
                    p.peek_token().token
                )))
            }
            other => {
                return Err(SqlError::NotSupported(format!(
                    "{other} in CREATE MATERIALIZED {}: only {}AS <query> is supported",
                    if table { "TABLE" } else { "VIEW" },
                    if table {
                        "PARTITIONED BY, WITH, FRESHNESS = INTERVAL .., REFRESH_MODE = CONTINUOUS and "
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    let query = remaining_text(sql, &mut p)?;
    match parse_sqlparser(&query)? {
        ast::Statement::Query(_) => Ok(Statement::CreateMaterializedView {
            name,
            query,
            if_not_exists,
            freshness,
            table,
            options,
            partition_keys,
        }),
        _ => Err(SqlError::Syntax(
            "CREATE MATERIALIZED ... AS must be followed by a query".into(),
        )),
    }
}

/// `INTERVAL '<n>' {SECOND | MINUTE | HOUR | DAY}`, as Flink's FRESHNESS takes it.
fn parse_freshness(p: &mut Parser) -> Result<Duration> {
    p.expect_keyword(Keyword::INTERVAL)?;
    let amount = match p.next_token().token {
        Token::SingleQuotedString(s) => s,
        t => {
            return Err(SqlError::Syntax(format!(
                "expected FRESHNESS = INTERVAL '<number>' <unit>, found {t}"
            )))
        }
    };
    let n: u64 = amount
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            SqlError::InvalidParameter(format!(
                "FRESHNESS must be a positive whole number of its unit, not '{amount}'"
            ))
        })?;
    let unit = upper(&p.next_token().token);
    let seconds = match unit.trim_end_matches('S') {
        "SECOND" => 1,
        "MINUTE" => 60,
        "HOUR" => 3600,
        "DAY" => 86400,
        _ => {
            return Err(SqlError::Syntax(format!(
                "FRESHNESS takes SECOND, MINUTE, HOUR or DAY, not '{unit}'"
            )))
        }
    };
    n.checked_mul(seconds)
        .filter(|s| *s <= 86400 * 365)
        .map(Duration::from_secs)
        .ok_or_else(|| SqlError::InvalidParameter("FRESHNESS is longer than a year".into()))
}
