//! The table a planner-registered table function returns (window TVFs, temporal tables):
//! DataFusion inlines its logical plan, an extension node over the named table. Such a node
//! runs only as a streaming operator, so a scan of it is refused.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::ExecutionPlan;

use crate::error::PlanError;

#[derive(Debug)]
pub(crate) struct StreamingOnlyTable {
    plan: LogicalPlan,
    schema: SchemaRef,
    /// Why a batch query cannot run it.
    refusal: String,
}

impl StreamingOnlyTable {
    /// A table whose plan is `node`; a scan answers 0A000 with `refusal`.
    pub(crate) fn provider(
        node: Arc<dyn UserDefinedLogicalNode>,
        refusal: impl Into<String>,
    ) -> Arc<dyn TableProvider> {
        let plan = LogicalPlan::Extension(Extension { node });
        Arc::new(Self {
            schema: Arc::new(plan.schema().as_arrow().clone()),
            plan,
            refusal: refusal.into(),
        })
    }
}

#[async_trait]
impl TableProvider for StreamingOnlyTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        Some(Cow::Borrowed(&self.plan))
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(PlanError::NotSupported(self.refusal.clone()).into_datafusion())
    }
}
