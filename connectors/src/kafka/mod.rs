//! The `kafka` and `upsert-kafka` connectors (Flink's `KafkaDynamicTableFactory` and
//! `UpsertKafkaDynamicTableFactory`) on librdkafka:
//! - [`option_keys`]: Flink's option keys, and which each connector takes;
//! - [`options`]: the WITH options, checked at CREATE TABLE;
//! - [`client`]: clients, partition listing, the offsets a startup or bounded mode means;
//! - [`source`]: partitions as splits, dealt by Flink's owner rule;
//! - [`reader`]: one subtask's reader, per-partition batches and positions, offsets
//!   committed on checkpoints, partitions found later;
//! - [`decode`]: key and value formats into rows, bad records by topic/partition/offset;
//! - [`metadata`]: the metadata columns (`offset`, `partition`, `timestamp`, ...);
//! - [`sink`]: records out, with `none`, `at-least-once` or `exactly-once` delivery;
//! - [`txn`]: committing a transaction a failed attempt prepared.
//!
//! See `docs/kafka.md`.

mod client;
mod decode;
mod metadata;
mod option_keys;
mod options;
mod reader;
mod sink;
mod source;
mod txn;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use eddy_runtime::connector::{Sink, Source};
use eddy_runtime::jobgraph::ConnectorSpec;

pub use reader::KafkaReader;
pub use sink::KafkaSink;
pub use source::KafkaSource;
pub use txn::{acquired_pid, commit_prepared, ResumeError};

use crate::error::Result;
use crate::factory::TableFactory;
use crate::options::OptionKey;
use options::{KafkaOptions, BOOTSTRAP_SERVERS, IDENTIFIER};

/// The `kafka` connector.
#[derive(Debug, Default)]
pub struct KafkaTableFactory;

impl TableFactory for KafkaTableFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![BOOTSTRAP_SERVERS]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        options::declared()
    }

    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        KafkaOptions::parse(table, schema, options).map(|_| ())
    }

    fn metadata(&self) -> Vec<crate::metadata::MetadataKey> {
        metadata::keys()
    }

    fn is_bounded(&self, options: &BTreeMap<String, String>) -> bool {
        options
            .get(options::BOUNDED_MODE.key)
            .is_some_and(|m| m != "unbounded")
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let schema = spec.schema.decode()?;
        source(
            spec,
            KafkaOptions::parse(&spec.table, &schema, &spec.options)?,
        )
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let schema = spec.schema.decode()?;
        sink(
            spec,
            KafkaOptions::parse(&spec.table, &schema, &spec.options)?,
        )
    }
}

/// The `upsert-kafka` connector (Flink's `UpsertKafkaDynamicTableFactory`): a table whose
/// `PRIMARY KEY` is the message key. Read, it is a changelog of the latest value per key
/// (a tombstone deletes the key); written, each `+I` / `+U` is the key's new value and
/// each `-D` a tombstone.
#[derive(Debug, Default)]
pub struct UpsertKafkaTableFactory;

impl TableFactory for UpsertKafkaTableFactory {
    fn identifier(&self) -> &'static str {
        options::UPSERT_IDENTIFIER
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![
            BOOTSTRAP_SERVERS,
            options::KEY_FORMAT,
            options::VALUE_FORMAT,
        ]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        options::declared_upsert()
    }

    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.validate_with_key(table, schema, options, &[])
    }

    fn validate_with_key(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
        primary_key: &[String],
    ) -> Result<()> {
        KafkaOptions::parse_upsert(table, schema, options, primary_key).map(|_| ())
    }

    fn metadata(&self) -> Vec<crate::metadata::MetadataKey> {
        metadata::keys()
    }

    fn is_bounded(&self, options: &BTreeMap<String, String>) -> bool {
        KafkaTableFactory.is_bounded(options)
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let schema = spec.schema.decode()?;
        let opts =
            KafkaOptions::parse_upsert(&spec.table, &schema, &spec.options, &spec.primary_key)?;
        source(spec, opts)
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let schema = spec.schema.decode()?;
        let opts =
            KafkaOptions::parse_upsert(&spec.table, &schema, &spec.options, &spec.primary_key)?;
        sink(spec, opts)
    }
}

fn source(spec: &ConnectorSpec, opts: KafkaOptions) -> Result<Arc<dyn Source>> {
    opts.source_topics()?;
    Ok(Arc::new(KafkaSource {
        table: spec.table.clone(),
        schema: spec.schema.decode()?,
        opts,
    }))
}

fn sink(spec: &ConnectorSpec, opts: KafkaOptions) -> Result<Arc<dyn Sink>> {
    let schema = spec.schema.decode()?;
    opts.sink_topic()?;
    // Of the metadata, only the timestamp is written; the rest must be VIRTUAL.
    let offered = metadata::keys();
    for field in schema.fields() {
        let Some(key) = crate::metadata::key_of(field) else {
            continue;
        };
        if !offered.iter().any(|m| m.key == key && m.writable) {
            return Err(crate::error::ConnectorError::InvalidMetadata(format!(
                "metadata column '{}' of table '{}' reads '{key}', which a Kafka sink cannot write: declare it VIRTUAL to insert into the table",
                field.name(),
                spec.table
            )));
        }
    }
    Ok(Arc::new(KafkaSink {
        table: spec.table.clone(),
        schema,
        opts,
    }))
}
