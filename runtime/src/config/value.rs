//! Parsing of Flink-style configuration values ("200 ms", "1 min", "64 mb", "true").

use std::time::Duration;

/// Parses a boolean the way Flink does (`true` / `false`, case-insensitive).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("'{other}' is not a boolean (true or false)")),
    }
}

/// Parses a Flink duration: a number with an optional unit (ms, s, min, h, d; default ms).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as '200 ms' or '5 s'"))?;
    let ms_per_unit: u64 = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        other => return Err(format!("unknown time unit '{other}'")),
    };
    n.checked_mul(ms_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{s}' is too long a duration"))
}

/// Parses a memory size such as `64 mb` into bytes.
pub fn parse_memory_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a memory size such as '64 mb'"))?;
    let mult = match unit.trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        other => return Err(format!("unknown memory unit '{other}'")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large a memory size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("5 s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1min").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("99999999999999999 d").is_err());
        assert!(parse_memory_size("99999999999999 gb").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }
}
