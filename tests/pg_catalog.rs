//! `pg_catalog` and `information_schema` as PostgreSQL clients read them (issue 16).
//!
//! psql's `\d` family runs against Eddy and is compared with what psql printed for the
//! same objects on a real PostgreSQL 15 (`tests/clients/catalog_queries/psql.out`, written
//! by `record.sh` there). `information_schema` answers are PostgreSQL's for the same
//! column types.

mod common;

use std::process::Command;

use common::{exec, values, Eddy};

/// The objects `record.sh` creates in PostgreSQL, in Flink SQL, with its two rows.
async fn create_objects(eddy: &Eddy) -> tokio_postgres::Client {
    let client = eddy.connect().await;
    let csv = eddy.scratch_dir().join("orders.json");
    // Eddy's json format reads BYTES as hex (Flink's writes base64).
    std::fs::write(
        &csv,
        "{\"id\": 1, \"price\": 9.50, \"note\": \"cheap\", \"ts\": \"2024-01-02 03:04:05.678\", \
         \"tstz\": \"2024-01-02 03:04:05.678Z\", \"flag\": true, \"d\": \"2024-01-02\", \
         \"amount\": 1.5, \"qty\": 3, \"small\": 7, \"r\": 2.25, \"b\": \"deadbeef\", \
         \"tags\": [\"a\", \"b\"]}\n{\"id\": 2, \"price\": 20.00}\n",
    )
    .expect("write orders");
    exec(
        &client,
        &format!(
            "CREATE TABLE orders (id BIGINT NOT NULL, price DECIMAL(10, 2), note VARCHAR(20), \
             ts TIMESTAMP(3), tstz TIMESTAMP_LTZ(3), flag BOOLEAN, d DATE, amount DOUBLE, \
             qty INT, small SMALLINT, r FLOAT, b BYTES, tags ARRAY<STRING>, \
             PRIMARY KEY (id) NOT ENFORCED) \
             WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json')",
            csv.display()
        ),
    )
    .await;
    exec(
        &client,
        "CREATE VIEW cheap AS SELECT id, price FROM orders WHERE price < 10",
    )
    .await;
    exec(
        &client,
        "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM orders",
    )
    .await;
    client
}

