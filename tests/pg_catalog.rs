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
    recorded_in("catalog_queries", command)
}

/// What PostgreSQL's psql printed for `command` in `tests/clients/<dir>/record.sh`'s run.
fn recorded_in(dir: &str, command: &str) -> String {
    let path = format!(
        "{}/tests/clients/{dir}/psql.out",
        env!("CARGO_MANIFEST_DIR")
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

/// Flink's databases are the schemas of the PostgreSQL database that is the current
/// catalog: `\dn`, `pg_namespace` and `information_schema` list what SHOW DATABASES and
/// SHOW TABLES list, and `search_path` is the current database.
#[tokio::test(flavor = "multi_thread")]
async fn flink_databases_are_the_schemas_postgres_clients_see() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    exec(&client, "CREATE DATABASE sales").await;
    exec(
        &client,
        "CREATE TABLE sales.leads (id INT, PRIMARY KEY (id) NOT ENFORCED) \
         WITH ('connector' = 'datagen', 'number-of-rows' = '3')",
    )
    .await;
    let schemas = psql(&eddy, r"\dn");
    assert!(
        schemas.contains(" default_database | eddy")
            && schemas.contains(" sales            | eddy"),
        "\\dn:\n{schemas}"
    );
    let tables = psql(&eddy, r"\dt sales.*");
    assert!(
        tables.contains(" sales  | leads | table | eddy"),
        "{tables}"
    );
    let namespaces = values(
        &client,
        "SELECT nspname FROM pg_catalog.pg_namespace \
         WHERE nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .await;
    assert_eq!(namespaces, values(&client, "SHOW DATABASES").await);
    assert_eq!(
        values(
            &client,
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_schema = 'sales'",
        )
        .await,
        vec![vec![Some("sales".into()), Some("leads".into())]]
    );
    // Each schema's relations are in that schema, keys included.
    assert_eq!(
        values(
            &client,
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'i') ORDER BY 2",
        )
        .await,
        vec![
            vec![Some("sales".into()), Some("leads".into())],
            vec![Some("sales".into()), Some("leads_pkey".into())],
            vec![Some("default_database".into()), Some("orders".into())],
            vec![Some("default_database".into()), Some("orders_pkey".into())],
        ]
    );
    // A name outside the search path is found only with its schema, as in PostgreSQL.
    assert_eq!(
        values(
            &client,
            "SELECT 'sales.leads'::regclass::oid > 0, to_regclass('leads') IS NULL, \
             to_regclass('sales.leads') IS NOT NULL"
        )
        .await,
        vec![vec![Some("t".into()), Some("t".into()), Some("t".into())]]
    );
    // search_path names the current database, as USE does, and USE moves it.
    exec(&client, "SET search_path TO sales").await;
    assert_eq!(
        values(&client, "SELECT current_schema(), count(*) FROM leads").await,
        vec![vec![Some("sales".into()), Some("3".into())]]
    );
    assert_eq!(
        values(&client, "SHOW CURRENT DATABASE").await[0][0].as_deref(),
        Some("sales")
    );
    exec(&client, "USE default_database").await;
    assert_eq!(
        values(&client, "SHOW search_path").await[0][0].as_deref(),
        Some("default_database")
    );
    // The current catalog is the PostgreSQL database.
    exec(
        &client,
        "CREATE CATALOG mem WITH ('type' = 'generic_in_memory')",
    )
    .await;
    exec(&client, "USE CATALOG mem").await;
    assert_eq!(
        values(&client, "SELECT current_database(), current_schema()").await,
        vec![vec![Some("mem".into()), Some("default".into())]]
    );
    assert_eq!(
        values(
            &client,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'sales'"
        )
        .await,
        vec![vec![Some("0".into())]],
        "another catalog's databases are not this database's schemas"
    );
    // Each catalog is a database `\l` lists, and connecting to one starts in it.
    let databases = psql(&eddy, r"\l");
    assert!(
        databases.contains(" default_catalog | eddy")
            && databases.contains(" mem             | eddy"),
        "\\l:\n{databases}"
    );
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &eddy.pg_port.to_string()])
        .args([
            "-U",
            "eddy",
            "-d",
            "mem",
            "-At",
            "-c",
            "SHOW CURRENT CATALOG",
        ])
        .args(["-c", "SELECT current_database(), current_schema()"])
        .output()
        .expect("run psql");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mem\nmem|default\n");
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

