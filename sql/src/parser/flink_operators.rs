//! Standard SQL operators Flink takes and sqlparser does not, rewritten into forms it
//! parses at the same precedence, which `handler/flink_syntax.rs` then turns into what they
//! mean:
//! - `x [NOT] BETWEEN SYMMETRIC a AND b`: the lower bound is wrapped in a marker call,
//!   `x BETWEEN __eddy_symmetric(a) AND b`; `ASYMMETRIC` (the default) is dropped;
//! - `x IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT]` becomes
//!   `x IS [NOT] [NFC | NFD | NFKC] NORMALIZED`, the one postfix `IS` form sqlparser parses
//!   that DataFusion cannot plan, so it is free to carry the JSON kind. A real `IS NORMALIZED`
//!   in the input is refused here, so the carrier is never ambiguous.
//!
//! - `JSON_OBJECT([KEY] k VALUE v, ...)`: `KEY` is dropped and `VALUE` becomes a comma,
//!   after a first argument marking the call (`'__eddy_json_object'`); a trailing
//!   `NULL ON NULL` / `ABSENT ON NULL` stays, for sqlparser reads it as a clause.
//!
//! - `MAP[k1, v1, k2, v2, ...]`, Flink's map constructor, becomes a call
//!   `map_constructor(k1, v1, ...)` (`MAP` is reserved in Flink: a column named so is
//!   quoted, and stays as it is);
//! - the type `MAP<K, V>` (in a CAST) becomes `MAP(K, V)`, the form sqlparser parses, which
//!   `type_planner.rs` plans as Flink's map type; `ROW<name type, ...>` becomes
//!   `STRUCT<name type, ...>`, which DataFusion plans as a struct;
//! - `CASE x WHEN a, b THEN r ...` (several values for one branch) becomes
//!   `CASE x WHEN a THEN r WHEN b THEN r ...`.
//!
//! Every other byte is kept as written.

use datafusion::sql::sqlparser::tokenizer::{Token, Whitespace};

use crate::error::{Result, SqlError};

/// The marker wrapping a symmetric BETWEEN's first bound.
pub const SYMMETRIC_MARKER: &str = "__eddy_symmetric";

/// The most text CASE value lists may be written out to.
const MAX_CASE_TEXT: usize = 1 << 20;

/// Marks, within this pass, an edit that rewrote a piece of text whole (CASE branches, the
/// clauses of a JSON function): edits within it are already made.
pub(super) const REWRITTEN_WHOLE: &str = "\u{0}whole:";

/// The first argument marking a JSON_OBJECT call the pre-pass rewrote.
pub const JSON_OBJECT_MARKER: &str = "__eddy_json_object";

/// The `IS ... NORMALIZED` form carrying each JSON kind.
const JSON_KINDS: &[(&str, &str)] = &[
    ("VALUE", "NORMALIZED"),
    ("SCALAR", "NFC NORMALIZED"),
    ("ARRAY", "NFD NORMALIZED"),
    ("OBJECT", "NFKC NORMALIZED"),
];

/// The JSON kind an `IS [form] NORMALIZED` carries (`form`: sqlparser's normal form name).
pub fn json_kind_of_form(form: Option<&str>) -> &'static str {
    match form.map(str::to_ascii_uppercase).as_deref() {
        Some("NFC") => "SCALAR",
        Some("NFD") => "ARRAY",
        Some("NFKC") => "OBJECT",
        _ => "VALUE",
    }
}

fn bare_word(t: &Token) -> Option<&str> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.as_str()),
        _ => None,
    }
}

