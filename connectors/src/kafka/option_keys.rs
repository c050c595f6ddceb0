//! The `kafka` and `upsert-kafka` connectors' option keys, as Flink's
//! `KafkaConnectorOptions` names them, and which of them each connector takes.

use crate::options::OptionKey;

pub(crate) const IDENTIFIER: &str = "kafka";
pub(crate) const UPSERT_IDENTIFIER: &str = "upsert-kafka";

pub const TOPIC: OptionKey = OptionKey::new(
    "topic",
    "The topic to read from or write to; to read several, separate them with ';'.",
);
pub const TOPIC_PATTERN: OptionKey = OptionKey::new(
    "topic-pattern",
    "A regular expression: every topic whose whole name matches is read (not with 'topic').",
);
pub const BOOTSTRAP_SERVERS: OptionKey = OptionKey::new(
    "properties.bootstrap.servers",
    "The Kafka brokers to connect to, 'host:port[,host:port...]'.",
);
pub const GROUP_ID: OptionKey = OptionKey::new(
    "properties.group.id",
    "The consumer group: where 'group-offsets' start and where offsets are committed on \
     checkpoints.",
);
pub const PROPERTIES: OptionKey = OptionKey::new(
    "properties.*",
    "Any librdkafka client property, e.g. 'properties.auto.offset.reset'.",
);
pub const COMMIT_ON_CHECKPOINT: OptionKey = OptionKey::with_default(
    "properties.commit.offsets.on.checkpoint",
    "true",
    "Commit the offsets of each completed checkpoint to the consumer group.",
);
pub const API_TIMEOUT: OptionKey = OptionKey::with_default(
    "properties.default.api.timeout.ms",
    "30000",
    "How long a metadata, offset or transaction request may take before the job fails.",
);
pub const FORMAT: OptionKey = OptionKey::new(
    "format",
    "The value format: 'json', 'csv', 'raw', 'debezium-json' or 'canal-json'.",
);
pub const VALUE_FORMAT: OptionKey = OptionKey::new(
    "value.format",
    "The value format, with its options prefixed 'value.' (instead of 'format').",
);
pub const KEY_FORMAT: OptionKey = OptionKey::new(
    "key.format",
    "The key format, with its options prefixed 'key.'; needs 'key.fields'.",
);
pub const KEY_FIELDS: OptionKey =
    OptionKey::new("key.fields", "The columns in the key, separated by ';'.");
pub const KEY_FIELDS_PREFIX: OptionKey = OptionKey::new(
    "key.fields-prefix",
    "A prefix of the key columns' names that the key format's field names do not have.",
);
pub const VALUE_FIELDS_INCLUDE: OptionKey = OptionKey::with_default(
    "value.fields-include",
    "ALL",
    "'ALL': the value holds every column; 'EXCEPT_KEY': every column but the key's.",
);
pub const STARTUP_MODE: OptionKey = OptionKey::with_default(
    "scan.startup.mode",
    "group-offsets",
    "Where reading starts: 'earliest-offset', 'latest-offset', 'group-offsets', \
     'timestamp' or 'specific-offsets'.",
);
pub const STARTUP_SPECIFIC_OFFSETS: OptionKey = OptionKey::new(
    "scan.startup.specific-offsets",
    "For 'specific-offsets': 'partition:0,offset:42;partition:1,offset:300'.",
);
pub const STARTUP_TIMESTAMP: OptionKey = OptionKey::new(
    "scan.startup.timestamp-millis",
    "For 'timestamp': the first record read is the first at or after this epoch millisecond.",
);
pub const BOUNDED_MODE: OptionKey = OptionKey::with_default(
    "scan.bounded.mode",
    "unbounded",
    "Where reading ends: 'unbounded', 'latest-offset', 'group-offsets', 'timestamp' or \
     'specific-offsets'; a bounded source finishes its job.",
);
pub const BOUNDED_SPECIFIC_OFFSETS: OptionKey = OptionKey::new(
    "scan.bounded.specific-offsets",
    "For 'specific-offsets': the offset (exclusive) each partition ends at.",
);
pub const BOUNDED_TIMESTAMP: OptionKey = OptionKey::new(
    "scan.bounded.timestamp-millis",
    "For 'timestamp': records from this epoch millisecond on are not read.",
);
pub const DISCOVERY_INTERVAL: OptionKey = OptionKey::with_default(
    "scan.topic-partition-discovery.interval",
    "5 min",
    "How often an unbounded source looks for new partitions and topics; '0' never.",
);
pub const SINK_PARTITIONER: OptionKey = OptionKey::with_default(
    "sink.partitioner",
    "default",
    "'default' (by key hash, else spread), 'fixed' (subtask i writes partition i mod n) or \
     'round-robin'.",
);
pub const DELIVERY_GUARANTEE: OptionKey = OptionKey::with_default(
    "sink.delivery-guarantee",
    "at-least-once",
    "'none', 'at-least-once' (flush at each checkpoint) or 'exactly-once' (Kafka \
     transactions committed with checkpoints).",
);
pub const TRANSACTIONAL_ID_PREFIX: OptionKey = OptionKey::new(
    "sink.transactional-id-prefix",
    "For 'exactly-once': the prefix of the sink's transactional ids, unique per job.",
);

pub(crate) fn declared() -> Vec<OptionKey> {
    vec![
        TOPIC,
        TOPIC_PATTERN,
        GROUP_ID,
        PROPERTIES,
        COMMIT_ON_CHECKPOINT,
        API_TIMEOUT,
        FORMAT,
        VALUE_FORMAT,
        KEY_FORMAT,
        KEY_FIELDS,
        KEY_FIELDS_PREFIX,
        VALUE_FIELDS_INCLUDE,
        STARTUP_MODE,
        STARTUP_SPECIFIC_OFFSETS,
        STARTUP_TIMESTAMP,
        BOUNDED_MODE,
        BOUNDED_SPECIFIC_OFFSETS,
        BOUNDED_TIMESTAMP,
        DISCOVERY_INTERVAL,
        SINK_PARTITIONER,
        DELIVERY_GUARANTEE,
        TRANSACTIONAL_ID_PREFIX,
        crate::options::SINK_PARALLELISM,
    ]
}

/// The options of an `upsert-kafka` table (Flink's `UpsertKafkaDynamicTableFactory`): no
/// startup modes (a compacted topic is read from its start), no `key.fields` (the primary
/// key is the key), no partitioner (records go by key).
pub(crate) fn declared_upsert() -> Vec<OptionKey> {
    vec![
        TOPIC,
        TOPIC_PATTERN,
        GROUP_ID,
        PROPERTIES,
        COMMIT_ON_CHECKPOINT,
        API_TIMEOUT,
        VALUE_FORMAT,
        KEY_FORMAT,
        KEY_FIELDS_PREFIX,
        VALUE_FIELDS_INCLUDE,
        BOUNDED_MODE,
        BOUNDED_SPECIFIC_OFFSETS,
        BOUNDED_TIMESTAMP,
        DISCOVERY_INTERVAL,
        DELIVERY_GUARANTEE,
        TRANSACTIONAL_ID_PREFIX,
        crate::options::SINK_PARALLELISM,
    ]
}
