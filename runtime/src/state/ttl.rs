//! Idle state retention (`table.exec.state.ttl`, Flink's `StateTtlConfig` as its SQL
//! operators use it: processing time, updated on create and write, expired values never
//! returned). A wrapper around any backend: each stored value carries the wall-clock time
//! after which it is gone, and reads treat an expired value as absent.
//!
//! Snapshots hold the values without their times, so a savepoint restores into a job with
//! or without a TTL (restored values get a fresh lease, as if written at restore). For that
//! reason such a backend takes full checkpoints, never RocksDB's native incremental ones,
//! whose files would hold the times. Expired values are never returned; they are dropped
//! at every checkpoint, which scans all the state anyway (Flink's cleanup in full
//! snapshots), and by a scan on write at most once per TTL, so that a job without
//! checkpoints does not keep them forever.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{KeyGroupRange, KeyedStateBackend, NativeSnapshot, StateKey, Visitor};
use crate::error::Result;

/// A backend whose values expire a fixed time after they were last written.
pub struct TtlBackend {
    inner: Box<dyn KeyedStateBackend>,
    ttl_ms: u64,
    clock: fn() -> u64,
    /// When expired values were last dropped.
    last_purge: u64,
    /// States whose values never expire (Flink's state descriptors without a TTL in an
    /// operator whose other states have one).
    lasting: Vec<String>,
}

