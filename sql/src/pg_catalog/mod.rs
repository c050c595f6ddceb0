//! What PostgreSQL clients read to find Eddy's objects: `pg_catalog`, `information_schema`
//! and the catalog functions their queries call, for psql's `\d`, JDBC's
//! `DatabaseMetaData`, SQLAlchemy's inspector and BI tools.
//!
//! PostgreSQL's own system catalogs (types, functions, operators, access methods) and the
//! rewrites that let DataFusion run client catalog queries (`'t'::regclass`,
//! `OPERATOR(pg_catalog.~)`, `COLLATE`, `= ANY(array)`) come from the
//! `datafusion-pg-catalog` crate. The tables and functions that describe Eddy's objects
//! are computed here from the same catalog SHOW TABLES reads, each time a statement plans.
//!
//! Names: Flink's current catalog is the PostgreSQL database and its current database is
//! the schema, so a Postgres client sees `default_catalog.default_database.t`.

mod functions;
mod information_schema;
pub mod procs;
mod relations;
pub(crate) mod rows;
mod subqueries;
mod tables;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{
    CatalogProviderList, MemTable, MemoryCatalogProviderList, SchemaProvider, TableProvider,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, array_bounds_udf, format_type, generate_series_arg_coercion, has_privilege_udf,
    oid_type_planner, quote_ident_udf, PgCatalogSchemaProvider, PgCatalogStaticTables,
    PgCatalogTable,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

pub use relations::{attnum, Relation, RelationKind, Relations, ROLE_NAME};

type Base = PgCatalogSchemaProvider<Arc<dyn CatalogProviderList>, EmptyContextProvider>;

/// Built once per server: PostgreSQL's system catalogs, decoded from the crate's files.
pub struct PgCatalog {
    statics: Arc<PgCatalogStaticTables>,
    /// Result and argument types of PostgreSQL's functions, by OID, for `\df`.
    signatures: Arc<functions::Signatures>,
    base: Arc<Base>,
    compat: PostgresCompatibilityParser,
}

impl fmt::Debug for PgCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PgCatalog")
    }
}

impl PgCatalog {
    pub fn new() -> Result<Self> {
        let statics = Arc::new(PgCatalogStaticTables::try_new()?);
        // The crate's own tables of user objects are never asked: Eddy computes them.
        let none: Arc<dyn CatalogProviderList> = Arc::new(MemoryCatalogProviderList::new());
        let base = Base::try_new(none, statics.clone(), EmptyContextProvider)?;
        let signatures = Arc::new(functions::Signatures::read(
            statics.pg_proc.data(),
            statics.pg_type.data(),
        )?);
        Ok(Self {
            statics,
            signatures,
            base: Arc::new(base),
            compat: PostgresCompatibilityParser::new(),
        })
    }

    /// Adds `pg_catalog`, `information_schema` and the catalog functions to a context
    /// whose default catalog is the relations' database (Flink's current catalog).
    pub fn register(&self, ctx: &SessionContext, relations: Relations) -> Result<()> {
        let relations = Arc::new(relations);
        // Kept with the context too: a query's result columns are traced to them.
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(relations.clone());
        let catalog = ctx.catalog(&relations.database).ok_or_else(|| {
            DataFusionError::Internal(format!("the context has no catalog {}", relations.database))
        })?;
        catalog.register_schema(
            "pg_catalog",
            Arc::new(PgCatalogSchema {
                base: self.base.clone(),
                relations: relations.clone(),
            }),
        )?;
        catalog.register_schema(
            "information_schema",
            Arc::new(information_schema::InformationSchema {
                relations: relations.clone(),
            }),
        )?;
        for name in [
            "has_table_privilege",
            "has_schema_privilege",
            "has_database_privilege",
            "has_any_column_privilege",
            "has_column_privilege",
            "has_function_privilege",
        ] {
            ctx.register_udf(has_privilege_udf::create_has_privilege_udf(name));
        }
        for udf in [
            format_type::create_format_type_udf(),
            pgc::create_pg_get_partkeydef_udf(),
            pgc::create_pg_relation_is_publishable_udf(),
            pgc::create_pg_get_statisticsobjdef_columns_udf(),
            pgc::create_pg_relation_size_udf(),
            pgc::create_pg_total_relation_size_udf(),
            pgc::create_pg_stat_get_numscans(),
            pgc::create_pg_get_partition_ancestors_udf(),
            quote_ident_udf::create_quote_ident_udf(),
            quote_ident_udf::create_parse_ident_udf(),
            array_bounds_udf::create_array_upper_udf(),
            array_bounds_udf::create_array_lower_udf(),
        ] {
            ctx.register_udf(udf);
        }
        for udf in functions::functions(&relations, &self.signatures) {
            ctx.register_udf(udf);
        }
        ctx.register_udf(functions::current_schemas(&relations)?);
        ctx.register_udtf("pg_get_keywords", self.statics.pg_get_keywords.clone());
        generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
        Ok(())
    }

