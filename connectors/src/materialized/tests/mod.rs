use datafusion::arrow::array::{Int64Array, Int8Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use eddy_runtime::changelog::with_op_field;

use super::*;
use crate::testing::{read_all, spec, subtask};
use eddy_runtime::checkpoint::FINAL_CHECKPOINT_ID as FINAL;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]))
}

/// A changelog batch: (row kind byte, key, value).
fn changes(rows: &[(i8, &str, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        with_op_field(&schema()),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Int8Array::from_iter_values(rows.iter().map(|r| r.0))),
        ],
    )
    .unwrap()
}

fn sorted_rows(store: &Store) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in store.read(&schema()).unwrap() {
        let k = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let n = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((k.value(i).to_string(), n.value(i)));
        }
    }
    out.sort();
    out
}

fn id(generation: u32, epoch: u64, subtask: u32) -> EpochId {
    EpochId {
        generation,
        epoch,
        subtask,
        parallelism: 2,
        last: false,
    }
}

fn rows(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// The store of a view whose files are in `dir`.
fn store_in(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().to_string_lossy()).expect("a local store")
}

#[test]
fn reads_only_epochs_every_subtask_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    assert!(sorted_rows(&store).is_empty(), "nothing committed yet");
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "a", 1)])])
        .unwrap();
    assert!(
        sorted_rows(&store).is_empty(),
        "subtask 1 has not committed epoch 1"
    );
    store
        .commit(id(0, 1, 1), &[changes(&[(0, "b", 1)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 1), ("b", 1)]));
    // Epoch 2 updates a; subtask 1 has nothing to say but still commits.
    store
        .commit(id(0, 2, 0), &[changes(&[(1, "a", 1), (2, "a", 2)])])
        .unwrap();
    assert_eq!(
        sorted_rows(&store),
        rows(&[("a", 1), ("b", 1)]),
        "epoch 2 is half committed: not visible"
    );
    store.commit(id(0, 2, 1), &[]).unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 2), ("b", 1)]));
    // Committed again after a restore: nothing changes, the mark does not go back.
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "a", 1)])])
        .unwrap();
    store
        .commit(id(0, 2, 0), &[changes(&[(1, "a", 1), (2, "a", 2)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 2), ("b", 1)]));
    // A delete, and a duplicate row (a multiset).
    store
        .commit(id(0, 3, 0), &[changes(&[(3, "a", 2)])])
        .unwrap();
    store
        .commit(id(0, 3, 1), &[changes(&[(0, "b", 1), (0, "c", 7)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("b", 1), ("b", 1), ("c", 7)]));
}

#[test]
fn a_later_generation_adds_to_what_the_earlier_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store
        .commit(id(0, 5, 0), &[changes(&[(0, "a", 1)])])
        .unwrap();
    store.commit(id(0, 5, 1), &[]).unwrap();
    // The next job starts at parallelism 1, with its own epoch numbers.
    let one = EpochId {
        generation: 1,
        epoch: 1,
        subtask: 0,
        parallelism: 1,
        last: false,
    };
    store
        .commit(one, &[changes(&[(1, "a", 1), (2, "a", 3)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 3)]));
    assert!(!store.is_finished().unwrap());
    let last = EpochId {
        epoch: 2,
        last: true,
        ..one
    };
    store.commit(last, &[]).unwrap();
    assert!(store.is_finished().unwrap(), "the job's last commit is in");
    assert_eq!(FINAL, u64::MAX);
}

#[test]
fn a_subtask_whose_input_ended_holds_no_epoch_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "a", 1)])])
        .unwrap();
    store.commit(id(0, 1, 1), &[]).unwrap();
    // Subtask 1's input ends after checkpoint 1; its last changes belong to epoch 2.
    let last = EpochId {
        last: true,
        ..id(0, 2, 1)
    };
    store.commit(last, &[changes(&[(0, "z", 9)])]).unwrap();
    assert_eq!(
        sorted_rows(&store),
        rows(&[("a", 1)]),
        "epoch 2 waits for subtask 0"
    );
    store
        .commit(id(0, 2, 0), &[changes(&[(0, "b", 2)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 1), ("b", 2), ("z", 9)]));
    // Subtask 0 goes on alone.
    store
        .commit(id(0, 3, 0), &[changes(&[(0, "c", 3)])])
        .unwrap();
    assert_eq!(
        sorted_rows(&store),
        rows(&[("a", 1), ("b", 2), ("c", 3), ("z", 9)])
    );
    assert!(!store.is_finished().unwrap());
}

