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
//! librdkafka cannot resume another producer's transaction (Flink's Java sink does it by
//! reflection), so a transaction whose checkpoint completed but which was not committed
//! before the process died is aborted by the restarted job, not committed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message};
use serde::{Deserialize, Serialize};

use super::client::{broker_error, client_config};
use super::options::{DeliveryGuarantee, KafkaOptions, SinkPartitioner};
use crate::format::BatchEncoder;

/// Transactional producers each subtask starts with (enough for the transaction being
/// written and two awaiting their checkpoints' completion).
const INITIAL_PRODUCERS: usize = 3;

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

struct WriterContext(Arc<DeliveryErrors>);

impl ClientContext for WriterContext {}

impl ProducerContext for WriterContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, message)) = result {
            // Only failures take the lock; deliveries that succeed touch nothing.
            if !self.0.failed.swap(true, Ordering::AcqRel) {
                if let Ok(mut first) = self.0.first.lock() {
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

/// What committing a prepared transaction takes: its producer's id.
#[derive(Debug, Serialize, Deserialize)]
struct Committable {
    transactional_id: String,
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
            key,
            partitions,
            next_partition: info.subtask_index as i32,
            subtask: info.subtask_index,
            errors,
            producer: None,
            idle: Vec::new(),
            pending: BTreeMap::new(),
            created: 0,
            values: Vec::new(),
            value_ends: Vec::new(),
            keys: Vec::new(),
            key_ends: Vec::new(),
            schema: self.schema.clone(),
        };
        match writer.opts.delivery {
            DeliveryGuarantee::ExactlyOnce => {
                for _ in 0..INITIAL_PRODUCERS {
                    let p = writer.new_producer()?;
                    writer.idle.push(p);
                }
            }
            _ => writer.producer = Some(writer.new_producer()?),
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
    value_columns: Vec<usize>,
    changelog: bool,
    key: Option<(Box<dyn BatchEncoder>, Vec<usize>, SchemaRef)>,
    partitions: i32,
    next_partition: i32,
    subtask: u32,
    errors: Arc<DeliveryErrors>,
    /// The producer records go to; with transactions, the one whose transaction is open.
    producer: Option<(String, Producer_)>,
    /// Transactional producers with no open transaction.
    idle: Vec<(String, Producer_)>,
    /// Transactional producers whose transaction waits for its checkpoint, by id.
    pending: BTreeMap<String, Producer_>,
    /// Transactional producers created so far (numbers their ids).
    created: usize,
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

    /// A producer; a transactional one is started, which aborts whatever an earlier
    /// attempt left open under its id.
    fn new_producer(&mut self) -> Result<(String, Producer_)> {
        let mut config = client_config(&self.opts, None);
        let mut id = String::new();
        if self.transactional() {
            let prefix = self
                .opts
                .transactional_id_prefix
                .as_deref()
                .unwrap_or("eddy");
            id = format!("{prefix}-{}-{}", self.subtask, self.created);
            self.created += 1;
            config.set("transactional.id", &id);
            if !self.opts.properties.contains_key("transaction.timeout.ms") {
                // Long enough for a slow checkpoint; the broker caps it.
                config.set("transaction.timeout.ms", "900000");
            }
        }
        let producer: Producer_ = config
            .create_with_context(WriterContext(self.errors.clone()))
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

    /// The producer to write to, opening a transaction when needed.
    fn open(&mut self) -> Result<()> {
        if self.producer.is_some() {
            return Ok(());
        }
        let (id, producer) = match self.idle.pop() {
            Some(p) => p,
            None => self.new_producer()?,
        };
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
        self.encode(batch)?;
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
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.topic).payload(&self.values[start..end]);
            if let Some(&key_end) = self.key_ends.get(row) {
                record = record.key(&self.keys[key_start..key_end]);
                key_start = key_end;
            }
            if let Some(p) = partition {
                record = record.partition(p);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        // librdkafka's queue is full: let it deliver, then try again.
                        producer.poll(Duration::from_millis(50));
                        self.check_deliveries()?;
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
                self.idle.push((id, p));
            }
        }
        Ok(())
    }

    fn abort(&mut self) {
        if !self.transactional() {
            return;
        }
        let open = self
            .producer
            .take()
            .into_iter()
            .chain(std::mem::take(&mut self.pending));
        for (id, p) in open {
            if let Err(e) = p.abort_transaction(Duration::from_secs(5)) {
                tracing::debug!(transactional_id = %id, error = %e, "cannot abort a transaction; the next attempt aborts it");
            }
        }
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        match self.opts.delivery {
            DeliveryGuarantee::None => Ok(Vec::new()),
            DeliveryGuarantee::AtLeastOnce => {
                self.flush()?;
                Ok(Vec::new())
            }
            DeliveryGuarantee::ExactlyOnce => {
                self.flush()?;
                let Some((id, producer)) = self.producer.take() else {
                    return Ok(Vec::new());
                };
                let committable = serde_json::to_vec(&Committable {
                    transactional_id: id.clone(),
                })
                .map_err(|e| RuntimeError::Internal(e.to_string()))?;
                self.pending.insert(id, producer);
                Ok(vec![committable])
            }
        }
    }

    fn commit(&mut self, committables: Vec<Vec<u8>>) -> Result<()> {
        for bytes in committables {
            let c: Committable = serde_json::from_slice(&bytes)
                .map_err(|e| RuntimeError::Internal(format!("a Kafka committable: {e}")))?;
            match self.pending.remove(&c.transactional_id) {
                Some(p) => {
                    p.commit_transaction(self.opts.api_timeout).map_err(|e| {
                        self.failure(
                            &format!("committing the transaction of '{}'", c.transactional_id),
                            e,
                        )
                    })?;
                    self.idle.push((c.transactional_id, p));
                }
                // Committed already, or left by a failed attempt: starting this attempt's
                // producers aborted it (see the module's note).
                None => {
                    tracing::debug!(transactional_id = %c.transactional_id, "no open transaction to commit")
                }
            }
        }
        Ok(())
    }
}
