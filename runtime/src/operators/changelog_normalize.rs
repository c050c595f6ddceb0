//! Flink's `ChangelogNormalize`: turns an upsert stream (each row the latest value of its
//! key, a delete naming only the key, as `upsert-kafka` reads) into a full changelog. The
//! last row of each key lives in keyed state; a new value of a known key becomes `-U` of
//! the kept row and `+U` of the new one, a first value `+I`, and a delete `-D` of the kept
//! row (whose columns a tombstone lacks). A delete of an unknown key, and a value equal
//! to the kept one, emit nothing (the latter only without state TTL, as in Flink, where
//! downstream state must be refreshed).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int8Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};

use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::ChangelogNormalizeSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state each key's last row is kept under.
const LAST_ROW: &str = "changelog-normalize-last-row";

/// Flink's `ChangelogNormalize` (`ProcTimeDeduplicateKeepLastRowFunction` on a changelog).
pub struct ChangelogNormalizeOperator {
    spec: ChangelogNormalizeSpec,
    /// Whole rows in Arrow's row format, as they are kept.
    rows: RowConverter,
    /// The key columns: a key's address.
    keys: RowConverter,
    output: SchemaRef,
    /// Whether rows equal to the kept one are emitted anyway (state TTL is on).
    emit_unchanged: bool,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
}

impl ChangelogNormalizeOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &ChangelogNormalizeSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let schema = spec.schema.decode()?;
        let field = |i: usize| -> Result<SortField> {
            let f = schema.fields().get(i).ok_or_else(|| {
                RuntimeError::Internal(format!("a ChangelogNormalize key {i} beyond the input"))
            })?;
            Ok(SortField::new(f.data_type().clone()))
        };
        Ok(Self {
            rows: RowConverter::new(
                (0..schema.fields().len())
                    .map(field)
                    .collect::<Result<_>>()?,
            )?,
            keys: RowConverter::new(
                spec.key_columns
                    .iter()
                    .map(|&i| field(i))
                    .collect::<Result<_>>()?,
            )?,
            output: with_op_field(&schema),
            emit_unchanged: !ctx
                .config
                .get_duration(&crate::config::table::STATE_TTL)
                .is_zero(),
            spec: spec.clone(),
            backend: ctx.keyed_state_backend_with_ttl()?,
            max_parallelism: ctx.max_parallelism,
        })
    }

    fn emit(&self, changes: &[(Vec<u8>, RowKind)]) -> Result<RecordBatch> {
        let parser = self.rows.parser();
        let mut columns: Vec<ArrayRef> = self
            .rows
            .convert_rows(changes.iter().map(|(row, _)| parser.parse(row)))?;
        columns.push(Arc::new(Int8Array::from_iter_values(
            changes.iter().map(|(_, kind)| kind.to_i8()),
        )));
        Ok(RecordBatch::try_new(self.output.clone(), columns)?)
    }
}

