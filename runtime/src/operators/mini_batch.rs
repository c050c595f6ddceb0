//! Flink's mini-batch (`table.exec.mini-batch.*`): an operator buffers its input and
//! processes it as one batch when `allow-latency` has passed since the first buffered row
//! (on processing time) or `size` rows are buffered. Watermarks, checkpoint barriers and the
//! end of input flush the buffer first, so nothing buffered is ever missing from a
//! snapshot or overtaken by a watermark.

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;

use crate::config::table::{MINI_BATCH_ALLOW_LATENCY, MINI_BATCH_ENABLED, MINI_BATCH_SIZE};
use crate::config::Configuration;
use crate::error::{Result, RuntimeError};
use crate::operators::Collector;

/// Buffered input of one operator.
pub(crate) struct MiniBatch {
    latency_ms: i64,
    size: usize,
    buffered: Vec<RecordBatch>,
    rows: usize,
    /// Processing time of the first buffered row.
    since: Option<i64>,
}

impl MiniBatch {
    /// The mini-batch `config` asks for, if any.
    pub fn from_config(config: &Configuration) -> Result<Option<Self>> {
        if !config.get_bool(&MINI_BATCH_ENABLED) {
            return Ok(None);
        }
        let latency = config.get_duration(&MINI_BATCH_ALLOW_LATENCY);
        let size = config.get_int(&MINI_BATCH_SIZE);
        if latency.is_zero() || size <= 0 {
            return Err(RuntimeError::User(format!(
                "'{}' needs '{}' and '{}' greater than 0 (they are {latency:?} and {size})",
                MINI_BATCH_ENABLED.key, MINI_BATCH_ALLOW_LATENCY.key, MINI_BATCH_SIZE.key
            )));
        }
        Ok(Some(Self {
            latency_ms: latency.as_millis() as i64,
            size: size as usize,
            buffered: Vec::new(),
            rows: 0,
            since: None,
        }))
    }

    /// Buffers `batch`; returns the whole mini-batch when it is full.
    pub fn add(&mut self, batch: RecordBatch, now: i64) -> Result<Option<RecordBatch>> {
        self.since.get_or_insert(now);
        self.rows += batch.num_rows();
        self.buffered.push(batch);
        match self.rows >= self.size {
            true => self.take(),
            false => Ok(None),
        }
    }

    /// The mini-batch, when its latency has passed at `now`.
    pub fn due(&mut self, now: i64) -> Result<Option<RecordBatch>> {
        match self.since {
            Some(since) if now - since >= self.latency_ms => self.take(),
            _ => Ok(None),
        }
    }

    /// Everything buffered, as one batch.
    pub fn take(&mut self) -> Result<Option<RecordBatch>> {
        self.since = None;
        self.rows = 0;
        let buffered = std::mem::take(&mut self.buffered);
        let Some(first) = buffered.first() else {
            return Ok(None);
        };
        Ok(Some(concat_batches(&first.schema(), &buffered)?))
    }
}

/// An operator that processes its input a mini-batch at a time when mini-batches are on,
/// and batch by batch otherwise. The operator's `StreamOperator` methods call these.
pub(crate) trait MiniBatched {
    fn mini_batch(&mut self) -> &mut Option<MiniBatch>;

    /// Processes one batch (a whole mini-batch, with mini-batches on).
    fn process_now(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()>;

    /// Takes `batch` in: processed at once without mini-batches, else buffered and the
    /// mini-batch processed once full.
    fn gather(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let ready = match self.mini_batch() {
            Some(mini_batch) => mini_batch.add(batch, now_ms())?,
            None => Some(batch),
        };
        match ready {
            Some(batch) => self.process_now(batch, out),
            None => Ok(()),
        }
    }

    /// Processing time reached `now`: the mini-batch is processed once its latency passed.
    fn tick(&mut self, now: i64, out: &mut Collector) -> Result<()> {
        let due = match self.mini_batch() {
            Some(mini_batch) => mini_batch.due(now)?,
            None => None,
        };
        match due {
            Some(batch) => self.process_now(batch, out),
            None => Ok(()),
        }
    }

    /// Processes whatever the mini-batch holds (before a watermark, a barrier, the end).
    fn flush(&mut self, out: &mut Collector) -> Result<()> {
        let rest = match self.mini_batch() {
            Some(mini_batch) => mini_batch.take()?,
            None => None,
        };
        match rest {
            Some(batch) => self.process_now(batch, out),
            None => Ok(()),
        }
    }
}

/// Buffered input of a two-input operator (Flink's `CoBundleTrigger`): one mini-batch for
/// both inputs, full when both together hold `size` rows.
pub(crate) struct TwoInputMiniBatch {
    sides: [MiniBatch; 2],
}

impl TwoInputMiniBatch {
    /// The mini-batch `config` asks for, if any.
    pub fn from_config(config: &Configuration) -> Result<Option<Self>> {
        Ok(
            match (
                MiniBatch::from_config(config)?,
                MiniBatch::from_config(config)?,
            ) {
                (Some(left), Some(right)) => Some(Self {
                    sides: [left, right],
                }),
                _ => None,
            },
        )
    }

    /// Buffers `batch` of input `side`; whether the mini-batch is full.
    pub fn add(&mut self, side: usize, batch: RecordBatch, now: i64) -> bool {
        let this = &mut self.sides[side];
        this.since.get_or_insert(now);
        this.rows += batch.num_rows();
        this.buffered.push(batch);
        self.sides[0].rows + self.sides[1].rows >= self.sides[0].size
    }

    /// Whether the first buffered row has waited the latency at `now`.
    pub fn due(&self, now: i64) -> bool {
        self.sides
            .iter()
            .filter_map(|s| s.since)
            .min()
            .is_some_and(|since| now - since >= self.sides[0].latency_ms)
    }

    /// Everything buffered, per input.
    pub fn take(&mut self) -> Result<[Option<RecordBatch>; 2]> {
        Ok([self.sides[0].take()?, self.sides[1].take()?])
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
