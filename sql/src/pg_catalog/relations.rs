//! Eddy's objects as PostgreSQL describes them: relations with OIDs, columns with type
//! OIDs and typmods, primary keys with their index and constraint. Built from the catalog
//! each time a statement plans, so `pg_catalog` and `information_schema` never hold a copy
//! of their own.

use std::collections::HashSet;
use std::hash::Hasher;

use datafusion::arrow::datatypes::{DataType, Schema};

use crate::catalog::{CatalogTable, FlinkType};

/// PostgreSQL's first OID for user objects; lower ones are its system objects.
const FIRST_USER_OID: u32 = 16384;
/// OIDs PostgreSQL gives its own namespaces and bootstrap superuser.
pub const PG_CATALOG_NAMESPACE: u32 = 11;
pub const INFORMATION_SCHEMA_NAMESPACE: u32 = 13183;
pub const SUPERUSER: u32 = 10;
/// Eddy's built-in superuser, which owns every object (PostgreSQL's bootstrap superuser).
pub const ROLE_NAME: &str = "eddy";

/// A role as `pg_roles` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub oid: u32,
    pub superuser: bool,
    pub login: bool,
}

/// What kind of relation an object is: PostgreSQL's `relkind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
    MaterializedView,
}

impl RelationKind {
    pub fn relkind(self) -> &'static str {
        match self {
            RelationKind::Table => "r",
            RelationKind::View => "v",
            RelationKind::MaterializedView => "m",
        }
    }
}

/// A column as `pg_attribute` describes it.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub type_oid: u32,
    /// PostgreSQL's type modifier: `n + 4` for `varchar(n)`, `((p << 16) | s) + 4` for
    /// `numeric(p, s)`, the precision for times; -1 when there is none.
    pub typmod: i32,
    pub not_null: bool,
    /// A computed column's expression: PostgreSQL shows it as a stored generated column.
    pub generated: Option<String>,
}

/// A primary key, which PostgreSQL backs with a unique index.
#[derive(Debug, Clone)]
pub struct PrimaryKey {
    /// `<table>_pkey`, PostgreSQL's default name, used for the index and the constraint.
    pub name: String,
    pub index_oid: u32,
    pub constraint_oid: u32,
    /// Attribute numbers (1-based) of the key's columns, in key order.
    pub columns: Vec<i16>,
}

/// A table, view or materialized view.
#[derive(Debug, Clone)]
pub struct Relation {
    pub oid: u32,
    pub name: String,
    /// Its schema: the Flink database it is in (set by [`Relations::new`]).
    pub schema: String,
    pub schema_oid: u32,
    pub kind: RelationKind,
    pub columns: Vec<Attribute>,
    pub primary_key: Option<PrimaryKey>,
    /// The query of a view or materialized view.
    pub definition: Option<String>,
}

/// PostgreSQL's 1-based attribute number of the column at `index` (saturating: a table
/// has at most 1600 columns in PostgreSQL, and Eddy's would never reach i16's limit).
pub fn attnum(index: usize) -> i16 {
    i16::try_from(index + 1).unwrap_or(i16::MAX)
}

