//! What a view's directory holds, as one reader sees it, and which changes that makes
//! visible.
//!
//! A listing is not atomic: a file created or deleted during the scan may or may
//! not be in it. So the marks are read in a first pass and the other files listed in a
//! second: a delta is written before its mark, so every delta an epoch complete in the
//! first pass needs is already there when the second starts, and is listed.

use std::collections::BTreeMap;

use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
use eddy_runtime::{Result, RuntimeError};

use super::blobs::Blobs;
use super::store::Position;

/// A file's name in the view's place.
type Name = String;

/// Each subtask's mark file and the epoch it holds.
type Marks = BTreeMap<u32, (Name, u64)>;

#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Bases by (generation, epoch), oldest first.
    pub bases: BTreeMap<(u32, u64), Name>,
    pub deltas: BTreeMap<(u32, u64, u32), Name>,
    /// Per generation: its parallelism and each subtask's mark.
    pub marks: BTreeMap<u32, (u32, Marks)>,
    /// Per generation: the checkpoint the next generation restored, past which its
    /// commits do not count (they are made again by the next generation).
    pub caps: BTreeMap<u32, (Name, u64)>,
}

/// One directory entry's name, parsed.
enum Entry {
    Delta(u32, u64, u32),
    Base(u32, u64),
    Mark {
        generation: u32,
        subtask: u32,
        parallelism: u32,
    },
    Cap(u32, u64),
}

fn parse(name: &str) -> Option<Entry> {
    let parts: Vec<&str> = name
        .strip_suffix(".arrow")
        .unwrap_or(name)
        .split('-')
        .collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
    let small = |i: usize| num(i).and_then(|n| u32::try_from(n).ok());
    // Temporary files (`.tmp`, `.tmp-<uuid>`) never parse: their last part is not a number.
    match (parts.first().copied(), parts.len()) {
        (Some("d"), 4) => Some(Entry::Delta(small(1)?, num(2)?, small(3)?)),
        (Some("b"), 3) => Some(Entry::Base(small(1)?, num(2)?)),
        (Some("m"), 4) => Some(Entry::Mark {
            generation: small(1)?,
            subtask: small(2)?,
            parallelism: small(3)?,
        }),
        (Some("c"), 3) => Some(Entry::Cap(small(1)?, num(2)?)),
        _ => None,
    }
}

fn entries(blobs: &Blobs) -> Result<Vec<(Entry, Name)>> {
    Ok(blobs
        .names()?
        .into_iter()
        .filter_map(|name| parse(&name).map(|entry| (entry, name)))
        .collect())
}

/// Reads a mark or cap file: the epoch it holds, None when it does not exist.
pub(super) fn read_epoch(blobs: &Blobs, name: &str) -> Result<Option<u64>> {
    let Some(bytes) = blobs.get(name)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim().parse().map(Some).map_err(|_| {
        RuntimeError::Internal(format!(
            "{} does not hold an epoch: {text:?}",
            blobs.describe(name)
        ))
    })
}

impl Listing {
    pub fn read(blobs: &Blobs) -> Result<Listing> {
        let mut listing = Listing::default();
        for (entry, path) in entries(blobs)? {
            if let Entry::Mark {
                generation,
                subtask,
                parallelism,
            } = entry
            {
                // Deleted since the scan (an old generation's, by compaction): not needed.
                if let Some(epoch) = read_epoch(blobs, &path)? {
                    listing
                        .marks
                        .entry(generation)
                        .or_insert_with(|| (parallelism, BTreeMap::new()))
                        .1
                        .insert(subtask, (path, epoch));
                }
            }
        }
        for (entry, path) in entries(blobs)? {
            match entry {
                Entry::Delta(g, e, s) => {
                    listing.deltas.insert((g, e, s), path);
                }
                Entry::Base(g, e) => {
                    listing.bases.insert((g, e), path);
                }
                Entry::Cap(g, e) => {
                    listing.caps.insert(g, (path, e));
                }
                Entry::Mark { .. } => {}
            }
        }
        Ok(listing)
    }

    /// The newest base.
    pub fn base(&self) -> Option<(u32, u64)> {
        self.bases.keys().next_back().copied()
    }

    /// The second newest base: compaction may have deleted the deltas up to it.
    pub fn floor(&self) -> Option<(u32, u64)> {
        self.bases.keys().rev().nth(1).copied()
    }

    /// The last epoch of `generation` every subtask has committed (a subtask that
    /// finished counts as having committed every epoch), no later than its cap.
    pub fn complete(&self, generation: u32) -> Option<u64> {
        let (parallelism, marks) = self.marks.get(&generation)?;
        if marks.len() < *parallelism as usize {
            return None;
        }
        let running = marks
            .values()
            .map(|(_, e)| *e)
            .filter(|e| *e != FINAL_CHECKPOINT_ID)
            .min();
        let complete = running.unwrap_or(FINAL_CHECKPOINT_ID);
        Some(match self.caps.get(&generation) {
            Some((_, cap)) => complete.min(*cap),
            None => complete,
        })
    }

    /// The deltas a reader of the base takes: after it, in complete epochs, in commit
    /// order.
    pub fn visible(&self) -> Vec<((u32, u64, u32), &Name)> {
        self.visible_after(self.base())
    }

    /// The deltas after `from` in complete epochs, in commit order.
    pub fn visible_after(&self, from: Position) -> Vec<((u32, u64, u32), &Name)> {
        self.deltas
            .iter()
            .filter(|((g, e, _), _)| {
                from.is_none_or(|b| (*g, *e) > b) && self.complete(*g).is_some_and(|c| *e <= c)
            })
            .map(|(k, p)| (*k, p))
            .collect()
    }

    /// How far a read of this listing goes: the newest complete epoch, or the base.
    pub fn position(&self) -> Position {
        self.latest_complete().max(self.base())
    }

    /// The newest complete (generation, epoch), if any.
    pub fn latest_complete(&self) -> Option<(u32, u64)> {
        self.marks
            .keys()
            .rev()
            .find_map(|g| self.complete(*g).map(|e| (*g, e)))
    }

    /// The highest generation any file names.
    pub fn newest_generation(&self) -> Option<u32> {
        let from_deltas = self.deltas.keys().map(|(g, _, _)| *g);
        let from_bases = self.bases.keys().map(|(g, _)| *g);
        let from_marks = self.marks.keys().copied();
        from_deltas.chain(from_bases).chain(from_marks).max()
    }
}
