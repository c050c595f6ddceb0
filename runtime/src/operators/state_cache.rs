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

use crate::error::Result;
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
            .map(|f| match f.or_else(|| restored.next()) {
                Some(value) => Ok(value),
                None => codec.fresh(),
            })
            .collect()
    }

    /// Puts back the values [`Self::take`] gave, changed. With the cache off they are
    /// written through; a full cache drops the values this batch did not touch, writing
    /// those changed.
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
            write(self.state, backend, codec, addresses, values, tags)?;
            return Ok(());
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

    /// Drops every value this batch did not touch, writing those changed: the values a
    /// stream keeps touching stay, and are not encoded for it.
    fn evict<C: StateCodec<Value = V>>(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        codec: &C,
    ) -> Result<()> {
        let batch = self.batch;
        let cold: Vec<Vec<u8>> = self
            .entries
            .iter()
            .filter(|(_, c)| c.batch != batch)
            .map(|(k, _)| k.clone())
            .collect();
        let (mut addresses, mut values) = (Vec::new(), Vec::new());
        for key in cold {
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
                values.push(cached.value);
            }
        }
        let tags = vec![(); values.len()];
        write(self.state, backend, codec, addresses, values, tags)?;
        Ok(())
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
    /// value is removed there and here.
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
        let written = write(self.state, backend, codec, addresses, values, batches)?;
        for (address, value, batch) in written {
            self.insert(address, value, false, batch, codec);
        }
        Ok(())
    }
}

/// Writes values to keyed state (an empty one is removed) and returns those that still
/// hold something, each with its tag.
fn write<C: StateCodec, T>(
    state: &str,
    backend: &mut dyn KeyedStateBackend,
    codec: &C,
    addresses: Vec<StateKey>,
    mut values: Vec<C::Value>,
    tags: Vec<T>,
) -> Result<Vec<(StateKey, C::Value, T)>> {
    let encoded = codec.encode(&mut values)?;
    let mut live = Vec::with_capacity(values.len());
    let values = values.into_iter().zip(tags);
    for ((address, bytes), (value, tag)) in addresses.into_iter().zip(encoded).zip(values) {
        match codec.is_empty(&value) {
            false => {
                backend.put(state, address.clone(), bytes)?;
                live.push((address, value, tag));
            }
            true => {
                backend.remove(state, &address)?;
            }
        }
    }
    Ok(live)
}
