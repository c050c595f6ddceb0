//! Changelog results end to end: an unbounded GROUP BY written by the filesystem sink in
//! `debezium-json`, whose part files (committed at each checkpoint) hold exactly the changes
//! the semantics give, worked out by hand row by row.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    exec, read_part_files, simple, sqlstate, stop_part_way, submit, test_data_dir, try_simple,
    wait_for_status, Eddy,
};

/// The union of the bids file with an unbounded nexmark stream whose rows are all filtered
/// out: a streaming input that reads the file's seven bids and then nothing.
async fn create_bids(client: &tokio_postgres::Client) {
    for sql in [
        format!(
            "CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3)) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            test_data_dir().join("bids_ooo.csv").display()
        ),
        "CREATE TABLE never (event_type INT, bid ROW<auction BIGINT, bidder BIGINT, \
         price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>) \
         WITH ('connector' = 'nexmark', 'tps' = '1')"
            .to_string(),
        "CREATE VIEW all_bids AS SELECT auction, price FROM bids UNION ALL \
         SELECT bid.auction, bid.price FROM never WHERE event_type = 2 AND bid.price < 0"
            .to_string(),
    ] {
        exec(client, &sql).await;
    }
}

/// The bids file alone, bounded (with `extra` columns, e.g. a WATERMARK): a job over it
/// finishes.
async fn create_bounded_bids(client: &tokio_postgres::Client, extra: &str) {
    exec(
        client,
        &format!(
            "CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3){extra}) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            test_data_dir().join("bids_ooo.csv").display()
        ),
    )
    .await;
}

/// The rows a print sink with `identifier` wrote into `log`, in order; with `auction`,
/// only that auction's (rows start with it).
fn printed(log: &str, identifier: &str, auction: Option<&str>) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix(&format!("{identifier}> ")))
        .filter(|r| auction.is_none_or(|a| r[3..].starts_with(&format!("{a},"))))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_group_aggregation_writes_its_changelog_as_debezium_json() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bids(&client).await;
    let out = eddy.scratch_dir().join("counts");
    exec(
        &client,
        &format!(
            "CREATE TABLE counts (auction BIGINT, c BIGINT, s BIGINT) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'debezium-json')",
            out.display()
        ),
    )
    .await;
    // One row per batch: the changelog Flink emits without mini-batches.
    exec(&client, "SET 'execution.batch-size' = '1'").await;
    exec(&client, "SET 'execution.checkpointing.interval' = '200 ms'").await;
    let job = submit(
        &client,
        "INSERT INTO counts SELECT auction, count(*), sum(price) FROM all_bids GROUP BY auction",
    )
    .await;

    // (1,10) (2,20) (1,30) (2,40) (1,50) (1,60) (2,70): a first result is `c` with `after`;
    // a change retracts the old result (`d` with `before`) and adds the new one.
    let row = |a: i64, c: i64, s: i64| format!("{{\"auction\":{a},\"c\":{c},\"s\":{s}}}");
    let insert = |a, c, s| {
        format!(
            "{{\"before\":null,\"after\":{},\"op\":\"c\"}}",
            row(a, c, s)
        )
    };
    let retract = |a, c, s| {
        format!(
            "{{\"before\":{},\"after\":null,\"op\":\"d\"}}",
            row(a, c, s)
        )
    };
    let mut expected = vec![
        insert(1, 1, 10),
        insert(2, 1, 20),
        retract(1, 1, 10),
        insert(1, 2, 40),
        retract(2, 1, 20),
        insert(2, 2, 60),
        retract(1, 2, 40),
        insert(1, 3, 90),
        retract(1, 3, 90),
        insert(1, 4, 150),
        retract(2, 2, 60),
        insert(2, 3, 130),
    ];
    expected.sort();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = read_part_files(&out);
    while got.len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got = read_part_files(&out);
    }
    // A little longer: nothing beyond the twelve changes may come.
    tokio::time::sleep(Duration::from_millis(600)).await;
    got = read_part_files(&out);
    got.sort();
    assert_eq!(got, expected, "the committed changelog");
    simple(&client, &format!("STOP JOB '{job}'")).await;
}

