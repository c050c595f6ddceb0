//! The snapshot encoding of keyed state, shared by every backend so that any backend can
//! restore what another wrote, at any parallelism. Versioned: a reader refuses a version it
//! does not know instead of misreading it.
//!
//! ```text
//! header:  "EDDYSTAT" | version u32 | key-group range start u32 | end u32
//! value:   1u8 | state name (u32 length + UTF-8) | key group u32 | namespace (u32 + bytes)
//!          | key (u32 + bytes) | value (u32 + bytes)
//! end:     0u8
//! ```
//! All integers are big-endian.

use std::io::{Read, Write};

use super::{KeyGroupRange, StateKey};
use crate::error::{Result, RuntimeError};

const MAGIC: &[u8; 8] = b"EDDYSTAT";
/// The version this code writes.
pub const SNAPSHOT_VERSION: u32 = 1;
/// Longest field a reader accepts; a longer one means the snapshot is damaged.
const MAX_FIELD: u32 = 1 << 30;

fn io(what: &str) -> impl Fn(std::io::Error) -> RuntimeError + '_ {
    move |e| RuntimeError::io(format!("keyed-state snapshot: {what}"), e)
}

/// Writes one snapshot.
pub struct SnapshotWriter<'a> {
    out: &'a mut dyn Write,
}

impl<'a> SnapshotWriter<'a> {
    /// Writes the header of a snapshot of `range`.
    pub fn new(out: &'a mut dyn Write, range: KeyGroupRange) -> Result<Self> {
        out.write_all(MAGIC).map_err(io("write"))?;
        for n in [SNAPSHOT_VERSION, range.start, range.end] {
            out.write_all(&n.to_be_bytes()).map_err(io("write"))?;
        }
        Ok(Self { out })
    }

    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        let len = u32::try_from(b.len())
            .ok()
            .filter(|n| *n <= MAX_FIELD)
            .ok_or_else(|| RuntimeError::Internal(format!("a state field of {} bytes", b.len())))?;
        self.out
            .write_all(&len.to_be_bytes())
            .map_err(io("write"))?;
        self.out.write_all(b).map_err(io("write"))
    }

    /// Writes one value.
    pub fn write(&mut self, state: &str, key: &StateKey, value: &[u8]) -> Result<()> {
        self.out.write_all(&[1]).map_err(io("write"))?;
        self.bytes(state.as_bytes())?;
        self.out
            .write_all(&key.key_group.to_be_bytes())
            .map_err(io("write"))?;
        self.bytes(&key.namespace)?;
        self.bytes(&key.key)?;
        self.bytes(value)
    }

    /// Ends the snapshot.
    pub fn finish(self) -> Result<()> {
        self.out.write_all(&[0]).map_err(io("write"))?;
        self.out.flush().map_err(io("write"))
    }
}

/// Visits every value of `snapshots` whose key group is in `own`: what an operator
/// restores from the snapshots of the old subtasks that overlap its key groups.
pub fn for_each_owned(
    snapshots: &[Vec<u8>],
    own: KeyGroupRange,
    visit: &mut dyn FnMut(String, StateKey, Vec<u8>) -> Result<()>,
) -> Result<()> {
    for snapshot in snapshots {
        let mut input = snapshot.as_slice();
        let mut reader = SnapshotReader::new(&mut input)?;
        while let Some((state, key, value)) = reader.next()? {
            if own.contains(key.key_group) {
                visit(state, key, value)?;
            }
        }
    }
    Ok(())
}

/// Snapshots a whole backend for `barrier`: natively for a periodic checkpoint when the
/// backend takes incremental ones, else every value in the portable encoding. Returns the
/// operator's `keyed` bytes and `native` snapshot.
pub fn snapshot_backend(
    backend: &mut dyn super::KeyedStateBackend,
    barrier: &crate::checkpoint::CheckpointBarrier,
) -> Result<(Vec<u8>, Option<super::NativeSnapshot>)> {
    let native = match barrier.is_periodic() {
        true => backend.native_snapshot(barrier.id)?,
        false => None,
    };
    let mut keyed = Vec::new();
    if native.is_none() {
        let range = backend.key_group_range();
        let mut writer = SnapshotWriter::new(&mut keyed, range)?;
        backend.scan(range, &mut |state, key, value| {
            writer.write(state, key, value)
        })?;
        writer.finish()?;
    }
    Ok((keyed, native))
}

