//! A materialized view's contents on disk: the changes of each completed checkpoint (an
//! *epoch*), committed by every sink subtask, folded when read into a multiset of rows,
//! or, for a view with a key, into the latest row of each key. A keyed view's changes of
//! one key all come from one subtask in order (the planner keys a view only then), so
//! folding the epochs in order, and one epoch's subtasks in any order, applies each key's
//! changes as they were made.
//!
//! Files in the view's place (a directory or an object store prefix, `blobs.rs`), each
//! written whole at once, so a reader sees a file whole or not at all:
//! - `d-{gen}-{epoch}-{subtask}.arrow`: the changes one subtask committed for one epoch
//!   (Arrow IPC; the view's columns plus `__op` when the query updates). Written only
//!   when there are changes.
//! - `m-{gen}-{subtask}-{parallelism}`: the last epoch the subtask committed, or
//!   `u64::MAX` once it finished (its input ended). An epoch of a generation is complete
//!   when every subtask's mark has reached it; readers take only complete epochs, so they
//!   see the view as of one checkpoint, never half of one.
//! - `b-{gen}-{epoch}.arrow`: every complete epoch up to and including this one, folded
//!   (the view's columns plus `__count`), written by compaction.
//! - `c-{gen}-{epoch}`: the checkpoint of generation `gen` the next generation restored;
//!   `gen`'s commits past it do not count, since the next generation makes them again
//!   (a savepoint taken after that checkpoint, say, committed them).
//!
//! A *generation* is one job keeping the view (a new one each time Eddy starts the view's
//! job again); it restores the previous generation's checkpoint, so the older generations'
//! complete epochs stay part of the contents.
//!
//! Compaction keeps the two newest bases and deletes, in this order, older bases and then
//! the deltas the second newest covers. A reader that finds its base still there after
//! reading therefore read every delta after it; one that does not, reads again.

use std::io::Cursor;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::changelog;
use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
use eddy_runtime::stream_element::RowKind;
use eddy_runtime::{Result, RuntimeError};

use super::blobs::Blobs;
use super::fold::Folded;
use super::listing::{read_epoch, Listing};

/// Once this many committed delta files are waiting, subtask 0 folds them into a base.
pub const COMPACT_AFTER: usize = 32;

/// How often a read starts again before giving up on files that keep changing.
const READ_ATTEMPTS: usize = 10;

/// How far a reader has read: the (generation, epoch) of the last complete epoch taken.
pub type Position = Option<(u32, u64)>;

/// Which epoch of which job a subtask commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpochId {
    pub generation: u32,
    pub epoch: u64,
    pub subtask: u32,
    pub parallelism: u32,
    /// The subtask's last commit (its input ended): its mark goes to `u64::MAX`, so it
    /// no longer holds later epochs back.
    #[serde(default)]
    pub last: bool,
}

/// One materialized view's files: a local directory or an object store prefix.
#[derive(Debug, Clone)]
pub struct Store {
    blobs: Blobs,
    /// The view's key columns: its contents are the latest row of each key, not a
    /// multiset (`materialized.key`).
    key: Option<Vec<usize>>,
}

impl Store {
    /// The view's files at `location`: a local path, a `file://` URL or an object store
    /// URL such as `s3://bucket/views/v-1`.
    pub fn open(location: &str) -> Result<Self> {
        Ok(Self {
            blobs: Blobs::open(location)?,
            key: None,
        })
    }

    /// The same files, read as the latest row of each `key` (the view's key columns).
    pub fn keyed(mut self, key: Option<Vec<usize>>) -> Self {
        self.key = key;
        self
    }

    /// The view's key columns, if it has a key.
    pub fn key(&self) -> Option<&[usize]> {
        self.key.as_deref()
    }

    /// Where the view's files are, for messages.
    pub fn location(&self) -> String {
        self.blobs.describe("")
    }

    /// Whether the view's place exists: it goes when the view is dropped.
    pub fn exists(&self) -> Result<bool> {
        self.blobs.exists()
    }

    fn list(&self) -> Result<Listing> {
        Listing::read(&self.blobs)
    }

    fn base_name((g, e): (u32, u64)) -> String {
        format!("b-{g:06}-{e:020}.arrow")
    }

