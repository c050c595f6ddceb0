//! The `upsert-kafka` connector end to end, against a real Kafka-protocol broker (tansu,
//! see `common/kafka.rs`) and the real `eddy` binary: a compacted topic read as a
//! changelog (latest value per key, tombstones as deletions), updating queries written as
//! new values and tombstones, and the round trip back.

mod common;

use std::collections::BTreeMap;

use common::kafka::{Broker, Record};
use common::{assert_same, exec, joined_rows, sqlstate, submit, try_simple, wait_for_status, Eddy};

/// The changes the test writes to `users`: `(id, value)`, `None` a tombstone. Key `id`
/// goes to partition `id % 2`, so each key's records keep their order.
const USERS: &[(i64, Option<(&str, i64)>)] = &[
    (1, Some(("ann", 10))),
    (2, Some(("bob", 20))),
    (3, Some(("cid", 30))),
    (1, Some(("ann", 11))),
    (2, None),
    // A tombstone of a key never written deletes nothing.
    (9, None),
    // The kept value again: no change.
    (3, Some(("cid", 30))),
    (4, Some(("bob", 40))),
    (2, Some(("bob", 21))),
    (4, None),
];

fn user_json(id: i64, value: Option<(&str, i64)>) -> Option<String> {
    value.map(|(name, score)| format!("{{\"id\":{id},\"name\":\"{name}\",\"score\":{score}}}"))
}

/// Each key's latest value, as compaction would leave the topic (a tombstone removes it).
fn compacted(records: &[Record]) -> BTreeMap<String, String> {
    let mut latest = BTreeMap::new();
    for r in records {
        let key = r.key.clone().expect("every upsert record has a key");
        match &r.value {
            Some(v) => latest.insert(key, v.clone()),
            None => latest.remove(&key),
        };
    }
    latest
}

fn upsert_table(broker: &Broker, name: &str, columns: &str, key: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} ({columns}, PRIMARY KEY ({key}) NOT ENFORCED) WITH (\
         'connector' = 'upsert-kafka', 'topic' = '{name}', \
         'properties.bootstrap.servers' = '{}', 'key.format' = 'json', \
         'value.format' = 'json', 'properties.batch.num.messages' = '1'{extra})",
        broker.address()
    )
}

