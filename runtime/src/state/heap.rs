//! Keyed state on the heap, for jobs without a configured backend.

use std::collections::BTreeMap;

use super::{KeyGroupRange, KeyedStateBackend, StateKey};

/// State on the heap, for jobs without a configured backend (Flink's `HashMapStateBackend`).
#[derive(Debug)]
pub struct HeapKeyedStateBackend {
    range: KeyGroupRange,
    states: BTreeMap<String, BTreeMap<StateKey, Vec<u8>>>,
}

impl HeapKeyedStateBackend {
    /// An empty backend for the key groups in `range`.
    pub fn new(range: KeyGroupRange) -> Self {
        Self {
            range,
            states: BTreeMap::new(),
        }
    }
}

impl KeyedStateBackend for HeapKeyedStateBackend {
    fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>) {
        debug_assert!(self.range.contains(key.key_group));
        self.states
            .entry(state.to_string())
            .or_default()
            .insert(key, value);
    }

    fn get(&self, state: &str, key: &StateKey) -> Option<&[u8]> {
        self.states.get(state)?.get(key).map(Vec::as_slice)
    }

    fn take_namespace(&mut self, state: &str, namespace: &[u8]) -> Vec<(StateKey, Vec<u8>)> {
        let Some(values) = self.states.get_mut(state) else {
            return Vec::new();
        };
        let keys: Vec<StateKey> = values
            .keys()
            .filter(|k| k.namespace == namespace)
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| values.remove(&k).map(|v| (k, v)))
            .collect()
    }

    fn entries(&self) -> Vec<(String, StateKey, Vec<u8>)> {
        self.states
            .iter()
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |(k, v)| (name.clone(), k.clone(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_addressed_by_key_group_namespace_and_key() {
        let mut b = HeapKeyedStateBackend::new(KeyGroupRange { start: 0, end: 127 });
        let at = |kg: u32, ns: &[u8], k: &[u8]| StateKey {
            key_group: kg,
            namespace: ns.to_vec(),
            key: k.to_vec(),
        };
        b.put("acc", at(3, b"w1", b"a"), b"1".to_vec());
        b.put("acc", at(9, b"w1", b"b"), b"2".to_vec());
        b.put("acc", at(3, b"w2", b"a"), b"3".to_vec());
        b.put("acc", at(3, b"w1", b"a"), b"4".to_vec());
        assert_eq!(b.get("acc", &at(3, b"w1", b"a")), Some(&b"4"[..]));
        assert_eq!(b.get("other", &at(3, b"w1", b"a")), None);
        let w1 = b.take_namespace("acc", b"w1");
        assert_eq!(w1.len(), 2);
        assert_eq!(b.entries().len(), 1);
        assert_eq!(b.entries()[0].1, at(3, b"w2", b"a"));
    }
}
