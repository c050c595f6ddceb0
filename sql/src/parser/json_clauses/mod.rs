//! The clauses of the SQL/JSON query functions, which sqlparser does not parse, written as
//! arguments Eddy's functions (`runtime/src/functions/flink_json.rs`) read:
//!
//! - `JSON_VALUE(j, p [RETURNING t] [b ON EMPTY] [b ON ERROR])`, `b` one of `NULL`,
//!   `ERROR`, `DEFAULT expr`, becomes
//!   `JSON_VALUE(j, p, '__eddy_json', CAST(NULL AS t), 'b', expr, 'b', expr)`;
//! - `JSON_QUERY(j, p [RETURNING t] [WITH[OUT] [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER]
//!   [b ON EMPTY] [b ON ERROR])`, `b` one of `NULL`, `ERROR`, `EMPTY ARRAY`, `EMPTY OBJECT`,
//!   becomes `JSON_QUERY(j, p, '__eddy_json', CAST(NULL AS t), 'wrapper', 'b', 'b')`;
//! - `JSON_EXISTS(j, p [b ON ERROR])`, `b` one of `TRUE`, `FALSE`, `UNKNOWN`, `ERROR`,
//!   becomes `JSON_EXISTS(j, p, '__eddy_json', 'b')`.
//!
//! Clauses left out take Flink's defaults (RETURNING STRING, NULL ON EMPTY / ON ERROR,
//! WITHOUT ARRAY WRAPPER, FALSE ON ERROR), so the function sees every one. A call without
//! clauses stays as written. The clauses come in the standard's order, as Flink's parser
//! wants them.

use std::ops::Range;

use datafusion::sql::sqlparser::tokenizer::{Token, Whitespace};

use super::flink_operators::{is_word, rewrite_flink_operators, REWRITTEN_WHOLE};
use crate::error::{Result, SqlError};

use eddy_runtime::functions::flink_json::CLAUSES_MARKER;

type Tokens = [(Token, Range<usize>)];

#[derive(Clone, Copy, PartialEq)]
enum Function {
    Value,
    Query,
    Exists,
}

impl Function {
    fn of(t: &Token) -> Option<Function> {
        [
            ("JSON_VALUE", Function::Value),
            ("JSON_QUERY", Function::Query),
            ("JSON_EXISTS", Function::Exists),
        ]
        .into_iter()
        .find(|(name, _)| is_word(t, name))
        .map(|(_, f)| f)
    }

    fn name(self) -> &'static str {
        match self {
            Function::Value => "JSON_VALUE",
            Function::Query => "JSON_QUERY",
            Function::Exists => "JSON_EXISTS",
        }
    }

    /// The words that can start this function's clauses.
    fn starts_clause(self, t: &Token) -> bool {
        let words: &[&str] = match self {
            Function::Value => &["RETURNING", "NULL", "ERROR", "DEFAULT"],
            Function::Query => &["RETURNING", "WITH", "WITHOUT", "NULL", "ERROR", "EMPTY"],
            Function::Exists => &["TRUE", "FALSE", "UNKNOWN", "ERROR"],
        };
        words.iter().any(|w| is_word(t, w))
    }
}

/// What ON EMPTY / ON ERROR say: the behaviour's name as the function reads it, and for
/// `DEFAULT expr` the expression's text.
struct Behavior {
    name: &'static str,
    default: Option<String>,
}

/// How deep DEFAULT expressions may nest JSON functions with clauses: each level is
/// rewritten on its own, so a bound keeps a statement's cost in check.
const MAX_NESTING: usize = 32;

