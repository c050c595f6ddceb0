//! PostgreSQL's text renderings where they differ from the Rust types' own: floats
//! (`95000`, `1e+20`, `Infinity`), dates and timestamps (`0044-03-15 BC`, fraction only
//! when non-zero), numerics from Arrow's scaled integers, intervals (`1 year 2 mons
//! 04:05:06.5`), bytea (`\x0a`) and array elements (quoted when PostgreSQL quotes them).

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use chrono::{Datelike, NaiveDate, Timelike};

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
pub(super) const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A float as PostgreSQL prints it with `extra_float_digits` ≥ 1 (its default): the
/// shortest text that reads back exactly, in `%g` style: exponent form when the decimal
/// exponent is below -4 or at least `fixed_below` (15 for float8, 6 for float4).
pub(super) fn float_text<F>(
    v: F,
    is_nan: bool,
    is_inf: bool,
    fixed_below: i32,
    scratch: &mut String,
    out: &mut BytesMut,
) where
    F: std::fmt::Display + std::fmt::LowerExp + PartialOrd + Default,
{
    if is_nan {
        out.put_slice(b"NaN");
        return;
    }
    if is_inf {
        out.put_slice(if v > F::default() {
            b"Infinity"
        } else {
            b"-Infinity"
        });
        return;
    }
    scratch.clear();
    let _ = write!(scratch, "{v:e}");
    let (mantissa, exp) = scratch.split_once('e').unwrap_or((scratch.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..fixed_below).contains(&exp) {
        let _ = write!(out, "{v}");
    } else {
        out.put_slice(mantissa.as_bytes());
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// `2024-01-03`, `10000-01-01`, `0044-03-15 BC` (the BC suffix is the caller's, after
/// any time of day).
fn date_part(d: NaiveDate, out: &mut BytesMut) -> bool {
    let year = d.year();
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    let _ = write!(out, "{shown:04}-{:02}-{:02}", d.month(), d.day());
    bc
}

/// A date from days since 1970-01-01; false when outside the calendar chrono knows.
pub(super) fn date_text(days: i32, out: &mut BytesMut) -> bool {
    let Some(d) = days
        .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
    else {
        return false;
    };
    if date_part(d, out) {
        out.put_slice(b" BC");
    }
    true
}

/// `.5`, `.25`: microseconds without trailing zeros, or nothing.
fn fraction(micros: u32, out: &mut BytesMut) {
    if micros == 0 {
        return;
    }
    let mut digits = [0u8; 6];
    let mut m = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (m % 10) as u8;
        m /= 10;
    }
    let end = 6 - digits.iter().rev().take_while(|d| **d == b'0').count();
    out.put_u8(b'.');
    out.put_slice(&digits[..end]);
}

/// `13:14:15`, `13:14:15.25` from microseconds since midnight.
pub(super) fn time_text(micros: i64, out: &mut BytesMut) {
    let secs = micros.div_euclid(1_000_000);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    fraction(micros.rem_euclid(1_000_000) as u32, out);
}

/// `2024-01-03 18:45:30.5` from microseconds since 1970; a timestamptz (`zone` given) is
/// shown in that zone with its offset, `+08` or `+05:30`, as PostgreSQL shows one in the
/// session's TimeZone. False when outside the calendar chrono knows.
pub(super) fn timestamp_text(
    micros: i64,
    zone: Option<crate::session::Zone>,
    out: &mut BytesMut,
) -> bool {
    let Some(t) = chrono::DateTime::from_timestamp_micros(micros) else {
        return false;
    };
    let utc = t.naive_utc();
    let offset = zone.map(|z| z.offset_at(&utc));
    let Some(t) = utc.checked_add_signed(chrono::TimeDelta::seconds(offset.unwrap_or(0).into()))
    else {
        return false;
    };
    let bc = date_part(t.date(), out);
    let _ = write!(out, " {:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    fraction(t.nanosecond() / 1000, out);
    if let Some(offset) = offset {
        let abs = offset.unsigned_abs();
        let sign = if offset < 0 { '-' } else { '+' };
        let _ = write!(out, "{sign}{:02}", abs / 3600);
        if abs % 3600 != 0 {
            let _ = write!(out, ":{:02}", (abs / 60) % 60);
        }
        if abs % 60 != 0 {
            let _ = write!(out, ":{:02}", abs % 60);
        }
    }
    if bc {
        out.put_slice(b" BC");
    }
    true
}

/// An interval in PostgreSQL's default `postgres` style: `1 year 2 mons -3 days
/// +04:05:06.5`, `00:00:00` when zero. Each part is signed on its own, and a positive part
/// after a negative one gets a `+`, as PostgreSQL's `EncodeInterval` writes them.
pub(super) fn interval_text(months: i32, days: i32, micros: i64, out: &mut BytesMut) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |value: i64, unit: &str, out: &mut BytesMut| {
        if value == 0 {
            return;
        }
        let _ = write!(
            out,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(i64::from(months / 12), "year", out);
    part(i64::from(months % 12), "mon", out);
    part(i64::from(days), "day", out);
    if is_zero || micros != 0 {
        let abs = micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let _ = write!(
            out,
            "{}{}{:02}:{:02}:{:02}",
            if is_zero { "" } else { " " },
            if micros < 0 {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        fraction((abs % 1_000_000) as u32, out);
    }
}

/// A scaled integer's digits as PostgreSQL prints a numeric: `-0.05`, `12300` for a
/// negative scale. `digits` is the magnitude in decimal.
pub(super) fn numeric_text(negative: bool, digits: &str, scale: i32, out: &mut BytesMut) {
    if negative && digits != "0" {
        out.put_u8(b'-');
    }
    if scale <= 0 {
        out.put_slice(digits.as_bytes());
        if digits != "0" {
            out.put_bytes(b'0', scale.unsigned_abs() as usize);
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.put_slice(b"0.");
        out.put_bytes(b'0', scale - digits.len());
        out.put_slice(digits.as_bytes());
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.put_slice(int.as_bytes());
        out.put_u8(b'.');
        out.put_slice(frac.as_bytes());
    }
}

/// `\x0aff`, bytea in PostgreSQL's default hex output.
pub(super) fn bytea_text(bytes: &[u8], out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.put_slice(b"\\x");
    for b in bytes {
        out.put_u8(HEX[usize::from(b >> 4)]);
        out.put_u8(HEX[usize::from(b & 0xf)]);
    }
}

/// An array element as `array_out` writes it: double-quoted when empty, `NULL` in any
/// case, or holding a quote, backslash, brace, comma or white space.
pub(super) fn array_element(text: &[u8], out: &mut BytesMut) {
    let quote = text.is_empty()
        || text.eq_ignore_ascii_case(b"null")
        || text.iter().any(|c| {
            matches!(
                c,
                b'"' | b'\\' | b'{' | b'}' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if !quote {
        out.put_slice(text);
        return;
    }
    out.put_u8(b'"');
    for &c in text {
        if c == b'"' || c == b'\\' {
            out.put_u8(b'\\');
        }
        out.put_u8(c);
    }
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut BytesMut)) -> String {
        let mut out = BytesMut::new();
        f(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn f8(v: f64) -> String {
        text(|o| float_text(v, v.is_nan(), v.is_infinite(), 15, &mut String::new(), o))
    }

    fn f4(v: f32) -> String {
        text(|o| float_text(v, v.is_nan(), v.is_infinite(), 6, &mut String::new(), o))
    }

    #[test]
    fn floats_render_like_postgres() {
        // As PostgreSQL 15 prints `SELECT x::float8` / `x::float4`.
        assert_eq!(f8(95000.0), "95000");
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(1e20), "1e+20");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(1e14), "100000000000000");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(100000.0), "100000");
        assert_eq!(f4(1.5), "1.5");
    }

    #[test]
    fn dates_and_times_render_like_postgres() {
        let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 3)
            .unwrap()
            .and_hms_milli_opt(18, 45, 30, 500)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(
            text(|o| assert!(timestamp_text(t, None, o))),
            "2024-01-03 18:45:30.5"
        );
        let zone = |z: &str| crate::session::Zone::parse(z);
        assert_eq!(
            text(|o| assert!(timestamp_text(t, zone("UTC"), o))),
            "2024-01-03 18:45:30.5+00"
        );
        // In the session's zone, with its offset, as PostgreSQL shows a timestamptz.
        assert_eq!(
            text(|o| assert!(timestamp_text(t, zone("Asia/Shanghai"), o))),
            "2024-01-04 02:45:30.5+08"
        );
        assert_eq!(
            text(|o| assert!(timestamp_text(t, zone("Asia/Kolkata"), o))),
            "2024-01-04 00:15:30.5+05:30"
        );
        assert_eq!(
            text(|o| assert!(timestamp_text(t, zone("GMT-03:00"), o))),
            "2024-01-03 15:45:30.5-03"
        );
        assert_eq!(text(|o| time_text(49_515_250_000, o)), "13:45:15.25");
        assert_eq!(text(|o| assert!(date_text(0, o))), "1970-01-01");
        // 44 BC is year -43 in chrono's proleptic calendar.
        let bc = chrono::NaiveDate::from_ymd_opt(-43, 3, 15).unwrap();
        let days = bc.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE;
        assert_eq!(text(|o| assert!(date_text(days, o))), "0044-03-15 BC");
    }

    #[test]
    fn intervals_render_like_postgres() {
        // SELECT interval '...' in PostgreSQL 15 with IntervalStyle = postgres.
        assert_eq!(text(|o| interval_text(0, 0, 0, o)), "00:00:00");
        assert_eq!(text(|o| interval_text(14, 3, 0, o)), "1 year 2 mons 3 days");
        assert_eq!(
            text(|o| interval_text(0, 1, 7_384_500_000, o)),
            "1 day 02:03:04.5"
        );
        assert_eq!(text(|o| interval_text(-12, 0, 0, o)), "-1 years");
        assert_eq!(
            text(|o| interval_text(0, -1, 3_600_000_000, o)),
            "-1 days +01:00:00"
        );
        assert_eq!(text(|o| interval_text(0, 0, -1_500_000, o)), "-00:00:01.5");
    }

    #[test]
    fn numerics_and_arrays_render_like_postgres() {
        assert_eq!(text(|o| numeric_text(true, "5", 2, o)), "-0.05");
        assert_eq!(text(|o| numeric_text(false, "150", 2, o)), "1.50");
        assert_eq!(text(|o| numeric_text(false, "123", -2, o)), "12300");
        assert_eq!(text(|o| numeric_text(true, "0", 0, o)), "0");
        assert_eq!(text(|o| bytea_text(&[0, 0xab], o)), "\\x00ab");
        assert_eq!(text(|o| array_element(b"a b", o)), "\"a b\"");
        assert_eq!(text(|o| array_element(b"Null", o)), "\"Null\"");
        assert_eq!(text(|o| array_element(b"q\"\\", o)), "\"q\\\"\\\\\"");
        assert_eq!(text(|o| array_element(b"plain", o)), "plain");
    }
}
