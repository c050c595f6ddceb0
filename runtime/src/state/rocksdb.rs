//! The RocksDB keyed state backend (`state.backend.type` = `rocksdb`): one RocksDB instance
//! per subtask in a directory of its own under `state.backend.rocksdb.localdir`, a column
//! family per state, keys laid out as `key group | namespace length | namespace | key`
//! (big-endian) so that one key group, and one namespace within it, is one contiguous
//! range. Memory is bounded by one block cache and write-buffer budget per process, sized
//! by `taskmanager.memory.managed.size` when `state.backend.rocksdb.memory.managed` is on,
//! so state larger than memory spills to disk instead of growing the heap.
//!
//! Snapshots are full (every value of the range in the shared snapshot encoding, which any
//! backend restores at any parallelism), or, with `execution.checkpointing.incremental`,
//! native ([`super::native`]): a RocksDB checkpoint whose SST files already in a completed
//! checkpoint are referenced instead of uploaded again. [`read_native`] reads such a
//! checkpoint back for any key-group range, so rescaling works from either form.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, Direction, IteratorMode, Options,
    WriteBufferManager, DB,
};

use super::native::{NativeFile, NativeSnapshot};
use super::stored_key::{decode, encode, namespace_prefix};
use super::{KeyGroupRange, KeyedStateBackend, StateKey, Visitor};
use crate::error::{Result, RuntimeError};

fn db_error<'a>(what: &'a str, path: &'a Path) -> impl Fn(rocksdb::Error) -> RuntimeError + 'a {
    move |e| {
        RuntimeError::External(format!(
            "RocksDB state in '{}': {what}: {e}",
            path.display()
        ))
    }
}

/// The memory every RocksDB instance of this process shares: a block cache and a write
/// buffer manager charged to it, as Flink's managed memory for RocksDB.
struct SharedMemory {
    cache: Cache,
    write_buffers: WriteBufferManager,
}

/// One budget per process, as Flink's managed memory is one budget per TaskManager.
static MEMORY: OnceLock<Arc<SharedMemory>> = OnceLock::new();

fn shared_memory(bytes: usize) -> Arc<SharedMemory> {
    MEMORY
        .get_or_init(|| {
            let cache = Cache::new_lru_cache(bytes.max(1 << 20));
            // Half for memtables (charged to the cache), as Flink's default write-buffer ratio.
            let write_buffers = WriteBufferManager::new_write_buffer_manager_with_cache(
                bytes / 2,
                false,
                cache.clone(),
            );
            Arc::new(SharedMemory {
                cache,
                write_buffers,
            })
        })
        .clone()
}

/// Visits one stored key and value, both encoded.
type RawVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// What a backend is opened with.
#[derive(Debug, Clone)]
pub struct RocksDbOptions {
    /// The subtask's own directory; created, and deleted again when the backend drops.
    pub path: PathBuf,
    /// Bytes of block cache and write buffers this process's instances share; `None` lets
    /// each instance use RocksDB's defaults.
    pub managed_memory: Option<usize>,
    /// Periodic checkpoints take native snapshots (`execution.checkpointing.incremental`).
    pub incremental: bool,
}

/// Keyed state in RocksDB.
pub struct RocksDbKeyedStateBackend {
    db: Option<DB>,
    path: PathBuf,
    range: KeyGroupRange,
    states: BTreeSet<String>,
    cf_options: Options,
    incremental: bool,
    /// Distinguishes this instance's uploads from another's with the same SST names.
    instance: String,
    /// SST name → storage key, as of the latest completed checkpoint: reused, not uploaded.
    confirmed: BTreeMap<String, String>,
    /// The same for checkpoints taken but not yet known complete.
    pending: BTreeMap<u64, BTreeMap<String, String>>,
}

