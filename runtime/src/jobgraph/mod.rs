//! The `JobGraph`: what the planner produces and the JobMaster schedules. A vertex is one
//! operator chain run by `parallelism` subtasks; an edge says how records are partitioned
//! between the subtasks of two vertices. Everything here is serializable so a graph can be
//! shipped to remote TaskManagers.

mod operator_spec;
mod partitioner;

use serde::{Deserialize, Serialize};

pub use operator_spec::{
    AggregatePhase, CalcSpec, ChangelogNormalizeSpec, ConnectorSpec, GroupAggregateSpec,
    IntervalJoinSpec, LocalGroupAggregateSpec, OperatorSpec, OverAggregateSpec, OverFrame,
    RankOrder, RankSpec, SerializedExpr, SerializedPlan, SerializedSchema, SinkSpec, SourceSpec,
    SourceWatermarkSpec, StreamJoinSpec, TemporalJoinSpec, UpsertMaterializerSpec,
    WatermarkConflict, WindowAggregateSpec, WindowJoinSpec, WindowJoinType, WindowKind,
    WindowTvfSpec, DROP_UPDATE_BEFORE,
};
pub use partitioner::Partitioner;

use crate::config::Configuration;
use crate::error::{Result, RuntimeError};

/// Version of the serialized form; bumped when the format changes incompatibly.
pub const JOB_GRAPH_VERSION: u32 = 1;

/// Identifies a vertex within its graph.
pub type VertexId = u32;

/// A job as a DAG of chained operators.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobGraph {
    pub version: u32,
    /// Shown in SHOW JOBS: the statement text unless `pipeline.name` is set.
    pub name: String,
    pub vertices: Vec<JobVertex>,
    pub edges: Vec<JobEdge>,
    /// The job's configuration (session settings at submission).
    pub config: Configuration,
}

/// One operator chain and how many subtasks run it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobVertex {
    pub id: VertexId,
    pub name: String,
    pub parallelism: u32,
    /// Operators in chain order; a source, if any, comes first.
    pub operators: Vec<OperatorSpec>,
    /// The row kinds the vertex's output carries, as Flink's EXPLAIN CHANGELOG_MODE writes
    /// them (`I`, `I,UB,UA,D`, `I,UA,D`): what the planner decided, for EXPLAIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog_mode: Option<String>,
    /// The same per operator, in chain order (`NONE` for a sink), for EXPLAIN
    /// CHANGELOG_MODE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator_modes: Vec<String>,
}

/// A data connection between two vertices.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobEdge {
    pub source: VertexId,
    pub target: VertexId,
    pub partitioner: Partitioner,
}

impl JobGraph {
    /// The vertex with the given id.
    pub fn vertex(&self, id: VertexId) -> Result<&JobVertex> {
        self.vertices
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(|| RuntimeError::Internal(format!("job graph has no vertex {id}")))
    }

    /// Edges arriving at `id`, in input order.
    pub fn inputs_of(&self, id: VertexId) -> Vec<&JobEdge> {
        self.edges.iter().filter(|e| e.target == id).collect()
    }

    /// Edges leaving `id`.
    pub fn outputs_of(&self, id: VertexId) -> Vec<&JobEdge> {
        self.edges.iter().filter(|e| e.source == id).collect()
    }

    /// Serializes the graph for shipping to another process.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| RuntimeError::Internal(format!("cannot serialize job graph: {e}")))
    }

    /// Reads a graph written by [`JobGraph::to_bytes`], refusing other versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let g: JobGraph = serde_json::from_slice(bytes)
            .map_err(|e| RuntimeError::Internal(format!("cannot read job graph: {e}")))?;
        if g.version != JOB_GRAPH_VERSION {
            return Err(RuntimeError::Internal(format!(
                "job graph version {} is not supported (expected {JOB_GRAPH_VERSION})",
                g.version
            )));
        }
        Ok(g)
    }

    /// Checks structural invariants: edges name existing vertices, forward edges join
    /// vertices of equal parallelism, and the graph has no cycle.
    pub fn validate(&self) -> Result<()> {
        for e in &self.edges {
            let (s, t) = (self.vertex(e.source)?, self.vertex(e.target)?);
            if matches!(e.partitioner, Partitioner::Forward) && s.parallelism != t.parallelism {
                return Err(RuntimeError::Internal(format!(
                    "forward edge {} -> {} joins parallelism {} and {}",
                    s.id, t.id, s.parallelism, t.parallelism
                )));
            }
        }
        for v in &self.vertices {
            if v.parallelism == 0 {
                return Err(RuntimeError::Internal(format!(
                    "vertex {} has parallelism 0",
                    v.id
                )));
            }
        }
        Ok(())
    }
}
