//! Eddy's planner: from a DataFusion `LogicalPlan` to a streaming `JobGraph`.
//!
//! Entry points: [`plan_insert`] and [`plan_statement_set`] for `INSERT INTO ... SELECT`
//! and statement sets, [`plan_collect`] for a `SELECT` over unbounded tables whose rows
//! go back to the client, and [`explain`] for EXPLAIN. [`ConnectorTable`] is how catalog
//! tables appear to DataFusion, both for batch queries and for this translation.

mod aggregate;
mod error;
mod exec;
mod explain;
mod job_graph_builder;
mod join;
mod logical;
mod null_aware_join;
mod over;
mod rank;
mod sink_cast;
mod table;
mod temporal_join;
mod translate;
mod upsert_source;
mod windowing;

pub use aggregate::is_updating_plan;
pub use error::{PlanError, Result};
pub use explain::{explain, json_plan};
pub use job_graph_builder::{
    is_updating, materialized_view_key, plan_collect, plan_insert, plan_statement_set,
    ConflictStrategy, InsertTarget,
};
pub use logical::temporal_table::{register_temporal_function, TemporalTableNode};
pub use logical::window_tvf::{register_window_functions, WindowTvfNode};
pub use table::{
    is_unbounded_plan, scanned_tables, ConnectorTable, TableDefinition, TableWatermark,
};
