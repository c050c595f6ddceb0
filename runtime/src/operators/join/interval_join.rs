//! Interval join over event time (Flink's `TimeIntervalJoin`): a join of two insert-only
//! streams on keys and `r.ts + lower <= l.ts <= r.ts + upper`. Each side keeps its rows in
//! keyed state under the join key, addressed by their time, for as long as a row of the
//! other side could still match them: a left row at `t` until the watermark reaches
//! `t - lower`, a right row until it reaches `t + upper`. Then it is removed and, on an
//! outer side, emitted padded with nulls if it never matched. A row that arrives after its
//! own expiry still joins with the rows kept, and is padded at once when it finds none, as
//! in Flink. The output is insert-only: nothing emitted is ever retracted. Watermarks go on
//! held back by the larger bound, so that what is emitted is not late downstream.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::physical_expr::PhysicalExpr;

use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::{IntervalJoinSpec, WindowJoinType};
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::for_each_restored;
use crate::state::snapshot::keyed_snapshot;
use crate::state::timed_key::{seq_of, time_of, timed_key};
use crate::state::{KeyedStateBackend, StateKey};
use crate::time::{cast_millis, Watermark};

/// The states each side's rows are kept under.
const SIDE_STATES: [&str; 2] = ["interval-join-left-rows", "interval-join-right-rows"];

struct Side {
    keys: Vec<usize>,
    time: usize,
    schema: SchemaRef,
    rows: RowConverter,
}

/// A kept row: its time, whether it has matched, and the row.
struct Kept {
    address: StateKey,
    time: i64,
    matched: bool,
    row: Vec<u8>,
}

/// Flink's event-time interval join.
pub struct IntervalJoinOperator {
    sides: [Side; 2],
    keys: RowConverter,
    joined_schema: SchemaRef,
    output_schema: SchemaRef,
    filter: Option<Arc<dyn PhysicalExpr>>,
    outer: [bool; 2],
    lower: i64,
    upper: i64,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    watermark: i64,
    seq: u64,
    /// When kept rows expire: time → (side, key group, join key). Derived from state, and
    /// rebuilt from it on restore.
    expiry: BTreeMap<i64, BTreeSet<(usize, u32, Vec<u8>)>>,
    description: String,
}

