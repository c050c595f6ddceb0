//! One subtask's reader of Kafka partitions. A poll takes what librdkafka has fetched (up
//! to a batch of records, without waiting) into per-partition buffers, then returns one
//! partition's buffer decoded as one batch, so every batch comes from one split and
//! watermarks stay per partition. A partition's position advances only with the batches
//! returned, which is what a checkpoint records; the offsets of a completed checkpoint are
//! committed to the consumer group.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use eddy_runtime::connector::{ReaderPoll, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::client::{self, broker_error, owner};
use super::decode::{KafkaDecoder, RecordBuffer};
use super::options::KafkaOptions;
use super::source::PartitionSplit;

/// How often a bounded reader with nothing to read asks where its partitions are (a
/// transaction marker at the end moves the position without a record).
const POSITION_CHECK: Duration = Duration::from_millis(200);
/// Longest wait a poll with nothing to return suggests.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// One partition being read.
struct PartitionReader {
    split: PartitionSplit,
    finished: bool,
    buffer: RecordBuffer,
}

impl PartitionReader {
    /// The next offset to read, when known.
    fn next(&self) -> Option<i64> {
        self.split.offset
    }

    fn reached_stop(&self) -> bool {
        match (self.split.stop, self.split.offset) {
            (Some(stop), Some(next)) => next >= stop,
            _ => false,
        }
    }
}

/// Reads the partitions assigned to one subtask.
pub struct KafkaReader {
    table: String,
    opts: KafkaOptions,
    consumer: BaseConsumer,
    partitions: Vec<PartitionReader>,
    /// Topic → partition → index in `partitions`.
    index: HashMap<String, HashMap<i32, usize>>,
    decoder: KafkaDecoder,
    keyed: bool,
    batch_size: usize,
    /// The partition of the last batch returned.
    current: usize,
    finished_since: Vec<usize>,
    declared: usize,
    subtask: u32,
    parallelism: u32,
    next_discovery: Option<Instant>,
    next_position_check: Instant,
    /// Offsets to commit per checkpoint, until it completes.
    pending_commits: BTreeMap<u64, Vec<(String, i32, i64)>>,
    /// Since when every broker has been unreachable.
    down_since: Option<Instant>,
}

impl KafkaReader {
    pub(crate) fn new(
        table: &str,
        schema: SchemaRef,
        opts: &KafkaOptions,
        splits: Vec<PartitionSplit>,
        info: &SubtaskInfo,
    ) -> Result<Self> {
        let consumer = client::consumer(opts)?;
        let mut reader = Self {
            table: table.to_string(),
            opts: opts.clone(),
            consumer,
            partitions: Vec::new(),
            index: HashMap::new(),
            decoder: KafkaDecoder::new(opts, schema, info.metrics.clone())?,
            keyed: opts.key.is_some(),
            batch_size: info.batch_size.max(1),
            current: 0,
            finished_since: Vec::new(),
            declared: splits.len(),
            subtask: info.subtask_index,
            parallelism: info.parallelism,
            next_discovery: match (opts.is_bounded(), opts.discovery) {
                (false, Some(interval)) => Some(Instant::now() + interval),
                _ => None,
            },
            next_position_check: Instant::now(),
            pending_commits: BTreeMap::new(),
            down_since: None,
        };
        reader.add(splits)?;
        Ok(reader)
    }

    /// Starts reading `splits`, along with those read already.
    fn add(&mut self, splits: Vec<PartitionSplit>) -> Result<()> {
        for split in splits {
            let i = self.partitions.len();
            self.index
                .entry(split.topic.clone())
                .or_default()
                .insert(split.partition, i);
            let reader = PartitionReader {
                split,
                finished: false,
                buffer: RecordBuffer::default(),
            };
            if reader.reached_stop() {
                self.finish(i, reader);
                continue;
            }
            self.partitions.push(reader);
        }
        self.assign()
    }