#[tokio::test]
async fn an_insert_only_sink_refuses_an_updating_query_with_flinks_message() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bids(&client).await;
    for format in ["csv", "json"] {
        exec(
            &client,
            &format!(
                "CREATE TABLE out_{format} (auction BIGINT, c BIGINT) WITH ('connector' = \
                 'filesystem', 'path' = '{}', 'format' = '{format}')",
                eddy.scratch_dir().join(format).display()
            ),
        )
        .await;
        let err = try_simple(
            &client,
            &format!(
                "INSERT INTO out_{format} SELECT auction, count(*) FROM all_bids GROUP BY auction"
            ),
        )
        .await
        .expect_err("an insert-only sink takes no updates");
        assert_eq!(sqlstate(&err).as_deref(), Some("0A000"), "{err:?}");
        let message = err
            .as_db_error()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with(&format!(
                "Table sink 'out_{format}' doesn't support consuming update changes which is produced by node GroupAggregate(groupBy=[all_bids.auction]"
            )),
            "{message}"
        );
    }
    // Reading a debezium-json table back is not there yet, and says so.
    std::fs::create_dir_all(eddy.scratch_dir().join("cl")).unwrap();
    std::fs::write(
        eddy.scratch_dir().join("cl").join("part-0"),
        "{\"before\":null,\"after\":{\"auction\":1,\"c\":1},\"op\":\"c\"}\n",
    )
    .unwrap();
    exec(
        &client,
        &format!(
            "CREATE TABLE cl (auction BIGINT, c BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'debezium-json')",
            eddy.scratch_dir().join("cl").display()
        ),
    )
    .await;
    let err = try_simple(&client, "SELECT * FROM cl")
        .await
        .expect_err("not readable yet");
    let message = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("debezium-json"), "{message}");
}

#[tokio::test]
async fn a_prepared_updating_select_describes_its_op_column_first() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bids(&client).await;
    exec(&client, "SET 'execution.batch-size' = '1'").await;
    // The extended protocol, as drivers use it: Describe must announce what Execute sends.
    let statement = client
        .prepare("SELECT auction, count(*) AS c FROM all_bids GROUP BY auction LIMIT 2")
        .await
        .expect("prepare");
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["op", "auction", "c"]);
    let rows = client.query(&statement, &[]).await.expect("execute");
    let mut got: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, i64>(1),
                r.get::<_, i64>(2),
            )
        })
        .collect();
    got.sort();
    // The file's first rows are (1, 10) and (2, 20): each auction's first result is +I.
    assert_eq!(got, [("+I".to_string(), 1, 1), ("+I".to_string(), 2, 1)]);
}

#[tokio::test]
async fn prepared_joins_and_top_n_describe_what_they_send() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bids(&client).await;
    // Each query's Describe (from the plan) must agree with the job it runs (from the job
    // graph): an op column exactly when the result updates. NOT EXISTS only becomes an
    // (anti) join when the plan is optimized.
    for (sql, op) in [
        (
            "SELECT a.auction FROM all_bids a WHERE NOT EXISTS \
             (SELECT 1 FROM all_bids b WHERE b.auction = a.auction AND b.price > 1000) LIMIT 1",
            true,
        ),
        (
            "SELECT a.auction FROM all_bids a WHERE EXISTS \
             (SELECT 1 FROM all_bids b WHERE b.auction = a.auction) LIMIT 1",
            false,
        ),
        (
            "SELECT auction, price FROM (SELECT auction, price, ROW_NUMBER() OVER \
             (PARTITION BY auction ORDER BY price DESC) AS rn FROM all_bids) WHERE rn <= 1 LIMIT 1",
            true,
        ),
    ] {
        let statement = client.prepare(sql).await.expect("prepare");
        let described = statement.columns().first().map(|c| c.name()) == Some("op");
        assert_eq!(described, op, "{sql}");
        let rows = client.query(&statement, &[]).await.expect("execute");
        assert_eq!(rows.len(), 1, "{sql}");
        assert_eq!(rows[0].columns().len(), statement.columns().len(), "{sql}");
    }
}

