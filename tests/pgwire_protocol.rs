//! The PostgreSQL wire protocol as drivers use it (issue 2, items 2 and 5): the extended
//! protocol with prepared statements and `$n` parameters, binary results with the right type
//! OIDs, the simple protocol, and errors that leave the session usable.

mod common;

use std::time::{Duration, SystemTime};

use common::{exec, sqlstate, test_data_dir, values, Eddy};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

async fn with_people(eddy: &Eddy) -> Client {
    let client = eddy.connect().await;
    exec(
        &client,
        &format!(
            "CREATE TABLE people (id INT, name STRING, dept STRING, age INT, salary DOUBLE, active BOOLEAN) \
             WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
            test_data_dir().join("people.csv").display()
        ),
    )
    .await;
    client
}

#[tokio::test]
async fn prepared_statement_with_parameters() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;

    let stmt = client
        .prepare("SELECT id, name, age, salary, active FROM people WHERE age > $1 AND dept = $2 ORDER BY id")
        .await
        .expect("prepare");
    // Parameter types are inferred from the comparisons.
    assert_eq!(stmt.params(), &[Type::INT4, Type::TEXT]);
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![Type::INT4, Type::TEXT, Type::INT4, Type::FLOAT8, Type::BOOL]
    );
    let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, vec!["id", "name", "age", "salary", "active"]);

    let rows = client.query(&stmt, &[&30i32, &"eng"]).await.expect("query");
    let got: Vec<(i32, String, i32, f64, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "Alice".to_string(), 34, 120000.5, true),
            (6, "Frank".to_string(), 51, 150000.0, false)
        ]
    );

    // The same statement, executed again with other parameters.
    let rows = client
        .query(&stmt, &[&20i32, &"sales"])
        .await
        .expect("query");
    let got: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(got, vec!["Carol", "Dave"]);

    // No match.
    let rows = client
        .query(&stmt, &[&100i32, &"eng"])
        .await
        .expect("query");
    assert!(rows.is_empty());
}

#[tokio::test]
async fn prepare_typed_and_unnamed_statements() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;

    let stmt = client
        .prepare_typed("SELECT name FROM people WHERE id = $1", &[Type::INT4])
        .await
        .expect("prepare_typed");
    let row = client.query_one(&stmt, &[&7i32]).await.expect("query_one");
    assert_eq!(row.get::<_, String>(0), "Grace");

    // Unnamed statement through query with a string (prepare + execute in one go).
    let row = client
        .query_one(
            "SELECT count(*) FROM people WHERE salary >= $1",
            &[&60000.0f64],
        )
        .await
        .expect("query_one");
    assert_eq!(row.get::<_, i64>(0), 5);

    let row = client
        .query_one("SELECT count(*) FROM people WHERE active = $1", &[&false])
        .await
        .expect("query_one");
    assert_eq!(row.get::<_, i64>(0), 2);

    // NULL parameters.
    let none: Option<i32> = None;
    let rows = client
        .query("SELECT name FROM people WHERE age = $1", &[&none])
        .await
        .expect("query");
    assert!(rows.is_empty());
}

#[tokio::test]
async fn parameter_types_inferred_through_cast() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let row = client
        .query_one(
            "SELECT CAST($1 AS INT) + CAST(1 AS INT), upper(CAST($2 AS STRING))",
            &[&41i32, &"eddy"],
        )
        .await
        .expect("query_one");
    assert_eq!(row.get::<_, i32>(0), 42);
    assert_eq!(row.get::<_, String>(1), "EDDY");
}

