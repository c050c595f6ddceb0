//! Every connector and format, one line each. Adding a connector: its folder plus one line
//! in [`ConnectorRegistry::new`]; adding a format: its file plus one line in [`formats`].
//! The registry is what the catalog validates `CREATE TABLE` with and what a TaskManager
//! resolves [`ConnectorSpec`]s through ([`ConnectorResolver`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use eddy_runtime::connector::{ConnectorResolver, Sink, Source};
use eddy_runtime::jobgraph::ConnectorSpec;

use crate::blackhole::BlackHoleTableFactory;
use crate::collect::CollectTableFactory;
use crate::datagen::DataGenTableFactory;
use crate::error::{ConnectorError, Result};
use crate::factory::TableFactory;
use crate::filesystem::FileSystemTableFactory;
use crate::format::{
    AvroFormatFactory, CanalJsonFormatFactory, CsvFormatFactory, DebeziumJsonFormatFactory,
    FormatFactory, JsonFormatFactory, RawFormatFactory,
};
use crate::kafka::{KafkaTableFactory, UpsertKafkaTableFactory};
use crate::materialized::MaterializedTableFactory;
use crate::nexmark::NexmarkTableFactory;
use crate::options::CONNECTOR;
use crate::print::PrintTableFactory;
use crate::values::ValuesTableFactory;

/// Every format, by its `format` option value.
pub fn formats() -> Vec<Arc<dyn FormatFactory>> {
    vec![
        Arc::new(CsvFormatFactory),
        Arc::new(JsonFormatFactory),
        Arc::new(DebeziumJsonFormatFactory),
        Arc::new(CanalJsonFormatFactory),
        Arc::new(RawFormatFactory),
        Arc::new(AvroFormatFactory),
    ]
}

/// The format named by a `format` option value.
pub fn format_factory(name: &str) -> Result<Arc<dyn FormatFactory>> {
    let all = formats();
    let names: Vec<&str> = all.iter().map(|f| f.identifier()).collect();
    let reason = format!("supported formats: {}", names.join(", "));
    all.into_iter()
        .find(|f| f.identifier() == name)
        .ok_or_else(|| ConnectorError::invalid("format", name, reason))
}

/// The table factories, by connector name.
pub struct ConnectorRegistry {
    factories: BTreeMap<&'static str, Arc<dyn TableFactory>>,
}

impl Default for ConnectorRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectorRegistry {
    /// A registry of every connector.
    pub fn new() -> Self {
        Self::from_factories(vec![
            Arc::new(FileSystemTableFactory),
            Arc::new(KafkaTableFactory),
            Arc::new(UpsertKafkaTableFactory),
            Arc::new(DataGenTableFactory),
            Arc::new(NexmarkTableFactory),
            Arc::new(PrintTableFactory),
            Arc::new(BlackHoleTableFactory),
            Arc::new(CollectTableFactory),
            Arc::new(ValuesTableFactory),
            Arc::new(MaterializedTableFactory),
        ])
    }

    /// A registry of the given factories (tests add their own).
    pub fn from_factories(factories: Vec<Arc<dyn TableFactory>>) -> Self {
        Self {
            factories: factories.into_iter().map(|f| (f.identifier(), f)).collect(),
        }
    }

    /// The connector names, sorted.
    pub fn identifiers(&self) -> Vec<String> {
        self.factories.keys().map(|k| k.to_string()).collect()
    }

    /// The factory of a connector.
    pub fn factory(&self, name: &str) -> Result<Arc<dyn TableFactory>> {
        self.factories
            .get(name)
            .cloned()
            .ok_or_else(|| ConnectorError::UnknownConnector {
                name: name.to_string(),
                available: self.identifiers(),
            })
    }

    fn factory_for(&self, options: &BTreeMap<String, String>) -> Result<Arc<dyn TableFactory>> {
        match options.get(CONNECTOR) {
            Some(name) => self.factory(name),
            None => Err(ConnectorError::MissingOption {
                connector: String::new(),
                option: CONNECTOR.to_string(),
            }),
        }
    }

