//! Flink's temporal join syntax, `JOIN t FOR SYSTEM_TIME AS OF o.time [AS] r`, which
//! sqlparser parses only for dialects whose table versions DataFusion then ignores.
//! Rewritten at the token level into a call of the planner's `__versioned` table function,
//! `JOIN __versioned('t', 'o.time') AS r`, which marks the table as the versioned side of
//! a temporal join; everything else is left as written.

use datafusion::sql::sqlparser::tokenizer::Token;

use super::{is_space, tokenize, word_is};
use crate::error::{Result, SqlError};

/// The table function the rewrite calls (registered by the planner).
const FUNCTION: &str = "__versioned";

fn next_non_space(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !is_space(&tokens[i]))
}

fn folded(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
        Token::Word(w) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// A dotted name starting at `at`: its folded parts and the index after it.
fn dotted_name(tokens: &[Token], at: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![folded(tokens.get(at)?)?];
    let mut i = at + 1;
    while tokens.get(i) == Some(&Token::Period) {
        parts.push(folded(tokens.get(i + 1)?)?);
        i += 2;
    }
    Some((parts, i))
}

/// Words after a table that are not its alias.
const NOT_AN_ALIAS: &[&str] = &[
    "ON",
    "USING",
    "WHERE",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "GROUP",
    "ORDER",
    "LIMIT",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "HAVING",
    "WINDOW",
];

/// Rewrites every `FOR SYSTEM_TIME AS OF`; returns `sql` unchanged when it has none.
pub fn rewrite_temporal_tables(sql: &str) -> Result<String> {
    if !sql.to_ascii_uppercase().contains("SYSTEM_TIME") {
        return Ok(sql.to_string());
    }
    let mut tokens = tokenize(sql)?;
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        if !word_is(&tokens[i], "FOR") {
            i += 1;
            continue;
        }
        let words: Vec<usize> = std::iter::successors(next_non_space(&tokens, i + 1), |&j| {
            next_non_space(&tokens, j + 1)
        })
        .take(3)
        .collect();
        let is_versioned = words.len() == 3
            && word_is(&tokens[words[0]], "SYSTEM_TIME")
            && word_is(&tokens[words[1]], "AS")
            && word_is(&tokens[words[2]], "OF");
        if !is_versioned {
            i += 1;
            continue;
        }
        // The table: a dotted name right before FOR.
        let mut start = i;
        while start > 0 && is_space(&tokens[start - 1]) {
            start -= 1;
        }
        start = start.saturating_sub(1);
        while start >= 2
            && tokens[start - 1] == Token::Period
            && matches!(tokens[start - 2], Token::Word(_))
        {
            start -= 2;
        }
        let table = dotted_name(&tokens, start)
            .filter(|(_, end)| next_non_space(&tokens, *end) == Some(i))
            .map(|(parts, _)| parts)
            .ok_or_else(|| {
                SqlError::Syntax("FOR SYSTEM_TIME AS OF must follow a table name".into())
            })?;
        let time_at = next_non_space(&tokens, words[2] + 1);
        let constant = time_at.is_some_and(|at| {
            matches!(tokens[at], Token::SingleQuotedString(_) | Token::Number(..))
                || (word_is(&tokens[at], "TIMESTAMP")
                    && next_non_space(&tokens, at + 1)
                        .is_some_and(|n| matches!(tokens[n], Token::SingleQuotedString(_))))
        });
        if constant {
            return Err(SqlError::NotSupported(
                "FOR SYSTEM_TIME AS OF a point in time (time travel) is not supported: Eddy's tables keep no history. A temporal join is written JOIN t FOR SYSTEM_TIME AS OF l.time, with l.time a time attribute of the left table".into(),
            ));
        }
        let (time, after) = time_at
            .and_then(|at| dotted_name(&tokens, at))
            .filter(|(_, end)| {
                // A column, not an expression over one.
                next_non_space(&tokens, *end).is_none_or(|n| {
                    !matches!(
                        tokens[n],
                        Token::Plus | Token::Minus | Token::Mul | Token::Div | Token::LParen
                    )
                })
            })
            .ok_or_else(|| {
                SqlError::NotSupported(
                    "Temporal table join currently only supports 'FOR SYSTEM_TIME AS OF' left table's time attribute field".into(),
                )
            })?;
        let aliased = next_non_space(&tokens, after).is_some_and(|n| match &tokens[n] {
            Token::Word(w) if w.quote_style.is_some() => true,
            Token::Word(_) => {
                word_is(&tokens[n], "AS") || !NOT_AN_ALIAS.iter().any(|k| word_is(&tokens[n], k))
            }
            _ => false,
        });
        let quote = |s: String| Token::SingleQuotedString(s).to_string();
        let mut call = format!(
            "{FUNCTION}({}, {})",
            quote(table.join(".")),
            quote(time.join("."))
        );
        if !aliased {
            let name = table.last().cloned().unwrap_or_default();
            call.push_str(&format!(" AS {}", Token::make_word(&name, Some('"'))));
        }
        let replacement = tokenize(&call)?;
        let len = replacement.len();
        tokens.splice(start..after, replacement);
        i = start + len;
        changed = true;
    }
    Ok(match changed {
        true => tokens.iter().map(|t| t.to_string()).collect(),
        false => sql.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_the_versioned_table_into_a_marked_call() {
        let sql = "SELECT * FROM Orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.orderTime AS r ON o.c = r.c";
        assert_eq!(
            rewrite_temporal_tables(sql).unwrap(),
            "SELECT * FROM Orders AS o JOIN __versioned('rates', 'o.ordertime') AS r ON o.c = r.c"
        );
        let sql = "SELECT * FROM (SELECT *, PROCTIME() AS p FROM bid) B JOIN db.side FOR SYSTEM_TIME AS OF B.p S ON B.a = S.key";
        assert_eq!(
            rewrite_temporal_tables(sql).unwrap(),
            "SELECT * FROM (SELECT *, PROCTIME() AS p FROM bid) B JOIN __versioned('db.side', 'b.p') S ON B.a = S.key"
        );
        let sql = "SELECT * FROM o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.t ON o.c = rates.c";
        assert_eq!(
            rewrite_temporal_tables(sql).unwrap(),
            "SELECT * FROM o LEFT JOIN __versioned('rates', 'o.t') AS \"rates\" ON o.c = rates.c"
        );
        let sql = "SELECT 'FOR SYSTEM_TIME AS OF' FROM t";
        assert_eq!(rewrite_temporal_tables(sql).unwrap(), sql);
    }

    #[test]
    fn refuses_an_expression_as_the_time() {
        let err = rewrite_temporal_tables(
            "SELECT * FROM o JOIN r FOR SYSTEM_TIME AS OF o.t - INTERVAL '1' SECOND ON o.k = r.k",
        )
        .unwrap_err();
        assert!(err.to_string().contains("time attribute field"), "{err}");
        let err =
            rewrite_temporal_tables("SELECT * FROM r FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01'")
                .unwrap_err();
        assert!(err.to_string().contains("time travel"), "{err}");
    }
}