impl IntervalJoinOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &IntervalJoinSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let (left, right) = (spec.left_schema.decode()?, spec.right_schema.decode()?);
        let (joined_schema, filter) = super::joined_rows(&left, &right, spec.filter.as_ref(), ctx)?;
        let converter = |schema: &SchemaRef| {
            RowConverter::new(
                schema
                    .fields()
                    .iter()
                    .map(|f| SortField::new(f.data_type().clone()))
                    .collect(),
            )
        };
        let outer = match spec.join_type {
            WindowJoinType::LeftOuter => [true, false],
            WindowJoinType::RightOuter => [false, true],
            WindowJoinType::FullOuter => [true, true],
            _ => [false, false],
        };
        Ok(Self {
            keys: RowConverter::new(
                spec.left_keys
                    .iter()
                    .map(|&i| SortField::new(left.field(i).data_type().clone()))
                    .collect(),
            )?,
            sides: [
                Side {
                    keys: spec.left_keys.clone(),
                    time: spec.left_time,
                    rows: converter(&left)?,
                    schema: left,
                },
                Side {
                    keys: spec.right_keys.clone(),
                    time: spec.right_time,
                    rows: converter(&right)?,
                    schema: right,
                },
            ],
            joined_schema,
            output_schema: spec.output_schema.decode()?,
            filter,
            outer,
            lower: spec.lower,
            upper: spec.upper,
            backend: ctx.keyed_state_backend()?,
            max_parallelism: ctx.max_parallelism,
            watermark: i64::MIN,
            seq: 0,
            expiry: BTreeMap::new(),
            description: spec.description.clone(),
        })
    }

    /// When a row of `side` at `time` can match no future row of the other side.
    fn expires(&self, side: usize, time: i64) -> i64 {
        match side {
            0 => time.saturating_sub(self.lower),
            _ => time.saturating_add(self.upper),
        }
    }

    /// The other side's times a row of `side` at `time` matches.
    fn matching_times(&self, side: usize, time: i64) -> (i64, i64) {
        match side {
            0 => (
                time.saturating_sub(self.upper),
                time.saturating_sub(self.lower),
            ),
            _ => (
                time.saturating_add(self.lower),
                time.saturating_add(self.upper),
            ),
        }
    }

    /// Rows `rows` of side `side` (a batch of that side's schema) each joined with
    /// `others`, where `pairs` says which; returns the joined rows that pass the condition
    /// and, per pair, whether it did.
    fn join_pairs(
        &self,
        side: usize,
        rows: &RecordBatch,
        others: &RecordBatch,
        pairs: &[(u32, u32)],
    ) -> Result<(RecordBatch, Vec<bool>)> {
        let mine = UInt32Array::from_iter_values(pairs.iter().map(|p| p.0));
        let theirs = UInt32Array::from_iter_values(pairs.iter().map(|p| p.1));
        let pick = |batch: &RecordBatch, indices: &UInt32Array| -> Result<Vec<ArrayRef>> {
            batch
                .columns()
                .iter()
                .map(|c| Ok(take(c.as_ref(), indices, None)?))
                .collect()
        };
        let (mut columns, right) = match side {
            0 => (pick(rows, &mine)?, pick(others, &theirs)?),
            _ => (pick(others, &theirs)?, pick(rows, &mine)?),
        };
        columns.extend(right);
        let joined = RecordBatch::try_new(self.joined_schema.clone(), columns)?;
        let passed = match &self.filter {
            None => vec![true; pairs.len()],
            Some(f) => {
                let mask = f.evaluate(&joined)?.into_array(joined.num_rows())?;
                let mask = mask.as_boolean_opt().ok_or_else(|| {
                    RuntimeError::Internal("the join condition is not boolean".into())
                })?;
                (0..pairs.len())
                    .map(|i| mask.is_valid(i) && mask.value(i))
                    .collect()
            }
        };
        let mask = datafusion::arrow::array::BooleanArray::from(passed.clone());
        Ok((
            datafusion::arrow::compute::filter_record_batch(&joined, &mask)?,
            passed,
        ))
    }

    /// Rows of side `side` padded with nulls for the other side.
    fn padded(&self, side: usize, rows: &RecordBatch) -> Result<RecordBatch> {
        let other = &self.sides[1 - side].schema;
        let nulls: Vec<ArrayRef> = other
            .fields()
            .iter()
            .map(|f| datafusion::arrow::array::new_null_array(f.data_type(), rows.num_rows()))
            .collect();
        let columns: Vec<ArrayRef> = match side {
            0 => rows.columns().iter().cloned().chain(nulls).collect(),
            _ => nulls
                .into_iter()
                .chain(rows.columns().iter().cloned())
                .collect(),
        };
        Ok(RecordBatch::try_new(self.joined_schema.clone(), columns)?)
    }

    /// The rows of `side` kept under `key`.
    fn kept(&self, side: usize, key_group: u32, key: &[u8]) -> Result<Vec<Kept>> {
        self.backend
            .get_namespace_in(SIDE_STATES[side], key_group, key)?
            .into_iter()
            .map(|(address, value)| {
                let (flag, row) = value.split_first().ok_or_else(|| {
                    RuntimeError::Internal("an interval join row is empty".into())
                })?;
                Ok(Kept {
                    time: time_of(&address.key)?,
                    address,
                    matched: *flag == 1,
                    row: row.to_vec(),
                })
            })
            .collect()
    }

    fn decode_rows(&self, side: usize, rows: &[&[u8]]) -> Result<RecordBatch> {
        super::decode_rows(&self.sides[side].rows, &self.sides[side].schema, rows)
    }

    fn store(
        &mut self,
        side: usize,
        key_group: u32,
        key: &[u8],
        time: i64,
        matched: bool,
        row: &[u8],
    ) -> Result<()> {
        self.seq += 1;
        let mut value = vec![u8::from(matched)];
        value.extend_from_slice(row);
        let address = StateKey {
            key_group,
            namespace: key.to_vec(),
            key: timed_key(time, self.seq),
        };
        self.backend.put(SIDE_STATES[side], address, value)?;
        self.expiry
            .entry(self.expires(side, time))
            .or_default()
            .insert((side, key_group, key.to_vec()));
        Ok(())
    }

    fn emit(&self, joined: Vec<RecordBatch>, out: &mut Collector) -> Result<()> {
        if joined.is_empty() {
            return Ok(());
        }
        let all = concat_batches(&self.joined_schema, &joined)?;
        out.collect(RecordBatch::try_new(
            self.output_schema.clone(),
            all.columns().to_vec(),
        )?);
        Ok(())
    }
}

