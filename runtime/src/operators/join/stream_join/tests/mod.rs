//! Unit tests of the regular join: each join type's changes in order, over the operator
//! harness.

use datafusion::arrow::array::Array;

use super::*;
use crate::config::Configuration;
use crate::jobgraph::SerializedSchema;
use crate::operators::testing::{build, changes, feed, int_schema, ints, snapshot, with_kinds};

fn operator(subtask_of: (u32, u32)) -> StreamJoinOperator {
    typed(subtask_of, WindowJoinType::Inner, false)
}

fn typed(subtask_of: (u32, u32), join_type: WindowJoinType, updating: bool) -> StreamJoinOperator {
    configured(subtask_of, join_type, updating, None)
}

/// With `mini_batch`, (size, latency) of a mini-batch.
fn configured(
    subtask_of: (u32, u32),
    join_type: WindowJoinType,
    updating: bool,
    mini_batch: Option<(&str, &str)>,
) -> StreamJoinOperator {
    let output: &[&str] = match join_type {
        WindowJoinType::LeftSemi | WindowJoinType::LeftAnti => &["k", "a"],
        WindowJoinType::RightSemi | WindowJoinType::RightAnti => &["k2", "b"],
        _ => &["k", "a", "k2", "b"],
    };
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
        right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
        output_schema: SerializedSchema::encode(&int_schema(output)).unwrap(),
        left_keys: vec![0],
        right_keys: vec![0],
        filter: None,
        description: "test".into(),
        join_type,
        updating,
        nulls_equal: false,
        mini_batch: mini_batch.is_some(),
    };
    let mut config = Configuration::new();
    if let Some((size, latency)) = mini_batch {
        for (k, v) in [
            ("table.exec.mini-batch.enabled", "true"),
            ("table.exec.mini-batch.size", size),
            ("table.exec.mini-batch.allow-latency", latency),
        ] {
            config.set(k, v).unwrap();
        }
    }
    build(subtask_of.1, subtask_of.0, &config, |ctx| {
        StreamJoinOperator::try_new(&spec, ctx)
    })
}

fn rows(out: &[RecordBatch]) -> Vec<Vec<Option<i64>>> {
    let mut rows = Vec::new();
    for b in out {
        for r in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        let c = c.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                        (!c.is_null(r)).then(|| c.value(r))
                    })
                    .collect(),
            );
        }
    }
    rows.sort();
    rows
}

#[test]
fn each_pair_is_emitted_once_when_its_later_row_arrives() {
    let mut op = operator((0, 1));
    assert!(feed(
        &mut op,
        0,
        ints(&["k", "a"], &[&[Some(1), None], &[Some(10), Some(11)]])
    )
    .is_empty());
    assert_eq!(
        rows(&feed(
            &mut op,
            1,
            ints(
                &["k2", "b"],
                &[
                    &[Some(1), Some(2), None],
                    &[Some(100), Some(200), Some(300)]
                ]
            )
        )),
        [vec![Some(1), Some(10), Some(1), Some(100)]],
        "a NULL key matches nothing"
    );
    assert_eq!(
        rows(&feed(
            &mut op,
            0,
            ints(&["k", "a"], &[&[Some(1), Some(2)], &[Some(12), Some(20)]])
        )),
        [
            vec![Some(1), Some(12), Some(1), Some(100)],
            vec![Some(2), Some(20), Some(2), Some(200)]
        ]
    );
    // Restored, both sides' rows are still there.
    let restored = snapshot(&mut op, 1);
    let mut op = operator((0, 1));
    op.initialize_state(restored).unwrap();
    assert_eq!(
        rows(&feed(
            &mut op,
            1,
            ints(&["k2", "b"], &[&[Some(1)], &[Some(101)]])
        )),
        [
            vec![Some(1), Some(10), Some(1), Some(101)],
            vec![Some(1), Some(12), Some(1), Some(101)]
        ]
    );
}

/// One side's rows `(key, value)`, each with its kind.
fn side(input: usize, rows: &[(Option<i64>, i64, &str)]) -> RecordBatch {
    let names = match input {
        0 => ["k", "a"],
        _ => ["k2", "b"],
    };
    let keys: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
    let values: Vec<Option<i64>> = rows.iter().map(|r| Some(r.1)).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.2).collect();
    with_kinds(ints(&names, &[&keys, &values]), &kinds)
}

fn step(
    op: &mut StreamJoinOperator,
    input: usize,
    rows: &[(Option<i64>, i64, &str)],
) -> Vec<String> {
    changes(&feed(op, input, side(input, rows)))
}

