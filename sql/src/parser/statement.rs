//! Classifies one statement by its leading words and parses it.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::{dialect, split_statements, tokenize, word_is, TableLike};
use crate::catalog::{CatalogTable, ObjectPath};
use crate::error::{Result, SqlError};

/// Flink's EXPLAIN details: `EXPLAIN CHANGELOG_MODE, JSON_EXECUTION_PLAN SELECT ...`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExplainDetails {
    pub estimated_cost: bool,
    pub changelog_mode: bool,
    pub plan_advice: bool,
    pub json_execution_plan: bool,
}

/// One INSERT of a statement set: its text and its parsed form.
#[derive(Debug, Clone)]
pub struct StatementSetEntry {
    pub text: String,
    pub insert: Box<ast::Statement>,
}

/// A parsed statement.
#[derive(Debug, Clone)]
pub enum Statement {
    CreateTable {
        table: CatalogTable,
        /// The name as written; `table.name` is its last part.
        path: ObjectPath,
        if_not_exists: bool,
        /// `CREATE TEMPORARY TABLE`: the session's own.
        temporary: bool,
        /// `LIKE source (...)`: the table is merged with `source`'s definition.
        like: Option<TableLike>,
    },
    DropTable {
        name: ObjectPath,
        if_exists: bool,
        temporary: bool,
    },
    /// `CREATE [OR REPLACE] TABLE t [(columns)] WITH (...) AS query`: the table, with the
    /// query's columns after the declared ones, and a job filling it.
    CreateTableAs {
        table: CatalogTable,
        path: ObjectPath,
        query: String,
        if_not_exists: bool,
        replace: bool,
        temporary: bool,
    },
    CreateView {
        name: ObjectPath,
        query: String,
        /// `CREATE VIEW v (a, b) AS`.
        columns: Option<Vec<String>>,
        comment: Option<String>,
        if_not_exists: bool,
        temporary: bool,
    },
    DropView {
        name: ObjectPath,
        if_exists: bool,
        temporary: bool,
    },
    AlterTable {
        name: ObjectPath,
        if_exists: bool,
        change: super::alter_table::TableChange,
    },
    AlterView {
        name: ObjectPath,
        change: super::alter_table::ViewChange,
    },
    /// `SHOW COLUMNS FROM | IN name [[NOT] LIKE | ILIKE 'pattern']`: DESCRIBE's rows.
    ShowColumns {
        name: ObjectPath,
        like: Option<super::namespace::LikeFilter>,
    },
    /// Catalogs, databases, and SHOW TABLES / VIEWS of a database.
    Namespace(super::namespace::NamespaceStatement),
    /// Modules and functions.
    Functions(super::functions::FunctionStatement),
    /// `CREATE MATERIALIZED VIEW`, or Flink's `CREATE MATERIALIZED TABLE` (`table`), whose
    /// FRESHNESS is its job's checkpoint interval.
    CreateMaterializedView {
        name: ObjectPath,
        query: String,
        if_not_exists: bool,
        freshness: Option<std::time::Duration>,
        table: bool,
        /// Flink's `CREATE MATERIALIZED TABLE ... WITH (...)`: the connector the table's
        /// rows are written to, instead of Eddy's own store.
        options: Option<std::collections::BTreeMap<String, String>>,
        partition_keys: Vec<String>,
    },
    DropMaterializedView {
        name: ObjectPath,
        if_exists: bool,
    },
    ShowMaterializedViews,
    ShowCreateMaterializedView(ObjectPath),
    /// `SUBSCRIBE [TO] view`: the view's contents, then its changes as they commit.
    Subscribe {
        name: ObjectPath,
        snapshot: bool,
    },
    /// `DECLARE name CURSOR [WITH HOLD] FOR <query | SUBSCRIBE>`.
    DeclareCursor {
        name: String,
        hold: bool,
        statement: Box<Statement>,
    },
    Fetch {
        name: String,
        count: super::cursor::FetchCount,
    },
    /// `CLOSE name`, or `CLOSE ALL` (None).
    CloseCursor(Option<String>),
    ShowJobs,
    ShowCreateTable(ObjectPath),
    ShowCreateView(ObjectPath),
    /// PostgreSQL's `SHOW name`.
    ShowVariable(String),
    Describe(ObjectPath),
    DescribeJob(String),
    StopJob {
        id: String,
        with_savepoint: bool,
        with_drain: bool,
    },
    /// `SET` alone lists; `SET 'k' = 'v'` or `SET k = v` / `SET k TO v` sets.
    Set(Option<(String, String)>),
    /// `RESET` alone resets all.
    Reset(Option<String>),
    Explain(Box<Statement>, ExplainDetails),
    StatementSet(Vec<StatementSetEntry>),
    /// `BEGIN STATEMENT SET`: the session's INSERTs are collected until `END` submits them
    /// as one job, as Flink's SQL client does.
    BeginStatementSet,
    /// INSERT INTO, parsed by sqlparser.
    Insert(Box<ast::Statement>),
    /// A query, parsed by sqlparser.
    Query(Box<ast::Statement>),
    /// BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE / ROLLBACK TO: accepted for drivers
    /// and tools (SQLAlchemy wraps its inspector in them) and reported in the
    /// transaction-status byte; Eddy's statements take effect at once, whatever the
    /// transaction.
    Transaction(&'static str),
    /// `DEALLOCATE [PREPARE] name` / `DEALLOCATE ALL`: psycopg sends it after DROP and ALTER.
    /// pgwire replaces a prepared statement parsed again under the same name, so dropping
    /// its old plan needs nothing more here.
    Deallocate {
        all: bool,
    },
    /// `DISCARD ALL`: the session's settings back to their defaults (as `RESET ALL`).
    DiscardAll,
    /// `CREATE USER | ROLE`.
    CreateRole {
        name: String,
        options: super::role::RoleOptions,
    },
    /// `ALTER USER | ROLE ... [WITH] PASSWORD | SUPERUSER | LOGIN ...`.
    AlterRole {
        name: String,
        options: super::role::RoleOptions,
    },
    /// `COPY (query) TO STDOUT` / `COPY table [(columns)] TO STDOUT`.
    CopyTo {
        query: Box<ast::Statement>,
        options: super::copy::CopyOptions,
    },
    /// `COPY table [(columns)] FROM STDIN`: rows the client sends, written into the table.
    CopyFrom {
        table: ObjectPath,
        columns: Vec<String>,
        options: super::copy::CopyOptions,
    },
    /// `DROP USER | ROLE [IF EXISTS] name, ...`.
    DropRole {
        names: Vec<String>,
        if_exists: bool,
    },
}

impl Statement {
    /// Whether the statement creates or drops a table, view, materialized view, catalog,
    /// database or function (a Python function runs whatever code it holds on the
    /// server, so, as PostgreSQL's untrusted plpython3u, only superusers make one).
    pub fn changes_objects(&self) -> bool {
        use super::functions::FunctionStatement as F;
        use super::namespace::NamespaceStatement as N;
        matches!(
            self,
            Statement::CreateTable { .. }
                | Statement::CreateTableAs { .. }
                | Statement::DropTable { .. }
                | Statement::CreateView { .. }
                | Statement::DropView { .. }
                | Statement::CreateMaterializedView { .. }
                | Statement::DropMaterializedView { .. }
                | Statement::AlterTable { .. }
                | Statement::AlterView { .. }
                | Statement::Namespace(
                    N::CreateCatalog { .. }
                        | N::DropCatalog { .. }
                        | N::AlterCatalog { .. }
                        | N::CreateDatabase { .. }
                        | N::DropDatabase { .. }
                        | N::AlterDatabase { .. }
                )
                | Statement::Functions(
                    F::CreateFunction(_) | F::AlterFunction { .. } | F::DropFunction { .. }
                )
        )
    }
}

pub(super) fn upper(t: &Token) -> String {
    match t {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    }
}

fn string_or_ident(t: &Token) -> Option<String> {
    match t {
        Token::SingleQuotedString(s) => Some(s.clone()),
        Token::Word(w) => Some(match w.quote_style {
            Some(_) => w.value.clone(),
            None => w.value.clone(),
        }),
        Token::Number(n, _) => Some(n.clone()),
        _ => None,
    }
}

/// The name after `skip` tokens, all its parts, with nothing after it.
fn single_path(sql: &str, skip: usize) -> Result<ObjectPath> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    for _ in 0..skip {
        p.next_token();
    }
    let path = super::create_table::object_path(&mut p)?;
    if p.peek_token().token != Token::EOF {
        return Err(SqlError::Syntax(format!(
            "unexpected {} after '{path}'",
            p.peek_token().token
        )));
    }
    Ok(path)
}

