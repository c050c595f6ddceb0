//! Flink 2.3's `INSERT ... ON CONFLICT DO DEDUPLICATE | ERROR | NOTHING` (FLIP-558): how
//! rows of different upsert keys under one primary key of the sink are resolved.
//! sqlparser knows PostgreSQL's ON CONFLICT only, so Flink's clause is rewritten into a
//! form it parses (`DO UPDATE SET __flink_on_conflict = 'DEDUPLICATE'`), which
//! [`conflict_of`] reads back from the parsed INSERT. PostgreSQL's own forms (a conflict
//! target, `DO UPDATE SET ...`) and MySQL's `ON DUPLICATE KEY` are refused: a streaming
//! INSERT cannot honour them.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Result, SqlError};

/// The column the rewrite assigns Flink's action to.
const SENTINEL: &str = "__flink_on_conflict";

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Rewrites Flink's ON CONFLICT clause of an INSERT into the form sqlparser parses;
/// returns `sql` unchanged otherwise.
pub fn rewrite_on_conflict(sql: &str) -> Result<String> {
    if !sql.to_ascii_uppercase().contains("CONFLICT") {
        return Ok(sql.to_string());
    }
    let tokens = super::tokenize_spans(sql)?;
    // Comments are whitespace tokens: the statement's first word decides.
    let first = tokens
        .iter()
        .find(|(t, _)| !matches!(t, Token::Whitespace(_)));
    if !first.is_some_and(|(t, _)| is_word(t, "INSERT")) {
        return Ok(sql.to_string());
    }
    // The words outside parentheses, with their byte ranges.
    let mut depth = 0usize;
    let mut top = Vec::new();
    for (t, span) in &tokens {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Whitespace(_) => {}
            _ if depth == 0 => top.push((t, span.clone())),
            _ => {}
        }
    }
    for w in top.windows(4) {
        if !(is_word(w[0].0, "ON") && is_word(w[1].0, "CONFLICT") && is_word(w[2].0, "DO")) {
            continue;
        }
        let action = match w[3].0 {
            Token::Word(word) if word.quote_style.is_none() => word.value.to_ascii_uppercase(),
            _ => String::new(),
        };
        return match action.as_str() {
            "DEDUPLICATE" | "ERROR" | "NOTHING" => Ok(format!(
                "{}DO UPDATE SET {SENTINEL} = '{action}'{}",
                &sql[..w[2].1.start],
                &sql[w[3].1.end..]
            )),
            // PostgreSQL's DO UPDATE SET ...: refused once parsed.
            "UPDATE" => Ok(sql.to_string()),
            _ => Err(SqlError::Syntax(
                "expected ON CONFLICT DO DEDUPLICATE, DO ERROR or DO NOTHING".into(),
            )),
        };
    }
    Ok(sql.to_string())
}

/// Flink's ON CONFLICT action of a parsed INSERT (`DEDUPLICATE`, `ERROR`, `NOTHING`), if
/// it has one; any other conflict clause is refused.
pub fn conflict_of(statement: &ast::Statement) -> Result<Option<&'static str>> {
    let ast::Statement::Insert(insert) = statement else {
        return Ok(None);
    };
    let Some(on) = &insert.on else {
        return Ok(None);
    };
    let refused = || {
        SqlError::NotSupported(
            "INSERT ... ON CONFLICT with a conflict target or DO UPDATE, and ON DUPLICATE KEY, are not supported: a streaming INSERT takes Flink's ON CONFLICT DO DEDUPLICATE | ERROR | NOTHING".into(),
        )
    };
    let ast::OnInsert::OnConflict(conflict) = on else {
        return Err(refused());
    };
    let (None, ast::OnConflictAction::DoUpdate(update)) =
        (&conflict.conflict_target, &conflict.action)
    else {
        return Err(refused());
    };
    let [assignment] = update.assignments.as_slice() else {
        return Err(refused());
    };
    let named = matches!(&assignment.target,
        ast::AssignmentTarget::ColumnName(name) if name.to_string() == SENTINEL);
    let action = match &assignment.value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => match s.as_str() {
                "DEDUPLICATE" => Some("DEDUPLICATE"),
                "ERROR" => Some("ERROR"),
                "NOTHING" => Some("NOTHING"),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    match (named, action, &update.selection) {
        (true, Some(action), None) => Ok(Some(action)),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> Result<Option<&'static str>> {
        let statement = super::super::statement::parse_sqlparser(sql)?;
        conflict_of(&statement)
    }

    #[test]
    fn flinks_actions_are_read_back_and_postgresqls_refused() {
        for action in ["DEDUPLICATE", "ERROR", "NOTHING"] {
            for sql in [
                format!("INSERT INTO t SELECT a, b FROM s ON CONFLICT DO {action}"),
                format!("/* x */ INSERT INTO t SELECT a FROM s ON CONFLICT do {action}"),
            ] {
                assert_eq!(parsed(&sql).unwrap(), Some(action), "{sql}");
            }
        }
        assert_eq!(
            parsed("INSERT INTO t SELECT 'ON CONFLICT DO NOTHING'").unwrap(),
            None
        );
        assert_eq!(
            parsed("INSERT INTO conflict SELECT * FROM s").unwrap(),
            None
        );
        for refused in [
            "INSERT INTO t VALUES (1) ON CONFLICT (a) DO NOTHING",
            "INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET a = 2",
            "INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET __flink_on_conflict = 'X'",
        ] {
            assert!(parsed(refused).is_err(), "{refused}");
        }
        assert!(parsed("INSERT INTO t SELECT 1 ON CONFLICT DO IT").is_err());
    }
}
