//! The csv decoder's fast path: for the common chunk (no quotes, no escapes, no carriage
//! returns, every line with the table's number of fields) fields are found with memchr and
//! the columns a job reads are built straight from the chunk's bytes: integers, dates and
//! `YYYY-MM-DD hh:mm:ss[.fff]` timestamps parsed in place, text copied once. Anything it is
//! not sure of (a field it cannot parse, a type it does not handle) goes to the general path
//! (Arrow's csv reader and casts, [`super::csv`]) for that column or chunk, which also makes
//! the error messages; so both paths give the same batches, only faster here.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, PrimitiveArray, StringArray};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{
    ArrowNativeType, ArrowPrimitiveType, DataType, Date32Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};

/// Where each read column's fields are in a chunk, kept between chunks for its buffers.
#[derive(Debug, Default)]
pub(super) struct FieldBounds {
    /// Per read column, `(start, end)` of its field in every line.
    columns: Vec<Vec<(usize, usize)>>,
}

impl FieldBounds {
    /// Splits `buf` (`num_lines` lines, each ending in `\n`) into fields; keeps the bounds of
    /// the fields `read` (ascending column indexes). False when the chunk is not one the
    /// fast path takes: a quote, escape or `\r` anywhere, or a line with another number of
    /// fields than `num_fields`.
    pub(super) fn split(
        &mut self,
        buf: &[u8],
        num_lines: usize,
        num_fields: usize,
        delimiter: u8,
        special: [u8; 3],
        read: &[usize],
    ) -> bool {
        if memchr::memchr3(special[0], special[1], special[2], buf).is_some() {
            return false;
        }
        self.columns.resize_with(read.len(), Vec::new);
        for c in &mut self.columns {
            c.clear();
            c.reserve(num_lines);
        }
        let mut start = 0;
        let mut lines = 0;
        while start < buf.len() {
            let Some(end) = memchr::memchr(b'\n', &buf[start..]).map(|i| start + i) else {
                return false;
            };
            let line = &buf[start..end];
            // Arrow's reader skips an empty record (a one-column table would see a row).
            if line.is_empty() {
                return false;
            }
            let (mut field, mut from) = (0, 0);
            let mut next_read = 0;
            for at in memchr::memchr_iter(delimiter, line).chain(std::iter::once(line.len())) {
                if next_read < read.len() && read[next_read] == field {
                    self.columns[next_read].push((start + from, start + at));
                    next_read += 1;
                }
                field += 1;
                from = at + 1;
            }
            if field != num_fields {
                return false;
            }
            lines += 1;
            start = end + 1;
        }
        lines == num_lines
    }

    /// The bounds of the `i`-th read column's fields.
    pub(super) fn column(&self, i: usize) -> &[(usize, usize)] {
        &self.columns[i]
    }
}

/// The column of `data_type` from its fields, or `None` when the fast path does not
/// handle the type or one of the fields (the general path then converts the column).
pub(super) fn column(
    buf: &[u8],
    fields: &[(usize, usize)],
    data_type: &DataType,
) -> Option<ArrayRef> {
    Some(match data_type {
        DataType::Utf8 => Arc::new(text(buf, fields, false)?),
        DataType::Int8 => integers::<Int8Type>(buf, fields)?,
        DataType::Int16 => integers::<Int16Type>(buf, fields)?,
        DataType::Int32 => integers::<Int32Type>(buf, fields)?,
        DataType::Int64 => integers::<Int64Type>(buf, fields)?,
        DataType::Date32 => {
            // A date field is the date alone.
            let date = |f: &[u8]| parse_date(f).and_then(|(d, rest)| rest.is_empty().then_some(d));
            let (values, nulls) = parse_fields(buf, fields, date)?;
            Arc::new(PrimitiveArray::<Date32Type>::new(values, nulls))
        }
        DataType::Timestamp(unit, None) => timestamps(buf, fields, *unit)?,
        _ => return None,
    })
}

