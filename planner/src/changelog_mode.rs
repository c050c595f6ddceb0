//! Flink's changelog-mode inference (`FlinkChangelogModeInferenceProgram`) over a built job
//! graph, operator by operator. First, bottom-up, which kinds of change each operator's
//! output can carry (insert, update, delete: Flink's `ModifyKindSet`). Then, top-down,
//! whether any consumer needs the old side of an update (`-U`: Flink's `UpdateKindTrait`
//! BEFORE_AND_AFTER against ONLY_UPDATE_AFTER). An operator that makes updates sends `-U`
//! only when something downstream needs it (Flink's `generateUpdateBefore`), and the
//! `DropUpdateBefore` placed after a changelog source stays only where nobody does.
//!
//! Who needs `-U`: a sink that takes a retract stream, or an upsert sink whose primary key
//! is not the query's upsert key (decided when the sink is planned, `SinkSpec`); a
//! filter over updates (a `+U` it drops must not leave the old row standing: FLINK-9528);
//! aggregations, Top-N and regular joins over updates, which retract with it. A temporal
//! join's versioned side and ChangelogNormalize's input never do.

use eddy_runtime::jobgraph::{JobGraph, OperatorSpec, DROP_UPDATE_BEFORE};

use crate::error::{PlanError, Result};

/// Which kinds of change a stream carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Kinds {
    insert: bool,
    update: bool,
    delete: bool,
}

impl Kinds {
    const INSERT_ONLY: Kinds = Kinds {
        insert: true,
        update: false,
        delete: false,
    };
    const ALL: Kinds = Kinds {
        insert: true,
        update: true,
        delete: true,
    };

    fn union(self, other: Kinds) -> Kinds {
        Kinds {
            insert: self.insert || other.insert,
            update: self.update || other.update,
            delete: self.delete || other.delete,
        }
    }

    fn changes(self) -> bool {
        self.update || self.delete
    }
}

/// A stream's changelog mode: its kinds, and whether its updates carry `-U`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mode {
    kinds: Kinds,
    update_before: bool,
}

impl std::fmt::Display for Mode {
    /// As Flink's EXPLAIN writes it: `I`, `I,UB,UA`, `I,UA,D`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = self.kinds;
        let parts: Vec<&str> = [
            (k.insert, "I"),
            (k.update && self.update_before, "UB"),
            (k.update, "UA"),
            (k.delete, "D"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        match parts.is_empty() {
            true => f.write_str("NONE"),
            false => f.write_str(&parts.join(",")),
        }
    }
}

/// A stream inside the graph: the output of the first `ops` operators of a vertex (0: what
/// the vertex's input edges bring).
type Position = (usize, usize);

/// Runs the inference over `graph`, sets each updating operator's `update_before`, drops
/// the `DropUpdateBefore`s a consumer cannot do without, and records every operator's
/// output mode for EXPLAIN.
pub(crate) fn infer(graph: &mut JobGraph) -> Result<()> {
    let inputs = vertex_inputs(graph)?;
    let kinds = kinds_of(graph, &inputs);
    let needed = needs_update_before(graph, &inputs, &kinds);
    for (v, vertex) in graph.vertices.iter_mut().enumerate() {
        let mut keep = Vec::with_capacity(vertex.operators.len());
        for (i, op) in vertex.operators.iter_mut().enumerate() {
            let need = needed[v][i + 1];
            match op {
                OperatorSpec::GroupAggregate(g) => g.update_before = need,
                OperatorSpec::Rank(r) => r.update_before = need,
                OperatorSpec::ChangelogNormalize(c) => c.update_before = need,
                _ => {}
            }
            keep.push(!(need && is_drop_update_before(op)));
        }
        // The vertex's name lists its operators; a dropped one leaves it.
        for _ in keep.iter().filter(|k| !**k) {
            vertex.name = match vertex.name.split_once(" -> DropUpdateBefore") {
                Some((head, tail)) => format!("{head}{tail}"),
                None => vertex.name.replacen("DropUpdateBefore -> ", "", 1),
            };
        }
        let mut k = keep.into_iter();
        vertex.operators.retain(|_| k.next().unwrap_or(true));
    }
    // Modes as the operators now are: kinds stay, `-U` is what each one sends.
    let modes = modes_of(graph, &inputs, &kinds_of(graph, &inputs));
    for (v, vertex) in graph.vertices.iter_mut().enumerate() {
        vertex.operator_modes = vertex
            .operators
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                OperatorSpec::Sink(_) => "NONE".to_string(),
                _ => modes[v][i + 1].to_string(),
            })
            .collect();
        vertex.changelog_mode = vertex.operator_modes.last().cloned();
    }
    Ok(())
}

