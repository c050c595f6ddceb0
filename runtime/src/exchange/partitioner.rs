//! Splits a batch by key: key columns → hash → key group → subtask, for the whole batch at
//! once.

use datafusion::arrow::array::{ArrayRef, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::create_hashes;

use crate::error::Result;
use crate::state::key_group::{
    compute_key_group_for_key_hash, compute_operator_index_for_key_group,
};

/// Fixed hash seed: key groups are persisted in checkpoints, so hashing must be stable
/// across processes.
pub const HASH_SEED: u64 = 0x5eed_0fed_d100_0001;

/// The key group of each row of the key columns `keys`; with no key columns, key group 0.
/// The exchange and the keyed state must agree on this, so both use it.
pub fn key_groups(keys: &[ArrayRef], max_parallelism: u32) -> Result<Vec<u32>> {
    let rows = keys.first().map_or(0, |k| k.len());
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut hashes = vec![0u64; rows];
    let state = foldhash::fast::FixedState::with_seed(HASH_SEED);
    create_hashes(keys, &state, &mut hashes)?;
    Ok(hashes
        .into_iter()
        .map(|h| compute_key_group_for_key_hash(h, max_parallelism))
        .collect())
}

/// Splits `batch` into one (possibly empty) batch per target subtask.
pub fn partition_batch(
    batch: &RecordBatch,
    key_columns: &[usize],
    parallelism: u32,
    max_parallelism: u32,
) -> Result<Vec<RecordBatch>> {
    if parallelism == 1 {
        return Ok(vec![batch.clone()]);
    }
    if key_columns.is_empty() {
        // No key (a global window aggregate): every row goes to the first subtask, as
        // Flink's global partitioner does.
        let mut parts = vec![batch.slice(0, 0); parallelism as usize];
        parts[0] = batch.clone();
        return Ok(parts);
    }
    let keys: Vec<ArrayRef> = key_columns
        .iter()
        .map(|&i| batch.column(i).clone())
        .collect();
    let mut indices: Vec<Vec<u32>> = vec![Vec::new(); parallelism as usize];
    for (row, kg) in key_groups(&keys, max_parallelism)?.into_iter().enumerate() {
        let target = compute_operator_index_for_key_group(max_parallelism, parallelism, kg);
        indices[target as usize].push(row as u32);
    }
    indices
        .into_iter()
        .map(|idx| Ok(take_record_batch(batch, &UInt32Array::from(idx))?))
        .collect()
}
