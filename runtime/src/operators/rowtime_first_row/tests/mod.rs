use std::sync::atomic::Ordering;

use super::*;
use crate::config::Configuration;
use crate::jobgraph::{RankOrder, SerializedSchema};
use crate::operators::testing::{build, changes, feed, int_schema, ints, snapshot, watermark};

/// `ROW_NUMBER() OVER (PARTITION BY k ORDER BY t) = 1` over (k, v, t).
fn spec(output_rank: bool) -> RankSpec {
    let output = match output_rank {
        true => int_schema(&["k", "v", "t", "rn"]),
        false => int_schema(&["k", "v", "t"]),
    };
    RankSpec {
        input_schema: SerializedSchema::encode(&int_schema(&["k", "v", "t"])).unwrap(),
        output_schema: SerializedSchema::encode(&output).unwrap(),
        partition_keys: vec![0],
        order_by: vec![RankOrder {
            column: 2,
            descending: false,
            nulls_first: false,
        }],
        rank_start: 1,
        rank_end: 1,
        output_rank,
        retracting: false,
        updating: false,
        ties_latest_first: false,
        description: "test".into(),
        update_before: false,
        first_row_on_watermark: Some(2),
    }
}

fn operator(spec: &RankSpec, backend: &str) -> RowtimeFirstRowOperator {
    let mut config = Configuration::new();
    config.set("state.backend.type", backend).unwrap();
    build(1, 0, &config, |ctx| {
        RowtimeFirstRowOperator::try_new(spec, ctx)
    })
}

fn rows(rows: &[(i64, i64, i64)]) -> RecordBatch {
    let col = |f: fn(&(i64, i64, i64)) -> i64| -> Vec<Option<i64>> {
        rows.iter().map(|r| Some(f(r))).collect()
    };
    ints(
        &["k", "v", "t"],
        &[&col(|r| r.0), &col(|r| r.1), &col(|r| r.2)],
    )
}

fn step(op: &mut RowtimeFirstRowOperator, input: &[(i64, i64, i64)]) -> Vec<String> {
    changes(&feed(op, 0, rows(input)))
}

/// The example of Flink's own harness test for this function: late rows dropped, the
/// earliest row per key sent when the watermark reaches it, later rows ignored.
#[test]
fn the_earliest_row_of_each_key_goes_out_once_the_watermark_reaches_it() {
    for backend in ["hashmap", "rocksdb"] {
        let mut op = operator(&spec(false), backend);
        assert!(watermark(&mut op, 50).is_empty());
        // Behind the watermark: late.
        assert!(step(&mut op, &[(1, 0, 1)]).is_empty());
        assert_eq!(
            op.metrics.num_late_records_dropped.load(Ordering::Relaxed),
            1
        );
        // Nothing goes out before the watermark: the earliest of 101, 99, 102 wins.
        assert!(step(&mut op, &[(1, 14, 101), (1, 13, 99), (1, 15, 102)]).is_empty());
        assert!(step(&mut op, &[(2, 20, 200), (2, 21, 200)]).is_empty());
        assert!(changes(&watermark(&mut op, 98)).is_empty());
        assert_eq!(changes(&watermark(&mut op, 99)), ["+I[1, 13, 99]"]);
        // Key 1 is done: an earlier row no longer changes it.
        assert!(step(&mut op, &[(1, 12, 150)]).is_empty());
        assert!(changes(&watermark(&mut op, 180)).is_empty());
        // Of two rows at one time, the first to arrive.
        assert_eq!(changes(&watermark(&mut op, 300)), ["+I[2, 20, 200]"]);
        assert_eq!(
            op.metrics.num_late_records_dropped.load(Ordering::Relaxed),
            1
        );
    }
}

#[test]
fn a_read_rank_number_is_one() {
    let mut op = operator(&spec(true), "hashmap");
    assert!(step(&mut op, &[(7, 1, 10)]).is_empty());
    assert_eq!(changes(&watermark(&mut op, 10)), ["+I[7, 1, 10, 1]"]);
}

#[test]
fn waiting_rows_and_done_keys_survive_a_snapshot() {
    for backend in ["hashmap", "rocksdb"] {
        let spec = spec(false);
        let mut op = operator(&spec, backend);
        assert!(step(&mut op, &[(1, 10, 5), (2, 20, 8)]).is_empty());
        assert_eq!(changes(&watermark(&mut op, 5)), ["+I[1, 10, 5]"]);
        let state = snapshot(&mut op, 1);
        let mut restored = operator(&spec, backend);
        restored.initialize_state(state).unwrap();
        // Key 1 stays done, key 2's row still waits, and the watermark keeps late rows late.
        assert!(step(&mut restored, &[(1, 11, 6), (2, 19, 7), (3, 30, 4)]).is_empty());
        assert_eq!(changes(&watermark(&mut restored, 10)), ["+I[2, 19, 7]"]);
        assert_eq!(
            restored
                .metrics
                .num_late_records_dropped
                .load(Ordering::Relaxed),
            1
        );
    }
}