    /// A client's catalog query, parsed as PostgreSQL parses it and rewritten into one
    /// DataFusion runs (`'t'::regclass` into a lookup, `OPERATOR(pg_catalog.~)` into `~`,
    /// psql's queries of always-empty tables such as `pg_policy` into empty answers).
    /// `None` for anything else: the rewrites are for PostgreSQL's catalog idioms, not
    /// for Flink SQL, which Eddy's own parser reads.
    pub fn parse_query(&self, sql: &str) -> crate::error::Result<Option<ast::Statement>> {
        // The crate's rewrites recurse over the tree: check its depth before they run.
        let Ok(mut parsed) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
            return Ok(None);
        };
        for statement in &parsed {
            crate::parser::check_depth(statement)?;
        }
        if parsed.len() != 1 || !matches!(parsed.pop(), Some(ast::Statement::Query(_))) {
            return Ok(None);
        }
        let mut sql = sql.to_string();
        for (idiom, answer) in CLIENT_IDIOMS {
            sql = replace_tokens(&sql, idiom, answer);
        }
        let Ok(mut statements) = self.compat.parse(&sql) else {
            return Ok(None);
        };
        Ok(match (statements.pop(), statements.is_empty()) {
            (Some(mut q @ ast::Statement::Query(_)), true) => {
                rewrite_like_escapes(&mut q);
                subqueries::rewrite(&mut q);
                qualify_computed_tables(&mut q);
                Some(q)
            }
            _ => None,
        })
    }
}