fn is_drop_update_before(op: &OperatorSpec) -> bool {
    matches!(op, OperatorSpec::Calc(c) if c.description == DROP_UPDATE_BEFORE)
}

/// Each vertex's upstream vertices (as indexes), in input order. Vertices come after the
/// vertices they read, as the planner closes them.
fn vertex_inputs(graph: &JobGraph) -> Result<Vec<Vec<usize>>> {
    graph
        .vertices
        .iter()
        .enumerate()
        .map(|(v, vertex)| {
            graph
                .inputs_of(vertex.id)
                .iter()
                .map(|e| {
                    graph
                        .vertices
                        .iter()
                        .position(|u| u.id == e.source)
                        .filter(|&u| u < v)
                        .ok_or_else(|| {
                            PlanError::NotSupported(format!(
                                "vertex {} reads vertex {}, which does not come before it",
                                vertex.id, e.source
                            ))
                        })
                })
                .collect()
        })
        .collect()
}

/// The streams an operator reads: the previous operator's output, or (first in its vertex)
/// each input edge's stream, in input order.
fn operator_inputs(graph: &JobGraph, inputs: &[Vec<usize>], (v, i): Position) -> Vec<Position> {
    match i {
        0 => inputs[v]
            .iter()
            .map(|&u| (u, graph.vertices[u].operators.len()))
            .collect(),
        _ => vec![(v, i)],
    }
}

/// Bottom-up: the kinds of change at every position (`[vertex][ops]`).
fn kinds_of(graph: &JobGraph, inputs: &[Vec<usize>]) -> Vec<Vec<Kinds>> {
    let mut kinds: Vec<Vec<Kinds>> = Vec::with_capacity(graph.vertices.len());
    for (v, vertex) in graph.vertices.iter().enumerate() {
        let mut at = Vec::with_capacity(vertex.operators.len() + 1);
        at.push(
            inputs[v]
                .iter()
                .map(|&u| kinds[u].last().copied().unwrap_or_default())
                .fold(Kinds::default(), Kinds::union),
        );
        for (i, op) in vertex.operators.iter().enumerate() {
            let from: Vec<Kinds> = operator_inputs(graph, inputs, (v, i))
                .into_iter()
                .map(|(u, j)| match u == v {
                    true => at[j],
                    false => kinds[u][j],
                })
                .collect();
            let any = from.iter().copied().fold(Kinds::default(), Kinds::union);
            at.push(produces(op, &from, any));
        }
        kinds.push(at);
    }
    kinds
}

/// What `op` emits given what it reads (`from`, per input; `any`, their union).
fn produces(op: &OperatorSpec, from: &[Kinds], any: Kinds) -> Kinds {
    match op {
        OperatorSpec::Source(s) => match source_emits_changes(&s.connector) {
            true => Kinds::ALL,
            false => Kinds::INSERT_ONLY,
        },
        OperatorSpec::Calc(_) => any,
        // The global phase over an updating input reads partial rows that are inserts,
        // yet deletes a group whose rows were all taken out.
        OperatorSpec::GroupAggregate(g) => Kinds {
            insert: true,
            update: true,
            delete: any.changes() || g.retracting,
        },
        // Eddy's regular join retracts with `-D` and re-adds with `+I`, never `-U`/`+U`.
        OperatorSpec::StreamJoin(j) => Kinds {
            insert: true,
            update: false,
            delete: j.updating || any.changes(),
        },
        OperatorSpec::Rank(r) if r.updating => Kinds::ALL,
        OperatorSpec::ChangelogNormalize(_) | OperatorSpec::UpsertMaterializer(_) => Kinds::ALL,
        OperatorSpec::TemporalJoin(_) => from.first().copied().unwrap_or(Kinds::INSERT_ONLY),
        OperatorSpec::Sink(_) => Kinds::default(),
        OperatorSpec::Rank(_)
        | OperatorSpec::LocalGroupAggregate(_)
        | OperatorSpec::WindowTvf(_)
        | OperatorSpec::WindowAggregate(_)
        | OperatorSpec::WindowJoin(_)
        | OperatorSpec::IntervalJoin(_)
        | OperatorSpec::OverAggregate(_) => Kinds::INSERT_ONLY,
    }
}

/// Whether a source reads a changelog: a changelog format (`debezium-json`, `canal-json`)
/// or an upsert table.
fn source_emits_changes(spec: &eddy_runtime::jobgraph::ConnectorSpec) -> bool {
    spec.connector() == "upsert-kafka"
        || spec
            .options
            .get("format")
            .or_else(|| spec.options.get("value.format"))
            .is_some_and(|f| {
                eddy_connectors::registry::format_factory(f).is_ok_and(|f| f.produces_changelog())
            })
}