/// The fields as text, as Arrow's csv reader gives them: an empty field is NULL when
/// `empty_is_null`, else the empty string. `None` when a field is not UTF-8 (the array's
/// constructor checks).
pub(super) fn text(
    buf: &[u8],
    fields: &[(usize, usize)],
    empty_is_null: bool,
) -> Option<StringArray> {
    let size: usize = fields.iter().map(|(s, e)| e - s).sum();
    let mut values = Vec::with_capacity(size);
    let mut offsets = Vec::with_capacity(fields.len() + 1);
    offsets.push(0i32);
    for &(s, e) in fields {
        values.extend_from_slice(&buf[s..e]);
        offsets.push(i32::try_from(values.len()).ok()?);
    }
    let nulls = empty_is_null.then(|| NullBuffer::from_iter(fields.iter().map(|(s, e)| e > s)));
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    StringArray::try_new(offsets, Buffer::from_vec(values), nulls).ok()
}

/// Trims ASCII spaces and tabs, as the general path trims a non-text field.
fn trim(mut f: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = f {
        f = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = f {
        f = rest;
    }
    f
}

/// An optional `-` and decimal digits; `None` otherwise or on overflow.
fn parse_int(f: &[u8]) -> Option<i64> {
    let (negative, digits) = match f {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, f),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        // Accumulate negatively: i64::MIN has no positive counterpart.
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// Parses every field with `parse` (empty, after trimming: NULL).
fn parse_fields<T: ArrowNativeType>(
    buf: &[u8],
    fields: &[(usize, usize)],
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Option<(ScalarBuffer<T>, Option<NullBuffer>)> {
    let mut values = Vec::with_capacity(fields.len());
    let mut valid = Vec::with_capacity(fields.len());
    for &(s, e) in fields {
        let f = trim(&buf[s..e]);
        if f.is_empty() {
            values.push(T::default());
            valid.push(false);
        } else {
            values.push(parse(f)?);
            valid.push(true);
        }
    }
    let nulls = valid.contains(&false).then(|| NullBuffer::from(valid));
    Some((ScalarBuffer::from(values), nulls))
}

/// A column of integers of `T`'s width: out of range goes to the general path.
fn integers<T: ArrowPrimitiveType>(buf: &[u8], fields: &[(usize, usize)]) -> Option<ArrayRef>
where
    T::Native: TryFrom<i64>,
{
    let (values, nulls) = parse_fields(buf, fields, |f| T::Native::try_from(parse_int(f)?).ok())?;
    Some(Arc::new(PrimitiveArray::<T>::new(values, nulls)))
}

fn digits<const N: usize>(f: &[u8]) -> Option<u32> {
    if f.len() != N {
        return None;
    }
    f.iter().try_fold(0u32, |v, &d| {
        d.is_ascii_digit().then(|| v * 10 + u32::from(d - b'0'))
    })
}

/// Days since 1970-01-01 of the proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        _ => 28,
    }
}

/// `YYYY-MM-DD` at the start of `f`: days since the epoch and the rest of `f`.
fn parse_date(f: &[u8]) -> Option<(i32, &[u8])> {
    if f.len() < 10 || f[4] != b'-' || f[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits::<4>(&f[..4])?,
        digits::<2>(&f[5..7])?,
        digits::<2>(&f[8..10])?,
    );
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = i32::try_from(days_from_civil(i64::from(year), month, day)).ok()?;
    Some((days, &f[10..]))
}

/// `YYYY-MM-DD hh:mm:ss[.f...]` with at most as many fraction digits as `unit` holds, in
/// `unit`s since the epoch.
fn parse_timestamp(f: &[u8], unit: TimeUnit) -> Option<i64> {
    let (days, rest) = parse_date(f)?;
    let [b' ', h1, h2, b':', m1, m2, b':', s1, s2, fraction @ ..] = rest else {
        return None;
    };
    let (h, m, s) = (
        digits::<2>(&[*h1, *h2])?,
        digits::<2>(&[*m1, *m2])?,
        digits::<2>(&[*s1, *s2])?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let (per_second, places) = match unit {
        TimeUnit::Second => (1i64, 0usize),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let sub = match fraction {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= places => {
            let mut v = 0i64;
            for &d in digits {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(d - b'0');
            }
            v * 10i64.pow((places - digits.len()) as u32)
        }
        _ => return None,
    };
    let seconds = i64::from(days) * 86_400 + i64::from(h * 3600 + m * 60 + s);
    seconds.checked_mul(per_second)?.checked_add(sub)
}

fn timestamps(buf: &[u8], fields: &[(usize, usize)], unit: TimeUnit) -> Option<ArrayRef> {
    let (values, nulls) = parse_fields(buf, fields, |f| parse_timestamp(f, unit))?;
    Some(match unit {
        TimeUnit::Second => {
            Arc::new(PrimitiveArray::<TimestampSecondType>::new(values, nulls)) as ArrayRef
        }
        TimeUnit::Millisecond => Arc::new(PrimitiveArray::<TimestampMillisecondType>::new(
            values, nulls,
        )),
        TimeUnit::Microsecond => Arc::new(PrimitiveArray::<TimestampMicrosecondType>::new(
            values, nulls,
        )),
        TimeUnit::Nanosecond => Arc::new(PrimitiveArray::<TimestampNanosecondType>::new(
            values, nulls,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_or_refuse() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-42"), Some(-42));
        assert_eq!(parse_int(b"007"), Some(7));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"",
            b"-",
            b"+1",
            b"1.0",
            b"1e3",
            b"x",
        ] {
            assert_eq!(parse_int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn dates_and_timestamps_parse_or_refuse() {
        assert_eq!(parse_date(b"1970-01-01"), Some((0, &b""[..])));
        assert_eq!(parse_date(b"2000-03-01").map(|d| d.0), Some(11_017));
        assert_eq!(parse_date(b"1969-12-31").map(|d| d.0), Some(-1));
        assert_eq!(parse_date(b"2024-02-29").map(|d| d.0), Some(19_782));
        for bad in [
            &b"2023-02-29"[..],
            b"2024-13-01",
            b"2024-00-10",
            b"24-01-01",
            b"2024/01/01",
        ] {
            assert_eq!(parse_date(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let ms = |t: &str| parse_timestamp(t.as_bytes(), TimeUnit::Millisecond);
        assert_eq!(ms("1970-01-01 00:00:00"), Some(0));
        assert_eq!(ms("1970-01-01 00:00:01.5"), Some(1_500));
        assert_eq!(ms("2024-01-15 10:11:12.345"), Some(1_705_313_472_345));
        assert_eq!(ms("1969-12-31 23:59:59.999"), Some(-1));
        // More digits than the unit holds, other layouts, bad times: the general path's.
        for bad in [
            "2024-01-15 10:11:12.3456",
            "2024-01-15T10:11:12",
            "2024-01-15 24:00:00",
            "2024-01-15 10:11",
            "2024-01-15 10:11:12.",
        ] {
            assert_eq!(ms(bad), None, "{bad}");
        }
        assert_eq!(
            parse_timestamp(b"2024-01-15 10:11:12.123456", TimeUnit::Microsecond),
            Some(1_705_313_472_123_456)
        );
    }

    #[test]
    fn split_keeps_read_fields_and_refuses_what_it_cannot_take() {
        let mut bounds = FieldBounds::default();
        let buf = b"1,ab,,x\n22,c,d,\n";
        let special = [b'"', b'\r', b'"'];
        assert!(bounds.split(buf, 2, 4, b',', special, &[0, 2, 3]));
        let field = |c: usize, r: usize| {
            let (s, e) = bounds.column(c)[r];
            std::str::from_utf8(&buf[s..e]).unwrap().to_string()
        };
        assert_eq!(
            (field(0, 0), field(1, 0), field(2, 0)),
            ("1".into(), "".into(), "x".into())
        );
        assert_eq!(
            (field(0, 1), field(1, 1), field(2, 1)),
            ("22".into(), "d".into(), "".into())
        );
        assert!(!bounds.split(b"1,2\n", 1, 3, b',', special, &[0]));
        assert!(!bounds.split(b"1,\"2\"\n", 1, 2, b',', special, &[0]));
        assert!(!bounds.split(b"1,2\r\n", 1, 2, b',', special, &[0]));
        // Arrow's reader skips an empty record; a one-column table must not see a row.
        assert!(!bounds.split(b"\n", 1, 1, b',', special, &[0]));
    }
}
