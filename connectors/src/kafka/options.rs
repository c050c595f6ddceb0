//! The `kafka` connector's WITH options, as Flink's `KafkaConnectorOptions` names them,
//! checked into [`KafkaOptions`]. `properties.*` go to librdkafka (checked by it, so a
//! typo is named at CREATE TABLE), except the few Flink handles itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{Schema, SchemaRef};

use crate::error::{ConnectorError, Result};
use crate::format::FormatFactory;
use crate::options::{check_options, get, parse_bool, parse_duration, OptionKey};
use crate::registry::{format_factory, formats};

pub(crate) use super::option_keys::*;

/// Properties Eddy acts on itself instead of passing them to librdkafka.
const EDDY_PROPERTIES: [&str; 2] = [
    "properties.commit.offsets.on.checkpoint",
    "properties.default.api.timeout.ms",
];

/// Which topics a table reads.
#[derive(Debug, Clone)]
pub(crate) enum Topics {
    List(Vec<String>),
    Pattern(regex::Regex),
}

impl Topics {
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Topics::List(l) => l.iter().any(|t| t == topic),
            Topics::Pattern(p) => p.is_match(topic),
        }
    }
}

/// Where reading starts, per partition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StartupMode {
    Earliest,
    Latest,
    GroupOffsets,
    Timestamp(i64),
    Specific(BTreeMap<i32, i64>),
}