impl Relation {
    /// The column with attribute number `n`.
    pub fn column(&self, n: i16) -> Option<&Attribute> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.columns.get(index)
    }

    /// A catalog table (or a materialized view's table) with its declared types.
    pub fn table(table: &CatalogTable, kind: RelationKind, definition: Option<String>) -> Self {
        let columns = table
            .columns
            .iter()
            .map(|c| {
                let (type_oid, typmod) = flink_pg_type(&c.data_type);
                Attribute {
                    name: c.name.clone(),
                    type_oid,
                    typmod,
                    // PostgreSQL's materialized views have no NOT NULL columns.
                    not_null: !c.nullable && kind != RelationKind::MaterializedView,
                    generated: c.expression.clone(),
                }
            })
            .collect::<Vec<_>>();
        let primary_key = table.primary_key.as_ref().map(|key| PrimaryKey {
            name: format!("{}_pkey", table.name),
            index_oid: 0,
            constraint_oid: 0,
            columns: key
                .iter()
                .filter_map(|k| columns.iter().position(|c| &c.name == k))
                .map(attnum)
                .collect(),
        });
        Self {
            oid: 0,
            name: table.name.clone(),
            schema: String::new(),
            schema_oid: 0,
            kind,
            columns,
            primary_key,
            definition,
        }
    }

    /// A view, with the types its query produces.
    pub fn view(name: &str, schema: &Schema, definition: &str) -> Self {
        Self {
            oid: 0,
            name: name.to_string(),
            schema: String::new(),
            schema_oid: 0,
            kind: RelationKind::View,
            columns: schema
                .fields()
                .iter()
                .map(|f| {
                    let (type_oid, typmod) = arrow_pg_type(f.data_type());
                    Attribute {
                        name: f.name().clone(),
                        type_oid,
                        typmod,
                        not_null: false,
                        generated: None,
                    }
                })
                .collect(),
            primary_key: None,
            definition: Some(definition.to_string()),
        }
    }
}

/// Every relation of the current database's one schema, with OIDs assigned.
#[derive(Debug, Clone)]
pub struct Relations {
    /// The PostgreSQL database: Flink's current catalog.
    pub database: String,
    pub database_oid: u32,
    /// The PostgreSQL schema: Flink's current database.
    pub schema: String,
    pub schema_oid: u32,
    /// Every schema: the current catalog's databases, by name.
    pub schemas: Vec<(String, u32)>,
    /// Every PostgreSQL database: Flink's catalogs, by name, the current one included.
    pub databases: Vec<(String, u32)>,
    /// Sorted by schema and name.
    pub relations: Vec<Relation>,
    /// The built-in superuser first, then the other roles by name.
    pub roles: Vec<Role>,
    /// The session's user (`current_user`, `session_user`).
    pub user: String,
    /// PostgreSQL's settings as the session has them (`pg_settings`, `current_setting`),
    /// by lower-case name.
    pub settings: Vec<(String, String)>,
    /// The gateway's sessions (`pg_stat_activity`), read when listed.
    pub backends: Option<crate::session::SessionList>,
    /// Whether the session's user sees other users' queries (a superuser, or no
    /// authentication), as PostgreSQL shows them only to superusers.
    pub sees_all_sessions: bool,
    /// The session's process id (`pg_backend_pid()`); 0 outside a client session.
    pub backend_pid: i32,
    /// The user functions of the current catalog's databases, by schema and name.
    pub functions: Vec<super::procs::UserFunction>,
    /// `pg_language`'s OID of the functions' language.
    pub python_language_oid: u32,
}

