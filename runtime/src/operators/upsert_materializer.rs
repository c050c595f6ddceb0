//! Flink's `SinkUpsertMaterializer` (`INSERT ... ON CONFLICT DO DEDUPLICATE`). When the
//! sink's primary key is not the query's upsert key, rows of different upsert keys land
//! on one primary key, and an upsert sink alone would keep whichever came last, even
//! after it was retracted. This operator keeps, per primary key, every row still standing
//! in arrival order (rows of one upsert key replace each other in place) and gives the
//! sink what Flink's gives it:
//! - a row added: `+I` when the key held nothing, else `+U`, and it is now the latest;
//! - a row retracted: the first equal one goes (by upsert key, or the whole row without
//!   one); if the key is now empty, `-D`; if it was the latest, `+U` of the one before;
//!   otherwise nothing. A retraction of a row never seen is ignored, as Flink's is.

use std::collections::HashMap;

use datafusion::arrow::record_batch::RecordBatch;

use super::materializer_rows::{decode, encode, MaterializerRows, Standing};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::Result;
use crate::jobgraph::UpsertMaterializerSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state each primary key's standing rows are kept under.
const ROWS: &str = "upsert-materializer-rows";

pub struct UpsertMaterializerOperator {
    spec: UpsertMaterializerSpec,
    rows: MaterializerRows,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
}

impl UpsertMaterializerOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &UpsertMaterializerSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        Ok(Self {
            rows: MaterializerRows::try_new(spec)?,
            spec: spec.clone(),
            backend: ctx.keyed_state_backend_with_ttl()?,
            max_parallelism: ctx.max_parallelism,
        })
    }
}

