//! The rows of the `pg_catalog` tables that describe Eddy's own objects, computed from
//! [`Relations`]. Their columns are PostgreSQL 15's, as the `datafusion-pg-catalog` crate
//! declares them; rows name the columns Eddy knows (see [`super::rows`]).

use super::relations::{
    attnum, storage, type_names, Relation, RelationKind, Relations, INFORMATION_SCHEMA_NAMESPACE,
    PG_CATALOG_NAMESPACE, ROLE_NAME, SUPERUSER,
};
use super::rows::{row, Row, V};

/// PostgreSQL's access methods for tables and for primary-key indexes.
const HEAP: u32 = 2;
const BTREE: u32 = 403;
/// `pg_database.encoding` for UTF8.
const UTF8: i32 = 6;

/// The tables computed here; every other `pg_catalog` table comes from the crate.
pub const DYNAMIC: &[&str] = &[
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_constraint",
    "pg_index",
    "pg_database",
    "pg_roles",
    "pg_user",
    "pg_tables",
    "pg_views",
    "pg_matviews",
    "pg_settings",
    "pg_stat_activity",
    "pg_proc",
    "pg_language",
];

/// The rows of a computed table, or `None` for a table the crate answers alone.
pub fn rows(table: &str, r: &Relations) -> Option<Vec<Row>> {
    Some(match table {
        "pg_namespace" => namespaces(r),
        "pg_class" => classes(r),
        "pg_attribute" => attributes(r),
        "pg_attrdef" => attribute_defaults(r),
        "pg_constraint" => constraints(r),
        "pg_index" => indexes(r),
        "pg_proc" => super::procs::proc_rows(r),
        "pg_language" => super::procs::language_rows(r),
        // Flink's catalogs; a client connecting to one starts in it.
        "pg_database" => r
            .databases
            .iter()
            .map(|(name, oid)| {
                row![
                    "oid" => *oid,
                    "datname" => name.as_str(),
                    "datdba" => SUPERUSER,
                    "encoding" => UTF8,
                    "datlocprovider" => "c",
                    "datistemplate" => false,
                    "datallowconn" => true,
                    "datconnlimit" => -1,
                    "datcollate" => "C",
                    "datctype" => "C",
                ]
            })
            .collect(),
        // pg_user is the roles that can log in.
        "pg_roles" | "pg_user" => r
            .roles
            .iter()
            .filter(|role| table == "pg_roles" || role.login)
            .map(|role| {
                row![
                    "oid" => role.oid,
                    "rolname" => role.name.as_str(),
                    "rolsuper" => role.superuser,
                    "rolinherit" => true,
                    "rolcreaterole" => role.superuser,
                    "rolcreatedb" => role.superuser,
                    "rolcanlogin" => role.login,
                    "rolreplication" => false,
                    "rolconnlimit" => -1,
                    "rolpassword" => "********",
                    "rolbypassrls" => role.superuser,
                    "usename" => role.name.as_str(),
                    "usesysid" => role.oid,
                    "usecreatedb" => role.superuser,
                    "usesuper" => role.superuser,
                    "userepl" => false,
                    "usebypassrls" => role.superuser,
                    "passwd" => "********",
                ]
            })
            .collect(),
        "pg_tables" => of_kind(r, RelationKind::Table)
            .map(|t| {
                row![
                    "schemaname" => t.schema.as_str(),
                    "tablename" => t.name.as_str(),
                    "tableowner" => ROLE_NAME,
                    "hasindexes" => t.primary_key.is_some(),
                    "hasrules" => false,
                    "hastriggers" => false,
                    "rowsecurity" => false,
                ]
            })
            .collect(),
        "pg_views" => of_kind(r, RelationKind::View)
            .map(|v| {
                row![
                    "schemaname" => v.schema.as_str(),
                    "viewname" => v.name.as_str(),
                    "viewowner" => ROLE_NAME,
                    "definition" => v.definition.clone(),
                ]
            })
            .collect(),
        "pg_matviews" => of_kind(r, RelationKind::MaterializedView)
            .map(|m| {
                row![
                    "schemaname" => m.schema.as_str(),
                    "matviewname" => m.name.as_str(),
                    "matviewowner" => ROLE_NAME,
                    "hasindexes" => m.primary_key.is_some(),
                    "ispopulated" => true,
                    "definition" => m.definition.clone(),
                ]
            })
            .collect(),
        "pg_settings" => settings(r),
        "pg_stat_activity" => activity(r),
        _ => return None,
    })
}

