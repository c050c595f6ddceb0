//! `information_schema` as PostgreSQL answers it, with PostgreSQL's type names
//! (`character varying`, not Arrow's `Utf8`), computed from [`Relations`]. Replaces
//! DataFusion's own, which names Arrow types.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{MemTable, SchemaProvider, TableProvider};
use datafusion::error::Result;

use super::relations::{oid, type_names, Attribute, Relation, RelationKind, Relations, ROLE_NAME};
use super::rows::{self, row, Row, V};

const TABLES: &[&str] = &[
    "schemata",
    "tables",
    "columns",
    "views",
    "table_constraints",
    "key_column_usage",
];

/// The `information_schema` schema of one statement's context.
#[derive(Debug)]
pub struct InformationSchema {
    pub relations: Arc<Relations>,
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        TABLES.iter().map(|t| t.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = name.to_ascii_lowercase();
        let Some(schema) = schema_of(&name) else {
            return Ok(None);
        };
        let batch = rows::batch(&schema, &rows_of(&name, &self.relations))?;
        Ok(Some(Arc::new(MemTable::try_new(
            schema,
            vec![vec![batch]],
        )?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        TABLES.contains(&name.to_ascii_lowercase().as_str())
    }
}

fn schema_of(table: &str) -> Option<SchemaRef> {
    use DataType::{Int32, Utf8};
    let qualified = |rest: &[(&'static str, DataType)]| {
        let mut columns = vec![
            ("table_catalog", Utf8),
            ("table_schema", Utf8),
            ("table_name", Utf8),
        ];
        columns.extend(rest.iter().cloned());
        columns
    };
    let constraint = |rest: &[(&'static str, DataType)]| {
        let mut columns = vec![
            ("constraint_catalog", Utf8),
            ("constraint_schema", Utf8),
            ("constraint_name", Utf8),
        ];
        columns.extend(qualified(rest));
        columns
    };
    let columns = match table {
        "schemata" => vec![
            ("catalog_name", Utf8),
            ("schema_name", Utf8),
            ("schema_owner", Utf8),
            ("default_character_set_catalog", Utf8),
            ("default_character_set_schema", Utf8),
            ("default_character_set_name", Utf8),
            ("sql_path", Utf8),
        ],
        "tables" => qualified(&[
            ("table_type", Utf8),
            ("self_referencing_column_name", Utf8),
            ("reference_generation", Utf8),
            ("user_defined_type_catalog", Utf8),
            ("user_defined_type_schema", Utf8),
            ("user_defined_type_name", Utf8),
            ("is_insertable_into", Utf8),
            ("is_typed", Utf8),
            ("commit_action", Utf8),
        ]),
        "columns" => qualified(&[
            ("column_name", Utf8),
            ("ordinal_position", Int32),
            ("column_default", Utf8),
            ("is_nullable", Utf8),
            ("data_type", Utf8),
            ("character_maximum_length", Int32),
            ("character_octet_length", Int32),
            ("numeric_precision", Int32),
            ("numeric_precision_radix", Int32),
            ("numeric_scale", Int32),
            ("datetime_precision", Int32),
            ("interval_type", Utf8),
            ("interval_precision", Int32),
            ("udt_catalog", Utf8),
            ("udt_schema", Utf8),
            ("udt_name", Utf8),
            ("dtd_identifier", Utf8),
            ("is_self_referencing", Utf8),
            ("is_identity", Utf8),
            ("is_generated", Utf8),
            ("generation_expression", Utf8),
            ("is_updatable", Utf8),
        ]),
        "views" => qualified(&[
            ("view_definition", Utf8),
            ("check_option", Utf8),
            ("is_updatable", Utf8),
            ("is_insertable_into", Utf8),
            ("is_trigger_updatable", Utf8),
            ("is_trigger_deletable", Utf8),
            ("is_trigger_insertable_into", Utf8),
        ]),
        "table_constraints" => constraint(&[
            ("constraint_type", Utf8),
            ("is_deferrable", Utf8),
            ("initially_deferred", Utf8),
            ("enforced", Utf8),
            ("nulls_distinct", Utf8),
        ]),
        "key_column_usage" => constraint(&[
            ("column_name", Utf8),
            ("ordinal_position", Int32),
            ("position_in_unique_constraint", Int32),
        ]),
        _ => return None,
    };
    Some(rows::schema(&columns))
}

fn rows_of(table: &str, r: &Relations) -> Vec<Row> {
    let at = |rel: &Relation| {
        row![
            "table_catalog" => r.database.as_str(),
            "table_schema" => rel.schema.as_str(),
            "table_name" => rel.name.clone(),
        ]
    };
    // PostgreSQL lists materialized views in neither `tables` nor `views`.
    let listed = || {
        r.relations
            .iter()
            .filter(|x| x.kind != RelationKind::MaterializedView)
    };
    match table {
        "schemata" => ["pg_catalog", "information_schema"]
            .into_iter()
            .chain(r.schemas.iter().map(|(s, _)| s.as_str()))
            .map(|s| {
                row![
                    "catalog_name" => r.database.as_str(),
                    "schema_name" => s,
                    "schema_owner" => ROLE_NAME,
                ]
            })
            .collect(),
        "tables" => listed()
            .map(|t| {
                let mut row = at(t);
                let table = t.kind == RelationKind::Table;
                row.extend(row![
                    "table_type" => if table { "BASE TABLE" } else { "VIEW" },
                    "is_insertable_into" => if table { "YES" } else { "NO" },
                    "is_typed" => "NO",
                ]);
                row
            })
            .collect(),
        "columns" => listed()
            .flat_map(|t| {
                t.columns.iter().enumerate().map(move |(i, c)| {
                    let mut row = at(t);
                    row.extend(column(i, c, t.kind == RelationKind::Table));
                    row.push(("udt_catalog", r.database.as_str().into()));
                    row
                })
            })
            .collect(),
        "views" => listed()
            .filter(|v| v.kind == RelationKind::View)
            .map(|v| {
                let mut row = at(v);
                row.extend(row![
                    "view_definition" => v.definition.clone(),
                    "check_option" => "NONE",
                    "is_updatable" => "NO",
                    "is_insertable_into" => "NO",
                    "is_trigger_updatable" => "NO",
                    "is_trigger_deletable" => "NO",
                    "is_trigger_insertable_into" => "NO",
                ]);
                row
            })
            .collect(),
        "table_constraints" => listed()
            .filter_map(|t| {
                let pk = t.primary_key.as_ref()?;
                let mut row = constraint_of(r, t, &pk.name);
                row.extend(at(t));
                row.extend(row![
                    "constraint_type" => "PRIMARY KEY",
                    "is_deferrable" => "NO",
                    "initially_deferred" => "NO",
                    "enforced" => "YES",
                ]);
                Some(row)
            })
            .collect(),
        "key_column_usage" => listed()
            .flat_map(|t| {
                t.primary_key.iter().flat_map(move |pk| {
                    pk.columns.iter().enumerate().filter_map(move |(i, n)| {
                        let c = t.column(*n)?;
                        let mut row = constraint_of(r, t, &pk.name);
                        row.extend(at(t));
                        row.extend(row![
                            "column_name" => c.name.as_str(),
                            "ordinal_position" => i as i32 + 1,
                        ]);
                        Some(row)
                    })
                })
            })
            .collect(),
        _ => vec![],
    }
}

fn constraint_of(r: &Relations, rel: &Relation, name: &str) -> Row {
    row![
        "constraint_catalog" => r.database.as_str(),
        "constraint_schema" => rel.schema.as_str(),
        "constraint_name" => name.to_string(),
    ]
}

/// A column's row without its table, as PostgreSQL fills the type columns.
fn column(index: usize, c: &Attribute, updatable: bool) -> Row {
    let (data_type, udt_name, _) = type_names(c.type_oid);
    let typmod = c.typmod;
    let (char_length, precision, radix, scale, datetime) = match c.type_oid {
        oid::VARCHAR | oid::BPCHAR if typmod >= 4 => (Some(typmod - 4), None, None, None, None),
        oid::INT2 => (None, Some(16), Some(2), Some(0), None),
        oid::INT4 => (None, Some(32), Some(2), Some(0), None),
        oid::INT8 => (None, Some(64), Some(2), Some(0), None),
        oid::FLOAT4 => (None, Some(24), Some(2), None, None),
        oid::FLOAT8 => (None, Some(53), Some(2), None, None),
        oid::NUMERIC if typmod >= 4 => (
            None,
            Some(((typmod - 4) >> 16) & 0xffff),
            Some(10),
            Some((typmod - 4) & 0xffff),
            None,
        ),
        oid::NUMERIC => (None, None, Some(10), None, None),
        oid::DATE => (None, None, None, None, Some(0)),
        oid::TIME | oid::TIMESTAMP | oid::TIMESTAMPTZ => (
            None,
            None,
            None,
            None,
            Some(if typmod >= 0 { typmod } else { 6 }),
        ),
        _ => (None, None, None, None, None),
    };
    // PostgreSQL's octet length for character types: 4 bytes per character, capped.
    let octets = match c.type_oid {
        oid::VARCHAR | oid::BPCHAR | oid::TEXT => {
            Some(char_length.map_or(1_073_741_824, |n| (n * 4).min(1_073_741_824)))
        }
        _ => None,
    };
    row![
        "column_name" => c.name.as_str(),
        "ordinal_position" => index as i32 + 1,
        "column_default" => V::Null,
        "is_nullable" => if c.not_null { "NO" } else { "YES" },
        "data_type" => data_type,
        "character_maximum_length" => char_length,
        "character_octet_length" => octets,
        "numeric_precision" => precision,
        "numeric_precision_radix" => radix,
        "numeric_scale" => scale,
        "datetime_precision" => datetime,
        "udt_schema" => "pg_catalog",
        "udt_name" => udt_name,
        "dtd_identifier" => (index + 1).to_string(),
        "is_self_referencing" => "NO",
        "is_identity" => "NO",
        "is_generated" => if c.generated.is_some() { "ALWAYS" } else { "NEVER" },
        "generation_expression" => c.generated.clone(),
        "is_updatable" => if updatable { "YES" } else { "NO" },
    ]
}
