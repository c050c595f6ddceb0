//! librdkafka clients for a table: configuration, the partitions of its topics, and the
//! offsets a startup or bounded mode stands for (Flink's `OffsetsInitializer`s). Every
//! broker call is bounded by `properties.default.api.timeout.ms`, and a failure names the
//! brokers asked.

use std::collections::BTreeMap;
use std::time::Duration;

use eddy_runtime::RuntimeError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::options::{BoundedMode, KafkaOptions, StartupMode, Topics};

/// A topic partition.
pub(crate) type Partition = (String, i32);

/// The client configuration of a table: its brokers and `properties.*`, with `group` as
/// the consumer group when given.
pub(crate) fn client_config(opts: &KafkaOptions, group: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &opts.bootstrap_servers);
    // Flink's Kafka source reads uncommitted records unless told otherwise (the Java
    // client's default); librdkafka's default is read_committed.
    config.set("isolation.level", "read_uncommitted");
    for (k, v) in &opts.properties {
        config.set(k, v);
    }
    // Keys land on the partitions Flink's and Java's producers pick (murmur2), not
    // librdkafka's CRC32 default.
    if !opts.properties.contains_key("partitioner") {
        config.set("partitioner", "murmur2_random");
    }
    config.remove("group.id");
    if let Some(g) = group {
        config.set("group.id", g);
    }
    config
}

/// An error from the brokers of a table, naming them.
pub(crate) fn broker_error(opts: &KafkaOptions, doing: &str, e: KafkaError) -> RuntimeError {
    RuntimeError::External(format!(
        "Kafka brokers '{}' (properties.bootstrap.servers): {doing} failed: {e}",
        opts.bootstrap_servers
    ))
}

/// A consumer that reads assigned partitions only (it never joins its group; the group is
/// there to read and commit offsets).
pub(crate) fn consumer(opts: &KafkaOptions) -> Result<BaseConsumer, RuntimeError> {
    // librdkafka's consumer needs a group even to be assigned partitions; without the
    // user's, one of its own that is never joined nor committed to.
    let own = format!("eddy-{}", uuid::Uuid::new_v4().simple());
    let mut config = client_config(opts, Some(opts.group_id.as_deref().unwrap_or(&own)));
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    if !opts.properties.contains_key("auto.offset.reset") {
        // A restored offset that retention deleted restarts at the earliest kept record.
        config.set("auto.offset.reset", "earliest");
    }
    config
        .create()
        .map_err(|e| broker_error(opts, "creating a consumer", e))
}

