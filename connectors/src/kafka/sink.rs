//! Writing a Kafka table (Flink's `KafkaSink`): each row is one record of the value
//! format, keyed by the key format when there is one. `sink.delivery-guarantee`:
//! - `none`: records are handed to librdkafka and not waited for;
//! - `at-least-once`: every checkpoint (and the end of input) waits until every record
//!   written so far is acknowledged, so a restored job repeats at most what followed;
//! - `exactly-once`: records are written in a Kafka transaction per checkpoint, committed
//!   when the checkpoint completes. Each subtask keeps a few transactional producers
//!   (`<prefix>-<subtask>-<n>`): one takes new records while the transactions of
//!   checkpoints not yet completed wait. Starting a producer (`init_transactions`) aborts
//!   what an earlier attempt left open under its id.
//!
//! A restarted job commits the transactions of the checkpoint it restores, whose producers
//! died with the failed attempt, by their producer id and epoch ([`super::txn`]), as
//! Flink's sink resumes them; then it aborts what else the failed attempt left open.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::{Result, RowKind, RuntimeError};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message};
use serde::{Deserialize, Serialize};

use super::client::{broker_error, client_config};
use super::options::{DeliveryGuarantee, KafkaOptions, SinkPartitioner};
use super::txn;
use crate::format::BatchEncoder;

/// A Kafka table written as a sink.
pub struct KafkaSink {
    pub(crate) table: String,
    pub(crate) schema: SchemaRef,
    pub(crate) opts: KafkaOptions,
}

/// The first delivery failure librdkafka reported, for the writer to raise.
#[derive(Default)]
struct DeliveryErrors {
    failed: AtomicBool,
    first: Mutex<Option<String>>,
}

struct WriterContext {
    errors: Arc<DeliveryErrors>,
    /// The producer id and epoch of a transactional producer, once acquired.
    pid: Mutex<Option<(i64, i16)>>,
}

impl ClientContext for WriterContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        if let Some(pid) = super::txn::acquired_pid(message) {
            if let Ok(mut slot) = self.pid.lock() {
                *slot = Some(pid);
            }
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", "{fac}: {message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", "{fac}: {message}"),
            _ => tracing::trace!(target: "librdkafka", "{fac}: {message}"),
        }
    }
}

impl ProducerContext for WriterContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, message)) = result {
            // Only failures take the lock; deliveries that succeed touch nothing.
            if !self.errors.failed.swap(true, Ordering::AcqRel) {
                if let Ok(mut first) = self.errors.first.lock() {
                    *first = Some(format!(
                        "delivering a record to partition {} failed: {e}",
                        message.partition()
                    ));
                }
            }
        }
    }
}

type Producer_ = BaseProducer<WriterContext>;