#[tokio::test]
async fn a_compacted_topic_reads_as_a_changelog_and_updates_write_back_as_upserts() {
    let broker = Broker::start();
    broker.create_topic("users", 2);
    broker.create_topic("users_copy", 2);
    broker.create_topic("by_name", 2);
    let keys: Vec<String> = USERS
        .iter()
        .map(|(id, _)| format!("{{\"id\":{id}}}"))
        .collect();
    let values: Vec<Option<String>> = USERS.iter().map(|(id, v)| user_json(*id, *v)).collect();
    let records: Vec<_> = USERS
        .iter()
        .zip(keys.iter().zip(&values))
        .map(|((id, _), (k, v))| ((id % 2) as i32, Some(k.as_str()), v.as_deref(), None))
        .collect();
    broker.produce("users", &records);

    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    let bounded = ", 'scan.bounded.mode' = 'latest-offset'";
    let user_columns = "id BIGINT, name STRING, score BIGINT";
    exec(
        &client,
        &upsert_table(&broker, "users", user_columns, "id", bounded),
    )
    .await;
    exec(
        &client,
        &upsert_table(&broker, "users_copy", user_columns, "id", ""),
    )
    .await;
    // One writer: tansu's ListOffsets can answer a partition two producers wrote at once
    // short of its end (see `common/kafka.rs`), and the bounded read below stops there.
    exec(
        &client,
        &upsert_table(
            &broker,
            "by_name",
            "name STRING, n BIGINT, total BIGINT",
            "name",
            &format!("{bounded}, 'sink.parallelism' = '1'"),
        ),
    )
    .await;

    // A copy: each key's changes in order, as Flink's upsert-kafka writes them: no old
    // sides of updates, a tombstone per deletion, nothing for a deletion of an unknown
    // key or a repeated value.
    let job = submit(&client, "INSERT INTO users_copy SELECT * FROM users").await;
    wait_for_status(&client, &job, "FINISHED").await;
    let copy = broker.read_all("users_copy");
    let per_key = |id: i64| -> Vec<Option<String>> {
        let key = format!("{{\"id\":{id}}}");
        copy.iter()
            .filter(|r| r.key.as_deref() == Some(key.as_str()))
            .map(|r| r.value.clone())
            .collect()
    };
    assert_eq!(
        per_key(1),
        [
            user_json(1, Some(("ann", 10))),
            user_json(1, Some(("ann", 11)))
        ]
    );
    assert_eq!(
        per_key(2),
        [
            user_json(2, Some(("bob", 20))),
            None,
            user_json(2, Some(("bob", 21)))
        ]
    );
    assert_eq!(per_key(3), [user_json(3, Some(("cid", 30)))]);
    assert_eq!(per_key(4), [user_json(4, Some(("bob", 40))), None]);
    assert!(per_key(9).is_empty(), "{copy:?}");
    assert_eq!(copy.len(), 8, "{copy:?}");

    // A streaming SELECT of an upsert table is a changelog: Describe announces the op
    // column that Execute sends, as for any updating result.
    let statement = client
        .prepare("SELECT id, name FROM users_copy LIMIT 2")
        .await
        .unwrap();
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["op", "id", "name"]);
    let rows = client.query(&statement, &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let kinds: Vec<&str> = rows.iter().map(|r| r.get::<_, &str>(0)).collect();
    assert!(
        kinds.iter().all(|k| ["+I", "-U", "+U", "-D"].contains(k)),
        "{kinds:?}"
    );
    // Each key's first change is an insert, and the first row read is some key's first.
    assert_eq!(kinds[0], "+I", "{kinds:?}");

    // An updating aggregation over the changelog: deletions and updates retract.
    let job = submit(
        &client,
        "INSERT INTO by_name SELECT name, count(*) AS n, sum(score) AS total \
         FROM users GROUP BY name",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    let expected = BTreeMap::from([
        (
            "{\"name\":\"ann\"}".to_string(),
            r#"{"name":"ann","n":1,"total":11}"#.to_string(),
        ),
        (
            "{\"name\":\"bob\"}".to_string(),
            r#"{"name":"bob","n":1,"total":21}"#.to_string(),
        ),
        (
            "{\"name\":\"cid\"}".to_string(),
            r#"{"name":"cid","n":1,"total":30}"#.to_string(),
        ),
    ]);
    assert_eq!(compacted(&broker.read_all("by_name")), expected);

    // The round trip: the written topic read back as a table is the aggregation's result.
    exec(&client, "SET 'table.dml-sync' = 'true'").await;
    exec(
        &client,
        "CREATE MATERIALIZED VIEW names AS SELECT name, n, total FROM by_name",
    )
    .await;
    assert_same(
        joined_rows(&client, "SELECT * FROM names").await,
        vec!["ann,1,11".into(), "bob,1,21".into(), "cid,1,30".into()],
    );
    exec(
        &client,
        "CREATE MATERIALIZED VIEW latest AS SELECT id, name, score FROM users",
    )
    .await;
    assert_same(
        joined_rows(&client, "SELECT * FROM latest").await,
        vec!["1,ann,11".into(), "2,bob,21".into(), "3,cid,30".into()],
    );
}

#[tokio::test]
async fn upsert_tables_are_checked_as_flink_checks_them() {
    let broker = Broker::start();
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let servers = broker.address();
    let create = |columns: &str, options: &str| {
        format!(
            "CREATE TABLE u ({columns}) WITH ('connector' = 'upsert-kafka', 'topic' = 'u', \
             'properties.bootstrap.servers' = '{servers}'{options})"
        )
    };
    let formats = ", 'key.format' = 'json', 'value.format' = 'json'";
    let keyed = "id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED";
    for (sql, state, message) in [
        (
            create("id BIGINT, v STRING", formats),
            "42P16",
            "'upsert-kafka' tables require to define a PRIMARY KEY constraint",
        ),
        (
            create(keyed, ", 'value.format' = 'json'"),
            "22023",
            "key.format",
        ),
        (
            create(keyed, &format!("{formats}, 'key.fields' = 'id'")),
            "22023",
            "its PRIMARY KEY",
        ),
        (
            create(
                keyed,
                &format!("{formats}, 'scan.startup.mode' = 'latest-offset'"),
            ),
            "42704",
            "scan.startup.mode",
        ),
        (
            create(
                keyed,
                ", 'key.format' = 'json', 'value.format' = 'debezium-json'",
            ),
            "22023",
            "changelog format cannot be its value format",
        ),
    ] {
        let err = try_simple(&client, &sql).await.unwrap_err();
        assert_eq!(sqlstate(&err).as_deref(), Some(state), "{sql}: {err:?}");
        let text = err
            .as_db_error()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(text.contains(message), "{sql}: {text}");
    }
    // A batch query cannot read a changelog, as in Flink.
    exec(
        &client,
        &create(
            keyed,
            &format!("{formats}, 'scan.bounded.mode' = 'latest-offset'"),
        ),
    )
    .await;
    let err = try_simple(&client, "SELECT * FROM u").await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("0A000"), "{err:?}");
}

/// Flink's key and value schemas of `prices` below: the key column is NOT NULL (a primary
/// key's columns are), so is `item`; `price` is nullable.
const PRICE_KEY: &str = r#"{"type":"record","name":"record","namespace":"org.apache.flink.avro.generated","fields":[{"name":"id","type":"long"}]}"#;
const PRICE_VALUE: &str = r#"{"type":"record","name":"record","namespace":"org.apache.flink.avro.generated","fields":[{"name":"item","type":"string"},{"name":"price","type":["null","long"],"default":null}]}"#;

