//! Per-task counters under Flink's metric names. Updated once per batch with relaxed
//! atomics: readers (SHOW JOBS, REST) only need eventually consistent totals.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one subtask.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// Flink `numRecordsIn`.
    pub num_records_in: AtomicU64,
    /// Flink `numRecordsOut`.
    pub num_records_out: AtomicU64,
    /// Malformed records skipped under `*.ignore-parse-errors`.
    pub num_records_skipped: AtomicU64,
    /// Rows dropped for arriving after their windows fired (Flink `numLateRecordsDropped`).
    pub num_late_records_dropped: AtomicU64,
    /// Flink `numBytesIn`: the in-memory size of the batches taken in.
    pub num_bytes_in: AtomicU64,
    /// Flink `numBytesOut`: the in-memory size of the batches sent on.
    pub num_bytes_out: AtomicU64,
}

impl TaskMetrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A consistent-enough copy for reporting.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            num_records_in: self.num_records_in.load(Ordering::Relaxed),
            num_records_out: self.num_records_out.load(Ordering::Relaxed),
            num_records_skipped: self.num_records_skipped.load(Ordering::Relaxed),
            num_late_records_dropped: self.num_late_records_dropped.load(Ordering::Relaxed),
            num_bytes_in: self.num_bytes_in.load(Ordering::Relaxed),
            num_bytes_out: self.num_bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Plain values of [`TaskMetrics`], summable across subtasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetricsSnapshot {
    pub num_records_in: u64,
    pub num_records_out: u64,
    pub num_records_skipped: u64,
    pub num_late_records_dropped: u64,
    pub num_bytes_in: u64,
    pub num_bytes_out: u64,
}

impl std::ops::AddAssign for MetricsSnapshot {
    fn add_assign(&mut self, o: Self) {
        self.num_records_in += o.num_records_in;
        self.num_records_out += o.num_records_out;
        self.num_records_skipped += o.num_records_skipped;
        self.num_late_records_dropped += o.num_late_records_dropped;
        self.num_bytes_in += o.num_bytes_in;
        self.num_bytes_out += o.num_bytes_out;
    }
}
