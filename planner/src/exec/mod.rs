//! The physical plan between DataFusion's logical plan and the job graph, as Flink's
//! ExecNode graph: one node per runtime operator (and a Union, which merges streams
//! without one), each with its inputs and the exchange before each, and each carrying
//! its changelog mode. `translate` builds it, `changelog::infer` derives the modes and
//! sets what depends on them, `chaining` fuses nodes into job vertices.

mod chaining;
mod changelog;
mod graph;

pub(crate) use chaining::chain;
pub(crate) use changelog::infer;
pub(crate) use graph::{ExecEdge, ExecGraph, ExecKind, ExecNodeId};

#[cfg(test)]
mod tests;
