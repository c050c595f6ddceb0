//! The catalog is persisted under the data dir: tables, views and drops survive a restart
//! (issue 2, item 3).

mod common;

use common::{exec, scalar, simple, test_data_dir, values, Eddy};

fn people_ddl() -> String {
    format!(
        "CREATE TABLE people (id INT, name STRING, dept STRING, age INT, salary DOUBLE, active BOOLEAN) \
         WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
        test_data_dir().join("people.csv").display()
    )
}

async fn sorted_names(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let mut names: Vec<String> = values(client, sql)
        .await
        .into_iter()
        .map(|r| r[0].clone().expect("name is NULL"))
        .collect();
    names.sort();
    names
}

/// Everything a user can see about the catalog, to compare before and after a restart.
async fn catalog_snapshot(client: &tokio_postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "tables {:?}",
        sorted_names(client, "SHOW TABLES").await
    ));
    out.push(format!(
        "views {:?}",
        sorted_names(client, "SHOW VIEWS").await
    ));
    for t in ["people", "gen", "typed", "eng", "eng_names"] {
        out.push(format!(
            "describe {t} {:?}",
            values(client, &format!("DESCRIBE {t}")).await
        ));
    }
    for t in ["people", "gen", "typed"] {
        out.push(format!(
            "show create {t} {:?}",
            scalar(client, &format!("SHOW CREATE TABLE {t}")).await
        ));
    }
    out
}

async fn create_catalog(client: &tokio_postgres::Client) {
    exec(client, &people_ddl()).await;
    exec(
        client,
        "CREATE TABLE gen (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '5', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5', 'fields.s.length' = '3')",
    )
    .await;
    exec(
        client,
        "CREATE TABLE typed (id BIGINT NOT NULL, amount DECIMAL(10, 2), code CHAR(3), ts TIMESTAMP(3), \
         ltz TIMESTAMP_LTZ(3), d DATE, tags ARRAY<STRING>, attrs MAP<STRING, INT>, pos ROW<x INT, y STRING>) \
         WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(
        client,
        "CREATE VIEW eng AS SELECT id, name, salary FROM people WHERE dept = 'eng'",
    )
    .await;
    exec(client, "CREATE VIEW eng_names AS SELECT name FROM eng").await;
}

async fn check_catalog_usable(client: &tokio_postgres::Client) {
    assert_eq!(
        scalar(client, "SELECT count(*) FROM people")
            .await
            .as_deref(),
        Some("8")
    );
    assert_eq!(
        scalar(client, "SELECT count(*) FROM eng").await.as_deref(),
        Some("3")
    );
    assert_eq!(
        values(client, "SELECT name FROM eng_names ORDER BY name").await,
        vec![
            vec![Some("Alice".to_string())],
            vec![Some("Bob".to_string())],
            vec![Some("Frank".to_string())]
        ]
    );
    assert_eq!(
        scalar(client, "SELECT sum(id) FROM gen").await.as_deref(),
        Some("15")
    );
}

#[tokio::test]
async fn tables_and_views_survive_restart() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    create_catalog(&client).await;
    let before = catalog_snapshot(&client).await;
    let tables = sorted_names(&client, "SHOW TABLES").await;
    for t in ["gen", "people", "typed"] {
        assert!(
            tables.contains(&t.to_string()),
            "SHOW TABLES lacks {t}: {tables:?}"
        );
    }
    assert_eq!(
        sorted_names(&client, "SHOW VIEWS").await,
        vec!["eng", "eng_names"]
    );
    check_catalog_usable(&client).await;
    drop(client);

    eddy.restart();
    let client = eddy.connect().await;
    let after = catalog_snapshot(&client).await;
    assert_eq!(before, after, "catalog changed across a restart");
    check_catalog_usable(&client).await;

    // The restored catalog is live: objects can be dropped and created again.
    exec(&client, "DROP VIEW eng_names").await;
    exec(
        &client,
        "CREATE VIEW eng_names AS SELECT upper(name) AS name FROM eng",
    )
    .await;
    assert_eq!(
        scalar(&client, "SELECT min(name) FROM eng_names")
            .await
            .as_deref(),
        Some("ALICE")
    );
}

#[tokio::test]
async fn drops_survive_restart() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    create_catalog(&client).await;
    exec(&client, "DROP VIEW eng_names").await;
    exec(&client, "DROP TABLE typed").await;
    exec(&client, "DROP TABLE IF EXISTS no_such_table").await;
    drop(client);

    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(sorted_names(&client, "SHOW VIEWS").await, vec!["eng"]);
    let tables = sorted_names(&client, "SHOW TABLES").await;
    assert!(
        tables.contains(&"people".to_string()) && tables.contains(&"gen".to_string()),
        "{tables:?}"
    );
    assert!(
        !tables.contains(&"typed".to_string()),
        "dropped table came back: {tables:?}"
    );
    assert!(
        !tables.contains(&"eng_names".to_string()),
        "dropped view came back: {tables:?}"
    );

    // The dropped names are free again.
    exec(
        &client,
        "CREATE TABLE typed (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    assert_eq!(
        values(&client, "DESCRIBE typed").await[0][..2],
        [Some("x".to_string()), Some("INT".to_string())]
    );
}

#[tokio::test]
async fn acknowledged_ddl_survives_kill() {
    // A DDL statement that returned success is durable even if the process dies right after.
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    create_catalog(&client).await;
    let before = catalog_snapshot(&client).await;
    drop(client);

    eddy.kill_and_restart();
    let client = eddy.connect().await;
    let after = catalog_snapshot(&client).await;
    assert_eq!(before, after, "catalog changed across a kill -9");
    check_catalog_usable(&client).await;
}