/// The PostgreSQL settings as the session has them (a value it `SET` has the source
/// `session`, as in PostgreSQL), and the compile-time limits drivers read (pgjdbc asks
/// `max_index_keys` before listing foreign keys).
fn settings(r: &Relations) -> Vec<Row> {
    let limits = [("max_index_keys", "32"), ("max_function_args", "100")];
    let defaults: std::collections::HashMap<_, _> = crate::session::pg_defaults().collect();
    r.settings
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str(), "user"))
        .chain(limits.into_iter().map(|(n, v)| (n, v, "internal")))
        .map(|(name, value, context)| {
            let default = defaults.get(name).copied().unwrap_or(value);
            row![
                "name" => name,
                "setting" => value,
                "context" => context,
                "vartype" => "string",
                "source" => if value == default { "default" } else { "session" },
                "boot_val" => default,
                "reset_val" => default,
                "pending_restart" => false,
            ]
        })
        .collect()
}

/// The gateway's sessions, as PostgreSQL's client backends; times in UTC.
fn activity(r: &Relations) -> Vec<Row> {
    let time = |t: std::time::SystemTime| {
        chrono::DateTime::<chrono::Utc>::from(t)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    };
    let backends = r
        .backends
        .as_ref()
        .map(|b| b.0.backends())
        .unwrap_or_default();
    backends
        .iter()
        .map(|b| {
            let role = r.roles.iter().find(|role| role.name == b.user);
            // As PostgreSQL: to anyone but a superuser, another user's session shows only
            // who it is.
            if !r.sees_all_sessions && b.user != r.user {
                return row![
                    "datid" => r.database_oid,
                    "datname" => r.database.as_str(),
                    "pid" => b.pid,
                    "usesysid" => role.map(|role| role.oid),
                    "usename" => b.user.as_str(),
                    "application_name" => b.application_name.as_str(),
                    "query" => "<insufficient privilege>",
                    "backend_type" => "client backend",
                ];
            }
            row![
                "datid" => r.database_oid,
                "datname" => r.database.as_str(),
                "pid" => b.pid,
                "usesysid" => role.map(|role| role.oid),
                "usename" => b.user.as_str(),
                "application_name" => b.application_name.as_str(),
                "client_addr" => b.client.ip().to_string(),
                "client_port" => i32::from(b.client.port()),
                "backend_start" => time(b.backend_start),
                "xact_start" => b.xact_start.map(time),
                "query_start" => b.query_start.map(time),
                "state_change" => time(b.state_change),
                "state" => b.state,
                "query" => b.query.as_str(),
                "backend_type" => "client backend",
            ]
        })
        .collect()
}

fn of_kind(r: &Relations, kind: RelationKind) -> impl Iterator<Item = &Relation> {
    r.relations.iter().filter(move |x| x.kind == kind)
}

fn namespaces(r: &Relations) -> Vec<Row> {
    [
        (PG_CATALOG_NAMESPACE, "pg_catalog"),
        (INFORMATION_SCHEMA_NAMESPACE, "information_schema"),
    ]
    .into_iter()
    .chain(r.schemas.iter().map(|(s, oid)| (*oid, s.as_str())))
    .map(|(oid, name)| row!["oid" => oid, "nspname" => name, "nspowner" => SUPERUSER])
    .collect()
}

fn classes(r: &Relations) -> Vec<Row> {
    let mut rows = Vec::new();
    for rel in &r.relations {
        let is_view = rel.kind == RelationKind::View;
        rows.push(row![
            "oid" => rel.oid,
            "relname" => rel.name.as_str(),
            "relnamespace" => rel.schema_oid,
            "relowner" => SUPERUSER,
            "relam" => if is_view { 0 } else { HEAP },
            "relkind" => rel.kind.relkind(),
            "relnatts" => rel.columns.len() as i16,
            "relhasindex" => rel.primary_key.is_some(),
            "relpersistence" => "p",
            "relispopulated" => true,
            "relreplident" => if is_view { "n" } else { "d" },
            "reltuples" => V::Float(-1.0),
            "relpartbound" => V::Null,
        ]);
        if let Some(pk) = &rel.primary_key {
            rows.push(row![
                "oid" => pk.index_oid,
                "relname" => pk.name.as_str(),
                "relnamespace" => rel.schema_oid,
                "relowner" => SUPERUSER,
                "relam" => BTREE,
                "relkind" => "i",
                "relnatts" => pk.columns.len() as i16,
                "relpersistence" => "p",
                "relispopulated" => true,
                "relreplident" => "n",
                "reltuples" => V::Float(-1.0),
                "relpartbound" => V::Null,
            ]);
        }
    }
    rows
}