#[test]
fn a_left_join_retracts_its_null_padded_row_when_a_match_comes_and_goes() {
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    assert_eq!(
        step(&mut op, 0, &[(Some(1), 10, "+I")]),
        ["+I[1, 10, NULL, NULL]"]
    );
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 100, "+I")]),
        ["-D[1, 10, NULL, NULL]", "+I[1, 10, 1, 100]"]
    );
    // A second match adds a pair; the padded row is long gone.
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 101, "+I")]),
        ["+I[1, 10, 1, 101]"]
    );
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 100, "-D")]),
        ["-D[1, 10, 1, 100]"]
    );
    // The last match goes: the padded row comes back.
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 101, "-D")]),
        ["-D[1, 10, 1, 101]", "+I[1, 10, NULL, NULL]"]
    );
    assert_eq!(
        step(&mut op, 0, &[(Some(1), 10, "-D")]),
        ["-D[1, 10, NULL, NULL]"]
    );
    // Nothing is left: a right row alone emits nothing in a left join.
    assert!(step(&mut op, 1, &[(Some(1), 102, "+I")]).is_empty());
}

#[test]
fn a_full_join_pads_either_side_and_rows_within_one_batch_are_seen_in_order() {
    let mut op = typed((0, 1), WindowJoinType::FullOuter, true);
    assert_eq!(
        step(&mut op, 1, &[(Some(2), 200, "+I")]),
        ["+I[NULL, NULL, 2, 200]"]
    );
    // Added and taken out in one batch: the pair comes and goes, the padded right row
    // goes and comes back.
    assert_eq!(
        step(
            &mut op,
            0,
            &[
                (Some(2), 20, "+I"),
                (Some(2), 20, "-U"),
                (Some(3), 30, "+U")
            ]
        ),
        [
            "-D[NULL, NULL, 2, 200]",
            "+I[2, 20, 2, 200]",
            "-D[2, 20, 2, 200]",
            "+I[NULL, NULL, 2, 200]",
            "+I[3, 30, NULL, NULL]"
        ]
    );
}

#[test]
fn equal_rows_are_counted_and_each_is_joined() {
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    assert_eq!(
        step(&mut op, 0, &[(Some(1), 10, "+I"), (Some(1), 10, "+I")]),
        ["+I[1, 10, NULL, NULL]", "+I[1, 10, NULL, NULL]"]
    );
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 100, "+I")]),
        [
            "-D[1, 10, NULL, NULL]",
            "-D[1, 10, NULL, NULL]",
            "+I[1, 10, 1, 100]",
            "+I[1, 10, 1, 100]"
        ]
    );
    assert_eq!(
        step(&mut op, 0, &[(Some(1), 10, "-D")]),
        ["-D[1, 10, 1, 100]"]
    );
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 100, "-D")]),
        ["-D[1, 10, 1, 100]", "+I[1, 10, NULL, NULL]"]
    );
}

#[test]
fn an_inner_join_forwards_its_inputs_row_kinds() {
    let mut op = typed((0, 1), WindowJoinType::Inner, true);
    step(&mut op, 1, &[(Some(1), 100, "+I")]);
    assert_eq!(
        step(
            &mut op,
            0,
            &[(Some(1), 1, "+I"), (Some(1), 1, "-U"), (Some(1), 2, "+U")]
        ),
        ["+I[1, 1, 1, 100]", "-U[1, 1, 1, 100]", "+U[1, 2, 1, 100]"]
    );
}

#[test]
fn changes_go_out_in_the_order_of_their_input_rows_across_keys() {
    // An update that moves a row from key 1 to key 2 must retract the old pair before it
    // sends the new one, though key 2 came first in the batch; with the chunk of other
    // rows read at once kept small in tests, the keys also fall in different chunks.
    let mut op = typed((0, 1), WindowJoinType::Inner, true);
    step(&mut op, 1, &[(Some(1), 100, "+I"), (Some(2), 200, "+I")]);
    step(&mut op, 1, &[(Some(1), 101, "+I"), (Some(2), 201, "+I")]);
    step(&mut op, 0, &[(Some(1), 7, "+I")]);
    assert_eq!(
        step(
            &mut op,
            0,
            &[(Some(2), 8, "+I"), (Some(1), 7, "-U"), (Some(2), 7, "+U")]
        ),
        [
            "+I[2, 8, 2, 200]",
            "+I[2, 8, 2, 201]",
            "-U[1, 7, 1, 100]",
            "-U[1, 7, 1, 101]",
            "+U[2, 7, 2, 200]",
            "+U[2, 7, 2, 201]"
        ]
    );
}

