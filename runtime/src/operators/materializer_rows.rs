//! What Flink's two sink materializers (`upsert_materializer`, `compacting_materializer`)
//! share: rows in Arrow's row format, each told apart by the query's upsert key (or by
//! the whole row without one), kept per primary key of the sink; adding a row replaces
//! the one of its upsert key in place, retracting takes out the first equal one.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int8Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, Rows, SortField};

use crate::changelog::{data_columns, ops, with_op_field};
use crate::error::{Result, RuntimeError};
use crate::exchange::key_groups;
use crate::jobgraph::UpsertMaterializerSpec;
use crate::stream_element::RowKind;

/// One standing row: what it is told apart by (its upsert key, or itself), and the row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Standing {
    pub identity: Vec<u8>,
    pub row: Vec<u8>,
}

/// Rows, length-prefixed, as they are kept in state.
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
    let damaged = || RuntimeError::Internal("a sink materializer's state is truncated".into());
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

/// A batch, ready for a materializer: per row its key group, primary key, row, identity
/// and kind.
pub(super) struct Prepared {
    pub groups: Vec<u32>,
    pub keys: Rows,
    pub rows: Rows,
    identities: Option<Rows>,
    pub kinds: Vec<RowKind>,
}

impl Prepared {
    /// Row `i` as a standing row.
    pub fn standing(&self, i: usize) -> Standing {
        let row = self.rows.row(i).data().to_vec();
        let identity = match &self.identities {
            Some(ids) => ids.row(i).data().to_vec(),
            None => row.clone(),
        };
        Standing { identity, row }
    }
}

/// The converters a materializer needs for its spec's rows.
pub(super) struct MaterializerRows {
    rows: RowConverter,
    pub keys: RowConverter,
    identities: Option<RowConverter>,
    output: SchemaRef,
}

impl MaterializerRows {
    pub fn try_new(spec: &UpsertMaterializerSpec) -> Result<Self> {
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
                                "a sink materializer column {i} beyond its rows"
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
        })
    }

    /// Converts a batch (of an updating stream or an insert-only one).
    pub fn prepare(
        &self,
        spec: &UpsertMaterializerSpec,
        batch: &RecordBatch,
        max_parallelism: u32,
    ) -> Result<Prepared> {
        let data = data_columns(batch);
        let key_columns: Vec<ArrayRef> =
            spec.key_columns.iter().map(|&i| data[i].clone()).collect();
        let kinds = match ops(batch) {
            None => vec![RowKind::Insert; batch.num_rows()],
            Some(k) => (0..batch.num_rows())
                .map(|i| {
                    RowKind::from_i8(k.value(i)).ok_or_else(|| {
                        RuntimeError::Internal(format!("a row kind of {}", k.value(i)))
                    })
                })
                .collect::<Result<_>>()?,
        };
        Ok(Prepared {
            groups: key_groups(&key_columns, max_parallelism)?,
            keys: self.keys.convert_columns(&key_columns)?,
            rows: self.rows.convert_columns(data)?,
            identities: match (&self.identities, &spec.upsert_key) {
                (Some(converter), Some(key)) => {
                    Some(converter.convert_columns(
                        &key.iter().map(|&i| data[i].clone()).collect::<Vec<_>>(),
                    )?)
                }
                _ => None,
            },
            kinds,
        })
    }

    /// Adds a row: it replaces the standing row of its upsert key, or comes last.
    pub fn add(&self, standing: &mut Vec<Standing>, row: Standing) {
        let found = standing.iter().position(|s| s.identity == row.identity);
        match (found, self.identities.is_some()) {
            (Some(at), true) => standing[at] = row,
            _ => standing.push(row),
        }
    }

    /// Takes out the first standing row equal to `row`; where it was, if anywhere.
    pub fn retract(&self, standing: &mut Vec<Standing>, row: &Standing) -> Option<usize> {
        let at = standing.iter().position(|s| s.identity == row.identity)?;
        standing.remove(at);
        Some(at)
    }

    /// The changes as a batch with row kinds.
    pub fn emit(&self, changes: &[(Vec<u8>, RowKind)]) -> Result<RecordBatch> {
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
