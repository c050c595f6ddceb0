//! DataFusion extension nodes for what DataFusion's logical plan has no node for.

pub mod temporal_table;
pub mod window_tvf;
