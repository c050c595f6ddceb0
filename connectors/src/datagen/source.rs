//! The datagen source: one split per subtask (a [`Share`] of the rows), and a reader that
//! paces generation to `rows-per-second`. A reader returns a full batch as soon as its
//! rate allows one; otherwise it flushes what its rate allowed once the oldest of those
//! rows has waited `buffer_timeout`, so at 1 row per second a row arrives about every
//! second; otherwise it asks to be polled again when either will happen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use eddy_runtime::connector::{ReaderPoll, Source, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

use super::generator::{RowGenerator, Share};
use super::{DataGenConfig, FieldKind};

/// A datagen table read as a source.
pub struct DataGenSource {
    schema: SchemaRef,
    config: DataGenConfig,
}

impl DataGenSource {
    pub(crate) fn new(schema: SchemaRef, config: DataGenConfig) -> Self {
        Self { schema, config }
    }

    /// Rows `share` generates in all; `None` when unbounded.
    fn share_limit(&self, share: Share) -> Option<u64> {
        let by_count = self.config.number_of_rows.map(|n| share.rows_of(n));
        let by_sequence = self
            .config
            .fields
            .iter()
            .filter_map(|f| match f.kind {
                FieldKind::Sequence { start, end } => Some(share.sequence_len(start, end)),
                FieldKind::Random(_) => None,
            })
            .min();
        match (by_count, by_sequence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The state of a split: which share, and how many of its rows were emitted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct ShareState {
    index: u64,
    parallelism: u64,
    emitted: u64,
}

impl ShareState {
    fn to_split(self) -> Result<SourceSplit> {
        Ok(SourceSplit {
            id: format!("datagen-{}-of-{}", self.index, self.parallelism),
            state: serde_json::to_value(self)
                .map_err(|e| RuntimeError::Internal(format!("datagen split state: {e}")))?,
        })
    }
}

impl Source for DataGenSource {
    fn is_bounded(&self) -> bool {
        self.config.is_bounded()
    }

    fn enumerate_splits(&self, parallelism: u32) -> Result<Vec<SourceSplit>> {
        let parallelism = u64::from(parallelism.max(1));
        (0..parallelism)
            .map(|index| {
                ShareState {
                    index,
                    parallelism,
                    emitted: 0,
                }
                .to_split()
            })
            .collect()
    }

    fn create_reader(
        &self,
        splits: Vec<SourceSplit>,
        info: &SubtaskInfo,
    ) -> Result<Box<dyn SourceReader>> {
        let mut shares = VecDeque::new();
        let mut rate = 0.0;
        for split in splits {
            let state: ShareState = serde_json::from_value(split.state).map_err(|e| {
                RuntimeError::Internal(format!("bad state of split '{}': {e}", split.id))
            })?;
            let share = Share {
                index: state.index,
                parallelism: state.parallelism.max(1),
            };
            rate += self.config.rows_per_second as f64 / share.parallelism as f64;
            shares.push_back(ShareProgress {
                share,
                emitted: state.emitted,
                limit: self.share_limit(share),
            });
        }
        Ok(Box::new(DataGenReader {
            generator: RowGenerator::new(self.schema.clone(), self.config.fields.clone()),
            shares,
            pacer: Pacer::new(rate, info.batch_size.max(1), info.buffer_timeout),
        }))
    }
}

#[derive(Debug)]
struct ShareProgress {
    share: Share,
    emitted: u64,
    limit: Option<u64>,
}

impl ShareProgress {
    fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.emitted))
    }
}

/// Generates the shares assigned to one subtask, one after another.
pub struct DataGenReader {
    generator: RowGenerator,
    shares: VecDeque<ShareProgress>,
    pacer: Pacer,
}

/// Decides how many rows may be emitted now, from a rate in rows per second.
#[derive(Debug)]
struct Pacer {
    rate: f64,
    batch_size: usize,
    buffer_timeout: Duration,
    /// Rows allowed at `base_time` ...
    base_time: Instant,
    base_count: u64,
    /// ... and rows emitted so far.
    emitted: u64,
}

/// What the pacer allows now.
#[derive(Debug, PartialEq)]
enum Pace {
    Emit(usize),
    Wait(Duration),
}

impl Pacer {
    fn new(rate: f64, batch_size: usize, buffer_timeout: Duration) -> Self {
        Self {
            rate,
            batch_size,
            buffer_timeout,
            base_time: Instant::now(),
            base_count: 0,
            emitted: 0,
        }
    }

    /// When the `n`-th row (counting from 1) is allowed.
    fn due(&self, n: u64) -> Instant {
        let rows = n.saturating_sub(self.base_count) as f64;
        self.base_time + Duration::from_secs_f64((rows / self.rate).min(1e9))
    }