/// The partitions of the table's topics, sorted. A named topic that does not exist is an
/// error naming it; a pattern may match none yet.
pub(crate) fn partitions(
    opts: &KafkaOptions,
    consumer: &BaseConsumer,
    timeout: Duration,
) -> Result<Vec<Partition>, RuntimeError> {
    let topics = opts.source_topics().map_err(RuntimeError::from)?;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| broker_error(opts, "listing topics", e))?;
    let mut out = Vec::new();
    for topic in metadata.topics() {
        if !topics.matches(topic.name()) || topic.error().is_some() {
            continue;
        }
        for p in topic.partitions() {
            out.push((topic.name().to_string(), p.id()));
        }
    }
    if let Topics::List(list) = topics {
        for t in list {
            if !out.iter().any(|(name, _)| name == t) {
                return Err(RuntimeError::User(format!(
                    "Kafka topic '{t}' does not exist on brokers '{}'",
                    opts.bootstrap_servers
                )));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Offsets per partition as `kind` says, for partitions of one call.
fn offsets_of(
    opts: &KafkaOptions,
    consumer: &BaseConsumer,
    partitions: &[Partition],
    kind: OffsetKind,
) -> Result<BTreeMap<Partition, i64>, RuntimeError> {
    let timeout = opts.api_timeout;
    let mut out = BTreeMap::new();
    match kind {
        OffsetKind::Earliest | OffsetKind::Latest => {
            for (t, p) in partitions {
                let (low, high) = consumer
                    .fetch_watermarks(t, *p, timeout)
                    .map_err(|e| broker_error(opts, &format!("reading offsets of '{t}'-{p}"), e))?;
                let offset = match kind {
                    OffsetKind::Earliest => low,
                    _ => high,
                };
                out.insert((t.clone(), *p), offset);
            }
        }
        OffsetKind::Timestamp(ts) => {
            let mut tpl = TopicPartitionList::new();
            for (t, p) in partitions {
                tpl.add_partition_offset(t, *p, Offset::Offset(ts))
                    .map_err(|e| broker_error(opts, "asking offsets for a time", e))?;
            }
            let found = consumer
                .offsets_for_times(tpl, timeout)
                .map_err(|e| broker_error(opts, "asking offsets for a time", e))?;
            // No record at or after the time: the partition's end, as Flink does.
            let ends = offsets_of(opts, consumer, partitions, OffsetKind::Latest)?;
            for e in found.elements() {
                let key = (e.topic().to_string(), e.partition());
                let offset = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => ends.get(&key).copied().unwrap_or(0),
                };
                out.insert(key, offset);
            }
        }
        OffsetKind::Committed { reset } => {
            let group = opts.group_id.as_deref().ok_or_else(|| {
                RuntimeError::User(
                    "'group-offsets' needs 'properties.group.id', the group whose offsets to use"
                        .into(),
                )
            })?;
            let mut tpl = TopicPartitionList::new();
            for (t, p) in partitions {
                tpl.add_partition(t, *p);
            }
            let committed = consumer.committed_offsets(tpl, timeout).map_err(|e| {
                broker_error(opts, &format!("reading offsets of group '{group}'"), e)
            })?;
            let mut missing = Vec::new();
            for e in committed.elements() {
                match e.offset() {
                    Offset::Offset(o) => {
                        out.insert((e.topic().to_string(), e.partition()), o);
                    }
                    _ => missing.push((e.topic().to_string(), e.partition())),
                }
            }
            match reset {
                Some(r) => out.extend(offsets_of(opts, consumer, &missing, r.into())?),
                None if !missing.is_empty() => {
                    let (t, p) = &missing[0];
                    return Err(RuntimeError::User(format!(
                        "group '{group}' has no committed offset for partition {p} of topic '{t}', and 'properties.auto.offset.reset' is not 'earliest' or 'latest'"
                    )));
                }
                None => {}
            }
        }
    }
    Ok(out)
}

/// Where a partition without a committed offset starts.
#[derive(Debug, Clone, Copy)]
enum Reset {
    Earliest,
    Latest,
}

impl From<Reset> for OffsetKind {
    fn from(r: Reset) -> Self {
        match r {
            Reset::Earliest => OffsetKind::Earliest,
            Reset::Latest => OffsetKind::Latest,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum OffsetKind {
    Earliest,
    Latest,
    Timestamp(i64),
    Committed { reset: Option<Reset> },
}

fn reset(opts: &KafkaOptions) -> Option<Reset> {
    match opts.properties.get("auto.offset.reset").map(String::as_str) {
        Some("earliest" | "smallest" | "beginning") => Some(Reset::Earliest),
        Some("latest" | "largest" | "end") => Some(Reset::Latest),
        _ => None,
    }
}

/// Where each partition starts, by the startup mode.
pub(crate) fn start_offsets(
    opts: &KafkaOptions,
    consumer: &BaseConsumer,
    partitions: &[Partition],
) -> Result<BTreeMap<Partition, i64>, RuntimeError> {
    match &opts.startup {
        StartupMode::Earliest => offsets_of(opts, consumer, partitions, OffsetKind::Earliest),
        StartupMode::Latest => offsets_of(opts, consumer, partitions, OffsetKind::Latest),
        StartupMode::Timestamp(ts) => {
            offsets_of(opts, consumer, partitions, OffsetKind::Timestamp(*ts))
        }
        StartupMode::GroupOffsets => offsets_of(
            opts,
            consumer,
            partitions,
            OffsetKind::Committed { reset: reset(opts) },
        ),
        // Partitions not listed start from the group's offsets, else the earliest, as
        // Flink's specific-offsets initializer does.
        StartupMode::Specific(given) => {
            let (listed, rest): (Vec<_>, Vec<_>) = partitions
                .iter()
                .cloned()
                .partition(|(_, p)| given.contains_key(p));
            let mut out: BTreeMap<Partition, i64> = listed
                .into_iter()
                .map(|(t, p)| {
                    let o = given[&p];
                    ((t, p), o)
                })
                .collect();
            if !rest.is_empty() {
                let kind = match opts.group_id {
                    Some(_) => OffsetKind::Committed {
                        reset: Some(Reset::Earliest),
                    },
                    None => OffsetKind::Earliest,
                };
                out.extend(offsets_of(opts, consumer, &rest, kind)?);
            }
            Ok(out)
        }
    }
}

/// Where each partition ends (exclusive), by the bounded mode; empty when unbounded.
pub(crate) fn stop_offsets(
    opts: &KafkaOptions,
    consumer: &BaseConsumer,
    partitions: &[Partition],
) -> Result<BTreeMap<Partition, i64>, RuntimeError> {
    match &opts.bounded {
        BoundedMode::Unbounded => Ok(BTreeMap::new()),
        BoundedMode::Latest => offsets_of(opts, consumer, partitions, OffsetKind::Latest),
        BoundedMode::Timestamp(ts) => {
            offsets_of(opts, consumer, partitions, OffsetKind::Timestamp(*ts))
        }
        BoundedMode::GroupOffsets => offsets_of(
            opts,
            consumer,
            partitions,
            OffsetKind::Committed { reset: reset(opts) },
        ),
        BoundedMode::Specific(given) => partitions
            .iter()
            .map(|(t, p)| match given.get(p) {
                Some(o) => Ok(((t.clone(), *p), *o)),
                None => Err(RuntimeError::User(format!(
                    "'scan.bounded.specific-offsets' gives no offset for partition {p} of topic '{t}'"
                ))),
            })
            .collect(),
    }
}

/// The subtask that reads a partition, as Flink's `KafkaSourceEnumerator.getSplitOwner`
/// decides: partitions of one topic go round-robin from a start the topic's name picks.
pub(crate) fn owner(topic: &str, partition: i32, parallelism: u32) -> u32 {
    let n = parallelism.max(1) as i64;
    let start = ((java_hash(topic).wrapping_mul(31) & 0x7FFF_FFFF) as i64) % n;
    ((start + partition as i64) % n) as u32
}

/// Java's `String.hashCode`, over UTF-16 code units.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_follow_flinks_rule() {
        assert_eq!(java_hash("bids"), 3_023_638);
        assert_eq!(java_hash(""), 0);
        // Partitions of one topic spread over every reader.
        let owners: Vec<u32> = (0..4).map(|p| owner("bids", p, 4)).collect();
        let mut sorted = owners.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        assert_eq!(owner("bids", 0, 1), 0);
    }
}