    /// Creates the view's place (a view that has committed nothing yet still has one).
    pub fn create(&self) -> Result<()> {
        self.blobs.create()
    }

    /// Commits one subtask's changes for one epoch: the changes first, then the mark, so
    /// that a complete epoch always has all its changes. Committing the same epoch again
    /// (after a restore) rewrites the same file and leaves a later mark alone.
    pub fn commit(&self, id: EpochId, changes: &[RecordBatch]) -> Result<()> {
        self.create()?;
        let rows: usize = changes.iter().map(|b| b.num_rows()).sum();
        if rows > 0 {
            let name = format!(
                "d-{:06}-{:020}-{:05}.arrow",
                id.generation, id.epoch, id.subtask
            );
            write_atomically(&self.blobs, &name, changes)?;
        }
        let mark = format!(
            "m-{:06}-{:05}-{:05}",
            id.generation, id.subtask, id.parallelism
        );
        let epoch = match id.last {
            true => FINAL_CHECKPOINT_ID,
            false => id.epoch,
        };
        if read_epoch(&self.blobs, &mark)?.is_some_and(|e| e >= epoch) {
            return Ok(());
        }
        self.blobs.put(&mark, epoch.to_string().as_bytes())
    }

    /// Records that the next generation restored `generation`'s checkpoint `epoch`. The
    /// first record stands: a restore repeated after a failure restores the same one.
    pub fn cap(&self, generation: u32, epoch: u64) -> Result<()> {
        self.create()?;
        let name = format!("c-{generation:06}-{epoch:020}");
        let listing = self.list()?;
        if listing.caps.contains_key(&generation) {
            return Ok(());
        }
        self.blobs.put(&name, epoch.to_string().as_bytes())
    }

    /// The view's rows (each as often as it occurs), as of the newest complete epoch.
    pub fn read(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        self.snapshot(schema).map(|(rows, _)| rows)
    }

    /// The view's rows as of the newest complete epoch, and that epoch: where a
    /// subscription's changes start.
    pub fn snapshot(&self, schema: &SchemaRef) -> Result<(Vec<RecordBatch>, Position)> {
        for _ in 0..READ_ATTEMPTS {
            let listing = self.list()?;
            match self.fold_listing(schema, &listing) {
                Ok(folded) => return Ok((folded.rows(schema)?, listing.position())),
                Err(FoldError::Vanished) => continue,
                Err(FoldError::Failed(e)) => return Err(e),
            }
        }
        Err(self.kept_changing())
    }

    /// The changes of the epochs completed after `since`, in commit order (each batch
    /// with its row kinds), and the position they reach. Fails when compaction may have
    /// deleted changes the caller has not read.
    pub fn changes_since(&self, since: Position) -> Result<(Vec<RecordBatch>, Position)> {
        for _ in 0..READ_ATTEMPTS {
            let listing = self.list()?;
            if let Some(floor) = listing.floor().filter(|f| since.is_none_or(|s| *f > s)) {
                return Err(RuntimeError::User(format!(
                    "the view's changes up to its checkpoint {} were compacted before this \
                     subscription read them; subscribe again",
                    floor.1
                )));
            }
            let mut out = Vec::new();
            let mut vanished = false;
            for (_, name) in listing.visible_after(since) {
                match read_file(&self.blobs, name) {
                    Ok(batches) => out.extend(batches),
                    Err(FoldError::Vanished) => {
                        vanished = true;
                        break;
                    }
                    Err(FoldError::Failed(e)) => return Err(e),
                }
            }
            if !vanished {
                return Ok((out, listing.position().max(since)));
            }
        }
        Err(self.kept_changing())
    }

    fn kept_changing(&self) -> RuntimeError {
        RuntimeError::Internal(format!(
            "the files of {} kept changing while being read",
            self.blobs.describe("")
        ))
    }