pub(super) fn is_word(t: &Token, word: &str) -> bool {
    bare_word(t).is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// Rewrites `sql` as the module says; returns it unchanged when it has none of them.
pub fn rewrite_flink_operators(sql: &str) -> Result<String> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains("SYMMETRIC")
        && !upper.contains("JSON")
        && !upper.contains("NORMALIZED")
        && !upper.contains("MAP")
        && !upper.contains("ROW")
        && !upper.contains("CASE")
    {
        return Ok(sql.to_string());
    }
    let tokens = super::tokenize_spans(sql)?;
    let next =
        |from: usize| (from..tokens.len()).find(|&i| !matches!(tokens[i].0, Token::Whitespace(_)));
    let previous = |before: usize| {
        (0..before)
            .rev()
            .find(|&i| !matches!(tokens[i].0, Token::Whitespace(_)))
    };
    // Tokens before this index were already rewritten as part of a type.
    let mut skip_until = 0usize;
    // The byte ranges of JSON functions' clauses, rewritten whole with the calls in them.
    let mut rewritten_clauses: Vec<std::ops::Range<usize>> = Vec::new();
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (i, (t, _)) in tokens.iter().enumerate() {
        if is_word(t, "BETWEEN") {
            let Some(k) = next(i + 1) else { continue };
            // A column named `symmetric` (`x BETWEEN symmetric AND 3`) stays a column.
            let followed_by_and = next(k + 1).is_some_and(|a| is_word(&tokens[a].0, "AND"));
            if is_word(&tokens[k].0, "ASYMMETRIC") && !followed_by_and {
                edits.push((tokens[k].1.clone(), String::new()));
            } else if is_word(&tokens[k].0, "SYMMETRIC") && !followed_by_and {
                let Some(low) = next(k + 1) else { continue };
                let Some(and) = bound_end(&tokens, low) else {
                    return Err(SqlError::Syntax(
                        "BETWEEN SYMMETRIC needs 'AND' between its two bounds".into(),
                    ));
                };
                let last = (low..and)
                    .rev()
                    .find(|&j| !matches!(tokens[j].0, Token::Whitespace(_)))
                    .unwrap_or(low);
                edits.push((tokens[k].1.clone(), String::new()));
                edits.push((
                    tokens[low].1.start..tokens[low].1.start,
                    format!("{SYMMETRIC_MARKER}("),
                ));
                edits.push((tokens[last].1.end..tokens[last].1.end, ")".into()));
            }
        } else if (is_word(t, "MAP") || is_word(t, "ARRAY") || is_word(t, "ROW"))
            && i >= skip_until
            && next(i + 1).is_some_and(|o| tokens[o].0 == Token::Lt)
            && previous(i).is_some_and(|p| is_word(&tokens[p].0, "AS"))
        {
            // A type after AS (a CAST): every MAP<...> in it becomes MAP(...).
            if let Some(end) = type_edits(&tokens, i, &mut edits) {
                skip_until = end;
            }
        } else if is_word(t, "MAP") {
            let after_period = (0..i)
                .rev()
                .find(|&p| !matches!(tokens[p].0, Token::Whitespace(_)))
                .is_some_and(|p| tokens[p].0 == Token::Period);
            let Some(open) = next(i + 1).filter(|&o| tokens[o].0 == Token::LBracket) else {
                continue;
            };
            if after_period {
                continue;
            }
            let Some(close) = closing_bracket(&tokens, open) else {
                continue;
            };
            edits.push((
                tokens[i].1.start..tokens[open].1.end,
                format!("{}(", eddy_runtime::functions::map_constructor::NAME),
            ));
            edits.push((tokens[close].1.clone(), ")".into()));
        } else if is_word(t, "CASE") {
            case_value_lists(&tokens, i, sql, &mut edits)?;
        } else if is_word(t, "JSON_OBJECT") || is_word(t, "JSON_OBJECTAGG") {
            if let Some(open) = next(i + 1).filter(|&o| tokens[o].0 == Token::LParen) {
                json_object_edits(&tokens, open, is_word(t, "JSON_OBJECT"), &mut edits);
            }
        } else if is_word(t, "JSON_VALUE") || is_word(t, "JSON_QUERY") || is_word(t, "JSON_EXISTS")
        {
            // A call within clauses rewritten whole was rewritten with them.
            let at = tokens[i].1.start;
            if !rewritten_clauses.iter().any(|r| r.contains(&at)) {
                if let Some(r) = super::json_clauses::edits(&tokens, i, sql, &mut edits)? {
                    rewritten_clauses.push(r);
                }
            }
        } else if is_word(t, "IS") {
            let Some(mut j) = next(i + 1) else { continue };
            if is_word(&tokens[j].0, "NOT") {
                let Some(after) = next(j + 1) else { continue };
                j = after;
            }
            let form = ["NFC", "NFD", "NFKC", "NFKD"]
                .iter()
                .any(|f| is_word(&tokens[j].0, f));
            let normalized = match form {
                true => next(j + 1).is_some_and(|n| is_word(&tokens[n].0, "NORMALIZED")),
                false => is_word(&tokens[j].0, "NORMALIZED"),
            };
            if normalized {
                return Err(SqlError::NotSupported(
                    "IS NORMALIZED is not supported".into(),
                ));
            }
            if !is_word(&tokens[j].0, "JSON") {
                continue;
            }
            let kind = next(j + 1).and_then(|n| {
                JSON_KINDS
                    .iter()
                    .find(|(k, _)| is_word(&tokens[n].0, k))
                    .map(|(_, carrier)| (n, *carrier))
            });
            match kind {
                Some((n, carrier)) => {
                    edits.push((tokens[j].1.start..tokens[n].1.end, carrier.to_string()))
                }
                None => edits.push((tokens[j].1.clone(), "NORMALIZED".to_string())),
            }
        }
    }
    if edits.is_empty() {
        return Ok(sql.to_string());
    }
    // A piece rewritten whole was rewritten within: edits inside it are already made.
    let copied: Vec<std::ops::Range<usize>> = edits
        .iter()
        .filter(|(_, text)| text.starts_with(REWRITTEN_WHOLE))
        .map(|(r, _)| r.clone())
        .collect();
    let mut kept: Vec<(std::ops::Range<usize>, String)> = edits
        .into_iter()
        .filter(|(r, _)| {
            !copied
                .iter()
                .any(|c| c != r && r.start >= c.start && r.end <= c.end)
        })
        .map(|(r, text)| (r, text.trim_start_matches(REWRITTEN_WHOLE).to_string()))
        .collect();
    kept.sort_by_key(|(r, _)| (r.start, r.end));
    Ok(super::splice(sql, &kept))
}

