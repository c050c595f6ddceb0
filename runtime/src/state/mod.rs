//! Keyed state: byte values addressed by (key group, key, namespace), per named state,
//! as Flink's keyed state backends hold them. Operators keep their hot state in vectorized
//! in-memory structures (a window aggregate's group tables and accumulators) and move it
//! through this interface when they snapshot, and back when they need it. The layout puts
//! the key group first so that one key-group range is one contiguous range of keys: what a
//! RocksDB backend will store and a checkpoint will copy, and what rescaling will split.
//!
//! Every call can fail (a disk-backed backend can), values are handed out owned (a backend
//! need not keep them in memory), and a snapshot is written per key-group range in the
//! versioned encoding of [`snapshot`], which any backend restores, keeping only its own key
//! groups: that is how state moves to a different parallelism. [`testing::check_backend`]
//! is the contract every backend passes.

pub mod heap;
pub mod key_group;
pub mod native;
pub mod rocksdb;
pub mod rows;
pub mod snapshot;
pub mod stored_key;
pub mod testing;
pub mod timed_key;
pub mod ttl;

pub use heap::HeapKeyedStateBackend;
pub use key_group::KeyGroupRange;
pub use native::{LocalDir, NativeFile, NativeSnapshot};

use crate::config::{state as state_options, Configuration};
use crate::error::{Result, RuntimeError};

/// Where a state value lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateKey {
    pub key_group: u32,
    /// The namespace (for windows, the window) comes before the key so that one
    /// window's values of a key group are adjacent.
    pub namespace: Vec<u8>,
    pub key: Vec<u8>,
}

/// Makes a value's new bytes from its old ones (`None`: no value; returning `None`
/// removes it), for [`KeyedStateBackend::update`].
pub type Change<'a> = dyn FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>> + 'a;

/// Visits one value during a scan: its state's name, its address and its bytes.
pub type Visitor<'a> = dyn FnMut(&str, &StateKey, &[u8]) -> Result<()> + 'a;

/// Flink's `KeyedStateBackend`, reduced to what operators and checkpoints need.
pub trait KeyedStateBackend: Send {
    /// The key groups this backend holds.
    fn key_group_range(&self) -> KeyGroupRange;
    /// Stores a value, replacing any value at the same address. A key group outside the
    /// backend's range is an error: the value was routed to the wrong subtask.
    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>) -> Result<()>;
    /// The value at an address.
    fn get(&self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>>;
    /// Removes and returns the value at an address.
    fn remove(&mut self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>>;
    /// Replaces the value at an address by what `change` makes of it (`None`: none there;
    /// returning `None` removes it). A backend may find the address once for both.
    fn update(&mut self, state: &str, key: StateKey, change: &mut Change<'_>) -> Result<()> {
        let old = self.get(state, &key)?;
        match change(old.as_deref())? {
            Some(value) => self.put(state, key, value),
            None if old.is_some() => self.remove(state, &key).map(|_| ()),
            None => Ok(()),
        }
    }
    /// Removes and returns every value of a namespace, over all key groups.
    fn take_namespace(
        &mut self,
        state: &str,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let range = self.key_group_range();
        let mut taken = Vec::new();
        for key_group in range.start..=range.end {
            taken.extend(self.take_namespace_in(state, key_group, namespace)?);
        }
        Ok(taken)
    }
    /// Removes and returns every value of a namespace in one key group (a namespace that
    /// belongs to one key, such as a key's sessions, lives in one key group).
    fn take_namespace_in(
        &mut self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>>;
    /// Every value of a namespace in one key group, left in place.
    fn get_namespace_in(
        &self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>>;
    /// Visits every value whose key group is in `range`, ordered by key group, then
    /// state, namespace and key, without copying the state first.
    fn scan(&self, range: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()>;

    /// Writes the values of `range` in the snapshot encoding.
    fn snapshot(&self, range: KeyGroupRange, out: &mut dyn std::io::Write) -> Result<()> {
        let mut writer = snapshot::SnapshotWriter::new(out, range)?;
        self.scan(range, &mut |state, key, value| {
            writer.write(state, key, value)
        })?;
        writer.finish()
    }

    /// A native snapshot for periodic checkpoint `checkpoint_id`, when the backend takes
    /// incremental checkpoints; `None` asks for the portable encoding instead.
    fn native_snapshot(&mut self, _checkpoint_id: u64) -> Result<Option<NativeSnapshot>> {
        Ok(None)
    }

    /// Checkpoint `id` completed: the files of its native snapshot are in storage and later
    /// snapshots may reference them instead of uploading them again.
    fn checkpoint_complete(&mut self, _id: u64) {}

    /// Adds the values of a snapshot that fall in this backend's key groups (a snapshot
    /// taken at another parallelism holds others too).
    fn restore(&mut self, input: &mut dyn std::io::Read) -> Result<()> {
        let own = self.key_group_range();
        let mut reader = snapshot::SnapshotReader::new(input)?;
        while let Some((state, key, value)) = reader.next()? {
            if own.contains(key.key_group) {
                self.put(&state, key, value)?;
            }
        }
        Ok(())
    }
}

/// The backend `state.backend.type` names, for a subtask owning `range`. `scope` names
/// the subtask's operator (job, vertex, subtask, attempt): a RocksDB instance gets a
/// directory of that name.
pub fn create_backend(
    config: &Configuration,
    range: KeyGroupRange,
    scope: &str,
) -> Result<Box<dyn KeyedStateBackend>> {
    match config
        .get_string(&state_options::BACKEND_TYPE)
        .to_ascii_lowercase()
        .as_str()
    {
        "hashmap" => Ok(Box::new(HeapKeyedStateBackend::new(range))),
        "rocksdb" => {
            let base = match config.get_string(&state_options::ROCKSDB_LOCALDIR).as_str() {
                "" => std::env::temp_dir().join("eddy-rocksdb"),
                dir => std::path::PathBuf::from(dir),
            };
            let incremental = config.get_bool(&crate::config::checkpointing::INCREMENTAL);
            let managed = config
                .get_bool(&state_options::ROCKSDB_MEMORY_MANAGED)
                .then(|| config.get_memory_size(&state_options::MANAGED_MEMORY_SIZE) as usize);
            Ok(Box::new(rocksdb::RocksDbKeyedStateBackend::open(
                range,
                &rocksdb::RocksDbOptions {
                    path: base.join(format!("{scope}-{}", uuid::Uuid::new_v4().simple())),
                    managed_memory: managed,
                    incremental,
                },
            )?))
        }
        other => Err(RuntimeError::User(format!(
            "'state.backend.type' = '{other}' is not a state backend; use 'hashmap' or 'rocksdb'"
        ))),
    }
}
