//! Key groups, with Flink's `KeyGroupRangeAssignment` functions under snake_case names.
//! The mapping must never change: key groups are stored in checkpoints.

use serde::{Deserialize, Serialize};

/// An inclusive range of key groups owned by one subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupRange {
    pub start: u32,
    pub end: u32,
}

impl KeyGroupRange {
    /// Whether `key_group` falls in this range.
    pub fn contains(&self, key_group: u32) -> bool {
        self.start <= key_group && key_group <= self.end
    }
}

/// Flink's `MathUtils.murmurHash`: spreads a 32-bit hash before the modulo.
fn murmur_hash(code: i32) -> i32 {
    let mut code = code.wrapping_mul(0xcc9e2d51_u32 as i32);
    code = code.rotate_left(15);
    code = code.wrapping_mul(0x1b873593);
    code = code.rotate_left(13);
    code = code.wrapping_mul(5).wrapping_add(0xe6546b64_u32 as i32);
    code ^= 4;
    code = bit_mix(code);
    if code >= 0 {
        code
    } else if code != i32::MIN {
        -code
    } else {
        0
    }
}

fn bit_mix(mut h: i32) -> i32 {
    h ^= ((h as u32) >> 16) as i32;
    h = h.wrapping_mul(0x85ebca6b_u32 as i32);
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(0xc2b2ae35_u32 as i32);
    h ^= ((h as u32) >> 16) as i32;
    h
}

/// The key group of a key whose hash is `key_hash` (Flink `computeKeyGroupForKeyHash`).
pub fn compute_key_group_for_key_hash(key_hash: u64, max_parallelism: u32) -> u32 {
    // Fold the 64-bit hash to the 32 bits Flink's function takes.
    let folded = (key_hash ^ (key_hash >> 32)) as u32 as i32;
    (murmur_hash(folded) as u32) % max_parallelism
}

/// The subtask owning a key group (Flink `computeOperatorIndexForKeyGroup`).
pub fn compute_operator_index_for_key_group(
    max_parallelism: u32,
    parallelism: u32,
    key_group: u32,
) -> u32 {
    ((key_group as u64 * parallelism as u64) / max_parallelism as u64) as u32
}

/// The key groups a subtask owns (Flink `computeKeyGroupRangeForOperatorIndex`).
pub fn compute_key_group_range_for_operator_index(
    max_parallelism: u32,
    parallelism: u32,
    operator_index: u32,
) -> KeyGroupRange {
    let (mp, p, i) = (
        max_parallelism as u64,
        parallelism as u64,
        operator_index as u64,
    );
    let start = (i * mp).div_ceil(p);
    let end = ((i + 1) * mp - 1) / p;
    KeyGroupRange {
        start: start as u32,
        end: end as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_all_key_groups_and_agree_with_index() {
        for p in 1..=7 {
            let mut next = 0;
            for i in 0..p {
                let r = compute_key_group_range_for_operator_index(128, p, i);
                assert_eq!(r.start, next);
                for kg in r.start..=r.end {
                    assert_eq!(compute_operator_index_for_key_group(128, p, kg), i);
                }
                next = r.end + 1;
            }
            assert_eq!(next, 128);
        }
    }
}
