//! PostgreSQL's text renderings where they differ from the Rust types' own: floats
//! (`95000`, `Infinity`), timestamps and times (fraction only when non-zero), arrays
//! (`{1,2,3}`). Binary encoding is left to the wrapped value.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::types::format::FormatOptions;
use pgwire::types::ToSqlText;
use postgres_types::{IsNull, ToSql};

/// A value with its binary encoding and a precomputed PostgreSQL text rendering.
#[derive(Debug)]
pub(super) struct PgText<T> {
    pub binary: T,
    pub text: String,
}

impl<T: ToSql> ToSql for PgText<T> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.binary.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        T::accepts(ty)
    }

    postgres_types::to_sql_checked!();
}

impl<T: std::fmt::Debug> ToSqlText for PgText<T> {
    fn to_sql_text(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
        _format_options: &FormatOptions,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_slice(self.text.as_bytes());
        Ok(IsNull::No)
    }
}

/// `95000`, `0.1`, `NaN`, `Infinity`, as PostgreSQL prints floats.
pub(super) fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{v}")
    }
}

/// `.5`, `.25`: microseconds without trailing zeros, or nothing.
fn fraction(nanos: u32) -> String {
    let micros = nanos / 1000;
    if micros == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// `2024-01-01 10:00:00`, `2024-01-03 18:45:30.5`.
pub(super) fn timestamp_text(t: &chrono::NaiveDateTime) -> String {
    use chrono::Timelike;
    format!(
        "{}{}",
        t.format("%Y-%m-%d %H:%M:%S"),
        fraction(t.nanosecond())
    )
}

/// `13:14:15`, `13:14:15.25`.
pub(super) fn time_text(t: &chrono::NaiveTime) -> String {
    use chrono::Timelike;
    format!("{}{}", t.format("%H:%M:%S"), fraction(t.nanosecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_postgres() {
        assert_eq!(float_text(95000.0), "95000");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 3)
            .unwrap()
            .and_hms_milli_opt(18, 45, 30, 500)
            .unwrap();
        assert_eq!(timestamp_text(&t), "2024-01-03 18:45:30.5");
        assert_eq!(time_text(&t.time()), "18:45:30.5");
    }
}