#[tokio::test]
async fn binary_results_have_postgres_types() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;

    let stmt = client
        .prepare(
            "SELECT CAST(1 AS INT), CAST(2 AS BIGINT), CAST('x' AS STRING), CAST(1.5 AS DOUBLE), true, \
             CAST(12.34 AS DECIMAL(10, 2)), DATE '2024-01-15', TIMESTAMP '2024-01-15 08:30:00', \
             CAST(3 AS SMALLINT), CAST(2.5 AS FLOAT)",
        )
        .await
        .expect("prepare");
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            Type::INT4,
            Type::INT8,
            Type::TEXT,
            Type::FLOAT8,
            Type::BOOL,
            Type::NUMERIC,
            Type::DATE,
            Type::TIMESTAMP,
            Type::INT2,
            Type::FLOAT4
        ]
    );
    let row = client.query_one(&stmt, &[]).await.expect("query_one");
    assert_eq!(row.get::<_, i32>(0), 1);
    assert_eq!(row.get::<_, i64>(1), 2);
    assert_eq!(row.get::<_, String>(2), "x");
    assert_eq!(row.get::<_, f64>(3), 1.5);
    assert!(row.get::<_, bool>(4));
    let ts: SystemTime = row.get(7);
    assert_eq!(
        ts,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_705_307_400),
        "2024-01-15 08:30:00"
    );
    assert_eq!(row.get::<_, i16>(8), 3);
    assert_eq!(row.get::<_, f32>(9), 2.5);

    // The same values in text form through the simple protocol.
    let text = values(
        &client,
        "SELECT CAST(1 AS INT), CAST(2 AS BIGINT), CAST('x' AS STRING), CAST(1.5 AS DOUBLE), true, \
         CAST(12.34 AS DECIMAL(10, 2)), DATE '2024-01-15', TIMESTAMP '2024-01-15 08:30:00', \
         CAST(3 AS SMALLINT), CAST(2.5 AS FLOAT)",
    )
    .await;
    let expected: Vec<Option<String>> = [
        "1",
        "2",
        "x",
        "1.5",
        "t",
        "12.34",
        "2024-01-15",
        "2024-01-15 08:30:00",
        "3",
        "2.5",
    ]
    .iter()
    .map(|s| Some(s.to_string()))
    .collect();
    assert_eq!(text, vec![expected]);

    // NULLs of each type.
    let row = client
        .query_one(
            "SELECT CAST(NULL AS INT), CAST(NULL AS BIGINT), CAST(NULL AS STRING), CAST(NULL AS DOUBLE), CAST(NULL AS BOOLEAN)",
            &[],
        )
        .await
        .expect("query_one");
    assert_eq!(row.get::<_, Option<i32>>(0), None);
    assert_eq!(row.get::<_, Option<i64>>(1), None);
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert_eq!(row.get::<_, Option<f64>>(3), None);
    assert_eq!(row.get::<_, Option<bool>>(4), None);
}

#[tokio::test]
async fn integer_literals_are_int4() {
    // In Flink SQL and PostgreSQL an integer literal is INT (int4) unless it needs BIGINT, and
    // INT + INT stays INT.
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let stmt = client
        .prepare("SELECT 1, 1 + 1, 2147483648")
        .await
        .expect("prepare");
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, vec![Type::INT4, Type::INT4, Type::INT8]);
}

#[tokio::test]
async fn table_columns_over_the_extended_protocol() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;
    let rows = client
        .query(
            "SELECT id, name, salary, active FROM people ORDER BY id",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(rows.len(), 8);
    let first = &rows[0];
    assert_eq!(first.get::<_, i32>("id"), 1);
    assert_eq!(first.get::<_, String>("name"), "Alice");
    assert_eq!(first.get::<_, f64>("salary"), 120000.5);
    assert!(first.get::<_, bool>("active"));
    let sum: f64 = rows.iter().map(|r| r.get::<_, f64>(2)).sum();
    assert_eq!(sum, 655000.75);

    let rows = client
        .query(
            "SELECT dept, count(*) AS n FROM people GROUP BY dept ORDER BY dept",
            &[],
        )
        .await
        .expect("query");
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            ("eng".to_string(), 3),
            ("hr".to_string(), 2),
            ("ops".to_string(), 1),
            ("sales".to_string(), 2)
        ]
    );
}

#[tokio::test]
async fn simple_query_protocol() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;
    let messages = client
        .simple_query("SELECT id, name FROM people WHERE id <= 2 ORDER BY id")
        .await
        .expect("simple_query");
    let mut rows = Vec::new();
    let mut completed = None;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
                assert_eq!(names, vec!["id", "name"]);
            }
            SimpleQueryMessage::Row(r) => {
                rows.push((r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
            }
            SimpleQueryMessage::CommandComplete(n) => completed = Some(n),
            _ => {}
        }
    }
    assert_eq!(
        rows,
        vec![("1".into(), "Alice".into()), ("2".into(), "Bob".into())]
    );
    // CommandComplete carries the row count ("SELECT 2").
    assert_eq!(completed, Some(2));

    // DDL over the simple protocol completes without rows.
    client
        .batch_execute("CREATE TABLE t (a INT) WITH ('connector' = 'blackhole')")
        .await
        .expect("batch_execute");
}

