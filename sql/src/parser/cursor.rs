//! `SUBSCRIBE [TO] view [WITH (SNAPSHOT = bool)]` (Materialize's statement) and
//! PostgreSQL's cursors over it or over any query: `DECLARE c CURSOR FOR ...`,
//! `FETCH [n | ALL | NEXT] [FROM] c`, `CLOSE c | ALL`.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::normalize_ident;
use super::statement::{remaining_text, upper, Statement};
use crate::error::{Result, SqlError};

/// How many rows a FETCH asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchCount {
    Rows(u64),
    All,
}

fn ident(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(normalize_ident(&datafusion::sql::sqlparser::ast::Ident {
            value: w.value.clone(),
            quote_style: w.quote_style,
            span: datafusion::sql::sqlparser::tokenizer::Span::empty(),
        })),
        _ => None,
    }
}

/// `SUBSCRIBE [TO] name [WITH (SNAPSHOT = true | false)]`; `w` has no whitespace.
pub(super) fn parse_subscribe(w: &[Token]) -> Result<Statement> {
    let usage =
        || SqlError::Syntax("expected SUBSCRIBE [TO] <view> [WITH (SNAPSHOT = false)]".into());
    let mut i = 1;
    if w.get(i).map(upper).as_deref() == Some("TO") {
        i += 1;
    }
    // `view`, `db.view` or `catalog.db.view`.
    let mut parts = vec![w.get(i).and_then(ident).ok_or_else(usage)?];
    i += 1;
    while w.get(i) == Some(&Token::Period) {
        parts.push(w.get(i + 1).and_then(ident).ok_or_else(usage)?);
        i += 2;
    }
    let name = crate::catalog::ObjectPath::try_new(parts)?;
    let mut snapshot = true;
    if i < w.len() {
        let option: Vec<String> = w[i..].iter().map(upper).collect();
        let shape_ok = w.len() == i + 6
            && option[0] == "WITH"
            && w[i + 1] == Token::LParen
            && option[2] == "SNAPSHOT"
            && w[i + 3] == Token::Eq
            && w[i + 5] == Token::RParen;
        if !shape_ok {
            return Err(usage());
        }
        snapshot = match option[4].as_str() {
            "TRUE" => true,
            "FALSE" => false,
            _ => return Err(usage()),
        };
    }
    Ok(Statement::Subscribe { name, snapshot })
}

/// `DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR <query | SUBSCRIBE>`.
pub(super) fn parse_declare(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.next_token(); // DECLARE
    let name = ident(&p.next_token().token)
        .ok_or_else(|| SqlError::Syntax("expected DECLARE <name> CURSOR FOR <query>".into()))?;
    let mut hold = false;
    let mut previous = String::new();
    loop {
        let t = p.next_token().token;
        let word = upper(&t);
        if word == "HOLD" && previous == "WITH" {
            hold = true;
        }
        previous = word.clone();
        match word.as_str() {
            "FOR" => break,
            "BINARY" | "NO" | "SCROLL" | "CURSOR" | "WITH" | "WITHOUT" | "HOLD" | "INSENSITIVE"
            | "ASENSITIVE" => {}
            _ => {
                return Err(SqlError::Syntax(format!(
                    "expected DECLARE <name> CURSOR FOR <query>, found {t}"
                )))
            }
        }
    }
    let rest = remaining_text(sql, &mut p)?;
    let inner = super::parse_statement(&rest)?;
    match inner {
        Statement::Query(_) | Statement::Subscribe { .. } => Ok(Statement::DeclareCursor {
            name,
            hold,
            statement: Box::new(inner),
        }),
        _ => Err(SqlError::Syntax(
            "a cursor is declared FOR a query or a SUBSCRIBE".into(),
        )),
    }
}

/// `FETCH [FORWARD] [NEXT | ALL | n] [FROM | IN] name`; `w` has no whitespace.
pub(super) fn parse_fetch(w: &[Token]) -> Result<Statement> {
    let usage = || SqlError::Syntax("expected FETCH [n | ALL | NEXT] [FROM] <cursor>".into());
    let mut count = FetchCount::Rows(1);
    let mut i = 1;
    while i + 1 < w.len() {
        match (&w[i], upper(&w[i]).as_str()) {
            (_, "FORWARD") => {}
            (_, "NEXT") => count = FetchCount::Rows(1),
            (_, "ALL") => count = FetchCount::All,
            (_, "FROM" | "IN") => {}
            (Token::Number(n, _), _) => {
                count = FetchCount::Rows(n.parse().map_err(|_| usage())?);
            }
            _ => return Err(usage()),
        }
        i += 1;
    }
    let name = w
        .get(i)
        .filter(|_| i > 0)
        .and_then(ident)
        .ok_or_else(usage)?;
    Ok(Statement::Fetch { name, count })
}

/// `CLOSE name | ALL`.
pub(super) fn parse_close(w: &[Token]) -> Result<Statement> {
    match w {
        [_, t] if upper(t) == "ALL" => Ok(Statement::CloseCursor(None)),
        [_, t] => Ok(Statement::CloseCursor(Some(ident(t).ok_or_else(|| {
            SqlError::Syntax("expected CLOSE <cursor> | ALL".into())
        })?))),
        _ => Err(SqlError::Syntax("expected CLOSE <cursor> | ALL".into())),
    }
}