/// The snapshot of an operator whose state is all in its keyed backend.
pub fn keyed_snapshot(
    backend: &mut dyn super::KeyedStateBackend,
    barrier: &crate::checkpoint::CheckpointBarrier,
) -> Result<crate::checkpoint::OperatorSnapshot> {
    let (keyed, native) = snapshot_backend(backend, barrier)?;
    Ok(crate::checkpoint::OperatorSnapshot {
        keyed,
        operator: Vec::new(),
        native,
    })
}

/// Visits every restored value in `own`: the portable snapshots, then the native ones.
pub fn for_each_restored(
    restored: &crate::checkpoint::RestoredState,
    own: KeyGroupRange,
    visit: &mut dyn FnMut(String, StateKey, Vec<u8>) -> Result<()>,
) -> Result<()> {
    for_each_owned(&restored.keyed, own, visit)?;
    for dir in &restored.native {
        super::rocksdb::read_native(dir.path(), own, &mut |state, key, value| {
            visit(state.to_string(), key.clone(), value.to_vec())
        })?;
    }
    Ok(())
}

/// Puts every restored value in the backend's key groups back into it, after `seen` looked
/// at it. A state not among `states` means the snapshot belongs to another operator, which
/// `operator` names in the error.
pub fn restore_into(
    restored: &crate::checkpoint::RestoredState,
    backend: &mut dyn super::KeyedStateBackend,
    states: &[&str],
    operator: &str,
    seen: &mut dyn FnMut(&StateKey, &[u8]) -> Result<()>,
) -> Result<()> {
    let own = backend.key_group_range();
    for_each_restored(restored, own, &mut |state, key, value| {
        if !states.contains(&state.as_str()) {
            return Err(RuntimeError::User(format!(
                "the state restored for {operator} holds '{state}', which it does not keep"
            )));
        }
        seen(&key, &value)?;
        backend.put(&state, key, value)
    })
}

/// Reads one snapshot.
pub struct SnapshotReader<'a> {
    input: &'a mut dyn Read,
    /// The key groups the snapshot was taken of.
    pub range: KeyGroupRange,
}

impl<'a> SnapshotReader<'a> {
    /// Reads and checks the header.
    pub fn new(input: &'a mut dyn Read) -> Result<Self> {
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(io("read"))?;
        if &magic != MAGIC {
            return Err(RuntimeError::User(
                "not a keyed-state snapshot (wrong magic bytes)".into(),
            ));
        }
        let mut reader = Self {
            input,
            range: KeyGroupRange { start: 0, end: 0 },
        };
        let version = reader.u32()?;
        if version != SNAPSHOT_VERSION {
            return Err(RuntimeError::User(format!(
                "keyed-state snapshot version {version} is not supported (this Eddy reads version {SNAPSHOT_VERSION})"
            )));
        }
        reader.range = KeyGroupRange {
            start: reader.u32()?,
            end: reader.u32()?,
        };
        Ok(reader)
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.input.read_exact(&mut b).map_err(io("read"))?;
        Ok(u32::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<Vec<u8>> {
        let len = self.u32()?;
        if len > MAX_FIELD {
            return Err(RuntimeError::Internal(format!(
                "keyed-state snapshot is damaged: a field of {len} bytes"
            )));
        }
        let mut b = vec![0; len as usize];
        self.input.read_exact(&mut b).map_err(io("read"))?;
        Ok(b)
    }

    /// The next value, or `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<(String, StateKey, Vec<u8>)>> {
        let mut tag = [0u8; 1];
        self.input.read_exact(&mut tag).map_err(io("read"))?;
        match tag[0] {
            0 => Ok(None),
            1 => {
                let state = String::from_utf8(self.bytes()?).map_err(|_| {
                    RuntimeError::Internal(
                        "keyed-state snapshot is damaged: a state name is not UTF-8".into(),
                    )
                })?;
                let key_group = self.u32()?;
                let namespace = self.bytes()?;
                let key = self.bytes()?;
                let value = self.bytes()?;
                Ok(Some((
                    state,
                    StateKey {
                        key_group,
                        namespace,
                        key,
                    },
                    value,
                )))
            }
            t => Err(RuntimeError::Internal(format!(
                "keyed-state snapshot is damaged: unknown record tag {t}"
            ))),
        }
    }
}
