//! A keyed view's changes as a subscriber reads them. The view's job sends upserts (`+I`
//! and `+U` with the new row, `-D`), which is all the view's contents need; a subscriber
//! gets the changelog an updating query shows, with each update's old row as `-U` before
//! its `+U`, as Flink's ChangelogNormalize turns an upsert stream into one. The old rows
//! come from the view's rows as the subscription last saw them.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int8Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::RowConverter;
use eddy_runtime::changelog::{self, with_op_field};
use eddy_runtime::stream_element::RowKind;
use eddy_runtime::{Result, RuntimeError};

use super::fold::{cast_to, converter};

/// The latest row of each key as a subscriber has seen it.
pub struct Retractions {
    schema: SchemaRef,
    key: Vec<usize>,
    keys: RowConverter,
    rows: RowConverter,
    current: HashMap<Box<[u8]>, Box<[u8]>>,
}

impl Retractions {
    /// Starts from the view's `snapshot` (its rows, one per key), whose columns are
    /// `schema`'s.
    pub fn new(schema: &SchemaRef, key: &[usize], snapshot: &[RecordBatch]) -> Result<Self> {
        let all: Vec<usize> = (0..schema.fields().len()).collect();
        let mut retractions = Self {
            schema: schema.clone(),
            key: key.to_vec(),
            keys: converter(schema, key)?,
            rows: converter(schema, &all)?,
            current: HashMap::new(),
        };
        for batch in snapshot {
            let (keys, rows) = retractions.encode(batch.columns())?;
            for (k, row) in keys.iter().zip(rows.iter()) {
                retractions
                    .current
                    .insert(k.as_ref().into(), row.as_ref().into());
            }
        }
        Ok(retractions)
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
    ) -> Result<(datafusion::arrow::row::Rows, datafusion::arrow::row::Rows)> {
        let key_columns: Vec<ArrayRef> = self.key.iter().map(|&c| columns[c].clone()).collect();
        Ok((
            self.keys.convert_columns(&key_columns)?,
            self.rows.convert_columns(columns)?,
        ))
    }

    /// One committed batch of changes (with row kinds) as the subscriber's changes: an
    /// upsert of a key that has a row retracts that row first (`-U`, then `+U`), one of a
    /// new key is an `+I`, and a deletion retracts the row the key had. A `-U` the job
    /// did send is passed on with the row it retracts, and its `+U` after it stays one.
    pub fn apply(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        let columns = changelog::data_columns(batch);
        let ops = changelog::ops(batch);
        let (keys, rows) = self.encode(columns)?;
        let mut out_rows: Vec<Box<[u8]>> = Vec::with_capacity(batch.num_rows());
        let mut out_kinds: Vec<i8> = Vec::with_capacity(batch.num_rows());
        for (i, (k, row)) in keys.iter().zip(rows.iter()).enumerate() {
            let kind = match ops {
                None => RowKind::Insert,
                Some(ops) => RowKind::from_i8(ops.value(i)).ok_or_else(|| {
                    RuntimeError::Internal(format!("a row kind of {}", ops.value(i)))
                })?,
            };
            let k: &[u8] = k.as_ref();
            match kind {
                RowKind::Insert | RowKind::UpdateAfter => {
                    let new: Box<[u8]> = row.as_ref().into();
                    match self.current.insert(k.into(), new.clone()) {
                        Some(old) => {
                            out_rows.push(old);
                            out_kinds.push(RowKind::UpdateBefore.to_i8());
                            out_kinds.push(RowKind::UpdateAfter.to_i8());
                        }
                        None => out_kinds.push(kind.to_i8()),
                    }
                    out_rows.push(new);
                }
                RowKind::UpdateBefore | RowKind::Delete => {
                    if let Some(old) = self.current.remove(k) {
                        out_rows.push(old);
                        out_kinds.push(kind.to_i8());
                    }
                }
            }
        }
        let parser = self.rows.parser();
        let decoded = match out_rows.is_empty() {
            true => self
                .schema
                .fields()
                .iter()
                .map(|f| datafusion::arrow::array::new_empty_array(f.data_type()))
                .collect(),
            false => cast_to(
                self.rows
                    .convert_rows(out_rows.iter().map(|r| parser.parse(r)))?,
                &self.schema,
            )?,
        };
        let mut out: Vec<ArrayRef> = decoded;
        out.push(Arc::new(Int8Array::from(out_kinds)));
        Ok(RecordBatch::try_new(with_op_field(&self.schema), out)?)
    }
}