impl RocksDbKeyedStateBackend {
    /// Opens a fresh instance for `range` at `options.path` (whatever was there is removed:
    /// state comes back through restore, never from a leftover directory).
    pub fn open(range: KeyGroupRange, options: &RocksDbOptions) -> Result<Self> {
        let path = options.path.clone();
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| {
                RuntimeError::io(
                    format!("cannot clear RocksDB directory '{}'", path.display()),
                    e,
                )
            })?;
        }
        std::fs::create_dir_all(&path).map_err(|e| {
            RuntimeError::io(
                format!("cannot create RocksDB directory '{}'", path.display()),
                e,
            )
        })?;
        let mut cf_options = Options::default();
        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_max_open_files(256);
        if let Some(bytes) = options.managed_memory {
            let memory = shared_memory(bytes);
            let mut table = BlockBasedOptions::default();
            table.set_block_cache(&memory.cache);
            table.set_cache_index_and_filter_blocks(true);
            cf_options.set_block_based_table_factory(&table);
            cf_options.set_write_buffer_size((bytes / 8).clamp(1 << 20, 64 << 20));
            db_options.set_write_buffer_manager(&memory.write_buffers);
        }
        let db = DB::open_cf_descriptors(
            &db_options,
            &path,
            vec![ColumnFamilyDescriptor::new("default", cf_options.clone())],
        )
        .map_err(db_error("cannot open", &path))?;
        Ok(Self {
            db: Some(db),
            path,
            range,
            states: BTreeSet::new(),
            cf_options,
            incremental: options.incremental,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            confirmed: BTreeMap::new(),
            pending: BTreeMap::new(),
        })
    }

    fn db(&self) -> Result<&DB> {
        self.db
            .as_ref()
            .ok_or_else(|| RuntimeError::Internal("RocksDB state used after close".into()))
    }

    fn column_family(&mut self, state: &str) -> Result<()> {
        if self.states.contains(state) {
            return Ok(());
        }
        let path = self.path.clone();
        let options = self.cf_options.clone();
        let db = self
            .db
            .as_mut()
            .ok_or_else(|| RuntimeError::Internal("RocksDB state used after close".into()))?;
        db.create_cf(state, &options)
            .map_err(db_error("cannot create a column family", &path))?;
        self.states.insert(state.to_string());
        Ok(())
    }

    fn check(&self, key_group: u32) -> Result<()> {
        if self.range.contains(key_group) {
            Ok(())
        } else {
            Err(RuntimeError::Internal(format!(
                "key group {key_group} is not among this subtask's key groups {}..={}",
                self.range.start, self.range.end
            )))
        }
    }

    /// Visits the values of `state` whose encoded key starts with `prefix`.
    fn prefix_scan(&self, state: &str, prefix: &[u8], visit: &mut RawVisitor<'_>) -> Result<()> {
        let db = self.db()?;
        let Some(cf) = db.cf_handle(state) else {
            return Ok(());
        };
        for item in db.iterator_cf(cf, IteratorMode::From(prefix, Direction::Forward)) {
            let (k, v) = item.map_err(db_error("cannot read", &self.path))?;
            if !k.starts_with(prefix) {
                break;
            }
            visit(&k, &v)?;
        }
        Ok(())
    }
}