#[tokio::test]
async fn session_settings_do_not_persist() {
    // SET is session state, not catalog state.
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(&client, "SET 'parallelism.default' = '3'").await;
    let listed = simple(&client, "SET").await;
    assert!(
        listed.iter().any(|r| r
            .iter()
            .any(|(_, v)| v.as_deref() == Some("parallelism.default"))),
        "SET list lacks parallelism.default: {listed:?}"
    );
    drop(client);

    eddy.restart();
    let client = eddy.connect().await;
    let listed = values(&client, "SET").await;
    assert!(
        !listed.contains(&vec![
            Some("parallelism.default".to_string()),
            Some("3".to_string())
        ]),
        "a session SET survived a restart: {listed:?}"
    );
}

#[tokio::test]
async fn catalogs_and_databases_survive_restart_but_in_memory_catalogs_do_not() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE DATABASE sales COMMENT 'orders' WITH ('k' = 'v')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE sales.orders (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '4', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '4')",
    )
    .await;
    exec(
        &client,
        "CREATE VIEW sales.small AS SELECT id FROM orders WHERE id < 3",
    )
    .await;
    exec(&client, "CREATE CATALOG kept WITH ('type' = 'eddy')").await;
    exec(&client, "CREATE DATABASE kept.db").await;
    exec(
        &client,
        "CREATE TABLE kept.db.t (x STRING) WITH ('connector' = 'blackhole')",
    )
    .await;
    exec(
        &client,
        "CREATE CATALOG mem WITH ('type' = 'generic_in_memory')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE mem.`default`.t (x STRING) WITH ('connector' = 'blackhole')",
    )
    .await;
    // A session's USE is its own: another session still starts in the default database.
    exec(&client, "USE sales").await;
    let other = eddy.connect().await;
    assert_eq!(
        scalar(&other, "SHOW CURRENT DATABASE").await.as_deref(),
        Some("default_database")
    );
    assert_eq!(
        sorted_names(&client, "SHOW TABLES").await,
        vec!["orders", "small"]
    );
    drop((client, other));

    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(
        sorted_names(&client, "SHOW CATALOGS").await,
        vec!["default_catalog", "kept"],
        "the in-memory catalog outlived the server"
    );
    assert_eq!(
        sorted_names(&client, "SHOW DATABASES").await,
        vec!["default_database", "sales"]
    );
    assert_eq!(
        sorted_names(&client, "SHOW TABLES FROM sales").await,
        vec!["orders", "small"]
    );
    assert_eq!(
        sorted_names(&client, "SHOW TABLES FROM kept.db").await,
        vec!["t"]
    );
    // The view still reads its own database's `orders`, from another current database.
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM sales.orders")
            .await
            .as_deref(),
        Some("4")
    );
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM sales.small")
            .await
            .as_deref(),
        Some("2")
    );
    let e = client
        .simple_query("USE CATALOG mem")
        .await
        .expect_err("the in-memory catalog is gone");
    assert_eq!(common::sqlstate(&e).as_deref(), Some("3D000"), "{e}");
}

#[tokio::test]
async fn a_catalog_of_one_database_is_read_into_the_default_database() {
    // The catalog file Eddy wrote before catalogs existed (version 1).
    let mut eddy = Eddy::start();
    eddy.stop();
    let v1 = r#"{"version": 1, "catalog": {"tables": {"people": {"name": "people", "columns": [{"name": "id", "data_type": "Int", "nullable": true}], "watermark": null, "primary_key": null, "options": {"connector": "datagen", "number-of-rows": "8"}}}, "views": {"ids": {"name": "ids", "query": "SELECT id FROM people"}}, "view_order": ["ids"], "roles": {}}}"#;
    std::fs::write(eddy.data_dir().join("catalog.json"), v1).unwrap();
    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(
        sorted_names(&client, "SHOW TABLES").await,
        vec!["ids", "people"]
    );
    assert_eq!(
        scalar(
            &client,
            "SELECT count(*) FROM default_catalog.default_database.ids"
        )
        .await
        .as_deref(),
        Some("8")
    );
}

#[tokio::test]
async fn temporary_objects_belong_to_their_session_and_are_never_written() {
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE n (x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3')",
    )
    .await;
    exec(
        &client,
        "CREATE TEMPORARY TABLE n (x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '7')",
    )
    .await;
    exec(
        &client,
        "CREATE TEMPORARY VIEW seven AS SELECT count(*) AS c FROM n",
    )
    .await;
    assert_eq!(
        scalar(&client, "SELECT c FROM seven").await.as_deref(),
        Some("7")
    );
    // Another session sees the permanent table only.
    let other = eddy.connect().await;
    assert_eq!(
        scalar(&other, "SELECT count(*) FROM n").await.as_deref(),
        Some("3")
    );
    assert_eq!(sorted_names(&other, "SHOW TABLES").await, vec!["n"]);
    let e = other
        .simple_query("SELECT * FROM seven")
        .await
        .expect_err("another session's temporary view");
    assert_eq!(common::sqlstate(&e).as_deref(), Some("42P01"), "{e}");
    let catalog = std::fs::read_to_string(eddy.data_dir().join("catalog.json")).unwrap();
    assert!(!catalog.contains("seven"), "a temporary view was written");
    drop((client, other));

    eddy.restart();
    let client = eddy.connect().await;
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM n").await.as_deref(),
        Some("3")
    );
    assert_eq!(sorted_names(&client, "SHOW TABLES").await, vec!["n"]);
}
