//! Flink's temporal join syntax, `JOIN t FOR SYSTEM_TIME AS OF o.time [AS] r`, which
//! sqlparser parses only for dialects whose table versions DataFusion then ignores.
//! Rewritten at the token level into a call of the planner's `__versioned` table function,
//! `JOIN __versioned('t', 'o.time') AS r`, which marks the table as the versioned side of
//! a temporal join; everything else is left as written.

use datafusion::sql::sqlparser::tokenizer::Token;

use super::{is_space, word_is};
use crate::error::{Result, SqlError};

/// The table function the rewrite calls (registered by the planner).
const FUNCTION: &str = "__versioned";

fn next_non_space(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !is_space(&tokens[i]))
}

/// A name part as an SQL identifier that DataFusion's name parsing reads back as the same
/// name: unquoted ones folded to lower case, quoted ones (any quote) in double quotes.
fn folded(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_some() => {
            Some(format!("\"{}\"", w.value.replace('"', "\"\"")))
        }
        Token::Word(w) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// `text` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The index of the last part of the dotted name starting at `at`.
fn after_table(tokens: &[Token], at: usize) -> usize {
    let mut i = at;
    while tokens.get(i + 1) == Some(&Token::Period) {
        i += 2;
    }
    i
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
    let spanned = super::tokenize_spans(sql)?;
    let tokens: Vec<Token> = spanned.iter().map(|(t, _)| t.clone()).collect();
    let mut replacements = Vec::new();
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
        let mut call = format!(
            "{FUNCTION}({}, {})",
            literal(&table.join(".")),
            literal(&time.join("."))
        );
        if !aliased {
            // The table's own name, for references such as `rates.currency`.
            if let Some(Token::Word(w)) = tokens.get(after_table(&tokens, start)) {
                let name = match w.quote_style {
                    Some(_) => w.value.clone(),
                    None => w.value.to_ascii_lowercase(),
                };
                call.push_str(&format!(" AS \"{}\"", name.replace('"', "\"\"")));
            }
        }
        let range = spanned[start].1.start..spanned[after - 1].1.end;
        replacements.push((range, call));
        i = after;
    }
    Ok(super::splice(sql, &replacements))
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
        // Quoted names keep their case; the rest of the text stays byte for byte.
        let sql = "SELECT 'O''Brien', \"A\"\"b\" FROM o JOIN \"Rates\" FOR SYSTEM_TIME AS OF o.\"orderTime\" ON o.k = \"Rates\".k -- it's";
        assert_eq!(
            rewrite_temporal_tables(sql).unwrap(),
            "SELECT 'O''Brien', \"A\"\"b\" FROM o JOIN __versioned('\"Rates\"', 'o.\"orderTime\"') AS \"Rates\" ON o.k = \"Rates\".k -- it's"
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
