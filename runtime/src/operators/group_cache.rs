//! Group states kept decoded between batches, in front of keyed state (write-back), as
//! RisingWave's aggregations keep their groups in an operator cache. A batch reads from
//! keyed state only the groups the cache lacks; changed groups are written back before a
//! snapshot and when the cache is full. Without it every batch decoded and re-encoded each
//! group it touched, and a group's state can be large: a `COUNT(DISTINCT)` keeps every
//! value, so a day's group in Nexmark q15 cost its whole set of bidders per batch.
//!
//! With a state TTL the cache is off (every batch writes its groups through): the TTL
//! backend times a group's lease from its last write, which a cached group would miss.

use std::collections::HashMap;

use super::retracting::{GroupState, RetractingAggregation};
use crate::error::{Result, RuntimeError};
use crate::state::{KeyedStateBackend, StateKey};

/// Decoded group states by key, each remembering whether keyed state has its last change.
pub(crate) struct GroupCache {
    /// The keyed state the groups are written to.
    state: &'static str,
    /// Groups kept; 0 writes every batch's groups through.
    capacity: usize,
    groups: HashMap<Vec<u8>, Cached, foldhash::fast::RandomState>,
    /// Counts batches: a full cache keeps the groups of the last one.
    batch: u64,
}

struct Cached {
    key_group: u32,
    group: GroupState,
    /// Changed since it was last written to keyed state.
    dirty: bool,
    /// The batch that last touched it.
    batch: u64,
}

impl GroupCache {
    pub fn new(state: &'static str, capacity: usize) -> Self {
        Self {
            state,
            capacity,
            groups: HashMap::default(),
            batch: 0,
        }
    }

    /// The states of the groups at `addresses`, in order, taken out of the cache, or read
    /// from `backend` (in one decoding) when the cache lacks them.
    pub fn take(
        &mut self,
        addresses: &[StateKey],
        backend: &dyn KeyedStateBackend,
        aggregation: &RetractingAggregation,
    ) -> Result<Vec<GroupState>> {
        let mut found = Vec::with_capacity(addresses.len());
        let mut stored = Vec::new();
        for address in addresses {
            match self.groups.remove(&address.key) {
                Some(cached) => found.push(Some(cached.group)),
                None => {
                    found.push(None);
                    stored.push(backend.get(self.state, address)?);
                }
            }
        }
        let mut restored = aggregation.restore(&stored)?.into_iter();
        found
            .into_iter()
            .map(|f| {
                f.or_else(|| restored.next())
                    .ok_or_else(|| RuntimeError::Internal("a group without its state".into()))
            })
            .collect()
    }

    /// Puts back the groups [`Self::take`] gave, changed. With the cache off they are
    /// written through; a full cache writes its changes and keeps only this batch's groups.
    /// A group left without rows starts afresh if it comes back before it is written (and
    /// removed): no rounding residue of a sum taken out may outlive it.
    pub fn put_back(
        &mut self,
        addresses: Vec<StateKey>,
        groups: Vec<GroupState>,
        backend: &mut dyn KeyedStateBackend,
        aggregation: &RetractingAggregation,
    ) -> Result<()> {
        if self.capacity == 0 {
            let tags = vec![(); groups.len()];
            write(self.state, backend, aggregation, addresses, groups, tags)?;
            return Ok(());
        }
        self.batch += 1;
        for (address, group) in addresses.into_iter().zip(groups) {
            let group = match group.rows > 0 {
                true => group,
                false => {
                    let mut fresh = aggregation.fresh(1)?;
                    fresh
                        .pop()
                        .ok_or_else(|| RuntimeError::Internal("no fresh group state".into()))?
                }
            };
            let cached = Cached {
                key_group: address.key_group,
                group,
                dirty: true,
                batch: self.batch,
            };
            self.groups.insert(address.key, cached);
        }
        if self.groups.len() > self.capacity {
            self.flush(backend, aggregation)?;
            let batch = self.batch;
            self.groups.retain(|_, c| c.batch == batch);
        }
        Ok(())
    }

    /// Writes every changed group to `backend` (before a snapshot is taken of it); a group
    /// left without rows is removed there and here.
    pub fn flush(
        &mut self,
        backend: &mut dyn KeyedStateBackend,
        aggregation: &RetractingAggregation,
    ) -> Result<()> {
        let dirty: Vec<Vec<u8>> = self
            .groups
            .iter()
            .filter(|(_, c)| c.dirty)
            .map(|(k, _)| k.clone())
            .collect();
        if dirty.is_empty() {
            return Ok(());
        }
        let mut addresses = Vec::with_capacity(dirty.len());
        let mut groups = Vec::with_capacity(dirty.len());
        for key in dirty {
            if let Some(cached) = self.groups.remove(&key) {
                addresses.push(StateKey {
                    key_group: cached.key_group,
                    namespace: Vec::new(),
                    key,
                });
                groups.push((cached.group, cached.batch));
            }
        }
        let (groups, batches): (Vec<_>, Vec<_>) = groups.into_iter().unzip();
        let written = write(self.state, backend, aggregation, addresses, groups, batches)?;
        for (address, group, batch) in written {
            let cached = Cached {
                key_group: address.key_group,
                group,
                dirty: false,
                batch,
            };
            self.groups.insert(address.key, cached);
        }
        Ok(())
    }
}

/// Writes groups to keyed state (a group without rows is removed) and returns those that
/// still hold rows, each with its tag.
fn write<T>(
    state: &str,
    backend: &mut dyn KeyedStateBackend,
    aggregation: &RetractingAggregation,
    addresses: Vec<StateKey>,
    mut groups: Vec<GroupState>,
    tags: Vec<T>,
) -> Result<Vec<(StateKey, GroupState, T)>> {
    let encoded = aggregation.encode(&mut groups)?;
    let mut live = Vec::with_capacity(groups.len());
    let groups = groups.into_iter().zip(tags);
    for ((address, value), (group, tag)) in addresses.into_iter().zip(encoded).zip(groups) {
        match group.rows > 0 {
            true => {
                backend.put(state, address.clone(), value)?;
                live.push((address, group, tag));
            }
            false => {
                backend.remove(state, &address)?;
            }
        }
    }
    Ok(live)
}
