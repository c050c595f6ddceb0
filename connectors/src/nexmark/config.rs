//! A nexmark table's options, checked into a [`NexmarkConfig`]: Java's
//! `NexmarkConfiguration` (the knobs) merged with the parts of `GeneratorConfig` that
//! place an event on the timeline (`nextAdjustedEventNumber`, `timestampForEvent`).
//!
//! Unlike Java's `GeneratorConfig.split`, which gives each subtask its own timeline
//! (`interEventDelayUs` multiplied by the parallelism, every subtask starting at the base
//! time), there is one timeline: event number `n` has the same id and timestamp whichever
//! subtask makes it, so the events do not depend on the parallelism.

use std::collections::BTreeMap;

use crate::error::{ConnectorError, Result};
use crate::options::{get, get_u64, parse_memory_size, OptionKey};

use super::{
    AUCTION_AVG_SIZE, AUCTION_PROPORTION, BASE_TIME, BID_AVG_SIZE, BID_PROPORTION, EVENTS_NUM,
    FIRST_EVENT_RATE, HOT_AUCTION_RATIO, HOT_BIDDERS_RATIO, HOT_SELLERS_RATIO, NEXT_EVENT_RATE,
    NUM_ACTIVE_PEOPLE, NUM_IN_FLIGHT_AUCTIONS, OUT_OF_ORDER_GROUP_SIZE, PERSON_AVG_SIZE,
    PERSON_PROPORTION, SEED, TPS,
};

/// Event numbers are Java longs; an unbounded source stops short of overflowing them.
const UNBOUNDED_END: u64 = i64::MAX as u64;

/// Nexmark's default rate, events per second (`NexmarkConfiguration.firstEventRate`).
const DEFAULT_RATE: u64 = 10_000;

/// Java's `int`: the type of Nexmark's proportions and ratios.
const JAVA_INT_MAX: i64 = i32::MAX as i64;

/// Largest average event size: `extra` is padded to it, a batch's worth at a time.
const MAX_AVG_SIZE: u64 = 1 << 20;

/// A nexmark table's options, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NexmarkConfig {
    /// Events over all subtasks; `None` when unbounded.
    pub(crate) events_num: Option<u64>,
    /// Events per second over all subtasks, on the event-time timeline.
    pub(crate) event_rate: u64,
    /// Whether generation is paced to `event_rate` (`false` when `tps` = 0).
    pub(crate) throttled: bool,
    pub(crate) seed: i64,
    /// Event time of event number 0, ms since the epoch.
    pub(crate) base_time: i64,
    pub(crate) person_proportion: i64,
    pub(crate) auction_proportion: i64,
    pub(crate) bid_proportion: i64,
    pub(crate) hot_auction_ratio: i32,
    pub(crate) hot_bidders_ratio: i32,
    pub(crate) hot_sellers_ratio: i32,
    pub(crate) num_in_flight_auctions: i64,
    pub(crate) num_active_people: i64,
    pub(crate) avg_person_byte_size: i32,
    pub(crate) avg_auction_byte_size: i32,
    pub(crate) avg_bid_byte_size: i32,
    pub(crate) out_of_order_group_size: u64,
}

impl NexmarkConfig {
    /// Checks the WITH options (keys were checked by the factory).
    pub(crate) fn parse(options: &BTreeMap<String, String>) -> Result<Self> {
        let events_num = get_u64(options, &EVENTS_NUM)?.filter(|n| *n > 0);
        if let Some(n) = events_num {
            if n > UNBOUNDED_END {
                return Err(ConnectorError::invalid(
                    EVENTS_NUM.key,
                    &n.to_string(),
                    format!("expected at most {UNBOUNDED_END}"),
                ));
            }
        }
        let (event_rate, throttled) = parse_rate(options)?;
        let int = |key: &OptionKey, min: i64, max: i64| int_option(options, key, min, max);
        Ok(Self {
            events_num,
            event_rate,
            throttled,
            seed: int(&SEED, i64::MIN, i64::MAX)?,
            base_time: int(&BASE_TIME, i64::MIN, i64::MAX)?,
            person_proportion: int(&PERSON_PROPORTION, 1, JAVA_INT_MAX / 3)?,
            auction_proportion: int(&AUCTION_PROPORTION, 1, JAVA_INT_MAX / 3)?,
            bid_proportion: int(&BID_PROPORTION, 1, JAVA_INT_MAX / 3)?,
            hot_auction_ratio: java_int(int(&HOT_AUCTION_RATIO, 1, JAVA_INT_MAX)?),
            hot_bidders_ratio: java_int(int(&HOT_BIDDERS_RATIO, 1, JAVA_INT_MAX)?),
            hot_sellers_ratio: java_int(int(&HOT_SELLERS_RATIO, 1, JAVA_INT_MAX)?),
            num_in_flight_auctions: int(&NUM_IN_FLIGHT_AUCTIONS, 0, JAVA_INT_MAX)?,
            num_active_people: int(&NUM_ACTIVE_PEOPLE, 0, JAVA_INT_MAX)?,
            avg_person_byte_size: size_option(options, &PERSON_AVG_SIZE)?,
            avg_auction_byte_size: size_option(options, &AUCTION_AVG_SIZE)?,
            avg_bid_byte_size: size_option(options, &BID_AVG_SIZE)?,
            out_of_order_group_size: int(&OUT_OF_ORDER_GROUP_SIZE, 1, i64::MAX)?.unsigned_abs(),
        })
    }