/// Top-down: whether the stream at each position must carry `-U`.
fn needs_update_before(
    graph: &JobGraph,
    inputs: &[Vec<usize>],
    kinds: &[Vec<Kinds>],
) -> Vec<Vec<bool>> {
    let mut needed: Vec<Vec<bool>> = graph
        .vertices
        .iter()
        .map(|v| vec![false; v.operators.len() + 1])
        .collect();
    for (v, vertex) in graph.vertices.iter().enumerate().rev() {
        for (i, op) in vertex.operators.iter().enumerate().rev() {
            let own = needed[v][i + 1];
            let from = operator_inputs(graph, inputs, (v, i));
            for (n, (u, j)) in from.into_iter().enumerate() {
                let updates = kinds[u][j].update;
                let need = updates && requires(op, n, own);
                needed[u][j] |= need;
            }
        }
        // What the vertex's input needs, its upstream outputs need (a union forwards it).
        if needed[v][0] {
            for &u in &inputs[v] {
                let last = graph.vertices[u].operators.len();
                needed[u][last] = true;
            }
        }
    }
    needed
}

/// Whether `op` needs `-U` on its input number `n` when its own output needs it (`own`).
fn requires(op: &OperatorSpec, n: usize, own: bool) -> bool {
    match op {
        OperatorSpec::Sink(s) => s.update_before,
        OperatorSpec::Calc(c) if c.description == DROP_UPDATE_BEFORE => false,
        OperatorSpec::Calc(c) => own || c.filter.is_some(),
        // A local phase over updates takes each row out of its group's change.
        OperatorSpec::LocalGroupAggregate(l) if l.retracting => true,
        // The materializer finds each retracted row among those standing.
        OperatorSpec::GroupAggregate(_)
        | OperatorSpec::Rank(_)
        | OperatorSpec::StreamJoin(_)
        | OperatorSpec::UpsertMaterializer(_) => true,
        // The versioned side keeps the latest row per key: `+U` alone does. An inner join
        // drops left rows without a version, as a filter does, so its left side keeps `-U`.
        OperatorSpec::TemporalJoin(j) => n == 0 && (own || !j.left_outer),
        OperatorSpec::ChangelogNormalize(_) => false,
        OperatorSpec::Source(_)
        | OperatorSpec::LocalGroupAggregate(_)
        | OperatorSpec::WindowTvf(_)
        | OperatorSpec::WindowAggregate(_)
        | OperatorSpec::WindowJoin(_)
        | OperatorSpec::IntervalJoin(_)
        | OperatorSpec::OverAggregate(_) => own,
    }
}

/// Every position's mode once the operators are set.
fn modes_of(graph: &JobGraph, inputs: &[Vec<usize>], kinds: &[Vec<Kinds>]) -> Vec<Vec<Mode>> {
    let mut modes: Vec<Vec<Mode>> = Vec::with_capacity(graph.vertices.len());
    for (v, vertex) in graph.vertices.iter().enumerate() {
        let mut at = Vec::with_capacity(vertex.operators.len() + 1);
        at.push(Mode {
            kinds: kinds[v][0],
            update_before: inputs[v]
                .iter()
                .any(|&u| modes[u].last().is_some_and(|m| m.update_before)),
        });
        for (i, op) in vertex.operators.iter().enumerate() {
            let from: Vec<Mode> = operator_inputs(graph, inputs, (v, i))
                .into_iter()
                .map(|(u, j)| match u == v {
                    true => at[j],
                    false => modes[u][j],
                })
                .collect();
            let update_before = match op {
                // An upsert table's records are new values and tombstones.
                OperatorSpec::Source(s) => s.connector.connector() != "upsert-kafka",
                OperatorSpec::Calc(c) if c.description == DROP_UPDATE_BEFORE => false,
                OperatorSpec::GroupAggregate(g) => g.update_before,
                OperatorSpec::Rank(r) => r.update_before,
                OperatorSpec::ChangelogNormalize(c) => c.update_before,
                // Flink's SinkUpsertMaterializer sends upserts: +I, +U, -D.
                OperatorSpec::UpsertMaterializer(_) => false,
                OperatorSpec::TemporalJoin(_) => from.first().is_some_and(|m| m.update_before),
                _ => from.iter().any(|m| m.update_before),
            };
            let kinds = kinds[v][i + 1];
            at.push(Mode {
                kinds,
                update_before: update_before && kinds.update,
            });
        }
        modes.push(at);
    }
    modes
}
