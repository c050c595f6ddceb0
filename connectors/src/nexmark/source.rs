//! The nexmark source. Split `i` of `p` owns the event numbers `i, i + p, i + 2p, ...`
//! below `events.num`, and its state is `{index, parallelism, next}` with `next` the next
//! number it makes, so a checkpoint of the state resumes it exactly. Since an event is a
//! function of its number (see [`generator`](super::generator)), the union of all splits
//! is the same stream at every parallelism, and each subtask's events are in event-time
//! order (up to out-of-order groups) `p` times further apart than the whole stream's.
//!
//! Pacing: event number `n` is due `(n - n0) / rate` seconds after the reader's first
//! poll, where `n0` is the split's `next` when the reader was created (Flink's
//! `NexmarkSourceFunction` sleeps until each event's wall-clock time the same way). A
//! reader returns a full batch as soon as one is due, or what is due once the oldest
//! due event has waited `buffer_timeout`; otherwise it returns `Pending` until one of
//! those. With `tps` = 0 it returns full batches as fast as it is polled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use eddy_runtime::connector::{ReaderPoll, Source, SourceReader, SourceSplit, SubtaskInfo};
use eddy_runtime::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

use super::batch::EventLayout;
use super::config::NexmarkConfig;
use super::generator::NexmarkGenerator;
use super::model::Event;

/// A nexmark table read as a source.
pub struct NexmarkSource {
    schema: SchemaRef,
    config: NexmarkConfig,
    layout: Arc<EventLayout>,
}

impl NexmarkSource {
    pub(crate) fn new(schema: SchemaRef, config: NexmarkConfig, layout: EventLayout) -> Self {
        Self {
            schema,
            config,
            layout: Arc::new(layout),
        }
    }
}

/// The state of a split: the event numbers `index + k * parallelism` from `next` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct SplitState {
    index: u64,
    parallelism: u64,
    next: u64,
}

impl SplitState {
    fn from_split(split: SourceSplit) -> Result<Self> {
        let bad = |why: String| {
            RuntimeError::Internal(format!("bad state of nexmark split '{}': {why}", split.id))
        };
        let state: SplitState =
            serde_json::from_value(split.state.clone()).map_err(|e| bad(e.to_string()))?;
        if state.parallelism == 0
            || state.index >= state.parallelism
            || state.next % state.parallelism != state.index
        {
            return Err(bad(format!("{state:?}")));
        }
        Ok(state)
    }

    fn to_split(self) -> Result<SourceSplit> {
        Ok(SourceSplit {
            id: format!("nexmark-{}-of-{}", self.index, self.parallelism),
            state: serde_json::to_value(self)
                .map_err(|e| RuntimeError::Internal(format!("nexmark split state: {e}")))?,
        })
    }

    /// Events left below `end`.
    fn remaining(&self, end: u64) -> u64 {
        if self.next >= end {
            0
        } else {
            (end - 1 - self.next) / self.parallelism + 1
        }
    }
}

impl Source for NexmarkSource {
    fn is_bounded(&self) -> bool {
        self.config.events_num.is_some()
    }