/// What a checkpoint holds of a transactional writer: the transaction it prepared, if
/// records were written since the last checkpoint, by id and by the producer id and epoch
/// that resuming it takes.
#[derive(Debug, Serialize, Deserialize)]
struct Committable {
    /// The barrier this was prepared at.
    checkpoint: u64,
    subtask: u32,
    transaction: Option<Prepared>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Prepared {
    transactional_id: String,
    producer_id: i64,
    epoch: i16,
}

impl Sink for KafkaSink {
    fn create_writer(&self, info: &SubtaskInfo) -> Result<Box<dyn SinkWriter>> {
        let topic = self
            .opts
            .sink_topic()
            .map_err(RuntimeError::from)?
            .to_string();
        let partitions = topic_partitions(&self.opts, &topic)?;
        let value = &self.opts.value;
        let key = match &self.opts.key {
            Some(k) => Some((
                k.factory.create_encoder(k.schema.clone(), &k.options)?,
                k.columns.clone(),
                k.schema.clone(),
            )),
            None => None,
        };
        let errors = Arc::new(DeliveryErrors::default());
        let mut writer = KafkaWriter {
            table: self.table.clone(),
            topic,
            opts: self.opts.clone(),
            value: value
                .factory
                .create_encoder(value.schema.clone(), &value.options)?,
            value_columns: value.columns.clone(),
            changelog: value.factory.produces_changelog(),
            raw_value: value.factory.identifier() == "raw",
            raw_key: self
                .opts
                .key
                .as_ref()
                .is_some_and(|k| k.factory.identifier() == "raw"),
            timestamp_column: (0..self.schema.fields().len())
                .find(|&i| crate::metadata::key_of(self.schema.field(i)) == Some("timestamp")),
            headers_column: (0..self.schema.fields().len())
                .find(|&i| crate::metadata::key_of(self.schema.field(i)) == Some("headers")),
            key,
            partitions,
            next_partition: info.subtask_index as i32,
            subtask: info.subtask_index,
            cancel: info.cancel.clone(),
            errors,
            producer: None,
            pending: BTreeMap::new(),
            last_barrier: 0,
            restored_from: None,
            values: Vec::new(),
            value_ends: Vec::new(),
            keys: Vec::new(),
            key_ends: Vec::new(),
            schema: self.schema.clone(),
        };
        // Transactional producers start on first use: a restored writer first commits the
        // transactions of its checkpoint, which starting a producer under their ids would
        // abort.
        if writer.opts.delivery != DeliveryGuarantee::ExactlyOnce {
            writer.producer = Some(writer.new_producer()?);
        }
        Ok(Box::new(writer))
    }
}

/// The number of partitions of `topic`, which must exist.
fn topic_partitions(opts: &KafkaOptions, topic: &str) -> Result<i32> {
    let consumer: BaseConsumer = client_config(opts, None)
        .create()
        .map_err(|e| broker_error(opts, "connecting", e))?;
    let metadata = consumer
        .fetch_metadata(None, opts.api_timeout)
        .map_err(|e| broker_error(opts, "listing topics", e))?;
    match metadata.topics().iter().find(|t| t.name() == topic) {
        Some(t) if !t.partitions().is_empty() => Ok(t.partitions().len() as i32),
        _ => Err(RuntimeError::User(format!(
            "Kafka topic '{topic}' does not exist on brokers '{}'",
            opts.bootstrap_servers
        ))),
    }
}

/// Writes one subtask's rows.
struct KafkaWriter {
    table: String,
    topic: String,
    opts: KafkaOptions,
    value: Box<dyn BatchEncoder>,
    /// The value format is `raw`, whose NULL is a record without a value.
    raw_value: bool,
    /// The key format is `raw`: a NULL key column is a record without a key.
    raw_key: bool,
    value_columns: Vec<usize>,
    changelog: bool,
    /// The `timestamp` metadata column, whose values become the records' timestamps.
    timestamp_column: Option<usize>,
    /// The `headers` metadata column, whose maps become the records' headers.
    headers_column: Option<usize>,
    key: Option<(Box<dyn BatchEncoder>, Vec<usize>, SchemaRef)>,
    partitions: i32,
    next_partition: i32,
    subtask: u32,
    cancel: Arc<AtomicBool>,
    errors: Arc<DeliveryErrors>,
    /// The producer records go to; with transactions, the one whose transaction is open.
    producer: Option<(String, Producer_)>,
    /// Transactional producers whose transaction waits for its checkpoint, by id.
    pending: BTreeMap<String, Producer_>,
    /// The last barrier seen (or restored from): the next transaction is named after
    /// the one that follows it, so every transaction has an id of its own.
    last_barrier: u64,
    /// The checkpoint a restored writer started from, until its first barrier has
    /// aborted what the failed attempt left open after it.
    restored_from: Option<u64>,
    values: Vec<u8>,
    value_ends: Vec<usize>,
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    schema: SchemaRef,
}

impl KafkaWriter {
    fn transactional(&self) -> bool {
        self.opts.delivery == DeliveryGuarantee::ExactlyOnce
    }

    /// The transactional id of the transaction that follows barrier `after`, as Flink's
    /// `<prefix>-<subtask>-<checkpoint>`.
    fn transactional_id(&self, after: u64) -> String {
        let prefix = self
            .opts
            .transactional_id_prefix
            .as_deref()
            .unwrap_or("eddy");
        format!("{prefix}-{}-{}", self.subtask, after + 1)
    }

    /// A producer: for transactions, one started under the id of the next transaction,
    /// which aborts whatever an earlier attempt left open under it.
    fn new_producer(&mut self) -> Result<(String, Producer_)> {
        let id = match self.transactional() {
            true => self.transactional_id(self.last_barrier),
            false => String::new(),
        };
        self.start_producer(id)
    }