fn attributes(r: &Relations) -> Vec<Row> {
    let mut rows = Vec::new();
    for rel in &r.relations {
        for (i, c) in rel.columns.iter().enumerate() {
            rows.push(attribute(rel.oid, attnum(i), c));
        }
        if let Some(pk) = &rel.primary_key {
            for (i, n) in pk.columns.iter().enumerate() {
                if let Some(c) = rel.column(*n) {
                    // An index's columns carry no constraint or default of their own.
                    let key = super::relations::Attribute {
                        not_null: false,
                        generated: None,
                        ..c.clone()
                    };
                    rows.push(attribute(pk.index_oid, attnum(i), &key));
                }
            }
        }
    }
    rows
}

fn attribute(relation: u32, number: i16, c: &super::relations::Attribute) -> Row {
    row![
        "attrelid" => relation,
        "attname" => c.name.as_str(),
        "atttypid" => c.type_oid,
        "attlen" => type_names(c.type_oid).2,
        "attstorage" => storage(c.type_oid),
        "attnum" => number,
        "atttypmod" => c.typmod,
        "attnotnull" => c.not_null,
        "atthasdef" => c.generated.is_some(),
        "attgenerated" => if c.generated.is_some() { "s" } else { "" },
        "attidentity" => "",
        "attisdropped" => false,
        "attislocal" => true,
        "attstattarget" => -1,
        // DBeaver reads an array column's element type by its dimensions.
        "attndims" => i32::from(type_names(c.type_oid).0 == "ARRAY"),
        // PostgreSQL's "default" collation for the collatable types, as it stores them.
        "attcollation" => match type_names(c.type_oid).1 {
            "text" | "varchar" | "bpchar" | "_text" => 100u32,
            _ => 0u32,
        },
    ]
}

fn attribute_defaults(r: &Relations) -> Vec<Row> {
    let mut rows = Vec::new();
    for rel in &r.relations {
        for (i, c) in rel.columns.iter().enumerate() {
            if let Some(expression) = &c.generated {
                rows.push(row![
                    "adrelid" => rel.oid,
                    "adnum" => attnum(i),
                    "adbin" => expression.as_str(),
                ]);
            }
        }
    }
    rows
}

fn constraints(r: &Relations) -> Vec<Row> {
    r.relations
        .iter()
        .filter_map(|rel| {
            let pk = rel.primary_key.as_ref()?;
            Some(row![
                "oid" => pk.constraint_oid,
                "conname" => pk.name.as_str(),
                "connamespace" => rel.schema_oid,
                "contype" => "p",
                "condeferrable" => false,
                "condeferred" => false,
                "convalidated" => true,
                "conrelid" => rel.oid,
                "contypid" => 0u32,
                "conindid" => pk.index_oid,
                "conparentid" => 0u32,
                "confrelid" => 0u32,
                "confupdtype" => " ",
                "confdeltype" => " ",
                "confmatchtype" => " ",
                "conislocal" => true,
                "coninhcount" => 0,
                "connoinherit" => true,
                "conkey" => V::Ints(pk.columns.iter().map(|c| i64::from(*c)).collect()),
                "confkey" => V::Null,
                "conbin" => V::Null,
            ])
        })
        .collect()
}

fn indexes(r: &Relations) -> Vec<Row> {
    r.relations
        .iter()
        .filter_map(|rel| {
            let pk = rel.primary_key.as_ref()?;
            let n = pk.columns.len() as i16;
            Some(row![
                "indexrelid" => pk.index_oid,
                "indrelid" => rel.oid,
                "indnatts" => n,
                "indnkeyatts" => n,
                "indisunique" => true,
                "indnullsnotdistinct" => false,
                "indisprimary" => true,
                "indisexclusion" => false,
                "indimmediate" => true,
                "indisclustered" => false,
                "indisvalid" => true,
                "indcheckxmin" => false,
                "indisready" => true,
                "indislive" => true,
                "indisreplident" => false,
                "indkey" => V::Ints(pk.columns.iter().map(|c| i64::from(*c)).collect()),
                "indcollation" => V::Ints(vec![0; pk.columns.len()]),
                "indclass" => V::Ints(vec![0; pk.columns.len()]),
                "indoption" => V::Ints(vec![0; pk.columns.len()]),
                "indexprs" => V::Null,
                "indpred" => V::Null,
            ])
        })
        .collect()
}