impl StreamOperator for UpsertMaterializerOperator {
    fn name(&self) -> String {
        format!("SinkMaterializer({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let prepared = self
            .rows
            .prepare(&self.spec, &batch, self.max_parallelism)?;
        // Each key's standing rows, read once per batch and written back at its end.
        let mut touched: HashMap<Vec<u8>, (u32, Vec<Standing>)> = HashMap::new();
        let mut changes: Vec<(Vec<u8>, RowKind)> = Vec::new();
        for (i, &key_group) in prepared.groups.iter().enumerate() {
            let key = prepared.keys.row(i).data().to_vec();
            let standing = match touched.get_mut(&key) {
                Some((_, standing)) => standing,
                None => {
                    let address = StateKey {
                        key_group,
                        namespace: Vec::new(),
                        key: key.clone(),
                    };
                    let stored = match self.backend.get(ROWS, &address)? {
                        Some(bytes) => decode(&bytes)?,
                        None => Vec::new(),
                    };
                    &mut touched.entry(key).or_insert((key_group, stored)).1
                }
            };
            let row = prepared.standing(i);
            match prepared.kinds[i] {
                RowKind::Insert | RowKind::UpdateAfter => {
                    let kind = match standing.is_empty() {
                        true => RowKind::Insert,
                        false => RowKind::UpdateAfter,
                    };
                    changes.push((row.row.clone(), kind));
                    self.rows.add(standing, row);
                }
                RowKind::UpdateBefore | RowKind::Delete => {
                    let before = standing.len();
                    let Some(at) = self.rows.retract(standing, &row) else {
                        continue;
                    };
                    match standing.last() {
                        None => changes.push((row.row, RowKind::Delete)),
                        Some(latest) if at + 1 == before => {
                            changes.push((latest.row.clone(), RowKind::UpdateAfter))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        for (key, (key_group, standing)) in touched {
            let address = StateKey {
                key_group,
                namespace: Vec::new(),
                key,
            };
            match standing.is_empty() {
                true => {
                    self.backend.remove(ROWS, &address)?;
                }
                false => self.backend.put(ROWS, address, encode(&standing))?,
            }
        }
        if !changes.is_empty() {
            out.collect(self.rows.emit(&changes)?);
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark, out: &mut Collector) -> Result<()> {
        out.emit_watermark(watermark);
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
        restore_into(
            &restored,
            self.backend.as_mut(),
            &[ROWS],
            &format!("the SinkMaterializer of {}", self.spec.table),
            &mut |_, _| Ok(()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Configuration;
    use crate::jobgraph::SerializedSchema;
    use crate::operators::testing::{build, changes, feed, int_schema, ints, snapshot, with_kinds};

    /// Rows (pk, uk, v): the sink's key `pk`, the query's upsert key `uk`.
    fn spec(upsert_key: Option<Vec<usize>>) -> UpsertMaterializerSpec {
        UpsertMaterializerSpec {
            schema: SerializedSchema::encode(&int_schema(&["pk", "uk", "v"])).unwrap(),
            key_columns: vec![0],
            upsert_key,
            table: "t".into(),
            description: "pk=[pk]".into(),
            on_watermark: None,
        }
    }

    fn operator(spec: &UpsertMaterializerSpec, backend: &str) -> UpsertMaterializerOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        build(1, 0, &config, |ctx| {
            UpsertMaterializerOperator::try_new(spec, ctx)
        })
    }

    fn step(op: &mut UpsertMaterializerOperator, rows: &[(i64, i64, i64, &str)]) -> Vec<String> {
        let col = |f: fn(&(i64, i64, i64, &str)) -> i64| -> Vec<Option<i64>> {
            rows.iter().map(|r| Some(f(r))).collect()
        };
        let kinds: Vec<&str> = rows.iter().map(|r| r.3).collect();
        changes(&feed(
            op,
            0,
            with_kinds(
                ints(
                    &["pk", "uk", "v"],
                    &[&col(|r| r.0), &col(|r| r.1), &col(|r| r.2)],
                ),
                &kinds,
            ),
        ))
    }

    #[test]
    fn a_retracted_latest_row_gives_the_key_back_the_one_before_as_flinks_does() {
        for backend in ["hashmap", "rocksdb"] {
            let mut op = operator(&spec(Some(vec![1])), backend);
            // Two upsert keys (10, 20) on primary key 1.
            assert_eq!(
                step(&mut op, &[(1, 10, 5, "+I"), (1, 20, 7, "+I")]),
                ["+I[1, 10, 5]", "+U[1, 20, 7]"]
            );
            // The latest (20) goes: the key falls back to 10's row.
            assert_eq!(step(&mut op, &[(1, 20, 7, "-D")]), ["+U[1, 10, 5]"]);
            // 10's own update: its old row leaves the key empty, its new one comes back.
            assert_eq!(
                step(&mut op, &[(1, 10, 5, "-U"), (1, 10, 6, "+U")]),
                ["-D[1, 10, 5]", "+I[1, 10, 6]"],
                "{backend}"
            );
            let restored = snapshot(&mut op, 1);
            let mut op = operator(&spec(Some(vec![1])), "rocksdb");
            op.initialize_state(restored).unwrap();
            assert_eq!(step(&mut op, &[(1, 20, 8, "+I")]), ["+U[1, 20, 8]"]);
            // A row that is not the latest goes silently.
            assert!(step(&mut op, &[(1, 10, 6, "-D")]).is_empty());
            assert_eq!(step(&mut op, &[(1, 20, 8, "-D")]), ["-D[1, 20, 8]"]);
            // A retraction of something never seen is ignored.
            assert!(step(&mut op, &[(1, 30, 1, "-D")]).is_empty());
        }
    }

    #[test]
    fn without_an_upsert_key_whole_rows_are_compared() {
        let mut op = operator(&spec(None), "hashmap");
        assert_eq!(
            step(&mut op, &[(1, 10, 5, "+I"), (1, 10, 5, "+I")]),
            ["+I[1, 10, 5]", "+U[1, 10, 5]"]
        );
        // The first of the two equal rows goes, not the latest: nothing to send.
        assert!(step(&mut op, &[(1, 10, 5, "-U")]).is_empty());
        assert_eq!(step(&mut op, &[(1, 10, 5, "-D")]), ["-D[1, 10, 5]"]);
    }
}