    fn start_producer(&self, id: String) -> Result<(String, Producer_)> {
        let mut config = client_config(&self.opts, None);
        // A record not delivered within the API timeout fails the job (naming the
        // brokers) instead of waiting librdkafka's default five minutes.
        if !self.opts.properties.contains_key("message.timeout.ms") {
            config.set(
                "message.timeout.ms",
                self.opts.api_timeout.as_millis().to_string(),
            );
        }
        if self.transactional() {
            config.set("transactional.id", &id);
            // librdkafka reports the producer id and epoch, which resuming the
            // transaction after a failure takes, only in this log.
            if !self.opts.properties.contains_key("debug") {
                config.set("debug", "eos");
            }
            config.set_log_level(RDKafkaLogLevel::Debug);
            if !self.opts.properties.contains_key("transaction.timeout.ms") {
                // Long enough for a slow checkpoint; the broker caps it.
                config.set("transaction.timeout.ms", "900000");
            }
        }
        let producer: Producer_ = config
            .create_with_context(WriterContext {
                errors: self.errors.clone(),
                pid: Mutex::new(None),
            })
            .map_err(|e| broker_error(&self.opts, "creating a producer", e))?;
        if self.transactional() {
            producer
                .init_transactions(self.opts.api_timeout)
                .map_err(|e| self.failure(&format!("starting transactional producer '{id}'"), e))?;
        }
        Ok((id, producer))
    }

    fn failure(&self, doing: &str, e: KafkaError) -> RuntimeError {
        RuntimeError::External(format!(
            "Kafka sink of table '{}' (topic '{}', brokers '{}'): {doing} failed: {e}",
            self.table, self.topic, self.opts.bootstrap_servers
        ))
    }

    fn check_deliveries(&self) -> Result<()> {
        if !self.errors.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let first = self
            .errors
            .first
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_default();
        Err(RuntimeError::External(format!(
            "Kafka sink of table '{}' (topic '{}', brokers '{}'): {first}",
            self.table, self.topic, self.opts.bootstrap_servers
        )))
    }

    /// At the first barrier after a restore from checkpoint `c`: the failed attempt named
    /// its transactions after barriers `c + 1 ..= barrier` (this attempt's barriers come
    /// after all of its), so starting a producer under each of those ids aborts whatever
    /// it left open, which would otherwise hold `read_committed` readers back until the
    /// broker times the transaction out.
    fn abort_lingering(&mut self, barrier: u64) -> Result<()> {
        let Some(c) = self.restored_from.take() else {
            return Ok(());
        };
        let prepared: Vec<String> = self.pending.keys().cloned().collect();
        // A bound for a savepoint of a long-gone run: its later ids timed out long ago.
        let from = c.max(barrier.saturating_sub(1000));
        for after in from..barrier {
            let id = self.transactional_id(after);
            if !prepared.contains(&id) {
                drop(self.start_producer(id)?);
            }
        }
        Ok(())
    }

    /// The producer to write to, opening a transaction when needed.
    fn open(&mut self) -> Result<()> {
        if self.producer.is_some() {
            return Ok(());
        }
        let (id, producer) = self.new_producer()?;
        producer
            .begin_transaction()
            .map_err(|e| self.failure(&format!("beginning a transaction of '{id}'"), e))?;
        self.producer = Some((id, producer));
        Ok(())
    }

    /// Encodes the rows of `batch` into `values` (and `keys`).
    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        self.values.clear();
        self.value_ends.clear();
        self.keys.clear();
        self.key_ends.clear();
        let mut columns = self.value_columns.clone();
        if self.changelog && batch.num_columns() > self.schema.fields().len() {
            columns.push(batch.num_columns() - 1);
        }
        let values = batch.project(&columns)?;
        self.value
            .encode_records(&values, &mut self.values, &mut self.value_ends)?;
        if let Some((encoder, key_columns, key_schema)) = &mut self.key {
            let keys = RecordBatch::try_new(
                key_schema.clone(),
                key_columns
                    .iter()
                    .map(|&c| batch.column(c).clone())
                    .collect(),
            )?;
            encoder.encode_records(&keys, &mut self.keys, &mut self.key_ends)?;
        }
        if self.value_ends.len() != batch.num_rows() {
            return Err(RuntimeError::Internal(format!(
                "{} records from {} rows",
                self.value_ends.len(),
                batch.num_rows()
            )));
        }
        Ok(())
    }

    fn partition_for_next(&mut self) -> Option<i32> {
        match self.opts.partitioner {
            SinkPartitioner::Default => None,
            SinkPartitioner::Fixed => Some(self.subtask as i32 % self.partitions),
            SinkPartitioner::RoundRobin => {
                let p = self.next_partition % self.partitions;
                self.next_partition = (p + 1) % self.partitions;
                Some(p)
            }
        }
    }

    /// Waits until librdkafka acknowledged every record written.
    fn flush(&self) -> Result<()> {
        if let Some((_, p)) = &self.producer {
            p.flush(self.opts.api_timeout)
                .map_err(|e| self.failure("waiting for records to be acknowledged", e))?;
        }
        self.check_deliveries()
    }
}

