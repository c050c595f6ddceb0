//! Rows with their multiplicity: what reading a materialized view folds its changes into.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use eddy_runtime::Result;

/// The count column of a base file.
pub(super) const COUNT_COLUMN: &str = "__count";

/// Rows with their multiplicity.
pub(super) struct Folded {
    converter: RowConverter,
    /// Rows in the converter's encoding.
    counts: HashMap<Box<[u8]>, i64>,
}

impl Folded {
    pub(super) fn new(schema: &SchemaRef) -> Result<Self> {
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

    pub(super) fn add(&mut self, columns: &[ArrayRef], delta: impl Fn(usize) -> i64) -> Result<()> {
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