impl Relations {
    /// Assigns OIDs: derived from names, so a table keeps its OID across statements and
    /// restarts (psql looks a table's OID up in one query and uses it in the next), and
    /// made unique by probing in name order.
    /// `relations` are `(schema, relation)`; `schema` is the current one, and `schemas`
    /// every one, empty ones included.
    pub fn new(
        database: &str,
        schema: &str,
        schemas: &[String],
        relations: Vec<(String, Relation)>,
    ) -> Self {
        let mut relations: Vec<Relation> = relations
            .into_iter()
            .map(|(schema, mut r)| {
                r.schema = schema;
                r
            })
            .collect();
        relations.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        let mut taken = HashSet::new();
        let mut assign = |key: &str| {
            let mut oid = name_oid(key);
            while !taken.insert(oid) {
                oid = if oid == u32::MAX >> 1 {
                    FIRST_USER_OID
                } else {
                    oid + 1
                };
            }
            oid
        };
        let database_oid = assign(&format!("database {database}"));
        let mut names: Vec<&String> = schemas.iter().collect();
        names.sort();
        names.dedup();
        let schemas: Vec<(String, u32)> = names
            .into_iter()
            .map(|s| (s.clone(), assign(&format!("schema {s}"))))
            .collect();
        let schema_oid = schemas
            .iter()
            .find(|(s, _)| s == schema)
            .map(|(_, oid)| *oid)
            .unwrap_or_else(|| assign(&format!("schema {schema}")));
        for r in &mut relations {
            r.schema_oid = schemas
                .iter()
                .find(|(s, _)| *s == r.schema)
                .map(|(_, oid)| *oid)
                .unwrap_or(schema_oid);
            // Objects of Flink's default database keep the OIDs they had before other
            // databases existed.
            let qualified = match r.schema == crate::catalog::DEFAULT_DATABASE {
                true => r.name.clone(),
                false => format!("{}.{}", r.schema, r.name),
            };
            r.oid = assign(&format!("relation {qualified}"));
            if let Some(pk) = &mut r.primary_key {
                let pk_name = match r.schema == crate::catalog::DEFAULT_DATABASE {
                    true => pk.name.clone(),
                    false => format!("{}.{}", r.schema, pk.name),
                };
                pk.index_oid = assign(&format!("index {pk_name}"));
                pk.constraint_oid = assign(&format!("constraint {pk_name}"));
            }
        }
        Self {
            database: database.to_string(),
            database_oid,
            schema: schema.to_string(),
            schema_oid,
            schemas,
            databases: vec![(database.to_string(), database_oid)],
            relations,
            roles: vec![Role {
                name: ROLE_NAME.to_string(),
                oid: SUPERUSER,
                superuser: true,
                login: true,
            }],
            user: ROLE_NAME.to_string(),
            settings: crate::session::pg_defaults()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            backends: None,
            sees_all_sessions: true,
            backend_pid: 0,
            functions: Vec::new(),
            python_language_oid: 0,
        }
    }

    /// Every OID given out so far.
    fn taken_oids(&self) -> HashSet<u32> {
        let mut taken: HashSet<u32> = self.relations.iter().map(|r| r.oid).collect();
        taken.extend([self.database_oid, self.schema_oid]);
        taken.extend(self.schemas.iter().map(|(_, oid)| *oid));
        taken.extend(self.databases.iter().map(|(_, oid)| *oid));
        taken.extend(self.roles.iter().map(|r| r.oid));
        taken.extend(self.functions.iter().map(|f| f.oid));
        for r in &self.relations {
            if let Some(pk) = &r.primary_key {
                taken.extend([pk.index_oid, pk.constraint_oid]);
            }
        }
        taken
    }

    /// Adds the user functions (`pg_proc`), with OIDs from their schema and name, and
    /// their language.
    pub fn with_functions(mut self, mut functions: Vec<super::procs::UserFunction>) -> Self {
        let mut taken = self.taken_oids();
        let mut assign = |key: &str| {
            let mut oid = name_oid(key);
            while !taken.insert(oid) {
                oid = oid
                    .checked_add(1)
                    .filter(|o| *o < u32::MAX >> 1)
                    .unwrap_or(FIRST_USER_OID);
            }
            oid
        };
        self.python_language_oid = assign(&format!("language {}", super::procs::PYTHON));
        functions.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        for f in &mut functions {
            f.schema_oid = self
                .schemas
                .iter()
                .find(|(s, _)| *s == f.schema)
                .map_or(self.schema_oid, |(_, oid)| *oid);
            f.oid = assign(&format!("function {}.{}", f.schema, f.name));
        }
        self.functions = functions;
        self
    }

    /// The user function with this OID.
    pub fn function(&self, oid: i64) -> Option<&super::procs::UserFunction> {
        self.functions.iter().find(|f| i64::from(f.oid) == oid)
    }