    /// Folds the base and the visible deltas. If compaction deleted what the listing
    /// named, or the base it started from (its deltas may then be gone too), the caller
    /// reads again from a new listing.
    fn fold_listing(
        &self,
        schema: &SchemaRef,
        listing: &Listing,
    ) -> std::result::Result<Folded, FoldError> {
        let mut folded = Folded::new(schema, self.key.as_deref())?;
        let base = listing.base();
        if let Some(base) = base {
            for batch in read_file(&self.blobs, &Self::base_name(base))? {
                let n = batch.num_columns();
                let counts = batch
                    .column(n - 1)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| RuntimeError::Internal("a base file without counts".into()))?
                    .clone();
                folded.add(&batch.columns()[..n - 1], |i| counts.value(i))?;
            }
        }
        for (_, name) in listing.visible() {
            for batch in read_file(&self.blobs, name)? {
                let ops = changelog::ops(&batch).cloned();
                folded.add(changelog::data_columns(&batch), |i| match &ops {
                    None => 1,
                    Some(ops) => match RowKind::from_i8(ops.value(i)) {
                        Some(RowKind::Insert | RowKind::UpdateAfter) => 1,
                        _ => -1,
                    },
                })?;
            }
        }
        if let Some(base) = base {
            if !self.blobs.contains(&Self::base_name(base))? {
                return Err(FoldError::Vanished);
            }
        }
        Ok(folded)
    }

    /// Folds what is complete into a new base once enough deltas wait. Only one subtask
    /// calls it.
    pub fn compact_if_due(&self, schema: &SchemaRef) -> Result<()> {
        let listing = self.list()?;
        if listing.visible().len() < COMPACT_AFTER {
            return Ok(());
        }
        let Some(upto) = listing.latest_complete() else {
            return Ok(());
        };
        let folded = match self.fold_listing(schema, &listing) {
            Ok(f) => f,
            Err(FoldError::Vanished) => return Ok(()),
            Err(FoldError::Failed(e)) => return Err(e),
        };
        write_atomically(
            &self.blobs,
            &Self::base_name(upto),
            &folded.counted(schema)?,
        )?;
        // The new base and the one before it stay; the older ones go first, then what the
        // one before covers (see the module's documentation for why in this order).
        let Some(floor) = listing.base() else {
            return Ok(());
        };
        let older_bases = listing
            .bases
            .iter()
            .filter(|(k, _)| **k < floor)
            .map(|(_, p)| p);
        let covered = listing
            .deltas
            .iter()
            .filter(|((g, e, _), _)| (*g, *e) <= floor)
            .map(|(_, p)| p);
        let old_marks = listing
            .marks
            .range(..floor.0)
            .flat_map(|(_, (_, m))| m.values().map(|(p, _)| p));
        let old_caps = listing.caps.range(..floor.0).map(|(_, (p, _))| p);
        for name in older_bases.chain(covered) {
            let _ = self.blobs.delete(name);
        }
        for name in old_marks.chain(old_caps) {
            let _ = self.blobs.delete(name);
        }
        Ok(())
    }

    /// Whether the view's newest job finished: every subtask committed its last epoch,
    /// so the contents are complete and no job needs to keep them.
    pub fn is_finished(&self) -> Result<bool> {
        let listing = self.list()?;
        let Some(newest) = listing.marks.keys().next_back() else {
            return Ok(false);
        };
        Ok(listing.complete(*newest) == Some(FINAL_CHECKPOINT_ID))
    }

    /// The highest generation that committed anything.
    pub fn newest_generation(&self) -> Result<Option<u32>> {
        Ok(self.list()?.newest_generation())
    }

    /// Deletes what a generation that starts over must not see: every file.
    pub fn clear(&self) -> Result<()> {
        self.blobs.clear()
    }
}

enum FoldError {
    /// A listed file was deleted before it was read.
    Vanished,
    Failed(RuntimeError),
}

impl From<RuntimeError> for FoldError {
    fn from(e: RuntimeError) -> Self {
        FoldError::Failed(e)
    }
}

impl From<datafusion::arrow::error::ArrowError> for FoldError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        FoldError::Failed(e.into())
    }
}

fn read_file(blobs: &Blobs, name: &str) -> std::result::Result<Vec<RecordBatch>, FoldError> {
    let Some(bytes) = blobs.get(name)? else {
        return Err(FoldError::Vanished);
    };
    let reader = FileReader::try_new(Cursor::new(bytes), None)?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn write_atomically(blobs: &Blobs, name: &str, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let mut writer = FileWriter::try_new(Vec::new(), &first.schema())?;
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    blobs.put(name, &writer.into_inner()?)
}
