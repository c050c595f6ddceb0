use datafusion::arrow::datatypes::Schema;

use super::*;
use crate::config::Configuration;
use crate::jobgraph::SerializedSchema;
use crate::operators::testing::{
    build, changes, feed, int_schema, ints, snapshot, watermark, with_kinds,
};

/// Left `(k, t)`, right `(k2, v, t2)`, joined on `k = k2`; event time when `event`.
fn operator(event: bool, left_outer: bool) -> TemporalJoinOperator {
    let (l, r) = (int_schema(&["k", "t"]), int_schema(&["k2", "v", "t2"]));
    let out = Arc::new(Schema::new(
        l.fields()
            .iter()
            .chain(r.fields().iter())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let spec = TemporalJoinSpec {
        left_schema: SerializedSchema::encode(&l).unwrap(),
        right_schema: SerializedSchema::encode(&r).unwrap(),
        output_schema: SerializedSchema::encode(&out).unwrap(),
        left_keys: vec![0],
        right_keys: vec![0],
        left_output_columns: 2,
        right_output_columns: 3,
        left_time: 1,
        right_time: event.then_some(2),
        filter: None,
        left_outer,
        updating: false,
        description: "test".into(),
    };
    build(1, 0, &Configuration::new(), |ctx| {
        TemporalJoinOperator::try_new(&spec, ctx)
    })
}

fn left(rows: &[(i64, i64)]) -> RecordBatch {
    let k: Vec<Option<i64>> = rows.iter().map(|r| Some(r.0)).collect();
    let t: Vec<Option<i64>> = rows.iter().map(|r| Some(r.1)).collect();
    ints(&["k", "t"], &[&k, &t])
}

fn right(rows: &[(i64, i64, i64)]) -> RecordBatch {
    let col = |f: fn(&(i64, i64, i64)) -> i64| rows.iter().map(|r| Some(f(r))).collect::<Vec<_>>();
    ints(
        &["k2", "v", "t2"],
        &[&col(|r| r.0), &col(|r| r.1), &col(|r| r.2)],
    )
}

#[test]
fn event_time_joins_the_version_valid_at_each_left_rows_time() {
    let mut op = operator(true, true);
    // Versions of key 1: 10 from 1 s, 20 from 3 s, deleted at 5 s.
    assert!(feed(
        &mut op,
        1,
        with_kinds(
            right(&[(1, 10, 1000), (1, 20, 3000), (1, 20, 5000)]),
            &["+I", "+U", "-D"]
        )
    )
    .is_empty());
    assert!(feed(
        &mut op,
        0,
        left(&[(1, 2000), (1, 3000), (1, 6000), (2, 2000), (1, 500)])
    )
    .is_empty());
    assert_eq!(
        changes(&watermark(&mut op, 2500)),
        ["+I[1, 500, NULL, NULL, NULL]", "+I[1, 2000, 1, 10, 1000]", "+I[2, 2000, NULL, NULL, NULL]"],
        "rows at or before the watermark in time order, then arrival order, each with the version at its time (none before the first)"
    );
    let restored = snapshot(&mut op, 1);
    let mut op = operator(true, true);
    op.initialize_state(restored).unwrap();
    assert_eq!(
        changes(&watermark(&mut op, 10_000)),
        ["+I[1, 3000, 1, 20, 3000]", "+I[1, 6000, NULL, NULL, NULL]"],
        "restored rows wait for the watermark; a deleted version joins nothing"
    );
    // A late row joins what is kept: the versions before the one valid at 10 s are gone.
    feed(&mut op, 1, right(&[(1, 30, 8000)]));
    feed(&mut op, 0, left(&[(1, 4000), (1, 9000)]));
    assert_eq!(
        changes(&watermark(&mut op, 10_001)),
        ["+I[1, 4000, NULL, NULL, NULL]", "+I[1, 9000, 1, 30, 8000]"]
    );
}

#[test]
fn event_time_inner_join_drops_unmatched_rows_and_keeps_the_last_version_of_a_time() {
    let mut op = operator(true, false);
    feed(&mut op, 1, right(&[(1, 10, 1000), (1, 11, 1000)]));
    feed(&mut op, 0, left(&[(1, 1000), (2, 1000)]));
    assert_eq!(
        changes(&watermark(&mut op, 1000)),
        ["+I[1, 1000, 1, 11, 1000]"]
    );
}

#[test]
fn processing_time_reads_the_right_input_whole_before_joining() {
    let mut op = operator(false, true);
    feed(&mut op, 1, right(&[(1, 10, 0), (1, 11, 0)]));
    assert!(feed(&mut op, 0, left(&[(1, 5), (3, 6)])).is_empty());
    assert!(
        watermark(&mut op, 100).is_empty(),
        "watermarks wait with the rows"
    );
    let restored = snapshot(&mut op, 1);
    let mut op = operator(false, true);
    op.initialize_state(restored).unwrap();
    feed(&mut op, 1, right(&[(3, 30, 0)]));
    let mut out = Collector::default();
    op.end_input(1, &mut out).unwrap();
    let emitted: Vec<RecordBatch> = out
        .drain()
        .filter_map(|e| match e {
            crate::stream_element::StreamElement::Batch(b) => Some(b),
            _ => None,
        })
        .collect();
    let mut got = changes(&emitted);
    got.sort();
    assert_eq!(
        got,
        [
            "+I[1, 5, 1, 10, 0]",
            "+I[1, 5, 1, 11, 0]",
            "+I[3, 6, 3, 30, 0]"
        ]
    );
    // From now on rows join as they arrive.
    assert_eq!(
        changes(&feed(&mut op, 0, left(&[(4, 7)]))),
        ["+I[4, 7, NULL, NULL, NULL]"]
    );
}
