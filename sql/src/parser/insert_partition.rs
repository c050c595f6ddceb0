//! Flink writes an INSERT's column list after its static partition
//! (`INSERT INTO t PARTITION (dt = 'x') (a, b) SELECT ...`); sqlparser takes it before
//! (`INSERT INTO t (a, b) PARTITION (...)`). This moves the list, keeping every other
//! byte as written.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::Result;

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn next_non_space(tokens: &[(Token, std::ops::Range<usize>)], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !matches!(tokens[i].0, Token::Whitespace(_)))
}

/// The index of the parenthesis closing the one at `open`.
fn closing(tokens: &[(Token, std::ops::Range<usize>)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewrites `INSERT ... PARTITION (...) (columns)` into sqlparser's order; returns `sql`
/// unchanged otherwise.
pub fn rewrite_insert_partition(sql: &str) -> Result<String> {
    let upper = sql.to_ascii_uppercase();
    if !upper.trim_start().starts_with("INSERT") || !upper.contains("PARTITION") {
        return Ok(sql.to_string());
    }
    let tokens = super::tokenize_spans(sql)?;
    let Some(partition) = tokens.iter().position(|(t, _)| is_word(t, "PARTITION")) else {
        return Ok(sql.to_string());
    };
    let Some(open) =
        next_non_space(&tokens, partition + 1).filter(|&i| tokens[i].0 == Token::LParen)
    else {
        return Ok(sql.to_string());
    };
    let Some(close) = closing(&tokens, open) else {
        return Ok(sql.to_string());
    };
    let Some(list) = next_non_space(&tokens, close + 1).filter(|&i| tokens[i].0 == Token::LParen)
    else {
        return Ok(sql.to_string());
    };
    // `(SELECT ...)` or `(VALUES ...)` is the query, not a column list.
    let first = next_non_space(&tokens, list + 1);
    if first.is_some_and(|f| {
        ["SELECT", "VALUES", "WITH"]
            .iter()
            .any(|w| is_word(&tokens[f].0, w))
            || tokens[f].0 == Token::LParen
    }) {
        return Ok(sql.to_string());
    }
    let Some(list_end) = closing(&tokens, list) else {
        return Ok(sql.to_string());
    };
    let (p_start, p_end) = (tokens[partition].1.start, tokens[close].1.end);
    let (l_start, l_end) = (tokens[list].1.start, tokens[list_end].1.end);
    Ok(format!(
        "{}{} {}{}",
        &sql[..p_start],
        &sql[l_start..l_end],
        &sql[p_start..p_end],
        &sql[l_end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_the_column_list_before_the_partition() {
        assert_eq!(
            rewrite_insert_partition("INSERT INTO p PARTITION (dt = 'a''b') (hr, a) SELECT 3, 30")
                .unwrap(),
            "INSERT INTO p (hr, a) PARTITION (dt = 'a''b') SELECT 3, 30"
        );
        for unchanged in [
            "INSERT INTO p PARTITION (dt = 'x') SELECT 1",
            "INSERT INTO p PARTITION (dt = 'x') (SELECT 1)",
            "INSERT INTO p (a) PARTITION (dt = 'x') SELECT 1",
            "SELECT 1",
        ] {
            assert_eq!(rewrite_insert_partition(unchanged).unwrap(), unchanged);
        }
    }
}