#[test]
fn a_null_key_on_an_outer_side_is_padded_at_once_and_never_kept() {
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    assert_eq!(
        step(&mut op, 0, &[(None, 10, "+I")]),
        ["+I[NULL, 10, NULL, NULL]"]
    );
    assert!(step(&mut op, 1, &[(None, 100, "+I")]).is_empty());
    assert_eq!(
        step(&mut op, 0, &[(None, 10, "-D")]),
        ["-D[NULL, 10, NULL, NULL]"]
    );
}

#[test]
fn semi_and_anti_joins_show_a_row_while_it_has_a_match_or_none() {
    let mut semi = typed((0, 1), WindowJoinType::LeftSemi, true);
    let mut anti = typed((0, 1), WindowJoinType::LeftAnti, true);
    assert!(step(&mut semi, 0, &[(Some(1), 10, "+I")]).is_empty());
    assert_eq!(step(&mut anti, 0, &[(Some(1), 10, "+I")]), ["+I[1, 10]"]);
    for (op, first, last) in [
        (&mut semi, "+I[1, 10]", "-D[1, 10]"),
        (&mut anti, "-D[1, 10]", "+I[1, 10]"),
    ] {
        assert_eq!(step(op, 1, &[(Some(1), 100, "+I")]), [first]);
        // A second match changes nothing; losing one of two neither.
        assert!(step(op, 1, &[(Some(1), 101, "+I")]).is_empty());
        assert!(step(op, 1, &[(Some(1), 100, "-D")]).is_empty());
        assert_eq!(step(op, 1, &[(Some(1), 101, "-D")]), [last]);
    }
    // A kept row arriving with a match already there.
    let mut op = typed((0, 1), WindowJoinType::RightSemi, false);
    step(&mut op, 0, &[(Some(5), 1, "+I")]);
    assert_eq!(
        rows(&feed(
            &mut op,
            1,
            ints(&["k2", "b"], &[&[Some(5)], &[Some(50)]])
        )),
        [vec![Some(5), Some(50)]]
    );
}

#[test]
fn outer_state_survives_a_snapshot() {
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    step(&mut op, 0, &[(Some(1), 10, "+I")]);
    step(&mut op, 1, &[(Some(1), 100, "+I")]);
    let restored = snapshot(&mut op, 1);
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    op.initialize_state(restored).unwrap();
    assert_eq!(
        step(&mut op, 1, &[(Some(1), 100, "-D")]),
        ["-D[1, 10, 1, 100]", "+I[1, 10, NULL, NULL]"],
        "how many matches the left row has is restored with it"
    );
}

#[test]
fn with_nulls_equal_a_null_key_matches_a_null_key() {
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
        right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
        output_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
        left_keys: vec![0],
        right_keys: vec![0],
        filter: None,
        description: "test".into(),
        join_type: WindowJoinType::LeftSemi,
        updating: false,
        nulls_equal: true,
        mini_batch: false,
    };
    let mut op = build(1, 0, &Configuration::new(), |ctx| {
        StreamJoinOperator::try_new(&spec, ctx)
    });
    feed(&mut op, 1, ints(&["k2", "b"], &[&[None], &[Some(1)]]));
    assert_eq!(
        rows(&feed(&mut op, 0, ints(&["k", "a"], &[&[None], &[Some(7)]]))),
        [vec![None, Some(7)]],
        "INTERSECT keeps a NULL that both sides hold"
    );
}

#[test]
fn the_extra_condition_is_evaluated_over_chunks_of_pairs() {
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col};
    let joined = int_schema(&["k", "a", "k2", "b"]);
    let condition = binary(
        col("a", &joined).unwrap(),
        Operator::Lt,
        col("b", &joined).unwrap(),
        &joined,
    )
    .unwrap();
    let spec = StreamJoinSpec {
        left_schema: SerializedSchema::encode(&int_schema(&["k", "a"])).unwrap(),
        right_schema: SerializedSchema::encode(&int_schema(&["k2", "b"])).unwrap(),
        output_schema: SerializedSchema::encode(&joined).unwrap(),
        left_keys: vec![0],
        right_keys: vec![0],
        filter: Some(crate::expr_codec::encode_expr(&condition).unwrap()),
        description: "test".into(),
        join_type: WindowJoinType::Inner,
        updating: false,
        nulls_equal: false,
        mini_batch: false,
    };
    let mut op = build(1, 0, &Configuration::new(), |ctx| {
        StreamJoinOperator::try_new(&spec, ctx)
    });
    // Three stored rows and five arriving ones: 15 pairs, in chunks of one row (3 pairs).
    feed(
        &mut op,
        1,
        ints(
            &["k2", "b"],
            &[&[Some(1); 3], &[Some(10), Some(20), Some(30)]],
        ),
    );
    let arriving: Vec<Option<i64>> = [5, 15, 25, 35, 20].into_iter().map(Some).collect();
    let out = rows(&feed(
        &mut op,
        0,
        ints(&["k", "a"], &[&[Some(1); 5], &arriving]),
    ));
    let pairs: Vec<(i64, i64)> = out.iter().map(|r| (r[1].unwrap(), r[3].unwrap())).collect();
    assert_eq!(
        pairs,
        [
            (5, 10),
            (5, 20),
            (5, 30),
            (15, 20),
            (15, 30),
            (20, 30),
            (25, 30)
        ]
    );
}