    /// Assigns every unfinished partition at its position. A consumer outside a group
    /// cannot add partitions to its assignment (librdkafka's incremental assign needs a
    /// group), so the whole assignment is given again; records fetched but not returned
    /// are dropped and fetched again from the position.
    fn assign(&mut self) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for p in self.partitions.iter_mut().filter(|p| !p.finished) {
            p.buffer.clear();
            let offset = match p.split.offset {
                Some(o) => Offset::Offset(o),
                None => Offset::Beginning,
            };
            tpl.add_partition_offset(&p.split.topic, p.split.partition, offset)
                .map_err(|e| broker_error(&self.opts, "assigning partitions", e))?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| broker_error(&self.opts, "assigning partitions", e))
    }

    /// Records partition `i` (`reader`, not yet in `partitions`) as already finished.
    fn finish(&mut self, i: usize, mut reader: PartitionReader) {
        reader.finished = true;
        self.finished_since.push(i);
        self.partitions.push(reader);
    }

    /// Looks for partitions that appeared since the start and that this subtask owns.
    fn discover(&mut self) -> Result<()> {
        let Some(due) = self.next_discovery else {
            return Ok(());
        };
        if Instant::now() < due {
            return Ok(());
        }
        self.next_discovery = self.opts.discovery.map(|d| Instant::now() + d);
        let found = match client::partitions(&self.opts, &self.consumer, Duration::from_secs(1)) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(table = %self.table, error = %e, "partition discovery failed; trying again later");
                return Ok(());
            }
        };
        let new: Vec<PartitionSplit> = found
            .into_iter()
            .filter(|(t, p)| {
                !self.index.get(t).is_some_and(|m| m.contains_key(p))
                    && owner(t, *p, self.parallelism) == self.subtask
            })
            .map(|(topic, partition)| PartitionSplit {
                topic,
                partition,
                offset: None,
                stop: None,
            })
            .collect();
        if !new.is_empty() {
            tracing::info!(table = %self.table, partitions = new.len(), "reading newly found partitions from the earliest offset");
            self.add(new)?;
        }
        Ok(())
    }

    /// Takes fetched records into the partitions' buffers, a batch's worth at most.
    fn fill(&mut self) -> Result<()> {
        let record_metadata = self.decoder.needs_record_metadata();
        let with_headers = self.decoder.needs_headers();
        let Self {
            consumer,
            partitions,
            index,
            keyed,
            ..
        } = self;
        let upsert = self.opts.upsert;
        let mut keyless = 0;
        let mut taken = 0;
        while taken < self.batch_size {
            let message = match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    Self::on_error(&self.opts, &mut self.down_since, e)?;
                    continue;
                }
            };
            self.down_since = None;
            let Some(&i) = index
                .get(message.topic())
                .and_then(|m| m.get(&message.partition()))
            else {
                continue;
            };
            let p = &mut partitions[i];
            let offset = message.offset();
            if p.finished || p.next().is_some_and(|n| offset < n) {
                continue;
            }
            if p.split.stop.is_some_and(|stop| offset >= stop) {
                continue;
            }
            // A record without a value (a tombstone) holds no row, as in Flink's source,
            // except in an upsert table, where it deletes its key. A record without a key
            // says nothing of an upsert table: skipped and counted.
            let payload = match (message.payload(), upsert) {
                _ if upsert && message.key().is_none() => {
                    keyless += 1;
                    None
                }
                (Some(value), _) => Some(value),
                (None, true) => Some(&[][..]),
                (None, false) => None,
            };
            if let Some(value) = payload {
                if upsert {
                    p.buffer.tombstones.push(message.payload().is_none());
                }
                p.buffer.values.push(offset as u64, value);
                if record_metadata {
                    p.buffer.meta.push(&message, with_headers);
                }
                if *keyed {
                    let key = message.key();
                    p.buffer.keys.push(offset as u64, key.unwrap_or_default());
                    p.buffer.null_keys.push(key.is_none());
                }
            }
            p.buffer.last_offset = Some(offset);
            taken += 1;
        }
        if keyless > 0 {
            self.decoder.count_skipped(keyless);
        }
        Ok(())
    }

    fn on_error(
        opts: &KafkaOptions,
        down_since: &mut Option<Instant>,
        e: KafkaError,
    ) -> Result<()> {
        match e.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                let since = *down_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= opts.api_timeout {
                    return Err(broker_error(opts, "reading", e));
                }
                Ok(())
            }
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
                Err(RuntimeError::User(format!(
                    "Kafka brokers '{}': {e} (was a topic deleted?)",
                    opts.bootstrap_servers
                )))
            }
            // librdkafka retries the rest (a lost connection, a leader moving) by itself.
            _ => {
                tracing::debug!(error = %e, "Kafka consumer error; librdkafka retries");
                Ok(())
            }
        }
    }

    /// Decodes partition `i`'s buffer and moves its position past it.
    fn take(&mut self, i: usize) -> Result<Option<datafusion::arrow::record_batch::RecordBatch>> {
        let p = &mut self.partitions[i];
        let batch = self
            .decoder
            .decode(&p.split.topic, p.split.partition, &p.buffer)?;
        if let Some(last) = p.buffer.last_offset {
            p.split.offset = Some(last + 1);
        }
        p.buffer.clear();
        if p.reached_stop() {
            self.mark_finished(i)?;
        }
        Ok(batch)
    }

    fn mark_finished(&mut self, i: usize) -> Result<()> {
        let p = &mut self.partitions[i];
        p.finished = true;
        self.finished_since.push(i);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&p.split.topic, p.split.partition);
        self.consumer
            .pause(&tpl)
            .map_err(|e| broker_error(&self.opts, "pausing a finished partition", e))
    }

    /// A bounded reader with nothing buffered: partitions whose position passed their
    /// end without a record there (a transaction marker, a compacted record) are done.
    fn check_positions(&mut self) -> Result<()> {
        if Instant::now() < self.next_position_check {
            return Ok(());
        }
        self.next_position_check = Instant::now() + POSITION_CHECK;
        let positions = self
            .consumer
            .position()
            .map_err(|e| broker_error(&self.opts, "reading positions", e))?;
        let mut done = Vec::new();
        for e in positions.elements() {
            let Offset::Offset(position) = e.offset() else {
                continue;
            };
            let Some(&i) = self
                .index
                .get(e.topic())
                .and_then(|m| m.get(&e.partition()))
            else {
                continue;
            };
            let p = &mut self.partitions[i];
            if !p.finished
                && p.buffer.last_offset.is_none()
                && p.split.stop.is_some_and(|stop| position >= stop)
            {
                p.split.offset = p.split.stop;
                done.push(i);
            }
        }
        for i in done {
            self.mark_finished(i)?;
        }
        Ok(())
    }

    fn all_finished(&self) -> bool {
        self.partitions.iter().all(|p| p.finished)
    }
}