    /// One past the last event number.
    pub(crate) fn end(&self) -> u64 {
        self.events_num.unwrap_or(UNBOUNDED_END)
    }

    /// People, auctions and bids in one proportion cycle (`totalProportion`).
    pub(crate) fn total_proportion(&self) -> i64 {
        self.person_proportion + self.auction_proportion + self.bid_proportion
    }

    /// Microseconds between two consecutive events (`interEventDelayUs` with one
    /// generator).
    fn inter_event_delay_us(&self) -> f64 {
        1_000_000.0 / self.event_rate as f64
    }

    /// `nextAdjustedEventNumber`: event number `n` shuffled within its out-of-order group
    /// (`(n * 953) % size`, a permutation of the group as 953 is prime).
    pub(crate) fn adjusted_event_number(&self, n: u64) -> u64 {
        let size = self.out_of_order_group_size;
        let base = (n / size) * size;
        base + n.wrapping_mul(953) % size
    }

    /// `timestampForEvent`: the event time of event number `n`, ms since the epoch.
    pub(crate) fn timestamp_for_event(&self, n: u64) -> i64 {
        // Java: baseTime + (long) (eventNumber * interEventDelayUs) / 1000L.
        let us = (n as f64 * self.inter_event_delay_us()) as i64;
        self.base_time.saturating_add(us / 1000)
    }
}

/// The rate and whether it paces generation, from `tps` and Flink's
/// `first-event.rate` / `next-event.rate`.
fn parse_rate(options: &BTreeMap<String, String>) -> Result<(u64, bool)> {
    let tps = get_u64(options, &TPS)?;
    let first = positive_option(options, FIRST_EVENT_RATE.key)?;
    let rate = match (tps, first) {
        (Some(t), Some(f)) if t > 0 && t != f => {
            return Err(ConnectorError::invalid(
                TPS.key,
                &t.to_string(),
                format!("conflicts with 'first-event.rate' = '{f}'; set one of them"),
            ))
        }
        (Some(t), _) if t > 0 => t,
        (_, Some(f)) => f,
        _ => DEFAULT_RATE,
    };
    if let Some(next) = positive_option(options, NEXT_EVENT_RATE.key)? {
        if next != rate {
            return Err(ConnectorError::invalid(
                NEXT_EVENT_RATE.key,
                &next.to_string(),
                format!(
                    "a changing event rate is not supported; set it to the rate ({rate}) or \
                     leave it out"
                ),
            ));
        }
    }
    Ok((rate, tps != Some(0)))
}

/// A positive integer option without a default.
fn positive_option(options: &BTreeMap<String, String>, key: &str) -> Result<Option<u64>> {
    options
        .get(key)
        .map(|v| match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConnectorError::invalid(
                key,
                v,
                "expected a positive number of events per second",
            )),
        })
        .transpose()
}

/// An integer option (or its default) within `min..=max`.
fn int_option(
    options: &BTreeMap<String, String>,
    key: &OptionKey,
    min: i64,
    max: i64,
) -> Result<i64> {
    let raw = get(options, key).unwrap_or("0");
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => {
            let reason = match (min, max) {
                (i64::MIN, i64::MAX) => "expected an integer".to_string(),
                (1, i64::MAX) => "expected a positive integer".to_string(),
                _ => format!("expected an integer from {min} to {max}"),
            };
            Err(ConnectorError::invalid(key.key, raw, reason))
        }
    }
}

/// A Flink memory size (`200b`, `1 kb`) of at most [`MAX_AVG_SIZE`].
fn size_option(options: &BTreeMap<String, String>, key: &OptionKey) -> Result<i32> {
    let raw = get(options, key).unwrap_or("1");
    let bytes = parse_memory_size(key.key, raw)?;
    match i32::try_from(bytes) {
        Ok(n) if bytes <= MAX_AVG_SIZE => Ok(n),
        _ => Err(ConnectorError::invalid(
            key.key,
            raw,
            "expected at most 1 mb",
        )),
    }
}

