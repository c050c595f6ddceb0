//! Catalog entries: tables (columns, watermark, primary key, connector options) and views.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::FlinkType;

/// A physical column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: FlinkType,
    pub nullable: bool,
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
}

impl CatalogTable {
    /// The table's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.data_type.to_arrow(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The DDL that recreates this table, in Flink's SHOW CREATE TABLE layout.
    pub fn ddl(&self) -> String {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "  `{}` {}{}",
                    c.name,
                    c.data_type,
                    if c.nullable { "" } else { " NOT NULL" }
                )
            })
            .collect();
        if let Some(w) = &self.watermark {
            lines.push(format!(
                "  WATERMARK FOR `{}` AS {}",
                w.column, w.expression
            ));
        }
        if let Some(pk) = &self.primary_key {
            let cols: Vec<String> = pk.iter().map(|c| format!("`{c}`")).collect();
            lines.push(format!("  PRIMARY KEY ({}) NOT ENFORCED", cols.join(", ")));
        }
        let options: Vec<String> = self
            .options
            .iter()
            .map(|(k, v)| {
                format!(
                    "  '{}' = '{}'",
                    k.replace('\'', "''"),
                    v.replace('\'', "''")
                )
            })
            .collect();
        format!(
            "CREATE TABLE `{}` (\n{}\n) WITH (\n{}\n)",
            self.name,
            lines.join(",\n"),
            options.join(",\n")
        )
    }
}

/// A named query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogView {
    pub name: String,
    pub query: String,
}