/// Feeds `batches` (input, rows) and then a watermark; returns all changes, in order.
fn run(op: &mut StreamJoinOperator, batches: Vec<(usize, RecordBatch)>) -> Vec<String> {
    let mut out = Vec::new();
    for (input, batch) in batches {
        out.extend(changes(&feed(op, input, batch)));
    }
    out.extend(changes(&crate::operators::testing::watermark(op, 0)));
    out
}

#[test]
fn a_mini_batch_folds_a_row_added_and_taken_out_and_joins_the_right_side_first() {
    let batches = || {
        vec![
            (0, side(0, &[(Some(1), 10, "+I")])),
            (1, side(1, &[(Some(1), 20, "+I")])),
            (0, side(0, &[(Some(1), 10, "-D"), (Some(1), 11, "+I")])),
        ]
    };
    // Without mini-batches: the pair of 10 comes and goes.
    let mut op = typed((0, 1), WindowJoinType::Inner, true);
    assert_eq!(
        run(&mut op, batches()),
        ["+I[1, 10, 1, 20]", "-D[1, 10, 1, 20]", "+I[1, 11, 1, 20]"]
    );
    // With them, 10's +I and -D cancel: only the lasting pair is sent, at the watermark.
    let mut op = configured((0, 1), WindowJoinType::Inner, true, Some(("100", "1 h")));
    assert_eq!(run(&mut op, batches()), ["+I[1, 11, 1, 20]"]);
    // A left join sends no null-padded row it would retract: the right side goes first.
    let mut op = configured(
        (0, 1),
        WindowJoinType::LeftOuter,
        true,
        Some(("100", "1 h")),
    );
    assert_eq!(run(&mut op, batches()), ["+I[1, 11, 1, 20]"]);
    let mut op = typed((0, 1), WindowJoinType::LeftOuter, true);
    assert_eq!(
        run(&mut op, batches()),
        [
            "+I[1, 10, NULL, NULL]",
            "-D[1, 10, NULL, NULL]",
            "+I[1, 10, 1, 20]",
            "-D[1, 10, 1, 20]",
            "+I[1, 11, 1, 20]"
        ]
    );
    // A right join joins the left side first, for the same reason.
    let mut op = configured(
        (0, 1),
        WindowJoinType::RightOuter,
        true,
        Some(("100", "1 h")),
    );
    assert_eq!(run(&mut op, batches()), ["+I[1, 11, 1, 20]"]);
}

#[test]
fn a_mini_batch_counts_both_inputs_and_flushes_before_a_barrier() {
    let mut op = configured((0, 1), WindowJoinType::Inner, true, Some(("3", "1 h")));
    assert!(feed(
        &mut op,
        0,
        side(0, &[(Some(1), 10, "+I"), (Some(2), 5, "+I")])
    )
    .is_empty());
    assert_eq!(
        changes(&feed(&mut op, 1, side(1, &[(Some(1), 20, "+I")]))),
        ["+I[1, 10, 1, 20]"],
        "three rows of both inputs fill it"
    );
    assert!(feed(&mut op, 1, side(1, &[(Some(2), 30, "+I")])).is_empty());
    let mut out = Collector::default();
    op.prepare_snapshot_pre_barrier(&mut out).unwrap();
    let flushed: Vec<RecordBatch> = out
        .drain()
        .filter_map(|e| match e {
            crate::stream_element::StreamElement::Batch(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(changes(&flushed), ["+I[2, 5, 2, 30]"]);
    // Past its latency, processing time flushes it too.
    assert!(feed(&mut op, 0, side(0, &[(Some(2), 6, "+I")])).is_empty());
    let mut out = Collector::default();
    op.on_processing_time(i64::MAX, &mut out).unwrap();
    assert_eq!(out.drain().count(), 1);
}