/// `pg_stat_activity` lists the gateway's sessions with PostgreSQL's states: the one asking
/// is `active` with its own query, one inside `BEGIN` is `idle in transaction`; `pid` is
/// the process id BackendKeyData gave each client (`pg_backend_pid()`), and a closed
/// session leaves the list.
#[tokio::test(flavor = "multi_thread")]
async fn pg_stat_activity_lists_the_sessions() {
    let eddy = Eddy::start();
    let asking = eddy.connect().await;
    let connect = |app: &str| {
        let conn = format!(
            "host=127.0.0.1 port={} user=eddy dbname=eddy application_name={app}",
            eddy.pg_port
        );
        async move {
            let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(connection);
            client
        }
    };
    let waiting = connect("watcher").await;
    exec(&waiting, "BEGIN").await;
    let idle = connect("idler").await;
    exec(&idle, "SELECT 1").await;
    let query = "SELECT pid, usename, application_name, state, query, backend_type, \
                 client_addr, pid = pg_backend_pid() FROM pg_stat_activity ORDER BY application_name";
    let rows = values(&asking, query).await;
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|v| v.clone().unwrap_or_default()).collect())
        .collect();
    assert_eq!(text.len(), 3, "{text:?}");
    let pick = |r: &Vec<String>| (r[2].clone(), r[3].clone(), r[4].clone(), r[7].clone());
    assert_eq!(
        text.iter().map(pick).collect::<Vec<_>>(),
        vec![
            ("".into(), "active".into(), query.into(), "t".into()),
            ("idler".into(), "idle".into(), "SELECT 1".into(), "f".into()),
            (
                "watcher".into(),
                "idle in transaction".into(),
                "BEGIN".into(),
                "f".into()
            ),
        ]
    );
    assert!(text
        .iter()
        .all(|r| r[1] == "eddy" && r[5] == "client backend" && r[6] == "127.0.0.1"));
    let pids: std::collections::BTreeSet<&String> = text.iter().map(|r| &r[0]).collect();
    assert_eq!(pids.len(), 3, "one pid per session");
    drop(idle);
    let mut left = 3;
    for _ in 0..100 {
        left = values(&asking, "SELECT pid FROM pg_stat_activity")
            .await
            .len();
        if left == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 2, "a closed session leaves pg_stat_activity");
}

/// The answers of a `.expected` file by `[n]`: the header and rows, or the tag or error.
/// The result columns' types (`-- columns:`) are left out: Eddy's catalog columns are
/// text where PostgreSQL's are `name` or `character varying`, which the tools read alike.
fn answers(text: &str) -> std::collections::BTreeMap<u32, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<(u32, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("-- [") {
            if let Some((n, _)) = rest.split_once(']') {
                if let Some((k, v)) = current.take() {
                    out.insert(k, v);
                }
                current = n.parse().ok().map(|n| (n, String::new()));
                continue;
            }
        }
        if line.starts_with("-- columns:") {
            continue;
        }
        if let Some((_, v)) = current.as_mut() {
            v.push_str(line);
            v.push('\n');
        }
    }
    if let Some((k, v)) = current {
        out.insert(k, v);
    }
    out
}