    /// Adds the other catalogs as databases (`pg_database`, `\l`), with OIDs from their
    /// names.
    pub fn with_databases(mut self, names: impl IntoIterator<Item = String>) -> Self {
        let mut taken: HashSet<u32> = self.relations.iter().map(|r| r.oid).collect();
        taken.extend(self.schemas.iter().map(|(_, oid)| *oid));
        taken.extend(self.databases.iter().map(|(_, oid)| *oid));
        for r in &self.relations {
            if let Some(pk) = &r.primary_key {
                taken.extend([pk.index_oid, pk.constraint_oid]);
            }
        }
        for name in names {
            if self.databases.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let mut oid = name_oid(&format!("database {name}"));
            while !taken.insert(oid) {
                oid = oid
                    .checked_add(1)
                    .filter(|o| *o < u32::MAX >> 1)
                    .unwrap_or(FIRST_USER_OID);
            }
            self.databases.push((name, oid));
        }
        self.databases.sort();
        self
    }

    /// The gateway's sessions, and whether this session's user sees others' queries.
    pub fn with_backends(
        mut self,
        backends: Option<crate::session::SessionList>,
        sees_all: bool,
    ) -> Self {
        self.backends = backends;
        self.sees_all_sessions = sees_all;
        self
    }

    /// The session's PostgreSQL settings, its own `SET` values included, and its pid.
    pub fn with_session(mut self, settings: Vec<(String, String)>, pid: i32) -> Self {
        self.settings = settings;
        self.backend_pid = pid;
        self
    }

    /// Adds the roles besides the built-in superuser (`(name, superuser, login)`), with
    /// OIDs from their names, and the session's user.
    pub fn with_roles(
        mut self,
        user: &str,
        roles: impl IntoIterator<Item = (String, bool, bool)>,
    ) -> Self {
        let mut taken: HashSet<u32> = self.relations.iter().map(|r| r.oid).collect();
        taken.extend([self.database_oid, self.schema_oid]);
        taken.extend(self.schemas.iter().map(|(_, oid)| *oid));
        taken.extend(self.databases.iter().map(|(_, oid)| *oid));
        for r in &self.relations {
            if let Some(pk) = &r.primary_key {
                taken.extend([pk.index_oid, pk.constraint_oid]);
            }
        }
        let mut roles: Vec<_> = roles.into_iter().filter(|(n, ..)| n != ROLE_NAME).collect();
        roles.sort();
        for (name, superuser, login) in roles {
            let mut oid = name_oid(&format!("role {name}"));
            while !taken.insert(oid) {
                oid = oid
                    .checked_add(1)
                    .filter(|o| *o < u32::MAX >> 1)
                    .unwrap_or(FIRST_USER_OID);
            }
            self.roles.push(Role {
                name,
                oid,
                superuser,
                login,
            });
        }
        self.user = user.to_string();
        self
    }

    /// The role with this OID.
    pub fn role(&self, oid: i64) -> Option<&Role> {
        self.roles.iter().find(|r| i64::from(r.oid) == oid)
    }

    /// The relation with this OID.
    pub fn by_oid(&self, oid: i64) -> Option<&Relation> {
        self.relations.iter().find(|r| i64::from(r.oid) == oid)
    }

    /// The relation whose primary key has this constraint or index OID.
    pub fn by_key_oid(&self, oid: i64) -> Option<(&Relation, &PrimaryKey)> {
        self.relations.iter().find_map(|r| {
            let pk = r.primary_key.as_ref()?;
            (i64::from(pk.constraint_oid) == oid || i64::from(pk.index_oid) == oid)
                .then_some((r, pk))
        })
    }

    /// Whether an OID names something the search path finds: a relation of the current
    /// schema, its key's index, or one of PostgreSQL's own objects (every OID below the
    /// first user OID).
    pub fn is_visible(&self, oid: i64) -> bool {
        oid < i64::from(FIRST_USER_OID)
            || self.by_oid(oid).is_some_and(|r| r.schema == self.schema)
            || self
                .by_key_oid(oid)
                .is_some_and(|(r, _)| r.schema == self.schema)
    }
}

