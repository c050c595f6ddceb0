//! A materialized view's contents on disk: the changes of each completed checkpoint (an
//! *epoch*), committed by every sink subtask, folded into a multiset of rows when read.
//!
//! Files in the view's directory, each written to a temporary name and renamed, so a
//! reader sees a file whole or not at all:
//! - `d-{gen}-{epoch}-{subtask}.arrow`: the changes one subtask committed for one epoch
//!   (Arrow IPC; the view's columns plus `__op` when the query updates). Written only
//!   when there are changes.
//! - `m-{gen}-{subtask}-{parallelism}`: the last epoch the subtask committed. An epoch
//!   of a generation is complete when every subtask's mark has reached it; readers take
//!   only complete epochs, so they see the view as of one checkpoint, never half of one.
//! - `b-{gen}-{epoch}.arrow`: every complete epoch up to and including this one, folded
//!   (the view's columns plus `__count`), written by compaction; deltas it covers are
//!   deleted afterwards.
//!
//! A *generation* is one job keeping the view (a new one each time Eddy restarts the
//! view's job); it restores the previous generation's checkpoint, so the older
//! generations' complete epochs stay part of the contents.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use eddy_runtime::changelog;
use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID;
use eddy_runtime::stream_element::RowKind;
use eddy_runtime::{Result, RuntimeError};

/// The count column of a base file.
const COUNT_COLUMN: &str = "__count";

/// Once this many committed delta files are waiting, subtask 0 folds them into a base.
pub const COMPACT_AFTER: usize = 32;

/// How far a reader has read: the (generation, epoch) of the last complete epoch taken.
pub type Position = Option<(u32, u64)>;

/// Which epoch of which job a subtask commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpochId {
    pub generation: u32,
    pub epoch: u64,
    pub subtask: u32,
    pub parallelism: u32,
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let context = context.into();
    move |source| RuntimeError::Io { context, source }
}

/// What a directory listing found.
#[derive(Debug, Default)]
struct Listing {
    /// The newest base, by (generation, epoch).
    base: Option<(u32, u64)>,
    older_bases: Vec<PathBuf>,
    deltas: BTreeMap<(u32, u64, u32), PathBuf>,
    /// Per generation: its parallelism and each subtask's mark.
    marks: BTreeMap<u32, (u32, Marks)>,
}

/// Each subtask's mark file and the epoch it holds.
type Marks = BTreeMap<u32, (PathBuf, u64)>;

impl Listing {
    /// The last epoch every subtask of `generation` has committed.
    fn complete(&self, generation: u32) -> Option<u64> {
        let (parallelism, marks) = self.marks.get(&generation)?;
        if marks.len() < *parallelism as usize {
            return None;
        }
        marks.values().map(|(_, e)| *e).min()
    }

    /// The deltas a reader takes: after the base, in complete epochs, in order.
    fn visible(&self) -> Vec<((u32, u64, u32), &PathBuf)> {
        self.deltas
            .iter()
            .filter(|((g, e, _), _)| {
                self.base.is_none_or(|b| (*g, *e) > b) && self.complete(*g).is_some_and(|c| *e <= c)
            })
            .map(|(k, p)| (*k, p))
            .collect()
    }

    /// How far a read of this listing goes: the newest complete epoch, or the base.
    fn position(&self) -> Position {
        self.latest_complete().max(self.base)
    }

    /// The newest complete (generation, epoch), if any.
    fn latest_complete(&self) -> Option<(u32, u64)> {
        self.marks
            .keys()
            .rev()
            .find_map(|g| self.complete(*g).map(|e| (*g, e)))
    }
}