thread_local! {
    static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The edit for the call whose name is token `name`, if it is one of the three functions
/// (not a qualified name's last part) and has clauses; returns the byte range of the
/// clauses, rewritten whole, within which the caller need not look. `sql` is the statement
/// the tokens came from.
pub(super) fn edits(
    tokens: &Tokens,
    name: usize,
    sql: &str,
    edits: &mut Vec<(Range<usize>, String)>,
) -> Result<Option<Range<usize>>> {
    let Some(function) = Function::of(&tokens[name].0) else {
        return Ok(None);
    };
    let significant = |i: &usize| !matches!(tokens[*i].0, Token::Whitespace(_));
    let after_period = (0..name)
        .rev()
        .find(significant)
        .is_some_and(|p| tokens[p].0 == Token::Period);
    let Some(open) = (name + 1..tokens.len()).find(significant) else {
        return Ok(None);
    };
    if after_period || tokens[open].0 != Token::LParen {
        return Ok(None);
    }
    // The significant tokens of the arguments, split at top-level commas, and the `)`.
    let mut args: Vec<Vec<usize>> = vec![Vec::new()];
    let mut depth = 0usize;
    let mut close = None;
    for i in (open + 1..tokens.len()).filter(significant) {
        let t = &tokens[i].0;
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth == 0 => {
                close = Some(i);
                break;
            }
            Token::RParen | Token::RBracket => depth -= 1,
            Token::Comma if depth == 0 => {
                args.push(Vec::new());
                continue;
            }
            _ if is_word(t, "CASE") => depth += 1,
            _ if is_word(t, "END") => depth = depth.saturating_sub(1),
            _ => {}
        }
        if let Some(arg) = args.last_mut() {
            arg.push(i);
        }
    }
    let (Some(close), [_, path]) = (close, args.as_slice()) else {
        return Ok(None);
    };
    // The first clause word outside parentheses after the path's first token.
    let mut depth = 0usize;
    let mut first = None;
    for (k, &i) in path.iter().enumerate() {
        let t = &tokens[i].0;
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if is_word(t, "CASE") => depth += 1,
            _ if is_word(t, "END") => depth = depth.saturating_sub(1),
            // A word after a period is a name's part (`cfg.error`), not a clause.
            _ if depth == 0
                && k > 0
                && function.starts_clause(t)
                && tokens[path[k - 1]].0 != Token::Period =>
            {
                first = Some(k);
                break;
            }
            _ => {}
        }
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let nesting = NESTING.with(|n| n.get());
    if nesting >= MAX_NESTING {
        return Err(SqlError::NotSupported(format!(
            "{} calls nested more than {MAX_NESTING} deep in DEFAULT clauses",
            function.name()
        )));
    }
    let clauses = Clauses {
        tokens,
        sql,
        function,
        words: &path[first..],
        at: 0,
    };
    NESTING.with(|n| n.set(nesting + 1));
    let text = clauses.written_out();
    NESTING.with(|n| n.set(nesting));
    let text = text?;
    let range = tokens[path[first - 1]].1.end..tokens[close].1.start;
    edits.push((range.clone(), format!("{REWRITTEN_WHOLE}{text}")));
    Ok(Some(range))
}

/// A cursor over the significant tokens of a call's clauses.
struct Clauses<'a> {
    tokens: &'a Tokens,
    sql: &'a str,
    function: Function,
    words: &'a [usize],
    at: usize,
}