/// Where reading ends, per partition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BoundedMode {
    Unbounded,
    Latest,
    GroupOffsets,
    Timestamp(i64),
    Specific(BTreeMap<i32, i64>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SinkPartitioner {
    Default,
    Fixed,
    RoundRobin,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DeliveryGuarantee {
    None,
    AtLeastOnce,
    ExactlyOnce,
}

/// A format and the columns it holds.
#[derive(Clone)]
pub(crate) struct FormatPart {
    pub factory: Arc<dyn FormatFactory>,
    /// The format's own options (`json.ignore-parse-errors`), prefixes removed.
    pub options: BTreeMap<String, String>,
    /// Table columns the format holds, by index, in the format's field order.
    pub columns: Vec<usize>,
    /// The schema the format reads and writes (key columns without `key.fields-prefix`).
    pub schema: SchemaRef,
}

/// A Kafka table's options, checked.
#[derive(Clone)]
pub(crate) struct KafkaOptions {
    pub topics: Option<Topics>,
    pub bootstrap_servers: String,
    pub group_id: Option<String>,
    /// What goes to librdkafka, without the `properties.` prefix.
    pub properties: BTreeMap<String, String>,
    pub commit_on_checkpoint: bool,
    pub api_timeout: Duration,
    pub value: FormatPart,
    pub key: Option<FormatPart>,
    pub startup: StartupMode,
    pub bounded: BoundedMode,
    pub discovery: Option<Duration>,
    pub partitioner: SinkPartitioner,
    pub delivery: DeliveryGuarantee,
    pub transactional_id_prefix: Option<String>,
    /// An `upsert-kafka` table: the key is the primary key, a record the latest value of
    /// its key and a tombstone (no value) its deletion.
    pub upsert: bool,
}

/// Parses Flink's `partition:0,offset:42;partition:1,offset:300`.
fn parse_specific_offsets(option: &str, value: &str) -> Result<BTreeMap<i32, i64>> {
    let bad = || {
        ConnectorError::invalid(
            option,
            value,
            "expected 'partition:0,offset:42;partition:1,offset:300'",
        )
    };
    let mut out = BTreeMap::new();
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (p, o) = part.split_once(',').ok_or_else(bad)?;
        let partition = p
            .trim()
            .strip_prefix("partition:")
            .and_then(|n| n.trim().parse::<i32>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(bad)?;
        let offset = o
            .trim()
            .strip_prefix("offset:")
            .and_then(|n| n.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(bad)?;
        out.insert(partition, offset);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

fn parse_millis(options: &BTreeMap<String, String>, key: &OptionKey, mode: &str) -> Result<i64> {
    let value = get(options, key).ok_or_else(|| {
        ConnectorError::invalid(
            key.key,
            "",
            format!(
                "'{key}' is required when the mode is '{mode}'",
                key = key.key
            ),
        )
    })?;
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| ConnectorError::invalid(key.key, value, "expected epoch milliseconds"))
}

fn specific(options: &BTreeMap<String, String>, key: &OptionKey) -> Result<BTreeMap<i32, i64>> {
    match get(options, key) {
        Some(v) => parse_specific_offsets(key.key, v),
        None => Err(ConnectorError::invalid(
            key.key,
            "",
            format!(
                "'{}' is required when the mode is 'specific-offsets'",
                key.key
            ),
        )),
    }
}

fn startup(options: &BTreeMap<String, String>) -> Result<StartupMode> {
    let mode = get(options, &STARTUP_MODE).unwrap_or("group-offsets");
    Ok(match mode {
        "earliest-offset" => StartupMode::Earliest,
        "latest-offset" => StartupMode::Latest,
        "group-offsets" => StartupMode::GroupOffsets,
        "timestamp" => StartupMode::Timestamp(parse_millis(options, &STARTUP_TIMESTAMP, mode)?),
        "specific-offsets" => StartupMode::Specific(specific(options, &STARTUP_SPECIFIC_OFFSETS)?),
        other => {
            return Err(ConnectorError::invalid(
                STARTUP_MODE.key,
                other,
                "expected 'earliest-offset', 'latest-offset', 'group-offsets', 'timestamp' or 'specific-offsets'",
            ))
        }
    })
}

fn bounded(options: &BTreeMap<String, String>) -> Result<BoundedMode> {
    let mode = get(options, &BOUNDED_MODE).unwrap_or("unbounded");
    Ok(match mode {
        "unbounded" => BoundedMode::Unbounded,
        "latest-offset" => BoundedMode::Latest,
        "group-offsets" => BoundedMode::GroupOffsets,
        "timestamp" => BoundedMode::Timestamp(parse_millis(options, &BOUNDED_TIMESTAMP, mode)?),
        "specific-offsets" => BoundedMode::Specific(specific(options, &BOUNDED_SPECIFIC_OFFSETS)?),
        other => {
            return Err(ConnectorError::invalid(
                BOUNDED_MODE.key,
                other,
                "expected 'unbounded', 'latest-offset', 'group-offsets', 'timestamp' or 'specific-offsets'",
            ))
        }
    })
}

type Options = BTreeMap<String, String>;

/// Splits `key.format` / `value.format` / `format` options out of `options`: the chosen
/// formats' own options (prefix removed) and the rest. An option of a format the table
/// does not use is an error naming it.
fn format_options(
    options: &BTreeMap<String, String>,
    value: &dyn FormatFactory,
    value_prefix: &str,
    key: Option<&dyn FormatFactory>,
) -> Result<(Options, Options, Options)> {
    let (mut value_opts, mut key_opts, mut rest) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let is_format = |name: &str| formats().iter().any(|f| f.identifier() == name);
    for (k, v) in options {
        let (target, inner) = if let Some(inner) = k.strip_prefix("key.") {
            (key.map(|f| (f, &mut key_opts)), inner)
        } else if let Some(inner) = k.strip_prefix(value_prefix) {
            (Some((value, &mut value_opts)), inner)
        } else {
            rest.insert(k.clone(), v.clone());
            continue;
        };
        let Some((prefix, _)) = inner.split_once('.') else {
            rest.insert(k.clone(), v.clone());
            continue;
        };
        if !is_format(prefix) {
            rest.insert(k.clone(), v.clone());
            continue;
        }
        match target {
            Some((f, opts)) if f.identifier() == prefix => {
                opts.insert(inner.to_string(), v.clone());
            }
            _ => {
                return Err(ConnectorError::OptionNotApplicable {
                    option: k.clone(),
                    reason: format!(
                        "it belongs to format '{prefix}', which the table's {} does not use",
                        if k.starts_with("key.") {
                            "key"
                        } else {
                            "value"
                        }
                    ),
                })
            }
        }
    }
    Ok((value_opts, key_opts, rest))
}

impl KafkaOptions {
    /// Checks every option of a table with physical columns `schema`.
    pub fn parse(table: &str, schema: &Schema, options: &BTreeMap<String, String>) -> Result<Self> {
        Self::parse_as(IDENTIFIER, &declared(), table, schema, options)
    }

    /// Checks every option of an `upsert-kafka` table whose primary key is `primary_key`.
    pub fn parse_upsert(
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
        primary_key: &[String],
    ) -> Result<Self> {
        if primary_key.is_empty() {
            return Err(ConnectorError::MissingPrimaryKey(format!(
                "'upsert-kafka' tables require to define a PRIMARY KEY constraint (table '{table}'). The PRIMARY KEY specifies which columns should be read from or write to the Kafka message key. The PRIMARY KEY also defines records in the 'upsert-kafka' table should update or delete on which keys."
            )));
        }
        for column in primary_key {
            let field = schema.field_with_name(column).ok();
            if field.is_none_or(|f| crate::metadata::key_of(f).is_some()) {
                return Err(ConnectorError::MissingPrimaryKey(format!(
                    "PRIMARY KEY column '{column}' of upsert-kafka table '{table}' is not a physical column: the key is written to and read from the message key, so it must be one"
                )));
            }
        }
        for option in [KEY_FORMAT, VALUE_FORMAT] {
            if !options.contains_key(option.key) {
                return Err(ConnectorError::MissingOption {
                    connector: UPSERT_IDENTIFIER.into(),
                    option: option.key.into(),
                });
            }
        }
        if let Some(value) = options.get(KEY_FIELDS.key) {
            return Err(ConnectorError::invalid(
                KEY_FIELDS.key,
                value,
                "an 'upsert-kafka' table's key is its PRIMARY KEY; leave 'key.fields' out",
            ));
        }
        let value_format = &options[VALUE_FORMAT.key];
        if format_factory(value_format)?.produces_changelog() {
            return Err(ConnectorError::invalid(
                VALUE_FORMAT.key,
                value_format,
                "'upsert-kafka' writes each key's latest row; a changelog format cannot be its value format",
            ));
        }
        let mut options = options.clone();
        options.insert(KEY_FIELDS.key.to_string(), primary_key.join(";"));
        let mut declared = declared_upsert();
        declared.push(KEY_FIELDS);
        let mut opts = Self::parse_as(UPSERT_IDENTIFIER, &declared, table, schema, &options)?;
        opts.upsert = true;
        // A compacted topic is the table: it is read from its start.
        opts.startup = StartupMode::Earliest;
        Ok(opts)
    }

    fn parse_as(
        identifier: &str,
        declared: &[OptionKey],
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let required = [BOOTSTRAP_SERVERS];
        // Formats first: their options are checked by them, the rest against `declared`.
        let (value_name, value_prefix) =
            match (options.get(FORMAT.key), options.get(VALUE_FORMAT.key)) {
                (Some(_), Some(_)) => {
                    return Err(ConnectorError::invalid(
                        VALUE_FORMAT.key,
                        &options[VALUE_FORMAT.key],
                        "give either 'format' or 'value.format', not both",
                    ))
                }
                (Some(f), None) => (f.as_str(), ""),
                (None, Some(f)) => (f.as_str(), "value."),
                (None, None) => {
                    return Err(ConnectorError::MissingOption {
                        connector: identifier.into(),
                        option: "format' or 'value.format".into(),
                    })
                }
            };
        let value_factory = format_factory(value_name)?;
        let key_factory = options
            .get(KEY_FORMAT.key)
            .map(|f| format_factory(f))
            .transpose()?;
        let (value_opts, key_opts, rest) = format_options(
            options,
            value_factory.as_ref(),
            value_prefix,
            key_factory.as_deref(),
        )?;
        let mut properties = BTreeMap::new();
        let mut checked = BTreeMap::new();
        for (k, v) in &rest {
            match k.strip_prefix("properties.") {
                Some(p) if !EDDY_PROPERTIES.contains(&k.as_str()) && k != BOOTSTRAP_SERVERS.key => {
                    properties.insert(p.to_string(), v.clone());
                }
                _ => {
                    checked.insert(k.clone(), v.clone());
                }
            }
        }
        check_options(identifier, table, schema, &checked, &required, declared)?;
        let bootstrap_servers = options[BOOTSTRAP_SERVERS.key].clone();
        if bootstrap_servers.trim().is_empty() {
            return Err(ConnectorError::invalid(
                BOOTSTRAP_SERVERS.key,
                &bootstrap_servers,
                "no broker given",
            ));
        }
        let topics = match (get(options, &TOPIC), get(options, &TOPIC_PATTERN)) {
            (Some(_), Some(_)) => {
                return Err(ConnectorError::invalid(
                    TOPIC_PATTERN.key,
                    &options[TOPIC_PATTERN.key],
                    "give either 'topic' or 'topic-pattern', not both",
                ))
            }
            (Some(t), None) => {
                let list: Vec<String> = t
                    .split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if list.is_empty() {
                    return Err(ConnectorError::invalid(TOPIC.key, t, "no topic given"));
                }
                Some(Topics::List(list))
            }
            (None, Some(p)) => Some(Topics::Pattern(
                regex::Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| ConnectorError::invalid(TOPIC_PATTERN.key, p, e.to_string()))?,
            )),
            (None, None) => None,
        };
        let (value, key) = Self::parts(
            schema,
            options,
            (value_factory, value_opts),
            key_factory.map(|k| (k, key_opts)),
        )?;
        let delivery = match get(options, &DELIVERY_GUARANTEE).unwrap_or("at-least-once") {
            "none" => DeliveryGuarantee::None,
            "at-least-once" => DeliveryGuarantee::AtLeastOnce,
            "exactly-once" => DeliveryGuarantee::ExactlyOnce,
            other => {
                return Err(ConnectorError::invalid(
                    DELIVERY_GUARANTEE.key,
                    other,
                    "expected 'none', 'at-least-once' or 'exactly-once'",
                ))
            }
        };
        let transactional_id_prefix = get(options, &TRANSACTIONAL_ID_PREFIX).map(str::to_string);
        if delivery == DeliveryGuarantee::ExactlyOnce
            && transactional_id_prefix
                .as_deref()
                .is_none_or(|p| p.trim().is_empty())
        {
            return Err(ConnectorError::invalid(
                DELIVERY_GUARANTEE.key,
                "exactly-once",
                "it needs 'sink.transactional-id-prefix', a prefix no other job uses",
            ));
        }
        let partitioner = match get(options, &SINK_PARTITIONER).unwrap_or("default") {
            "default" => SinkPartitioner::Default,
            "fixed" => SinkPartitioner::Fixed,
            "round-robin" => SinkPartitioner::RoundRobin,
            other => {
                return Err(ConnectorError::invalid(
                    SINK_PARTITIONER.key,
                    other,
                    "expected 'default', 'fixed' or 'round-robin' (Eddy runs no Java partitioner classes)",
                ))
            }
        };
        let discovery = match get(options, &DISCOVERY_INTERVAL) {
            Some(v) => parse_duration(DISCOVERY_INTERVAL.key, v)?,
            None => Duration::from_secs(300),
        };
        let api_timeout = match get(options, &API_TIMEOUT) {
            Some(v) => parse_duration(API_TIMEOUT.key, v)?,
            None => Duration::from_secs(30),
        };
        // Offsets by partition number name one topic's partitions, as Flink requires.
        let specific = get(options, &STARTUP_SPECIFIC_OFFSETS)
            .map(|_| STARTUP_SPECIFIC_OFFSETS.key)
            .or(get(options, &BOUNDED_SPECIFIC_OFFSETS).map(|_| BOUNDED_SPECIFIC_OFFSETS.key));
        if let Some(key) = specific {
            if !matches!(&topics, Some(Topics::List(l)) if l.len() == 1) {
                return Err(ConnectorError::invalid(
                    key,
                    &options[key],
                    "specific offsets can be given for a single topic only, as in Flink",
                ));
            }
        }
        let opts = Self {
            topics,
            bootstrap_servers,
            group_id: get(options, &GROUP_ID).map(str::to_string),
            properties,
            commit_on_checkpoint: match get(options, &COMMIT_ON_CHECKPOINT) {
                Some(v) => parse_bool(COMMIT_ON_CHECKPOINT.key, v)?,
                None => true,
            },
            api_timeout,
            value,
            key,
            startup: startup(options)?,
            bounded: bounded(options)?,
            discovery: (!discovery.is_zero()).then_some(discovery),
            partitioner,
            delivery,
            transactional_id_prefix,
            upsert: false,
        };
        // librdkafka names a property it does not know, or a value it cannot take.
        super::client::client_config(&opts, None)
            .create_native_config()
            .map_err(|e| ConnectorError::invalid("properties.*", "", e.to_string()))?;
        Ok(opts)
    }

    /// The value and key formats and the columns each holds.
    fn parts(
        schema: &Schema,
        options: &BTreeMap<String, String>,
        value: (Arc<dyn FormatFactory>, BTreeMap<String, String>),
        key: Option<(Arc<dyn FormatFactory>, BTreeMap<String, String>)>,
    ) -> Result<(FormatPart, Option<FormatPart>)> {
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let prefix = get(options, &KEY_FIELDS_PREFIX).unwrap_or("");
        let key_columns: Vec<usize> = match get(options, &KEY_FIELDS) {
            Some(list) => list
                .split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    columns.iter().position(|n| *n == c).ok_or_else(|| {
                        ConnectorError::invalid(
                            KEY_FIELDS.key,
                            list,
                            format!(
                                "the table has no column '{c}' (columns: {})",
                                columns.join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let except_key = match get(options, &VALUE_FIELDS_INCLUDE).unwrap_or("ALL") {
            "ALL" => false,
            "EXCEPT_KEY" => true,
            other => {
                return Err(ConnectorError::invalid(
                    VALUE_FIELDS_INCLUDE.key,
                    other,
                    "expected 'ALL' or 'EXCEPT_KEY'",
                ))
            }
        };
        if !prefix.is_empty() && !except_key {
            return Err(ConnectorError::invalid(
                KEY_FIELDS_PREFIX.key,
                prefix,
                "a key prefix needs 'value.fields-include' = 'EXCEPT_KEY', as in Flink",
            ));
        }
        let key = match (key, key_columns.is_empty()) {
            (Some((factory, _)), true) => {
                return Err(ConnectorError::invalid(
                    KEY_FORMAT.key,
                    factory.identifier(),
                    "it needs 'key.fields', the columns the key holds",
                ))
            }
            (None, false) => {
                return Err(ConnectorError::invalid(
                    KEY_FIELDS.key,
                    &options[KEY_FIELDS.key],
                    "it needs 'key.format', the format of the key",
                ))
            }
            (None, true) => None,
            (Some((factory, opts)), false) => {
                if factory.produces_changelog() {
                    return Err(ConnectorError::invalid(
                        KEY_FORMAT.key,
                        factory.identifier(),
                        "a changelog format describes whole rows and cannot be a key format",
                    ));
                }
                let fields = key_columns
                    .iter()
                    .map(|&i| {
                        let f = schema.field(i);
                        let name = f.name().strip_prefix(prefix).ok_or_else(|| {
                            ConnectorError::invalid(
                                KEY_FIELDS_PREFIX.key,
                                prefix,
                                format!("key column '{}' does not start with the prefix", f.name()),
                            )
                        })?;
                        Ok(f.as_ref().clone().with_name(name))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let schema = Arc::new(Schema::new(fields));
                factory.validate(&schema, &opts)?;
                Some(FormatPart {
                    factory,
                    options: opts,
                    columns: key_columns.clone(),
                    schema,
                })
            }
        };
        if let Some(&c) = key_columns
            .iter()
            .find(|&&c| crate::metadata::key_of(schema.field(c)).is_some())
        {
            return Err(ConnectorError::invalid(
                KEY_FIELDS.key,
                &options[KEY_FIELDS.key],
                format!("'{}' is a metadata column, not part of the key", columns[c]),
            ));
        }
        // Metadata columns are the connector's, not the formats'.
        let value_columns: Vec<usize> = crate::metadata::without_metadata(schema)
            .into_iter()
            .filter(|i| !except_key || !key_columns.contains(i))
            .collect();
        let (factory, opts) = value;
        if factory.produces_changelog() && key.is_some() {
            return Err(ConnectorError::invalid(
                KEY_FORMAT.key,
                &options[KEY_FORMAT.key],
                format!(
                    "the value format '{}' is a changelog of whole rows; it takes no key format",
                    factory.identifier()
                ),
            ));
        }
        let value_schema = Arc::new(
            schema
                .project(&value_columns)
                .map_err(|e| ConnectorError::Runtime(e.into()))?,
        );
        factory.validate(&value_schema, &opts)?;
        Ok((
            FormatPart {
                factory,
                options: opts,
                columns: value_columns,
                schema: value_schema,
            },
            key,
        ))
    }

    /// The topics a source reads, or an error naming what is missing.
    pub fn source_topics(&self) -> Result<&Topics> {
        self.topics
            .as_ref()
            .ok_or_else(|| ConnectorError::MissingOption {
                connector: self.identifier().into(),
                option: "topic' or 'topic-pattern".into(),
            })
    }

    /// The one topic a sink writes.
    pub fn sink_topic(&self) -> Result<&str> {
        match &self.topics {
            Some(Topics::List(l)) if l.len() == 1 => Ok(&l[0]),
            Some(Topics::List(l)) => Err(ConnectorError::invalid(
                TOPIC.key,
                &l.join(";"),
                "a sink writes exactly one topic",
            )),
            Some(Topics::Pattern(_)) => Err(ConnectorError::invalid(
                TOPIC_PATTERN.key,
                "",
                "a sink cannot write a topic pattern; give 'topic'",
            )),
            None => Err(ConnectorError::MissingOption {
                connector: self.identifier().into(),
                option: TOPIC.key.into(),
            }),
        }
    }

    /// The connector the table names.
    pub fn identifier(&self) -> &'static str {
        match self.upsert {
            true => UPSERT_IDENTIFIER,
            false => IDENTIFIER,
        }
    }

    /// Whether the source ends by itself.
    pub fn is_bounded(&self) -> bool {
        self.bounded != BoundedMode::Unbounded
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ])
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<KafkaOptions> {
        let mut o: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        o.entry("properties.bootstrap.servers".into())
            .or_insert_with(|| "127.0.0.1:9092".into());
        KafkaOptions::parse("t", &schema(), &o)
    }

    #[test]
    fn flink_options_parse() {
        let o = parse(&[
            ("topic", "a"),
            ("format", "json"),
            ("json.ignore-parse-errors", "true"),
            ("scan.startup.mode", "specific-offsets"),
            (
                "scan.startup.specific-offsets",
                "partition:0,offset:42;partition:1,offset:300",
            ),
            ("scan.bounded.mode", "timestamp"),
            ("scan.bounded.timestamp-millis", "1700000000000"),
            ("properties.group.id", "g"),
            ("properties.fetch.min.bytes", "1"),
        ])
        .unwrap();
        assert!(matches!(&o.topics, Some(Topics::List(l)) if l == &["a"]));
        let two = parse(&[("topic", "a; b"), ("format", "json")]).unwrap();
        assert!(matches!(&two.topics, Some(Topics::List(l)) if l == &["a", "b"]));
        assert_eq!(
            o.startup,
            StartupMode::Specific(BTreeMap::from([(0, 42), (1, 300)]))
        );
        assert_eq!(o.bounded, BoundedMode::Timestamp(1_700_000_000_000));
        assert_eq!(o.value.options["json.ignore-parse-errors"], "true");
        assert_eq!(
            o.properties.get("fetch.min.bytes").map(String::as_str),
            Some("1")
        );
        assert_eq!(o.group_id.as_deref(), Some("g"));
        let keyed = parse(&[
            ("topic", "a"),
            ("key.format", "raw"),
            ("key.fields", "name"),
            ("value.format", "csv"),
            ("value.csv.field-delimiter", ";"),
            ("value.fields-include", "EXCEPT_KEY"),
        ])
        .unwrap();
        assert_eq!(keyed.key.as_ref().unwrap().columns, vec![1]);
        assert_eq!(keyed.value.columns, vec![0]);
        assert_eq!(keyed.value.options["csv.field-delimiter"], ";");
    }

    #[test]
    fn mistakes_are_named() {
        let err = |pairs: &[(&str, &str)]| parse(pairs).err().unwrap().to_string();
        assert!(err(&[("topic", "a")]).contains("'format' or 'value.format'"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("scan.startup.mode", "earliest")
        ])
        .contains("earliest-offset"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("scan.startup.mode", "timestamp")
        ])
        .contains("scan.startup.timestamp-millis"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("scan.startup.mode", "specific-offsets"),
            ("scan.startup.specific-offsets", "0:42")
        ])
        .contains("partition:0,offset:42"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("csv.field-delimiter", ";")
        ])
        .contains("'csv.field-delimiter'"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("properties.no.such.thing", "1")
        ])
        .contains("no.such.thing"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("sink.delivery-guarantee", "exactly-once")
        ])
        .contains("sink.transactional-id-prefix"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("key.fields", "nope"),
            ("key.format", "raw")
        ])
        .contains("no column 'nope'"));
        assert!(err(&[
            ("topic", "a"),
            ("format", "json"),
            ("scan.startup.mod", "x")
        ])
        .contains("unsupported option 'scan.startup.mod'"));
        assert!(
            err(&[("topic", "a"), ("topic-pattern", "b.*"), ("format", "json")])
                .contains("not both")
        );
        assert!(err(&[
            ("topic", "a;b"),
            ("format", "json"),
            ("scan.startup.mode", "specific-offsets"),
            ("scan.startup.specific-offsets", "partition:0,offset:1")
        ])
        .contains("single topic"));
    }
}