    fn enumerate_splits(&self, parallelism: u32) -> Result<Vec<SourceSplit>> {
        let parallelism = u64::from(parallelism.max(1));
        (0..parallelism)
            .map(|index| {
                SplitState {
                    index,
                    parallelism,
                    next: index,
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
        let splits = splits
            .into_iter()
            .map(|split| {
                let state = SplitState::from_split(split)?;
                Ok(SplitProgress {
                    state,
                    start: state.next,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(NexmarkReader {
            schema: self.schema.clone(),
            layout: self.layout.clone(),
            generator: NexmarkGenerator::new(self.config.clone()),
            splits,
            events: Vec::new(),
            batch_size: info.batch_size.max(1),
            buffer_timeout: info.buffer_timeout,
            started: None,
            current: 0,
        }))
    }
}

/// A split and where the reader's pacing started it.
#[derive(Debug)]
struct SplitProgress {
    state: SplitState,
    start: u64,
}

impl SplitProgress {
    /// How far the split has advanced since the reader started, in event numbers (and so
    /// in time at the event rate).
    fn advanced(&self) -> u64 {
        self.state.next - self.start
    }
}

/// Generates the splits assigned to one subtask, a batch from one split at a time.
pub struct NexmarkReader {
    schema: SchemaRef,
    layout: Arc<EventLayout>,
    generator: NexmarkGenerator,
    splits: Vec<SplitProgress>,
    /// Reused from batch to batch.
    events: Vec<Event>,
    batch_size: usize,
    buffer_timeout: Duration,
    /// The first poll: the origin of pacing.
    started: Option<Instant>,
    /// Index of the split the last batch came from, for per-split watermarks.
    current: usize,
}

/// What pacing allows now.
#[derive(Debug, PartialEq)]
enum Pace {
    Emit(u64),
    Wait(Duration),
}

/// How many of a split's next `want` events may go out `elapsed` after the reader
/// started: the split has `advanced` event numbers since, owns every `stride`-th
/// number, and numbers are due at `rate` per second.
fn pace(
    elapsed: Duration,
    rate: f64,
    advanced: u64,
    stride: u64,
    want: u64,
    buffer_timeout: Duration,
) -> Pace {
    let stride = stride as f64;
    // Seconds after the start at which the j-th pending event (from 0) is due.
    let due = |j: u64| (advanced as f64 + j as f64 * stride) / rate;
    let t = elapsed.as_secs_f64();
    let due_count = if t < due(0) {
        0
    } else {
        (((t * rate - advanced as f64) / stride).floor() as u64).saturating_add(1)
    };
    if due_count >= want {
        return Pace::Emit(want);
    }
    let timeout = buffer_timeout.as_secs_f64();
    if due_count > 0 && t >= due(0) + timeout {
        return Pace::Emit(due_count);
    }
    let wake = due(want - 1).min(due(0) + timeout);
    Pace::Wait(Duration::from_secs_f64((wake - t).clamp(0.001, 1e9)))
}

impl SourceReader for NexmarkReader {
    fn poll_next(&mut self) -> Result<ReaderPoll> {
        let config = self.generator.config();
        let end = config.end();
        // The split furthest behind its schedule.
        let Some((index, split)) = self
            .splits
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.state.remaining(end) > 0)
            .min_by_key(|(_, s)| s.advanced())
        else {
            return Ok(ReaderPoll::Finished);
        };
        self.current = index;
        let stride = split.state.parallelism;
        let want = split.state.remaining(end).min(self.batch_size as u64);
        let rows = if config.throttled {
            let now = Instant::now();
            let started = *self.started.get_or_insert(now);
            match pace(
                now - started,
                config.event_rate as f64,
                split.advanced(),
                stride,
                want,
                self.buffer_timeout,
            ) {
                Pace::Emit(rows) => rows,
                Pace::Wait(wait) => return Ok(ReaderPoll::Pending(wait)),
            }
        } else {
            want
        };
        let rows = usize::try_from(rows).unwrap_or(self.batch_size);
        if self.events.len() < rows {
            self.events.resize_with(rows, Event::default);
        }
        let first = split.state.next;
        for (j, event) in self.events[..rows].iter_mut().enumerate() {
            self.generator.fill(first + j as u64 * stride, event);
        }
        split.state.next = first.saturating_add(rows as u64 * stride);
        Ok(ReaderPoll::Batch(
            self.layout.build(&self.schema, &self.events[..rows])?,
        ))
    }

    fn current_split(&self) -> usize {
        self.current
    }

    // Several splits of one reader advance in turn, each keeping its own watermark.
    fn interleaves_splits(&self) -> bool {
        true
    }

    fn snapshot_splits(&mut self, _checkpoint_id: u64) -> Result<Vec<SourceSplit>> {
        let end = self.generator.config().end();
        self.splits
            .iter()
            .filter(|s| s.state.remaining(end) > 0)
            .map(|s| s.state.to_split())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Int32Type, Int64Type, TimestampMillisecondType};
    use datafusion::arrow::record_batch::RecordBatch;

    use super::*;
    use crate::factory::TableFactory;
    use crate::nexmark::batch::tests::flink_schema;
    use crate::nexmark::NexmarkTableFactory;
    use crate::testing::{check_resumes_after_every_batch, read_all, rows, spec, subtask};

    fn source(options: &[(&str, &str)]) -> Arc<dyn Source> {
        let mut all = vec![("connector", "nexmark")];
        all.extend_from_slice(options);
        NexmarkTableFactory
            .create_source(&spec(&flink_schema(), &all))
            .unwrap()
    }

    /// Runs the source at `parallelism`; returns each subtask's batches.
    fn run(options: &[(&str, &str)], parallelism: u32, batch_size: usize) -> Vec<Vec<RecordBatch>> {
        let source = source(options);
        let splits = source.enumerate_splits(parallelism).unwrap();
        assert_eq!(splits.len(), parallelism as usize);
        splits
            .into_iter()
            .enumerate()
            .map(|(i, split)| {
                let info = subtask(i as u32, parallelism, batch_size);
                let mut reader = source.create_reader(vec![split], &info).unwrap();
                let batches = read_all(reader.as_mut()).unwrap();
                assert!(batches.iter().all(|b| b.num_rows() <= batch_size));
                batches
            })
            .collect()
    }

    /// (event_type, dateTime) of every row.
    fn kinds_and_times(batches: &[RecordBatch]) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for b in batches {
            let kinds = b.column(0).as_primitive::<Int32Type>();
            for row in 0..b.num_rows() {
                let kind = kinds.value(row);
                let time = b
                    .column(1 + kind as usize)
                    .as_struct()
                    .column_by_name("datetime")
                    .unwrap()
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row);
                out.push((kind, time));
            }
        }
        out
    }

    const FAST: (&str, &str) = ("tps", "0");

    #[test]
    fn proportions_and_first_ids_through_the_source() {
        let outputs = run(&[FAST, ("events.num", "5000")], 1, 512);
        let events = kinds_and_times(&outputs[0]);
        let mut counts = [0; 3];
        for (kind, _) in &events {
            counts[*kind as usize] += 1;
        }
        assert_eq!(counts, [100, 300, 4600]);
        let first = &outputs[0][0];
        let person = first.column(1).as_struct();
        assert_eq!(person.column(0).as_primitive::<Int64Type>().value(0), 1000);
        let auction = first.column(2).as_struct();
        assert_eq!(auction.column(0).as_primitive::<Int64Type>().value(1), 1000);
        assert!(auction.is_null(0) && person.is_null(1));
        assert!(first.column(3).as_struct().is_null(0));
    }

    #[test]
    fn deterministic_for_a_seed() {
        let options = [FAST, ("events.num", "700"), ("seed", "11")];
        let a = rows(&run(&options, 1, 100)[0]);
        let b = rows(&run(&options, 1, 64)[0]);
        assert_eq!(a.len(), 700);
        assert_eq!(a, b, "batch size does not change the stream");
        let c = rows(&run(&[FAST, ("events.num", "700"), ("seed", "12")], 1, 100)[0]);
        assert_ne!(a, c);
    }

    #[test]
    fn parallelism_does_not_change_the_events() {
        let options = [
            FAST,
            ("events.num", "3001"),
            ("out-of-order-group.size", "7"),
        ];
        let mut one = rows(&run(&options, 1, 128)[0]);
        let four = run(&options, 4, 128);
        let per_subtask: Vec<usize> = four.iter().map(|b| rows(b).len()).collect();
        assert_eq!(per_subtask, vec![751, 750, 750, 750]);
        let mut union: Vec<String> = four.iter().flat_map(|b| rows(b)).collect();
        one.sort();
        union.sort();
        assert_eq!(one, union);
        assert_eq!(union.iter().collect::<BTreeSet<_>>().len(), 3001);
    }

    #[test]
    fn bounded_count_at_any_parallelism() {
        let counts: Vec<usize> = run(&[FAST, ("events.num", "1001")], 3, 50)
            .iter()
            .map(|bs| bs.iter().map(|b| b.num_rows()).sum())
            .collect();
        assert_eq!(counts, vec![334, 334, 333]);
        // Fewer events than subtasks: the idle ones finish at once.
        let counts: Vec<usize> = run(&[FAST, ("events.num", "2")], 4, 50)
            .iter()
            .map(|bs| bs.iter().map(|b| b.num_rows()).sum())
            .collect();
        assert_eq!(counts, vec![1, 1, 0, 0]);
        assert!(source(&[("events.num", "2")]).is_bounded());
        assert!(!source(&[]).is_bounded());
    }

    #[test]
    fn timestamps_follow_the_rate_within_a_split() {
        let base = 1_436_918_400_000;
        // 500 events per second: 2 ms apart, in order.
        let options = [FAST, ("first-event.rate", "500"), ("events.num", "400")];
        let times: Vec<i64> = kinds_and_times(&run(&options, 1, 64)[0])
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(times.len(), 400);
        for (n, t) in times.iter().enumerate() {
            assert_eq!(*t, base + 2 * n as i64);
        }
        // At parallelism 2, each split's events are 4 ms apart.
        for (split, batches) in run(&options, 2, 64).iter().enumerate() {
            let times: Vec<i64> = kinds_and_times(batches)
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            assert_eq!(times[0], base + 2 * split as i64);
            assert!(times.windows(2).all(|w| w[1] - w[0] == 4), "{times:?}");
        }
        // Out-of-order groups shuffle event time within each group of 10.
        let options = [
            FAST,
            ("first-event.rate", "1000"),
            ("out-of-order-group.size", "10"),
            ("events.num", "100"),
        ];
        let times: Vec<i64> = kinds_and_times(&run(&options, 1, 64)[0])
            .into_iter()
            .map(|(_, t)| t - base)
            .collect();
        assert!(times.windows(2).any(|w| w[1] < w[0]));
        for (n, t) in times.iter().enumerate() {
            assert_eq!(*t / 10, n as i64 / 10, "event {n} left its group");
        }
    }

    #[test]
    fn tps_paces_generation_and_spaces_event_time() {
        // 2000 events per second: 0.5 ms apart in event time, 100 events in ~50 ms.
        let options = [
            ("tps", "2000"),
            ("events.num", "100"),
            ("events.base-time", "0"),
        ];
        let start = Instant::now();
        let outputs = run(&options, 1, 16);
        let elapsed = start.elapsed();
        let times: Vec<i64> = kinds_and_times(&outputs[0])
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(times, (0..100).map(|n| n / 2).collect::<Vec<i64>>());
        assert!(elapsed >= Duration::from_millis(45), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn ahead_of_schedule_returns_pending() {
        let source = source(&[("tps", "100"), ("events.num", "10")]);
        let split = source.enumerate_splits(1).unwrap();
        let mut reader = source.create_reader(split, &subtask(0, 1, 64)).unwrap();
        match reader.poll_next().unwrap() {
            ReaderPoll::Pending(wait) => assert!(wait <= Duration::from_millis(10), "{wait:?}"),
            other => panic!("{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(15));
        match reader.poll_next().unwrap() {
            ReaderPoll::Batch(b) => assert!((1..=3).contains(&b.num_rows()), "{}", b.num_rows()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            reader.poll_next().unwrap(),
            ReaderPoll::Pending(_)
        ));
    }

    #[test]
    fn pace_fills_batches_or_flushes_after_the_buffer_timeout() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        let timeout = ms(10);
        // 1000 events per second, one split: event j is due at j ms.
        assert_eq!(pace(ms(0), 1000.0, 0, 1, 100, timeout), Pace::Wait(ms(10)));
        assert_eq!(pace(ms(100), 1000.0, 0, 1, 100, timeout), Pace::Emit(100));
        assert_eq!(pace(us(15_500), 1000.0, 0, 1, 100, timeout), Pace::Emit(16));
        // 20 events in: the next is due at 20 ms, flushed at 30 ms.
        assert!(matches!(
            pace(us(25_500), 1000.0, 20, 1, 100, timeout),
            Pace::Wait(d) if d > ms(4) && d < ms(5)
        ));
        assert_eq!(
            pace(us(30_500), 1000.0, 20, 1, 100, timeout),
            Pace::Emit(11)
        );
        // Split 1 of 4 owns every 4th number: 4 ms apart.
        assert_eq!(pace(us(12_500), 1000.0, 0, 4, 3, timeout), Pace::Emit(3));
        assert!(matches!(
            pace(us(7_500), 1000.0, 0, 4, 3, timeout),
            Pace::Wait(d) if d <= ms(1)
        ));
        // Far behind (back-pressure): whole batches until caught up.
        assert_eq!(
            pace(ms(60_000), 1000.0, 0, 1, 100, timeout),
            Pace::Emit(100)
        );
    }

    #[test]
    fn resumes_from_a_snapshot() {
        let source = source(&[FAST, ("events.num", "500")]);
        // Two of three splits in one reader, advancing in turn: 167 + 166 events.
        let mut splits = source.enumerate_splits(3).unwrap();
        splits.remove(1);
        let (whole, snapshots) =
            check_resumes_after_every_batch(source.as_ref(), splits.clone(), &subtask(0, 1, 64));
        assert_eq!(whole.len(), 333);
        assert_eq!(snapshots[0], splits);
        // Split 0 went first: 64 of its numbers (every third one) later, it is at 192.
        assert_eq!(snapshots[1][0].state["next"], 192);
        assert_eq!(snapshots[1][1].state["next"], 2);
        // Each split ends with its third batch: after the fifth only split 2 is left.
        assert_eq!(snapshots[5].len(), 1);
        assert_eq!(snapshots[5][0].id, "nexmark-2-of-3");
        assert!(snapshots.last().unwrap().is_empty());
        let bad = SourceSplit {
            id: "x".into(),
            state: serde_json::json!({"index": 1, "parallelism": 2, "next": 4}),
        };
        assert!(source.create_reader(vec![bad], &subtask(0, 1, 64)).is_err());
    }
}
