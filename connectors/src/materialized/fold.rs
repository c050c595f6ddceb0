//! What reading a materialized view folds its changes into: rows with their multiplicity,
//! or, for a view keyed by its query's upsert key, the latest row of each key.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use eddy_runtime::{Result, RuntimeError};

/// The count column of a base file.
pub(super) const COUNT_COLUMN: &str = "__count";

/// A converter for `columns` of `schema`.
pub(super) fn converter(schema: &SchemaRef, columns: &[usize]) -> Result<RowConverter> {
    let fields = columns
        .iter()
        .map(|&c| {
            schema
                .fields()
                .get(c)
                .map(|f| SortField::new(f.data_type().clone()))
                .ok_or_else(|| {
                    RuntimeError::Internal(format!(
                        "a materialized view's key column {c} is not among its {} columns",
                        schema.fields().len()
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RowConverter::new(fields)?)
}

/// How the rows are kept.
enum Contents {
    /// Rows (in the converter's encoding) with their multiplicity.
    Multiset(HashMap<Box<[u8]>, i64>),
    /// The key columns, their converter, and the latest row of each key (key and row in
    /// the converters' encodings).
    Keyed {
        key: Vec<usize>,
        keys: RowConverter,
        rows: HashMap<Box<[u8]>, Box<[u8]>>,
    },
}

/// The view's rows.
pub(super) struct Folded {
    converter: RowConverter,
    contents: Contents,
}

impl Folded {
    /// A multiset of rows without `key`; with it, the latest row of each key.
    pub(super) fn new(schema: &SchemaRef, key: Option<&[usize]>) -> Result<Self> {
        let all: Vec<usize> = (0..schema.fields().len()).collect();
        let contents = match key {
            None => Contents::Multiset(HashMap::new()),
            Some(key) => Contents::Keyed {
                key: key.to_vec(),
                keys: converter(schema, key)?,
                rows: HashMap::new(),
            },
        };
        Ok(Self {
            converter: converter(schema, &all)?,
            contents,
        })
    }

    /// Adds each row `delta(i)` times (a negative delta takes it out). Keyed, a positive
    /// delta makes the row its key's latest and a negative one deletes its key: the
    /// view's upserts (`+I`, `+U`) and deletions (`-U`, `-D`), in order.
    pub(super) fn add(&mut self, columns: &[ArrayRef], delta: impl Fn(usize) -> i64) -> Result<()> {
        let rows = self.converter.convert_columns(columns)?;
        match &mut self.contents {
            Contents::Multiset(counts) => {
                for (i, row) in rows.iter().enumerate() {
                    let d = delta(i);
                    let bytes: &[u8] = row.as_ref();
                    match counts.get_mut(bytes) {
                        Some(c) => {
                            *c += d;
                            if *c == 0 {
                                counts.remove(bytes);
                            }
                        }
                        None => {
                            counts.insert(bytes.into(), d);
                        }
                    }
                }
            }
            Contents::Keyed {
                key,
                keys,
                rows: latest,
            } => {
                let key_columns: Vec<ArrayRef> = key.iter().map(|&c| columns[c].clone()).collect();
                let key_rows = keys.convert_columns(&key_columns)?;
                for (i, (k, row)) in key_rows.iter().zip(rows.iter()).enumerate() {
                    match delta(i) > 0 {
                        true => {
                            latest.insert(k.as_ref().into(), row.as_ref().into());
                        }
                        false => {
                            latest.remove(k.as_ref());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Distinct rows with a positive count, and the counts.
    fn distinct(&self, schema: &SchemaRef) -> Result<(Vec<ArrayRef>, Int64Array)> {
        let live: Vec<(&[u8], i64)> = match &self.contents {
            Contents::Multiset(counts) => counts
                .iter()
                .filter(|(_, c)| **c > 0)
                .map(|(r, c)| (r.as_ref(), *c))
                .collect(),
            Contents::Keyed { rows, .. } => rows.values().map(|r| (r.as_ref(), 1)).collect(),
        };
        let parser = self.converter.parser();
        let columns = self
            .converter
            .convert_rows(live.iter().map(|(r, _)| parser.parse(r)))?;
        let columns = cast_to(columns, schema)?;
        Ok((columns, live.iter().map(|(_, c)| *c).collect()))
    }

    pub(super) fn rows(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
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

    pub(super) fn counted(&self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
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

/// Columns decoded from rows in `schema`'s types (the row format gives dictionaries back
/// as their values).
pub(super) fn cast_to(columns: Vec<ArrayRef>, schema: &SchemaRef) -> Result<Vec<ArrayRef>> {
    columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(c),
            false => Ok(datafusion::arrow::compute::cast(&c, f.data_type())?),
        })
        .collect()
}
