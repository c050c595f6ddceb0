//! Metadata columns (`offset BIGINT METADATA`, `ts TIMESTAMP_LTZ(3) METADATA FROM
//! 'timestamp' VIRTUAL`): values a connector knows about a record besides its contents, as
//! Flink's `SupportsReadingMetadata` / `SupportsWritingMetadata`. In a connector's schema
//! they are fields marked with the metadata key (and whether the column is only read);
//! formats never see them.

use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::error::{ConnectorError, Result};
use crate::types::sql_type_name;

/// Field metadata entry holding a metadata column's key.
pub const METADATA_KEY: &str = "eddy.metadata.key";
/// Field metadata entry, `true` for a `VIRTUAL` metadata column (read only).
pub const VIRTUAL: &str = "eddy.metadata.virtual";

/// A metadata key a connector reads (and maybe writes), with its type.
#[derive(Debug, Clone)]
pub struct MetadataKey {
    pub key: &'static str,
    pub data_type: DataType,
    pub writable: bool,
}

/// The metadata key of a field, when it is a metadata column.
pub fn key_of(field: &Field) -> Option<&str> {
    field.metadata().get(METADATA_KEY).map(String::as_str)
}

/// Whether a field is a `VIRTUAL` metadata column.
pub fn is_virtual(field: &Field) -> bool {
    field.metadata().get(VIRTUAL).is_some_and(|v| v == "true")
}

/// Checks a table's metadata columns against what its connector offers: the key must be
/// one it has, and the declared type one the key's type casts to, as Flink requires.
pub fn check(connector: &str, table: &str, schema: &Schema, offered: &[MetadataKey]) -> Result<()> {
    for field in schema.fields() {
        let Some(key) = key_of(field) else {
            continue;
        };
        let keys: Vec<&str> = offered.iter().map(|m| m.key).collect();
        let Some(m) = offered.iter().find(|m| m.key == key) else {
            return Err(ConnectorError::InvalidMetadata(format!(
                "invalid metadata key '{key}' in column '{}' of table '{table}': connector '{connector}' {}",
                field.name(),
                match keys.is_empty() {
                    true => "has no metadata columns".to_string(),
                    false => format!("supports the metadata keys {}", keys.join(", ")),
                }
            )));
        };
        if family(&m.data_type) != family(field.data_type())
            || !datafusion::arrow::compute::can_cast_types(&m.data_type, field.data_type())
        {
            return Err(ConnectorError::InvalidMetadata(format!(
                "metadata column '{}' of table '{table}' is {}, but metadata '{key}' of connector '{connector}' is {}, which does not cast to it",
                field.name(),
                sql_type_name(field.data_type()),
                sql_type_name(&m.data_type)
            )));
        }
    }
    Ok(())
}

/// Types a metadata value may be declared as, by kind: a number as any number, a string
/// as a string, a time as a time (Arrow would also cast, say, a number into a list).
fn family(t: &DataType) -> u8 {
    match t {
        t if t.is_numeric() => 0,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 1,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => 2,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => 3,
        DataType::Map(_, _) => 4,
        _ => 5,
    }
}

/// The schema without metadata columns: what formats read and write.
pub fn without_metadata(schema: &Schema) -> Vec<usize> {
    (0..schema.fields().len())
        .filter(|&i| key_of(schema.field(i)).is_none())
        .collect()
}