/// A value already checked to fit an `i32`.
fn java_int(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<NexmarkConfig> {
        NexmarkConfig::parse(&opts(pairs))
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        parse(pairs).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_nexmarks() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.events_num, None);
        assert_eq!(c.end(), i64::MAX as u64);
        assert_eq!((c.event_rate, c.throttled), (10_000, true));
        assert_eq!(c.seed, 0);
        assert_eq!(c.base_time, 1_436_918_400_000);
        assert_eq!(
            (c.person_proportion, c.auction_proportion, c.bid_proportion),
            (1, 3, 46)
        );
        assert_eq!(c.total_proportion(), 50);
        assert_eq!(
            (
                c.hot_auction_ratio,
                c.hot_bidders_ratio,
                c.hot_sellers_ratio
            ),
            (2, 4, 4)
        );
        assert_eq!((c.num_in_flight_auctions, c.num_active_people), (100, 1000));
        assert_eq!(
            (
                c.avg_person_byte_size,
                c.avg_auction_byte_size,
                c.avg_bid_byte_size
            ),
            (200, 500, 100)
        );
        assert_eq!(c.out_of_order_group_size, 1);
    }

    #[test]
    fn rates() {
        let rate = |pairs: &[(&str, &str)]| {
            let c = parse(pairs).unwrap();
            (c.event_rate, c.throttled)
        };
        assert_eq!(rate(&[("tps", "0")]), (10_000, false));
        assert_eq!(rate(&[("tps", "500")]), (500, true));
        assert_eq!(rate(&[("first-event.rate", "700")]), (700, true));
        assert_eq!(
            rate(&[("tps", "0"), ("first-event.rate", "700")]),
            (700, false)
        );
        assert_eq!(
            rate(&[
                ("tps", "700"),
                ("first-event.rate", "700"),
                ("next-event.rate", "700")
            ]),
            (700, true)
        );
        assert!(err(&[("tps", "5"), ("first-event.rate", "6")]).contains("conflicts"));
        assert!(err(&[("first-event.rate", "6"), ("next-event.rate", "7")])
            .contains("changing event rate"));
        assert!(err(&[("tps", "-1")]).contains("'tps'"));
        assert!(err(&[("first-event.rate", "0")]).contains("positive"));
    }

    #[test]
    fn bad_values_name_the_option() {
        for (key, value) in [
            ("events.num", "-3"),
            ("events.num", "lots"),
            ("seed", "x"),
            ("events.base-time", "2015-07-15"),
            ("person.proportion", "0"),
            ("bid.proportion", "-1"),
            ("bid.hot-ratio.auctions", "0"),
            ("auction.hot-ratio.sellers", "3000000000"),
            ("auction.num-in-flight", "-1"),
            ("person.avg-size", "0"),
            ("bid.avg-size", "2 mb"),
            ("out-of-order-group.size", "0"),
        ] {
            let message = err(&[(key, value)]);
            assert!(message.contains(&format!("'{key}'")), "{key}: {message}");
        }
        let c = parse(&[
            ("events.num", "10"),
            ("seed", "-7"),
            ("person.avg-size", "1 kb"),
            ("out-of-order-group.size", "1000"),
        ])
        .unwrap();
        assert_eq!(c.events_num, Some(10));
        assert_eq!(c.seed, -7);
        assert_eq!(c.avg_person_byte_size, 1024);
        assert_eq!(c.out_of_order_group_size, 1000);
        assert_eq!(parse(&[("events.num", "0")]).unwrap().events_num, None);
    }

    #[test]
    fn timeline_matches_generator_config() {
        let c = parse(&[("tps", "1000"), ("events.base-time", "0")]).unwrap();
        assert_eq!(c.timestamp_for_event(0), 0);
        assert_eq!(c.timestamp_for_event(1), 1);
        assert_eq!(c.timestamp_for_event(1234), 1234);
        // 3 events per second: (long) (n * 333333.33) / 1000.
        let c = parse(&[("tps", "3"), ("events.base-time", "100")]).unwrap();
        assert_eq!(c.timestamp_for_event(1), 433);
        assert_eq!(c.timestamp_for_event(2), 766);
        // Out-of-order groups permute event numbers within each group.
        let c = parse(&[("out-of-order-group.size", "10")]).unwrap();
        let mut group: Vec<u64> = (20..30).map(|n| c.adjusted_event_number(n)).collect();
        assert_ne!(group, (20..30).collect::<Vec<_>>());
        group.sort_unstable();
        assert_eq!(group, (20..30).collect::<Vec<_>>());
        let c = parse(&[]).unwrap();
        assert_eq!(c.adjusted_event_number(77), 77);
    }
}
