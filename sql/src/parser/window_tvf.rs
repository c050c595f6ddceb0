//! Flink's window TVF syntax, which sqlparser cannot parse:
//! `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`, also with named
//! arguments (`DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => ...`). Rewritten at
//! the token level into a plain table function call with positional arguments,
//! `tumble('t', 'ts', INTERVAL '1' MINUTE)`, which DataFusion plans through the planner's
//! window functions. Everything else in the statement is left as written.

use datafusion::sql::sqlparser::tokenizer::{Token, Word};

use super::{is_space, word_is};
use crate::error::{Result, SqlError};

/// The window functions and their parameters in positional order.
const FUNCTIONS: &[(&str, &[&str])] = &[
    ("TUMBLE", &["DATA", "TIMECOL", "SIZE", "OFFSET"]),
    ("HOP", &["DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"]),
    ("CUMULATE", &["DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"]),
    ("SESSION", &["DATA", "TIMECOL", "GAP"]),
];

fn next_non_space(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !is_space(&tokens[i]))
}

fn folded(w: &Word) -> String {
    match w.quote_style {
        Some(_) => w.value.clone(),
        None => w.value.to_ascii_lowercase(),
    }
}

/// Tokens (without whitespace) as SQL text, one space apart.
fn text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn literal(s: String) -> String {
    Token::SingleQuotedString(s).to_string()
}

/// Rewrites every window TVF in `sql`; returns `sql` unchanged when it has none.
pub fn rewrite_window_tvfs(sql: &str) -> Result<String> {
    if !sql.to_ascii_uppercase().contains("TABLE") {
        return Ok(sql.to_string());
    }
    let spanned = super::tokenize_spans(sql)?;
    let tokens: Vec<Token> = spanned.iter().map(|(t, _)| t.clone()).collect();
    // Only the calls are replaced; every other byte stays as written.
    let mut replacements = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((call, end)) = window_call(&tokens, i)? {
            replacements.push((spanned[i].1.start..spanned[end - 1].1.end, call));
            i = end;
        } else {
            i += 1;
        }
    }
    Ok(super::splice(sql, &replacements))
}

/// At `TABLE ( FN (` returns the rewritten call and the index after its closing `)`.
fn window_call(tokens: &[Token], at: usize) -> Result<Option<(String, usize)>> {
    if !word_is(&tokens[at], "TABLE") {
        return Ok(None);
    }
    let Some(open) = next_non_space(tokens, at + 1) else {
        return Ok(None);
    };
    if tokens[open] != Token::LParen {
        return Ok(None);
    }
    let Some(name_at) = next_non_space(tokens, open + 1) else {
        return Ok(None);
    };
    let Some((name, params)) = FUNCTIONS.iter().find(|(n, _)| word_is(&tokens[name_at], n)) else {
        return Ok(None);
    };
    let Some(args_open) = next_non_space(tokens, name_at + 1) else {
        return Ok(None);
    };
    if tokens[args_open] != Token::LParen {
        return Ok(None);
    }
    // Split the arguments at top-level commas.
    let mut depth = 0;
    let mut args: Vec<&[Token]> = Vec::new();
    let mut start = args_open + 1;
    let mut close = None;
    for (j, t) in tokens.iter().enumerate().skip(args_open + 1) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => {
                args.push(&tokens[start..j]);
                close = Some(j);
                break;
            }
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                args.push(&tokens[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    let close = close.ok_or_else(|| SqlError::Syntax(format!("{name}( is not closed")))?;
    let outer_close = next_non_space(tokens, close + 1)
        .filter(|&k| tokens[k] == Token::RParen)
        .ok_or_else(|| {
            SqlError::Syntax(format!(
                "expected ')' closing TABLE({name}(...)); window functions are written FROM TABLE({name}(TABLE t, DESCRIPTOR(ts), ...))"
            ))
        })?;

    let mut values: Vec<Option<String>> = vec![None; params.len()];
    let mut partition_keys = None;
    let mut next_positional = 0;
    for arg in args {
        let arg: Vec<Token> = arg.iter().filter(|t| !is_space(t)).cloned().collect();
        if arg.is_empty() {
            return Err(SqlError::Syntax(format!("empty argument in {name}(...)")));
        }
        let (slot, value) = match (&arg[0], arg.get(1)) {
            (Token::Word(w), Some(Token::RArrow)) => {
                let param = w.value.to_ascii_uppercase();
                let slot = params.iter().position(|p| *p == param).ok_or_else(|| {
                    SqlError::Syntax(format!(
                        "{name} has no parameter {param}; its parameters are {}",
                        params.join(", ")
                    ))
                })?;
                (slot, &arg[2..])
            }
            _ => {
                let slot = next_positional;
                next_positional += 1;
                (slot, &arg[..])
            }
        };
        if slot >= params.len() {
            return Err(SqlError::Syntax(format!(
                "too many arguments for {name}; its parameters are {}",
                params.join(", ")
            )));
        }
        let rendered = match params[slot] {
            "DATA" => {
                let (table, keys) = data_arg(name, value)?;
                partition_keys = keys;
                literal(table)
            }
            "TIMECOL" => literal(descriptor_arg(name, value)?),
            _ => text(value),
        };
        if values[slot].replace(rendered).is_some() {
            return Err(SqlError::Syntax(format!(
                "parameter {} of {name} is given twice",
                params[slot]
            )));
        }
    }
    // Trailing optional parameters may be left out; earlier ones may not.
    let given = values
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |p| p + 1);
    let mut rendered = Vec::new();
    for (p, v) in params
        .iter()
        .zip(values)
        .take(given.max(params.len().min(3)))
    {
        match v {
            Some(v) => rendered.push(v),
            None if *p == "OFFSET" => break,
            None => return Err(SqlError::Syntax(format!("{name} needs its {p} parameter"))),
        }
    }
    if let Some(keys) = partition_keys {
        if *name != "SESSION" {
            return Err(SqlError::Syntax(format!(
                "PARTITION BY applies only to SESSION, not {name}"
            )));
        }
        rendered.push(literal(keys));
    }
    let call = format!("{}({})", name.to_ascii_lowercase(), rendered.join(", "));
    Ok(Some((call, outer_close + 1)))
}

/// `TABLE name [PARTITION BY k, ...]` → the table name and the partition keys.
fn data_arg(name: &str, value: &[Token]) -> Result<(String, Option<String>)> {
    let bad = || {
        SqlError::Syntax(format!(
            "the first argument of {name} must be TABLE name, e.g. {name}(TABLE bid, DESCRIPTOR(ts), ...)"
        ))
    };
    if value.is_empty() || !word_is(&value[0], "TABLE") {
        return Err(bad());
    }
    // A possibly qualified name: word (. word)*.
    let mut parts = Vec::new();
    let mut k = 1;
    while let Some(Token::Word(w)) = value.get(k) {
        parts.push(folded(w));
        k += 1;
        if value.get(k) == Some(&Token::Period) {
            k += 1;
        } else {
            break;
        }
    }
    if parts.is_empty() {
        return Err(bad());
    }
    let table = super::qualified_name(&parts);
    if k == value.len() {
        return Ok((table, None));
    }
    if k + 1 < value.len() && word_is(&value[k], "PARTITION") && word_is(&value[k + 1], "BY") {
        let keys: Vec<String> = value[k + 2..]
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(folded(w)),
                _ => None,
            })
            .collect();
        return Ok((table, Some(keys.join(","))));
    }
    Err(bad())
}

