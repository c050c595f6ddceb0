//! [`TableFactory`]: what a connector declares (Flink's `DynamicTableFactory`:
//! `factoryIdentifier`, `requiredOptions`, `optionalOptions`) and how it builds a source
//! or sink from a table's [`ConnectorSpec`].

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use eddy_runtime::connector::{Sink, Source};
use eddy_runtime::jobgraph::ConnectorSpec;

use crate::error::{ConnectorError, Result};
use crate::options::{check_options, OptionKey};

/// A connector: the value of `'connector' = '...'` and everything behind it.
///
/// Call order: the catalog calls [`validate`](Self::validate) at `CREATE TABLE` and the
/// planner calls [`is_bounded`](Self::is_bounded); a TaskManager calls
/// [`create_source`](Self::create_source) / [`create_sink`](Self::create_sink) when it
/// deploys a subtask. Only the identifier and the option lists are required.
pub trait TableFactory: Send + Sync {
    /// The `connector` option value (`filesystem`, `datagen`, ...).
    fn identifier(&self) -> &'static str;

    /// Options that must be present.
    fn required_options(&self) -> Vec<OptionKey>;

    /// Options that may be present; a key may be a pattern such as `fields.#.kind`,
    /// where `#` is a column of the table.
    fn optional_options(&self) -> Vec<OptionKey>;

    /// Checks a table definition: keys against the declared options (the default), and,
    /// in factories that extend it, values and column types.
    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.check_keys(table, schema, options)
    }

    /// Checks a table definition with its `PRIMARY KEY` columns (empty without one). Only
    /// connectors the key means something to (`upsert-kafka`) override this; the rest
    /// check what `validate` checks.
    fn validate_with_key(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
        _primary_key: &[String],
    ) -> Result<()> {
        self.validate(table, schema, options)
    }

    /// Checks the WITH keys against the declared options; `validate` overrides call it
    /// before checking values.
    fn check_keys(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        check_options(
            self.identifier(),
            table,
            schema,
            options,
            &self.required_options(),
            &self.optional_options(),
        )
    }

    /// The metadata columns the connector offers (`offset`, `timestamp`, ...); none by
    /// default.
    fn metadata(&self) -> Vec<crate::metadata::MetadataKey> {
        Vec::new()
    }

    /// Whether the connector is Eddy's own plumbing (`collect`, `values`), which no
    /// `CREATE TABLE` may name.
    fn is_internal(&self) -> bool {
        false
    }

    /// Whether a source with these options ends by itself.
    fn is_bounded(&self, _options: &BTreeMap<String, String>) -> bool {
        false
    }

    /// The source reading the table.
    fn create_source(&self, _spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        Err(ConnectorError::NotASource {
            connector: self.identifier().to_string(),
        })
    }

    /// The sink writing the table.
    fn create_sink(&self, _spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        Err(ConnectorError::NotASink {
            connector: self.identifier().to_string(),
        })
    }
}
