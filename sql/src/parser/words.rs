//! Small pieces the hand-written statement parsers share: an unquoted keyword sqlparser
//! has no `Keyword` for, the end of a statement, and a `('key', ...)` list.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Result, SqlError};

/// Whether the next token is the unquoted word `w`; consumes it if so.
pub(super) fn word(p: &mut Parser, w: &str) -> bool {
    match &p.peek_token().token {
        Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w) => {
            p.next_token();
            true
        }
        _ => false,
    }
}

/// The statement ends here (a trailing semicolon aside); `what` names it in the error.
pub(super) fn end(p: &mut Parser, what: &str) -> Result<()> {
    let _ = p.consume_token(&Token::SemiColon);
    match p.peek_token().token {
        Token::EOF => Ok(()),
        t => Err(SqlError::Syntax(format!(
            "unexpected {t} at the end of {what}"
        ))),
    }
}

/// `('key', ...)`, possibly empty, as RESET writes the keys it removes.
pub(super) fn key_list(p: &mut Parser) -> Result<Vec<String>> {
    p.expect_token(&Token::LParen)?;
    let mut keys = Vec::new();
    if p.consume_token(&Token::RParen) {
        return Ok(keys);
    }
    loop {
        keys.push(p.parse_literal_string()?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    Ok(keys)
}