/// Names Eddy's computed tables with their schema when a query leaves it out (the crate
/// qualifies only the tables it knows: `pg_user` is not one of them), as PostgreSQL's
/// search path, which always starts with `pg_catalog`, finds them.
fn qualify_computed_tables(query: &mut ast::Statement) {
    let _ = ast::visit_relations_mut(query, |name| {
        if let [part] = name.0.as_slice() {
            let table = part.to_string().to_ascii_lowercase();
            if tables::DYNAMIC.contains(&table.as_str()) {
                name.0.insert(
                    0,
                    ast::ObjectNamePart::Identifier(ast::Ident::new("pg_catalog")),
                );
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `sql` with each run of tokens equal to `idiom`'s (white space aside, as clients indent
/// their queries their own way) replaced by `answer`.
fn replace_tokens(sql: &str, idiom: &str, answer: &str) -> String {
    let meaningful = |text: &str| {
        crate::parser::tokenize_spans(text).map(|tokens| {
            tokens
                .into_iter()
                .filter(|(t, _)| !matches!(t, Token::Whitespace(_)))
                .collect::<Vec<_>>()
        })
    };
    let (Ok(tokens), Ok(pattern)) = (meaningful(sql), meaningful(idiom)) else {
        return sql.to_string();
    };
    if pattern.is_empty() || tokens.len() < pattern.len() {
        return sql.to_string();
    }
    let mut replacements = Vec::new();
    let mut i = 0;
    while i + pattern.len() <= tokens.len() {
        // Unquoted words in any case, as SQL reads them.
        let matches = tokens[i..i + pattern.len()]
            .iter()
            .zip(&pattern)
            .all(|((a, _), (b, _))| match (a, b) {
                (Token::Word(x), Token::Word(y))
                    if x.quote_style.is_none() && y.quote_style.is_none() =>
                {
                    x.value.eq_ignore_ascii_case(&y.value)
                }
                _ => a == b,
            });
        if matches {
            let start = tokens[i].1.start;
            let end = tokens[i + pattern.len() - 1].1.end;
            replacements.push((start..end, answer.to_string()));
            i += pattern.len();
        } else {
            i += 1;
        }
    }
    crate::parser::splice(sql, &replacements)
}

/// Parts of client catalog queries DataFusion cannot run, with what they answer for any
/// Eddy object, replaced before parsing.
const CLIENT_IDIOMS: &[(&str, &str)] = &[
    // Grafana's table list: is a table's schema on the search path? Its subquery cross
    // joins a series with an array as a table, which DataFusion does not have, and sits in
    // ORDER BY too, where DataFusion plans no subquery: the same test without one.
    (
        "quote_ident(table_schema) IN ( SELECT CASE WHEN trim(s[i]) = '\"$user\"' THEN user ELSE trim(s[i]) END \
         FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1), \
         array_upper(string_to_array(current_setting('search_path'),','),1)) as i, \
         string_to_array(current_setting('search_path'),',') s )",
        "array_has(string_to_array(replace(current_setting('search_path'), ' ', ''), ','), quote_ident(table_schema))",
    ),
    // psql's `\d+`: storage options of a table and its TOAST table, which Eddy's
    // relations never have (an ARRAY(subquery) over a correlated unnest).
    (
        "pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')",
        "''",
    ),
    // pgjdbc's getPrimaryKeys: `_pg_expandarray`, a set-returning function of records,
    // pairs each key column with its position; a primary key lists each column once, so
    // the position of the attribute in the key is the same answer.
    (
        "(information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ",
        "array_position(i.indkey, a.attnum) AS KEY_SEQ",
    ),
    (
        "information_schema._pg_expandarray(i.indkey) AS KEYS",
        "i.indkey AS KEYS",
    ),
    (
        "result.A_ATTNUM = (result.KEYS).x",
        "array_has(result.KEYS, result.A_ATTNUM)",
    ),
    // pgjdbc's getIndexInfo: one row per key position.
    (
        "(information_schema._pg_expandarray(i.indkey)).n AS ORDINAL_POSITION",
        "unnest(generate_series(1, array_length(i.indkey))) AS ORDINAL_POSITION",
    ),
];

/// `LIKE p ESCAPE 'c'` for any `c`: DataFusion's LIKE knows only the backslash, so the
/// pattern is translated to backslash escapes (SQLAlchemy escapes with '/').
fn rewrite_like_escapes(statement: &mut ast::Statement) {
    use ast::{Expr, Value};
    let _ = ast::visit_expressions_mut(statement, |e| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = e
        {
            if let Some(Value::SingleQuotedString(c)) = escape_char.as_ref().map(|v| &v.value) {
                if c != "\\" {
                    let escape = Expr::value(Value::SingleQuotedString(c.clone()));
                    let original = std::mem::replace(pattern.as_mut(), Expr::value(Value::Null));
                    **pattern = call(functions::LIKE_ESCAPE, vec![original, escape]);
                    *escape_char = None;
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

fn call(name: &str, args: Vec<ast::Expr>) -> ast::Expr {
    use ast::{FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments};
    ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The type planner for PostgreSQL's OID types as cast targets (`'t'::regclass`).
pub fn type_planner() -> Arc<dyn datafusion::logical_expr::planner::TypePlanner> {
    Arc::new(oid_type_planner::PgOidTypePlanner)
}

/// Whether a parsed query reads a `pg_catalog` or `information_schema` table (qualified,
/// or unqualified with PostgreSQL's reserved `pg_` prefix), calls a function qualified with
/// `pg_catalog`, or casts to an OID type: only such queries get PostgreSQL's parser and the
/// catalog rewrites.
pub fn reads_catalog(query: &ast::Statement) -> bool {
    let catalog_relation = ast::visit_relations(query, |name| {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
            .collect();
        let hit = match parts.as_slice() {
            [table] => table.starts_with("pg_"),
            [.., schema, _] => schema == "pg_catalog" || schema == "information_schema",
            [] => false,
        };
        match hit {
            true => std::ops::ControlFlow::Break(()),
            false => std::ops::ControlFlow::Continue(()),
        }
    });
    // Casts to OID types, and PostgreSQL's `current_user` / `session_user`, which are
    // written without parentheses.
    let oid_cast = ast::visit_expressions(query, |e| match e {
        ast::Expr::Cast { data_type, .. } if is_oid_type(data_type) => {
            std::ops::ControlFlow::Break(())
        }
        ast::Expr::Identifier(i) if i.quote_style.is_none() && is_user(&i.value) => {
            std::ops::ControlFlow::Break(())
        }
        ast::Expr::Function(f) if is_user(&f.name.to_string()) => std::ops::ControlFlow::Break(()),
        // `pg_catalog.version()`, as SQLAlchemy asks on connecting.
        ast::Expr::Function(f)
            if f.name.0.len() == 2
                && f.name.0[0].to_string().eq_ignore_ascii_case("pg_catalog") =>
        {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    });
    catalog_relation.is_break() || oid_cast.is_break()
}

fn is_user(name: &str) -> bool {
    ["current_user", "session_user"]
        .iter()
        .any(|u| name.eq_ignore_ascii_case(u))
}

fn is_oid_type(t: &ast::DataType) -> bool {
    let name = t.to_string().to_ascii_lowercase();
    let name = name.trim_start_matches("pg_catalog.");
    name.starts_with("reg") || name == "oid"
}

/// Whether text Eddy's parser refused names the catalog, so PostgreSQL's grammar (e.g.
/// `OPERATOR(pg_catalog.~)`) may read it.
pub fn names_catalog(sql: &str) -> bool {
    let text = sql.to_ascii_lowercase();
    ["pg_catalog", "information_schema", "::reg"]
        .iter()
        .any(|s| text.contains(s))
}

/// `pg_catalog` for one statement: Eddy's objects computed, the rest from the crate.
#[derive(Debug)]
struct PgCatalogSchema {
    base: Arc<Base>,
    relations: Arc<Relations>,
}

/// Array columns the crate declares as text: clients index and unnest them
/// (`conkey[n]`, `unnest(indkey)`), so Eddy's tables make them arrays. The crate's rows
/// of these tables describe PostgreSQL's own system tables, which Eddy does not list.
const ARRAY_COLUMNS: &[(&str, &str, DataType)] = &[
    ("pg_constraint", "conkey", DataType::Int16),
    ("pg_constraint", "confkey", DataType::Int16),
    ("pg_index", "indkey", DataType::Int16),
    ("pg_index", "indoption", DataType::Int16),
    ("pg_index", "indclass", DataType::Int32),
    ("pg_index", "indcollation", DataType::Int32),
];

/// Columns the crate's tables lack that clients read, always NULL for Eddy's relations:
/// SQLAlchemy's `get_indexes` reads `pg_class.reloptions`.
fn missing_columns(table: &str) -> Vec<Arc<datafusion::arrow::datatypes::Field>> {
    match table {
        "pg_class" => vec![Arc::new(datafusion::arrow::datatypes::Field::new(
            "reloptions",
            DataType::new_list(DataType::Utf8, true),
            true,
        ))],
        _ => vec![],
    }
}

/// Columns the crate misnames: (table, its name, PostgreSQL's).
const RENAMED_COLUMNS: &[(&str, &str, &str)] = &[("pg_settings", "bool_val", "boot_val")];

/// `schema` and `batches` with [`RENAMED_COLUMNS`] named as in PostgreSQL and
/// [`missing_columns`] added, NULL in every row.
fn with_missing(
    table: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let missing: Vec<_> = missing_columns(table)
        .into_iter()
        .filter(|m| schema.field_with_name(m.name()).is_err())
        .collect();
    let rename = |name: &str| {
        RENAMED_COLUMNS
            .iter()
            .find(|(t, from, _)| *t == table && *from == name)
            .map(|(_, _, to)| *to)
    };
    if missing.is_empty() && !schema.fields().iter().any(|f| rename(f.name()).is_some()) {
        return Ok((schema, batches));
    }
    let wider = Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| match rename(f.name()) {
                Some(to) => Arc::new(f.as_ref().clone().with_name(to)),
                None => f.clone(),
            })
            .chain(missing.iter().cloned())
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ));
    let batches = batches
        .into_iter()
        .map(|b| {
            let mut columns = b.columns().to_vec();
            for m in &missing {
                columns.push(datafusion::arrow::array::new_null_array(
                    m.data_type(),
                    b.num_rows(),
                ));
            }
            RecordBatch::try_new(wider.clone(), columns)
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((wider, batches))
}

fn with_arrays(table: &str, schema: &SchemaRef) -> SchemaRef {
    let fields = schema.fields().iter().map(|f| {
        match ARRAY_COLUMNS
            .iter()
            .find(|(t, c, _)| *t == table && c == f.name())
        {
            Some((_, _, item)) => Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(DataType::new_list(item.clone(), true)),
            ),
            None => f.clone(),
        }
    });
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields.collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// Columns of the catalog views the crate does not declare.
fn own_schema(table: &str) -> Option<SchemaRef> {
    use DataType::{Boolean, Int32, Int64, Utf8};
    let time = || {
        DataType::Timestamp(
            datafusion::arrow::datatypes::TimeUnit::Microsecond,
            Some("UTC".into()),
        )
    };
    match table {
        "pg_stat_activity" => Some(rows::schema(&[
            ("datid", Int32),
            ("datname", Utf8),
            ("pid", Int32),
            ("leader_pid", Int32),
            ("usesysid", Int32),
            ("usename", Utf8),
            ("application_name", Utf8),
            ("client_addr", Utf8),
            ("client_hostname", Utf8),
            ("client_port", Int32),
            ("backend_start", time()),
            ("xact_start", time()),
            ("query_start", time()),
            ("state_change", time()),
            ("wait_event_type", Utf8),
            ("wait_event", Utf8),
            ("state", Utf8),
            ("backend_xid", Utf8),
            ("backend_xmin", Utf8),
            ("query_id", Int64),
            ("query", Utf8),
            ("backend_type", Utf8),
        ])),
        "pg_user" => Some(rows::schema(&[
            ("usename", Utf8),
            ("usesysid", Int32),
            ("usecreatedb", Boolean),
            ("usesuper", Boolean),
            ("userepl", Boolean),
            ("usebypassrls", Boolean),
            ("passwd", Utf8),
            ("valuntil", Utf8),
            ("useconfig", Utf8),
        ])),
        _ => None,
    }
}

#[async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.base.table_names();
        for t in tables::DYNAMIC {
            if !names.iter().any(|n| n == t) {
                names.push(t.to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = name.to_ascii_lowercase();
        let Some(rows) = tables::rows(&name, &self.relations) else {
            return self.base.table(&name).await;
        };
        let crate_table = self.base.build_table_by_name(&name)?;
        let (schema, batches) = match (&crate_table, own_schema(&name)) {
            (Some(t), _) if ARRAY_COLUMNS.iter().any(|(t, _, _)| *t == name) => {
                (with_arrays(&name, &t.schema()), vec![])
            }
            // PostgreSQL's own rows (e.g. descriptions of its functions) stay.
            (Some(PgCatalogTable::Static(t)), _) => (t.schema(), t.data().to_vec()),
            (Some(t), _) => (t.schema(), vec![]),
            (None, Some(schema)) => (schema, vec![]),
            (None, None) => return Ok(None),
        };
        let (schema, mut batches) = with_missing(&name, schema, batches)?;
        batches.push(rows::batch(&schema, &rows)?);
        Ok(Some(Arc::new(MemTable::try_new(schema, vec![batches])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        tables::DYNAMIC.contains(&name.as_str()) || self.base.table_exist(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;

    fn parsed(sql: &str) -> ast::Statement {
        Parser::parse_sql(&GenericDialect {}, sql)
            .expect("parses")
            .remove(0)
    }

    #[test]
    fn only_catalog_queries_take_postgres_parsing() {
        for sql in [
            "SELECT relname FROM pg_catalog.pg_class",
            "SELECT * FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
            "SELECT * FROM information_schema.columns",
            "SELECT 'orders'::regclass",
            "SELECT x FROM t WHERE y IN (SELECT oid FROM pg_catalog.pg_type)",
            "SELECT current_user",
        ] {
            assert!(reads_catalog(&parsed(sql)), "{sql}");
        }
        for sql in [
            "SELECT * FROM t WHERE s LIKE 'pg_%' -- pg_catalog",
            "SELECT pg_size, 'information_schema' FROM t",
            "SELECT CAST(x AS BIGINT) FROM t",
        ] {
            assert!(!reads_catalog(&parsed(sql)), "{sql}");
        }
    }
}
