//! Values of keyed state kept decoded between batches, in front of the state backend
//! (write-back), as RisingWave's operators keep their groups in an operator cache and
//! Flink's Top-N its `topn-cache-size` records. A batch reads from keyed state only the
//! keys the cache lacks; changed values are written back before a snapshot and when the
//! cache is full. Without it every batch decoded and re-encoded each value it touched, and
//! a value can be large: a `COUNT(DISTINCT)` keeps every value, so a day's group in
//! Nexmark q15 cost its whole set of bidders per batch.
//!
//! With a state TTL the cache is off (every batch writes its values through): the TTL
//! backend times a value's lease from its last write, which a cached value would miss.

use std::collections::HashMap;

use crate::error::{Result, RuntimeError};
use crate::state::{KeyedStateBackend, StateKey};

/// How one operator's cached values are read from and written to keyed state.
pub(crate) trait StateCodec {
    type Value;
    /// The values of stored bytes (`None`: nothing stored), in one decoding.
    fn restore(&self, stored: &[Option<Vec<u8>>]) -> Result<Vec<Self::Value>>;
    /// The values' bytes, in one encoding.
    fn encode(&self, values: &mut [Self::Value]) -> Result<Vec<Vec<u8>>>;
    /// Whether a value holds nothing: it is removed from keyed state.
    fn is_empty(&self, value: &Self::Value) -> bool;
    /// A value holding nothing.
    fn fresh(&self) -> Result<Self::Value>;
    /// What a value counts against the cache's capacity.
    fn weight(&self, _value: &Self::Value) -> usize {
        1
    }
}

/// Decoded values by key, each remembering whether keyed state has its last change.
pub(crate) struct StateCache<V> {
    /// The keyed state the values are written to.
    state: &'static str,
    /// The weight kept; 0 writes every batch's values through.
    capacity: usize,
    entries: HashMap<Vec<u8>, Cached<V>, foldhash::fast::RandomState>,
    /// The weight of `entries`.
    weight: usize,
    /// Counts batches: a full cache keeps the values of the last one.
    batch: u64,
}

struct Cached<V> {
    key_group: u32,
    value: V,
    weight: usize,
    /// Changed since it was last written to keyed state.
    dirty: bool,
    /// The batch that last touched it.
    batch: u64,
}

impl<V> StateCache<V> {
    pub fn new(state: &'static str, capacity: usize) -> Self {
        Self {
            state,
            capacity,
            entries: HashMap::default(),
            weight: 0,
            batch: 0,
        }
    }

    /// The values at `addresses`, in order, taken out of the cache, or read from `backend`
    /// (in one decoding) when the cache lacks them.
    pub fn take<C: StateCodec<Value = V>>(
        &mut self,
        addresses: &[StateKey],
        backend: &dyn KeyedStateBackend,
        codec: &C,
    ) -> Result<Vec<V>> {
        let mut found = Vec::with_capacity(addresses.len());
        let mut stored = Vec::new();
        for address in addresses {
            match self.entries.remove(&address.key) {
                Some(cached) => {
                    self.weight -= cached.weight;
                    found.push(Some(cached.value));
                }
                None => {
                    found.push(None);
                    stored.push(backend.get(self.state, address)?);
                }
            }
        }
        let mut restored = codec.restore(&stored)?.into_iter();
        found
            .into_iter()
            .map(|f| {
                f.or_else(|| restored.next()).ok_or_else(|| {
                    RuntimeError::Internal("a cached value without its state".into())
                })
            })
            .collect()
    }

    /// Puts back the values [`Self::take`] gave, changed. With the cache off they are
    /// written through. A full cache drops the values touched longest ago, writing those
    /// changed, until it is half full (never this batch's values).
    /// A value left empty starts afresh if it comes back before it is written (and
    /// removed): no rounding residue of a sum taken out may outlive its group.
    pub fn put_back<C: StateCodec<Value = V>>(
        &mut self,
        addresses: Vec<StateKey>,
        values: Vec<V>,
        backend: &mut dyn KeyedStateBackend,
        codec: &C,
    ) -> Result<()> {
        if self.capacity == 0 {
            let tags = vec![(); values.len()];
            return write(self.state, backend, codec, addresses, values, tags).1;
        }
        self.batch += 1;
        for (address, value) in addresses.into_iter().zip(values) {
            let value = match codec.is_empty(&value) {
                true => codec.fresh()?,
                false => value,
            };
            self.insert(address, value, true, self.batch, codec);
        }
        if self.weight > self.capacity {
            self.evict(backend, codec)?;
        }
        Ok(())
    }

