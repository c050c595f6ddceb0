//! Catalog entries: tables (columns, watermark, primary key, connector options) and views.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::FlinkType;

/// A column: physical, or computed (`name AS expression`) when `expression` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// For a computed column, the type DataFusion infers for its expression.
    pub data_type: FlinkType,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// For a metadata column (`METADATA [FROM 'key'] [VIRTUAL]`), what it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataColumn>,
    /// `COMMENT '...'` after the column's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `METADATA FROM 'key' [VIRTUAL]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataColumn {
    pub key: String,
    /// Only read: an INSERT does not write it.
    pub is_virtual: bool,
}

impl MetadataColumn {
    /// The column's declaration after its type, as Flink prints it.
    pub fn ddl(&self) -> String {
        format!(
            "METADATA FROM '{}'{}",
            self.key.replace('\'', "''"),
            if self.is_virtual { " VIRTUAL" } else { "" }
        )
    }
}

impl Column {
    /// Whether the column is stored by the connector (not computed).
    pub fn is_physical(&self) -> bool {
        self.expression.is_none()
    }
}

/// `WATERMARK FOR column AS expression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkSpec {
    pub column: String,
    pub expression: String,
}

/// A table backed by a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogTable {
    pub name: String,
    pub columns: Vec<Column>,
    pub watermark: Option<WatermarkSpec>,
    pub primary_key: Option<Vec<String>>,
    pub options: BTreeMap<String, String>,
    /// `CONSTRAINT name PRIMARY KEY ...`: the key's name, when the DDL gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key_name: Option<String>,
    /// `COMMENT '...'` after the column list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `PARTITIONED BY (columns)`: the filesystem connector writes one `k=v/` directory
    /// level per column, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<String>,
}

impl CatalogTable {
    /// Checks `PARTITIONED BY`: each key a physical column of the table, named once.
    pub fn check_partition_keys(&self) -> crate::error::Result<()> {
        for (i, key) in self.partition_keys.iter().enumerate() {
            let Some(column) = self.columns.iter().find(|c| &c.name == key) else {
                let names: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| format!("'{}'", c.name))
                    .collect();
                return Err(crate::error::SqlError::UndefinedColumnText(format!(
                    "Partition column '{key}' not defined in the table schema. Available columns: [{}]",
                    names.join(", ")
                )));
            };
            if !column.is_physical() || column.metadata.is_some() {
                return Err(crate::error::SqlError::InvalidDefinition(format!(
                    "Partition column '{key}' of table '{}' must be a physical column, not a computed or metadata one",
                    self.name
                )));
            }
            if self.partition_keys[..i].contains(key) {
                return Err(crate::error::SqlError::InvalidDefinition(format!(
                    "Partition column '{key}' is listed twice in PARTITIONED BY"
                )));
            }
        }
        // The partition commit's timestamp pattern names partition columns.
        if self.options.get("connector").map(String::as_str) == Some("filesystem")
            && !self.partition_keys.is_empty()
        {
            eddy_connectors::filesystem::partition_commit::CommitPolicy::parse(
                &self.options,
                Some(&self.partition_keys),
            )?;
        }
        Ok(())
    }

    /// The Arrow schema of the physical columns: what the connector reads and writes.
    /// Metadata columns are fields marked with their key (`eddy_connectors::metadata`).
    pub fn physical_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .filter(|c| c.is_physical())
                .map(|c| {
                    let field = Field::new(&c.name, c.data_type.to_arrow(), c.nullable);
                    match &c.metadata {
                        None => field,
                        Some(m) => field.with_metadata(
                            [
                                (
                                    eddy_connectors::metadata::METADATA_KEY.to_string(),
                                    m.key.clone(),
                                ),
                                (
                                    eddy_connectors::metadata::VIRTUAL.to_string(),
                                    m.is_virtual.to_string(),
                                ),
                            ]
                            .into(),
                        ),
                    }
                })
                .collect::<Vec<_>>(),
        ))
    }

    /// The physical columns an INSERT writes: all but `VIRTUAL` metadata columns.
    pub fn writable_schema(&self) -> SchemaRef {
        let physical = self.physical_schema();
        Arc::new(Schema::new(
            physical
                .fields()
                .iter()
                .filter(|f| !eddy_connectors::metadata::is_virtual(f))
                .cloned()
                .collect::<Vec<_>>(),
        ))
    }

    /// `(name, expression)` of each computed column, in declaration order.
    pub fn computed_columns(&self) -> Vec<(String, String)> {
        self.columns
            .iter()
            .filter_map(|c| c.expression.clone().map(|e| (c.name.clone(), e)))
            .collect()
    }

    /// The DDL that recreates this table, in Flink's SHOW CREATE TABLE layout.
    pub fn ddl(&self) -> String {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|c| match &c.expression {
                Some(e) => format!("  `{}` AS {}", c.name, super::flink_text(e)),
                None => format!(
                    "  `{}` {}{}{}",
                    c.name,
                    c.data_type,
                    if c.nullable { "" } else { " NOT NULL" },
                    c.metadata
                        .as_ref()
                        .map(|m| format!(" {}", m.ddl()))
                        .unwrap_or_default()
                ),
            })
            .zip(&self.columns)
            .map(|(line, c)| match &c.comment {
                Some(comment) => format!("{line} COMMENT '{}'", comment.replace('\'', "''")),
                None => line,
            })
            .collect();
        if let Some(w) = &self.watermark {
            lines.push(format!(
                "  WATERMARK FOR `{}` AS {}",
                w.column,
                super::flink_text(&w.expression)
            ));
        }
        if let Some(pk) = &self.primary_key {
            let cols: Vec<String> = pk.iter().map(|c| format!("`{c}`")).collect();
            let name = self
                .primary_key_name
                .as_ref()
                .map(|n| format!("CONSTRAINT `{n}` "))
                .unwrap_or_default();
            lines.push(format!(
                "  {name}PRIMARY KEY ({}) NOT ENFORCED",
                cols.join(", ")
            ));
        }
        let mut comment = self
            .comment
            .as_ref()
            .map(|c| format!("COMMENT '{}'\n", c.replace('\'', "''")))
            .unwrap_or_default();
        comment.push_str(&partitioned_by(&self.partition_keys));
        format!(
            "CREATE TABLE `{}` (\n{}\n) {comment}WITH (\n{}\n)",
            self.name,
            lines.join(",\n"),
            option_lines(&self.options)
        )
    }
}