/// A print sink shows both sides of an update, with or without a primary key: Flink 2.3
/// asks it for `[I,UB,UA]` either way (its EXPLAIN CHANGELOG_MODE, see
/// `changelog/changelog_mode.slt`). A filter after the aggregation passes an update's old
/// side and drops its new one once the count reaches 3, as Flink 2.3 printed for the same
/// query (`+I[1, 1]`, `-U[1, 1]`, `+U[1, 2]`, `-U[1, 2]`, then nothing more for that key).
#[tokio::test]
async fn a_print_sink_gets_both_sides_of_each_update_and_a_filter_keeps_the_old_side() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bounded_bids(&client, "").await;
    for sql in [
        "CREATE TABLE keyed (auction BIGINT, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED) \
         WITH ('connector' = 'print', 'print-identifier' = 'keyed')",
        "CREATE TABLE unkeyed (auction BIGINT, n BIGINT) \
         WITH ('connector' = 'print', 'print-identifier' = 'unkeyed')",
        "CREATE TABLE filtered (auction BIGINT, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED) \
         WITH ('connector' = 'print', 'print-identifier' = 'filtered')",
        "SET 'execution.batch-size' = '1'",
        "SET 'table.dml-sync' = 'true'",
        "INSERT INTO keyed SELECT auction, count(*) FROM bids GROUP BY auction",
        "INSERT INTO unkeyed SELECT auction, count(*) FROM bids GROUP BY auction",
        "INSERT INTO filtered SELECT auction, count(*) FROM bids GROUP BY auction \
         HAVING count(*) < 3",
    ] {
        exec(&client, sql).await;
    }
    let log = eddy.log();
    let printed = |identifier: &str, auction: &str| printed(&log, identifier, Some(auction));
    // Auction 1 has four bids and 2 three, one batch each.
    for identifier in ["keyed", "unkeyed"] {
        assert_eq!(
            printed(identifier, "1"),
            ["+I[1, 1]", "-U[1, 1]", "+U[1, 2]", "-U[1, 2]", "+U[1, 3]", "-U[1, 3]", "+U[1, 4]"],
            "{identifier}: {log}"
        );
        assert_eq!(
            printed(identifier, "2"),
            ["+I[2, 1]", "-U[2, 1]", "+U[2, 2]", "-U[2, 2]", "+U[2, 3]"],
            "{identifier}: {log}"
        );
    }
    assert_eq!(
        printed("filtered", "1"),
        ["+I[1, 1]", "-U[1, 1]", "+U[1, 2]", "-U[1, 2]"],
        "{log}"
    );
    assert_eq!(
        printed("filtered", "2"),
        ["+I[2, 1]", "-U[2, 1]", "+U[2, 2]", "-U[2, 2]"],
        "{log}"
    );
}

/// `ON CONFLICT DO DEDUPLICATE` (Flink 2.3's SinkUpsertMaterializer) before a print sink
/// keyed by auction, while the query's upsert key is (auction, hi): each auction keeps
/// every row still standing in arrival order, and a retracted latest row gives the key
/// back the one before. From the inner aggregation's changes (bids_ooo.csv, one row per
/// batch):
///   auction 1: +I(f,1) -U(f,1) +U(f,2) +I(t,1) -U(t,1) +U(t,2)
///   auction 2: +I(f,1) +I(t,1) -U(t,1) +U(t,2)
/// Apache Flink 2.3 prints exactly these lines per auction
/// (`sqllogictest/flink_on_conflict.py`).
#[tokio::test]
async fn on_conflict_do_deduplicate_materializes_each_primary_key() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bounded_bids(&client, "").await;
    for sql in [
        "CREATE TABLE latest (auction BIGINT, hi BOOLEAN, n BIGINT, PRIMARY KEY (auction) \
         NOT ENFORCED) WITH ('connector' = 'print', 'print-identifier' = 'latest')",
        "SET 'execution.batch-size' = '1'",
        "SET 'table.dml-sync' = 'true'",
        "INSERT INTO latest SELECT auction, price > 35, count(*) FROM bids \
         GROUP BY auction, price > 35 ON CONFLICT DO DEDUPLICATE",
    ] {
        exec(&client, sql).await;
    }
    let log = eddy.log();
    let printed = |auction: &str| printed(&log, "latest", Some(auction));
    assert_eq!(
        printed("1"),
        [
            "+I[1, false, 1]",
            "-D[1, false, 1]",
            "+I[1, false, 2]",
            "+U[1, true, 1]",
            "+U[1, false, 2]",
            "+U[1, true, 2]"
        ],
        "{log}"
    );
    assert_eq!(
        printed("2"),
        [
            "+I[2, false, 1]",
            "+U[2, true, 1]",
            "+U[2, false, 1]",
            "+U[2, true, 2]"
        ],
        "{log}"
    );
}

