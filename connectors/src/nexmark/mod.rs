//! The `nexmark` connector: the Nexmark benchmark's event stream of people, auctions and
//! bids, ported from the Java generator of the Nexmark benchmark for Flink
//! (`com.github.nexmark.flink.generator`, itself Beam's). The table has Flink's schema:
//! `event_type` (0 person, 1 auction, 2 bid) and one ROW column per event kind, NULL for
//! the other kinds.
//!
//! - [`config`] checks the WITH options into a [`NexmarkConfig`] (Java's
//!   `NexmarkConfiguration` + `GeneratorConfig`): proportions, ratios, the event-time
//!   timeline, out-of-order groups.
//! - [`generator`] makes event number `n` into an event: a pure function of `n` and
//!   `seed`, so any subtask can make any event (Java's `NexmarkGenerator` and the
//!   `model/*Generator`s, drawing from [`random`], a port of `java.util.Random`).
//! - [`batch`] resolves the declared physical columns once and fills Arrow columns from a
//!   batch of [`model`] events.
//! - [`source`] splits the event numbers over subtasks (split `i` of `p` owns numbers
//!   `i, i + p, i + 2p, ...`) and paces them to the event rate.
//!
//! See `docs/nexmark.md` for the DDL, options and Flink's queries.

mod batch;
mod config;
mod generator;
mod model;
mod random;
mod source;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use eddy_runtime::connector::Source;
use eddy_runtime::jobgraph::ConnectorSpec;

pub use source::{NexmarkReader, NexmarkSource};

use crate::error::Result;
use crate::factory::TableFactory;
use crate::options::OptionKey;
use batch::EventLayout;
use config::NexmarkConfig;

const IDENTIFIER: &str = "nexmark";

/// `events.num`.
pub const EVENTS_NUM: OptionKey = OptionKey::with_default(
    "events.num",
    "0",
    "Events to generate over all subtasks; 0 means unbounded.",
);
/// `tps`.
pub const TPS: OptionKey = OptionKey::new(
    "tps",
    "Events per second over all subtasks, both the pace of generation and the event-time \
     rate; 0 generates as fast as possible (event time then follows 'first-event.rate').",
);
/// `first-event.rate`.
pub const FIRST_EVENT_RATE: OptionKey = OptionKey::with_default(
    "first-event.rate",
    "10000",
    "Flink's name for the rate: events per second over all subtasks, paced unless 'tps' = '0'.",
);
/// `next-event.rate`.
pub const NEXT_EVENT_RATE: OptionKey = OptionKey::new(
    "next-event.rate",
    "Accepted for Flink's DDL; must equal the rate (a changing rate is not supported).",
);
/// `seed`.
pub const SEED: OptionKey = OptionKey::with_default(
    "seed",
    "0",
    "Seed of the values drawn for each event; the same seed gives the same events.",
);
/// `events.base-time`.
pub const BASE_TIME: OptionKey = OptionKey::with_default(
    "events.base-time",
    "1436918400000",
    "Event time of event 0, in milliseconds since the epoch (default 2015-07-15 00:00:00 UTC, \
     Beam's Nexmark base time).",
);
/// `person.proportion`.
pub const PERSON_PROPORTION: OptionKey = OptionKey::with_default(
    "person.proportion",
    "1",
    "People in every proportion cycle.",
);
/// `auction.proportion`.
pub const AUCTION_PROPORTION: OptionKey = OptionKey::with_default(
    "auction.proportion",
    "3",
    "Auctions in every proportion cycle.",
);
/// `bid.proportion`.
pub const BID_PROPORTION: OptionKey =
    OptionKey::with_default("bid.proportion", "46", "Bids in every proportion cycle.");
