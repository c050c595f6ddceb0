//! Nexmark's events (Java's `model.Person`, `Auction`, `Bid`), held so that a batch's
//! worth can be refilled in place: an [`Event`] keeps one value of each kind and its
//! strings keep their capacity, so generating a batch allocates nothing once the buffer
//! has warmed up.

/// Which kind an event is; the discriminant is the `event_type` column's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum EventKind {
    #[default]
    Person = 0,
    Auction = 1,
    Bid = 2,
}

/// A person: someone who sells or bids.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Person {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) email_address: String,
    pub(crate) credit_card: String,
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    /// Event time, ms since the epoch.
    pub(crate) date_time: i64,
    pub(crate) extra: String,
}

/// An auction: an item a person puts up for sale.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Auction {
    pub(crate) id: i64,
    pub(crate) item_name: String,
    pub(crate) description: String,
    pub(crate) initial_bid: i64,
    pub(crate) reserve: i64,
    /// Event time, ms since the epoch.
    pub(crate) date_time: i64,
    /// When the auction closes, ms since the epoch.
    pub(crate) expires: i64,
    pub(crate) seller: i64,
    pub(crate) category: i64,
    pub(crate) extra: String,
}

/// A bid on an auction.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Bid {
    pub(crate) auction: i64,
    pub(crate) bidder: i64,
    pub(crate) price: i64,
    pub(crate) channel: String,
    pub(crate) url: String,
    /// Event time, ms since the epoch.
    pub(crate) date_time: i64,
    pub(crate) extra: String,
}

/// One event: `kind` says which of the three values is current; the other two are
/// leftovers of earlier events in the same slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Event {
    pub(crate) kind: EventKind,
    pub(crate) person: Person,
    pub(crate) auction: Auction,
    pub(crate) bid: Bid,
}

impl PartialEq for Event {
    /// Events are equal when their current values are; leftovers do not count.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && match self.kind {
                EventKind::Person => self.person == other.person,
                EventKind::Auction => self.auction == other.auction,
                EventKind::Bid => self.bid == other.bid,
            }
    }
}