/// `table.exec.sink.upsert-materialize` = FORCE puts the SinkUpsertMaterializer before
/// every upsert sink with a primary key, as Flink's does: an insert-only query's second row
/// for a key becomes an update, and a count per auction (whose key is the sink's) is
/// retracted and re-added through it. Apache Flink 2.3 prints exactly these lines
/// (`sqllogictest/flink_on_conflict.py`); without FORCE the count is `+I`, `-U`, `+U`.
#[tokio::test]
async fn upsert_materialize_force_materializes_every_keyed_upsert_sink() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bounded_bids(&client, "").await;
    for sql in [
        "CREATE TABLE appended (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH \
         ('connector' = 'print', 'print-identifier' = 'appended')",
        "CREATE TABLE counted (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH \
         ('connector' = 'print', 'print-identifier' = 'counted')",
        "SET 'execution.batch-size' = '1'",
        "SET 'table.dml-sync' = 'true'",
        "SET 'table.exec.sink.upsert-materialize' = 'FORCE'",
        "INSERT INTO appended VALUES (1, 10), (1, 20), (2, 5)",
        "INSERT INTO counted SELECT auction, count(*) FROM bids GROUP BY auction",
    ] {
        exec(&client, sql).await;
    }
    let plan = simple(
        &client,
        "EXPLAIN INSERT INTO appended SELECT auction, price FROM bids",
    )
    .await;
    let plan: String = plan
        .iter()
        .flat_map(|r| r.iter())
        .filter_map(|c| c.1.clone())
        .collect();
    assert!(
        plan.contains("SinkMaterializer(conflictStrategy=[DEDUPLICATE], pk=[k])"),
        "{plan}"
    );
    let log = eddy.log();
    assert_eq!(
        printed(&log, "appended", Some("1")),
        ["+I[1, 10]", "+U[1, 20]"],
        "{log}"
    );
    assert_eq!(printed(&log, "appended", Some("2")), ["+I[2, 5]"], "{log}");
    assert_eq!(
        printed(&log, "counted", Some("1")),
        ["+I[1, 1]", "-D[1, 1]", "+I[1, 2]", "-D[1, 2]", "+I[1, 3]", "-D[1, 3]", "+I[1, 4]"],
        "{log}"
    );
    assert_eq!(
        printed(&log, "counted", Some("2")),
        ["+I[2, 1]", "-D[2, 1]", "+I[2, 2]", "-D[2, 2]", "+I[2, 3]"],
        "{log}"
    );
}