impl Clauses<'_> {
    fn peek_is(&self, offset: usize, word: &str) -> bool {
        self.words
            .get(self.at + offset)
            .is_some_and(|&i| is_word(&self.tokens[i].0, word))
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.peek_is(0, word);
        if found {
            self.at += 1;
        }
        found
    }

    fn error(&self, what: &str) -> SqlError {
        let found = match self.words.get(self.at) {
            Some(&i) => format!("'{}'", &self.sql[self.tokens[i].1.clone()]),
            None => "the end of the call".to_string(),
        };
        SqlError::Syntax(format!(
            "{} expects {what}, found {found}",
            self.function.name()
        ))
    }

    /// The text of the significant tokens `from..to`, comments left out (a `--` comment
    /// would swallow what the rewrite puts after it), with this pass applied within.
    fn text(&self, from: usize, to: usize) -> Result<String> {
        let (Some(&start), Some(&end)) = (self.words.get(from), self.words.get(to - 1)) else {
            return Ok(String::new());
        };
        let text: String = (start..=end)
            .map(|k| match &self.tokens[k].0 {
                Token::Whitespace(
                    Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
                ) => " ",
                _ => &self.sql[self.tokens[k].1.clone()],
            })
            .collect();
        rewrite_flink_operators(text.trim())
    }

    /// The index just past an expression or type starting at the cursor: the first of
    /// `stops` outside parentheses (a stop word counts only when `ON` follows it, for a
    /// DEFAULT expression, or always, for a type).
    fn extent(&self, stop: impl Fn(&Self, usize) -> bool) -> usize {
        let mut depth = 0usize;
        let mut k = self.at;
        while k < self.words.len() {
            let t = &self.tokens[self.words[k]].0;
            match t {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                _ if is_word(t, "CASE") => depth += 1,
                _ if is_word(t, "END") => depth = depth.saturating_sub(1),
                _ if depth == 0 && k > self.at && stop(self, k) => return k,
                _ => {}
            }
            k += 1;
        }
        k
    }

    /// `RETURNING type`: the type's text, or the default.
    fn returning(&mut self) -> Result<String> {
        if !self.eat("RETURNING") {
            return Ok("VARCHAR".into());
        }
        let function = self.function;
        // `TIMESTAMP WITH TIME ZONE` is a type; `WITH ... WRAPPER` is a clause.
        let end = self.extent(|c, k| {
            let t = &c.tokens[c.words[k]].0;
            let with_time = is_word(t, "WITH")
                && c.words.get(k + 1).is_some_and(|&n| {
                    is_word(&c.tokens[n].0, "TIME") || is_word(&c.tokens[n].0, "LOCAL")
                });
            function.starts_clause(t) && !is_word(t, "RETURNING") && !with_time
        });
        if end == self.at {
            return Err(self.error("a type after RETURNING"));
        }
        let text = self.text(self.at, end)?;
        self.at = end;
        Ok(text)
    }

    /// `WITH[OUT] [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER`, or the default.
    fn wrapper(&mut self) -> Result<&'static str> {
        let kind = if self.eat("WITHOUT") {
            "without"
        } else if self.eat("WITH") {
            if self.eat("CONDITIONAL") {
                "conditional"
            } else {
                self.eat("UNCONDITIONAL");
                "unconditional"
            }
        } else {
            return Ok("without");
        };
        self.eat("ARRAY");
        if !self.eat("WRAPPER") {
            return Err(self.error("WRAPPER"));
        }
        Ok(kind)
    }

    /// `b ON EMPTY` or `b ON ERROR` (`on` names which), or None when the clause is absent.
    fn behavior(&mut self, on: &str) -> Result<Option<Behavior>> {
        let start = self.at;
        let plain = |name: &'static str| Behavior {
            name,
            default: None,
        };
        let function = self.function;
        let behavior = match function {
            Function::Value if self.eat("DEFAULT") => {
                let end = self.extent(|c, k| {
                    is_word(&c.tokens[c.words[k]].0, "ON")
                        && c.words.get(k + 1).is_some_and(|&n| {
                            is_word(&c.tokens[n].0, "EMPTY") || is_word(&c.tokens[n].0, "ERROR")
                        })
                });
                if end == self.at {
                    return Err(self.error("an expression after DEFAULT"));
                }
                let default = self.text(self.at, end)?;
                self.at = end;
                Behavior {
                    name: "default",
                    default: Some(default),
                }
            }
            Function::Value | Function::Query if self.eat("NULL") => plain("null"),
            Function::Query if self.peek_is(0, "EMPTY") && self.peek_is(1, "ARRAY") => {
                self.at += 2;
                plain("empty array")
            }
            Function::Query if self.peek_is(0, "EMPTY") && self.peek_is(1, "OBJECT") => {
                self.at += 2;
                plain("empty object")
            }
            Function::Exists if self.eat("TRUE") => plain("true"),
            Function::Exists if self.eat("FALSE") => plain("false"),
            Function::Exists if self.eat("UNKNOWN") => plain("unknown"),
            _ if self.eat("ERROR") => plain("error"),
            _ => return Ok(None),
        };
        if self.eat("ON") && self.eat(on) {
            return Ok(Some(behavior));
        }
        // ON ERROR where ON EMPTY could be: the next clause, read again from its start.
        if on == "EMPTY" && self.peek_is(0, "ERROR") {
            self.at = start;
            return Ok(None);
        }
        Err(self.error(&format!("ON {on}")))
    }

    /// The arguments that replace the clauses, starting with the comma after the path.
    fn written_out(mut self) -> Result<String> {
        let quoted = |s: &str| format!("'{s}'");
        let behavior_args = |b: Option<Behavior>| match b {
            Some(Behavior {
                name,
                default: Some(d),
            }) => format!("{}, {d}", quoted(name)),
            Some(b) => format!("{}, NULL", quoted(b.name)),
            None => "'null', NULL".into(),
        };
        let name_of =
            |b: Option<Behavior>, default: &str| quoted(b.map(|b| b.name).unwrap_or(default));
        let args = match self.function {
            Function::Value => {
                let returning = self.returning()?;
                let on_empty = self.behavior("EMPTY")?;
                let on_error = self.behavior("ERROR")?;
                format!(
                    "CAST(NULL AS {returning}), {}, {}",
                    behavior_args(on_empty),
                    behavior_args(on_error)
                )
            }
            Function::Query => {
                let returning = self.returning()?;
                let wrapper = self.wrapper()?;
                let on_empty = self.behavior("EMPTY")?;
                let on_error = self.behavior("ERROR")?;
                format!(
                    "CAST(NULL AS {returning}), '{wrapper}', {}, {}",
                    name_of(on_empty, "null"),
                    name_of(on_error, "null")
                )
            }
            Function::Exists => name_of(self.behavior("ERROR")?, "false"),
        };
        if self.at < self.words.len() {
            return Err(self.error("the end of its clauses"));
        }
        Ok(format!(", '{CLAUSES_MARKER}', {args}"))
    }
}

#[cfg(test)]
mod tests;
