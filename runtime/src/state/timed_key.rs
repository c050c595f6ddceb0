//! Keys of rows kept in time order under one namespace (interval join sides, OVER
//! partitions): the time with its sign bit flipped, so that bytes sort as times do, then an
//! arrival number that keeps rows of one time apart and in order.

use crate::error::{Result, RuntimeError};

/// The key of a row at `time` that arrived `seq`th.
pub fn timed_key(time: i64, seq: u64) -> Vec<u8> {
    let mut key = ((time as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The time of a key made by [`timed_key`].
pub fn time_of(key: &[u8]) -> Result<i64> {
    let bytes: [u8; 8] = key
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| RuntimeError::Internal("a timed row key is truncated".into()))?;
    Ok((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The arrival number of a key made by [`timed_key`].
pub fn seq_of(key: &[u8]) -> u64 {
    key.get(8..16)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_time_then_arrival() {
        let mut keys = [
            timed_key(5, 1),
            timed_key(-3, 9),
            timed_key(5, 0),
            timed_key(0, 2),
        ];
        keys.sort();
        let order: Vec<(i64, u64)> = keys
            .iter()
            .map(|k| (time_of(k).unwrap(), seq_of(k)))
            .collect();
        assert_eq!(order, [(-3, 9), (0, 2), (5, 0), (5, 1)]);
    }
}