#[tokio::test]
async fn several_statements_in_one_simple_query() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;
    let messages = client
        .simple_query("SELECT 1; SELECT count(*) FROM people; SELECT 'three'")
        .await
        .expect("simple_query");
    let rows: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(rows, vec!["1", "8", "three"]);
}

#[tokio::test]
async fn errors_keep_the_session_usable() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;
    let stmt = client
        .prepare("SELECT name FROM people WHERE id = $1")
        .await
        .expect("prepare");

    // Simple protocol.
    let e = client
        .simple_query("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("42P01"), "{e:?}");
    assert!(
        e.as_db_error().unwrap().message().contains("no_such_table"),
        "{e:?}"
    );
    let e = client.simple_query("SELEC 1").await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("42601"), "{e:?}");

    // Extended protocol: an error at Parse...
    let e = client
        .prepare("SELECT no_such_column FROM people")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("42703"), "{e:?}");
    let e = client
        .query("SELECT no_such_function(1)", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("42883"), "{e:?}");
    // ... and while executing.
    assert!(client
        .query("SELECT id / 0 FROM people", &[])
        .await
        .is_err());

    // The session, and statements prepared before the errors, still work.
    let row = client
        .query_one(&stmt, &[&2i32])
        .await
        .expect("prepared after errors");
    assert_eq!(row.get::<_, String>(0), "Bob");
    let row = client
        .query_one("SELECT count(*) FROM people", &[])
        .await
        .expect("query");
    assert_eq!(row.get::<_, i64>(0), 8);
    assert_eq!(
        values(&client, "SELECT 1").await,
        vec![vec![Some("1".to_string())]]
    );

    // Other sessions were never affected.
    let other = eddy.connect().await;
    assert_eq!(
        values(&other, "SELECT 2").await,
        vec![vec![Some("2".to_string())]]
    );
}

#[tokio::test]
async fn many_sessions_at_once() {
    let eddy = Eddy::start();
    let setup = with_people(&eddy).await;
    let mut handles = Vec::new();
    for i in 1..=8i32 {
        let client = eddy.connect().await;
        handles.push(tokio::spawn(async move {
            let row = client
                .query_one("SELECT name FROM people WHERE id = $1", &[&i])
                .await
                .expect("query");
            row.get::<_, String>(0)
        }));
    }
    let mut names = Vec::new();
    for h in handles {
        names.push(h.await.unwrap());
    }
    assert_eq!(
        names,
        vec!["Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi"]
    );
    drop(setup);
}

#[tokio::test]
async fn output_column_names_follow_postgres() {
    // PostgreSQL names: the column, the function, the cast column or type, `?column?`, and
    // duplicates allowed.
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    let stmt = client
        .prepare("SELECT 1, 2, upper('a'), CAST(1 AS INT), count(*), 'x' AS x, 'y' AS x")
        .await
        .expect("prepare");
    let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["?column?", "?column?", "upper", "int4", "count", "x", "x"]
    );
}

/// psycopg and pgjdbc prepare a statement on the server once it has run 5 times; from then
/// on Describe must announce the columns Execute sends, for utility statements too.
#[tokio::test]
async fn prepared_utility_statements_describe_their_rows() {
    let eddy = Eddy::start();
    let client = with_people(&eddy).await;
    common::exec(
        &client,
        "CREATE TABLE bh (id INT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = common::submit(&client, "INSERT INTO bh SELECT id FROM people").await;
    common::wait_for_status(&client, &job, "FINISHED").await;
    for _ in 0..6 {
        let stmt = client.prepare("SHOW JOBS").await.unwrap();
        let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
        assert!(
            names.contains(&"job_id") && names.contains(&"status"),
            "{names:?}"
        );
        let rows = client.query(&stmt, &[]).await.unwrap();
        assert_eq!(rows.len(), 1);
        let id: String = rows[0].get("job_id");
        assert_eq!(id, job);
    }
    for sql in [
        "SHOW TABLES",
        "DESCRIBE people",
        "SHOW statement_timeout",
        "SHOW CREATE TABLE people",
        "EXPLAIN SELECT 1",
    ] {
        let stmt = client.prepare(sql).await.unwrap();
        assert!(!stmt.columns().is_empty(), "{sql} describes no columns");
        let rows = client.query(&stmt, &[]).await.unwrap();
        assert!(!rows.is_empty(), "{sql} returned no rows");
        assert_eq!(rows[0].len(), stmt.columns().len(), "{sql}");
    }
}