/// Regular joins with mini-batches (Flink's MiniBatchStreamingJoinOperator): the
/// changelog source products_cdc.json (1 scooter added then updated, 2 car battery added
/// then deleted, 3 drill and 4 hammer added) joined with auction_names.csv (1 lamp,
/// 2 chair, 3 desk), both in one mini-batch (its latency is an hour; the input's end
/// flushes it). By Flink's rules each side's changes are folded first (scooter's `+I` and
/// `-U` cancel, so do car battery's `+I` and `-D`), then the right side is joined before
/// the left (the left first for a right join), so that no null-padded row is sent and
/// retracted. Flink 2.3 prints the same final rows (`sqllogictest/flink_minibatch_join.py`);
/// its intermediate lines depend on when its bundles close, which a watermark from either
/// input does (the names file ends first).
#[tokio::test]
async fn mini_batch_joins_fold_each_side_and_join_the_right_side_first() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let data = test_data_dir();
    for sql in [
        format!(
            "CREATE TABLE products (id BIGINT, name STRING, grams BIGINT) WITH ('connector' = \
             'filesystem', 'path' = '{}', 'format' = 'debezium-json')",
            data.join("products_cdc.json").display()
        ),
        format!(
            "CREATE TABLE names (id BIGINT, name STRING) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv')",
            data.join("auction_names.csv").display()
        ),
        "SET 'table.dml-sync' = 'true'".to_string(),
        "SET 'table.exec.mini-batch.enabled' = 'true'".to_string(),
        "SET 'table.exec.mini-batch.allow-latency' = '1 h'".to_string(),
        "SET 'table.exec.mini-batch.size' = '1000'".to_string(),
    ] {
        exec(&client, &sql).await;
    }
    let joins = [
        (
            "inner",
            "SELECT p.id, p.name, n.name FROM products AS p JOIN names AS n ON p.id = n.id",
            vec![
                ("1", vec!["+U[1, scooter, lamp]"]),
                ("3", vec!["+I[3, drill, desk]"]),
            ],
        ),
        (
            "left",
            "SELECT p.id, p.name, n.name FROM products AS p LEFT JOIN names AS n ON p.id = n.id",
            vec![
                ("1", vec!["+I[1, scooter, lamp]"]),
                ("3", vec!["+I[3, drill, desk]"]),
                ("4", vec!["+I[4, hammer, null]"]),
            ],
        ),
        (
            "right",
            "SELECT n.id, p.name, n.name FROM products AS p RIGHT JOIN names AS n ON p.id = n.id",
            vec![
                ("1", vec!["+I[1, scooter, lamp]"]),
                ("2", vec!["+I[2, null, chair]"]),
                ("3", vec!["+I[3, drill, desk]"]),
            ],
        ),
    ];
    for (name, query, expected) in joins {
        exec(
            &client,
            &format!(
                "CREATE TABLE {name} (id BIGINT, product STRING, name STRING) WITH \
                 ('connector' = 'print', 'print-identifier' = '{name}')"
            ),
        )
        .await;
        let plan = simple(&client, &format!("EXPLAIN INSERT INTO {name} {query}")).await;
        let plan: String = plan
            .iter()
            .flat_map(|r| r.iter())
            .filter_map(|c| c.1.clone())
            .collect();
        assert!(plan.contains("miniBatch=[true]"), "{plan}");
        exec(&client, &format!("INSERT INTO {name} {query}")).await;
        let log = eddy.log();
        let all = printed(&log, name, None);
        assert_eq!(
            all.len(),
            expected.iter().map(|(_, rows)| rows.len()).sum::<usize>(),
            "{name}: {all:?}"
        );
        for (id, rows) in expected {
            assert_eq!(printed(&log, name, Some(id)), rows, "{name} join, id {id}");
        }
    }
}

/// `ON CONFLICT DO NOTHING` and `DO ERROR` (Flink 2.3's watermark-compacting
/// materializer): each key's changes wait for the watermark after them and are applied to
/// the row the sink holds. With a watermark per bid (one row per batch), auction 1 goes
/// (f,1) then (f,2) and auction 2 keeps (f,1) once its second upsert key (t) arrives:
/// `DO NOTHING` prints what Flink 2.3 printed for the same query, and `DO ERROR` fails
/// on auction 2 with Flink's message (`sqllogictest/flink_on_conflict.py`).
#[tokio::test]
async fn on_conflict_do_nothing_keeps_the_first_row_and_do_error_fails_naming_the_key() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    create_bounded_bids(&client, ", WATERMARK FOR ts AS ts").await;
    for sql in [
        "CREATE TABLE kept (auction BIGINT, hi BOOLEAN, n BIGINT, PRIMARY KEY (auction) \
         NOT ENFORCED) WITH ('connector' = 'print', 'print-identifier' = 'kept')",
        "CREATE TABLE strict (auction BIGINT, hi BOOLEAN, n BIGINT, PRIMARY KEY (auction) \
         NOT ENFORCED) WITH ('connector' = 'print', 'print-identifier' = 'strict')",
        "SET 'execution.batch-size' = '1'",
        // A watermark after every batch, not every 200 ms: the compactions are per bid.
        "SET 'pipeline.auto-watermark-interval' = '0'",
        "SET 'table.dml-sync' = 'true'",
        "INSERT INTO kept SELECT auction, price > 35, count(*) FROM bids \
         GROUP BY auction, price > 35 ON CONFLICT DO NOTHING",
    ] {
        exec(&client, sql).await;
    }
    let printed = |identifier: &str| printed(&eddy.log(), identifier, None);
    assert_eq!(
        printed("kept"),
        ["+I[1, false, 1]", "+I[2, false, 1]", "+U[1, false, 2]"],
        "{}",
        eddy.log()
    );
    exec(&client, "SET 'table.dml-sync' = 'false'").await;
    let job = submit(
        &client,
        "INSERT INTO strict SELECT auction, price > 35, count(*) FROM bids \
         GROUP BY auction, price > 35 ON CONFLICT DO ERROR",
    )
    .await;
    let failed = wait_for_status(&client, &job, "FAILED").await;
    let error = failed.get("error").cloned().flatten().unwrap_or_default();
    assert!(
        error.contains("Primary key constraint violation")
            && error.contains("Conflicting key: [auction=2]"),
        "{failed:?}"
    );
    assert_eq!(
        printed("strict"),
        ["+I[1, false, 1]", "+I[2, false, 1]", "+U[1, false, 2]"]
    );
}