    /// Checks a table definition (`CREATE TABLE ... WITH (...)`): the connector exists,
    /// its options are known, present and well-formed, and it supports the column types.
    pub fn validate_table(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
        primary_key: &[String],
    ) -> Result<()> {
        let factory = self.factory_for(options)?;
        if factory.is_internal() {
            return Err(ConnectorError::invalid(
                "connector",
                factory.identifier(),
                "this connector is internal to Eddy (it carries query results or INSERT ... VALUES rows) and cannot back a table",
            ));
        }
        crate::metadata::check(factory.identifier(), table, schema, &factory.metadata())?;
        factory.validate_with_key(table, schema, options, primary_key)
    }

    /// Whether reading a table with these options ends by itself.
    pub fn is_bounded(&self, options: &BTreeMap<String, String>) -> Result<bool> {
        Ok(self.factory_for(options)?.is_bounded(options))
    }

    /// The validated source of a table.
    pub fn source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let factory = self.factory_for(&spec.options)?;
        factory.validate_with_key(
            &spec.table,
            &*spec.schema.decode()?,
            &spec.options,
            &spec.primary_key,
        )?;
        factory.create_source(spec)
    }

    /// The validated sink of a table.
    pub fn sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let factory = self.factory_for(&spec.options)?;
        factory.validate_with_key(
            &spec.table,
            &*spec.schema.decode()?,
            &spec.options,
            &spec.primary_key,
        )?;
        factory.create_sink(spec)
    }
}

impl ConnectorResolver for ConnectorRegistry {
    fn create_source(&self, spec: &ConnectorSpec) -> eddy_runtime::Result<Arc<dyn Source>> {
        Ok(self.source(spec)?)
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> eddy_runtime::Result<Arc<dyn Sink>> {
        Ok(self.sink(spec)?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field};
    use eddy_runtime::jobgraph::SerializedSchema;

    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("id", DataType::Int64, true)])
    }

    #[test]
    fn lists_every_connector() {
        let r = ConnectorRegistry::new();
        assert_eq!(
            r.identifiers(),
            vec![
                "blackhole",
                "collect",
                "datagen",
                "filesystem",
                "kafka",
                "materialized",
                "nexmark",
                "print",
                "upsert-kafka",
                "values"
            ]
        );
        match r.factory("kafak") {
            Err(ConnectorError::UnknownConnector { name, available }) => {
                assert_eq!(name, "kafak");
                assert!(available.contains(&"datagen".to_string()));
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("found 'kafak'"),
        }
    }

    #[test]
    fn validates_tables() {
        let r = ConnectorRegistry::new();
        let err = r
            .validate_table("t", &schema(), &opts(&[]), &[])
            .unwrap_err();
        assert!(matches!(
            err,
            ConnectorError::MissingOption { ref connector, ref option }
                if connector.is_empty() && option == "connector"
        ));
        r.validate_table("t", &schema(), &opts(&[("connector", "blackhole")]), &[])
            .unwrap();
        let err = r
            .validate_table(
                "t",
                &schema(),
                &opts(&[("connector", "print"), ("x", "1")]),
                &[],
            )
            .unwrap_err();
        assert!(matches!(err, ConnectorError::UnknownOption { .. }), "{err}");
        assert!(r
            .is_bounded(&opts(&[("connector", "datagen"), ("number-of-rows", "5")]))
            .unwrap());
        assert!(!r.is_bounded(&opts(&[("connector", "datagen")])).unwrap());
        assert!(format_factory("xml").is_err());
    }

    #[test]
    fn resolves_specs_into_runtime_errors() {
        let r = ConnectorRegistry::new();
        let spec = ConnectorSpec {
            table: "t".into(),
            schema: SerializedSchema::encode(&schema()).unwrap(),
            options: opts(&[("connector", "print")]),
            primary_key: Vec::new(),
            partition_keys: Vec::new(),
            partition_filter: None,
            read_columns: None,
        };
        let err = r.create_source(&spec).err().expect("print is not a source");
        assert!(err.to_string().contains("'print'"), "{err}");
        assert!(r.create_sink(&spec).is_ok());
    }
}