fn quoted_arg(w: &[Token], at: usize, what: &str) -> Result<String> {
    match w.get(at) {
        Some(Token::SingleQuotedString(s)) => Ok(s.clone()),
        _ => Err(SqlError::Syntax(format!(
            "expected the {what} as a quoted string"
        ))),
    }
}

pub(crate) fn parse_sqlparser(sql: &str) -> Result<ast::Statement> {
    let sql = super::rewrite_window_tvfs(sql)?;
    let sql = super::rewrite_temporal_tables(&sql)?;
    let sql = super::on_conflict::rewrite_on_conflict(&sql)?;
    let sql = super::insert_partition::rewrite_insert_partition(&sql)?;
    let sql = super::time_units::rewrite_time_units(&sql)?;
    let sql = super::flink_operators::rewrite_flink_operators(&sql)?;
    let mut stmts = Parser::parse_sql(&dialect(), &sql)?;
    if stmts.len() != 1 {
        return Err(SqlError::Syntax("expected exactly one statement".into()));
    }
    let mut statement = stmts.remove(0);
    // Only Flink's ON CONFLICT actions: PostgreSQL's and MySQL's clauses are refused here.
    super::on_conflict::conflict_of(&statement)?;
    super::depth::check(&statement)?;
    super::rewrite_group_windows(&mut statement)?;
    Ok(statement)
}