    /// How many of up to `wanted` rows may be emitted at `now`.
    fn pace(&mut self, now: Instant, remaining: Option<u64>) -> Pace {
        if self.rate <= 0.0 {
            return Pace::Wait(Duration::from_secs(1));
        }
        let wanted = remaining.map_or(self.batch_size as u64, |r| r.min(self.batch_size as u64));
        let elapsed = now.saturating_duration_since(self.base_time).as_secs_f64();
        let mut allowed = self.base_count.saturating_add((elapsed * self.rate) as u64);
        // After a stall (back-pressure), do not burst more than a second's or a batch's
        // worth of rows to catch up.
        let burst = (self.rate as u64).max(self.batch_size as u64);
        if allowed > self.emitted.saturating_add(burst) {
            self.base_time = now;
            self.base_count = self.emitted.saturating_add(burst);
            allowed = self.base_count;
        }
        let available = allowed.saturating_sub(self.emitted);
        if available >= wanted {
            return Pace::Emit(wanted as usize);
        }
        let flush_at = self.due(self.emitted + 1) + self.buffer_timeout;
        if available > 0 && now >= flush_at {
            return Pace::Emit(available as usize);
        }
        let full_at = self.due(self.emitted + wanted);
        let wake = flush_at.min(full_at);
        Pace::Wait(
            wake.saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }
}

impl SourceReader for DataGenReader {
    fn poll_next(&mut self) -> Result<ReaderPoll> {
        while self
            .shares
            .front()
            .is_some_and(|s| s.remaining() == Some(0))
        {
            self.shares.pop_front();
        }
        let Some(progress) = self.shares.front_mut() else {
            return Ok(ReaderPoll::Finished);
        };
        match self.pacer.pace(Instant::now(), progress.remaining()) {
            Pace::Wait(d) => Ok(ReaderPoll::Pending(d)),
            Pace::Emit(rows) => {
                let batch = self
                    .generator
                    .generate(progress.share, progress.emitted, rows)?;
                progress.emitted += rows as u64;
                self.pacer.emitted += rows as u64;
                Ok(ReaderPoll::Batch(batch))
            }
        }
    }

    // A row is a function of its share and its number in the share (sequences exactly;
    // random fields are random either way), so the count emitted is the whole position.
    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        self.shares
            .iter()
            .filter(|s| s.remaining() != Some(0))
            .map(|s| {
                ShareState {
                    index: s.share.index,
                    parallelism: s.share.parallelism,
                    emitted: s.emitted,
                }
                .to_split()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    use super::*;
    use crate::datagen::DataGenTableFactory;
    use crate::factory::TableFactory;
    use crate::testing::{check_resumes_after_every_batch, read_all, spec, subtask};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ])
    }

    /// Runs the source at `parallelism`, each subtask reading the split the round-robin
    /// assignment gives it; returns each subtask's batches.
    fn run(options: &[(&str, &str)], parallelism: u32) -> Vec<Vec<RecordBatch>> {
        let mut all = vec![("connector", "datagen")];
        all.extend_from_slice(options);
        let source = DataGenTableFactory
            .create_source(&spec(&schema(), &all))
            .unwrap();
        assert!(source.is_bounded());
        let splits = source.enumerate_splits(parallelism).unwrap();
        assert_eq!(splits.len(), parallelism as usize);
        splits
            .into_iter()
            .enumerate()
            .map(|(i, split)| {
                let info = subtask(i as u32, parallelism, 64);
                let mut reader = source.create_reader(vec![split], &info).unwrap();
                read_all(reader.as_mut()).unwrap()
            })
            .collect()
    }

    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn number_of_rows_is_exact_at_any_parallelism() {
        for parallelism in [1, 3] {
            let per_subtask: Vec<usize> = run(
                &[("number-of-rows", "1000"), ("rows-per-second", "100000000")],
                parallelism,
            )
            .iter()
            .map(|bs| bs.iter().map(|b| b.num_rows()).sum())
            .collect();
            assert_eq!(per_subtask.iter().sum::<usize>(), 1000, "{per_subtask:?}");
            if parallelism == 3 {
                assert_eq!(per_subtask, vec![334, 333, 333]);
            }
        }
    }