fn name_oid(key: &str) -> u32 {
    // FNV-1a: stable across Rust versions and processes, unlike the std hasher's seed.
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(key.as_bytes());
    let span = u64::from((u32::MAX >> 1) - FIRST_USER_OID);
    FIRST_USER_OID + (h.0 % span) as u32
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// PostgreSQL type OIDs Eddy's columns are described with.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const INTERVAL: u32 = 1186;
    pub const JSON: u32 = 114;

    /// The array types ARRAY columns are described with: (array, element, `typname`).
    pub const ARRAYS: &[(u32, u32, &str)] = &[
        (1000, BOOL, "_bool"),
        (1001, BYTEA, "_bytea"),
        (1005, INT2, "_int2"),
        (1007, INT4, "_int4"),
        (1016, INT8, "_int8"),
        (1009, TEXT, "_text"),
        (1021, FLOAT4, "_float4"),
        (1022, FLOAT8, "_float8"),
        (1182, DATE, "_date"),
        (1183, TIME, "_time"),
        (1115, TIMESTAMP, "_timestamp"),
        (1185, TIMESTAMPTZ, "_timestamptz"),
        (1187, INTERVAL, "_interval"),
        (1231, NUMERIC, "_numeric"),
        (199, JSON, "_json"),
    ];
}

/// The largest length PostgreSQL allows in `varchar(n)`; Flink's STRING is longer.
const MAX_VARCHAR: u32 = 10_485_760;

/// A declared Flink type as PostgreSQL's type and typmod. Nested types (ARRAY, MAP, ROW)
/// are text, as the wire sends them today.
pub fn flink_pg_type(t: &FlinkType) -> (u32, i32) {
    match t {
        FlinkType::Boolean => (oid::BOOL, -1),
        FlinkType::TinyInt | FlinkType::SmallInt => (oid::INT2, -1),
        FlinkType::Int => (oid::INT4, -1),
        FlinkType::BigInt => (oid::INT8, -1),
        FlinkType::Float => (oid::FLOAT4, -1),
        FlinkType::Double => (oid::FLOAT8, -1),
        FlinkType::Decimal(p, s) => (oid::NUMERIC, numeric_typmod(*p, *s)),
        FlinkType::Char(n) if *n <= MAX_VARCHAR => (oid::BPCHAR, *n as i32 + 4),
        FlinkType::Varchar(n) if *n <= MAX_VARCHAR => (oid::VARCHAR, *n as i32 + 4),
        FlinkType::Char(_) | FlinkType::Varchar(_) | FlinkType::String => (oid::TEXT, -1),
        FlinkType::Binary(_) | FlinkType::Varbinary(_) | FlinkType::Bytes => (oid::BYTEA, -1),
        FlinkType::Date => (oid::DATE, -1),
        FlinkType::Time(p) => (oid::TIME, time_typmod(*p)),
        FlinkType::Timestamp(p) => (oid::TIMESTAMP, time_typmod(*p)),
        FlinkType::TimestampLtz(p) => (oid::TIMESTAMPTZ, time_typmod(*p)),
        FlinkType::Array(_) | FlinkType::Map(_, _) | FlinkType::Row(_) => {
            arrow_pg_type(&t.to_arrow())
        }
    }
}

/// An Arrow type as the wire describes it, with the typmod its precision implies.
pub fn arrow_pg_type(t: &DataType) -> (u32, i32) {
    (crate::pgwire::pg_type(t).oid(), crate::pgwire::pg_typmod(t))
}

fn numeric_typmod(precision: u8, scale: i8) -> i32 {
    crate::pgwire::pg_typmod(&DataType::Decimal128(precision, scale))
}

/// PostgreSQL keeps at most microseconds.
fn time_typmod(precision: u8) -> i32 {
    i32::from(precision.min(6))
}