/// `PARTITIONED BY (`a`, `b`)` and a line break, or nothing without partitions.
fn partitioned_by(keys: &[String]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    format!("PARTITIONED BY ({})\n", keys.join(", "))
}

/// WITH options as SHOW CREATE writes them, one `'key' = 'value'` per line.
fn option_lines(options: &BTreeMap<String, String>) -> String {
    let lines: Vec<String> = options
        .iter()
        .map(|(k, v)| {
            format!(
                "  '{}' = '{}'",
                k.replace('\'', "''"),
                v.replace('\'', "''")
            )
        })
        .collect();
    lines.join(",\n")
}

/// A named query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogView {
    pub name: String,
    pub query: String,
    /// `CREATE VIEW v COMMENT '...' AS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `CREATE VIEW v (a, b) AS`: names for the query's columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

impl CatalogView {
    /// The query that plans the view: its own, with the column list's names when it has
    /// one.
    pub fn planned_query(&self) -> String {
        view_query(&self.query, self.columns.as_deref())
    }
}

/// `query` with its columns renamed to `columns`, as `CREATE VIEW v (a, b) AS query`.
pub fn view_query(query: &str, columns: Option<&[String]>) -> String {
    let Some(columns) = columns else {
        return query.to_string();
    };
    let quoted: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    format!("SELECT * FROM ({query}) AS __view({})", quoted.join(", "))
}

/// A materialized view: the table its contents are read through (connector
/// `materialized`), its query, and the job keeping it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogMaterializedView {
    pub table: CatalogTable,
    pub query: String,
    /// Declared as Flink's `CREATE MATERIALIZED TABLE` rather than a view.
    pub flink_table: bool,
    /// FRESHNESS, as given: the job's checkpoint interval.
    pub freshness_ms: Option<u64>,
    /// The job keeping the contents, and which one it is (see the `materialized`
    /// connector's generations).
    pub job_id: String,
    pub generation: u32,
    /// The jobs that kept it before, newest last: a restart restores the newest of them
    /// (or of `job_id`) that completed a checkpoint.
    #[serde(default)]
    pub previous_jobs: Vec<String>,
    /// Where that job's checkpoints go, so a restart can restore the newest.
    pub checkpoints_dir: String,
    /// The session's settings when it was created: its job runs with them again after a
    /// restart.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl CatalogMaterializedView {
    /// The statement that recreates it.
    pub fn ddl(&self) -> String {
        if !self.flink_table {
            return format!(
                "CREATE MATERIALIZED VIEW `{}` AS\n{}",
                self.table.name, self.query
            );
        }
        let mut out = format!("CREATE MATERIALIZED TABLE `{}`\n", self.table.name);
        out.push_str(&partitioned_by(&self.table.partition_keys));
        // Flink shows the connector's options; Eddy's own store has none to show.
        if self.table.options.get("connector").map(String::as_str) != Some("materialized") {
            out.push_str(&format!(
                "WITH (\n{}\n)\n",
                option_lines(&self.table.options)
            ));
        }
        if let Some(ms) = self.freshness_ms {
            out.push_str(&format!("FRESHNESS = INTERVAL '{}' SECOND\n", ms / 1000));
        }
        out.push_str(&format!("REFRESH_MODE = CONTINUOUS\nAS {}", self.query));
        out
    }
}