/// `bid.hot-ratio.auctions`.
pub const HOT_AUCTION_RATIO: OptionKey = OptionKey::with_default(
    "bid.hot-ratio.auctions",
    "2",
    "A bid is for a hot auction with probability 1 - 1/ratio.",
);
/// `bid.hot-ratio.bidders`.
pub const HOT_BIDDERS_RATIO: OptionKey = OptionKey::with_default(
    "bid.hot-ratio.bidders",
    "4",
    "A bid is by a hot bidder with probability 1 - 1/ratio.",
);
/// `auction.hot-ratio.sellers`.
pub const HOT_SELLERS_RATIO: OptionKey = OptionKey::with_default(
    "auction.hot-ratio.sellers",
    "4",
    "An auction is by a hot seller with probability 1 - 1/ratio.",
);
/// `auction.num-in-flight`.
pub const NUM_IN_FLIGHT_AUCTIONS: OptionKey = OptionKey::with_default(
    "auction.num-in-flight",
    "100",
    "Average number of auctions open at once; bids pick among the latest this many.",
);
/// `person.num-active`.
pub const NUM_ACTIVE_PEOPLE: OptionKey = OptionKey::with_default(
    "person.num-active",
    "1000",
    "Sellers and bidders are picked among the latest this many people.",
);
/// `person.avg-size`.
pub const PERSON_AVG_SIZE: OptionKey = OptionKey::with_default(
    "person.avg-size",
    "200b",
    "Average size of a person; 'extra' is padded to reach it.",
);
/// `auction.avg-size`.
pub const AUCTION_AVG_SIZE: OptionKey = OptionKey::with_default(
    "auction.avg-size",
    "500b",
    "Average size of an auction; 'extra' is padded to reach it.",
);
/// `bid.avg-size`.
pub const BID_AVG_SIZE: OptionKey = OptionKey::with_default(
    "bid.avg-size",
    "100b",
    "Average size of a bid; 'extra' is padded to reach it.",
);
/// `out-of-order-group.size`.
pub const OUT_OF_ORDER_GROUP_SIZE: OptionKey = OptionKey::with_default(
    "out-of-order-group.size",
    "1",
    "Events are shuffled within groups of this many consecutive events; 1 keeps them in order.",
);

/// The `nexmark` connector.
#[derive(Debug, Default)]
pub struct NexmarkTableFactory;

impl TableFactory for NexmarkTableFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            EVENTS_NUM,
            TPS,
            FIRST_EVENT_RATE,
            NEXT_EVENT_RATE,
            SEED,
            BASE_TIME,
            PERSON_PROPORTION,
            AUCTION_PROPORTION,
            BID_PROPORTION,
            HOT_AUCTION_RATIO,
            HOT_BIDDERS_RATIO,
            HOT_SELLERS_RATIO,
            NUM_IN_FLIGHT_AUCTIONS,
            NUM_ACTIVE_PEOPLE,
            PERSON_AVG_SIZE,
            AUCTION_AVG_SIZE,
            BID_AVG_SIZE,
            OUT_OF_ORDER_GROUP_SIZE,
        ]
    }

    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.check_keys(table, schema, options)?;
        NexmarkConfig::parse(options)?;
        EventLayout::try_new(schema)?;
        Ok(())
    }

    fn is_bounded(&self, options: &BTreeMap<String, String>) -> bool {
        options
            .get(EVENTS_NUM.key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let schema = spec.schema.decode()?;
        let config = NexmarkConfig::parse(&spec.options)?;
        let layout = EventLayout::try_new(&schema)?;
        Ok(Arc::new(NexmarkSource::new(schema, config, layout)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConnectorError;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn boundedness() {
        let f = NexmarkTableFactory;
        assert!(!f.is_bounded(&opts(&[])));
        assert!(!f.is_bounded(&opts(&[("events.num", "0")])));
        assert!(f.is_bounded(&opts(&[("events.num", "10")])));
    }

    /// `docs/nexmark.md` lists every option with its default.
    #[test]
    fn docs_list_every_option() {
        let docs = include_str!("../../../docs/nexmark.md");
        for option in NexmarkTableFactory.optional_options() {
            let default = option
                .default
                .map_or("(none)".to_string(), |d| format!("`{d}`"));
            let row = format!("| `{}` | {default} |", option.key);
            assert!(docs.contains(&row), "docs/nexmark.md lacks the row {row}");
        }
    }

    #[test]
    fn unknown_options_are_rejected() {
        let schema = batch::tests::flink_schema();
        let err = NexmarkTableFactory
            .validate("nexmark", &schema, &opts(&[("rows-per-second", "5")]))
            .unwrap_err();
        match err {
            ConnectorError::UnknownOption { option, valid, .. } => {
                assert_eq!(option, "rows-per-second");
                assert!(valid.contains(&"events.num".to_string()), "{valid:?}");
            }
            other => panic!("{other:?}"),
        }
        NexmarkTableFactory
            .validate(
                "nexmark",
                &schema,
                &opts(&[
                    ("connector", "nexmark"),
                    ("events.num", "100000"),
                    ("tps", "0"),
                    ("seed", "0"),
                ]),
            )
            .unwrap();
    }
}