/// How a type's values are stored (`attstorage`): plain when fixed-length, `main` for
/// numeric, `extended` for the other variable-length types, as PostgreSQL does.
pub fn storage(type_oid: u32) -> &'static str {
    match type_names(type_oid).2 {
        -1 if type_oid == oid::NUMERIC => "m",
        -1 => "x",
        _ => "p",
    }
}

/// How PostgreSQL names a type in `information_schema` (`data_type`) and by its
/// `pg_type.typname` (`udt_name`), and its storage length (`attlen`, -1 when variable);
/// text for a type Eddy's columns never have.
pub fn type_names(type_oid: u32) -> (&'static str, &'static str, i16) {
    if let Some((_, _, typname)) = oid::ARRAYS.iter().find(|(a, _, _)| *a == type_oid) {
        return ("ARRAY", typname, -1);
    }
    known_type(type_oid).unwrap_or(("text", "text", -1))
}

/// [`type_names`] of the types Eddy's columns are described with.
pub fn known_type(type_oid: u32) -> Option<(&'static str, &'static str, i16)> {
    Some(match type_oid {
        oid::BOOL => ("boolean", "bool", 1),
        oid::BYTEA => ("bytea", "bytea", -1),
        oid::INT8 => ("bigint", "int8", 8),
        oid::INT2 => ("smallint", "int2", 2),
        oid::INT4 => ("integer", "int4", 4),
        oid::FLOAT4 => ("real", "float4", 4),
        oid::FLOAT8 => ("double precision", "float8", 8),
        oid::BPCHAR => ("character", "bpchar", -1),
        oid::VARCHAR => ("character varying", "varchar", -1),
        oid::DATE => ("date", "date", 4),
        oid::TIME => ("time without time zone", "time", 8),
        oid::TIMESTAMP => ("timestamp without time zone", "timestamp", 8),
        oid::TIMESTAMPTZ => ("timestamp with time zone", "timestamptz", 8),
        oid::NUMERIC => ("numeric", "numeric", -1),
        oid::TEXT => ("text", "text", -1),
        oid::INTERVAL => ("interval", "interval", 16),
        oid::JSON => ("json", "json", -1),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str) -> Relation {
        Relation {
            oid: 0,
            name: name.into(),
            schema: String::new(),
            schema_oid: 0,
            kind: RelationKind::Table,
            columns: vec![],
            primary_key: None,
            definition: None,
        }
    }

    #[test]
    fn oids_are_stable_unique_and_above_the_system_range() {
        let db = || "default_database".to_string();
        let schemas = [db()];
        let a = Relations::new(
            "default_catalog",
            "default_database",
            &schemas,
            vec![(db(), rel("b")), (db(), rel("a"))],
        );
        let b = Relations::new(
            "default_catalog",
            "default_database",
            &schemas,
            vec![(db(), rel("a")), (db(), rel("b"))],
        );
        let oids: Vec<u32> = a.relations.iter().map(|r| r.oid).collect();
        assert_eq!(oids, b.relations.iter().map(|r| r.oid).collect::<Vec<_>>());
        let mut all = oids.clone();
        all.extend([a.database_oid, a.schema_oid]);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4);
        assert!(all
            .iter()
            .all(|o| *o >= FIRST_USER_OID && *o <= i32::MAX as u32));
    }

    #[test]
    fn typmods_are_postgres_own() {
        // As PostgreSQL 15 stores them: SELECT atttypmod FROM pg_attribute for
        // numeric(10,2), varchar(20), timestamp(3).
        assert_eq!(flink_pg_type(&FlinkType::Decimal(10, 2)), (1700, 655366));
        assert_eq!(flink_pg_type(&FlinkType::Varchar(20)), (1043, 24));
        assert_eq!(flink_pg_type(&FlinkType::Timestamp(3)), (1114, 3));
        assert_eq!(flink_pg_type(&FlinkType::TimestampLtz(9)), (1184, 6));
        assert_eq!(flink_pg_type(&FlinkType::String), (25, -1));
    }
}