/// `DESCRIPTOR(column)` → the column name.
fn descriptor_arg(name: &str, value: &[Token]) -> Result<String> {
    match value {
        [d, Token::LParen, Token::Word(w), Token::RParen] if word_is(d, "DESCRIPTOR") => {
            Ok(folded(w))
        }
        _ => Err(SqlError::Syntax(format!(
            "the time column of {name} must be written DESCRIPTOR(column)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_positional_and_named_forms() {
        assert_eq!(
            rewrite_window_tvfs(
                "SELECT * FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) AS t"
            )
            .unwrap(),
            "SELECT * FROM tumble('bid', 'datetime', INTERVAL '10' SECOND) AS t"
        );
        assert_eq!(
            rewrite_window_tvfs(
                "SELECT * FROM TABLE(HOP(DATA => TABLE bid, SIZE => INTERVAL '10' SECOND, TIMECOL => DESCRIPTOR(ts), SLIDE => INTERVAL '2' SECOND))"
            )
            .unwrap(),
            "SELECT * FROM hop('bid', 'ts', INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
        );
        assert_eq!(
            rewrite_window_tvfs(
                "SELECT 1 FROM TABLE(CUMULATE(TABLE \"Bid\", DESCRIPTOR(\"Ts\"), INTERVAL '1' SECOND, INTERVAL '4' SECOND, INTERVAL '1' SECOND))"
            )
            .unwrap(),
            // A quoted name keeps its case: quoted again, so DataFusion does not fold it.
            "SELECT 1 FROM cumulate('\"Bid\"', 'Ts', INTERVAL '1' SECOND, INTERVAL '4' SECOND, INTERVAL '1' SECOND)"
        );
        assert_eq!(
            rewrite_window_tvfs("SELECT 'TABLE(' FROM t").unwrap(),
            "SELECT 'TABLE(' FROM t"
        );
        // The text around a call stays byte for byte, escapes included.
        assert_eq!(
            rewrite_window_tvfs(
                "SELECT 'O''Brien', \"a\"\"b\" FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)) -- x"
            )
            .unwrap(),
            "SELECT 'O''Brien', \"a\"\"b\" FROM tumble('bid', 'ts', INTERVAL '1' SECOND) -- x"
        );
    }

    #[test]
    fn malformed_calls_are_syntax_errors() {
        for bad in [
            "SELECT * FROM TABLE(TUMBLE(bid, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, ts, INTERVAL '1' SECOND))",
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts)))",
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), WIDTH => INTERVAL '1' SECOND))",
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)",
            "SELECT * FROM TABLE(TUMBLE(TABLE bid PARTITION BY a, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
        ] {
            assert!(
                matches!(rewrite_window_tvfs(bad), Err(SqlError::Syntax(_))),
                "{bad}"
            );
        }
    }
}
