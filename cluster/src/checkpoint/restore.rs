//! Deals a checkpoint's state to the subtasks of the job restoring from it, which may have
//! another parallelism or, for a savepoint, another shape: state is matched to operators by
//! uid; keyed state goes to the subtasks whose key groups it overlaps, operator state is
//! dealt round-robin, and source splits are dealt round-robin over the new source
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
    /// By source vertex: the splits of each of its subtasks.
    pub splits: BTreeMap<u32, Vec<Vec<SourceSplit>>>,
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
                let mut dealt = vec![Vec::new(); v.parallelism.max(1) as usize];
                for (i, s) in held.into_iter().enumerate() {
                    dealt[i % v.parallelism.max(1) as usize].push(s);
                }
                out.splits.insert(v.id, dealt);
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
