//! Reading an upsert table (`upsert-kafka`): the source's rows are each key's latest value
//! or a deletion naming only the key, so, as Flink does, they go by key to a
//! `ChangelogNormalize` that keeps each key's last row and emits a full changelog
//! (`+I`, `-U` / `+U`, `-D` of the whole row). Only then are columns dropped: the key
//! must reach the normalization even when the query does not read it.

use std::sync::Arc;

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::TableScan;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::PhysicalExpr;
use eddy_runtime::jobgraph::{ChangelogNormalizeSpec, OperatorSpec, Partitioner, SerializedSchema};

use crate::error::{PlanError, Result};
use crate::table::ConnectorTable;
use crate::translate::{nullable, GraphParts, Head, OpenChain};

/// The scan of upsert table `table`: source, exchange by key, ChangelogNormalize and the
/// scan's projection.
pub(crate) fn translate_upsert_scan(
    scan: &TableScan,
    table: &ConnectorTable,
    state: &SessionState,
    parts: &mut GraphParts,
) -> Result<OpenChain> {
    let schema = nullable(&table.schema);
    let key_columns = table
        .primary_key
        .iter()
        .map(|k| {
            schema.index_of(k).map_err(|_| {
                PlanError::NotSupported(format!(
                    "primary key column '{k}' of upsert table '{}' is not among its columns",
                    table.spec.table
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let key_columns_copy = key_columns.clone();
    let mut chain = OpenChain::new(
        Head::Source(Box::new(table.source_spec(state, None)?)),
        Vec::new(),
        Vec::new(),
    );
    chain.updating = true;
    let upstream = parts.close(chain)?;
    let description = format!("key=[{}]", table.primary_key.join(", "));
    let name = format!("ChangelogNormalize({description})");
    let mut chain = OpenChain::new(
        Head::Inputs(vec![(
            upstream,
            Partitioner::Hash {
                key_columns: key_columns.clone(),
            },
        )]),
        vec![OperatorSpec::ChangelogNormalize(ChangelogNormalizeSpec {
            schema: SerializedSchema::encode(&schema)?,
            key_columns,
            table: table.spec.table.clone(),
            description,
            update_before: true,
        })],
        vec![name.clone()],
    );
    chain.updating = true;
    chain.producer = Some(name);
    chain.upsert_key = Some(key_columns_copy);
    chain.key_ordered = true;
    if let Some(projection) = &scan.projection {
        let exprs = projection
            .iter()
            .map(|&i| Arc::new(Column::new(schema.field(i).name(), i)) as Arc<dyn PhysicalExpr>)
            .collect();
        let text = projection
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect::<Vec<_>>()
            .join(", ");
        let output = Arc::new(
            schema
                .project(projection)
                .map_err(datafusion::error::DataFusionError::from)?,
        );
        chain.add_projection(schema.clone(), exprs, output, text)?;
    }
    Ok(chain)
}
