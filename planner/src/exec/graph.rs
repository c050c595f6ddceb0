//! The exec graph's shape: nodes in the order the planner made them, each after its inputs,
//! each input an edge that says how rows cross it.

use eddy_runtime::jobgraph::{OperatorSpec, Partitioner};

use super::changelog::ChangelogMode;
use crate::error::{PlanError, Result};

/// A node's place in its graph. Nodes are found by id, never by address, so a graph can
/// be rewritten (a node taken out) and its modes looked up after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ExecNodeId(pub(super) usize);

impl ExecNodeId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a node does.
#[derive(Debug, Clone)]
pub(crate) enum ExecKind {
    /// One runtime operator.
    Operator(Box<OperatorSpec>),
    /// Flink's StreamExecUnion: its inputs' streams as one, with no operator of its own
    /// (the task reading several inputs merges them).
    Union,
}

/// One input of a node.
#[derive(Debug, Clone)]
pub(crate) struct ExecEdge {
    pub input: ExecNodeId,
    /// How rows go from the input's subtasks to this node's: `Forward` keeps them on the
    /// same subtask (and lets the two nodes chain), the others are Flink's Exchange.
    pub exchange: Partitioner,
}

/// An operator of the physical plan, as Flink's `ExecNode`.
#[derive(Debug, Clone)]
pub(crate) struct ExecNode {
    pub id: ExecNodeId,
    pub kind: ExecKind,
    /// How the node is named in its vertex's name (`Calc(...)`, `Sink: t[print]`, `Union`).
    pub name: String,
    /// In input order: a join's left input first.
    pub inputs: Vec<ExecEdge>,
    pub parallelism: u32,
    /// What the node's output carries; set for every node by `changelog::infer`.
    pub changelog_mode: Option<ChangelogMode>,
}

impl ExecNode {
    pub fn operator(&self) -> Option<&OperatorSpec> {
        match &self.kind {
            ExecKind::Operator(op) => Some(op.as_ref()),
            ExecKind::Union => None,
        }
    }
}

/// The physical plan of a job (of every INSERT of a statement set).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecGraph {
    nodes: Vec<ExecNode>,
}

impl ExecGraph {
    /// Adds a node reading `inputs`, which must already be in the graph.
    pub fn push(
        &mut self,
        kind: ExecKind,
        name: String,
        inputs: Vec<ExecEdge>,
        parallelism: u32,
    ) -> Result<ExecNodeId> {
        let id = ExecNodeId(self.nodes.len());
        if let Some(e) = inputs.iter().find(|e| e.input >= id) {
            return Err(PlanError::NotSupported(format!(
                "internal: exec node {} would read node {}, which does not come before it",
                id.0, e.input.0
            )));
        }
        self.nodes.push(ExecNode {
            id,
            kind,
            name,
            inputs,
            parallelism,
            changelog_mode: None,
        });
        Ok(id)
    }

    /// Every node, each after its inputs.
    pub fn nodes(&self) -> &[ExecNode] {
        &self.nodes
    }

    pub fn nodes_mut(&mut self) -> &mut [ExecNode] {
        &mut self.nodes
    }

    pub fn node(&self, id: ExecNodeId) -> &ExecNode {
        &self.nodes[id.0]
    }

    /// How many edges read each node's output.
    pub fn consumer_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.nodes.len()];
        for e in self.nodes.iter().flat_map(|n| &n.inputs) {
            counts[e.input.0] += 1;
        }
        counts
    }

    /// Takes out the one-input nodes `drop` selects: whoever read one reads its input. The
    /// consumer's exchange stays, unless it was a forward one (the dropped node's then
    /// applies). Ids are given again, in the same order.
    pub fn splice_out(&mut self, drop: impl Fn(&ExecNode) -> bool) -> Result<()> {
        // Old id -> the edge that now stands for its output.
        let mut replaced: Vec<ExecEdge> = Vec::with_capacity(self.nodes.len());
        let mut kept = Vec::with_capacity(self.nodes.len());
        for mut node in std::mem::take(&mut self.nodes) {
            for e in &mut node.inputs {
                let to = &replaced[e.input.0];
                e.input = to.input;
                if e.exchange == Partitioner::Forward {
                    e.exchange = to.exchange.clone();
                }
            }
            match drop(&node) {
                true => {
                    let [input] = <[ExecEdge; 1]>::try_from(node.inputs).map_err(|inputs| {
                        PlanError::NotSupported(format!(
                            "internal: cannot take out {}, which reads {} inputs",
                            node.name,
                            inputs.len()
                        ))
                    })?;
                    replaced.push(input);
                }
                false => {
                    node.id = ExecNodeId(kept.len());
                    replaced.push(ExecEdge {
                        input: node.id,
                        exchange: Partitioner::Forward,
                    });
                    kept.push(node);
                }
            }
        }
        self.nodes = kept;
        Ok(())
    }
}
