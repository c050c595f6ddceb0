//! EXPLAIN for streaming statements: vertices with their chained operators and
//! parallelism, then the edges between them. The text is stable for snapshot tests.
//! With CHANGELOG_MODE each operator also says what its output carries, and
//! JSON_EXECUTION_PLAN gives the graph in the shape of Flink's JSON execution plan.

use eddy_runtime::jobgraph::{JobGraph, OperatorSpec};

/// Renders a job graph for EXPLAIN; `changelog` adds each vertex's changelog mode.
pub fn explain(graph: &JobGraph, changelog: bool) -> String {
    let mut out = String::from("== Streaming Plan ==\n");
    for v in &graph.vertices {
        out.push_str(&format!(
            "Vertex {} [parallelism={}]\n",
            v.id, v.parallelism
        ));
        for (i, op) in v.operators.iter().enumerate() {
            let arrow = if i == 0 { "  " } else { "  -> " };
            let text = match (changelog, v.operator_modes.get(i)) {
                (true, Some(mode)) => with_mode(&op.describe(), mode),
                _ => op.describe(),
            };
            out.push_str(&format!("{arrow}{text}\n"));
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

/// An operator's description with its output's changelog mode, as Flink's EXPLAIN
/// CHANGELOG_MODE writes it: inside the parentheses, last.
fn with_mode(describe: &str, mode: &str) -> String {
    match describe.strip_suffix(')') {
        Some(head) if head.contains('(') => format!("{head}, changelogMode=[{mode}])"),
        _ => format!("{describe}(changelogMode=[{mode}])"),
    }
}

/// The graph as Flink's JSON execution plan: one node per operator, chained operators
/// linked FORWARD, vertices linked by their exchange's strategy.
pub fn json_plan(graph: &JobGraph) -> String {
    let mut nodes = Vec::new();
    // The id of each vertex's first and last operator node.
    let mut ends = std::collections::HashMap::new();
    let mut next = 1u32;
    for v in &graph.vertices {
        let first = next;
        for (i, op) in v.operators.iter().enumerate() {
            let pact = match op {
                OperatorSpec::Source(_) => "Data Source",
                OperatorSpec::Sink(_) => "Data Sink",
                _ => "Operator",
            };
            let mut predecessors = Vec::new();
            if i > 0 {
                predecessors.push(serde_json::json!({
                    "id": next - 1,
                    "ship_strategy": "FORWARD",
                    "side": "second",
                }));
            }
            nodes.push((
                next,
                v.id,
                i,
                op.describe(),
                pact,
                v.parallelism,
                predecessors,
            ));
            next += 1;
        }
        ends.insert(v.id, (first, next - 1));
    }
    let json: Vec<serde_json::Value> = nodes
        .into_iter()
        .map(
            |(id, vertex, i, contents, pact, parallelism, mut predecessors)| {
                if i == 0 {
                    for e in graph.edges.iter().filter(|e| e.target == vertex) {
                        if let Some((_, last)) = ends.get(&e.source) {
                            predecessors.push(serde_json::json!({
                                "id": last,
                                "ship_strategy": e.partitioner.to_string().to_uppercase(),
                                "side": "second",
                            }));
                        }
                    }
                }
                let kind = contents.split('(').next().unwrap_or_default().to_string();
                let mut node = serde_json::json!({
                    "id": id,
                    "type": kind,
                    "pact": pact,
                    "contents": contents,
                    "parallelism": parallelism,
                });
                if !predecessors.is_empty() {
                    node["predecessors"] = serde_json::Value::Array(predecessors);
                }
                node
            },
        )
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "nodes": json })).unwrap_or_default()
}