impl StreamOperator for IntervalJoinOperator {
    fn name(&self) -> String {
        format!("IntervalJoin({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        self.process_batch_from(0, batch, out)
    }

    fn process_batch_from(
        &mut self,
        input: usize,
        batch: RecordBatch,
        out: &mut Collector,
    ) -> Result<()> {
        let side = input.min(1);
        let other = 1 - side;
        let key_columns: Vec<ArrayRef> = self.sides[side]
            .keys
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let keys = super::BatchKeys::new(
            &key_columns,
            &self.keys,
            self.max_parallelism,
            batch.num_rows(),
        )?;
        let groups = &keys.groups;
        let times = cast_millis(batch.column(self.sides[side].time))?;
        let rows = self.sides[side].rows.convert_columns(batch.columns())?;
        // Rows by key in arrival order, keys in order of first arrival. A NULL key or time
        // matches nothing.
        let mut order: Vec<&[u8]> = Vec::new();
        let mut by_key: HashMap<&[u8], Vec<u32>> = HashMap::new();
        let mut unmatched = Vec::new();
        for row in 0..batch.num_rows() {
            if times.is_null(row) || key_columns.iter().any(|k| k.is_null(row)) {
                unmatched.push(row as u32);
                continue;
            }
            let key = keys.key(row);
            by_key
                .entry(key)
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(row as u32);
        }
        let mut joined = Vec::new();
        for key in order {
            let indices = &by_key[key];
            let group = groups[indices[0] as usize];
            let mut others = self.kept(other, group, key)?;
            // Candidate pairs by time; the condition decides.
            let mut pairs = Vec::new();
            for (i, &row) in indices.iter().enumerate() {
                let (from, to) = self.matching_times(side, times.value(row as usize));
                for (j, o) in others.iter().enumerate() {
                    if o.time >= from && o.time <= to {
                        pairs.push((i as u32, j as u32));
                    }
                }
            }
            let mut matched = vec![false; indices.len()];
            if !pairs.is_empty() {
                let mine = datafusion::arrow::compute::take_record_batch(
                    &batch,
                    &UInt32Array::from(indices.clone()),
                )?;
                let other_rows: Vec<&[u8]> = others.iter().map(|o| o.row.as_slice()).collect();
                let theirs = self.decode_rows(other, &other_rows)?;
                let (pairs_out, passed) = self.join_pairs(side, &mine, &theirs, &pairs)?;
                if pairs_out.num_rows() > 0 {
                    joined.push(pairs_out);
                }
                let mut first_matches = Vec::new();
                for (&(i, j), ok) in pairs.iter().zip(passed) {
                    if ok {
                        matched[i as usize] = true;
                        if !others[j as usize].matched {
                            others[j as usize].matched = true;
                            first_matches.push(j as usize);
                        }
                    }
                }
                // The other side's rows that matched for the first time remember it, so
                // that they are not padded when they expire.
                if self.outer[other] {
                    for j in first_matches {
                        let o = &others[j];
                        let mut value = vec![1u8];
                        value.extend_from_slice(&o.row);
                        self.backend
                            .put(SIDE_STATES[other], o.address.clone(), value)?;
                    }
                }
            }
            for (i, &row) in indices.iter().enumerate() {
                let time = times.value(row as usize);
                if self.expires(side, time) > self.watermark {
                    self.store(
                        side,
                        group,
                        key,
                        time,
                        matched[i],
                        rows.row(row as usize).data(),
                    )?;
                } else if self.outer[side] && !matched[i] {
                    // Past its expiry on arrival: no row to come can match it.
                    unmatched.push(row);
                }
            }
        }
        if self.outer[side] && !unmatched.is_empty() {
            let rows = datafusion::arrow::compute::take_record_batch(
                &batch,
                &UInt32Array::from(unmatched),
            )?;
            joined.push(self.padded(side, &rows)?);
        }
        self.emit(joined, out)
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        let mut padded = Vec::new();
        while let Some(entry) = self.expiry.first_entry() {
            if *entry.key() > self.watermark {
                break;
            }
            for (side, group, key) in entry.remove() {
                let mut unmatched: Vec<Vec<u8>> = Vec::new();
                for kept in self.kept(side, group, &key)? {
                    if self.expires(side, kept.time) > self.watermark {
                        continue;
                    }
                    self.backend.remove(SIDE_STATES[side], &kept.address)?;
                    if self.outer[side] && !kept.matched {
                        unmatched.push(kept.row);
                    }
                }
                if !unmatched.is_empty() {
                    let rows: Vec<&[u8]> = unmatched.iter().map(Vec::as_slice).collect();
                    let rows = self.decode_rows(side, &rows)?;
                    padded.push(self.padded(side, &rows)?);
                }
            }
        }
        self.emit(padded, out)?;
        // Joined rows carry times up to the larger bound behind the watermark: it goes on
        // held back by that much, so that they are not late downstream (Flink's
        // `KeyedCoProcessOperatorWithWatermarkDelay`). The end of input stays the end.
        let delay = self.upper.max(-self.lower).max(0);
        out.emit_watermark(match watermark.0 {
            i64::MAX => watermark,
            w => Watermark(w.saturating_sub(delay)),
        });
        Ok(())
    }

    fn snapshot_state(&mut self, barrier: &CheckpointBarrier) -> Result<OperatorSnapshot> {
        keyed_snapshot(self.backend.as_mut(), barrier)
    }

    fn notify_checkpoint_complete(&mut self, id: u64) -> Result<()> {
        self.backend.checkpoint_complete(id);
        Ok(())
    }

    fn initialize_state(&mut self, restored: RestoredState) -> Result<()> {
        let own = self.backend.key_group_range();
        let mut entries = Vec::new();
        for_each_restored(&restored, own, &mut |state, key, value| {
            let Some(side) = SIDE_STATES.iter().position(|s| *s == state) else {
                return Err(RuntimeError::User(format!(
                    "the state restored for the interval join {} holds '{state}', which it does not keep",
                    self.description
                )));
            };
            entries.push((side, key, value));
            Ok(())
        })?;
        // The expiry index is derived from the rows, so it is rebuilt from them.
        for (side, key, value) in entries {
            let time = time_of(&key.key)?;
            self.seq = self.seq.max(seq_of(&key.key));
            self.expiry
                .entry(self.expires(side, time))
                .or_default()
                .insert((side, key.key_group, key.namespace.clone()));
            self.backend.put(SIDE_STATES[side], key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::array::TimestampMillisecondArray;
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{build, changes, feed, snapshot, watermark};

    fn schema(names: [&str; 2]) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(names[0], DataType::Int64, true),
            Field::new(
                names[1],
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
        ]))
    }

    /// A left outer join on `k`, with `r.t - 1000 <= l.t <= r.t + 1000`.
    fn operator() -> IntervalJoinOperator {
        let (l, r) = (schema(["k", "t"]), schema(["k2", "t2"]));
        let out = Arc::new(Schema::new(
            l.fields()
                .iter()
                .chain(r.fields().iter())
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let spec = IntervalJoinSpec {
            left_schema: SerializedSchema::encode(&l).unwrap(),
            right_schema: SerializedSchema::encode(&r).unwrap(),
            output_schema: SerializedSchema::encode(&out).unwrap(),
            left_keys: vec![0],
            right_keys: vec![0],
            left_time: 1,
            right_time: 1,
            lower: -1000,
            upper: 1000,
            filter: None,
            join_type: WindowJoinType::LeftOuter,
            description: "test".into(),
        };
        build(1, 0, &Configuration::new(), |ctx| {
            IntervalJoinOperator::try_new(&spec, ctx)
        })
    }

    fn rows(side: usize, rows: &[(i64, i64)]) -> RecordBatch {
        let s = schema(if side == 0 { ["k", "t"] } else { ["k2", "t2"] });
        RecordBatch::try_new(
            s,
            vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(TimestampMillisecondArray::from_iter_values(
                    rows.iter().map(|r| r.1),
                )),
            ],
        )
        .unwrap()
    }

    #[test]
    fn matches_within_the_bounds_and_pads_unmatched_left_rows_when_they_expire() {
        let mut op = operator();
        assert!(feed(&mut op, 0, rows(0, &[(1, 5000), (1, 9000)])).is_empty());
        assert_eq!(
            changes(&feed(
                &mut op,
                1,
                rows(1, &[(1, 5800), (1, 7000), (2, 5000)])
            )),
            ["+I[1, 1970-01-01T00:00:05, 1, 1970-01-01T00:00:05.800]"]
        );
        // The row at 5 s matched; the one at 9 s can still match until the watermark
        // reaches 10 s.
        assert!(watermark(&mut op, 9999).is_empty());
        let restored = snapshot(&mut op, 1);
        let mut op = operator();
        op.initialize_state(restored).unwrap();
        assert_eq!(
            changes(&watermark(&mut op, 10_000)),
            ["+I[1, 1970-01-01T00:00:09, NULL, NULL]"],
            "restored rows expire too"
        );
        // Watermarks go on held back by the larger bound (1 s), the end of input as is.
        for (arrived, sent) in [(20_000, 19_000), (i64::MAX, i64::MAX)] {
            let mut out = Collector::default();
            op.process_watermark(Watermark(arrived), &mut out).unwrap();
            let sent_on: Vec<i64> = out
                .drain()
                .filter_map(|e| match e {
                    crate::stream_element::StreamElement::Watermark(w) => Some(w.0),
                    _ => None,
                })
                .collect();
            assert_eq!(sent_on, [sent]);
        }
        // A left row after its own expiry still joins what is kept, else is padded at once.
        assert_eq!(
            changes(&feed(&mut op, 0, rows(0, &[(1, 2000)]))),
            ["+I[1, 1970-01-01T00:00:02, NULL, NULL]"]
        );
    }
}