/// One materialized view's directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(io(format!("listing {}", self.dir.display()))(e)),
        };
        let mut bases = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(format!("listing {}", self.dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let parts: Vec<&str> = name.trim_end_matches(".arrow").split('-').collect();
            let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
            match (parts.first(), parts.len()) {
                (Some(&"d"), 4) => {
                    if let (Some(g), Some(e), Some(s)) = (num(1), num(2), num(3)) {
                        listing.deltas.insert((g as u32, e, s as u32), entry.path());
                    }
                }
                (Some(&"b"), 3) => {
                    if let (Some(g), Some(e)) = (num(1), num(2)) {
                        bases.push(((g as u32, e), entry.path()));
                    }
                }
                (Some(&"m"), 4) => {
                    if let (Some(g), Some(s), Some(p)) = (num(1), num(2), num(3)) {
                        let epoch = read_mark(&entry.path())?;
                        if let Some(epoch) = epoch {
                            listing
                                .marks
                                .entry(g as u32)
                                .or_insert_with(|| (p as u32, BTreeMap::new()))
                                .1
                                .insert(s as u32, (entry.path(), epoch));
                        }
                    }
                }
                // Temporary files being written, and anything else.
                _ => {}
            }
        }
        bases.sort();
        if let Some((key, _)) = bases.pop() {
            listing.base = Some(key);
        }
        listing.older_bases = bases.into_iter().map(|(_, p)| p).collect();
        Ok(listing)
    }

    fn base_path(&self, (g, e): (u32, u64)) -> PathBuf {
        self.dir.join(format!("b-{g:06}-{e:020}.arrow"))
    }

    /// Commits one subtask's changes for one epoch: the changes first, then the mark, so
    /// that a complete epoch always has all its changes. Committing the same epoch again
    /// (after a restore) rewrites the same file and leaves a later mark alone.
    pub fn commit(&self, id: EpochId, changes: &[RecordBatch]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("creating {}", self.dir.display())))?;
        let rows: usize = changes.iter().map(|b| b.num_rows()).sum();
        if rows > 0 {
            let path = self.dir.join(format!(
                "d-{:06}-{:020}-{:05}.arrow",
                id.generation, id.epoch, id.subtask
            ));
            write_atomically(&path, changes)?;
        }
        let mark = self.dir.join(format!(
            "m-{:06}-{:05}-{:05}",
            id.generation, id.subtask, id.parallelism
        ));
        if read_mark(&mark)?.is_some_and(|e| e >= id.epoch) {
            return Ok(());
        }
        let tmp = mark.with_extension("tmp");
        std::fs::write(&tmp, id.epoch.to_string())
            .and_then(|()| std::fs::rename(&tmp, &mark))
            .map_err(io(format!("writing {}", mark.display())))
    }

    /// The view's rows (each as often as it occurs), as of the newest complete epoch.
    pub fn read(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        let folded = self.fold(schema)?;
        folded.rows(schema)
    }

    /// The view's rows as of the newest complete epoch, and that epoch: where a
    /// subscription's changes start.
    pub fn snapshot(&self, schema: &SchemaRef) -> Result<(Vec<RecordBatch>, Position)> {
        let mut attempts = 0;
        loop {
            let listing = self.list()?;
            match self.fold_listing(schema, &listing) {
                Ok(folded) => return Ok((folded.rows(schema)?, listing.position())),
                Err(FoldError::Vanished) if attempts < 10 => attempts += 1,
                Err(FoldError::Vanished) => return Err(self.kept_changing()),
                Err(FoldError::Failed(e)) => return Err(e),
            }
        }
    }

    /// The changes of the epochs completed after `since`, in commit order (each batch
    /// with its row kinds), and the position they reach. Fails when compaction has
    /// already folded changes the caller has not seen.
    pub fn changes_since(&self, since: Position) -> Result<(Vec<RecordBatch>, Position)> {
        let mut attempts = 0;
        loop {
            let listing = self.list()?;
            if let Some(base) = listing.base.filter(|b| since.is_none_or(|s| *b > s)) {
                return Err(RuntimeError::User(format!(
                    "the view's changes up to its checkpoint {} were compacted before this \
                     subscription read them; subscribe again",
                    base.1
                )));
            }
            let mut out = Vec::new();
            let mut vanished = false;
            for (key, path) in listing.visible() {
                if since.is_some_and(|s| (key.0, key.1) <= s) {
                    continue;
                }
                match read_file(path) {
                    Ok(batches) => out.extend(batches),
                    Err(FoldError::Vanished) => {
                        vanished = true;
                        break;
                    }
                    Err(FoldError::Failed(e)) => return Err(e),
                }
            }
            if !vanished {
                return Ok((out, listing.position().or(since)));
            }
            attempts += 1;
            if attempts >= 10 {
                return Err(self.kept_changing());
            }
        }
    }

    fn kept_changing(&self) -> RuntimeError {
        RuntimeError::Internal(format!(
            "the files of {} kept changing while being read",
            self.dir.display()
        ))
    }

    /// Folds the base and the visible deltas. Compaction may delete files between the
    /// listing and the reads: the fold then starts again from a new listing.
    fn fold(&self, schema: &SchemaRef) -> Result<Folded> {
        let mut attempts = 0;
        loop {
            let listing = self.list()?;
            match self.fold_listing(schema, &listing) {
                Ok(folded) => return Ok(folded),
                Err(FoldError::Vanished) if attempts < 10 => attempts += 1,
                Err(FoldError::Vanished) => return Err(self.kept_changing()),
                Err(FoldError::Failed(e)) => return Err(e),
            }
        }
    }

    fn fold_listing(
        &self,
        schema: &SchemaRef,
        listing: &Listing,
    ) -> std::result::Result<Folded, FoldError> {
        let mut folded = Folded::new(schema)?;
        if let Some(base) = listing.base {
            for batch in read_file(&self.base_path(base))? {
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
        for (_, path) in listing.visible() {
            for batch in read_file(path)? {
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
        Ok(folded)
    }

    /// Folds what is complete into a new base once enough deltas wait, and deletes the
    /// files it covers. Only one subtask calls it.
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
            // Another compaction got there first.
            Err(FoldError::Vanished) => return Ok(()),
            Err(FoldError::Failed(e)) => return Err(e),
        };
        let base = folded.counted(schema)?;
        write_atomically(&self.base_path(upto), &base)?;
        let covered = listing
            .deltas
            .iter()
            .filter(|((g, e, _), _)| (*g, *e) <= upto)
            .map(|(_, p)| p);
        let old_marks = listing
            .marks
            .range(..upto.0)
            .flat_map(|(_, (_, m))| m.values().map(|(p, _)| p));
        let old_base = listing.base.map(|b| self.base_path(b));
        for path in covered
            .chain(old_marks)
            .chain(listing.older_bases.iter())
            .chain(old_base.iter())
        {
            // Already gone is fine: a restore may have recommitted and a reader retries.
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }

    /// Whether the view's newest job finished: every subtask committed its final epoch,
    /// so the contents are complete and no job needs to keep them.
    pub fn is_finished(&self) -> Result<bool> {
        Ok(self.list()?.latest_complete().map(|(_, e)| e) == Some(FINAL_CHECKPOINT_ID))
    }

    /// Deletes what a generation that starts over must not see: every file.
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(format!("deleting {}", self.dir.display()))(e)),
        }
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

fn read_mark(path: &Path) -> Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(format!("reading {}", path.display()))(e)),
    }
}

