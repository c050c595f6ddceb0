//! Stable operator identities: what matches an operator's state in a checkpoint or
//! savepoint to the operator of a (possibly changed) job. Derived from what makes the
//! state what it is (the table a source reads or a sink writes; a window aggregate's
//! windows, keys and aggregates; a window join's type, windows, keys and condition) rather
//! than from positions in the graph, so that dropping a filter or adding a projection in
//! front of a window aggregation keeps its state, while changing its window size does not.
//! Stateless operators have none.

use std::collections::BTreeMap;

use crate::jobgraph::{JobGraph, JobVertex, OperatorSpec, VertexId};

/// The uid of every operator that has one, by (vertex, position in its chain). Two
/// operators with the same description get `#2`, `#3`... in vertex order.
pub fn operator_uids(graph: &JobGraph) -> BTreeMap<(VertexId, usize), String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for v in &graph.vertices {
        for (i, op) in v.operators.iter().enumerate() {
            let Some(base) = basis(op, &windows_into(graph, v, i)) else {
                continue;
            };
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

fn basis(op: &OperatorSpec, windows: &[String]) -> Option<String> {
    let windows = windows.join(",");
    match op {
        OperatorSpec::Source(s) => Some(format!("source:{}", s.connector.table)),
        OperatorSpec::Sink(s) => Some(format!("sink:{}", s.connector.table)),
        OperatorSpec::WindowAggregate(w) => {
            Some(format!("window-aggregate:{windows}:{}", w.description))
        }
        // The global phase keeps the same accumulators as a one-phase aggregation, under
        // the same uid: a savepoint taken with either restores into the other.
        OperatorSpec::GroupAggregate(g) => Some(format!("group-aggregate:{}", g.description)),
        OperatorSpec::StreamJoin(j) => Some(format!("join:{}", j.description)),
        OperatorSpec::Rank(r) => Some(format!("rank:{}", r.description)),
        OperatorSpec::ChangelogNormalize(c) => {
            Some(format!("changelog-normalize:{}:{}", c.table, c.description))
        }
        OperatorSpec::UpsertMaterializer(m) => {
            Some(format!("upsert-materializer:{}:{}", m.table, m.description))
        }
        OperatorSpec::IntervalJoin(j) => Some(format!("interval-join:{}", j.description)),
        OperatorSpec::TemporalJoin(j) => Some(format!("temporal-join:{}", j.description)),
        OperatorSpec::OverAggregate(o) => Some(format!("over-aggregate:{}", o.description)),
        OperatorSpec::WindowJoin(w) => Some(format!(
            "window-join:{:?}:{windows}:{}",
            w.join_type, w.description
        )),
        // The local phase of an aggregation keeps no state: it flushes before each barrier.
        OperatorSpec::Calc(_)
        | OperatorSpec::WindowTvf(_)
        | OperatorSpec::LocalGroupAggregate(_) => None,
    }
}

/// The windows operator `i` of `vertex` works on: the window TVF before it in its chain,
/// else the last one of each vertex feeding it, in input order.
fn windows_into(graph: &JobGraph, vertex: &JobVertex, i: usize) -> Vec<String> {
    let last_tvf = |ops: &[OperatorSpec]| {
        ops.iter().rev().find_map(|op| match op {
            OperatorSpec::WindowTvf(t) => Some(t.kind.to_string()),
            _ => None,
        })
    };
    if let Some(kind) = last_tvf(&vertex.operators[..i]) {
        return vec![kind];
    }
    graph
        .inputs_of(vertex.id)
        .iter()
        .filter_map(|e| graph.vertex(e.source).ok())
        .filter_map(|u| last_tvf(&u.operators))
        .collect()
}