/// The statements Grafana, Metabase and DBeaver send to connect and list schemas, tables
/// and columns (from their source, `tests/clients/bi_queries`), replayed against Eddy: none
/// fails, and the ones that list tables and columns answer what PostgreSQL 15 answered.
#[tokio::test(flavor = "multi_thread")]
async fn bi_tools_list_tables_and_columns_as_with_postgres() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    let oid = |sql: &'static str| {
        let client = &client;
        async move { values(client, sql).await[0][0].clone().expect("an OID") }
    };
    let mapping = [
        (
            "16386",
            oid("SELECT oid FROM pg_namespace WHERE nspname = 'default_database'").await,
        ),
        ("16387", oid("SELECT CAST('orders'::regclass AS OID)").await),
        ("16394", oid("SELECT CAST('cheap'::regclass AS OID)").await),
        ("16398", oid("SELECT CAST('totals'::regclass AS OID)").await),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/bi_queries");
    let out_dir = eddy.scratch_dir().join("bi");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut replay = Command::new("python3");
    replay
        .arg(format!("{dir}/replay.py"))
        .arg(eddy.pg_port.to_string())
        .arg(&out_dir)
        .args(["grafana", "metabase", "dbeaver"]);
    for (from, to) in &mapping {
        replay.arg("--oid").arg(format!("{from}={to}"));
    }
    let out = replay
        .output()
        .expect("run python3 (with psycopg; .ci/run installs it)");
    assert!(
        out.status.success(),
        "replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Per tool, the answers that must equal PostgreSQL's (with Eddy's OIDs).
    for (tool, same) in [
        ("grafana", &[3u32, 4, 5, 7, 9, 10, 12][..]),
        ("metabase", &[7, 10, 14]),
        ("dbeaver", &[]),
    ] {
        let expected = std::fs::read_to_string(format!("{dir}/{tool}.expected")).unwrap();
        let mut expected = expected;
        for (from, to) in &mapping {
            expected = expected.replace(from, to);
        }
        let expected = answers(&expected);
        let got =
            answers(&std::fs::read_to_string(out_dir.join(format!("{tool}.expected"))).unwrap());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{tool}"
        );
        for (n, answer) in &got {
            assert!(
                !answer.contains("\nERROR:") && !answer.starts_with("ERROR:"),
                "{tool} [{n}]: {answer}"
            );
        }
        // Rows compared as multisets: without ORDER BY, PostgreSQL lists relations by OID,
        // Eddy by name.
        let rows = |answer: &str| {
            let mut lines: Vec<String> = answer.lines().map(str::to_string).collect();
            lines.sort_unstable();
            lines
        };
        for n in same {
            assert_eq!(rows(&got[n]), rows(&expected[n]), "{tool} [{n}]");
        }
    }
    // DBeaver reads `c.*`, `a.*` and `c.*` of pg_constraint: the columns it shows for
    // tables, their columns and their keys (PostgreSQL also lists system columns,
    // attnum < 0, which DBeaver hides; a key's own OIDs are Eddy's).
    let got = answers(&std::fs::read_to_string(out_dir.join("dbeaver.expected")).unwrap());
    let mut expected = std::fs::read_to_string(format!("{dir}/dbeaver.expected")).unwrap();
    for (from, to) in &mapping {
        expected = expected.replace(from, to);
    }
    let expected = answers(&expected);
    for (n, columns) in [
        (
            16,
            &[
                "relname",
                "relkind",
                "relnatts",
                "relhasindex",
                "relnamespace",
            ][..],
        ),
        (
            17,
            &[
                "attname",
                "atttypid",
                "attnum",
                "atttypmod",
                "attnotnull",
                "attndims",
                "attcollation",
            ],
        ),
        (
            24,
            &["conname", "contype", "conrelid", "conkey", "tabrelname"],
        ),
    ] {
        assert_eq!(
            picked(&got[&n], columns),
            picked(&expected[&n], columns),
            "dbeaver [{n}]"
        );
    }
}

/// The named columns of an answer's rows, sorted, without rows of system columns.
fn picked(answer: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut lines = answer.lines().filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split('|').collect();
    let at: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == c)
                .unwrap_or_else(|| panic!("no column {c}"))
        })
        .collect();
    let attnum = header.iter().position(|h| *h == "attnum");
    let mut rows: Vec<Vec<String>> = lines
        .filter(|l| !l.starts_with('('))
        .map(|l| l.split('|').collect::<Vec<_>>())
        .filter(|r| attnum.is_none_or(|i| !r[i].starts_with('-')))
        .map(|r| at.iter().map(|i| r[*i].to_string()).collect())
        .collect();
    rows.sort();
    rows
}

