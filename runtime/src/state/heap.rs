//! Keyed state on the heap (Flink's `HashMapStateBackend`): per state, one ordered map from
//! a value's address (`stored_key`, the bytes RocksDB stores it under) to its bytes, so that
//! a key-group range and a namespace are each one contiguous range, and a scan visits key
//! group by key group as the RocksDB backend does.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;

use super::stored_key::{decode, encode_into, namespace_prefix};
use super::{Change, KeyGroupRange, KeyedStateBackend, StateKey, Visitor};
use crate::error::{Result, RuntimeError};

/// One state's values by address.
type Values = BTreeMap<Vec<u8>, Vec<u8>>;

/// State on the heap.
#[derive(Debug)]
pub struct HeapKeyedStateBackend {
    range: KeyGroupRange,
    states: BTreeMap<String, Values>,
    /// Where a lookup builds the address it looks for: looking a value up allocates
    /// nothing (a join or a deduplication looks up every row).
    scratch: RefCell<Vec<u8>>,
}

impl HeapKeyedStateBackend {
    /// An empty backend for the key groups in `range`.
    pub fn new(range: KeyGroupRange) -> Self {
        Self {
            range,
            states: BTreeMap::new(),
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// `f` over `key`'s address, built in the scratch buffer.
    fn with_address<T>(&self, key: &StateKey, f: impl FnOnce(&[u8]) -> T) -> T {
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        encode_into(&mut scratch, key.key_group, &key.namespace, &key.key);
        f(&scratch)
    }

    /// The smallest key group at or after `from` that any state holds a value of.
    fn next_key_group(&self, from: u32) -> Option<u32> {
        let start = from.to_be_bytes();
        self.states
            .values()
            .filter_map(|values| {
                let (first, _) = values
                    .range::<[u8], _>((Bound::Included(&start[..]), Bound::Unbounded))
                    .next()?;
                Some(u32::from_be_bytes(first.get(..4)?.try_into().ok()?))
            })
            .min()
    }
}

/// The values of `values` whose address starts with `prefix`.
fn prefixed<'a>(
    values: &'a Values,
    prefix: &'a [u8],
) -> impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)> + 'a {
    values
        .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(move |(address, _)| address.starts_with(prefix))
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
        let mut address = Vec::new();
        encode_into(&mut address, key.key_group, &key.namespace, &key.key);
        match self.states.get_mut(state) {
            Some(values) => {
                values.insert(address, value);
            }
            None => {
                self.states
                    .insert(state.to_string(), BTreeMap::from([(address, value)]));
            }
        }
        Ok(())
    }

    fn update(&mut self, state: &str, key: StateKey, change: &mut Change<'_>) -> Result<()> {
        use std::collections::btree_map::Entry;
        if !self.states.contains_key(state) {
            return match change(None)? {
                Some(value) => self.put(state, key, value),
                None => Ok(()),
            };
        }
        if !self.range.contains(key.key_group) {
            return Err(RuntimeError::Internal(format!(
                "key group {} is outside this subtask's range {}..={}",
                key.key_group, self.range.start, self.range.end
            )));
        }
        let values = self
            .states
            .get_mut(state)
            .ok_or_else(|| RuntimeError::Internal(format!("the state {state} went missing")))?;
        let mut address = Vec::new();
        encode_into(&mut address, key.key_group, &key.namespace, &key.key);
        match values.entry(address) {
            Entry::Occupied(mut entry) => match change(Some(entry.get()))? {
                Some(value) => *entry.get_mut() = value,
                None => {
                    entry.remove();
                }
            },
            Entry::Vacant(entry) => {
                if let Some(value) = change(None)? {
                    entry.insert(value);
                }
            }
        }
        Ok(())
    }

    fn get(&self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        let Some(values) = self.states.get(state) else {
            return Ok(None);
        };
        Ok(self.with_address(key, |address| values.get(address).cloned()))
    }

    fn remove(&mut self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        let Some(values) = self.states.get_mut(state) else {
            return Ok(None);
        };
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        encode_into(&mut scratch, key.key_group, &key.namespace, &key.key);
        Ok(values.remove(&scratch[..]))
    }

    fn get_namespace_in(
        &self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let Some(values) = self.states.get(state) else {
            return Ok(Vec::new());
        };
        let prefix = namespace_prefix(key_group, namespace);
        prefixed(values, &prefix)
            .map(|(address, value)| Ok((decode(address)?, value.clone())))
            .collect()
    }

    fn take_namespace_in(
        &mut self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let Some(values) = self.states.get_mut(state) else {
            return Ok(Vec::new());
        };
        let prefix = namespace_prefix(key_group, namespace);
        let addresses: Vec<Vec<u8>> = prefixed(values, &prefix)
            .map(|(address, _)| address.clone())
            .collect();
        addresses
            .into_iter()
            .filter_map(|address| {
                let value = values.remove(&address)?;
                Some(decode(&address).map(|key| (key, value)))
            })
            .collect()
    }

    fn scan(&self, range: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()> {
        let mut from = range.start;
        while let Some(key_group) = self.next_key_group(from) {
            if key_group > range.end {
                break;
            }
            let prefix = key_group.to_be_bytes();
            for (state, values) in &self.states {
                for (address, value) in prefixed(values, &prefix) {
                    visit(state, &decode(address)?, value)?;
                }
            }
            match key_group.checked_add(1) {
                Some(next) => from = next,
                None => break,
            }
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

    #[test]
    fn a_scan_visits_key_group_by_key_group_then_state() {
        let mut backend = HeapKeyedStateBackend::new(KeyGroupRange { start: 0, end: 9 });
        let at = |key_group: u32, key: &[u8]| StateKey {
            key_group,
            namespace: Vec::new(),
            key: key.to_vec(),
        };
        backend.put("b", at(7, b"x"), vec![1]).unwrap();
        backend.put("a", at(7, b"y"), vec![2]).unwrap();
        backend.put("b", at(2, b"z"), vec![3]).unwrap();
        backend.put("a", at(9, b"w"), vec![4]).unwrap();
        let mut seen = Vec::new();
        backend
            .scan(
                KeyGroupRange { start: 1, end: 8 },
                &mut |state, key, value| {
                    seen.push((state.to_string(), key.key_group, value[0]));
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(
            seen,
            [
                ("b".to_string(), 2, 3),
                ("a".to_string(), 7, 2),
                ("b".to_string(), 7, 1)
            ]
        );
    }
}
