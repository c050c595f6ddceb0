//! Deals a checkpoint's state to the subtasks of the job restoring from it, which may have
//! another parallelism or, for a savepoint, another shape: state is matched to operators by
//! uid; keyed state goes to the subtasks whose key groups it overlaps, operator state is
//! dealt round-robin, and source splits are gathered for the source to deal over its new
//! subtasks.

use std::collections::{BTreeMap, BTreeSet};

use eddy_runtime::checkpoint::operator_uids;
use eddy_runtime::connector::SourceSplit;
use eddy_runtime::jobgraph::{JobGraph, OperatorSpec};
use eddy_runtime::state::key_group::compute_key_group_range_for_operator_index;
use eddy_runtime::state::KeyGroupRange;
use eddy_runtime::RuntimeError;

use super::{CheckpointMetadata, OperatorRestore, TaskRestore};
use crate::error::{ClusterError, Result};

/// What every subtask of the new job gets.
#[derive(Debug, Default)]
pub struct RestorePlan {
    /// By (vertex, subtask).
    pub tasks: BTreeMap<(u32, u32), TaskRestore>,
    /// By source vertex: the splits its subtasks held, which the source deals to the new
    /// subtasks ([`eddy_runtime::connector::Source::assign_splits`]).
    pub splits: BTreeMap<u32, Vec<SourceSplit>>,
}

fn overlaps(a: KeyGroupRange, b: KeyGroupRange) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// Plans the restore of `graph` from `metadata`, stored under `root`. Fails, naming the
/// operator, when the checkpoint holds state no operator of `graph` claims (unless
/// `ignore_unclaimed`), or when the number of key groups changed.
pub fn plan(
    metadata: &CheckpointMetadata,
    root: &str,
    graph: &JobGraph,
    max_parallelism: u32,
    ignore_unclaimed: bool,
) -> Result<RestorePlan> {
    if metadata.max_parallelism != max_parallelism {
        return Err(ClusterError::Runtime(RuntimeError::User(format!(
            "the checkpoint was taken with 'pipeline.max-parallelism' = {}, the job has {}: key groups cannot be mapped",
            metadata.max_parallelism, max_parallelism
        ))));
    }
    let uids = operator_uids(graph);
    let claimed: BTreeSet<&str> = uids.values().map(String::as_str).collect();
    let old_parallelism: BTreeMap<u32, u32> = metadata.parallelism.iter().copied().collect();
    // By uid: (file, old subtask, old parallelism) of every subtask holding its state.
    let mut holders: BTreeMap<&str, Vec<(&str, u32, u32)>> = BTreeMap::new();
    for task in &metadata.tasks {
        let p = old_parallelism.get(&task.vertex_id).copied().unwrap_or(1);
        for uid in &task.uids {
            holders.entry(uid.as_str()).or_default().push((
                task.path.as_str(),
                task.subtask_index,
                p,
            ));
        }
        if let Some(uid) = &task.source_uid {
            if !claimed.contains(uid.as_str()) && !ignore_unclaimed {
                return Err(unclaimed(uid));
            }
        }
    }
    if !ignore_unclaimed {
        if let Some(uid) = holders.keys().find(|u| !claimed.contains(*u)) {
            return Err(unclaimed(uid));
        }
    }

    let mut out = RestorePlan::default();
    for v in &graph.vertices {
        for subtask in 0..v.parallelism {
            let range =
                compute_key_group_range_for_operator_index(max_parallelism, v.parallelism, subtask);
            let mut restore = TaskRestore {
                root: root.to_string(),
                ..Default::default()
            };
            for (i, _) in v.operators.iter().enumerate() {
                let Some(uid) = uids.get(&(v.id, i)) else {
                    continue;
                };
                let Some(files) = holders.get(uid.as_str()) else {
                    continue;
                };
                let mut op = OperatorRestore {
                    uid: uid.clone(),
                    ..Default::default()
                };
                for &(path, old_subtask, old_p) in files {
                    let old_range = compute_key_group_range_for_operator_index(
                        max_parallelism,
                        old_p,
                        old_subtask,
                    );
                    if overlaps(range, old_range) {
                        op.keyed.push(path.to_string());
                    }
                    if old_subtask % v.parallelism == subtask {
                        op.operator.push(path.to_string());
                    }
                    op.union.push(path.to_string());
                }
                restore.operators.push(op);
            }
            if let Some(OperatorSpec::Source(_)) = v.operators.first() {
                let uid = uids.get(&(v.id, 0));
                restore.watermark = metadata
                    .tasks
                    .iter()
                    .filter(|t| t.source_uid.is_some() && t.source_uid.as_ref() == uid)
                    .filter_map(|t| t.watermark)
                    .min();
            }
            if !restore.operators.is_empty() || restore.watermark.is_some() {
                out.tasks.insert((v.id, subtask), restore);
            }
        }
        if let Some(OperatorSpec::Source(_)) = v.operators.first() {
            let uid = uids.get(&(v.id, 0));
            let held: Vec<SourceSplit> = metadata
                .tasks
                .iter()
                .filter(|t| t.source_uid.is_some() && t.source_uid.as_ref() == uid)
                .flat_map(|t| t.splits.clone().unwrap_or_default())
                .collect();
            let known = metadata
                .tasks
                .iter()
                .any(|t| t.source_uid.is_some() && t.source_uid.as_ref() == uid);
            if known {
                out.splits.insert(v.id, held);
            }
        }
    }
    Ok(out)
}

