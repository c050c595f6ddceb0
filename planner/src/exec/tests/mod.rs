use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use eddy_runtime::jobgraph::{CalcSpec, OperatorSpec, Partitioner, SerializedSchema};

use super::*;

/// A Calc that passes its one column through, named `name`.
fn calc(name: &str) -> ExecKind {
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
    let encoded = SerializedSchema::encode(&schema).expect("a schema encodes");
    ExecKind::Operator(Box::new(OperatorSpec::Calc(CalcSpec {
        input_schema: encoded.clone(),
        output_schema: encoded,
        filter: None,
        projection: Vec::new(),
        description: name.to_string(),
    })))
}

fn edge(input: ExecNodeId, exchange: Partitioner) -> ExecEdge {
    ExecEdge { input, exchange }
}

fn node(graph: &mut ExecGraph, name: &str, inputs: Vec<ExecEdge>, parallelism: u32) -> ExecNodeId {
    graph
        .push(calc(name), name.to_string(), inputs, parallelism)
        .expect("inputs come first")
}

/// (name, parallelism) of each vertex, and its input edges as (source, target, exchange).
type Shape = (Vec<(String, u32)>, Vec<(u32, u32, String)>);

fn shape(graph: ExecGraph) -> Shape {
    let (vertices, edges) = chain(graph);
    (
        vertices
            .iter()
            .map(|v| (v.name.clone(), v.parallelism))
            .collect(),
        edges
            .iter()
            .map(|e| (e.source, e.target, e.partitioner.to_string()))
            .collect(),
    )
}

#[test]
fn forward_edges_at_equal_parallelism_chain_and_exchanges_start_vertices() {
    let mut g = ExecGraph::default();
    let a = node(&mut g, "a", vec![], 2);
    let b = node(&mut g, "b", vec![edge(a, Partitioner::Forward)], 2);
    let hash = Partitioner::Hash {
        key_columns: vec![0],
    };
    let c = node(&mut g, "c", vec![edge(b, hash)], 2);
    let d = node(&mut g, "d", vec![edge(c, Partitioner::Forward)], 2);
    // Another parallelism: its own vertex, whatever the edge says.
    node(&mut g, "e", vec![edge(d, Partitioner::Rebalance)], 1);
    let (vertices, edges) = shape(g);
    assert_eq!(
        vertices,
        [
            ("a -> b".to_string(), 2),
            ("c -> d".to_string(), 2),
            ("e".to_string(), 1)
        ]
    );
    assert_eq!(
        edges,
        [
            (1, 2, "HASH[0]".to_string()),
            (2, 3, "REBALANCE".to_string())
        ]
    );
}

#[test]
fn a_union_heads_the_vertex_that_reads_its_inputs() {
    let mut g = ExecGraph::default();
    let a = node(&mut g, "a", vec![], 1);
    let b = node(&mut g, "b", vec![], 1);
    let union = g
        .push(
            ExecKind::Union,
            "Union".to_string(),
            vec![edge(a, Partitioner::Forward), edge(b, Partitioner::Forward)],
            1,
        )
        .unwrap();
    node(&mut g, "c", vec![edge(union, Partitioner::Forward)], 1);
    let (vertices, edges) = shape(g);
    assert_eq!(
        vertices,
        [
            ("a".to_string(), 1),
            ("b".to_string(), 1),
            ("Union -> c".to_string(), 1)
        ]
    );
    assert_eq!(
        edges,
        [(1, 3, "FORWARD".to_string()), (2, 3, "FORWARD".to_string())]
    );
}

#[test]
fn a_node_read_twice_ends_its_vertex() {
    let mut g = ExecGraph::default();
    let a = node(&mut g, "a", vec![], 1);
    node(&mut g, "b", vec![edge(a, Partitioner::Forward)], 1);
    node(&mut g, "c", vec![edge(a, Partitioner::Forward)], 1);
    let (vertices, _) = shape(g);
    assert_eq!(vertices.len(), 3);
}

#[test]
fn a_node_taken_out_hands_its_readers_its_input() {
    let mut g = ExecGraph::default();
    let a = node(&mut g, "a", vec![], 1);
    let x = node(&mut g, "x", vec![edge(a, Partitioner::Forward)], 1);
    let hash = Partitioner::Hash {
        key_columns: vec![0],
    };
    node(&mut g, "y", vec![edge(x, hash.clone())], 1);
    let z = node(&mut g, "z", vec![edge(a, Partitioner::Rebalance)], 1);
    node(&mut g, "w", vec![edge(z, Partitioner::Forward)], 1);
    g.splice_out(|n| n.name == "x" || n.name == "z").unwrap();
    let names: Vec<&str> = g.nodes().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "y", "w"]);
    let y = &g.nodes()[1];
    assert_eq!((y.id.index(), y.inputs[0].input.index()), (1, 0));
    // The reader's own exchange stays; a forward one takes the removed node's.
    assert_eq!(y.inputs[0].exchange, hash);
    assert_eq!(g.nodes()[2].inputs[0].exchange, Partitioner::Rebalance);
}

#[test]
fn a_node_cannot_read_one_that_comes_after_it() {
    let mut g = ExecGraph::default();
    let a = node(&mut g, "a", vec![], 1);
    let ahead = ExecNodeId(a.index() + 5);
    assert!(g
        .push(
            calc("b"),
            "b".into(),
            vec![edge(ahead, Partitioner::Forward)],
            1
        )
        .is_err());
    // Taking out a node that reads two inputs is refused, not guessed at.
    let b = node(&mut g, "b", vec![], 1);
    node(
        &mut g,
        "j",
        vec![edge(a, Partitioner::Forward), edge(b, Partitioner::Forward)],
        1,
    );
    assert!(g.splice_out(|n| n.name == "j").is_err());
}
