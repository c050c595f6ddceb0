//! PostgreSQL's binary formats where Arrow's layout differs: numerics in base-10000
//! digits, dates and timestamps counted from 2000-01-01, intervals as (µs, days, months).

use bytes::{BufMut, BytesMut};

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
pub(super) const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub(super) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
/// Room for a Decimal256's 77 digits, as many trailing zeros for its most negative scale,
/// and padding to whole base-10000 digits.
const MAX_DIGITS: usize = 256;

/// A numeric in `numeric_send`'s layout from its magnitude's decimal `digits` and `scale`
/// (a negative scale means trailing zeros, as Arrow allows and PostgreSQL does not).
pub(super) fn numeric(negative: bool, digits: &str, scale: i32, out: &mut BytesMut) {
    let (trailing_zeros, scale) = match usize::try_from(scale) {
        Ok(s) => (0, s),
        Err(_) => (scale.unsigned_abs() as usize, 0),
    };
    // The digits without the point, padded so that the integer part and the fraction each
    // fill whole groups of four.
    let total = digits.len() + trailing_zeros;
    let int_len = total.saturating_sub(scale);
    let int_pad = int_len.div_ceil(4) * 4 - int_len;
    let frac_pad_left = scale.saturating_sub(total);
    let frac_pad_right = scale.div_ceil(4) * 4 - scale;
    let mut buf = [b'0'; MAX_DIGITS];
    let len = int_pad + frac_pad_left + total + frac_pad_right;
    if len > MAX_DIGITS {
        // Not an Arrow decimal; send zero rather than overrun.
        out.put_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        return;
    }
    let start = int_pad + frac_pad_left;
    buf[start..start + digits.len()].copy_from_slice(digits.as_bytes());
    let mut groups = [0i16; MAX_DIGITS / 4];
    let n = len / 4;
    for (g, chunk) in groups.iter_mut().zip(buf[..len].chunks(4)) {
        *g = chunk
            .iter()
            .fold(0i16, |v, d| v * 10 + i16::from(d.wrapping_sub(b'0')));
    }
    let mut weight = ((int_len + int_pad) / 4) as i16 - 1;
    let mut lo = 0;
    while lo < n && groups[lo] == 0 {
        lo += 1;
        weight -= 1;
    }
    let mut hi = n;
    while hi > lo && groups[hi - 1] == 0 {
        hi -= 1;
    }
    let zero = lo == hi;
    out.put_i16((hi - lo) as i16);
    out.put_i16(if zero { 0 } else { weight });
    out.put_u16(if negative && !zero {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    });
    out.put_u16(scale as u16);
    for g in &groups[lo..hi] {
        out.put_i16(*g);
    }
}

/// An interval as `interval_send` writes it.
pub(super) fn interval(months: i32, days: i32, micros: i64, out: &mut BytesMut) {
    out.put_i64(micros);
    out.put_i32(days);
    out.put_i32(months);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(negative: bool, digits: &str, scale: i32) -> Vec<i16> {
        let mut out = BytesMut::new();
        numeric(negative, digits, scale, &mut out);
        out.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numerics_are_sent_as_postgres_sends_them() {
        // [ndigits, weight, sign, dscale, digits...] as numeric_send writes them in
        // PostgreSQL 15 (`SELECT x::numeric(p,s)` fetched in binary).
        assert_eq!(numeric_bytes(false, "150", 2), vec![2, 0, 0, 2, 1, 5000]);
        assert_eq!(numeric_bytes(false, "100", 2), vec![1, 0, 0, 2, 1]);
        assert_eq!(numeric_bytes(true, "5", 2), vec![1, -1, 0x4000, 2, 500]);
        assert_eq!(numeric_bytes(false, "0", 2), vec![0, 0, 0, 2]);
        assert_eq!(
            numeric_bytes(false, "123456789", 0),
            vec![3, 2, 0, 0, 1, 2345, 6789]
        );
        assert_eq!(numeric_bytes(false, "123", -2), vec![2, 1, 0, 0, 1, 2300]);
        assert_eq!(numeric_bytes(false, "1", 10), vec![1, -3, 0, 10, 100]);
        // 12345.6789 at scale 4.
        assert_eq!(
            numeric_bytes(false, "123456789", 4),
            vec![3, 1, 0, 4, 1, 2345, 6789]
        );
    }
}