#[tokio::test]
async fn an_avro_upsert_table_reads_deletes_of_not_null_columns_and_skips_keyless_records() {
    use apache_avro::types::Value;
    use rdkafka::producer::{BaseRecord, Producer};
    let key_schema = apache_avro::Schema::parse_str(PRICE_KEY).unwrap();
    let value_schema = apache_avro::Schema::parse_str(PRICE_VALUE).unwrap();
    let key = |id: i64| {
        apache_avro::to_avro_datum(
            &key_schema,
            Value::Record(vec![("id".into(), Value::Long(id))]),
        )
        .unwrap()
    };
    let value = |item: &str, price: Option<i64>| {
        let price = match price {
            Some(p) => Value::Union(1, Box::new(Value::Long(p))),
            None => Value::Union(0, Box::new(Value::Null)),
        };
        apache_avro::to_avro_datum(
            &value_schema,
            Value::Record(vec![
                ("item".into(), Value::String(item.into())),
                ("price".into(), price),
            ]),
        )
        .unwrap()
    };
    // (key, value) of each record.
    type Bytes = Option<Vec<u8>>;
    let records: Vec<(Bytes, Bytes)> = vec![
        (Some(key(1)), Some(value("a", Some(10)))),
        (Some(key(2)), Some(value("b", None))),
        // A tombstone: `item` is NOT NULL, yet the deletion's row has it NULL.
        (Some(key(1)), None),
        // No key: no upsert, skipped.
        (None, Some(value("x", Some(99)))),
        (Some(key(3)), Some(value("c", Some(30)))),
        (Some(key(2)), Some(value("b", Some(20)))),
    ];
    let broker = Broker::start();
    broker.create_topic("prices", 1);
    let producer = broker.producer();
    for (k, v) in &records {
        let mut record = BaseRecord::<[u8], [u8]>::to("prices");
        if let Some(k) = k {
            record = record.key(k);
        }
        if let Some(v) = v {
            record = record.payload(v);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(std::time::Duration::from_secs(30)).unwrap();

    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE prices (id BIGINT, item STRING NOT NULL, price BIGINT, \
             PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', \
             'topic' = 'prices', 'properties.bootstrap.servers' = '{}', \
             'key.format' = 'avro', 'value.format' = 'avro', \
             'value.fields-include' = 'EXCEPT_KEY', 'scan.bounded.mode' = 'latest-offset')",
            broker.address()
        ),
    )
    .await;
    let ddl = joined_rows(&client, "SHOW CREATE TABLE prices")
        .await
        .join("\n");
    assert!(ddl.contains("`id` BIGINT NOT NULL"), "{ddl}");
    exec(&client, "SET 'table.dml-sync' = 'true'").await;
    exec(
        &client,
        "CREATE MATERIALIZED VIEW latest_prices AS SELECT id, item, price FROM prices",
    )
    .await;
    assert_same(
        joined_rows(&client, "SELECT * FROM latest_prices").await,
        vec!["2,b,20".into(), "3,c,30".into()],
    );
}

/// A filter after an aggregation (`HAVING count(*) < 3`) drops the new side of the update
/// that crosses it, so the old side must reach the table as a tombstone; otherwise the
/// key would keep a count the query no longer holds. Flink 2.3 plans this query with
/// `-U` kept (its EXPLAIN CHANGELOG_MODE, `changelog/changelog_mode.slt`) and its
/// upsert-kafka writes `-U` as a tombstone: each auction is deleted once it reaches 3.
#[tokio::test]
async fn a_filtered_aggregation_deletes_the_keys_its_filter_drops() {
    let broker = Broker::start();
    broker.create_topic("few_bids", 1);
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE bids (auction BIGINT, price BIGINT, ts TIMESTAMP(3)) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            common::test_data_dir().join("bids_ooo.csv").display()
        ),
    )
    .await;
    exec(
        &client,
        &upsert_table(
            &broker,
            "few_bids",
            "auction BIGINT, n BIGINT",
            "auction",
            "",
        ),
    )
    .await;
    // One row per batch, so that every count is a change of its own.
    exec(&client, "SET 'execution.batch-size' = '1'").await;
    let job = submit(
        &client,
        "INSERT INTO few_bids SELECT auction, count(*) FROM bids GROUP BY auction \
         HAVING count(*) < 3",
    )
    .await;
    wait_for_status(&client, &job, "FINISHED").await;
    let records = broker.read_all("few_bids");
    for auction in [1, 2] {
        let key = format!("{{\"auction\":{auction}}}");
        let values: Vec<Option<String>> = records
            .iter()
            .filter(|r| r.key.as_deref() == Some(key.as_str()))
            .map(|r| r.value.clone())
            .collect();
        let value = |n: i64| Some(format!("{{\"auction\":{auction},\"n\":{n}}}"));
        assert_eq!(
            values,
            [value(1), None, value(2), None],
            "auction {auction}: +I, then -U as a tombstone and +U, then -U alone"
        );
    }
    assert!(compacted(&records).is_empty(), "{records:?}");
}
