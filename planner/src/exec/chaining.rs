//! From the exec graph to the job graph: nodes joined by a forward edge run in one task,
//! as Flink's `StreamingJobGraphGenerator` chains operators. A node starts a vertex of
//! its own when it reads several inputs (a join, a union), reads across an exchange,
//! runs at another parallelism, or its input feeds more than one node.

use eddy_runtime::jobgraph::{JobEdge, JobVertex, OperatorSpec, Partitioner, VertexId};

use super::graph::{ExecGraph, ExecKind};

/// The vertices and edges that run `graph`, vertices numbered from 1 in the order of
/// their first node.
pub(crate) fn chain(graph: ExecGraph) -> (Vec<JobVertex>, Vec<JobEdge>) {
    let consumers = graph.consumer_counts();
    let mut vertices: Vec<JobVertex> = Vec::new();
    let mut names: Vec<Vec<String>> = Vec::new();
    let mut edges = Vec::new();
    // Node index -> index of its vertex.
    let mut vertex_of: Vec<usize> = Vec::with_capacity(graph.nodes().len());
    for node in graph.nodes() {
        let chained = match node.inputs.as_slice() {
            [e] if e.exchange == Partitioner::Forward
                && consumers[e.input.index()] == 1
                && graph.node(e.input).parallelism == node.parallelism =>
            {
                Some(vertex_of[e.input.index()])
            }
            _ => None,
        };
        let v = match chained {
            Some(v) => v,
            None => {
                let id = vertices.len() as VertexId + 1;
                for e in &node.inputs {
                    edges.push(JobEdge {
                        source: vertices[vertex_of[e.input.index()]].id,
                        target: id,
                        partitioner: e.exchange.clone(),
                    });
                }
                vertices.push(JobVertex {
                    id,
                    name: String::new(),
                    parallelism: node.parallelism,
                    operators: Vec::new(),
                    changelog_mode: None,
                    operator_modes: Vec::new(),
                });
                names.push(Vec::new());
                vertices.len() - 1
            }
        };
        vertex_of.push(v);
        names[v].push(node.name.clone());
        if let ExecKind::Operator(op) = &node.kind {
            let vertex = &mut vertices[v];
            let mode = match op.as_ref() {
                OperatorSpec::Sink(_) => "NONE".to_string(),
                _ => node
                    .changelog_mode
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            };
            vertex.operators.push(op.as_ref().clone());
            vertex.operator_modes.push(mode);
        }
    }
    for (vertex, names) in vertices.iter_mut().zip(names) {
        vertex.name = names.join(" -> ");
        vertex.changelog_mode = vertex.operator_modes.last().cloned();
    }
    (vertices, edges)
}
