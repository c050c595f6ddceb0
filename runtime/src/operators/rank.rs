//! Top-N and deduplication (Flink's `AppendOnlyTopNFunction`, `RetractableTopNFunction` and
//! deduplicate functions): `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)` kept to a rank
//! range. Each partition's rows live in keyed state as one list sorted by the ORDER BY keys
//! (Arrow's row format with the sort options, so bytes compare as the order does); equal
//! keys keep their arrival order, or the reverse for a keep-last deduplication, whose later
//! row wins a tie as in Flink. Over an insert-only input a row that falls past the range
//! can never come back, so only the range's end is kept; over an updating input every row
//! is kept, so a retracted top row gives way to the next.
//!
//! Per batch, each partition it touches is changed row by row, and what is visible in the
//! rank range before and after is compared. With the rank number in the output, each rank
//! whose row changed emits `-U` (the old row) and `+U` (the new), a new rank `+I` and a
//! vacated one `-D`, as Flink does. Without it, a row that leaves the range emits `-D` and
//! one that enters it `+I` (`-U` / `+U` for a deduplication's single row).
//!
//! Partitions stay decoded between batches in a cache in front of keyed state
//! (`state_cache.rs`, Flink's `table.exec.rank.topn-cache-size` rows), written back at
//! each snapshot and when the cache fills.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int8Array, UInt64Array};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, Rows, SortField};

use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::RankSpec;
use crate::operators::mini_batch::{MiniBatch, MiniBatched};
use crate::operators::state_cache::{StateCache, StateCodec};
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state a partition's sorted rows are kept under.
const PARTITION_ROWS: &str = "rank-sorted-rows";

/// One row of a partition: its sort key, its arrival number and the row itself.
#[derive(Clone)]
struct Entry {
    sort: Vec<u8>,
    seq: u64,
    row: Vec<u8>,
}

/// A partition's rows in rank order, and the next arrival number.
struct Partition {
    entries: Vec<Entry>,
    next_seq: u64,
}

impl Partition {
    fn decode(value: &[u8]) -> Result<Self> {
        let damaged = || RuntimeError::Internal("a Top-N partition's state is truncated".into());
        let mut rest = value;
        let mut take = |n: usize| -> Result<&[u8]> {
            let (head, tail) = rest.split_at_checked(n).ok_or_else(damaged)?;
            rest = tail;
            Ok(head)
        };
        let u64_of = |b: &[u8]| -> Result<u64> {
            Ok(u64::from_be_bytes(b.try_into().map_err(|_| damaged())?))
        };
        let u32_of = |b: &[u8]| -> Result<usize> {
            Ok(u32::from_be_bytes(b.try_into().map_err(|_| damaged())?) as usize)
        };
        let next_seq = u64_of(take(8)?)?;
        let count = u32_of(take(4)?)?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let len = u32_of(take(4)?)?;
            let sort = take(len)?.to_vec();
            let seq = u64_of(take(8)?)?;
            let len = u32_of(take(4)?)?;
            let row = take(len)?.to_vec();
            entries.push(Entry { sort, seq, row });
        }
        Ok(Self { entries, next_seq })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = self.next_seq.to_be_bytes().to_vec();
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for e in &self.entries {
            out.extend_from_slice(&(e.sort.len() as u32).to_be_bytes());
            out.extend_from_slice(&e.sort);
            out.extend_from_slice(&e.seq.to_be_bytes());
            out.extend_from_slice(&(e.row.len() as u32).to_be_bytes());
            out.extend_from_slice(&e.row);
        }
        out
    }
}

/// A row to emit: the row, its rank, its kind.
struct Change {
    row: ChangeRow,
    rank: u64,
    kind: RowKind,
}

/// Where a row to emit is: kept in a partition, or row `i` of the batch at hand (a
/// deduplication's new row goes out without a copy).
enum ChangeRow {
    Kept(Vec<u8>),
    Input(usize),
}