    #[test]
    fn sequence_union_is_exact() {
        let options = [
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "-5"),
            ("fields.id.end", "200"),
            ("rows-per-second", "100000000"),
        ];
        let outputs = run(&options, 3);
        let mut seen = BTreeSet::new();
        for batches in &outputs {
            assert!(batches.iter().all(|b| b.num_rows() <= 64));
            for id in ids(batches) {
                assert!(seen.insert(id), "{id} generated twice");
            }
        }
        assert_eq!(seen, (-5..=200).collect::<BTreeSet<_>>());
        // number-of-rows below the sequence length ends first.
        let mut options = options.to_vec();
        options.push(("number-of-rows", "10"));
        let total: usize = run(&options, 2).iter().map(|bs| ids(bs).len()).sum();
        assert_eq!(total, 10);
    }

    #[test]
    fn random_values_respect_min_max_length_and_null_rate() {
        let outputs = run(
            &[
                ("number-of-rows", "2000"),
                ("rows-per-second", "100000000"),
                ("fields.id.min", "-3"),
                ("fields.id.max", "7"),
                ("fields.name.length", "5"),
                ("fields.name.null-rate", "0.5"),
            ],
            1,
        );
        let batches = &outputs[0];
        let values = ids(batches);
        assert!(values.iter().all(|v| (-3..=7).contains(v)));
        assert!(values.contains(&-3) && values.contains(&7));
        let mut nulls = 0;
        for b in batches {
            let names = b.column(1).as_string::<i32>();
            nulls += names.null_count();
            assert!(names.iter().flatten().all(|s| s.len() == 5));
        }
        assert!((500..1500).contains(&nulls), "{nulls} nulls of 2000");
    }

    #[test]
    fn slow_rate_emits_rows_as_they_are_due() {
        let options = [("number-of-rows", "3"), ("rows-per-second", "4")];
        let start = Instant::now();
        let outputs = run(&options, 1);
        let elapsed = start.elapsed();
        assert_eq!(ids(&outputs[0]).len(), 3);
        // Rows are due at 0.25 s, 0.5 s and 0.75 s; each is flushed alone after the
        // 10 ms buffer timeout rather than waiting for a full batch.
        assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert!(outputs[0].len() >= 2, "{} batches", outputs[0].len());
    }

    #[test]
    fn resumes_from_a_snapshot_within_and_between_shares() {
        let source = DataGenTableFactory
            .create_source(&spec(
                &schema(),
                &[
                    ("connector", "datagen"),
                    ("rows-per-second", "100000000"),
                    ("fields.id.kind", "sequence"),
                    ("fields.id.start", "1"),
                    ("fields.id.end", "50"),
                    ("fields.name.kind", "sequence"),
                    ("fields.name.start", "101"),
                    ("fields.name.end", "200"),
                ],
            ))
            .unwrap();
        // One reader generating two of three shares, one after the other: 17 + 16 rows
        // in batches of 8, so snapshots fall inside a share and between the two.
        let mut splits = source.enumerate_splits(3).unwrap();
        splits.remove(1);
        let (whole, snapshots) =
            check_resumes_after_every_batch(source.as_ref(), splits.clone(), &subtask(0, 1, 8));
        assert_eq!(whole.len(), 17 + 16);
        assert_eq!(snapshots[0], splits);
        assert_eq!(snapshots[1][0].state["emitted"], 8);
        assert_eq!(snapshots[1].len(), 2);
        // The first share is done after three batches and is left out.
        assert_eq!(snapshots[3].len(), 1);
        assert_eq!(snapshots[3][0].id, "datagen-2-of-3");
        assert!(snapshots.last().unwrap().is_empty());
    }

    #[test]
    fn pacer_fills_batches_when_fast_and_waits_when_ahead() {
        let mut pacer = Pacer::new(1000.0, 100, Duration::from_millis(50));
        let t0 = pacer.base_time;
        assert!(matches!(pacer.pace(t0, None), Pace::Wait(_)));
        assert_eq!(
            pacer.pace(t0 + Duration::from_millis(100), None),
            Pace::Emit(100)
        );
        pacer.emitted += 100;
        // 20 rows are due at 120 ms; the first of them waits for the buffer timeout.
        assert!(matches!(
            pacer.pace(t0 + Duration::from_millis(120), None),
            Pace::Wait(_)
        ));
        assert_eq!(
            pacer.pace(t0 + Duration::from_millis(160), None),
            Pace::Emit(60)
        );
        pacer.emitted += 60;
        // A bounded remainder smaller than a batch goes out as soon as it is due.
        assert_eq!(
            pacer.pace(t0 + Duration::from_millis(170), Some(5)),
            Pace::Emit(5)
        );
        // After a long stall, no more than a second's worth is caught up.
        let late = t0 + Duration::from_secs(60);
        assert_eq!(pacer.pace(late, None), Pace::Emit(100));
        assert!(pacer.base_count <= pacer.emitted + 1000);
    }
}