/// Milliseconds since the epoch, by the wall clock.
fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl TtlBackend {
    /// Wraps `inner`: values expire `ttl` after their last write.
    pub fn new(inner: Box<dyn KeyedStateBackend>, ttl: Duration) -> Self {
        Self::with_clock(inner, ttl, wall_clock)
    }

    /// The same with another clock (tests).
    pub fn with_clock(
        inner: Box<dyn KeyedStateBackend>,
        ttl: Duration,
        clock: fn() -> u64,
    ) -> Self {
        Self {
            inner,
            ttl_ms: ttl.as_millis() as u64,
            last_purge: clock(),
            clock,
            lasting: Vec::new(),
        }
    }

    /// The same, with the values of `states` kept until removed.
    pub fn with_lasting(mut self, states: &[&str]) -> Self {
        self.lasting = states.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The value without its expiry time, unless it has expired.
    fn live(&self, stored: Vec<u8>) -> Option<Vec<u8>> {
        let (expiry, value) = stored.split_at_checked(8)?;
        let expiry = u64::from_be_bytes(expiry.try_into().ok()?);
        (expiry > (self.clock)()).then(|| value.to_vec())
    }

    fn live_all(&self, stored: Vec<(StateKey, Vec<u8>)>) -> Vec<(StateKey, Vec<u8>)> {
        stored
            .into_iter()
            .filter_map(|(k, v)| self.live(v).map(|v| (k, v)))
            .collect()
    }

    /// Drops every expired value.
    fn purge(&mut self) -> Result<()> {
        let now = (self.clock)();
        self.last_purge = now;
        let mut expired = Vec::new();
        self.inner
            .scan(self.inner.key_group_range(), &mut |state, key, value| {
                let expiry = value
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                if expiry <= now {
                    expired.push((state.to_string(), key.clone()));
                }
                Ok(())
            })?;
        for (state, key) in expired {
            self.inner.remove(&state, &key)?;
        }
        Ok(())
    }
}

impl KeyedStateBackend for TtlBackend {
    fn key_group_range(&self) -> KeyGroupRange {
        self.inner.key_group_range()
    }

    fn put(&mut self, state: &str, key: StateKey, value: Vec<u8>) -> Result<()> {
        let now = (self.clock)();
        // Without checkpoints nothing else drops what expired: a scan once per TTL (at
        // least a second apart) keeps the dead from piling up.
        if now.saturating_sub(self.last_purge) >= self.ttl_ms.max(1_000) {
            self.purge()?;
        }
        let expiry = match self.lasting.iter().any(|s| s == state) {
            true => u64::MAX,
            false => now.saturating_add(self.ttl_ms),
        };
        let mut stored = Vec::with_capacity(8 + value.len());
        stored.extend_from_slice(&expiry.to_be_bytes());
        stored.extend_from_slice(&value);
        self.inner.put(state, key, stored)
    }

    fn get(&self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.get(state, key)?.and_then(|v| self.live(v)))
    }

    fn remove(&mut self, state: &str, key: &StateKey) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.remove(state, key)?.and_then(|v| self.live(v)))
    }

    fn take_namespace_in(
        &mut self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let taken = self.inner.take_namespace_in(state, key_group, namespace)?;
        Ok(self.live_all(taken))
    }

    fn get_namespace_in(
        &self,
        state: &str,
        key_group: u32,
        namespace: &[u8],
    ) -> Result<Vec<(StateKey, Vec<u8>)>> {
        let found = self.inner.get_namespace_in(state, key_group, namespace)?;
        Ok(self.live_all(found))
    }

    fn scan(&self, range: KeyGroupRange, visit: &mut Visitor<'_>) -> Result<()> {
        let now = (self.clock)();
        self.inner.scan(
            range,
            &mut |state, key, value| match value.split_at_checked(8) {
                Some((expiry, value))
                    if expiry
                        .try_into()
                        .map(u64::from_be_bytes)
                        .is_ok_and(|e| e > now) =>
                {
                    visit(state, key, value)
                }
                _ => Ok(()),
            },
        )
    }

    fn native_snapshot(&mut self, _checkpoint_id: u64) -> Result<Option<NativeSnapshot>> {
        // Called before every periodic checkpoint's scan: the time to drop what expired.
        self.purge()?;
        Ok(None)
    }

    fn checkpoint_complete(&mut self, id: u64) {
        self.inner.checkpoint_complete(id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::state::HeapKeyedStateBackend;

    static NOW: AtomicU64 = AtomicU64::new(1_000);

    fn now() -> u64 {
        NOW.load(Ordering::SeqCst)
    }

    fn key(k: u8) -> StateKey {
        StateKey {
            key_group: 0,
            namespace: vec![1],
            key: vec![k],
        }
    }

    #[test]
    fn values_expire_after_their_last_write_and_snapshots_leave_them_out() {
        let inner = Box::new(HeapKeyedStateBackend::new(KeyGroupRange {
            start: 0,
            end: 127,
        }));
        let mut backend = TtlBackend::with_clock(inner, Duration::from_millis(100), now);
        backend.put("s", key(1), b"a".to_vec()).unwrap();
        NOW.store(1_050, Ordering::SeqCst);
        backend.put("s", key(2), b"b".to_vec()).unwrap();
        assert_eq!(backend.get("s", &key(1)).unwrap(), Some(b"a".to_vec()));
        NOW.store(1_100, Ordering::SeqCst);
        assert_eq!(
            backend.get("s", &key(1)).unwrap(),
            None,
            "100 ms after its write"
        );
        assert_eq!(backend.get_namespace_in("s", 0, &[1]).unwrap().len(), 1);
        // A write renews the lease.
        backend.put("s", key(2), b"c".to_vec()).unwrap();
        NOW.store(1_160, Ordering::SeqCst);
        assert_eq!(backend.get("s", &key(2)).unwrap(), Some(b"c".to_vec()));
        let mut seen = Vec::new();
        backend
            .scan(backend.key_group_range(), &mut |_, k, v| {
                seen.push((k.key.clone(), v.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [(vec![2], b"c".to_vec())],
            "snapshots hold live values, bare"
        );
        // A write a TTL after the last purge drops what expired.
        NOW.store(2_200, Ordering::SeqCst);
        backend.put("s", key(3), b"d".to_vec()).unwrap();
        assert_eq!(
            backend.inner.get("s", &key(2)).unwrap(),
            None,
            "dropped on write"
        );
        backend.put("s", key(1), b"e".to_vec()).unwrap();
        NOW.store(2_400, Ordering::SeqCst);
        assert!(backend.native_snapshot(1).unwrap().is_none());
        assert_eq!(
            backend.inner.get("s", &key(1)).unwrap(),
            None,
            "a checkpoint drops what expired"
        );
    }

    static LATER: AtomicU64 = AtomicU64::new(1_000);

    fn later() -> u64 {
        LATER.load(Ordering::SeqCst)
    }

    #[test]
    fn a_lasting_state_keeps_its_values_while_the_others_expire() {
        let inner = Box::new(HeapKeyedStateBackend::new(KeyGroupRange {
            start: 0,
            end: 127,
        }));
        let mut backend = TtlBackend::with_clock(inner, Duration::from_millis(100), later)
            .with_lasting(&["kept"]);
        backend.put("kept", key(1), b"a".to_vec()).unwrap();
        backend.put("s", key(1), b"b".to_vec()).unwrap();
        LATER.store(5_000, Ordering::SeqCst);
        assert_eq!(backend.get("kept", &key(1)).unwrap(), Some(b"a".to_vec()));
        assert_eq!(backend.get("s", &key(1)).unwrap(), None);
        assert!(backend.native_snapshot(1).unwrap().is_none());
        assert_eq!(
            backend.get("kept", &key(1)).unwrap(),
            Some(b"a".to_vec()),
            "a purge keeps it"
        );
    }
}
