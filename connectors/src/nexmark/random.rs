//! `java.util.Random`, bit for bit: the 48-bit linear congruential generator the Nexmark
//! generators draw from. Porting it rather than using another PRNG keeps every draw
//! (`nextInt(bound)` with its rejection loop, `nextLong`, `nextDouble`) identical to the
//! Java code, so the generator's logic can be checked line by line against Beam's and
//! Flink's; seeding one per event makes each event a pure function of its number.

const MULTIPLIER: i64 = 0x5_DEEC_E66D;
const ADDEND: i64 = 0xB;
const MASK: i64 = (1 << 48) - 1;
/// 2^-53, Java's `DOUBLE_UNIT`.
const DOUBLE_UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// A `java.util.Random`.
#[derive(Debug, Clone)]
pub(crate) struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    /// `new Random(seed)`.
    pub(crate) fn new(seed: i64) -> Self {
        Self {
            seed: (seed ^ MULTIPLIER) & MASK,
        }
    }

    /// `next(bits)`: the top `bits` of the next state.
    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        // The state is 48 bits and non-negative, so `>>` is Java's `>>>`; the cast keeps
        // the low 32 bits as Java's `(int)` does.
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextInt()`.
    pub(crate) fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextInt(bound)`, uniform in `0..bound`. Java throws on a bound below 1; callers
    /// pass validated positive bounds, and a non-positive one is treated as 1.
    pub(crate) fn next_int_bounded(&mut self, bound: i32) -> i32 {
        let bound = bound.max(1);
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            // A power of two: take the high bits.
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            // Java's `u - r + m < 0` in int arithmetic: rejects the biased tail.
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }

    /// `nextLong()`.
    pub(crate) fn next_long(&mut self) -> i64 {
        let high = i64::from(self.next(32)) << 32;
        high.wrapping_add(i64::from(self.next(32)))
    }

    /// `nextDouble()`, uniform in `[0, 1)`.
    pub(crate) fn next_double(&mut self) -> f64 {
        let high = i64::from(self.next(26)) << 27;
        (high + i64::from(self.next(27))) as f64 * DOUBLE_UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by a JVM (`new Random(seed).nextX()`).
    #[test]
    fn matches_java() {
        assert_eq!(JavaRandom::new(0).next_int(), -1_155_484_576);
        assert_eq!(JavaRandom::new(42).next_int(), -1_170_105_035);
        assert_eq!(JavaRandom::new(0).next_double(), 0.730_967_787_376_657);
        assert_eq!(JavaRandom::new(0).next_long(), -4_962_768_465_676_381_896);
        assert_eq!(JavaRandom::new(42).next_int_bounded(10), 0);
        assert_eq!(JavaRandom::new(0).next_int_bounded(10), 0);
    }

    #[test]
    fn bounded_values_stay_in_range() {
        let mut r = JavaRandom::new(7);
        for bound in [1, 2, 3, 13, 26, 100, 10_000, i32::MAX] {
            for _ in 0..200 {
                let v = r.next_int_bounded(bound);
                assert!((0..bound).contains(&v), "{v} of {bound}");
            }
        }
        assert_eq!(r.next_int_bounded(0), 0);
    }
}
