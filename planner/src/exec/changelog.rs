//! Flink's changelog-mode inference (`FlinkChangelogModeInferenceProgram`) over the exec graph,
//! node by node. First, bottom-up, which kinds of change each operator's
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

use eddy_runtime::jobgraph::{OperatorSpec, DROP_UPDATE_BEFORE};

use super::graph::{ExecGraph, ExecKind, ExecNode};
use crate::error::Result;

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
pub(crate) struct ChangelogMode {
    kinds: Kinds,
    update_before: bool,
}

impl std::fmt::Display for ChangelogMode {
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

/// Runs the inference over `graph`: sets each updating operator's `update_before`, takes
/// out the `DropUpdateBefore`s a consumer cannot do without, and records every node's
/// output mode.
pub(crate) fn infer(graph: &mut ExecGraph) -> Result<()> {
    let kinds = kinds_of(graph);
    let needed = needs_update_before(graph, &kinds);
    for node in graph.nodes_mut() {
        let need = needed[node.id.index()];
        if let ExecKind::Operator(op) = &mut node.kind {
            match op.as_mut() {
                OperatorSpec::GroupAggregate(g) => g.update_before = need,
                OperatorSpec::Rank(r) => r.update_before = need,
                OperatorSpec::ChangelogNormalize(c) => c.update_before = need,
                _ => {}
            }
        }
    }
    let dropped = |node: &ExecNode| {
        needed[node.id.index()] && node.operator().is_some_and(is_drop_update_before)
    };
    graph.splice_out(dropped)?;
    // Modes as the operators now are: kinds stay, `-U` is what each one sends.
    let kinds = kinds_of(graph);
    let modes = modes_of(graph, &kinds);
    for (node, mode) in graph.nodes_mut().iter_mut().zip(modes) {
        node.changelog_mode = Some(mode);
    }
    Ok(())
}

fn is_drop_update_before(op: &OperatorSpec) -> bool {
    matches!(op, OperatorSpec::Calc(c) if c.description == DROP_UPDATE_BEFORE)
}

/// Bottom-up: the kinds of change each node's output carries.
fn kinds_of(graph: &ExecGraph) -> Vec<Kinds> {
    let mut kinds: Vec<Kinds> = Vec::with_capacity(graph.nodes().len());
    for node in graph.nodes() {
        let from: Vec<Kinds> = node.inputs.iter().map(|e| kinds[e.input.index()]).collect();
        let any = from.iter().copied().fold(Kinds::default(), Kinds::union);
        kinds.push(match &node.kind {
            ExecKind::Operator(op) => produces(op, &from, any),
            ExecKind::Union => any,
        });
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

/// Top-down: whether each node's output must carry `-U`.
fn needs_update_before(graph: &ExecGraph, kinds: &[Kinds]) -> Vec<bool> {
    let mut needed = vec![false; graph.nodes().len()];
    for node in graph.nodes().iter().rev() {
        let own = needed[node.id.index()];
        for (n, e) in node.inputs.iter().enumerate() {
            let need = match &node.kind {
                ExecKind::Operator(op) => requires(op, n, own),
                // A union forwards what its consumer needs.
                ExecKind::Union => own,
            };
            needed[e.input.index()] |= kinds[e.input.index()].update && need;
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

/// Every node's mode once the operators are set.
fn modes_of(graph: &ExecGraph, kinds: &[Kinds]) -> Vec<ChangelogMode> {
    let mut modes: Vec<ChangelogMode> = Vec::with_capacity(graph.nodes().len());
    for node in graph.nodes() {
        let from: Vec<ChangelogMode> = node.inputs.iter().map(|e| modes[e.input.index()]).collect();
        let update_before = match &node.kind {
            ExecKind::Union => from.iter().any(|m| m.update_before),
            ExecKind::Operator(op) => match op.as_ref() {
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
            },
        };
        let kinds = kinds[node.id.index()];
        modes.push(ChangelogMode {
            kinds,
            update_before: update_before && kinds.update,
        });
    }
    modes
}