/// The final rows of a debezium-json changelog in `dir`: each `after` of a `c` counts
/// once, each `before` of a `d` takes one out. A row taken out more often than added comes
/// back as `retracted <row>`, so that the comparison reports it.
fn folded_changelog(dir: &Path) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
    for line in read_part_files(dir) {
        let change: serde_json::Value = serde_json::from_str(&line).expect("a debezium record");
        let (side, delta) = match change["op"].as_str() {
            Some("c") => ("after", 1),
            Some("d") => ("before", -1),
            other => panic!("unexpected op {other:?} in {line}"),
        };
        *counts.entry(change[side].to_string()).or_default() += delta;
    }
    counts
        .into_iter()
        .flat_map(|(row, n)| match n < 0 {
            true => std::iter::repeat_n(format!("retracted {row}"), n.unsigned_abs() as usize),
            false => std::iter::repeat_n(row, n as usize),
        })
        .collect()
}

#[tokio::test]
async fn a_group_aggregation_resumes_from_one_phase_into_two_phases_and_back() {
    let eddy = Eddy::start_with_args(&["-D", "taskmanager.numberOfTaskSlots=8"]);
    let client = eddy.connect().await;
    let n = 30_000;
    let out = eddy.scratch_dir().join("groups");
    for sql in [
        format!(
            "CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen', \
             'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{n}', \
             'rows-per-second' = '10000')"
        ),
        format!(
            "CREATE TABLE groups (k BIGINT, c BIGINT, s BIGINT, mx BIGINT) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'debezium-json')",
            out.display()
        ),
        "SET 'execution.checkpointing.interval' = '200 ms'".to_string(),
        "SET 'table.exec.mini-batch.allow-latency' = '100 ms'".to_string(),
        "SET 'table.exec.mini-batch.size' = '1000'".to_string(),
    ] {
        exec(&client, &sql).await;
    }
    let query = "INSERT INTO groups SELECT id % 7, COUNT(*), SUM(id), MAX(id) FROM seq \
                 GROUP BY id % 7";
    // One phase, then two (mini-batches on: a local and a global aggregation), then one
    // again: the global phase keeps the one-phase accumulators under the same uid.
    let mut savepoint = None;
    for (two_phase, parallelism) in [(false, 2), (true, 3), (false, 1)] {
        if let Some(path) = &savepoint {
            exec(
                &client,
                &format!("SET 'execution.savepoint.path' = '{path}'"),
            )
            .await;
        }
        exec(
            &client,
            &format!("SET 'table.exec.mini-batch.enabled' = '{two_phase}'"),
        )
        .await;
        exec(
            &client,
            &format!("SET 'parallelism.default' = '{parallelism}'"),
        )
        .await;
        let plan = simple(&client, &format!("EXPLAIN {query}")).await;
        let plan: String = plan
            .iter()
            .flat_map(|r| r.iter())
            .filter_map(|c| c.1.clone())
            .collect();
        assert_eq!(plan.contains("LocalGroupAggregate"), two_phase, "{plan}");
        let job = submit(&client, query).await;
        if parallelism == 1 {
            wait_for_status(&client, &job, "FINISHED").await;
        } else {
            savepoint = Some(stop_part_way(&client, &job).await);
        }
    }
    let mut expected: Vec<String> = (0..7)
        .map(|k| {
            let ids: Vec<i64> = (1..=n).filter(|id| id % 7 == k).collect();
            format!(
                "{{\"c\":{},\"k\":{k},\"mx\":{},\"s\":{}}}",
                ids.len(),
                ids.last().copied().unwrap_or_default(),
                ids.iter().sum::<i64>()
            )
        })
        .collect();
    expected.sort();
    common::assert_same(folded_changelog(&out), expected);
}
