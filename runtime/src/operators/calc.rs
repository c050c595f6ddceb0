//! Flink's Calc: a filter followed by a projection, evaluated with DataFusion physical
//! expressions over whole batches.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;

use super::{Collector, StreamOperator};
use crate::error::{Result, RuntimeError};
use crate::expr_codec::decode_expr;
use crate::jobgraph::CalcSpec;

/// Filters and projects batches.
pub struct CalcOperator {
    filter: Option<Arc<dyn PhysicalExpr>>,
    projection: Vec<Arc<dyn PhysicalExpr>>,
    output_schema: SchemaRef,
    description: String,
}

impl CalcOperator {
    /// Rebuilds the expressions of a spec.
    pub fn try_new(spec: &CalcSpec, functions: &TaskContext) -> Result<Self> {
        let input = spec.input_schema.decode()?;
        let filter = spec
            .filter
            .as_ref()
            .map(|f| decode_expr(f, &input, functions))
            .transpose()?;
        let projection = spec
            .projection
            .iter()
            .map(|p| decode_expr(p, &input, functions))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            filter,
            projection,
            output_schema: spec.output_schema.decode()?,
            description: spec.description.clone(),
        })
    }

    /// Creates an operator from expressions directly (tests and the planner's own use).
    pub fn new(
        filter: Option<Arc<dyn PhysicalExpr>>,
        projection: Vec<Arc<dyn PhysicalExpr>>,
        output_schema: SchemaRef,
    ) -> Self {
        Self {
            filter,
            projection,
            output_schema,
            description: String::new(),
        }
    }

    fn apply_filter(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let Some(filter) = &self.filter else {
            return Ok(batch);
        };
        let mask = filter.evaluate(&batch)?.into_array(batch.num_rows())?;
        let mask = mask
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| RuntimeError::Internal("filter did not yield booleans".into()))?;
        Ok(filter_record_batch(&batch, mask)?)
    }
}

impl StreamOperator for CalcOperator {
    fn name(&self) -> String {
        format!("Calc({})", self.description)
    }

    fn process_batch(&mut self, batch: RecordBatch, out: &mut Collector) -> Result<()> {
        let batch = self.apply_filter(batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let columns = self
            .projection
            .iter()
            .map(|p| p.evaluate(&batch)?.into_array(batch.num_rows()))
            .collect::<datafusion::error::Result<Vec<ArrayRef>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        out.collect(RecordBatch::try_new_with_options(
            self.output_schema.clone(),
            columns,
            &options,
        )?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};

    #[test]
    fn filters_then_projects_whole_batches() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let a = col("a", &schema).unwrap();
        let filter = binary(a.clone(), Operator::Gt, lit(1i64), &schema).unwrap();
        let doubled = binary(a, Operator::Multiply, lit(2i64), &schema).unwrap();
        let out_schema = Arc::new(Schema::new(vec![Field::new("b", DataType::Int64, true)]));
        let mut op = CalcOperator::new(Some(filter), vec![doubled], out_schema.clone());
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
        let mut out = Collector::default();
        op.process_batch(batch, &mut out).unwrap();
        let got: Vec<_> = out.drain().collect();
        assert_eq!(got.len(), 1);
        let crate::StreamElement::Batch(b) = &got[0] else {
            panic!("expected a batch")
        };
        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(col.values(), &[4, 6]);
    }
}