impl SourceReader for KafkaReader {
    fn poll_next(&mut self) -> Result<ReaderPoll> {
        self.discover()?;
        self.fill()?;
        let n = self.partitions.len();
        for step in 0..n {
            let i = (self.current + 1 + step) % n;
            if self.partitions[i].buffer.last_offset.is_none() {
                continue;
            }
            let batch = self.take(i)?;
            if let Some(batch) = batch {
                self.current = i;
                return Ok(ReaderPoll::Batch(batch));
            }
        }
        if let Some(since) = self.down_since {
            if since.elapsed() >= self.opts.api_timeout {
                // Still nothing: ask the brokers once, and fail naming them if they are gone.
                match self.consumer.fetch_metadata(None, Duration::from_secs(1)) {
                    Ok(_) => self.down_since = None,
                    Err(e) => return Err(broker_error(&self.opts, "reading", e)),
                }
            }
        }
        if self.opts.is_bounded() {
            self.check_positions()?;
            if self.all_finished() {
                return Ok(ReaderPoll::Finished);
            }
        }
        Ok(ReaderPoll::Pending(IDLE_WAIT))
    }

    fn current_split(&self) -> usize {
        self.current
    }

    fn interleaves_splits(&self) -> bool {
        true
    }

    fn declared_splits(&self) -> usize {
        self.declared
    }

    fn take_finished_splits(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.finished_since)
    }

    fn snapshot_splits(&mut self, checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        let mut commits = Vec::new();
        let mut out = Vec::new();
        for p in self.partitions.iter().filter(|p| !p.finished) {
            if let Some(next) = p.next() {
                commits.push((p.split.topic.clone(), p.split.partition, next));
            }
            out.push(p.split.to_split()?);
        }
        if self.opts.commit_on_checkpoint && self.opts.group_id.is_some() && !commits.is_empty() {
            self.pending_commits.insert(checkpoint_id, commits);
        }
        Ok(out)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        let later = self.pending_commits.split_off(&(checkpoint_id + 1));
        let due = std::mem::replace(&mut self.pending_commits, later);
        let Some((_, offsets)) = due.into_iter().next_back() else {
            return Ok(());
        };
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in &offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|e| broker_error(&self.opts, "committing offsets", e))?;
        }
        // As in Flink, a failed commit is only logged: the checkpoint holds the offsets.
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            tracing::warn!(table = %self.table, checkpoint = checkpoint_id, error = %e, "cannot commit offsets to the consumer group");
        }
        Ok(())
    }
}
