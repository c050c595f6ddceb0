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
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int8Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};

use crate::changelog::{data_columns, ops, with_op_field};
use crate::checkpoint::{CheckpointBarrier, OperatorSnapshot, RestoredState};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::UpsertMaterializerSpec;
use crate::operators::{Collector, OperatorContext, StreamOperator};
use crate::state::snapshot::{keyed_snapshot, restore_into};
use crate::state::{KeyedStateBackend, StateKey};
use crate::stream_element::RowKind;
use crate::time::Watermark;

/// The state each primary key's standing rows are kept under.
const ROWS: &str = "upsert-materializer-rows";

/// One standing row: what it is told apart by (its upsert key, or itself), and the row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Standing {
    pub identity: Vec<u8>,
    pub row: Vec<u8>,
}

pub(super) fn encode(rows: &[Standing]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        for part in [&r.identity, &r.row] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

pub(super) fn decode(mut bytes: &[u8]) -> Result<Vec<Standing>> {
    let damaged = || RuntimeError::Internal("an upsert materializer's state is truncated".into());
    let take = |bytes: &mut &[u8]| -> Result<Vec<u8>> {
        let (len, rest) = bytes.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (part, rest) = rest.split_at_checked(len).ok_or_else(damaged)?;
        *bytes = rest;
        Ok(part.to_vec())
    };
    let mut rows = Vec::new();
    while !bytes.is_empty() {
        let identity = take(&mut bytes)?;
        let row = take(&mut bytes)?;
        rows.push(Standing { identity, row });
    }
    Ok(rows)
}

pub struct UpsertMaterializerOperator {
    spec: UpsertMaterializerSpec,
    rows: RowConverter,
    keys: RowConverter,
    /// The upsert key's columns, when rows are told apart by them.
    identities: Option<RowConverter>,
    output: SchemaRef,
    backend: Box<dyn KeyedStateBackend>,
    max_parallelism: u32,
}

impl UpsertMaterializerOperator {
    /// Builds the operator from its spec.
    pub fn try_new(spec: &UpsertMaterializerSpec, ctx: &OperatorContext<'_>) -> Result<Self> {
        let schema = spec.schema.decode()?;
        let converter = |columns: &mut dyn Iterator<Item = usize>| -> Result<RowConverter> {
            let fields = columns
                .map(|i| {
                    schema
                        .fields()
                        .get(i)
                        .map(|f| SortField::new(f.data_type().clone()))
                        .ok_or_else(|| {
                            RuntimeError::Internal(format!(
                                "an upsert materializer column {i} beyond its rows"
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RowConverter::new(fields)?)
        };
        Ok(Self {
            rows: converter(&mut (0..schema.fields().len()))?,
            keys: converter(&mut spec.key_columns.iter().copied())?,
            identities: match &spec.upsert_key {
                Some(key) if !key.is_empty() => Some(converter(&mut key.iter().copied())?),
                _ => None,
            },
            output: with_op_field(&schema),
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

impl StreamOperator for UpsertMaterializerOperator {
    fn name(&self) -> String {
        format!("SinkMaterializer({})", self.spec.description)
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
        let identities = match (&self.identities, &self.spec.upsert_key) {
            (Some(converter), Some(key)) => Some(
                converter
                    .convert_columns(&key.iter().map(|&i| data[i].clone()).collect::<Vec<_>>())?,
            ),
            _ => None,
        };
        // Each key's standing rows, read once per batch and written back at its end.
        let mut touched: HashMap<Vec<u8>, (u32, Vec<Standing>)> = HashMap::new();
        let mut changes: Vec<(Vec<u8>, RowKind)> = Vec::new();
        for (i, &key_group) in groups.iter().enumerate() {
            let kind = match kinds {
                None => RowKind::Insert,
                Some(k) => RowKind::from_i8(k.value(i)).ok_or_else(|| {
                    RuntimeError::Internal(format!("a row kind of {}", k.value(i)))
                })?,
            };
            let key = keys.row(i).data().to_vec();
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
            let row = rows.row(i).data().to_vec();
            let identity = match &identities {
                Some(ids) => ids.row(i).data().to_vec(),
                None => row.clone(),
            };
            let found = standing.iter().position(|s| s.identity == identity);
            match kind {
                RowKind::Insert | RowKind::UpdateAfter => {
                    let kind = match standing.is_empty() {
                        true => RowKind::Insert,
                        false => RowKind::UpdateAfter,
                    };
                    let entry = Standing {
                        identity,
                        row: row.clone(),
                    };
                    match (found, self.identities.is_some()) {
                        // Rows of one upsert key replace each other in place.
                        (Some(at), true) => standing[at] = entry,
                        _ => standing.push(entry),
                    }
                    changes.push((row, kind));
                }
                RowKind::UpdateBefore | RowKind::Delete => {
                    let Some(at) = found else {
                        continue;
                    };
                    let was_latest = at + 1 == standing.len();
                    standing.remove(at);
                    match standing.last() {
                        None => changes.push((row, RowKind::Delete)),
                        Some(latest) if was_latest => {
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