/// The edits of one `JSON_OBJECT(` (with `marker`) or `JSON_OBJECTAGG(` whose parenthesis
/// is token `open`; none when an argument is not a `[KEY] k VALUE v` pair (Flink refuses
/// the call; so will the function).
fn json_object_edits(
    tokens: &[(Token, std::ops::Range<usize>)],
    open: usize,
    marker: bool,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
) {
    let significant = |i: &usize| !matches!(tokens[*i].0, Token::Whitespace(_));
    // The arguments' token ranges, split at the commas between them.
    let mut args = Vec::new();
    let (mut depth, mut start, mut close) = (0usize, open + 1, None);
    for (i, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth -= 1;
                if depth == 0 {
                    args.push(start..i);
                    close = Some(i);
                    break;
                }
            }
            Token::Comma if depth == 1 => {
                args.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    if close.is_none() {
        return;
    }
    let words =
        |r: &std::ops::Range<usize>| -> Vec<usize> { r.clone().filter(significant).collect() };
    // `JSON_OBJECT()` and `JSON_OBJECT(ABSENT ON NULL)`: no pairs.
    let only_clause = args.len() == 1 && {
        let w = words(&args[0]);
        w.is_empty()
            || (w.len() == 3
                && (is_word(&tokens[w[0]].0, "NULL") || is_word(&tokens[w[0]].0, "ABSENT"))
                && is_word(&tokens[w[1]].0, "ON")
                && is_word(&tokens[w[2]].0, "NULL"))
    };
    let mut pair_edits = Vec::new();
    if !only_clause {
        for arg in &args {
            let w = words(arg);
            let mut from = 0;
            if w.len() > 1 && is_word(&tokens[w[0]].0, "KEY") && !is_word(&tokens[w[1]].0, "VALUE")
            {
                pair_edits.push((tokens[w[0]].1.clone(), String::new()));
                from = 1;
            }
            // The pair's VALUE: the first one outside parentheses within the argument.
            let mut depth = 0usize;
            let mut value = None;
            for &i in &w[from..] {
                match &tokens[i].0 {
                    Token::LParen | Token::LBracket => depth += 1,
                    Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                    t if depth == 0 && is_word(t, "VALUE") => {
                        value = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(value) = value else {
                return;
            };
            pair_edits.push((tokens[value].1.clone(), ",".into()));
        }
    }
    if !marker {
        edits.extend(pair_edits);
        return;
    }
    let at = tokens[open].1.end;
    let marker = match (only_clause, args.first().map(|a| words(a).is_empty())) {
        (true, Some(true)) => format!("'{JSON_OBJECT_MARKER}'"),
        (true, _) => format!("'{JSON_OBJECT_MARKER}' "),
        (false, _) => format!("'{JSON_OBJECT_MARKER}', "),
    };
    edits.push((at..at, marker));
    edits.extend(pair_edits);
}

/// The edits turning each `MAP<K, V>` of the type whose name is token `name` (`MAP` or
/// `ARRAY`, followed by `<`) into `MAP(K, V)`, and the index after the type's last token.
/// A `>>` closes two levels at once: each closer is written as its level needs. None when
/// the brackets do not close as a type's would.
fn type_edits(
    tokens: &[(Token, std::ops::Range<usize>)],
    name: usize,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
) -> Option<usize> {
    let closer = |is_map: bool| if is_map { ")" } else { ">" };
    let mut open: Vec<bool> = Vec::new();
    let mut last_word: Option<usize> = None;
    let mut pending = Vec::new();
    for (i, (t, range)) in tokens.iter().enumerate().skip(name) {
        match t {
            Token::Lt => {
                let is_map = last_word.is_some_and(|w| is_word(&tokens[w].0, "MAP"));
                if is_map {
                    pending.push((range.clone(), "(".to_string()));
                }
                if let Some(row) = last_word.filter(|&w| is_word(&tokens[w].0, "ROW")) {
                    pending.push((tokens[row].1.clone(), "STRUCT".to_string()));
                }
                open.push(is_map);
            }
            Token::Gt => {
                let is_map = open.pop()?;
                if is_map {
                    pending.push((range.clone(), ")".to_string()));
                }
            }
            Token::ShiftRight => {
                let inner = open.pop()?;
                let outer = open.pop()?;
                if inner || outer {
                    pending.push((range.clone(), format!("{}{}", closer(inner), closer(outer))));
                }
            }
            Token::LParen | Token::RParen | Token::Comma | Token::Number(..) => {}
            Token::Whitespace(_) => continue,
            Token::Word(_) => {
                last_word = Some(i);
                continue;
            }
            _ => return None,
        }
        last_word = None;
        if open.is_empty() {
            edits.extend(pending);
            return Some(i + 1);
        }
    }
    None
}

/// In the simple CASE starting at token `case`, each `WHEN a, b THEN r` rewritten as
/// `WHEN a THEN r WHEN b THEN r` (a searched CASE, `CASE WHEN cond`, has no value lists).
fn case_value_lists(
    tokens: &[(Token, std::ops::Range<usize>)],
    case: usize,
    sql: &str,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
) -> Result<()> {
    let significant = |i: usize| !matches!(tokens[i].0, Token::Whitespace(_));
    let Some(first) = (case + 1..tokens.len()).find(|&i| significant(i)) else {
        return Ok(());
    };
    if is_word(&tokens[first].0, "WHEN") {
        return Ok(());
    }
    // Walk this CASE's own WHEN / THEN / ELSE / END, skipping nested ones.
    let mut depth = 0usize;
    let mut branch: Option<(usize, Vec<usize>, Option<usize>)> = None; // WHEN, commas, THEN
    for i in first..tokens.len() {
        let t = &tokens[i].0;
        let at_top = depth == 0;
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if is_word(t, "CASE") => depth += 1,
            _ if is_word(t, "END") && !at_top => depth -= 1,
            _ => {}
        }
        if !at_top {
            continue;
        }
        let ends_branch = is_word(t, "WHEN") || is_word(t, "ELSE") || is_word(t, "END");
        if ends_branch {
            if let Some((when, commas, Some(then))) = branch.take() {
                if !commas.is_empty() {
                    // Copied pieces get every rewrite of this pass (a nested CASE, a MAP),
                    // and lose their comments: a `--` comment would swallow what follows.
                    let piece = |from: usize, to: usize| -> Result<String> {
                        let text: String = (from..to)
                            .map(|k| match &tokens[k].0 {
                                Token::Whitespace(
                                    Whitespace::SingleLineComment { .. }
                                    | Whitespace::MultiLineComment(_),
                                ) => " ",
                                _ => &sql[tokens[k].1.clone()],
                            })
                            .collect();
                        rewrite_flink_operators(text.trim())
                    };
                    let result_end = (then..i).rev().find(|&k| significant(k)).unwrap_or(then) + 1;
                    let result = piece(then, result_end)?;
                    let mut starts = vec![when + 1];
                    starts.extend(commas.iter().map(|&c| c + 1));
                    let mut ends = commas.clone();
                    ends.push(then);
                    let text = starts
                        .iter()
                        .zip(&ends)
                        .map(|(&s, &e)| piece(s, e).map(|value| format!("WHEN {value} {result}")))
                        .collect::<Result<Vec<_>>>()?
                        .join(" ");
                    // Nested value lists multiply the copies: refuse what would explode.
                    if text.len() > MAX_CASE_TEXT {
                        return Err(SqlError::NotSupported(format!(
                            "CASE value lists nested this deep would make a statement of more \
                             than {MAX_CASE_TEXT} bytes; write the branches out"
                        )));
                    }
                    let end = tokens[result_end - 1].1.end;
                    edits.push((
                        tokens[when].1.start..end,
                        format!("{REWRITTEN_WHOLE}{text}"),
                    ));
                }
            }
            if is_word(t, "END") {
                return Ok(());
            }
            if is_word(t, "WHEN") {
                branch = Some((i, Vec::new(), None));
            }
        } else if let Some((_, commas, then)) = branch.as_mut() {
            if is_word(t, "THEN") && then.is_none() {
                *then = Some(i);
            } else if *t == Token::Comma && then.is_none() {
                commas.push(i);
            }
        }
    }
    Ok(())
}

/// The index of the `]` closing the `[` at `open`.
fn closing_bracket(tokens: &[(Token, std::ops::Range<usize>)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (*t == Token::RBracket).then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The index of the `AND` ending a BETWEEN bound that starts at token `from`: the first bare
/// `AND` outside parentheses, brackets and `CASE ... END` (whose `WHEN a AND b` is not it).
fn bound_end(tokens: &[(Token, std::ops::Range<usize>)], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, (t, _)) in tokens.iter().enumerate().skip(from) {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.checked_sub(1)?,
            _ if is_word(t, "CASE") => depth += 1,
            _ if is_word(t, "END") => depth = depth.checked_sub(1)?,
            _ if depth == 0 && is_word(t, "AND") => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(sql: &str) -> String {
        rewrite_flink_operators(sql).unwrap()
    }

    #[test]
    fn between_symmetric_marks_its_lower_bound() {
        assert_eq!(
            rw("SELECT 12 BETWEEN SYMMETRIC 15 AND 12"),
            "SELECT 12 BETWEEN  __eddy_symmetric(15) AND 12"
        );
        assert_eq!(
            rw("SELECT x NOT between symmetric f(a, b AND c) + 1 AND 2 FROM t"),
            "SELECT x NOT between  __eddy_symmetric(f(a, b AND c) + 1) AND 2 FROM t"
        );
        assert_eq!(
            rw("SELECT 2 BETWEEN SYMMETRIC CASE WHEN TRUE AND TRUE THEN 3 END AND 1"),
            "SELECT 2 BETWEEN  __eddy_symmetric(CASE WHEN TRUE AND TRUE THEN 3 END) AND 1"
        );
        assert_eq!(
            rw("SELECT 12 BETWEEN ASYMMETRIC 15 AND 12"),
            "SELECT 12 BETWEEN  15 AND 12"
        );
        // Columns named like the keywords, and quoted words, stay as written.
        for sql in [
            "SELECT x BETWEEN symmetric AND 3 FROM t",
            "SELECT 'BETWEEN SYMMETRIC 1 AND 2'",
            "SELECT x BETWEEN \"SYMMETRIC\" AND 3 FROM t",
        ] {
            assert_eq!(rw(sql), sql);
        }
        assert!(rewrite_flink_operators("SELECT 1 BETWEEN SYMMETRIC 2").is_err());
    }

    #[test]
    fn map_brackets_become_a_constructor_call() {
        assert_eq!(
            rw("SELECT MAP['a', 1, 'b', MAP[x, ARRAY[1][1]]]['b'], CAST(NULL AS MAP<STRING, INT>)"),
            "SELECT map_constructor('a', 1, 'b', map_constructor(x, ARRAY[1][1]))['b'], CAST(NULL AS MAP(STRING, INT))"
        );
        assert_eq!(
            rw("SELECT CAST(NULL AS MAP<STRING, ARRAY<MAP<INT, DECIMAL(10, 2)>>>)"),
            "SELECT CAST(NULL AS MAP(STRING, ARRAY<MAP(INT, DECIMAL(10, 2))>))"
        );
        assert_eq!(
            rw("SELECT CAST(a AS MAP<STRING, ARRAY<INT>>), CAST(b AS MAP<INT, MAP<INT, INT>>), TRY_CAST(c AS ARRAY<MAP<INT, INT>>)"),
            "SELECT CAST(a AS MAP(STRING, ARRAY<INT>)), CAST(b AS MAP(INT, MAP(INT, INT))), TRY_CAST(c AS ARRAY<MAP(INT, INT)>)"
        );
        assert_eq!(
            rw("SELECT CAST(r AS ROW<x INT, m MAP<STRING, ROW<y INT>>>) FROM t"),
            "SELECT CAST(r AS STRUCT<x INT, m MAP(STRING, STRUCT<y INT>)>) FROM t"
        );
        assert_eq!(
            rw("SELECT CAST(ROW(1, 'a') AS ROW<x INT, y STRING>)"),
            "SELECT CAST(ROW(1, 'a') AS STRUCT<x INT, y STRING>)"
        );
        // Outside a CAST's type, `map <` is a comparison.
        assert_eq!(
            rw("SELECT 1 WHERE t.map < 5 AND t.y > 1"),
            "SELECT 1 WHERE t.map < 5 AND t.y > 1"
        );
        // A quoted column named map, a field named map, and MAP_KEYS stay.
        assert_eq!(
            rw("SELECT `map`['k'], t.map[1], MAP_KEYS(m)"),
            "SELECT `map`['k'], t.map[1], MAP_KEYS(m)"
        );
    }

    #[test]
    fn a_case_branch_with_several_values_becomes_one_branch_per_value() {
        assert_eq!(
            rw("SELECT CASE x WHEN 1 THEN 'one' WHEN 2, f(3, 4) THEN CASE y WHEN 5, 6 THEN 'a' END ELSE 'z' END"),
            "SELECT CASE x WHEN 1 THEN 'one' WHEN 2 THEN CASE y WHEN 5 THEN 'a' WHEN 6 THEN 'a' END WHEN f(3, 4) THEN CASE y WHEN 5 THEN 'a' WHEN 6 THEN 'a' END ELSE 'z' END"
        );
        // A comment in a copied branch does not swallow the next copy.
        assert_eq!(
            rw("SELECT CASE x WHEN 1, 2 THEN 'a' -- note\n ELSE 'z' END"),
            "SELECT CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'a' -- note\n ELSE 'z' END"
        );
        // Nested lists multiply the text: past a bound the statement is refused.
        let mut deep = "1".to_string();
        for _ in 0..40 {
            deep = format!("CASE x WHEN 1, 2 THEN {deep} END");
        }
        assert!(rewrite_flink_operators(&format!("SELECT {deep}")).is_err());
        // A searched CASE and one without lists stay.
        assert_eq!(
            rw("SELECT CASE WHEN a THEN 1 END, CASE x WHEN 1 THEN 2 END"),
            "SELECT CASE WHEN a THEN 1 END, CASE x WHEN 1 THEN 2 END"
        );
    }

    #[test]
    fn json_object_pairs_become_arguments() {
        assert_eq!(
            rw("SELECT JSON_OBJECT(KEY 'a' VALUE 1, 'b' VALUE f(x, y) ABSENT ON NULL)"),
            "SELECT JSON_OBJECT('__eddy_json_object',  'a' , 1, 'b' , f(x, y) ABSENT ON NULL)"
        );
        assert_eq!(
            rw("SELECT JSON_OBJECTAGG(KEY k VALUE v ABSENT ON NULL) FROM t"),
            "SELECT JSON_OBJECTAGG( k , v ABSENT ON NULL) FROM t"
        );
        assert_eq!(
            rw("SELECT JSON_OBJECT()"),
            "SELECT JSON_OBJECT('__eddy_json_object')"
        );
        assert_eq!(
            rw("SELECT JSON_OBJECT(ABSENT ON NULL)"),
            "SELECT JSON_OBJECT('__eddy_json_object' ABSENT ON NULL)"
        );
        // Nested calls are rewritten each on its own; `key` may be a column.
        assert_eq!(
            rw("SELECT JSON_OBJECT(KEY key VALUE JSON_OBJECT('k' VALUE v)) FROM t"),
            "SELECT JSON_OBJECT('__eddy_json_object',  key , JSON_OBJECT('__eddy_json_object', 'k' , v)) FROM t"
        );
        // Not pairs (Flink refuses them): left for the function to refuse.
        assert_eq!(
            rw("SELECT JSON_OBJECT('a', 1)"),
            "SELECT JSON_OBJECT('a', 1)"
        );
    }

    #[test]
    fn is_json_becomes_the_normalized_carrier() {
        assert_eq!(
            rw("SELECT s IS JSON FROM t"),
            "SELECT s IS NORMALIZED FROM t"
        );
        assert_eq!(
            rw("SELECT s is not json scalar, s IS JSON ARRAY, s IS NOT JSON OBJECT, s IS JSON VALUE"),
            "SELECT s is not NFC NORMALIZED, s IS NFD NORMALIZED, s IS NOT NFKC NORMALIZED, s IS NORMALIZED"
        );
        assert_eq!(
            rw("SELECT json FROM t WHERE json IS NULL"),
            "SELECT json FROM t WHERE json IS NULL"
        );
        assert!(matches!(
            rewrite_flink_operators("SELECT s IS NFC NORMALIZED"),
            Err(SqlError::NotSupported(_))
        ));
        assert!(rewrite_flink_operators("SELECT s IS NOT NORMALIZED").is_err());
        for (kind, form) in [
            ("VALUE", None),
            ("SCALAR", Some("NFC")),
            ("ARRAY", Some("NFD")),
            ("OBJECT", Some("NFKC")),
        ] {
            assert_eq!(json_kind_of_form(form), kind);
        }
    }
}