/// The statements of a recorded `.sql` file by `[n]` (comment lines, the text, `;`).
fn statements(text: &str) -> std::collections::BTreeMap<u32, String> {
    let mut out = std::collections::BTreeMap::new();
    let (mut n, mut body) = (None, Vec::new());
    for line in text.lines() {
        if line == ";" {
            if let Some(n) = n.take() {
                out.insert(n, body.join("\n"));
            }
            body.clear();
        } else if let Some(rest) = line.strip_prefix("-- [") {
            n = rest
                .split_once(']')
                .and_then(|(k, _)| k.parse::<u32>().ok());
        } else if !line.starts_with("-- ") {
            body.push(line);
        }
    }
    out
}

/// psql's tab completion: the queries psql sends for `SELECT * FROM <Tab><Tab>`, a table
/// prefix, a table's columns, `\d <Tab>`, a schema prefix and `SET search_path TO`, run as
/// psql runs them, answer the rows PostgreSQL answered (its `public` schema aside).
#[tokio::test(flavor = "multi_thread")]
async fn psql_tab_completion_offers_what_postgres_offers() {
    let eddy = Eddy::start();
    let client = create_objects(&eddy).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/catalog_queries");
    let sent = statements(&std::fs::read_to_string(format!("{dir}/psql.sql")).unwrap());
    let expected = answers(&std::fs::read_to_string(format!("{dir}/psql.expected")).unwrap());
    for n in 37..=42u32 {
        let rows = values(&client, &sent[&n]).await;
        let mut got: Vec<String> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.clone().unwrap_or_else(|| "<NULL>".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        got.sort();
        let mut want: Vec<String> = expected[&n]
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty() && !l.starts_with('(') && !l.contains("public"))
            .map(str::to_string)
            .collect();
        want.sort();
        assert_eq!(got, want, "[{n}] {}", sent[&n]);
    }
}

/// psql's `\df`, `\di`, `\d+ orders` and `\x` with a SELECT print what they printed
/// against PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn psql_functions_indexes_and_expanded_display_print_what_postgres_prints() {
    let eddy = Eddy::start();
    let _client = create_objects(&eddy).await;
    for command in [r"\df", r"\di", r"\d+ orders"] {
        assert_eq!(psql(&eddy, command), recorded(command), "psql {command}");
    }
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &eddy.pg_port.to_string()])
        .args(["-U", "eddy", "-d", "eddy", "-P", "pager=off"])
        .args(["-c", r"\x", "-c", "SELECT * FROM orders"])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        recorded(r"\x then SELECT * FROM orders")
    );
}

/// psql's `\df` lists the user functions of the current database (Flink's, shown as the
/// schema) as PostgreSQL lists the same functions written in plpython3u
/// (`tests/clients/user_functions/record.sh`); one of another database is off the search
/// path. A function in Flink's form takes any arguments, printed as PostgreSQL prints
/// `"any"` (its `concat`, recorded there too).
#[tokio::test(flavor = "multi_thread")]
async fn psql_lists_user_functions_as_postgres_lists_python_functions() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    for sql in [
        "CREATE FUNCTION plus_one(x integer) RETURNS integer LANGUAGE plpython3u AS $$ return x + 1 $$",
        "CREATE FUNCTION greet(name text, n bigint) RETURNS text LANGUAGE plpython3u AS $$ return name * n $$",
        "CREATE DATABASE other",
        "CREATE FUNCTION other.hidden(x double precision) RETURNS double precision LANGUAGE plpython3u AS $$ return x $$",
    ] {
        exec(&client, sql).await;
    }
    assert_eq!(psql(&eddy, r"\df"), recorded_in("user_functions", r"\df"));

    let udfs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sqllogictest/data/python/eddy_udfs.py"
    );
    exec(&client, &format!("SET 'python.files' = '{udfs}'")).await;
    exec(
        &client,
        "CREATE FUNCTION add_one AS 'eddy_udfs.add_one' LANGUAGE PYTHON",
    )
    .await;
    let listed = psql(&eddy, r"\df add_one");
    let concat = recorded_in("user_functions", r"\df concat");
    let any = concat
        .lines()
        .find(|l| l.contains("concat"))
        .and_then(|l| l.split('|').nth(3))
        .map(|a| a.trim().trim_start_matches("VARIADIC ").to_string())
        .expect("PostgreSQL's concat takes VARIADIC \"any\"");
    assert!(
        listed.contains(&format!(
            " default_database | add_one | bigint           | {any:<19} | func"
        )),
        "{listed}"
    );
}