/// Parses one statement (no trailing semicolon).
pub(super) fn parse(sql: &str) -> Result<Statement> {
    let tokens = tokenize(sql)?;
    super::depth::check_tokens(&tokens)?;
    let w: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let kw: Vec<String> = w.iter().take(4).map(upper).collect();
    let k = |i: usize| kw.get(i).map(String::as_str).unwrap_or("");
    if matches!(
        k(0),
        "CREATE" | "DROP" | "ALTER" | "USE" | "SHOW" | "DESCRIBE" | "DESC" | "LOAD" | "UNLOAD"
    ) {
        if let Some(statement) = super::functions::parse(sql)? {
            return Ok(statement);
        }
    }
    if matches!(
        k(0),
        "CREATE" | "DROP" | "ALTER" | "USE" | "SHOW" | "DESCRIBE" | "DESC"
    ) {
        if let Some(statement) = super::namespace::parse(sql)? {
            return Ok(statement);
        }
    }
    match (k(0), k(1)) {
        // Computed columns and watermarks may call TIMESTAMPADD / TIMESTAMPDIFF with a bare
        // unit, as queries may (`parse_sqlparser` quotes it there).
        ("CREATE", "TABLE") | ("CREATE", "TEMPORARY") if k(1) == "TABLE" || k(2) == "TABLE" => {
            super::create_table::parse(&super::time_units::rewrite_time_units(sql)?)
        }
        ("CREATE", "OR") if k(2) == "REPLACE" && k(3) == "TABLE" => {
            super::create_table::parse(&super::time_units::rewrite_time_units(sql)?)
        }
        ("CREATE", "VIEW") | ("CREATE", "TEMPORARY") => parse_create_view(sql),
        ("CREATE", "MATERIALIZED") => super::materialized::parse_create(sql),
        ("ALTER", "TABLE") => {
            super::alter_table::parse_table(&super::time_units::rewrite_time_units(sql)?)
        }
        ("ALTER", "VIEW") => super::alter_table::parse_view(sql),
        ("DROP", "MATERIALIZED") if matches!(k(2), "VIEW" | "TABLE") => {
            let if_exists = k(3) == "IF" && w.get(4).map(upper).as_deref() == Some("EXISTS");
            let name = single_path(sql, if if_exists { 5 } else { 3 })?;
            Ok(Statement::DropMaterializedView { name, if_exists })
        }
        ("SHOW", "MATERIALIZED") if w.len() == 3 && matches!(k(2), "VIEWS" | "TABLES") => {
            Ok(Statement::ShowMaterializedViews)
        }
        ("SHOW", "CREATE") if k(2) == "MATERIALIZED" && matches!(k(3), "VIEW" | "TABLE") => {
            Ok(Statement::ShowCreateMaterializedView(single_path(sql, 4)?))
        }
        ("DROP", "TABLE") | ("DROP", "VIEW") | ("DROP", "TEMPORARY")
            if k(1) != "TEMPORARY" || matches!(k(2), "TABLE" | "VIEW") =>
        {
            let temporary = k(1) == "TEMPORARY";
            let at = usize::from(temporary);
            let kind = k(1 + at);
            let if_exists =
                k(2 + at) == "IF" && w.get(3 + at).map(upper).as_deref() == Some("EXISTS");
            let name = single_path(sql, if if_exists { 4 + at } else { 2 + at })?;
            Ok(if kind == "TABLE" {
                Statement::DropTable {
                    name,
                    if_exists,
                    temporary,
                }
            } else {
                Statement::DropView {
                    name,
                    if_exists,
                    temporary,
                }
            })
        }
        ("SHOW", "COLUMNS") if matches!(k(2), "FROM" | "IN") => {
            super::namespace::parse_show_columns(sql)
        }
        ("SHOW", "JOBS") if w.len() == 2 => Ok(Statement::ShowJobs),
        ("SHOW", "CREATE") if k(2) == "TABLE" => {
            Ok(Statement::ShowCreateTable(single_path(sql, 3)?))
        }
        ("SHOW", "CREATE") if k(2) == "VIEW" => Ok(Statement::ShowCreateView(single_path(sql, 3)?)),
        ("SHOW", _) if w.len() >= 2 => {
            let name: Vec<String> = w[1..].iter().filter_map(string_or_ident).collect();
            Ok(Statement::ShowVariable(name.join(" ").to_ascii_lowercase()))
        }
        ("DESCRIBE", "JOB") | ("DESC", "JOB") => {
            Ok(Statement::DescribeJob(quoted_arg(&w, 2, "job id")?))
        }
        ("DESCRIBE", _) | ("DESC", _) => Ok(Statement::Describe(single_path(sql, 1)?)),
        ("STOP", "JOB") => {
            let id = quoted_arg(&w, 2, "job id")?;
            let rest: Vec<String> = w[3..].iter().map(upper).collect();
            let with_savepoint = rest.iter().any(|r| r == "SAVEPOINT");
            let with_drain = rest.iter().any(|r| r == "DRAIN");
            if rest
                .iter()
                .any(|r| r.is_empty() || !["WITH", "SAVEPOINT", "DRAIN"].contains(&r.as_str()))
            {
                return Err(SqlError::Syntax(
                    "expected STOP JOB '<id>' [WITH SAVEPOINT] [WITH DRAIN]".into(),
                ));
            }
            Ok(Statement::StopJob {
                id,
                with_savepoint,
                with_drain,
            })
        }
        ("SET", _) => parse_set(&w),
        ("RESET", _) => match w.len() {
            1 => Ok(Statement::Reset(None)),
            2 => Ok(Statement::Reset(string_or_ident(&w[1]))),
            _ => Err(SqlError::Syntax("expected RESET or RESET 'key'".into())),
        },
        ("EXPLAIN", _) => {
            let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
            p.next_token();
            let mut details = ExplainDetails::default();
            // Flink's EXPLAIN PLAN FOR, or its details, comma-separated.
            if k(1) == "PLAN" && k(2) == "FOR" {
                p.next_token();
                p.next_token();
            } else {
                loop {
                    let flag = match upper(&p.peek_token().token).as_str() {
                        "ESTIMATED_COST" => &mut details.estimated_cost,
                        "CHANGELOG_MODE" => &mut details.changelog_mode,
                        "PLAN_ADVICE" => &mut details.plan_advice,
                        "JSON_EXECUTION_PLAN" => &mut details.json_execution_plan,
                        _ => break,
                    };
                    *flag = true;
                    p.next_token();
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
            }
            let rest = remaining_text(sql, &mut p)?;
            // Flink writes EXPLAIN STATEMENT SET BEGIN ... END, without EXECUTE.
            let words: Vec<String> = rest
                .split_whitespace()
                .take(2)
                .map(str::to_ascii_uppercase)
                .collect();
            let rest = match words.as_slice() {
                [a, b] if a == "STATEMENT" && b == "SET" => format!("EXECUTE {rest}"),
                _ => rest,
            };
            Ok(Statement::Explain(Box::new(parse(&rest)?), details))
        }
        ("EXECUTE", "STATEMENT") => parse_statement_set(sql),
        ("SUBSCRIBE", _) => super::cursor::parse_subscribe(&w),
        ("DECLARE", _) => super::cursor::parse_declare(sql),
        ("FETCH", _) => super::cursor::parse_fetch(&w),
        ("CLOSE", _) => super::cursor::parse_close(&w),
        ("BEGIN", "STATEMENT") => match k(2) == "SET" && w.len() == 3 {
            true => Ok(Statement::BeginStatementSet),
            false => Err(SqlError::Syntax("expected BEGIN STATEMENT SET".into())),
        },
        ("DEALLOCATE", _) => {
            let rest: Vec<&Token> = w[1..].iter().filter(|t| upper(t) != "PREPARE").collect();
            match rest.as_slice() {
                [t] if upper(t) == "ALL" => Ok(Statement::Deallocate { all: true }),
                [Token::Word(_)] => Ok(Statement::Deallocate { all: false }),
                _ => Err(SqlError::Syntax(
                    "expected DEALLOCATE [PREPARE] name or DEALLOCATE ALL".into(),
                )),
            }
        }
        ("CREATE" | "ALTER" | "DROP", "USER" | "ROLE") => super::role::parse(sql),
        ("COPY", _) => super::copy::parse(sql),
        ("DISCARD", "ALL") if w.len() == 2 => Ok(Statement::DiscardAll),
        ("DISCARD", _) => Err(SqlError::NotSupported(
            "only DISCARD ALL is supported".into(),
        )),
        ("BEGIN", _) | ("START", "TRANSACTION") => Ok(Statement::Transaction("BEGIN")),
        ("COMMIT", _) => Ok(Statement::Transaction("COMMIT")),
        // PostgreSQL's END is COMMIT; after BEGIN STATEMENT SET it is Flink's END.
        ("END", _) => Ok(Statement::Transaction("END")),
        ("ROLLBACK", "TO") => Ok(Statement::Transaction("ROLLBACK TO")),
        ("ROLLBACK", _) | ("ABORT", _) => Ok(Statement::Transaction("ROLLBACK")),
        ("SAVEPOINT", _) if w.len() == 2 => Ok(Statement::Transaction("SAVEPOINT")),
        ("RELEASE", _) if w.len() >= 2 => Ok(Statement::Transaction("RELEASE")),
        ("INSERT", _) => {
            let s = parse_sqlparser(sql)?;
            Ok(Statement::Insert(Box::new(s)))
        }
        ("SELECT", _) | ("WITH", _) | ("VALUES", _) | ("(", _) | ("TABLE", _) | ("", _) => {
            let s = parse_sqlparser(sql)?;
            match s {
                ast::Statement::Query(_) => Ok(Statement::Query(Box::new(s))),
                _ => Err(SqlError::Syntax("expected a query".into())),
            }
        }
        _ => {
            // Let sqlparser produce a precise syntax error, or say what is unsupported.
            let s = parse_sqlparser(sql)?;
            Err(SqlError::NotSupported(format!(
                "statement not supported: {}",
                first_words(&s.to_string())
            )))
        }
    }
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The text from the parser's position to the end.
pub(super) fn remaining_text(sql: &str, p: &mut Parser) -> Result<String> {
    // The parser's index counts every token, whitespace included. The text is cut from
    // the statement as written: printing tokens back would lose escapes ('it''s').
    let spans = super::tokenize_spans(sql)?;
    let offset = spans
        .get(p.index())
        .map(|(_, range)| range.start)
        .unwrap_or(sql.len());
    Ok(sql.get(offset..).unwrap_or_default().trim().to_string())
}

fn parse_create_view(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.next_token(); // CREATE
    let temporary = upper(&p.peek_token().token) == "TEMPORARY";
    if temporary {
        p.next_token();
    }
    p.next_token(); // VIEW
    let if_not_exists = p.parse_keywords(&[
        datafusion::sql::sqlparser::keywords::Keyword::IF,
        datafusion::sql::sqlparser::keywords::Keyword::NOT,
        datafusion::sql::sqlparser::keywords::Keyword::EXISTS,
    ]);
    let name = super::create_table::object_path(&mut p)?;
    let columns = match p.consume_token(&Token::LParen) {
        true => {
            let mut names = vec![super::normalize_ident(&p.parse_identifier()?)];
            while p.consume_token(&Token::Comma) {
                names.push(super::normalize_ident(&p.parse_identifier()?));
            }
            p.expect_token(&Token::RParen)?;
            Some(names)
        }
        false => None,
    };
    let comment = match p.parse_keyword(datafusion::sql::sqlparser::keywords::Keyword::COMMENT) {
        true => Some(p.parse_literal_string()?),
        false => None,
    };
    p.expect_keyword(datafusion::sql::sqlparser::keywords::Keyword::AS)?;
    let query = remaining_text(sql, &mut p)?;
    match parse_sqlparser(&query)? {
        ast::Statement::Query(_) => Ok(Statement::CreateView {
            name,
            query,
            columns,
            comment,
            if_not_exists,
            temporary,
        }),
        _ => Err(SqlError::Syntax(
            "CREATE VIEW ... AS must be followed by a query".into(),
        )),
    }
}

fn parse_set(w: &[Token]) -> Result<Statement> {
    if w.len() == 1 {
        return Ok(Statement::Set(None));
    }
    // PostgreSQL's SET SESSION CHARACTERISTICS AS TRANSACTION ... (Metabase at every
    // checkout): Eddy has no transactions to characterise, as BEGIN's isolation levels.
    if w.len() > 3 && upper(&w[1]) == "SESSION" && upper(&w[2]) == "CHARACTERISTICS" {
        return Ok(Statement::Transaction("SET"));
    }
    // SET [SESSION|LOCAL] key {=|TO} value
    let mut i = 1;
    if matches!(upper(&w[1]).as_str(), "SESSION" | "LOCAL") {
        i = 2;
    }
    if i >= w.len() {
        return Err(SqlError::Syntax("expected SET 'key' = 'value'".into()));
    }
    // PostgreSQL's "SET TIME ZONE x".
    if upper(&w[i]) == "TIME" && w.get(i + 1).map(upper).as_deref() == Some("ZONE") {
        // LOCAL and DEFAULT (unquoted) go back to the default, as PostgreSQL has them.
        if matches!(
            w.get(i + 2).map(upper).as_deref(),
            Some("LOCAL" | "DEFAULT")
        ) {
            return Ok(Statement::Reset(Some("timezone".into())));
        }
        let v = w.get(i + 2).and_then(string_or_ident).unwrap_or_default();
        return Ok(Statement::Set(Some(("timezone".into(), v))));
    }
    // Keys may be dotted identifiers written without quotes (a.b.c).
    let mut key = String::new();
    while i < w.len() && w[i] != Token::Eq && upper(&w[i]) != "TO" {
        match &w[i] {
            Token::Period => key.push('.'),
            Token::Minus => key.push('-'),
            t => key.push_str(
                &string_or_ident(t)
                    .ok_or_else(|| SqlError::Syntax(format!("unexpected {t} in SET")))?,
            ),
        }
        i += 1;
    }
    if i >= w.len() || key.is_empty() {
        return Err(SqlError::Syntax("expected SET 'key' = 'value'".into()));
    }
    i += 1;
    // PostgreSQL's `SET name TO DEFAULT` (unquoted) is RESET name.
    if w.len() == i + 1 && upper(&w[i]) == "DEFAULT" {
        return Ok(Statement::Reset(Some(key)));
    }
    let value: Vec<String> = w[i..]
        .iter()
        .map(|t| string_or_ident(t).unwrap_or_else(|| t.to_string()))
        .collect();
    if value.is_empty() {
        return Err(SqlError::Syntax(format!("SET '{key}' needs a value")));
    }
    Ok(Statement::Set(Some((key, value.join("")))))
}

fn parse_statement_set(sql: &str) -> Result<Statement> {
    let spanned = super::tokenize_spans(sql)?;
    let tokens: Vec<&Token> = spanned.iter().map(|(t, _)| t).collect();
    let mut seen = 0;
    let mut start = None;
    for (i, t) in tokens.iter().enumerate() {
        if matches!(t, Token::Whitespace(_)) {
            continue;
        }
        seen += 1;
        if seen == 4 {
            if !word_is(t, "BEGIN") {
                return Err(SqlError::Syntax(
                    "expected EXECUTE STATEMENT SET BEGIN".into(),
                ));
            }
            start = Some(i + 1);
            break;
        }
    }
    let start =
        start.ok_or_else(|| SqlError::Syntax("expected EXECUTE STATEMENT SET BEGIN".into()))?;
    let mut end = tokens.len();
    while end > start && matches!(tokens[end - 1], Token::Whitespace(_) | Token::SemiColon) {
        end -= 1;
    }
    if end == start || !word_is(tokens[end - 1], "END") {
        return Err(SqlError::Syntax("a statement set must end with END".into()));
    }
    // The body as written: printing its tokens back would lose escapes ('it''s').
    let body = match start + 1 < end {
        true => sql
            .get(spanned[start].1.start..spanned[end - 2].1.end)
            .unwrap_or_default(),
        false => "",
    };
    let mut entries = Vec::new();
    for text in split_statements(body)? {
        match parse(&text)? {
            Statement::Insert(insert) => entries.push(StatementSetEntry { text, insert }),
            _ => {
                return Err(SqlError::Syntax(
                    "a statement set may contain only INSERT statements".into(),
                ))
            }
        }
    }
    if entries.is_empty() {
        return Err(SqlError::Syntax(
            "a statement set needs at least one INSERT".into(),
        ));
    }
    Ok(Statement::StatementSet(entries))
}