impl StreamOperator for ChangelogNormalizeOperator {
    fn name(&self) -> String {
        format!("ChangelogNormalize({})", self.spec.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let data = data_columns(&batch);
        let kinds = ops(&batch);
        let key_columns: Vec<ArrayRef> = self
            .spec
            .key_columns
            .iter()
            .map(|&i| data[i].clone())
            .collect();
        let groups = key_groups(&key_columns, self.max_parallelism)?;
        let keys = self.keys.convert_columns(&key_columns)?;
        let rows = self.rows.convert_columns(data)?;
        let mut changes: Vec<(Vec<u8>, RowKind)> = Vec::new();
        // Row by row in arrival order: a batch may change one key several times.
        for (row, &key_group) in groups.iter().enumerate() {
            let kind = match kinds {
                None => RowKind::Insert,
                Some(k) => RowKind::from_i8(k.value(row)).ok_or_else(|| {
                    RuntimeError::Internal(format!("a row kind of {}", k.value(row)))
                })?,
            };
            let address = StateKey {
                key_group,
                namespace: Vec::new(),
                key: keys.row(row).data().to_vec(),
            };
            let previous = self.backend.get(LAST_ROW, &address)?;
            match kind {
                RowKind::Insert | RowKind::UpdateAfter => {
                    let current = rows.row(row).data();
                    let kind = match previous {
                        None => RowKind::Insert,
                        Some(p) if p.as_slice() == current && !self.emit_unchanged => continue,
                        Some(p) => {
                            if self.spec.update_before {
                                changes.push((p, RowKind::UpdateBefore));
                            }
                            RowKind::UpdateAfter
                        }
                    };
                    let current = current.to_vec();
                    changes.push((current.clone(), kind));
                    self.backend.put(LAST_ROW, address, current)?;
                }
                // The kept row is the deleted one in full; an update's old side without
                // its new side deletes too.
                RowKind::UpdateBefore | RowKind::Delete => {
                    if let Some(p) = previous {
                        changes.push((p, RowKind::Delete));
                        self.backend.remove(LAST_ROW, &address)?;
                    }
                }
            }
        }
        if !changes.is_empty() {
            out.collect(self.emit(&changes)?);
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
            &[LAST_ROW],
            &format!("the ChangelogNormalize {}", self.spec.description),
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

    fn spec() -> ChangelogNormalizeSpec {
        ChangelogNormalizeSpec {
            schema: SerializedSchema::encode(&int_schema(&["k", "v"])).unwrap(),
            key_columns: vec![0],
            table: "t".into(),
            description: "key=[k]".into(),
            update_before: true,
        }
    }

    fn operator(backend: &str, ttl: Option<&str>) -> ChangelogNormalizeOperator {
        let mut config = Configuration::new();
        config.set("state.backend.type", backend).unwrap();
        if let Some(ttl) = ttl {
            config.set("table.exec.state.ttl", ttl).unwrap();
        }
        build(1, 0, &config, |ctx| {
            ChangelogNormalizeOperator::try_new(&spec(), ctx)
        })
    }

    fn step(op: &mut ChangelogNormalizeOperator, rows: &[(i64, Option<i64>, &str)]) -> Vec<String> {
        let k: Vec<Option<i64>> = rows.iter().map(|r| Some(r.0)).collect();
        let v: Vec<Option<i64>> = rows.iter().map(|r| r.1).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.2).collect();
        changes(&feed(
            op,
            0,
            with_kinds(ints(&["k", "v"], &[&k, &v]), &kinds),
        ))
    }

    #[test]
    fn upserts_become_a_full_changelog() {
        for backend in ["hashmap", "rocksdb"] {
            let mut op = operator(backend, None);
            assert_eq!(
                step(&mut op, &[(1, Some(10), "+I"), (2, Some(20), "+I")]),
                ["+I[1, 10]", "+I[2, 20]"]
            );
            // A new value of a known key updates it; in one batch, changes chain.
            assert_eq!(
                step(&mut op, &[(1, Some(11), "+I"), (1, Some(12), "+U")]),
                ["-U[1, 10]", "+U[1, 11]", "-U[1, 11]", "+U[1, 12]"],
                "{backend}"
            );
            // A tombstone (the key alone) deletes the kept row in full.
            assert_eq!(step(&mut op, &[(2, None, "-D")]), ["-D[2, 20]"]);
            // Deleting an unknown key, or repeating the kept value, emits nothing.
            assert!(step(&mut op, &[(2, None, "-D"), (3, None, "-D")]).is_empty());
            assert!(step(&mut op, &[(1, Some(12), "+I")]).is_empty());
            // A deleted key comes back as an insert.
            assert_eq!(step(&mut op, &[(2, Some(21), "+I")]), ["+I[2, 21]"]);
        }
    }

    #[test]
    fn with_state_ttl_an_unchanged_value_is_emitted_again() {
        let mut op = operator("hashmap", Some("1 h"));
        step(&mut op, &[(1, Some(10), "+I")]);
        assert_eq!(
            step(&mut op, &[(1, Some(10), "+I")]),
            ["-U[1, 10]", "+U[1, 10]"]
        );
    }

    #[test]
    fn kept_rows_survive_a_snapshot() {
        let mut op = operator("hashmap", None);
        step(&mut op, &[(1, Some(10), "+I")]);
        let restored = snapshot(&mut op, 1);
        let mut op = operator("rocksdb", None);
        op.initialize_state(restored).unwrap();
        assert_eq!(step(&mut op, &[(1, None, "-D")]), ["-D[1, 10]"]);
    }
}
