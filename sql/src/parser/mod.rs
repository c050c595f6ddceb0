//! The Flink SQL dialect on top of sqlparser: splits a query string into statements and
//! parses the statements sqlparser does not know (Flink DDL with `WITH` options and
//! `WATERMARK`, `SHOW JOBS`, `STOP JOB`, `EXECUTE STATEMENT SET`, `SET 'k' = 'v'`, ...).
//! Standard statements (SELECT, INSERT) are parsed by sqlparser. Unquoted identifiers
//! fold to lower case as in PostgreSQL; double-quoted ones (`"x"`) keep their case.
//! Flink's backtick quoting (`` `x` ``) folds like an unquoted name: Flink is case-sensitive
//! with or without quotes, so Flink text writes `` `dateTime` `` and `dateTime` for the
//! same column, and both must find the one Eddy folded to `datetime`.

mod alter_table;
mod copy;
mod create_table;
mod cursor;
pub(crate) mod data_type;
mod depth;
pub(crate) mod flink_operators;
mod functions;
mod group_window;
mod insert_partition;
mod json_clauses;
mod materialized;
mod namespace;
pub(crate) mod on_conflict;
#[cfg(test)]
mod proptests;
mod role;
mod statement;
mod temporal;
mod time_units;
mod window_tvf;
mod words;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

pub use alter_table::{Position, TableChange, ViewChange};
pub use copy::CopyOptions;
pub(crate) use create_table::check_references;
pub use create_table::{LikeFeature, LikeStrategy, SchemaItem, TableLike};
pub use cursor::FetchCount;
pub use functions::{CreateFunction, FunctionKind, FunctionStatement};
pub use group_window::rewrite_group_windows;
pub use namespace::{AlterCatalog, LikeFilter, NamespaceStatement};
pub use role::RoleOptions;
pub(crate) use statement::parse_sqlparser;
pub use statement::{ExplainDetails, Statement, StatementSetEntry};
pub use temporal::rewrite_temporal_tables;
pub(crate) use time_units::rewrite_time_units;
pub use window_tvf::rewrite_window_tvfs;

use crate::error::{Result, SqlError};

/// The dialect Eddy parses with: sqlparser's generic dialect accepts both `"x"` and
/// `` `x` `` quoting, which Flink SQL and PostgreSQL users each expect.
pub fn dialect() -> GenericDialect {
    GenericDialect {}
}

/// The dialect as a static, for parsers that borrow it.
pub(crate) static DIALECT: GenericDialect = GenericDialect {};

/// Parses a Flink type (`MAP<STRING, INT>`, ...) at the parser's position.
pub(crate) fn parse_type(
    parser: &mut datafusion::sql::sqlparser::parser::Parser<'_>,
) -> Result<crate::catalog::FlinkType> {
    data_type::TypeParser::new(parser).parse_type()
}

pub(crate) fn tokenize(sql: &str) -> Result<Vec<Token>> {
    Tokenizer::new(&dialect(), sql)
        .tokenize()
        .map_err(|e| SqlError::Syntax(e.to_string()))
}

/// Tokens with the byte range each covers in `sql`, for rewrites that replace a few
/// tokens and keep every other byte as written (printing tokens back would lose escapes:
/// sqlparser's tokens hold `'O''Brien'` as `O'Brien`).
pub(crate) fn tokenize_spans(sql: &str) -> Result<Vec<(Token, std::ops::Range<usize>)>> {
    let tokens = Tokenizer::new(&dialect(), sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::Syntax(e.to_string()))?;
    let mut cursor = Cursor::new(sql);
    Ok(tokens
        .into_iter()
        .map(|t| {
            let start = cursor.offset(&t.span.start);
            let end = cursor.offset(&t.span.end);
            (t.token, start..end)
        })
        .collect())
}