fn psql(eddy: &Eddy, command: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &eddy.pg_port.to_string()])
        .args(["-U", "eddy", "-d", "eddy", "-P", "pager=off", "-c", command])
        .env("PGCONNECT_TIMEOUT", "30")
        .output()
        .expect("run psql (apt-get install postgresql-client; .ci/run installs it)");
    assert!(
        out.status.success(),
        "psql {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What PostgreSQL's psql printed for `command` in `record.sh`'s run.
fn recorded(command: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/catalog_queries/psql.out"
    );
    let text = std::fs::read_to_string(path).expect("read psql.out");
    let header = format!("=== {command}\n");
    let start = text.find(&header).expect("command recorded") + header.len();
    let rest = &text[start..];
    let end = rest.find("\n=== ").map_or(rest.len(), |e| e + 1);
    // record.sh adds one empty line after each command's output.
    rest[..end]
        .strip_suffix('\n')
        .unwrap_or(&rest[..end])
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_describe_commands_print_what_postgres_prints() {
    let eddy = Eddy::start();
    let _client = create_objects(&eddy).await;
    for command in [r"\dt", r"\dv", r"\dm", r"\d", r"\d cheap", r"\d totals"] {
        assert_eq!(psql(&eddy, command), recorded(command), "psql {command}");
    }
    assert_eq!(psql(&eddy, r"\d orders"), recorded(r"\d orders"));
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_lists_schemas_and_databases_by_flink_names() {
    let eddy = Eddy::start();
    let _client = create_objects(&eddy).await;
    let schemas = psql(&eddy, r"\dn");
    assert!(
        schemas.contains(" default_database | eddy"),
        "\\dn:\n{schemas}"
    );
    let databases = psql(&eddy, r"\l");
    assert!(
        databases.contains(" default_catalog | eddy  | UTF8     | C       | C     |"),
        "\\l:\n{databases}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn information_schema_names_postgres_types() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    let rows = values(
        &client,
        "SELECT column_name, data_type, is_nullable, character_maximum_length, \
         numeric_precision, numeric_scale, datetime_precision, udt_name \
         FROM information_schema.columns WHERE table_name = 'orders' \
         ORDER BY ordinal_position",
    )
    .await;
    let text: Vec<String> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    // PostgreSQL 15's answers for the same column types.
    assert_eq!(
        text,
        vec![
            "id|bigint|NO|NULL|64|0|NULL|int8",
            "price|numeric|YES|NULL|10|2|NULL|numeric",
            "note|character varying|YES|20|NULL|NULL|NULL|varchar",
            "ts|timestamp without time zone|YES|NULL|NULL|NULL|3|timestamp",
            "tstz|timestamp with time zone|YES|NULL|NULL|NULL|3|timestamptz",
            "flag|boolean|YES|NULL|NULL|NULL|NULL|bool",
            "d|date|YES|NULL|NULL|NULL|0|date",
            "amount|double precision|YES|NULL|53|NULL|NULL|float8",
            "qty|integer|YES|NULL|32|0|NULL|int4",
            "small|smallint|YES|NULL|16|0|NULL|int2",
            "r|real|YES|NULL|24|NULL|NULL|float4",
            "b|bytea|YES|NULL|NULL|NULL|NULL|bytea",
            "tags|ARRAY|YES|NULL|NULL|NULL|NULL|_text",
        ]
    );
    let tables = values(
        &client,
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'default_database' ORDER BY table_name",
    )
    .await;
    // PostgreSQL lists no materialized views in information_schema.tables.
    assert_eq!(
        tables,
        vec![
            vec![Some("cheap".into()), Some("VIEW".into())],
            vec![Some("orders".into()), Some("BASE TABLE".into())],
        ]
    );
    let key = values(
        &client,
        "SELECT tc.constraint_name, tc.constraint_type, k.column_name, k.ordinal_position \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name \
         WHERE tc.table_name = 'orders'",
    )
    .await;
    assert_eq!(
        key,
        vec![vec![
            Some("orders_pkey".into()),
            Some("PRIMARY KEY".into()),
            Some("id".into()),
            Some("1".into()),
        ]]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_functions_follow_the_flink_names() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    let row = values(
        &client,
        "SELECT current_schema(), current_database(), array_to_string(current_schemas(true), ','), \
         pg_get_userbyid(10), version() LIKE 'PostgreSQL 15.0 (Eddy %'",
    )
    .await;
    assert_eq!(
        row,
        vec![vec![
            Some("default_database".into()),
            Some("default_catalog".into()),
            Some("pg_catalog,default_database".into()),
            Some("eddy".into()),
            Some("t".into()),
        ]]
    );
    let key = values(
        &client,
        "SELECT pg_get_constraintdef(c.oid), pg_get_indexdef(c.conindid) \
         FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class t ON t.oid = c.conrelid \
         WHERE t.relname = 'orders'",
    )
    .await;
    assert_eq!(
        key,
        vec![vec![
            Some("PRIMARY KEY (id)".into()),
            Some(
                "CREATE UNIQUE INDEX orders_pkey ON default_database.orders USING btree (id)"
                    .into()
            ),
        ]]
    );
    // A table created later shows up in the next statement, under a stable OID.
    let before = values(&client, "SELECT 'orders'::regclass::oid").await;
    exec(
        &client,
        "CREATE TABLE later (x INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let after = values(
        &client,
        "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' ORDER BY relname",
    )
    .await;
    assert_eq!(
        after,
        vec![vec![Some("later".into())], vec![Some("orders".into())]]
    );
    assert_eq!(
        values(&client, "SELECT 'orders'::regclass::oid").await,
        before
    );
}

/// pgjdbc's `DatabaseMetaData` (tables, columns, primary keys, schemas, catalogs, table
/// types, indexes, foreign keys), as DBeaver and other JDBC tools list a database,
/// compared with what pgjdbc printed against PostgreSQL 15.
#[tokio::test(flavor = "multi_thread")]
async fn jdbc_metadata_answers_as_with_postgres() {
    let eddy = Eddy::start();
    let _client = create_objects(&eddy).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/catalog_queries");
    let out = Command::new("java")
        .args(["-cp", "/usr/share/java/postgresql.jar"])
        .arg(format!("{dir}/JdbcClient.java"))
        .arg(eddy.pg_port.to_string())
        .output()
        .expect("run java (Java 17 and libpostgresql-jdbc-java; .ci/run installs them)");
    assert!(
        out.status.success(),
        "pgjdbc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = std::fs::read_to_string(format!("{dir}/pgjdbc.out")).expect("pgjdbc.out");
    // The driver line names the server, and there is no `public` schema (see
    // docs/postgres.md).
    let expected: Vec<&str> = recorded.lines().skip(1).collect();
    let expected = expected.join("\n").replace("\npublic|<NULL>\n", "\n");
    let got = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = got.lines().skip(1).collect();
    assert_eq!(got.join("\n"), expected);
}

/// Catalog support must not change what Flink SQL means in batch queries: Flink's
/// `DATE_FORMAT` (not DataFusion's `to_char`, which answers to the same name), and a
/// string with a doubled quote.
#[tokio::test(flavor = "multi_thread")]
async fn flink_sql_keeps_its_meaning_next_to_the_catalog() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    for _ in 0..4 {
        assert_eq!(
            values(
                &client,
                "SELECT DATE_FORMAT(TIMESTAMP '2024-01-02 03:04:05', 'yyyy-MM-dd HH:mm')"
            )
            .await,
            vec![vec![Some("2024-01-02 03:04".into())]]
        );
    }
    assert_eq!(
        values(&client, "SELECT 'it''s', 'pg_class'").await,
        vec![vec![Some("it's".into()), Some("pg_class".into())]]
    );
}

/// node-postgres' simple query, extended query and named prepared statement: each field's
/// table OID, attribute number, type, width and modifier, and the rows as JavaScript values,
/// compared with what node-postgres printed against PostgreSQL 15.
#[tokio::test(flavor = "multi_thread")]
async fn node_postgres_sees_fields_and_rows_as_with_postgres() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    let oid = values(&client, "SELECT CAST('orders'::regclass AS OID)").await;
    let oid = oid[0][0].clone().expect("orders has an OID");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/catalog_queries");
    // scripts/test sets it (scripts/install-node-pg).
    let modules =
        std::env::var("EDDY_NODE_PATH").expect("EDDY_NODE_PATH: run scripts/install-node-pg");
    let out = Command::new("node")
        .arg(format!("{dir}/node_client.js"))
        .arg(eddy.pg_port.to_string())
        .env("NODE_PATH", &modules)
        .output()
        .expect("run node (nodejs and npm `pg`; .ci/run installs them)");
    assert!(
        out.status.success(),
        "node-postgres (NODE_PATH={modules}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = std::fs::read_to_string(format!("{dir}/node_pg.out")).expect("node_pg.out");
    // The first line names the versions; the table OID is Eddy's own.
    let expected: Vec<String> = recorded
        .lines()
        .skip(1)
        .map(|l| l.replace("\"tableID\":16387", &format!("\"tableID\":{oid}")))
        .collect();
    let got = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = got.lines().skip(1).collect();
    assert_eq!(got.join("\n"), expected.join("\n"));
}

/// SQLAlchemy's inspector (`postgresql+psycopg`), as Superset and Alembic list a database:
/// schemas, tables, views, columns with their types, the primary key, indexes and
/// constraints, and `Table(..., autoload_with=...)` / `MetaData().reflect()`, compared with
/// what it printed against PostgreSQL 15.
#[tokio::test(flavor = "multi_thread")]
async fn sqlalchemy_inspector_answers_as_with_postgres() {
    let eddy = Eddy::start();
    let _client = create_objects(&eddy).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/catalog_queries");
    let out = Command::new("python3")
        .arg(format!("{dir}/sqlalchemy_client.py"))
        .arg(eddy.pg_port.to_string())
        .output()
        .expect("run python3 (with sqlalchemy and psycopg; .ci/run installs them)");
    assert!(
        out.status.success(),
        "sqlalchemy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded =
        std::fs::read_to_string(format!("{dir}/sqlalchemy.out")).expect("sqlalchemy.out");
    // Two answers differ by design (docs/postgres.md): there is no `public` schema, and a
    // view's definition is its text as written, not PostgreSQL's deparsed form.
    let expected: Vec<String> = recorded
        .lines()
        .map(|l| {
            if l.starts_with("get_view_definition('cheap') -> ") {
                "get_view_definition('cheap') -> 'SELECT id, price FROM orders WHERE price < 10'"
                    .to_string()
            } else {
                l.replace(", 'public']", "]")
            }
        })
        .collect();
    let got = String::from_utf8_lossy(&out.stdout);
    assert_eq!(got.trim_end(), expected.join("\n"));
}