fn unclaimed(uid: &str) -> ClusterError {
    ClusterError::Runtime(RuntimeError::User(format!(
        "the savepoint holds state of operator '{uid}', which the job does not have; SET 'execution.savepoint.ignore-unclaimed-state' = 'true' to drop it"
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use eddy_runtime::config::Configuration;
    use eddy_runtime::jobgraph::{
        ConnectorSpec, JobEdge, JobVertex, Partitioner, SerializedSchema, SinkSpec, SourceSpec,
        JOB_GRAPH_VERSION,
    };

    use super::*;
    use crate::checkpoint::{TaskStateHandle, METADATA_VERSION};

    fn connector(table: &str) -> ConnectorSpec {
        ConnectorSpec {
            table: table.into(),
            schema: SerializedSchema::encode(&Schema::new(vec![Field::new(
                "a",
                DataType::Int64,
                true,
            )]))
            .unwrap(),
            options: BTreeMap::new(),
            primary_key: Vec::new(),
            partition_keys: Vec::new(),
            partition_filter: None,
            read_columns: None,
        }
    }

    /// `source` at `p_source` subtasks feeding `sink` at `p_sink`.
    fn graph(source: &str, sink: &str, p_source: u32, p_sink: u32) -> JobGraph {
        JobGraph {
            version: JOB_GRAPH_VERSION,
            name: "t".into(),
            vertices: vec![
                JobVertex {
                    id: 1,
                    name: "source".into(),
                    parallelism: p_source,
                    operators: vec![OperatorSpec::Source(SourceSpec {
                        connector: connector(source),
                        computed: vec![],
                        table_schema: None,
                        watermark: None,
                        projection: None,
                    })],
                    changelog_mode: None,
                    operator_modes: Vec::new(),
                },
                JobVertex {
                    id: 2,
                    name: "sink".into(),
                    parallelism: p_sink,
                    operators: vec![OperatorSpec::Sink(SinkSpec {
                        connector: connector(sink),
                        updating: false,
                        update_before: false,
                    })],
                    changelog_mode: None,
                    operator_modes: Vec::new(),
                },
            ],
            edges: vec![JobEdge {
                source: 1,
                target: 2,
                partitioner: Partitioner::Rebalance,
            }],
            config: Configuration::new(),
        }
    }

    /// A checkpoint of `graph("t", "out", 2, 2)`: each subtask of the sink holds state,
    /// and the two source subtasks hold three splits between them.
    fn metadata() -> CheckpointMetadata {
        let split = |id: &str| SourceSplit {
            id: id.into(),
            state: serde_json::json!({}),
        };
        let mut tasks = Vec::new();
        for (subtask, splits, watermark) in [
            (0, vec![split("a"), split("b")], Some(10)),
            (1, vec![split("c")], Some(7)),
        ] {
            tasks.push(TaskStateHandle {
                vertex_id: 1,
                subtask_index: subtask,
                path: format!("v1-s{subtask}"),
                size: 1,
                uids: vec![],
                source_uid: Some("source:t".into()),
                splits: Some(splits),
                watermark,
                shared: vec![],
            });
        }
        for subtask in 0..2 {
            tasks.push(TaskStateHandle {
                vertex_id: 2,
                subtask_index: subtask,
                path: format!("v2-s{subtask}"),
                size: 1,
                uids: vec!["sink:out".into()],
                source_uid: None,
                splits: None,
                watermark: None,
                shared: vec![],
            });
        }
        CheckpointMetadata {
            version: METADATA_VERSION,
            job_id: "j".into(),
            checkpoint_id: 4,
            timestamp: 0,
            savepoint: true,
            max_parallelism: 128,
            parallelism: vec![(1, 2), (2, 2)],
            tasks,
        }
    }

    #[test]
    fn rescaling_deals_splits_keyed_and_operator_state_to_the_new_subtasks() {
        let plan = plan(
            &metadata(),
            "file:///sp",
            &graph("t", "out", 3, 3),
            128,
            false,
        )
        .unwrap();
        // Three splits over three source subtasks, one each; the watermark is the lowest.
        assert_eq!(plan.splits[&1].len(), 3);
        assert_eq!(plan.tasks[&(1, 0)].watermark, Some(7));
        // Old sink subtask 0 held key groups 0..=63, subtask 1 64..=127. New subtask 0
        // (0..=42) overlaps only the first, subtask 1 (43..=85) both, subtask 2 only the second.
        let keyed = |s: u32| plan.tasks[&(2, s)].operators[0].keyed.clone();
        assert_eq!(keyed(0), ["v2-s0"]);
        assert_eq!(keyed(1), ["v2-s0", "v2-s1"]);
        assert_eq!(keyed(2), ["v2-s1"]);
        // Operator state round-robin: old subtask j to new subtask j % 3; the union to all.
        let operator = |s: u32| plan.tasks[&(2, s)].operators[0].operator.clone();
        assert_eq!(operator(0), ["v2-s0"]);
        assert_eq!(operator(1), ["v2-s1"]);
        assert!(operator(2).is_empty());
        for s in 0..3 {
            assert_eq!(plan.tasks[&(2, s)].operators[0].union.len(), 2);
            assert_eq!(plan.tasks[&(2, s)].root, "file:///sp");
        }
    }

    #[test]
    fn state_no_operator_claims_is_refused_unless_allowed() {
        let other_sink = graph("t", "elsewhere", 2, 2);
        let e = plan(&metadata(), "r", &other_sink, 128, false).unwrap_err();
        assert!(e.to_string().contains("'sink:out'"), "{e}");
        assert!(plan(&metadata(), "r", &other_sink, 128, true).is_ok());
        let other_source = graph("u", "out", 2, 2);
        let e = plan(&metadata(), "r", &other_source, 128, false).unwrap_err();
        assert!(e.to_string().contains("'source:t'"), "{e}");
        // A new source starts from scratch: no splits are dealt for it.
        let p = plan(&metadata(), "r", &other_source, 128, true).unwrap();
        assert!(!p.splits.contains_key(&1));
    }

    #[test]
    fn another_number_of_key_groups_is_refused() {
        let e = plan(&metadata(), "r", &graph("t", "out", 2, 2), 256, false).unwrap_err();
        assert!(e.to_string().contains("max-parallelism"), "{e}");
    }
}
