//! Serializable descriptions of operators; `operators::build` turns each into a running
//! operator on a TaskManager.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion_proto::protobuf;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};

/// An Arrow schema in datafusion-proto's encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedSchema(pub Vec<u8>);

impl SerializedSchema {
    /// Encodes a schema.
    pub fn encode(schema: &Schema) -> Result<Self> {
        let proto = protobuf::Schema::try_from(schema)
            .map_err(|e| RuntimeError::Internal(format!("cannot encode schema: {e}")))?;
        Ok(Self(proto.encode_to_vec()))
    }

    /// Decodes back into an Arrow schema.
    pub fn decode(&self) -> Result<SchemaRef> {
        let proto = protobuf::Schema::decode(self.0.as_slice())
            .map_err(|e| RuntimeError::Internal(format!("cannot decode schema: {e}")))?;
        let schema = Schema::try_from(&proto)
            .map_err(|e| RuntimeError::Internal(format!("cannot decode schema: {e}")))?;
        Ok(Arc::new(schema))
    }
}

/// A DataFusion physical expression in datafusion-proto's encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializedExpr(pub Vec<u8>);

/// A table's connector: its physical schema and WITH options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorSpec {
    /// The table the connector belongs to (for messages).
    pub table: String,
    pub schema: SerializedSchema,
    pub options: BTreeMap<String, String>,
}

impl ConnectorSpec {
    /// The `connector` option.
    pub fn connector(&self) -> &str {
        self.options
            .get("connector")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Reads a table's source and emits its rows, optionally only some columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    pub connector: ConnectorSpec,
    /// Indices of the table's columns to emit; all when `None`.
    pub projection: Option<Vec<usize>>,
}

/// Filter then project (Flink's Calc), over expressions bound to `input_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalcSpec {
    pub input_schema: SerializedSchema,
    pub output_schema: SerializedSchema,
    pub filter: Option<SerializedExpr>,
    pub projection: Vec<SerializedExpr>,
    /// How the plan printed the expressions, for EXPLAIN and logs.
    pub description: String,
}

/// Writes rows into a table's sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkSpec {
    pub connector: ConnectorSpec,
}

/// One operator of a chain. Adding an operator: a variant here and its arm in
/// `operators::build`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperatorSpec {
    Source(SourceSpec),
    Calc(CalcSpec),
    Sink(SinkSpec),
}

impl OperatorSpec {
    /// A short name for EXPLAIN and SHOW JOBS.
    pub fn describe(&self) -> String {
        match self {
            OperatorSpec::Source(s) => {
                format!("Source: {}[{}]", s.connector.table, s.connector.connector())
            }
            OperatorSpec::Calc(c) => format!("Calc({})", c.description),
            OperatorSpec::Sink(s) => {
                format!("Sink: {}[{}]", s.connector.table, s.connector.connector())
            }
        }
    }
}