/// Walks `sql` forward to turn the tokenizer's (line, column) locations, 1-based and
/// counted in characters, into byte offsets: one pass for locations in order, as token
/// spans are, with no table per character.
struct Cursor<'a> {
    sql: &'a str,
    chars: std::str::CharIndices<'a>,
    line: u64,
    column: u64,
    byte: usize,
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str) -> Self {
        Self {
            sql,
            chars: sql.char_indices(),
            line: 1,
            column: 1,
            byte: 0,
        }
    }

    fn offset(&mut self, l: &datafusion::sql::sqlparser::tokenizer::Location) -> usize {
        if (l.line, l.column) < (self.line, self.column) {
            *self = Cursor::new(self.sql);
        }
        while (self.line, self.column) < (l.line, l.column) {
            let Some((i, c)) = self.chars.next() else {
                return self.sql.len();
            };
            self.byte = i + c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

/// `sql` with each byte range replaced (ranges in order, not overlapping).
pub(crate) fn splice(sql: &str, replacements: &[(std::ops::Range<usize>, String)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (range, text) in replacements {
        out.push_str(&sql[at..range.start]);
        out.push_str(text);
        at = range.end;
    }
    out.push_str(&sql[at..]);
    out
}

fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn word_is(t: &Token, kw: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Splits a query string into statement texts at top-level semicolons, keeping
/// `EXECUTE STATEMENT SET BEGIN ... END` together. Empty statements are dropped.
pub fn split_statements(sql: &str) -> Result<Vec<String>> {
    let tokens = tokenize_spans(sql)?;
    let mut out = Vec::new();
    let mut current: Vec<&(Token, std::ops::Range<usize>)> = Vec::new();
    // The statement's first word and its last three: enough to recognise a statement set
    // (`EXECUTE STATEMENT SET BEGIN`, or Flink's `EXPLAIN [details] STATEMENT SET BEGIN`),
    // kept as they come so that splitting stays linear in the length of the text.
    let mut first: Option<&Token> = None;
    let mut last: [Option<&Token>; 3] = [None; 3];
    let mut in_set = false;
    let mut seen_set = false;
    // CASE ... END inside a statement set: its END does not end the set.
    let mut cases = 0usize;
    for spanned in &tokens {
        let t = &spanned.0;
        if *t == Token::SemiColon && !in_set {
            push_statement(&mut out, sql, &current);
            current.clear();
            first = None;
            last = [None; 3];
            seen_set = false;
            continue;
        }
        current.push(spanned);
        if is_space(t) {
            continue;
        }
        let starts_set = first.is_some_and(|f| word_is(f, "EXECUTE") || word_is(f, "EXPLAIN"));
        first = first.or(Some(t));
        last = [last[1], last[2], Some(t)];
        if in_set {
            if word_is(t, "CASE") {
                cases += 1;
            } else if word_is(t, "END") {
                match cases {
                    0 => in_set = false,
                    _ => cases -= 1,
                }
            }
        } else if starts_set
            && !seen_set
            && matches!(last, [Some(a), Some(b), Some(c)]
                if word_is(a, "STATEMENT") && word_is(b, "SET") && word_is(c, "BEGIN"))
        {
            in_set = true;
            seen_set = true;
        }
    }
    push_statement(&mut out, sql, &current);
    Ok(out)
}

/// The statement's own text, cut from `sql` (printing its tokens back would lose escapes:
/// `'it''s'` is the token `it's`).
fn push_statement(out: &mut Vec<String>, sql: &str, tokens: &[&(Token, std::ops::Range<usize>)]) {
    let meaningful = tokens.iter().any(|(t, _)| {
        !is_space(t) && !matches!(t, Token::Whitespace(Whitespace::SingleLineComment { .. }))
    });
    if let (true, Some(first), Some(last)) = (meaningful, tokens.first(), tokens.last()) {
        let text = sql.get(first.1.start..last.1.end).unwrap_or_default();
        out.push(text.trim().to_string());
    }
}

/// Folds an identifier as PostgreSQL does: unquoted to lower case.
pub(crate) fn normalize_ident(ident: &datafusion::sql::sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

/// Case-normalized name parts as one name DataFusion parses back to the same parts:
/// a part that would fold or split differently is quoted.
pub(crate) fn qualified_name(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| {
            let plain = p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            match plain {
                true => p.clone(),
                false => format!("\"{}\"", p.replace('"', "\"\"")),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Refuses a parsed statement nested deeper than the gateway's limit.
pub(crate) fn check_depth(statement: &datafusion::sql::sqlparser::ast::Statement) -> Result<()> {
    depth::check(statement)
}

/// Parses one statement.
pub fn parse_statement(sql: &str) -> Result<Statement> {
    statement::parse(&fold_backticks(sql)?)
}

/// Lower-cases every backtick-quoted identifier, keeping its quotes (so a reserved word
/// such as `` `value` `` stays a name). Text without backticks is returned as it is.
fn fold_backticks(sql: &str) -> Result<String> {
    if !sql.contains('`') {
        return Ok(sql.to_string());
    }
    let replacements: Vec<_> = tokenize_spans(sql)?
        .into_iter()
        .filter_map(|(t, range)| match t {
            Token::Word(w)
                if w.quote_style == Some('`')
                    && w.value.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                let folded = sql[range.clone()].to_ascii_lowercase();
                Some((range, folded))
            }
            _ => None,
        })
        .collect();
    Ok(splice(sql, &replacements))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_but_keeps_statement_sets() {
        let s = split_statements(
            "SELECT 1; SELECT ';' ;EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END; ",
        )
        .unwrap();
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[2].starts_with("EXECUTE STATEMENT SET BEGIN"));
        assert!(s[2].ends_with("END"));
        // Flink's EXPLAIN of a statement set, with or without details.
        let s = split_statements(
            "EXPLAIN CHANGELOG_MODE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END; SELECT 3",
        )
        .unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("END"), "{s:?}");
        // A CASE's END inside the set does not end it.
        let s = split_statements(
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x > 0 THEN 1 END FROM s; INSERT INTO b SELECT 1 FROM s; END; SELECT 3",
        )
        .unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("FROM s; END"), "{s:?}");
    }

    #[test]
    fn statement_sets_keep_their_statements_as_written() {
        let s = parse_statement(
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 'it''s'; INSERT INTO b SELECT 2; END",
        )
        .unwrap();
        let Statement::StatementSet(entries) = s else {
            panic!("not a statement set: {s:?}");
        };
        let texts: Vec<&str> = entries.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["INSERT INTO a SELECT 'it''s'", "INSERT INTO b SELECT 2"]
        );
    }

    #[test]
    fn splitting_keeps_each_statement_as_written() {
        let s = split_statements(
            "SELECT 'it''s'; SELECT 'a;b' -- done\n; SELECT $$x;$$; SELECT 'é';SELECT 2",
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                "SELECT 'it''s'",
                "SELECT 'a;b' -- done",
                "SELECT $$x;$$",
                "SELECT 'é'",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn backticks_fold_like_unquoted_names_and_double_quotes_keep_case() {
        let s = fold_backticks("SELECT `dateTime`, \"Keep\", '`Lit`', 'O''Br' FROM `Bid`").unwrap();
        assert_eq!(
            s,
            "SELECT `datetime`, \"Keep\", '`Lit`', 'O''Br' FROM `bid`"
        );
    }
}

#[cfg(test)]
mod malformed_input {
    use super::*;

    /// Truncations and odd forms of every statement kind: each must be an error or a
    /// statement, never a panic.
    #[test]
    fn no_statement_text_panics() {
        let statements = [
            "CREATE TABLE t (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'datagen', 'rows-per-second' = '1')",
            "CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t",
            "CREATE MATERIALIZED TABLE IF NOT EXISTS m FRESHNESS = INTERVAL '3' SECOND REFRESH_MODE = CONTINUOUS AS SELECT a, count(*) FROM t GROUP BY a",
            "DROP MATERIALIZED VIEW IF EXISTS m",
            "SHOW CREATE MATERIALIZED VIEW m",
            "SUBSCRIBE TO m WITH (SNAPSHOT = false)",
            "DECLARE c CURSOR WITH HOLD FOR SUBSCRIBE m",
            "FETCH FORWARD 10 FROM c",
            "CLOSE ALL",
            "DROP TABLE IF EXISTS t",
            "DROP VIEW v",
            "SHOW CREATE TABLE t",
            "SHOW CREATE VIEW v",
            "DESCRIBE JOB 'abc'",
            "DESC t",
            "STOP JOB 'abc' WITH SAVEPOINT",
            "SET SESSION TIME ZONE 'UTC'",
            "SET 'parallelism.default' = '4'",
            "RESET 'parallelism.default'",
            "EXPLAIN PLAN FOR SELECT 1",
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END",
            "CREATE TABLE t (m MAP<STRING, ARRAY<ROW<x INT, y ARRAY<INT>>>>) WITH ('connector' = 'x')",
        ];
        for full in statements {
            let chars: Vec<char> = full.chars().collect();
            for cut in 0..=chars.len() {
                let text: String = chars[..cut].iter().collect();
                let _ = parse_statement(&text);
                let _ = split_statements(&text);
            }
        }
        for odd in [
            "SET",
            "SET SESSION",
            "SET LOCAL",
            "SET TIME",
            "SHOW",
            "DESCRIBE",
            "STOP",
            "STOP JOB",
            "RESET a b",
            "EXPLAIN",
            "EXECUTE STATEMENT SET",
            ";;;",
            "'",
            "`",
            "\"",
            "CREATE TABLE t (a ARRAY<>)",
            "CREATE TABLE t (a DECIMAL(99, 2))",
            "CREATE TABLE t (a TIMESTAMP(99))",
            "CREATE TABLE t (a VARCHAR(99999999999999999999))",
        ] {
            let _ = parse_statement(odd);
        }
    }
}
