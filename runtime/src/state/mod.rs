//! Keyed state: byte values addressed by (key group, key, namespace), per named state,
//! as Flink's keyed state backends hold them. Operators keep their hot state in vectorized
//! in-memory structures (a window aggregate's group tables and accumulators) and move it
//! through this interface when they snapshot, and back when they need it. The layout puts
//! the key group first so that one key-group range is one contiguous range of keys: what a
//! RocksDB backend will store and a checkpoint will copy, and what rescaling will split.

pub mod heap;
pub mod key_group;

pub use heap::HeapKeyedStateBackend;
pub use key_group::KeyGroupRange;

/// Where a state value lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateKey {
    pub key_group: u32,
    /// The namespace (for windows, the window) comes before the key so that one
    /// window's values of a key group are adjacent.
    pub namespace: Vec<u8>,
    pub key: Vec<u8>,
}

/// Flink's `KeyedStateBackend`, reduced to what operators need.
pub trait KeyedStateBackend: Send {
    /// The key groups this backend holds.
    fn key_group_range(&self) -> KeyGroupRange;
    /// Stores a value, replacing any value at the same address.
    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>);
    /// The value at an address.
    fn get(&self, state: &str, key: &StateKey) -> Option<&[u8]>;
    /// Removes and returns every value of a namespace, over all key groups.
    fn take_namespace(&mut self, state: &str, namespace: &[u8]) -> Vec<(StateKey, Vec<u8>)>;
    /// Every value, ordered by state, key group, namespace and key: a snapshot.
    fn entries(&self) -> Vec<(String, StateKey, Vec<u8>)>;
}