impl SinkWriter for KafkaWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.check_deliveries()?;
        if self.transactional() {
            self.open()?;
        }
        // An upsert table takes each key's new value and tombstones for deletions. The
        // planner sends the old side of an update (`-U`) only when the sink needs it (a
        // filter after an aggregation may drop the new side): it is a tombstone too, as
        // Flink's upsert-kafka writes it.
        let (batch, deletes) = match (self.opts.upsert, eddy_runtime::changelog::ops(batch)) {
            (true, Some(kinds)) => (
                batch,
                kinds
                    .values()
                    .iter()
                    .map(|&k| k == RowKind::Delete.to_i8() || k == RowKind::UpdateBefore.to_i8())
                    .collect(),
            ),
            _ => (batch, Vec::new()),
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.encode(batch)?;
        let timestamps = match self.timestamp_column {
            Some(c) => Some(
                datafusion::arrow::compute::cast(
                    batch.column(c),
                    &datafusion::arrow::datatypes::DataType::Timestamp(
                        datafusion::arrow::datatypes::TimeUnit::Millisecond,
                        None,
                    ),
                )?
                .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>()
                .clone(),
            ),
            None => None,
        };
        // A NULL `raw` value is a record without a value, as Flink's raw format writes it.
        let raw_value = match self.raw_value {
            true => self.value_columns.first().map(|&c| batch.column(c)),
            false => None,
        };
        let raw_key = match &self.key {
            Some((_, columns, _)) if self.raw_key => columns.first().map(|&c| batch.column(c)),
            _ => None,
        };
        let mut headers = match self.headers_column {
            Some(c) => Some(headers_of(batch.column(c))?),
            None => None,
        };
        let mut start = 0;
        let mut key_start = 0;
        for row in 0..self.value_ends.len() {
            let end = self.value_ends[row];
            let partition = self.partition_for_next();
            let Some((_, producer)) = &self.producer else {
                return Err(RuntimeError::Internal(
                    "a Kafka writer without a producer".into(),
                ));
            };
            let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic);
            let null_raw = raw_value.is_some_and(|c| c.is_null(row));
            if !deletes.get(row).copied().unwrap_or(false) && !null_raw {
                record = record.payload(&self.values[start..end]);
            }
            if let Some(&key_end) = self.key_ends.get(row) {
                if !raw_key.is_some_and(|c| c.is_null(row)) {
                    record = record.key(&self.keys[key_start..key_end]);
                }
                key_start = key_end;
            }
            if let Some(p) = partition {
                record = record.partition(p);
            }
            if let Some(ts) = timestamps.as_ref().filter(|t| t.is_valid(row)) {
                record = record.timestamp(ts.value(row));
            }
            if let Some(h) = headers
                .as_mut()
                .and_then(|h| h.get_mut(row))
                .and_then(Option::take)
            {
                record = record.headers(h);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        // librdkafka's queue is full: let it deliver, then try again.
                        producer.poll(Duration::from_millis(50));
                        self.check_deliveries()?;
                        if self.cancel.load(Ordering::Relaxed) {
                            return Err(RuntimeError::Cancelled);
                        }
                        record = r;
                    }
                    Err((e, _)) => return Err(self.failure("producing a record", e)),
                }
            }
            start = end;
        }
        if let Some((_, p)) = &self.producer {
            p.poll(Duration::ZERO);
        }
        self.check_deliveries()
    }

    fn finish(&mut self) -> Result<()> {
        // Checkpoints are off: the end of input makes everything visible.
        self.flush()?;
        if self.transactional() {
            if let Some((id, p)) = self.producer.take() {
                p.commit_transaction(self.opts.api_timeout).map_err(|e| {
                    self.failure(&format!("committing the transaction of '{id}'"), e)
                })?;
            }
        }
        Ok(())
    }

    fn abort(&mut self) {
        // Only the transaction being written: those awaiting their checkpoints may belong
        // to checkpoints that completed. The next attempt's producers fence all of them.
        if let Some((id, p)) = self.producer.take() {
            if let Err(e) = p.abort_transaction(Duration::from_secs(5)) {
                tracing::debug!(transactional_id = %id, error = %e, "cannot abort a transaction; the next attempt aborts it");
            }
        }
    }

    fn recover(&mut self, all_committables: &[Vec<u8>]) -> Result<()> {
        if !self.transactional() {
            return Ok(());
        }
        // The checkpoint restored from: the failed attempt named its later transactions
        // after the barriers that followed it. The first of them is started (so aborted)
        // by this attempt's first transaction, the others at its first barrier.
        let restored = all_committables
            .iter()
            .filter_map(|b| serde_json::from_slice::<Committable>(b).ok())
            .map(|c| c.checkpoint)
            .filter(|&c| c != FINAL_CHECKPOINT_ID)
            .max();
        if let Some(c) = restored {
            self.last_barrier = c;
            self.restored_from = Some(c);
        }
        Ok(())
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        match self.opts.delivery {
            DeliveryGuarantee::None => Ok(Vec::new()),
            DeliveryGuarantee::AtLeastOnce => {
                self.flush()?;
                Ok(Vec::new())
            }
            DeliveryGuarantee::ExactlyOnce => {
                self.flush()?;
                let transaction = match self.producer.take() {
                    Some((id, producer)) => {
                        let (producer_id, epoch) = producer
                            .context()
                            .pid
                            .lock()
                            .ok()
                            .and_then(|p| *p)
                            .ok_or_else(|| {
                                RuntimeError::Internal(format!(
                                    "librdkafka did not report the producer id of '{id}'"
                                ))
                            })?;
                        self.pending.insert(id.clone(), producer);
                        Some(Prepared {
                            transactional_id: id,
                            producer_id,
                            epoch,
                        })
                    }
                    None => None,
                };
                if checkpoint_id != FINAL_CHECKPOINT_ID {
                    self.abort_lingering(checkpoint_id)?;
                    self.last_barrier = checkpoint_id;
                }
                let committable = serde_json::to_vec(&Committable {
                    checkpoint: checkpoint_id,
                    subtask: self.subtask,
                    transaction,
                })
                .map_err(|e| RuntimeError::Internal(e.to_string()))?;
                Ok(vec![committable])
            }
        }
    }

    fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
        for bytes in committables {
            let c: Committable = serde_json::from_slice(&bytes)
                .map_err(|e| RuntimeError::Internal(format!("a Kafka committable: {e}")))?;
            let Some(t) = c.transaction else {
                continue;
            };
            match self.pending.remove(&t.transactional_id) {
                Some(p) => p.commit_transaction(self.opts.api_timeout).map_err(|e| {
                    self.failure(
                        &format!("committing the transaction of '{}'", t.transactional_id),
                        e,
                    )
                })?,
                // A transaction of the checkpoint restored from, whose producer died with
                // the failed attempt: committed by its id and epoch (again, harmlessly,
                // if the failed attempt committed it).
                None => match txn::commit_prepared(
                    &self.opts.bootstrap_servers,
                    &t.transactional_id,
                    t.producer_id,
                    t.epoch,
                    self.opts.api_timeout,
                ) {
                    Ok(()) => {}
                    Err(txn::ResumeError::Unreachable(e)) => {
                        return Err(RuntimeError::External(format!(
                            "Kafka sink of table '{}': committing the transaction of '{}' left by the failed attempt: {e}",
                            self.table, t.transactional_id
                        )))
                    }
                    // As Flink's committer: the transaction was aborted (it timed out, say);
                    // its records are gone, which is logged, and the job goes on.
                    Err(txn::ResumeError::Refused(e)) => tracing::error!(
                        table = %self.table,
                        transactional_id = %t.transactional_id,
                        "cannot commit the transaction left by the failed attempt; its records are lost: {e}"
                    ),
                },
            }
        }
        Ok(())
    }
}

/// The records' headers from a `headers` column (`MAP<STRING, BYTES>`), per row; `None`
/// for a NULL map.
fn headers_of(column: &dyn Array) -> Result<Vec<Option<OwnedHeaders>>> {
    let map = column.as_map_opt().ok_or_else(|| {
        RuntimeError::User(format!(
            "the headers column is {}, not MAP<STRING, BYTES>",
            column.data_type()
        ))
    })?;
    let keys = datafusion::arrow::compute::cast(map.keys(), &DataType::Utf8)?;
    let values = datafusion::arrow::compute::cast(map.values(), &DataType::Binary)?;
    let (keys, values) = (keys.as_string::<i32>(), values.as_binary::<i32>());
    let offsets = map.value_offsets();
    Ok((0..map.len())
        .map(|row| {
            map.is_valid(row).then(|| {
                (offsets[row] as usize..offsets[row + 1] as usize).fold(
                    OwnedHeaders::new(),
                    |headers, i| {
                        headers.insert(Header {
                            key: keys.value(i),
                            value: values.is_valid(i).then(|| values.value(i)),
                        })
                    },
                )
            })
        })
        .collect())
}