/// Flink's Top-N / deduplication over a stream.
pub struct RankOperator {
    spec: RankSpec,
    /// Input rows in Arrow's row format, to store and to rebuild.
    rows: RowConverter,
    /// ORDER BY keys with their directions: bytes compare in rank order. None orders by
    /// arrival alone (a deduplication by processing time).
    sort: Option<RowConverter>,
    /// PARTITION BY keys: a partition's address.
    partition: RowConverter,
    emitted_schema: SchemaRef,
    updating: bool,
    backend: Box<dyn KeyedStateBackend>,
    /// Partitions kept decoded between batches (`table.exec.rank.topn-cache-size`).
    cache: StateCache<Partition>,
    max_parallelism: u32,
    mini_batch: Option<MiniBatch>,
}

/// Partitions are cached decoded in front of keyed state.
struct PartitionCodec;

impl StateCodec for PartitionCodec {
    type Value = Partition;

    fn restore(&self, stored: &[Option<Vec<u8>>]) -> Result<Vec<Partition>> {
        stored
            .iter()
            .map(|v| match v {
                Some(bytes) => Partition::decode(bytes),
                None => self.fresh(),
            })
            .collect()
    }

    fn encode(&self, values: &mut [Partition]) -> Result<Vec<Vec<u8>>> {
        Ok(values.iter().map(Partition::encode).collect())
    }

    fn is_empty(&self, value: &Partition) -> bool {
        value.entries.is_empty()
    }

    fn fresh(&self) -> Result<Partition> {
        Ok(Partition {
            entries: Vec::new(),
            next_seq: 0,
        })
    }

    fn weight(&self, value: &Partition) -> usize {
        value.entries.len().max(1)
    }
}

