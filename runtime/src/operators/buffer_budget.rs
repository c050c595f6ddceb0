//! How many bytes of rows an operator may hold on the heap while they wait for their window
//! (`table.exec.window.buffer-memory-limit`). With the `hashmap` state backend, a window join
//! or SESSION aggregation over more data than the limit fails its job with an error naming
//! the operator and the key, instead of growing until the process is killed; with `rocksdb`
//! the rows spill to disk and no limit applies.

use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Result, RuntimeError};

/// The configuration key that sets the budget.
pub const BUFFER_MEMORY_LIMIT_KEY: &str = "table.exec.window.buffer-memory-limit";

/// Bytes buffered by one operator against its limit.
#[derive(Debug)]
pub struct BufferBudget {
    bytes: usize,
    limit: usize,
    operator: String,
}

impl BufferBudget {
    /// A budget of `limit` bytes for the operator described by `operator`.
    pub fn new(limit: usize, operator: String) -> Self {
        Self {
            bytes: 0,
            limit,
            operator,
        }
    }

    /// Counts a batch the operator keeps; fails once the operator holds more than its limit.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        self.add_bytes(batch.get_array_memory_size())
    }

    /// Counts bytes the operator keeps; fails once it holds more than its limit.
    pub fn add_bytes(&mut self, bytes: usize) -> Result<()> {
        self.bytes += bytes;
        if self.bytes > self.limit {
            return Err(RuntimeError::User(format!(
                "{} buffers {} KiB of rows waiting for their windows, more than {} = {} KiB; \
                 raise it or make the windows smaller",
                self.operator,
                self.bytes / 1024,
                BUFFER_MEMORY_LIMIT_KEY,
                self.limit / 1024
            )));
        }
        Ok(())
    }

    /// Forgets batches the operator let go of.
    pub fn release(&mut self, batches: &[RecordBatch]) {
        self.release_bytes(batches.iter().map(|b| b.get_array_memory_size()).sum());
    }

    /// Forgets bytes the operator let go of.
    pub fn release_bytes(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn fails_past_the_limit_and_recovers_what_is_released() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1i64; 1000]))])
                .unwrap();
        let size = batch.get_array_memory_size();
        let mut budget = BufferBudget::new(size * 2, "WindowJoin(x)".into());
        budget.add(&batch).unwrap();
        budget.add(&batch).unwrap();
        let err = budget.add(&batch).unwrap_err().to_string();
        assert!(
            err.contains("WindowJoin(x)") && err.contains(BUFFER_MEMORY_LIMIT_KEY),
            "{err}"
        );
        budget.release(&[batch.clone(), batch.clone(), batch.clone()]);
        budget.add(&batch).unwrap();
    }
}