#[test]
fn commits_past_the_checkpoint_the_next_generation_restored_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    for epoch in 1..=3 {
        let key = format!("e{epoch}");
        store
            .commit(id(0, epoch, 0), &[changes(&[(0, &key, 1)])])
            .unwrap();
        store.commit(id(0, epoch, 1), &[]).unwrap();
    }
    // A savepoint (epoch 3) committed, but the next job restored checkpoint 2 and makes
    // epoch 3's changes again.
    store.cap(0, 2).unwrap();
    store.cap(0, 3).unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("e1", 1), ("e2", 1)]));
    let again = EpochId {
        generation: 1,
        epoch: 1,
        subtask: 0,
        parallelism: 1,
        last: false,
    };
    store.commit(again, &[changes(&[(0, "e3", 1)])]).unwrap();
    assert_eq!(
        sorted_rows(&store),
        rows(&[("e1", 1), ("e2", 1), ("e3", 1)])
    );
}

#[test]
fn compaction_keeps_the_contents_and_removes_what_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let mut expected = Vec::new();
    for epoch in 1..=(store::COMPACT_AFTER as u64 + 2) {
        let key = format!("k{}", epoch % 5);
        store
            .commit(id(0, epoch, 0), &[changes(&[(0, &key, epoch as i64)])])
            .unwrap();
        store.commit(id(0, epoch, 1), &[]).unwrap();
        expected.push((key, epoch as i64));
    }
    expected.sort();
    store.compact_if_due(&schema()).unwrap();
    assert_eq!(sorted_rows(&store), expected);
    // A second compaction deletes what the first base covers, and older files.
    let first_base_deltas = store::COMPACT_AFTER as u64 + 2;
    for epoch in first_base_deltas + 1..=first_base_deltas + store::COMPACT_AFTER as u64 {
        store
            .commit(id(0, epoch, 0), &[changes(&[(0, "late", epoch as i64)])])
            .unwrap();
        store.commit(id(0, epoch, 1), &[]).unwrap();
        expected.push(("late".to_string(), epoch as i64));
    }
    expected.sort();
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    store.compact_if_due(&schema()).unwrap();
    let after: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(after.len() < before, "{after:?}");
    assert_eq!(
        after.iter().filter(|f| f.starts_with("b-")).count(),
        2,
        "{after:?}"
    );
    assert_eq!(
        after.iter().filter(|f| f.starts_with("d-")).count(),
        store::COMPACT_AFTER,
        "the deltas after the first base stay: {after:?}"
    );
    assert_eq!(sorted_rows(&store), expected);
    // A delta recommitted after the compaction (a restore) is not counted twice.
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "k1", 1)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), expected);
    // Deltas after the base still count.
    store
        .commit(id(0, 999, 0), &[changes(&[(3, "k1", 1)])])
        .unwrap();
    store.commit(id(0, 999, 1), &[]).unwrap();
    expected.retain(|(k, n)| !(k == "k1" && *n == 1));
    assert_eq!(sorted_rows(&store), expected);
}

