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
mod relations;
pub(crate) mod rows;
mod tables;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{
    CatalogProviderList, MemTable, MemoryCatalogProviderList, SchemaProvider, TableProvider,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, array_bounds_udf, format_type, generate_series_arg_coercion, has_privilege_udf,
    oid_type_planner, quote_ident_udf, PgCatalogSchemaProvider, PgCatalogStaticTables,
    PgCatalogTable,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

pub use functions::version;
pub use relations::{Relation, RelationKind, Relations};

/// The PostgreSQL database Eddy's objects are in: Flink's default catalog.
pub const DATABASE: &str = "default_catalog";
/// The PostgreSQL schema Eddy's objects are in: Flink's default database.
pub const SCHEMA: &str = "default_database";

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
    /// whose default catalog is [`DATABASE`].
    pub fn register(&self, ctx: &SessionContext, relations: Relations) -> Result<()> {
        let relations = Arc::new(relations);
        let catalog = ctx.catalog(DATABASE).ok_or_else(|| {
            DataFusionError::Internal(format!("the context has no catalog {DATABASE}"))
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
            pgc::create_session_user_udf(),
            pgc::create_pg_get_partkeydef_udf(),
            pgc::create_pg_relation_is_publishable_udf(),
            pgc::create_pg_get_statisticsobjdef_columns_udf(),
            pgc::create_pg_encoding_to_char_udf(),
            pgc::create_pg_backend_pid_udf(),
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
        // `regclass`, `regtype`, `oid` as cast targets.
        let state = ctx.state_ref();
        let existing = state.read().clone();
        *state.write() = SessionStateBuilder::new_from_existing(existing)
            .with_type_planner(Arc::new(oid_type_planner::PgOidTypePlanner))
            .build();
        generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
        Ok(())
    }

    /// A client's catalog query, parsed as PostgreSQL parses it and rewritten into one
    /// DataFusion runs (`'t'::regclass` into a lookup, `OPERATOR(pg_catalog.~)` into `~`,
    /// psql's queries of always-empty tables such as `pg_policy` into empty answers).
    /// `None` for anything else: the rewrites are for PostgreSQL's catalog idioms, not
    /// for Flink SQL, which Eddy's own parser reads.
    pub fn parse_query(&self, sql: &str) -> Option<ast::Statement> {
        if !reads_catalog(sql) {
            return None;
        }
        let mut sql = sql.to_string();
        for (idiom, answer) in CLIENT_IDIOMS {
            sql = sql.replace(idiom, answer);
        }
        let mut statements = self.compat.parse(&sql).ok()?;
        match (statements.pop(), statements.is_empty()) {
            (Some(mut q @ ast::Statement::Query(_)), true) => {
                rewrite_like_escapes(&mut q);
                Some(q)
            }
            _ => None,
        }
    }
}

/// Parts of client catalog queries DataFusion cannot run, with what they answer for any
/// Eddy object, replaced before parsing.
const CLIENT_IDIOMS: &[(&str, &str)] = &[
    // psql's `\d+`: storage options of a table and its TOAST table, which Eddy's
    // relations never have (an ARRAY(subquery) over a correlated unnest).
    (
        "pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')",
        "''",
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

/// Whether a statement's text names a catalog table, schema or catalog idiom.
fn reads_catalog(sql: &str) -> bool {
    let text = sql.to_ascii_lowercase();
    [
        "pg_",
        "information_schema",
        "::reg",
        "current_schema",
        "current_user",
    ]
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
    use DataType::{Boolean, Int32, Utf8};
    match table {
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
        let (schema, mut batches) = match (&crate_table, own_schema(&name)) {
            (Some(t), _) if ARRAY_COLUMNS.iter().any(|(t, _, _)| *t == name) => {
                (with_arrays(&name, &t.schema()), vec![])
            }
            // PostgreSQL's own rows (e.g. descriptions of its functions) stay.
            (Some(PgCatalogTable::Static(t)), _) => (t.schema(), t.data().to_vec()),
            (Some(t), _) => (t.schema(), vec![]),
            (None, Some(schema)) => (schema, vec![]),
            (None, None) => return Ok(None),
        };
        batches.push(rows::batch(&schema, &rows)?);
        Ok(Some(Arc::new(MemTable::try_new(schema, vec![batches])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        tables::DYNAMIC.contains(&name.as_str()) || self.base.table_exist(&name)
    }
}
