//! `COPY (query) TO STDOUT` and `COPY table [(columns)] TO STDOUT`, with PostgreSQL's
//! options (`FORMAT text | csv`, `HEADER`, `DELIMITER`, `NULL`, `QUOTE`, `ESCAPE`,
//! `FORCE_QUOTE`) and their pre-9.0 spelling (`CSV HEADER`), which psql's `\copy` passes on
//! as written. The query inside the parentheses is Flink SQL, parsed as any other query.

use datafusion::sql::sqlparser::ast::{
    self, CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::normalize_ident;
use super::statement::{parse_sqlparser, Statement};
use crate::error::{Result, SqlError};

/// How COPY writes rows: PostgreSQL's defaults for each format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
    pub null: String,
    pub quote: char,
    pub escape: char,
    /// Columns whose non-NULL values are always quoted (CSV).
    pub force_quote: Vec<String>,
}

impl CopyOptions {
    fn new(csv: bool) -> CopyOptions {
        CopyOptions {
            csv,
            header: false,
            delimiter: if csv { ',' } else { '\t' },
            null: if csv { String::new() } else { "\\N".into() },
            quote: '"',
            escape: '"',
            force_quote: Vec::new(),
        }
    }
}

/// Parses a statement that starts with COPY.
pub(super) fn parse(sql: &str) -> Result<Statement> {
    let tokens: Vec<_> = super::tokenize_spans(sql)?
        .into_iter()
        .filter(|(t, _)| !matches!(t, Token::Whitespace(_)))
        .collect();
    // `COPY (query) ...`: the query is cut from the text as written, and the rest parsed
    // with a placeholder table in its place.
    let (query, copy_text) = match tokens.get(1) {
        Some((Token::LParen, open)) => {
            let mut depth = 0usize;
            let close = tokens[1..]
                .iter()
                .find(|(t, _)| {
                    match t {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(_, span)| span.clone())
                .ok_or_else(|| SqlError::Syntax("unbalanced parentheses after COPY".into()))?;
            let query = parse_sqlparser(sql[open.end..close.start].trim())?;
            if !matches!(query, ast::Statement::Query(_)) {
                return Err(SqlError::Syntax("COPY ( ... ) takes a query".into()));
            }
            (
                Some(query),
                format!("COPY copy_query {}", &sql[close.end..]),
            )
        }
        _ => (None, sql.to_string()),
    };
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &copy_text)?;
    let Some(ast::Statement::Copy {
        source,
        to,
        target,
        options,
        legacy_options,
        ..
    }) = statements.pop()
    else {
        return Err(SqlError::Syntax("expected COPY ... TO STDOUT".into()));
    };
    if !to {
        return copy_from(query.is_some(), source, target, &options, &legacy_options);
    }
    if !matches!(target, CopyTarget::Stdout) {
        return Err(SqlError::NotSupported(
            "COPY writes to STDOUT only: Eddy does not write files on the server from COPY; use psql's \\copy, or INSERT INTO a filesystem table".into(),
        ));
    }
    let query = match (query, source) {
        (Some(q), _) => q,
        (
            None,
            CopySource::Table {
                table_name,
                columns,
            },
        ) => {
            let columns = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| format!("\"{}\"", normalize_ident(c).replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            parse_sqlparser(&format!("SELECT {columns} FROM {table_name}"))?
        }
        (None, CopySource::Query(_)) => {
            return Err(SqlError::Syntax("COPY ( ... ) takes a query".into()))
        }
    };
    Ok(Statement::CopyTo {
        query: Box::new(query),
        options: options_of(&options, &legacy_options)?,
    })
}

/// `COPY table [(columns)] FROM STDIN`.
fn copy_from(
    query: bool,
    source: CopySource,
    target: CopyTarget,
    options: &[CopyOption],
    legacy: &[CopyLegacyOption],
) -> Result<Statement> {
    if query {
        return Err(SqlError::Syntax(
            "COPY FROM takes a table, not a query".into(),
        ));
    }
    if !matches!(target, CopyTarget::Stdin) {
        return Err(SqlError::NotSupported(
            "COPY reads from STDIN only: Eddy does not read files on the server from COPY; use psql's \\copy, or a filesystem table".into(),
        ));
    }
    let CopySource::Table {
        table_name,
        columns,
    } = source
    else {
        return Err(SqlError::Syntax(
            "COPY FROM takes a table, not a query".into(),
        ));
    };
    let options = options_of(options, legacy)?;
    if !options.force_quote.is_empty() {
        return Err(SqlError::NotSupported(
            "COPY FORCE_QUOTE cannot be used with COPY FROM".into(),
        ));
    }
    Ok(Statement::CopyFrom {
        table: crate::catalog::ObjectPath::try_new(
            table_name
                .0
                .iter()
                .map(|p| p.as_ident().map(normalize_ident))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| SqlError::Syntax("expected a table name".into()))?,
        )?,
        columns: columns.iter().map(normalize_ident).collect(),
        options,
    })
}

fn single_char(what: &str, c: char) -> Result<char> {
    if c.is_ascii() && c != '\n' && c != '\r' {
        Ok(c)
    } else {
        Err(SqlError::InvalidParameter(format!(
            "COPY {what} must be a single one-byte character"
        )))
    }
}

fn options_of(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyOptions> {
    let csv = options.iter().try_fold(false, |csv, o| match o {
        CopyOption::Format(f) => match f.value.to_ascii_lowercase().as_str() {
            "csv" => Ok(true),
            "text" => Ok(false),
            "binary" => Err(SqlError::NotSupported(
                "COPY FORMAT binary is not supported yet; use text or csv".into(),
            )),
            other => Err(SqlError::InvalidParameter(format!(
                "COPY format \"{other}\" not recognized"
            ))),
        },
        _ => Ok(csv),
    })? || legacy.iter().any(|o| matches!(o, CopyLegacyOption::Csv(_)));
    let mut out = CopyOptions::new(csv);
    // ESCAPE defaults to the QUOTE character, whichever it is.
    let mut escape = None;
    // Options only CSV takes, as PostgreSQL names them when text is given one.
    let mut csv_only: Option<&str> = None;
    for o in options {
        match o {
            CopyOption::Format(_) => {}
            CopyOption::Header(h) => out.header = *h,
            CopyOption::Delimiter(c) => out.delimiter = single_char("delimiter", *c)?,
            CopyOption::Null(n) => out.null = n.clone(),
            CopyOption::Quote(c) => {
                out.quote = single_char("quote", *c)?;
                csv_only.get_or_insert("quote");
            }
            CopyOption::Escape(c) => {
                escape = Some(single_char("escape", *c)?);
                csv_only.get_or_insert("escape");
            }
            CopyOption::ForceQuote(cols) => {
                out.force_quote = cols.iter().map(normalize_ident).collect();
                csv_only.get_or_insert("force quote");
            }
            CopyOption::Encoding(e)
                if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => {
                return Err(SqlError::NotSupported(format!(
                    "COPY option {other} is not supported"
                )))
            }
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Delimiter(c) => out.delimiter = single_char("delimiter", *c)?,
            CopyLegacyOption::Header => out.header = true,
            CopyLegacyOption::Null(n) => out.null = n.clone(),
            CopyLegacyOption::Csv(csv_options) => {
                for c in csv_options {
                    match c {
                        CopyLegacyCsvOption::Header => out.header = true,
                        CopyLegacyCsvOption::Quote(q) => out.quote = single_char("quote", *q)?,
                        CopyLegacyCsvOption::Escape(e) => escape = Some(single_char("escape", *e)?),
                        CopyLegacyCsvOption::ForceQuote(cols) => {
                            out.force_quote = cols.iter().map(normalize_ident).collect()
                        }
                        other => {
                            return Err(SqlError::NotSupported(format!(
                                "COPY option {other} is not supported"
                            )))
                        }
                    }
                }
            }
            CopyLegacyOption::Binary => {
                return Err(SqlError::NotSupported(
                    "COPY FORMAT binary is not supported yet; use text or csv".into(),
                ))
            }
            other => {
                return Err(SqlError::NotSupported(format!(
                    "COPY option {other} is not supported"
                )))
            }
        }
    }
    out.escape = escape.unwrap_or(out.quote);
    // PostgreSQL's checks, with its messages.
    if out.null.contains(['\n', '\r']) {
        return Err(SqlError::InvalidParameter(
            "COPY null representation cannot use newline or carriage return".into(),
        ));
    }
    if out.csv && out.null.contains(out.quote) {
        return Err(SqlError::InvalidParameter(
            "CSV quote character must not appear in the NULL specification".into(),
        ));
    }
    if let (false, Some(option)) = (out.csv, csv_only) {
        return Err(SqlError::NotSupported(format!(
            "COPY {option} available only in CSV mode"
        )));
    }
    if out.csv && out.delimiter == out.quote {
        return Err(SqlError::InvalidParameter(
            "COPY delimiter and quote must be different".into(),
        ));
    }
    if out.null.contains(out.delimiter) {
        return Err(SqlError::InvalidParameter(
            "COPY delimiter character must not appear in the NULL specification".into(),
        ));
    }
    if !out.csv && "\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(out.delimiter) {
        return Err(SqlError::InvalidParameter(format!(
            "COPY delimiter cannot be \"{}\"",
            out.delimiter
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(sql: &str) -> CopyOptions {
        match parse(sql).unwrap() {
            Statement::CopyTo { options, .. } => options,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn formats_and_their_defaults() {
        let text = options("COPY t TO STDOUT");
        assert_eq!(
            (text.csv, text.delimiter, text.null.as_str()),
            (false, '\t', "\\N")
        );
        let csv = options("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv, HEADER)");
        assert_eq!(
            (csv.csv, csv.header, csv.delimiter, csv.null.as_str()),
            (true, true, ',', "")
        );
        // psql's \copy passes the old spelling on.
        let legacy = options("COPY t (a, \"B\") TO STDOUT CSV HEADER DELIMITER ';'");
        assert_eq!(
            (legacy.csv, legacy.header, legacy.delimiter),
            (true, true, ';')
        );
        let o = options("COPY t TO STDOUT (FORMAT csv, QUOTE '''', FORCE_QUOTE (a), NULL 'x')");
        assert_eq!(
            (o.quote, o.escape, o.force_quote, o.null),
            // ESCAPE is the QUOTE character unless given.
            ('\'', '\'', vec!["a".to_string()], "x".to_string())
        );
        let o = options("COPY t TO STDOUT HEADER");
        assert!(o.header && !o.csv);
    }

    #[test]
    fn the_query_is_flink_sql_as_written() {
        match parse("COPY (SELECT 'it''s (' AS a FROM t WHERE x = ')') TO STDOUT").unwrap() {
            Statement::CopyTo { query, .. } => {
                assert!(query.to_string().contains("'it''s ('"), "{query}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_eddy_does_not_do_is_named() {
        for (sql, state) in [
            ("COPY t FROM '/etc/passwd'", "0A000"),
            ("COPY t FROM STDIN (FORCE_QUOTE (a))", "0A000"),
            ("COPY (SELECT 1) FROM STDIN", "42601"),
            ("COPY t TO '/tmp/x.csv'", "0A000"),
            ("COPY t TO STDOUT (FORMAT binary)", "0A000"),
            ("COPY t TO STDOUT (FORMAT xml)", "22023"),
            ("COPY t TO STDOUT (QUOTE '''')", "0A000"),
            ("COPY t TO STDOUT (FORMAT csv, DELIMITER '\"')", "22023"),
            ("COPY t TO STDOUT (DELIMITER 'ab')", "42601"),
            ("COPY (SELECT 1 TO STDOUT", "42601"),
            ("COPY (INSERT INTO t VALUES (1)) TO STDOUT", "42601"),
        ] {
            let e = parse(sql).unwrap_err();
            assert_eq!(e.sqlstate(), state, "{sql}: {e}");
        }
    }
}
