//! Flink 2.3's `INSERT ... ON CONFLICT DO DEDUPLICATE | ERROR | NOTHING` (FLIP-558) says
//! how a SinkUpsertMaterializer resolves rows of different upsert keys under one primary
//! key. Eddy has no materializer yet, so the clause is refused by name rather than parsed
//! as PostgreSQL's ON CONFLICT (which sqlparser would accept and the planner ignore).

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Result, SqlError};

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Refuses an INSERT with an ON CONFLICT clause (outside parentheses).
pub fn refuse_on_conflict(sql: &str) -> Result<()> {
    if !sql.to_ascii_uppercase().contains("CONFLICT") {
        return Ok(());
    }
    let tokens = super::tokenize_spans(sql)?;
    // Comments are whitespace tokens: the statement's first word decides.
    let first = tokens
        .iter()
        .find(|(t, _)| !matches!(t, Token::Whitespace(_)));
    if !first.is_some_and(|(t, _)| is_word(t, "INSERT")) {
        return Ok(());
    }
    let words: Vec<(&Token, usize)> = {
        let mut depth = 0usize;
        let mut out = Vec::new();
        for (t, _) in &tokens {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::Whitespace(_) => {}
                _ => out.push((t, depth)),
            }
        }
        out
    };
    let top: Vec<&Token> = words
        .iter()
        .filter(|(_, d)| *d == 0)
        .map(|(t, _)| *t)
        .collect();
    for w in top.windows(4) {
        if is_word(w[0], "ON") && is_word(w[1], "CONFLICT") && is_word(w[2], "DO") {
            let action = match w[3] {
                Token::Word(word) => word.value.to_ascii_uppercase(),
                other => other.to_string(),
            };
            return Err(SqlError::NotSupported(format!(
                "ON CONFLICT DO {action} is not supported yet: it needs a SinkUpsertMaterializer, \
                 which Eddy does not have. Write into a sink whose PRIMARY KEY is the query's \
                 upsert key, or SET 'table.exec.sink.upsert-materialize' = 'NONE' to write \
                 without one"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_refused_by_name_and_other_statements_pass() {
        for action in ["DEDUPLICATE", "ERROR", "NOTHING"] {
            let sql = format!("INSERT INTO t SELECT a, b FROM s ON CONFLICT DO {action}");
            let e = refuse_on_conflict(&sql).unwrap_err().to_string();
            assert!(e.contains(&format!("ON CONFLICT DO {action}")), "{e}");
        }
        for sql in [
            "/* x */ INSERT INTO t SELECT a FROM s ON CONFLICT DO NOTHING",
            "-- c\n INSERT INTO t SELECT a FROM s ON CONFLICT DO ERROR",
        ] {
            assert!(refuse_on_conflict(sql).is_err(), "{sql}");
        }
        for fine in [
            "INSERT INTO t SELECT 'ON CONFLICT DO NOTHING'",
            "SELECT 1",
            "INSERT INTO conflict SELECT * FROM s",
        ] {
            assert!(refuse_on_conflict(fine).is_ok(), "{fine}");
        }
    }
}