impl RankOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &RankSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let input = spec.input_schema.decode()?;
        let output = spec.output_schema.decode()?;
        let data_type = |i: usize| -> Result<datafusion::arrow::datatypes::DataType> {
            let f = input.fields().get(i).ok_or_else(|| {
                RuntimeError::Internal(format!("a Top-N column {i} beyond the input"))
            })?;
            Ok(f.data_type().clone())
        };
        let field = |i: usize| -> Result<SortField> { Ok(SortField::new(data_type(i)?)) };
        let sort = spec
            .order_by
            .iter()
            .map(|o| {
                let options = SortOptions {
                    descending: o.descending,
                    nulls_first: o.nulls_first,
                };
                Ok(SortField::new_with_options(data_type(o.column)?, options))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rows: RowConverter::new(
                (0..input.fields().len())
                    .map(field)
                    .collect::<Result<_>>()?,
            )?,
            sort: match sort.is_empty() {
                true => None,
                false => Some(RowConverter::new(sort)?),
            },
            partition: RowConverter::new(
                spec.partition_keys
                    .iter()
                    .map(|&i| field(i))
                    .collect::<Result<_>>()?,
            )?,
            emitted_schema: match spec.updating {
                true => with_op_field(&output),
                false => output,
            },
            updating: spec.updating,
            spec: spec.clone(),
            backend: ctx.keyed_state_backend_with_ttl()?,
            cache: StateCache::new(PARTITION_ROWS, {
                let ttl = ctx.config.get_duration(&crate::config::table::STATE_TTL);
                let size = ctx
                    .config
                    .get_int(&crate::config::flink_table::RANK_TOPN_CACHE_SIZE);
                match ttl.is_zero() {
                    true => usize::try_from(size).unwrap_or(0),
                    false => 0,
                }
            }),
            max_parallelism: ctx.max_parallelism,
            mini_batch: MiniBatch::from_config(ctx.config)?,
        })
    }

    /// The rows in the rank range, with their ranks.
    fn visible(&self, partition: &Partition) -> Vec<(u64, Entry)> {
        // Only the range is walked: a partition over an updating input keeps every row.
        let start = self.spec.rank_start.max(1);
        let len = self.spec.rank_end.saturating_sub(start).saturating_add(1);
        partition
            .entries
            .iter()
            .enumerate()
            .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
            .take(usize::try_from(len).unwrap_or(usize::MAX))
            .map(|(i, e)| (i as u64 + 1, e.clone()))
            .collect()
    }

    /// Adds a row in rank order: after equal sort keys, or before them when the latest row
    /// wins ties.
    fn insert(&self, partition: &mut Partition, sort: &[u8], row: &[u8]) {
        let seq = partition.next_seq;
        partition.next_seq += 1;
        let at = partition
            .entries
            .partition_point(|e| match self.spec.ties_latest_first {
                true => e.sort.as_slice() < sort,
                false => e.sort.as_slice() <= sort,
            });
        partition.entries.insert(
            at,
            Entry {
                sort: sort.to_vec(),
                seq,
                row: row.to_vec(),
            },
        );
        // Over an insert-only input nothing past the range's end can come back.
        if !self.spec.retracting {
            partition.entries.truncate(self.spec.rank_end as usize);
        }
    }

    /// A deduplication over an insert-only input, row `row` of `rows` at a time: the row
    /// takes the partition's place when `insert` would put it first, and its change goes
    /// out as `diff` would send it, without copying the rows kept before and after.
    fn replace_first(
        &self,
        partition: &mut Partition,
        sort: &[u8],
        row: usize,
        rows: &Rows,
        changes: &mut Vec<Change>,
    ) {
        let seq = partition.next_seq;
        partition.next_seq += 1;
        let wins = partition
            .entries
            .first()
            .is_none_or(|kept| match self.spec.ties_latest_first {
                true => sort <= kept.sort.as_slice(),
                false => sort < kept.sort.as_slice(),
            });
        if !wins {
            return;
        }
        let data = rows.row(row).data();
        let entry = Entry {
            sort: sort.to_vec(),
            seq,
            row: data.to_vec(),
        };
        let Some(kept) = partition.entries.first_mut() else {
            partition.entries.push(entry);
            changes.push(Change {
                row: ChangeRow::Input(row),
                rank: 1,
                kind: RowKind::Insert,
            });
            return;
        };
        let old = std::mem::replace(kept, entry);
        if old.row != data {
            if self.spec.update_before {
                changes.push(Change {
                    row: ChangeRow::Kept(old.row),
                    rank: 1,
                    kind: RowKind::UpdateBefore,
                });
            }
            changes.push(Change {
                row: ChangeRow::Input(row),
                rank: 1,
                kind: RowKind::UpdateAfter,
            });
        }
    }

    /// Takes out one row equal to `row` (the latest such), if there is one.
    fn retract(&self, partition: &mut Partition, sort: &[u8], row: &[u8]) {
        if let Some(at) = partition
            .entries
            .iter()
            .rposition(|e| e.sort == sort && e.row == row)
        {
            partition.entries.remove(at);
        }
    }

    /// What changed in the rank range between `before` and `after`.
    fn diff(&self, before: Vec<(u64, Entry)>, after: Vec<(u64, Entry)>, out: &mut Vec<Change>) {
        if self.spec.output_rank {
            let mut old: HashMap<u64, Entry> = before.into_iter().collect();
            for (rank, new) in after {
                match old.remove(&rank) {
                    Some(o) if o.row == new.row => {}
                    Some(o) => {
                        if self.spec.update_before {
                            out.push(Change {
                                row: ChangeRow::Kept(o.row),
                                rank,
                                kind: RowKind::UpdateBefore,
                            });
                        }
                        out.push(Change {
                            row: ChangeRow::Kept(new.row),
                            rank,
                            kind: RowKind::UpdateAfter,
                        });
                    }
                    None => out.push(Change {
                        row: ChangeRow::Kept(new.row),
                        rank,
                        kind: RowKind::Insert,
                    }),
                }
            }
            let mut vacated: Vec<(u64, Entry)> = old.into_iter().collect();
            vacated.sort_by_key(|(rank, _)| *rank);
            for (rank, o) in vacated {
                out.push(Change {
                    row: ChangeRow::Kept(o.row),
                    rank,
                    kind: RowKind::Delete,
                });
            }
            return;
        }
        let entered: Vec<(u64, Entry)> = after
            .iter()
            .filter(|(_, a)| !before.iter().any(|(_, b)| b.seq == a.seq))
            .cloned()
            .collect();
        let left: Vec<(u64, Entry)> = before
            .into_iter()
            .filter(|(_, b)| !after.iter().any(|(_, a)| a.seq == b.seq))
            .collect();
        // A deduplication replaces its one row: an update, as Flink's emits it.
        if self.spec.rank_end == 1 && entered.len() == 1 && left.len() == 1 {
            let (old, new) = (&left[0].1, &entered[0].1);
            if old.row != new.row {
                if self.spec.update_before {
                    out.push(Change {
                        row: ChangeRow::Kept(old.row.clone()),
                        rank: 1,
                        kind: RowKind::UpdateBefore,
                    });
                }
                out.push(Change {
                    row: ChangeRow::Kept(new.row.clone()),
                    rank: 1,
                    kind: RowKind::UpdateAfter,
                });
            }
            return;
        }
        // The row pushed out goes first, as Flink's Top-N without row number emits it.
        for (rank, e) in left {
            out.push(Change {
                row: ChangeRow::Kept(e.row),
                rank,
                kind: RowKind::Delete,
            });
        }
        for (rank, e) in entered {
            out.push(Change {
                row: ChangeRow::Kept(e.row),
                rank,
                kind: RowKind::Insert,
            });
        }
    }

    /// The changes as a batch of the output's rows; `input` is the batch at hand in
    /// Arrow's row format.
    fn emit(&self, changes: Vec<Change>, input: &Rows) -> Result<RecordBatch> {
        let parser = self.rows.parser();
        let mut columns = self
            .rows
            .convert_rows(changes.iter().map(|c| match &c.row {
                ChangeRow::Kept(row) => parser.parse(row),
                ChangeRow::Input(i) => input.row(*i),
            }))?;
        columns.push(Arc::new(UInt64Array::from_iter_values(
            changes.iter().map(|c| c.rank),
        )));
        if self.updating {
            columns.push(Arc::new(Int8Array::from_iter_values(
                changes.iter().map(|c| c.kind.to_i8()),
            )));
        }
        // The rank column takes the output's type (ROW_NUMBER is unsigned in DataFusion).
        let columns = columns
            .into_iter()
            .zip(self.emitted_schema.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c),
                false => Ok(datafusion::arrow::compute::cast(&c, f.data_type())?),
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(RecordBatch::try_new(self.emitted_schema.clone(), columns)?)
    }

    /// Processes a batch (a whole mini-batch, with mini-batches on).
    fn process_whole(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let data = data_columns(&batch);
        let kinds = ops(&batch);
        let partition_columns: Vec<ArrayRef> = self
            .spec
            .partition_keys
            .iter()
            .map(|&i| data[i].clone())
            .collect();
        let groups = match partition_columns.is_empty() {
            true => vec![0; batch.num_rows()],
            false => key_groups(&partition_columns, self.max_parallelism)?,
        };
        let partition_rows = self.partition.convert_columns(&partition_columns)?;
        let sort_columns: Vec<ArrayRef> = self
            .spec
            .order_by
            .iter()
            .map(|o| data[o.column].clone())
            .collect();
        let sort_rows = self
            .sort
            .as_ref()
            .map(|s| s.convert_columns(&sort_columns))
            .transpose()?;
        let rows = self.rows.convert_columns(data)?;
        // Rows by partition, in arrival order; partitions in order of first arrival.
        let mut order: Vec<&[u8]> = Vec::new();
        let mut by_partition: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for row in 0..batch.num_rows() {
            let key = match partition_columns.is_empty() {
                true => &[][..],
                false => partition_rows.row(row).data(),
            };
            by_partition
                .entry(key)
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(row);
        }
        let mut changes = Vec::new();
        let addresses: Vec<StateKey> = order
            .iter()
            .map(|key| StateKey {
                key_group: groups[by_partition[key][0]],
                namespace: Vec::new(),
                key: key.to_vec(),
            })
            .collect();
        let mut partitions = self
            .cache
            .take(&addresses, self.backend.as_ref(), &PartitionCodec)?;
        for (key, partition) in order.iter().zip(partitions.iter_mut()) {
            let indices = &by_partition[key];
            // A top 1 (a deduplication: the versions of a versioned view) sends every
            // row's change, as Flink does without mini-batches; a larger Top-N, and any
            // Rank with mini-batches on, one change per partition and batch.
            let per_row = self.mini_batch.is_none() && self.spec.rank_end == 1;
            if per_row && !self.spec.retracting && self.spec.rank_start <= 1 {
                for &row in indices {
                    let sort = sort_rows.as_ref().map_or(&[][..], |r| r.row(row).data());
                    self.replace_first(partition, sort, row, &rows, &mut changes);
                }
                continue;
            }
            let mut before = self.visible(partition);
            for &row in indices {
                let adds = match kinds {
                    None => true,
                    Some(k) => match RowKind::from_i8(k.value(row)) {
                        Some(RowKind::Insert | RowKind::UpdateAfter) => true,
                        Some(RowKind::UpdateBefore | RowKind::Delete) => false,
                        None => {
                            return Err(RuntimeError::Internal(format!(
                                "a row kind of {}",
                                k.value(row)
                            )))
                        }
                    },
                };
                let sort = sort_rows.as_ref().map_or(&[][..], |r| r.row(row).data());
                let data = rows.row(row);
                match adds {
                    true => self.insert(partition, sort, data.data()),
                    false => self.retract(partition, sort, data.data()),
                }
                if per_row {
                    let after = self.visible(partition);
                    self.diff(
                        std::mem::replace(&mut before, after.clone()),
                        after,
                        &mut changes,
                    );
                }
            }
            if !per_row {
                let after = self.visible(partition);
                self.diff(before, after, &mut changes);
            }
        }
        self.cache.put_back(
            addresses,
            partitions,
            self.backend.as_mut(),
            &PartitionCodec,
        )?;
        if !changes.is_empty() {
            out.collect(self.emit(changes, &rows)?);
        }
        Ok(())
    }
}