    /// Drops values, those touched longest ago first, until the cache is half full or only
    /// this batch's values are left; writes those changed. The values a stream keeps
    /// touching stay, and are not encoded for it.
    fn evict<C: StateCodec<Value = V>>(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        codec: &C,
    ) -> Result<()> {
        let batch = self.batch;
        let mut cold: Vec<(u64, usize, Vec<u8>)> = self
            .entries
            .iter()
            .filter(|(_, c)| c.batch != batch)
            .map(|(k, c)| (c.batch, c.weight, k.clone()))
            .collect();
        cold.sort_unstable_by_key(|(batch, _, _)| *batch);
        let mut left = self.weight;
        let (mut addresses, mut values) = (Vec::new(), Vec::new());
        for (_, weight, key) in cold {
            if left <= self.capacity / 2 {
                break;
            }
            left -= weight;
            let Some(cached) = self.entries.remove(&key) else {
                continue;
            };
            self.weight -= cached.weight;
            if cached.dirty {
                addresses.push(StateKey {
                    key_group: cached.key_group,
                    namespace: Vec::new(),
                    key,
                });
                values.push((cached.value, cached.batch));
            }
        }
        let (values, batches): (Vec<_>, Vec<_>) = values.into_iter().unzip();
        let (values, written) = write(self.state, backend, codec, addresses, values, batches);
        if written.is_err() {
            // Keyed state may lack their last changes: keep them, still to be written.
            for (address, value, batch) in values {
                self.insert(address, value, true, batch, codec);
            }
        }
        written
    }

    fn insert<C: StateCodec<Value = V>>(
        &mut self,
        address: StateKey,
        value: V,
        dirty: bool,
        batch: u64,
        codec: &C,
    ) {
        let weight = codec.weight(&value);
        self.weight += weight;
        let cached = Cached {
            key_group: address.key_group,
            value,
            weight,
            dirty,
            batch,
        };
        if let Some(old) = self.entries.insert(address.key, cached) {
            self.weight -= old.weight;
        }
    }

    /// Writes every changed value to `backend` (before a snapshot is taken of it); an empty
    /// value is removed there and here. When writing fails the values stay changed (a
    /// declined checkpoint must not lose them).
    pub fn flush<C: StateCodec<Value = V>>(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        codec: &C,
    ) -> Result<()> {
        let dirty: Vec<Vec<u8>> = self
            .entries
            .iter()
            .filter(|(_, c)| c.dirty)
            .map(|(k, _)| k.clone())
            .collect();
        if dirty.is_empty() {
            return Ok(());
        }
        let mut addresses = Vec::with_capacity(dirty.len());
        let mut values = Vec::with_capacity(dirty.len());
        let mut batches = Vec::with_capacity(dirty.len());
        for key in dirty {
            if let Some(cached) = self.entries.remove(&key) {
                self.weight -= cached.weight;
                addresses.push(StateKey {
                    key_group: cached.key_group,
                    namespace: Vec::new(),
                    key,
                });
                values.push(cached.value);
                batches.push(cached.batch);
            }
        }
        let (values, written) = write(self.state, backend, codec, addresses, values, batches);
        for (address, value, batch) in values {
            match (&written, codec.is_empty(&value)) {
                (Ok(()), true) => {}
                (Ok(()), false) => self.insert(address, value, false, batch, codec),
                (Err(_), _) => self.insert(address, value, true, batch, codec),
            }
        }
        written
    }
}

/// Writes values to keyed state (an empty one is removed). Every value comes back with its
/// address and tag, written or not, with the outcome.
#[allow(clippy::type_complexity)]
fn write<C: StateCodec, T>(
    state: &str,
    backend: &mut dyn KeyedStateBackend,
    codec: &C,
    addresses: Vec<StateKey>,
    mut values: Vec<C::Value>,
    tags: Vec<T>,
) -> (Vec<(StateKey, C::Value, T)>, Result<()>) {
    let mut written = || -> Result<()> {
        let encoded = codec.encode(&mut values)?;
        for ((address, bytes), value) in addresses.iter().zip(encoded).zip(&values) {
            match codec.is_empty(value) {
                false => backend.put(state, address.clone(), bytes)?,
                true => {
                    backend.remove(state, address)?;
                }
            }
        }
        Ok(())
    };
    let outcome = written();
    let values = addresses
        .into_iter()
        .zip(values)
        .zip(tags)
        .map(|((address, value), tag)| (address, value, tag))
        .collect();
    (values, outcome)
}
