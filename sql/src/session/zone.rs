//! The session's time zone: PostgreSQL's `TimeZone` and Flink's `table.local-time-zone` are
//! one setting. TIMESTAMP_LTZ values are shown in it, and a TIMESTAMP cast to
//! TIMESTAMP_LTZ is read as a time of day there, as in Flink.

use std::str::FromStr;

use chrono::{FixedOffset, NaiveDateTime, Offset, TimeZone};

/// A time zone by IANA name (`Asia/Shanghai`) or a fixed offset (`GMT+08:00`, `+05:30`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// UTC, the zone a session starts in.
    pub fn utc() -> Zone {
        Zone::Named(chrono_tz::UTC)
    }

    /// Reads a zone as Flink and PostgreSQL write one; `None` when it is none.
    /// `default` (Flink's default value) is the server's zone, UTC.
    pub fn parse(text: &str) -> Option<Zone> {
        let t = text.trim();
        // Every zone name and offset is ASCII; anything else is none (and slicing below
        // stays on character boundaries).
        if !t.is_ascii() {
            return None;
        }
        if ["default", "utc", "z", "gmt", "zulu"].contains(&t.to_ascii_lowercase().as_str()) {
            return Some(Zone::utc());
        }
        if let Ok(tz) = chrono_tz::Tz::from_str(t) {
            return Some(Zone::Named(tz));
        }
        // Java's and Flink's `GMT+08:00`, `UTC-3`, `+05:30`: east of UTC when positive.
        let upper = t.to_ascii_uppercase();
        let rest = upper
            .strip_prefix("GMT")
            .or_else(|| upper.strip_prefix("UTC"))
            .unwrap_or(&upper);
        let (sign, rest) = match rest.as_bytes().first()? {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
            None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
            None => (rest.parse().ok()?, 0),
        };
        if !(0..=18).contains(&hours) || !(0..60).contains(&minutes) {
            return None;
        }
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).map(Zone::Fixed)
    }

    /// Seconds east of UTC at the instant `utc`.
    pub fn offset_at(&self, utc: &NaiveDateTime) -> i32 {
        match self {
            Zone::Named(tz) => tz.offset_from_utc_datetime(utc).fix().local_minus_utc(),
            Zone::Fixed(o) => o.local_minus_utc(),
        }
    }

    /// The name Arrow's zoned timestamp types take: the IANA name or `+08:00`.
    pub fn arrow_name(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Fixed(o) => o.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zones_as_flink_and_postgresql_write_them() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        let offset = |t: &str| Zone::parse(t).map(|z| z.offset_at(&at));
        assert_eq!(offset("Asia/Shanghai"), Some(8 * 3600));
        assert_eq!(offset("UTC"), Some(0));
        assert_eq!(offset("default"), Some(0));
        assert_eq!(offset("GMT+08:00"), Some(8 * 3600));
        assert_eq!(offset("UTC-3"), Some(-3 * 3600));
        assert_eq!(offset("+05:30"), Some(5 * 3600 + 1800));
        assert_eq!(offset("Mars/Olympus"), None);
        assert_eq!(offset("GMT+25"), None);
        assert_eq!(offset("+1é1"), None);
        assert_eq!(offset("+1\u{e9}"), None);
        // Summer time: New York is UTC-4 in July and UTC-5 in January.
        let july = chrono::DateTime::from_timestamp(1_720_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(
            Zone::parse("America/New_York").unwrap().offset_at(&july),
            -4 * 3600
        );
        assert_eq!(Zone::parse("GMT+08:00").unwrap().arrow_name(), "+08:00");
    }
}
