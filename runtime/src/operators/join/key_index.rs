//! A hash index over one input's join keys, laid out as DataFusion's `JoinHashMap`: the
//! keys are hashed column by column over the whole batch, rows with the same hash are
//! chained through one `next` array (no vector per key), and only candidates of the same
//! hash are compared, on the keys' row format.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::row::{RowConverter, Rows};
use datafusion::common::hash_utils::create_hashes;

use crate::error::Result;
use crate::exchange::HASH_SEED;

/// The end of a chain.
const END: u32 = u32::MAX;

/// The keys' hashes are already well mixed: the map uses them as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 hashes are ever written.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, h: u64) {
        self.0 = h;
    }
}

/// The rows of one batch by join key; rows with a null key are left out (they match
/// nothing).
pub(crate) struct KeyIndex {
    /// Hash → first row with it.
    heads: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Row → next row with the same hash.
    next: Vec<u32>,
    rows: Rows,
}

impl KeyIndex {
    /// Indexes the rows of the key columns `keys` (`converter` over their types).
    pub fn build(keys: &[ArrayRef], converter: &RowConverter) -> Result<Self> {
        let n = keys.first().map_or(0, |k| k.len());
        let hashes = hash(keys, n)?;
        let valid = valid_keys(keys);
        let mut heads: HashMap<u64, u32, BuildHasherDefault<Prehashed>> =
            HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default());
        let mut next = vec![END; n];
        // Backwards, so each chain lists its rows in ascending order.
        for row in (0..n).rev() {
            if valid.as_ref().is_none_or(|v| v.is_valid(row)) {
                next[row] = heads.insert(hashes[row], row as u32).unwrap_or(END);
            }
        }
        Ok(Self {
            heads,
            next,
            rows: converter.convert_columns(keys)?,
        })
    }

    /// Every pair (probe row, indexed row) with equal keys, probe rows in order and each
    /// one's matches in the indexed rows' order.
    pub fn probe(
        &self,
        keys: &[ArrayRef],
        converter: &RowConverter,
    ) -> Result<(Vec<u32>, Vec<u32>)> {
        let n = keys.first().map_or(0, |k| k.len());
        let hashes = hash(keys, n)?;
        let valid = valid_keys(keys);
        let probe_rows = converter.convert_columns(keys)?;
        let (mut probe, mut indexed) = (Vec::new(), Vec::new());
        for (row, h) in hashes.iter().enumerate() {
            if !valid.as_ref().is_none_or(|v| v.is_valid(row)) {
                continue;
            }
            let mut at = self.heads.get(h).copied().unwrap_or(END);
            while at != END {
                if self.rows.row(at as usize) == probe_rows.row(row) {
                    probe.push(row as u32);
                    indexed.push(at);
                }
                at = self.next[at as usize];
            }
        }
        Ok((probe, indexed))
    }
}

fn hash(keys: &[ArrayRef], rows: usize) -> Result<Vec<u64>> {
    let mut hashes = vec![0u64; rows];
    if !keys.is_empty() {
        let state = foldhash::fast::FixedState::with_seed(HASH_SEED);
        create_hashes(keys, &state, &mut hashes)?;
    }
    Ok(hashes)
}

/// Rows whose keys are all non-null; `None` when every row's are.
fn valid_keys(keys: &[ArrayRef]) -> Option<NullBuffer> {
    keys.iter().fold(None, |acc, k| {
        NullBuffer::union(acc.as_ref(), k.logical_nulls().as_ref())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::row::SortField;

    use super::*;

    #[test]
    fn equal_keys_pair_up_in_order_and_null_keys_match_nothing() {
        let keys = |ints: Vec<Option<i64>>, strs: Vec<Option<&str>>| -> Vec<ArrayRef> {
            vec![
                Arc::new(Int64Array::from(ints)),
                Arc::new(StringArray::from(strs)),
            ]
        };
        let converter = RowConverter::new(vec![
            SortField::new(datafusion::arrow::datatypes::DataType::Int64),
            SortField::new(datafusion::arrow::datatypes::DataType::Utf8),
        ])
        .unwrap();
        let indexed = keys(
            vec![Some(1), Some(2), Some(1), None, Some(1)],
            vec![Some("a"), Some("a"), Some("a"), Some("a"), Some("b")],
        );
        let index = KeyIndex::build(&indexed, &converter).unwrap();
        let probe = keys(
            vec![Some(1), None, Some(2), Some(3), Some(1)],
            vec![Some("a"), Some("a"), Some("a"), Some("a"), None],
        );
        let (p, i) = index.probe(&probe, &converter).unwrap();
        assert_eq!(p, vec![0, 0, 2]);
        assert_eq!(i, vec![0, 2, 1]);
    }
}
