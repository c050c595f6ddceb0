//! DataFusion extension nodes for what DataFusion's logical plan has no node for.

mod streaming_only;
pub mod temporal_table;
pub mod window_tvf;
