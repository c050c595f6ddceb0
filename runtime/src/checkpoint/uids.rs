//! Stable operator identities: what matches an operator's state in a checkpoint or
//! savepoint to the operator of a (possibly changed) job. Derived from what makes the
//! state what it is (the table a source reads or a sink writes, a window aggregate's
//! window, keys and aggregates) rather than from positions in the graph, so that dropping
//! a filter or adding a projection in front of a window aggregation keeps its state.
//! Stateless operators have none.

use std::collections::BTreeMap;

use crate::jobgraph::{JobGraph, OperatorSpec, VertexId};

/// The uid of every operator that has one, by (vertex, position in its chain). Two
/// operators with the same description get `#2`, `#3`... in vertex order.
pub fn operator_uids(graph: &JobGraph) -> BTreeMap<(VertexId, usize), String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for v in &graph.vertices {
        for (i, op) in v.operators.iter().enumerate() {
            let Some(base) = basis(op) else { continue };
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let uid = match *n {
                1 => base,
                n => format!("{base}#{n}"),
            };
            out.insert((v.id, i), uid);
        }
    }
    out
}

fn basis(op: &OperatorSpec) -> Option<String> {
    match op {
        OperatorSpec::Source(s) => Some(format!("source:{}", s.connector.table)),
        OperatorSpec::Sink(s) => Some(format!("sink:{}", s.connector.table)),
        OperatorSpec::WindowAggregate(w) => Some(format!("window-aggregate:{}", w.description)),
        OperatorSpec::WindowJoin(w) => Some(format!("window-join:{}", w.description)),
        OperatorSpec::Calc(_) | OperatorSpec::WindowTvf(_) => None,
    }
}