#[test]
fn the_sink_commits_at_checkpoints_and_the_source_reads_the_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v").to_string_lossy().into_owned();
    let spec = spec(
        &schema(),
        &[
            ("connector", "materialized"),
            (PATH.key, &path),
            (GENERATION.key, "0"),
        ],
    );
    let sink = MaterializedTableFactory.create_sink(&spec).unwrap();
    let mut writer = sink.create_writer(&subtask(0, 1, 1024)).unwrap();
    writer.write(&changes(&[(0, "a", 1), (0, "b", 2)])).unwrap();
    let committables = writer.prepare_commit(1).unwrap();
    // Written after the barrier: part of the next epoch.
    writer.write(&changes(&[(3, "b", 2)])).unwrap();
    let read = || {
        let source = MaterializedTableFactory.create_source(&spec).unwrap();
        let splits = source.enumerate_splits(1).unwrap();
        let mut reader = source.create_reader(splits, &subtask(0, 1, 1)).unwrap();
        let mut out: Vec<String> = read_all(reader.as_mut())
            .unwrap()
            .iter()
            .flat_map(|b| {
                let k = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                (0..b.num_rows())
                    .map(|i| k.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out
    };
    assert!(
        read().is_empty(),
        "not committed before the checkpoint completes"
    );
    writer.commit(committables.clone()).unwrap();
    assert_eq!(read(), ["a", "b"]);
    writer.commit(committables).unwrap();
    assert_eq!(read(), ["a", "b"], "committing twice changes nothing");
    let second = writer.prepare_commit(2).unwrap();
    writer.commit(second).unwrap();
    assert_eq!(read(), ["a"]);
    assert!(decode_committable(b"\x05\x00").is_err());
}

#[test]
fn a_subscription_reads_the_snapshot_then_each_complete_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let (rows, at) = store.snapshot(&schema()).unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    assert_eq!(at, None);
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "a", 1)])])
        .unwrap();
    let (none, at) = store.changes_since(at).unwrap();
    assert!(none.is_empty(), "epoch 1 is not complete");
    assert_eq!(at, None);
    store
        .commit(id(0, 1, 1), &[changes(&[(0, "b", 1)])])
        .unwrap();
    store
        .commit(id(0, 2, 0), &[changes(&[(1, "a", 1), (2, "a", 2)])])
        .unwrap();
    let (first, at) = store.changes_since(at).unwrap();
    assert_eq!(first.len(), 2, "both subtasks' changes of epoch 1");
    assert_eq!(at, Some((0, 1)));
    store.commit(id(0, 2, 1), &[]).unwrap();
    let (second, at) = store.changes_since(at).unwrap();
    assert_eq!(second, vec![changes(&[(1, "a", 1), (2, "a", 2)])]);
    assert_eq!(at, Some((0, 2)));
    let (rows, snapshot_at) = store.snapshot(&schema()).unwrap();
    assert_eq!(snapshot_at, at);
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    // One compaction past what a subscriber read leaves it the changes it needs.
    let mut epoch = 3;
    let mut commit_many = |store: &Store| {
        for _ in 0..store::COMPACT_AFTER {
            store
                .commit(id(0, epoch, 0), &[changes(&[(0, "c", 1)])])
                .unwrap();
            store.commit(id(0, epoch, 1), &[]).unwrap();
            epoch += 1;
        }
        store.compact_if_due(&schema()).unwrap();
    };
    commit_many(&store);
    let (caught_up, _) = store.changes_since(at).unwrap();
    assert_eq!(caught_up.len(), store::COMPACT_AFTER);
    // Two: the changes it has not read may be gone. It is told, not given a wrong answer.
    commit_many(&store);
    let err = store.changes_since(at).unwrap_err();
    assert!(err.to_string().contains("subscribe again"), "{err}");
}

#[test]
fn a_restored_writer_caps_the_previous_generation_at_the_checkpoint_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let writer_of = |generation: &str| {
        let spec = spec(
            &schema(),
            &[
                ("connector", "materialized"),
                (PATH.key, &path),
                (GENERATION.key, generation),
            ],
        );
        let sink = MaterializedTableFactory.create_sink(&spec).unwrap();
        sink.create_writer(&subtask(0, 1, 1024)).unwrap()
    };
    let mut old = writer_of("0");
    let mut restored_from = Vec::new();
    for epoch in 1..=3 {
        old.write(&changes(&[(0, &format!("e{epoch}"), 1)]))
            .unwrap();
        let committables = old.prepare_commit(epoch).unwrap();
        if epoch == 2 {
            restored_from = committables.clone();
        }
        old.commit(committables).unwrap();
    }
    let store = store_in(&dir);
    assert_eq!(sorted_rows(&store).len(), 3);
    // The next job restores checkpoint 2 (epoch 3 was a savepoint, say).
    let mut new = writer_of("1");
    new.recover(&restored_from).unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("e1", 1), ("e2", 1)]));
    // Its input ends before its first checkpoint: its changes come with the first epoch.
    new.write(&changes(&[(0, "e3", 1)])).unwrap();
    let last = new.prepare_commit(FINAL).unwrap();
    new.commit(last).unwrap();
    assert_eq!(
        sorted_rows(&store),
        rows(&[("e1", 1), ("e2", 1), ("e3", 1)])
    );
    assert!(store.is_finished().unwrap());
}

