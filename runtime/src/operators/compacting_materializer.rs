//! Flink's `WatermarkCompactingSinkMaterializer` (`INSERT ... ON CONFLICT DO ERROR` and
//! `DO NOTHING`, FLIP-558). Each change waits, under its primary key, stamped with the
//! watermark current when it arrived. When a later watermark passes the stamp, the key's
//! waiting changes are applied to the row the sink holds for it (rows of one upsert key
//! replace each other; a retraction takes out the first equal row), and:
//! - several rows stand: `DO ERROR` fails the job naming the key; `DO NOTHING` keeps the
//!   row the sink has, or sends the first one (`+I`) when it has none;
//! - no row stands: `-D` of the sink's row, if any;
//! - one row stands: `+I` when the sink had none, `+U` when it differs from the sink's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;

use super::materializer_rows::{decode, encode, MaterializerRows, Standing};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::jobgraph::{UpsertMaterializerSpec, WatermarkConflict};
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{for_each_restored, keyed_snapshot};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The changes waiting under each primary key.
const WAITING: &str = "compacting-materializer-waiting";
/// The row the sink holds for each primary key.
const CURRENT: &str = "compacting-materializer-current";

/// One waiting change.
struct Change {
    stamp: i64,
    adds: bool,
    standing: Standing,
}

fn encode_changes(changes: &[Change]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in changes {
        out.extend_from_slice(&c.stamp.to_be_bytes());
        out.push(u8::from(c.adds));
        let body = encode(std::slice::from_ref(&c.standing));
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
    }
    out
}

fn decode_changes(mut bytes: &[u8]) -> Result<Vec<Change>> {
    let damaged =
        || RuntimeError::Internal("a materializer's waiting changes are truncated".into());
    let mut changes = Vec::new();
    while !bytes.is_empty() {
        let (stamp, rest) = bytes.split_at_checked(8).ok_or_else(damaged)?;
        let stamp = i64::from_be_bytes(stamp.try_into().map_err(|_| damaged())?);
        let (&adds, rest) = rest.split_first().ok_or_else(damaged)?;
        let (len, rest) = rest.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (body, rest) = rest.split_at_checked(len).ok_or_else(damaged)?;
        let standing = decode(body)?.pop().ok_or_else(damaged)?;
        changes.push(Change {
            stamp,
            adds: adds != 0,
            standing,
        });
        bytes = rest;
    }
    Ok(changes)
}

pub struct CompactingMaterializerOperator {
    spec: UpsertMaterializerSpec,
    conflict: WatermarkConflict,
    rows: MaterializerRows,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
    /// The last watermark: what arriving changes are stamped with.
    watermark: i64,
    /// Keys with waiting changes, by the earliest stamp they wait for; rebuilt from state
    /// on restore.
    due: BTreeMap<i64, BTreeSet<(u32, Vec<u8>)>>,
}

