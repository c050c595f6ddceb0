//! EXPLAIN for streaming statements: vertices with their chained operators and
//! parallelism, then the edges between them. The text is stable for snapshot tests.

use eddy_runtime::jobgraph::JobGraph;

/// Renders a job graph for EXPLAIN.
pub fn explain(graph: &JobGraph) -> String {
    let mut out = String::from("== Streaming Plan ==\n");
    for v in &graph.vertices {
        out.push_str(&format!(
            "Vertex {} [parallelism={}]\n",
            v.id, v.parallelism
        ));
        for (i, op) in v.operators.iter().enumerate() {
            let arrow = if i == 0 { "  " } else { "  -> " };
            out.push_str(&format!("{arrow}{}\n", op.describe()));
        }
    }
    if !graph.edges.is_empty() {
        out.push_str("== Exchanges ==\n");
        for e in &graph.edges {
            out.push_str(&format!(
                "Vertex {} -> Vertex {} [{}]\n",
                e.source, e.target, e.partitioner
            ));
        }
    }
    out
}