impl MiniBatched for RankOperator {
    fn mini_batch(&mut self) -> &mut Option<MiniBatch> {
        &mut self.mini_batch
    }

    fn process_now(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_whole(batch, out)
    }
}

impl StreamOperator for RankOperator {
    fn name(&self) -> String {
        format!("Rank({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.gather(batch, out)
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Collector) -> Result<()> {
        self.tick(now, out)
    }

    fn prepare_snapshot_pre_barrier(&mut self, out: &mut Collector) -> Result<()> {
        self.flush(out)
    }

    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        self.flush(out)
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.flush(out)?;
        out.emit_watermark(watermark);
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        self.cache.flush(self.backend.as_mut(), &PartitionCodec)?;
        keyed_snapshot(self.backend.as_mut(), barrier)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        restore_into(
            &restored,
            self.backend.as_mut(),
            &[PARTITION_ROWS],
            &format!("the Top-N {}", self.spec.description),
            &mut |_, _| Ok(()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::{RankOrder, SerializedSchema};
    use crate::operators::testing::{build, changes, feed, int_schema, ints, snapshot, with_kinds};

    fn spec(end: u64, output_rank: bool, retracting: bool, ties_latest_first: bool) -> RankSpec {
        RankSpec {
            input_schema: SerializedSchema::encode(&int_schema(&["k", "v"])).unwrap(),
            output_schema: SerializedSchema::encode(&int_schema(&["k", "v", "rn"])).unwrap(),
            partition_keys: vec![0],
            order_by: vec![RankOrder {
                column: 1,
                descending: true,
                nulls_first: false,
            }],
            rank_start: 1,
            rank_end: end,
            output_rank,
            retracting,
            updating: true,
            ties_latest_first,
            description: "test".into(),
            update_before: true,
            first_row_on_watermark: None,
        }
    }

    fn operator(spec: &RankSpec, backend: &str) -> RankOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        build(1, 0, &config, |ctx| RankOperator::try_new(spec, ctx))
    }

    fn rows(pairs: &[(i64, i64)]) -> RecordBatch {
        let k: Vec<Option<i64>> = pairs.iter().map(|p| Some(p.0)).collect();
        let v: Vec<Option<i64>> = pairs.iter().map(|p| Some(p.1)).collect();
        ints(&["k", "v"], &[&k, &v])
    }

    fn step(op: &mut RankOperator, pairs: &[(i64, i64)]) -> Vec<String> {
        changes(&feed(op, 0, rows(pairs)))
    }

    #[test]
    fn a_top_2_with_rank_numbers_updates_each_rank_whose_row_changed() {
        for backend in ["hashmap", "rocksdb"] {
            let mut op = operator(&spec(2, true, false, false), backend);
            assert_eq!(step(&mut op, &[(1, 10)]), ["+I[1, 10, 1]"]);
            // Flink's AppendOnlyTopNFunction: the new row takes rank 1, the old moves down.
            assert_eq!(
                step(&mut op, &[(1, 30)]),
                ["-U[1, 10, 1]", "+U[1, 30, 1]", "+I[1, 10, 2]"]
            );
            assert_eq!(
                step(&mut op, &[(1, 50)]),
                [
                    "-U[1, 30, 1]",
                    "+U[1, 50, 1]",
                    "-U[1, 10, 2]",
                    "+U[1, 30, 2]"
                ],
                "{backend}"
            );
            // Below the range: nothing.
            assert!(step(&mut op, &[(1, 5)]).is_empty());
            // Another partition has its own ranks.
            assert_eq!(step(&mut op, &[(2, 1)]), ["+I[2, 1, 1]"]);
        }
    }

    #[test]
    fn without_update_before_a_rank_sends_only_its_new_rows() {
        let mut top2 = spec(2, true, false, false);
        top2.update_before = false;
        let mut op = operator(&top2, "hashmap");
        step(&mut op, &[(1, 10)]);
        assert_eq!(step(&mut op, &[(1, 30)]), ["+U[1, 30, 1]", "+I[1, 10, 2]"]);
        // A deduplication's replaced row, too.
        let mut dedup = spec(1, false, false, false);
        dedup.update_before = false;
        let mut op = operator(&dedup, "hashmap");
        step(&mut op, &[(1, 10)]);
        assert_eq!(step(&mut op, &[(1, 30)]), ["+U[1, 30, 1]"]);
    }

    #[test]
    fn without_rank_numbers_a_row_enters_and_one_leaves() {
        let mut op = operator(&spec(2, false, false, false), "hashmap");
        step(&mut op, &[(1, 10), (1, 30)]);
        assert_eq!(step(&mut op, &[(1, 50)]), ["-D[1, 10, 2]", "+I[1, 50, 1]"]);
        assert!(step(&mut op, &[(1, 20)]).is_empty());
    }

    #[test]
    fn over_an_updating_input_a_retracted_top_row_gives_way_to_the_next() {
        let mut op = operator(&spec(1, true, true, false), "hashmap");
        // A top 1 sends each row's change, as Flink's RetractableTopNFunction does.
        let batch = with_kinds(rows(&[(1, 10), (1, 30), (1, 20)]), &["+I", "+I", "+I"]);
        assert_eq!(
            changes(&feed(&mut op, 0, batch)),
            ["+I[1, 10, 1]", "-U[1, 10, 1]", "+U[1, 30, 1]"]
        );
        let batch = with_kinds(rows(&[(1, 30)]), &["-D"]);
        assert_eq!(
            changes(&feed(&mut op, 0, batch)),
            ["-U[1, 30, 1]", "+U[1, 20, 1]"],
            "rows past the range are kept over an updating input"
        );
        let batch = with_kinds(rows(&[(1, 20), (1, 10)]), &["-U", "-D"]);
        assert_eq!(
            changes(&feed(&mut op, 0, batch)),
            ["-U[1, 20, 1]", "+U[1, 10, 1]", "-D[1, 10, 1]"]
        );
    }

    #[test]
    fn a_keep_last_deduplication_lets_the_later_of_equal_rows_win() {
        let mut last = operator(&spec(1, false, false, true), "hashmap");
        let mut first = operator(&spec(1, false, false, false), "hashmap");
        let tied = ints(&["k", "v"], &[&[Some(1), Some(1)], &[Some(7), Some(7)]]);
        assert_eq!(changes(&feed(&mut last, 0, tied.clone())), ["+I[1, 7, 1]"]);
        assert_eq!(changes(&feed(&mut first, 0, tied)), ["+I[1, 7, 1]"]);
        // Equal rows: the newer one replaces the kept one only for keep-last, and an
        // unchanged row emits nothing either way.
        assert!(step(&mut last, &[(1, 7)]).is_empty());
        assert!(step(&mut first, &[(1, 7)]).is_empty());
        assert_eq!(step(&mut last, &[(1, 8)]), ["-U[1, 7, 1]", "+U[1, 8, 1]"]);
    }

    #[test]
    fn a_small_cache_changes_nothing_but_what_stays_in_memory() {
        // Top 2 per partition over 12 partitions in 5 batches, a snapshot after the third.
        let spec = spec(2, true, false, false);
        let batches: Vec<Vec<(i64, i64)>> = (0..5)
            .map(|b| {
                (0..30)
                    .map(|i| ((i * 5 + b) % 12, (i * 7 + b * 3) % 50))
                    .collect()
            })
            .collect();
        let run = |size: &str, backend: &str| {
            let make = || {
                let mut config = Configuration::new();
                config.set("state.backend.type", backend).unwrap();
                config.set("table.exec.rank.topn-cache-size", size).unwrap();
                build(1, 0, &config, |ctx| RankOperator::try_new(&spec, ctx))
            };
            let mut op = make();
            let mut out = Vec::new();
            for b in &batches[..3] {
                out.extend(step(&mut op, b));
            }
            let restored = snapshot(&mut op, 1);
            let mut op = make();
            op.initialize_state(restored).unwrap();
            for b in &batches[3..] {
                out.extend(step(&mut op, b));
            }
            out
        };
        let expected = run("0", "hashmap");
        // Each partition's last top 2 are its two greatest values.
        for k in 0..12 {
            let mut values: Vec<i64> = batches
                .iter()
                .flatten()
                .filter(|p| p.0 == k)
                .map(|p| p.1)
                .collect();
            values.sort_unstable_by(|a, b| b.cmp(a));
            for (rank, v) in values.iter().take(2).enumerate() {
                let last = expected.iter().rev().find(|c| {
                    c.starts_with(&format!("+U[{k},")) && c.ends_with(&format!(", {}]", rank + 1))
                        || c.starts_with(&format!("+I[{k},"))
                            && c.ends_with(&format!(", {}]", rank + 1))
                });
                assert_eq!(
                    last.map(|c| c[2..].to_string()),
                    Some(format!("[{k}, {v}, {}]", rank + 1))
                );
            }
        }
        for (size, backend) in [("1", "hashmap"), ("3", "rocksdb"), ("10000", "rocksdb")] {
            assert_eq!(run(size, backend), expected, "cache {size}, {backend}");
        }
    }

    #[test]
    fn state_survives_a_snapshot() {
        let spec = spec(2, true, false, false);
        let mut op = operator(&spec, "hashmap");
        step(&mut op, &[(1, 10), (1, 30)]);
        let restored = snapshot(&mut op, 1);
        let mut op = operator(&spec, "rocksdb");
        op.initialize_state(restored).unwrap();
        assert_eq!(step(&mut op, &[(1, 20)]), ["-U[1, 10, 2]", "+U[1, 20, 2]"]);
    }
}