impl CompactingMaterializerOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &UpsertMaterializerSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let conflict = spec.on_watermark.ok_or_else(|| {
            RuntimeError::Internal("a compacting materializer without its strategy".into())
        })?;
        Ok(Self {
            conflict,
            rows: MaterializerRows::try_new(spec)?,
            spec: spec.clone(),
            backend: ctx.keyed_state_backend_with_ttl()?,
            max_parallelism: ctx.max_parallelism,
            watermark: i64::MIN,
            due: BTreeMap::new(),
        })
    }

    /// `key = value, ...` of a primary key, for the conflict message.
    fn describe_key(&self, key: &[u8]) -> Result<String> {
        let parser = self.rows.keys.parser();
        let columns = self.rows.keys.convert_rows([parser.parse(key)])?;
        let schema = self.spec.schema.decode()?;
        let parts = self
            .spec
            .key_columns
            .iter()
            .zip(&columns)
            .map(|(&i, column)| {
                Ok(format!(
                    "{}={}",
                    schema.field(i).name(),
                    array_value_to_string(column.as_ref(), 0)?
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(", "))
    }

    /// Applies a key's changes stamped up to `watermark` to the row the sink holds.
    fn compact(
        &mut self,
        group: u32,
        key: &[u8],
        watermark: i64,
        out: &mut Vec<(Vec<u8>, RowKind)>,
    ) -> Result<()> {
        let address = StateKey {
            key_group: group,
            namespace: Vec::new(),
            key: key.to_vec(),
        };
        let waiting = match self.backend.get(WAITING, &address)? {
            Some(bytes) => decode_changes(&bytes)?,
            None => return Ok(()),
        };
        let previous = match self.backend.get(CURRENT, &address)? {
            Some(bytes) => decode(&bytes)?.pop(),
            None => None,
        };
        // Changes apply in arrival order: the ready ones are a prefix (stamps only grow, and
        // restored ones were moved to the front).
        let mut ready = waiting;
        let split = ready
            .iter()
            .position(|c| c.stamp > watermark)
            .unwrap_or(ready.len());
        let later = ready.split_off(split);
        let mut standing: Vec<Standing> = previous.iter().cloned().collect();
        for change in ready {
            match change.adds {
                true => self.rows.add(&mut standing, change.standing),
                false => {
                    self.rows.retract(&mut standing, &change.standing);
                }
            }
        }
        let current = match (standing.len(), &previous) {
            (n, _) if n > 1 && self.conflict == WatermarkConflict::Error => {
                return Err(RuntimeError::User(format!(
                    "Primary key constraint violation: multiple distinct records with the same primary key detected. Conflicting key: [{}]. Use ON CONFLICT DO NOTHING to keep the first record.",
                    self.describe_key(key)?
                )));
            }
            (n, Some(previous)) if n > 1 => Some(previous.clone()),
            (n, None) if n > 1 => {
                out.push((standing[0].row.clone(), RowKind::Insert));
                Some(standing[0].clone())
            }
            (0, Some(previous)) => {
                out.push((previous.row.clone(), RowKind::Delete));
                None
            }
            (0, None) => None,
            (_, None) => {
                out.push((standing[0].row.clone(), RowKind::Insert));
                Some(standing[0].clone())
            }
            (_, Some(previous)) => {
                if previous.row != standing[0].row {
                    out.push((standing[0].row.clone(), RowKind::UpdateAfter));
                }
                Some(standing[0].clone())
            }
        };
        match current {
            Some(c) => self.backend.put(CURRENT, address.clone(), encode(&[c]))?,
            None => {
                self.backend.remove(CURRENT, &address)?;
            }
        }
        match later.first().map(|c| c.stamp) {
            None => {
                self.backend.remove(WAITING, &address)?;
            }
            Some(stamp) => {
                self.due
                    .entry(stamp)
                    .or_default()
                    .insert((group, key.to_vec()));
                self.backend.put(WAITING, address, encode_changes(&later))?;
            }
        }
        Ok(())
    }
}

impl StreamOperator for CompactingMaterializerOperator {
    fn name(&self) -> String {
        format!("SinkMaterializer({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, _out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let prepared = self
            .rows
            .prepare(&self.spec, &batch, self.max_parallelism)?;
        let mut appended: HashMap<(u32, Vec<u8>), Vec<Change>> = HashMap::new();
        for (i, &group) in prepared.groups.iter().enumerate() {
            let adds = matches!(prepared.kinds[i], RowKind::Insert | RowKind::UpdateAfter);
            appended
                .entry((group, prepared.keys.row(i).data().to_vec()))
                .or_default()
                .push(Change {
                    stamp: self.watermark,
                    adds,
                    standing: prepared.standing(i),
                });
        }
        for ((group, key), changes) in appended {
            let address = StateKey {
                key_group: group,
                namespace: Vec::new(),
                key: key.clone(),
            };
            let mut bytes = self.backend.get(WAITING, &address)?.unwrap_or_default();
            bytes.extend(encode_changes(&changes));
            self.backend.put(WAITING, address, bytes)?;
            self.due
                .entry(self.watermark)
                .or_default()
                .insert((group, key));
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        let mut keys = BTreeSet::new();
        while let Some(entry) = self.due.first_entry() {
            if *entry.key() > watermark.0 {
                break;
            }
            keys.extend(entry.remove());
        }
        let mut changes = Vec::new();
        for (group, key) in keys {
            self.compact(group, &key, watermark.0, &mut changes)?;
        }
        if !changes.is_empty() {
            out.collect(self.rows.emit(&changes)?);
        }
        self.watermark = self.watermark.max(watermark.0);
        out.emit_watermark(watermark);
        Ok(())
    }

    /// The end of input: every waiting change is compacted, whatever its stamp.
    fn finish(&mut self, out: &mut Collector) -> Result<()> {
        let keys: BTreeSet<(u32, Vec<u8>)> = std::mem::take(&mut self.due)
            .into_values()
            .flatten()
            .collect();
        let mut changes = Vec::new();
        for (group, key) in keys {
            self.compact(group, &key, i64::MAX, &mut changes)?;
        }
        if !changes.is_empty() {
            out.collect(self.rows.emit(&changes)?);
        }
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
            if ![WAITING, CURRENT].contains(&state.as_str()) {
                return Err(RuntimeError::User(format!(
                    "the state restored for the SinkMaterializer of {} holds '{state}', which it does not keep",
                    self.spec.table
                )));
            }
            entries.push((state, key, value));
            Ok(())
        })?;
        // Waiting changes were stamped with the watermark of the failed run, which this one
        // starts below: they wait for its first watermark, ahead of anything new (Flink
        // moves them to the lowest stamp on restore too).
        for (state, key, value) in entries {
            let value = match state == WAITING {
                false => value,
                true => {
                    let mut changes = decode_changes(&value)?;
                    for c in &mut changes {
                        c.stamp = i64::MIN;
                    }
                    self.due
                        .entry(i64::MIN)
                        .or_default()
                        .insert((key.key_group, key.key.clone()));
                    encode_changes(&changes)
                }
            };
            self.backend.put(&state, key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{build, changes, int_schema, ints, snapshot, with_kinds};

    fn spec(conflict: WatermarkConflict) -> UpsertMaterializerSpec {
        UpsertMaterializerSpec {
            schema: SerializedSchema::encode(&int_schema(&["pk", "uk", "v"])).unwrap(),
            key_columns: vec![0],
            upsert_key: Some(vec![1]),
            table: "t".into(),
            description: "pk=[pk]".into(),
            on_watermark: Some(conflict),
        }
    }

    fn operator(conflict: WatermarkConflict, backend: &str) -> CompactingMaterializerOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        build(1, 0, &config, |ctx| {
            CompactingMaterializerOperator::try_new(&spec(conflict), ctx)
        })
    }

    fn add(op: &mut CompactingMaterializerOperator, rows: &[(i64, i64, i64, &str)]) {
        let col = |f: fn(&(i64, i64, i64, &str)) -> i64| -> Vec<Option<i64>> {
            rows.iter().map(|r| Some(f(r))).collect()
        };
        let kinds: Vec<&str> = rows.iter().map(|r| r.3).collect();
        let batch = with_kinds(
            ints(
                &["pk", "uk", "v"],
                &[&col(|r| r.0), &col(|r| r.1), &col(|r| r.2)],
            ),
            &kinds,
        );
        op.process_batch(batch, &mut Collector::default()).unwrap();
    }

    fn watermark(op: &mut CompactingMaterializerOperator, w: i64) -> Result<Vec<String>> {
        let mut out = Collector::default();
        op.process_watermark(Watermark(w), &mut out)?;
        let batches: Vec<RecordBatch> = out
            .drain()
            .filter_map(|e| match e {
                crate::stream_element::StreamElement::Batch(b) => Some(b),
                _ => None,
            })
            .collect();
        Ok(changes(&batches))
    }

    #[test]
    fn nothing_keeps_the_row_a_key_has_and_changes_wait_for_the_watermark() {
        for backend in ["hashmap", "rocksdb"] {
            let mut op = operator(WatermarkConflict::Nothing, backend);
            add(&mut op, &[(1, 10, 5, "+I")]);
            // Compacted to one row: +I.
            assert_eq!(watermark(&mut op, 1).unwrap(), ["+I[1, 10, 5]"]);
            // Its own update and a second upsert key: the key keeps 10's row, updated?
            // Several rows stand, and the key has one already: nothing is sent.
            add(
                &mut op,
                &[(1, 10, 5, "-U"), (1, 10, 6, "+U"), (1, 20, 7, "+I")],
            );
            assert!(watermark(&mut op, 2).unwrap().is_empty(), "{backend}");
            // Waiting across a restore: the new run starts its watermark from scratch, and
            // the waiting change still comes before what arrives after it.
            add(&mut op, &[(1, 10, 5, "-D")]);
            let restored = snapshot(&mut op, 1);
            let mut op = operator(WatermarkConflict::Nothing, "rocksdb");
            op.initialize_state(restored).unwrap();
            add(&mut op, &[(1, 30, 9, "+I")]);
            // The sink held 10's first row (NOTHING kept it): it goes, 30's replaces it.
            assert_eq!(watermark(&mut op, 0).unwrap(), ["+U[1, 30, 9]"]);
            // The end of input compacts whatever still waits.
            add(&mut op, &[(1, 30, 9, "-D")]);
            let mut out = Collector::default();
            op.finish(&mut out).unwrap();
            let batches: Vec<RecordBatch> = out
                .drain()
                .filter_map(|e| match e {
                    crate::stream_element::StreamElement::Batch(b) => Some(b),
                    _ => None,
                })
                .collect();
            assert_eq!(changes(&batches), ["-D[1, 30, 9]"], "{backend}");
        }
    }

    #[test]
    fn error_fails_naming_the_key_and_one_row_updates_the_sink() {
        let mut op = operator(WatermarkConflict::Error, "hashmap");
        add(&mut op, &[(1, 10, 5, "+I")]);
        assert_eq!(watermark(&mut op, 1).unwrap(), ["+I[1, 10, 5]"]);
        add(&mut op, &[(1, 10, 5, "-U"), (1, 10, 6, "+U")]);
        assert_eq!(watermark(&mut op, 2).unwrap(), ["+U[1, 10, 6]"]);
        add(&mut op, &[(1, 20, 7, "+I")]);
        // Changes wait until a watermark passes their stamp.
        let err = watermark(&mut op, 3).unwrap_err().to_string();
        assert!(err.contains("Conflicting key: [pk=1]"), "{err}");
    }
}
