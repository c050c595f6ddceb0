//! Keyed state on the heap (Flink's `HashMapStateBackend`), ordered by key group so that a
//! key-group range is one contiguous range.

use std::collections::BTreeMap;

use super::{KeyGroupRange, KeyedStateBackend, StateKey, Visitor};
use crate::error::{Result, RuntimeError};

/// One value's address with its state first in the key group, so a scan of a range visits
/// key group by key group as a RocksDB backend's would.
type Address = (u32, String, Vec<u8>, Vec<u8>);

/// State on the heap.
#[derive(Debug)]
pub struct HeapKeyedStateBackend {
    range: KeyGroupRange,
    values: BTreeMap<Address, Vec<u8>>,
}

impl HeapKeyedStateBackend {
    /// An empty backend for the key groups in `range`.
    pub fn new(range: KeyGroupRange) -> Self {
        Self {
            range,
            values: BTreeMap::new(),
        }
    }

    fn address(state: &str, key: &StateKey) -> Address {
        (
            key.key_group,
            state.to_string(),
            key.namespace.clone(),
            key.key.clone(),
        )
    }
}

impl KeyedStateBackend for HeapKeyedStateBackend {
    fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>) -> Result<()> {
        if !self.range.contains(key.key_group) {
            return Err(RuntimeError::Internal(format!(
                "key group {} is outside this subtask's range {}..={}",
                key.key_group, self.range.start, self.range.end
            )));
        }
        let StateKey {
            key_group,
            namespace,
            key,
        } = key;
        self.values
            .insert((key_group, state.to_string(), namespace, key), value);
        Ok(())
    }

    fn get(&self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        Ok(self.values.get(&Self::address(state, key)).cloned())
    }

    fn remove(&mut self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        Ok(self.values.remove(&Self::address(state, key)))
    }

    fn get_namespace_in(
        &self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let from = (key_group, state.to_string(), namespace.to_vec(), Vec::new());
        Ok(self
            .values
            .range(from..)
            .take_while(|((kg, s, ns, _), _)| {
                *kg == key_group && s == state && ns.as_slice() == namespace
            })
            .map(|((kg, _, ns, key), value)| {
                (
                    StateKey {
                        key_group: *kg,
                        namespace: ns.clone(),
                        key: key.clone(),
                    },
                    value.clone(),
                )
            })
            .collect())
    }

    fn take_namespace_in(
        &mut self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        // (key group, state, namespace) prefixes the keys: one ordered range.
        let from = (key_group, state.to_string(), namespace.to_vec(), Vec::new());
        let addresses: Vec<Address> = self
            .values
            .range(from..)
            .map(|(a, _)| a)
            .take_while(|(kg, s, ns, _)| {
                *kg == key_group && s == state && ns.as_slice() == namespace
            })
            .cloned()
            .collect();
        Ok(addresses
            .into_iter()
            .filter_map(|a| {
                let value = self.values.remove(&a)?;
                let (key_group, _, namespace, key) = a;
                Some((
                    StateKey {
                        key_group,
                        namespace,
                        key,
                    },
                    value,
                ))
            })
            .collect())
    }

    fn scan(&self, range: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()> {
        let from = (range.start, String::new(), Vec::new(), Vec::new());
        for ((key_group, state, namespace, key), value) in self.values.range(from..) {
            if *key_group > range.end {
                break;
            }
            let address = StateKey {
                key_group: *key_group,
                namespace: namespace.clone(),
                key: key.clone(),
            };
            visit(state, &address, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_keyed_state_contract() {
        crate::state::testing::check_backend(&|range| Box::new(HeapKeyedStateBackend::new(range)));
    }
}