impl Drop for RocksDbKeyedStateBackend {
    fn drop(&mut self) {
        // Close before deleting: the directory is this subtask's scratch space only.
        drop(self.db.take());
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl KeyedStateBackend for RocksDbKeyedStateBackend {
    fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>) -> Result<()> {
        self.check(key.key_group)?;
        self.column_family(state)?;
        let db = self.db()?;
        let cf = db
            .cf_handle(state)
            .ok_or_else(|| RuntimeError::Internal(format!("column family '{state}' vanished")))?;
        db.put_cf(cf, encode(&key), value)
            .map_err(db_error("cannot write", &self.path))
    }

    fn get(&self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        let db = self.db()?;
        let Some(cf) = db.cf_handle(state) else {
            return Ok(None);
        };
        db.get_cf(cf, encode(key))
            .map_err(db_error("cannot read", &self.path))
    }

    fn remove(&mut self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        let value = self.get(state, key)?;
        if value.is_some() {
            let db = self.db()?;
            if let Some(cf) = db.cf_handle(state) {
                db.delete_cf(cf, encode(key))
                    .map_err(db_error("cannot delete", &self.path))?;
            }
        }
        Ok(value)
    }

    fn get_namespace_in(
        &self,
        state: &str,
        kg: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let mut found = Vec::new();
        if self.range.contains(kg) {
            let prefix = namespace_prefix(kg, namespace);
            self.prefix_scan(state, &prefix, &mut |k, v| {
                found.push((decode(k)?, v.to_vec()));
                Ok(())
            })?;
        }
        Ok(found)
    }

    fn take_namespace_in(
        &mut self,
        state: &str,
        kg: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let mut taken = Vec::new();
        let mut keys = Vec::new();
        if self.range.contains(kg) {
            let prefix = namespace_prefix(kg, namespace);
            self.prefix_scan(state, &prefix, &mut |k, v| {
                taken.push((decode(k)?, v.to_vec()));
                keys.push(k.to_vec());
                Ok(())
            })?;
        }
        if !keys.is_empty() {
            let db = self.db()?;
            if let Some(cf) = db.cf_handle(state) {
                let mut batch = rocksdb::WriteBatch::default();
                for k in keys {
                    batch.delete_cf(cf, k);
                }
                db.write(batch)
                    .map_err(db_error("cannot delete", &self.path))?;
            }
        }
        Ok(taken)
    }

    fn native_snapshot(&mut self, checkpoint_id: u64) -> Result<Option<NativeSnapshot>> {
        if !self.incremental {
            return Ok(None);
        }
        let dir = self
            .path
            .with_file_name(format!("{}-chk-{checkpoint_id}", self.instance));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| RuntimeError::io(format!("cannot clear '{}'", dir.display()), e))?;
        }
        // Deleted with the snapshot, whatever becomes of it.
        let local = super::native::LocalDir::new(dir.clone());
        // Flushes the memtables first, so that the SST files hold every value.
        rocksdb::checkpoint::Checkpoint::new(self.db()?)
            .and_then(|c| c.create_checkpoint(&dir))
            .map_err(db_error("cannot take a checkpoint", &self.path))?;
        let mut files = Vec::new();
        let mut keys = BTreeMap::new();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| RuntimeError::io(format!("cannot list '{}'", dir.display()), e))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| RuntimeError::io(format!("cannot list '{}'", dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let shared = name.ends_with(".sst");
            let (location, upload) = match (shared, self.confirmed.get(&name)) {
                (false, _) => (String::new(), true),
                (true, Some(key)) => (key.clone(), false),
                (true, None) => (
                    format!("shared/{checkpoint_id}/{}-{name}", self.instance),
                    true,
                ),
            };
            if shared {
                keys.insert(name.clone(), location.clone());
            }
            files.push(NativeFile {
                name,
                location,
                shared,
                upload,
                size,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        self.pending.insert(checkpoint_id, keys);
        Ok(Some(NativeSnapshot {
            range: self.range,
            files,
            local_dir: Some(local),
        }))
    }

    fn checkpoint_complete(&mut self, id: u64) {
        if let Some(keys) = self.pending.remove(&id) {
            self.confirmed = keys;
        }
        // Older checkpoints can no longer complete usefully.
        self.pending.retain(|&p, _| p > id);
    }

    fn scan(&self, range: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()> {
        let start = range.start.max(self.range.start);
        let end = range.end.min(self.range.end);
        if start > end {
            return Ok(());
        }
        for kg in start..=end {
            let prefix = kg.to_be_bytes();
            for state in &self.states {
                self.prefix_scan(state, &prefix, &mut |k, v| visit(state, &decode(k)?, v))?;
            }
        }
        Ok(())
    }
}

/// Visits the values of a downloaded native snapshot (a RocksDB checkpoint directory) whose
/// key group is in `own`, state by state, in key order.
pub fn read_native(dir: &Path, own: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()> {
    let options = Options::default();
    let families = DB::list_cf(&options, dir).map_err(db_error("cannot list the states", dir))?;
    let db = DB::open_cf_for_read_only(&options, dir, &families, false)
        .map_err(db_error("cannot open a restored checkpoint", dir))?;
    for state in families.iter().filter(|f| f.as_str() != "default") {
        let Some(cf) = db.cf_handle(state) else {
            continue;
        };
        let start = own.start.to_be_bytes();
        for item in db.iterator_cf(cf, IteratorMode::From(&start, Direction::Forward)) {
            let (k, v) = item.map_err(db_error("cannot read", dir))?;
            let key = decode(&k)?;
            if key.key_group > own.end {
                break;
            }
            visit(state, &key, &v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::check_backend;

    #[test]
    fn passes_the_keyed_state_contract() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        check_backend(&|range| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::new(
                RocksDbKeyedStateBackend::open(
                    range,
                    &RocksDbOptions {
                        path: dir.path().join(format!("db{i}")),
                        managed_memory: Some(8 << 20),
                        incremental: false,
                    },
                )
                .unwrap(),
            )
        });
    }

    #[test]
    fn holds_far_more_state_than_its_memory_and_removes_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let range = KeyGroupRange { start: 0, end: 127 };
        let mut b = RocksDbKeyedStateBackend::open(
            range,
            &RocksDbOptions {
                path: path.clone(),
                managed_memory: Some(4 << 20),
                incremental: false,
            },
        )
        .unwrap();
        // 64 MB of values against a 4 MB budget.
        let value = vec![7u8; 4096];
        for i in 0..16_384u32 {
            let key = StateKey {
                key_group: i % 128,
                namespace: (i / 1000).to_be_bytes().to_vec(),
                key: i.to_be_bytes().to_vec(),
            };
            b.put("big", key, value.clone()).unwrap();
        }
        let probe = StateKey {
            key_group: 5,
            namespace: 0u32.to_be_bytes().to_vec(),
            key: 5u32.to_be_bytes().to_vec(),
        };
        assert_eq!(b.get("big", &probe).unwrap().as_deref(), Some(&value[..]));
        let mut count = 0;
        b.scan(range, &mut |_, _, v| {
            assert_eq!(v.len(), 4096);
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 16_384);
        assert_eq!(
            b.take_namespace("big", &0u32.to_be_bytes()).unwrap().len(),
            1000
        );
        drop(b);
        assert!(!path.exists(), "the subtask's directory is removed");
    }

    fn value_at(kg: u32, i: u32) -> StateKey {
        StateKey {
            key_group: kg,
            namespace: b"w".to_vec(),
            key: i.to_be_bytes().to_vec(),
        }
    }

    #[test]
    fn incremental_snapshots_reference_the_sst_files_a_completed_checkpoint_holds() {
        let dir = tempfile::tempdir().unwrap();
        let range = KeyGroupRange { start: 0, end: 127 };
        let mut b = RocksDbKeyedStateBackend::open(
            range,
            &RocksDbOptions {
                path: dir.path().join("db"),
                managed_memory: None,
                incremental: true,
            },
        )
        .unwrap();
        for i in 0..1000u32 {
            b.put("acc", value_at(i % 128, i), vec![1; 100]).unwrap();
        }
        let first = b.native_snapshot(1).unwrap().unwrap();
        let shared = |s: &NativeSnapshot| -> Vec<NativeFile> {
            s.files.iter().filter(|f| f.shared).cloned().collect()
        };
        assert!(!shared(&first).is_empty(), "{first:?}");
        assert!(shared(&first)
            .iter()
            .all(|f| f.upload && f.location.starts_with("shared/1/")));
        assert!(first.files.iter().any(|f| f.name == "CURRENT" && !f.shared));

        // Until checkpoint 1 is known complete, checkpoint 2 uploads everything again.
        let second = b.native_snapshot(2).unwrap().unwrap();
        assert!(shared(&second).iter().all(|f| f.upload));
        b.checkpoint_complete(1);
        for i in 1000..1100u32 {
            b.put("acc", value_at(i % 128, i), vec![2; 100]).unwrap();
        }
        let third = b.native_snapshot(3).unwrap().unwrap();
        let (reused, new): (Vec<_>, Vec<_>) = shared(&third).into_iter().partition(|f| !f.upload);
        assert_eq!(
            reused
                .iter()
                .map(|f| (&f.name, &f.location))
                .collect::<Vec<_>>(),
            shared(&first)
                .iter()
                .map(|f| (&f.name, &f.location))
                .collect::<Vec<_>>(),
            "the files of checkpoint 1 are referenced, not uploaded"
        );
        assert!(!new.is_empty() && new.iter().all(|f| f.location.starts_with("shared/3/")));

        // The checkpoint's directory restores any key-group range.
        let local = third.local_dir.clone().unwrap();
        let mut seen = Vec::new();
        read_native(
            local.path(),
            KeyGroupRange { start: 10, end: 19 },
            &mut |state, key, v| {
                assert_eq!(state, "acc");
                seen.push((key.key_group, v.len()));
                Ok(())
            },
        )
        .unwrap();
        let expected = (0..1100u32)
            .filter(|i| (10..20).contains(&(i % 128)))
            .count();
        assert_eq!(seen.len(), expected);
        assert!(seen
            .iter()
            .all(|(kg, len)| (10..20).contains(kg) && *len == 100));
    }
}
