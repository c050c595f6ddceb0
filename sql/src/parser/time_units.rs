//! Flink writes the unit of `TIMESTAMPADD` / `TIMESTAMPDIFF` as a bare keyword
//! (`TIMESTAMPDIFF(DAY, a, b)`); Eddy's functions take it as text. This quotes it, keeping
//! every other byte as written.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::Result;

const UNITS: &[&str] = &[
    "MILLISECOND",
    "SECOND",
    "MINUTE",
    "HOUR",
    "DAY",
    "WEEK",
    "MONTH",
    "QUARTER",
    "YEAR",
];

fn bare_word(t: &Token) -> Option<&str> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.as_str()),
        _ => None,
    }
}

/// Rewrites every `TIMESTAMPADD(<unit>,` and `TIMESTAMPDIFF(<unit>,`; returns `sql`
/// unchanged when it has none.
pub fn rewrite_time_units(sql: &str) -> Result<String> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains("TIMESTAMPADD") && !upper.contains("TIMESTAMPDIFF") {
        return Ok(sql.to_string());
    }
    let tokens = super::tokenize_spans(sql)?;
    let next =
        |from: usize| (from..tokens.len()).find(|&i| !matches!(tokens[i].0, Token::Whitespace(_)));
    let mut units = Vec::new();
    for (i, (t, _)) in tokens.iter().enumerate() {
        let is_call = bare_word(t).is_some_and(|w| {
            w.eq_ignore_ascii_case("TIMESTAMPADD") || w.eq_ignore_ascii_case("TIMESTAMPDIFF")
        });
        let Some(open) = next(i + 1).filter(|&o| is_call && tokens[o].0 == Token::LParen) else {
            continue;
        };
        let Some(u) = next(open + 1) else {
            continue;
        };
        let known = bare_word(&tokens[u].0)
            .is_some_and(|w| UNITS.iter().any(|unit| unit.eq_ignore_ascii_case(w)));
        if known && next(u + 1).is_some_and(|c| tokens[c].0 == Token::Comma) {
            units.push(tokens[u].1.clone());
        }
    }
    let mut out = String::with_capacity(sql.len() + 2 * units.len());
    let mut at = 0;
    for span in units {
        out.push_str(&sql[at..span.start]);
        out.push('\'');
        out.push_str(&sql[span.clone()].to_ascii_uppercase());
        out.push('\'');
        at = span.end;
    }
    out.push_str(&sql[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_unit_only() {
        assert_eq!(
            rewrite_time_units("SELECT TIMESTAMPDIFF(day, a, b), timestampadd(HOUR, -2, 'DAY')")
                .unwrap(),
            "SELECT TIMESTAMPDIFF('DAY', a, b), timestampadd('HOUR', -2, 'DAY')"
        );
        assert_eq!(
            rewrite_time_units("SELECT day FROM t").unwrap(),
            "SELECT day FROM t"
        );
        assert_eq!(
            rewrite_time_units("SELECT TIMESTAMPDIFF('DAY', a, b)").unwrap(),
            "SELECT TIMESTAMPDIFF('DAY', a, b)"
        );
    }
}