/// A keyed view (by `k`): upserts replace the key's row, deletions remove the key whatever
/// row they carry, and compaction keeps one row per key.
#[test]
fn a_keyed_view_keeps_the_latest_row_of_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir).keyed(Some(vec![0]));
    // Upserts only (no -U), as the job sends them to a keyed view.
    store
        .commit(id(0, 1, 0), &[changes(&[(0, "a", 1), (2, "a", 2)])])
        .unwrap();
    store
        .commit(id(0, 1, 1), &[changes(&[(0, "b", 1), (0, "c", 7)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 2), ("b", 1), ("c", 7)]));
    // A multiset reading of the same files would count a's insert and its upsert.
    let multiset = store_in(&dir);
    assert_eq!(
        sorted_rows(&multiset),
        rows(&[("a", 1), ("a", 2), ("b", 1), ("c", 7)])
    );
    // Epoch 2: b is deleted (with the row a deletion of an aggregation carries), a
    // updated twice within the epoch (the last one stands), c retracted by -U then
    // re-added by +U.
    store
        .commit(
            id(0, 2, 0),
            &[changes(&[
                (2, "a", 3),
                (2, "a", 4),
                (1, "c", 7),
                (2, "c", 8),
            ])],
        )
        .unwrap();
    store
        .commit(id(0, 2, 1), &[changes(&[(3, "b", 1)])])
        .unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 4), ("c", 8)]));
    for epoch in 3..=(store::COMPACT_AFTER as u64 + 3) {
        store
            .commit(id(0, epoch, 0), &[changes(&[(2, "a", epoch as i64)])])
            .unwrap();
        store.commit(id(0, epoch, 1), &[]).unwrap();
    }
    let last = store::COMPACT_AFTER as i64 + 3;
    store.compact_if_due(&schema()).unwrap();
    assert!(
        std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("b-")),
        "compacted"
    );
    assert_eq!(sorted_rows(&store), rows(&[("a", last), ("c", 8)]));
    // After the base, a deletion of a key the base holds.
    store
        .commit(id(0, 999, 0), &[changes(&[(3, "c", 8)])])
        .unwrap();
    store.commit(id(0, 999, 1), &[]).unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", last)]));
}

/// The connector takes its key from `materialized.key`, refuses one past its columns, and
/// a subscription to a keyed view gets each update's old row from what it has seen.
#[test]
fn a_keyed_view_reads_through_its_connector_and_subscriptions_get_retractions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v").to_string_lossy().into_owned();
    let options = |key: &'static str| {
        spec(
            &schema(),
            &[
                ("connector", "materialized"),
                (PATH.key, &path),
                (GENERATION.key, "0"),
                (KEY.key, key),
            ],
        )
    };
    let err = MaterializedTableFactory
        .create_sink(&options("2"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("no column 2"), "{err}");
    let err = MaterializedTableFactory
        .create_sink(&options("k"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("materialized.key"), "{err}");
    let spec = options("0");
    let sink = MaterializedTableFactory.create_sink(&spec).unwrap();
    let mut writer = sink.create_writer(&subtask(0, 1, 1024)).unwrap();
    writer
        .write(&changes(&[(0, "a", 1), (0, "b", 2), (2, "a", 5)]))
        .unwrap();
    let committables = writer.prepare_commit(1).unwrap();
    writer.commit(committables).unwrap();
    let store = Store::open(&path)
        .unwrap()
        .keyed(key_of(&spec.options).unwrap());
    let (snapshot, at) = store.snapshot(&schema()).unwrap();
    assert_eq!(sorted_rows(&store), rows(&[("a", 5), ("b", 2)]));
    let mut retractions = retractions::Retractions::new(&schema(), &[0], &snapshot).unwrap();
    writer
        .write(&changes(&[
            (2, "b", 3),
            (0, "c", 1),
            (3, "a", 5),
            (3, "z", 0),
        ]))
        .unwrap();
    let committables = writer.prepare_commit(2).unwrap();
    writer.commit(committables).unwrap();
    let (changes, _) = store.changes_since(at).unwrap();
    let out: Vec<(String, String, i64)> = changes
        .iter()
        .flat_map(|batch| {
            let batch = retractions.apply(batch).unwrap();
            let ops = eddy_runtime::changelog::op_strings(&batch).unwrap();
            let k = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            let n = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            (0..batch.num_rows())
                .map(|i| (ops.value(i).to_string(), k.value(i).to_string(), n.value(i)))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected = [
        ("-U", "b", 2),
        ("+U", "b", 3),
        ("+I", "c", 1),
        ("-D", "a", 5),
    ]
    .map(|(op, k, n)| (op.to_string(), k.to_string(), n));
    // A deletion of a key the view does not hold (z) sends nothing.
    assert_eq!(out, expected);
}