fn read_file(path: &Path) -> std::result::Result<Vec<RecordBatch>, FoldError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FoldError::Vanished),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e).into()),
    };
    let reader = FileReader::try_new(file, None)?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn write_atomically(path: &Path, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let write = || -> Result<()> {
        let file = File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
        let mut writer = FileWriter::try_new(file, &first.schema())?;
        for b in batches {
            writer.write(b)?;
        }
        writer.finish()?;
        let mut file = writer.into_inner()?;
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(io(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(io(format!("renaming to {}", path.display())))
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Rows with their multiplicity.
struct Folded {
    converter: RowConverter,
    /// Rows in the converter's encoding.
    counts: HashMap<Box<[u8]>, i64>,
}

impl Folded {
    fn new(schema: &SchemaRef) -> Result<Self> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        Ok(Self {
            converter: RowConverter::new(fields)?,
            counts: HashMap::new(),
        })
    }

    fn add(&mut self, columns: &[ArrayRef], delta: impl Fn(usize) -> i64) -> Result<()> {
        let rows = self.converter.convert_columns(columns)?;
        for (i, row) in rows.iter().enumerate() {
            let d = delta(i);
            let bytes: &[u8] = row.as_ref();
            match self.counts.get_mut(bytes) {
                Some(c) => {
                    *c += d;
                    if *c == 0 {
                        self.counts.remove(bytes);
                    }
                }
                None => {
                    self.counts.insert(bytes.into(), d);
                }
            }
        }
        Ok(())
    }

    /// Distinct rows with a positive count, and the counts.
    fn distinct(&self, schema: &SchemaRef) -> Result<(Vec<ArrayRef>, Int64Array)> {
        let live: Vec<(&[u8], i64)> = self
            .counts
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(r, c)| (r.as_ref(), *c))
            .collect();
        let parser = self.converter.parser();
        let columns = self
            .converter
            .convert_rows(live.iter().map(|(r, _)| parser.parse(r)))?;
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c),
                false => Ok(datafusion::arrow::compute::cast(&c, f.data_type())?),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((columns, live.iter().map(|(_, c)| *c).collect()))
    }

    fn rows(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        let (columns, counts) = self.distinct(schema)?;
        let indices: UInt32Array = counts
            .values()
            .iter()
            .enumerate()
            .flat_map(|(i, c)| std::iter::repeat_n(i as u32, *c as usize))
            .collect();
        let columns = columns
            .iter()
            .map(|c| take(c.as_ref(), &indices, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let options = datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(indices.len()));
        Ok(vec![RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &options,
        )?])
    }

    fn counted(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        let (mut columns, counts) = self.distinct(schema)?;
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(COUNT_COLUMN, DataType::Int64, false));
        columns.push(Arc::new(counts));
        let options = datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(columns[0].len()));
        Ok(vec![RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &options,
        )?])
    }
}
