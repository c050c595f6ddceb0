use crate::error::SqlError;
use crate::parser::flink_operators::rewrite_flink_operators;

fn rw(sql: &str) -> String {
    match rewrite_flink_operators(sql) {
        Ok(s) => s,
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[test]
fn json_value_clauses_become_arguments_with_flink_defaults() {
    assert_eq!(
        rw("SELECT JSON_VALUE(doc, '$.a' RETURNING INT DEFAULT -1 ON EMPTY ERROR ON ERROR) FROM t"),
        "SELECT JSON_VALUE(doc, '$.a', '__eddy_json', CAST(NULL AS INT), 'default', -1, 'error', NULL) FROM t"
    );
    assert_eq!(
        rw("SELECT JSON_VALUE('{}', 'lax $.b' DEFAULT FALSE ON EMPTY)"),
        "SELECT JSON_VALUE('{}', 'lax $.b', '__eddy_json', CAST(NULL AS VARCHAR), 'default', FALSE, 'null', NULL)"
    );
    // Only ON ERROR; a DEFAULT expression with parentheses, CASE and a nested call.
    assert_eq!(
        rw("SELECT json_value(d, p DEFAULT CASE WHEN x THEN f(1, 2) END ON ERROR)"),
        "SELECT json_value(d, p, '__eddy_json', CAST(NULL AS VARCHAR), 'null', NULL, 'default', CASE WHEN x THEN f(1, 2) END)"
    );
    assert_eq!(
        rw("SELECT JSON_VALUE(d, '$.t' RETURNING TIMESTAMP(3) WITH LOCAL TIME ZONE NULL ON EMPTY)"),
        "SELECT JSON_VALUE(d, '$.t', '__eddy_json', CAST(NULL AS TIMESTAMP(3) WITH LOCAL TIME ZONE), 'null', NULL, 'null', NULL)"
    );
    assert_eq!(
        rw("SELECT JSON_VALUE(d, '$.n' RETURNING DECIMAL(10, 2))"),
        "SELECT JSON_VALUE(d, '$.n', '__eddy_json', CAST(NULL AS DECIMAL(10, 2)), 'null', NULL, 'null', NULL)"
    );
}

#[test]
fn nested_calls_in_defaults_and_arguments_are_rewritten_too() {
    assert_eq!(
        rw("SELECT JSON_VALUE(JSON_QUERY(d, '$.a' WITH WRAPPER), '$[0]' DEFAULT JSON_VALUE(d, '$.b' NULL ON EMPTY) ON EMPTY)"),
        "SELECT JSON_VALUE(JSON_QUERY(d, '$.a', '__eddy_json', CAST(NULL AS VARCHAR), 'unconditional', 'null', 'null'), '$[0]', '__eddy_json', CAST(NULL AS VARCHAR), 'default', JSON_VALUE(d, '$.b', '__eddy_json', CAST(NULL AS VARCHAR), 'null', NULL, 'null', NULL), 'null', NULL)"
    );
}

#[test]
fn json_query_and_json_exists_clauses() {
    assert_eq!(
        rw("SELECT JSON_QUERY(d, 'lax $.a[*].c' RETURNING ARRAY<STRING>)"),
        "SELECT JSON_QUERY(d, 'lax $.a[*].c', '__eddy_json', CAST(NULL AS ARRAY<STRING>), 'without', 'null', 'null')"
    );
    assert_eq!(
        rw("SELECT JSON_QUERY(d, '$' WITH CONDITIONAL ARRAY WRAPPER EMPTY OBJECT ON EMPTY EMPTY ARRAY ON ERROR)"),
        "SELECT JSON_QUERY(d, '$', '__eddy_json', CAST(NULL AS VARCHAR), 'conditional', 'empty object', 'empty array')"
    );
    assert_eq!(
        rw("SELECT JSON_QUERY(d, '$' WITHOUT ARRAY WRAPPER ERROR ON ERROR)"),
        "SELECT JSON_QUERY(d, '$', '__eddy_json', CAST(NULL AS VARCHAR), 'without', 'null', 'error')"
    );
    assert_eq!(
        rw("SELECT JSON_EXISTS(d, 'strict $.b' UNKNOWN ON ERROR), JSON_EXISTS(d, '$.b')"),
        "SELECT JSON_EXISTS(d, 'strict $.b', '__eddy_json', 'unknown'), JSON_EXISTS(d, '$.b')"
    );
}

#[test]
fn calls_without_clauses_and_other_text_stay() {
    for sql in [
        "SELECT JSON_VALUE(d, '$.a') FROM t",
        "SELECT JSON_VALUE(d, CASE WHEN x THEN NULL ELSE '$.a' END)",
        "SELECT 'JSON_VALUE(d, p NULL ON EMPTY)'",
        "SELECT json_value FROM t",
    ] {
        assert_eq!(rw(sql), sql);
    }
}

#[test]
fn clauses_out_of_order_or_unknown_are_refused_naming_what_is_wrong() {
    for (sql, expected) in [
        (
            "SELECT JSON_VALUE(d, p NULL ON ERROR NULL ON EMPTY)",
            "JSON_VALUE expects the end of its clauses, found 'NULL'",
        ),
        (
            "SELECT JSON_VALUE(d, p DEFAULT 1)",
            "JSON_VALUE expects ON EMPTY, found the end of the call",
        ),
        (
            "SELECT JSON_VALUE(d, p RETURNING)",
            "JSON_VALUE expects a type after RETURNING, found the end of the call",
        ),
        (
            "SELECT JSON_QUERY(d, p WITH ARRAY)",
            "JSON_QUERY expects WRAPPER, found the end of the call",
        ),
        (
            "SELECT JSON_EXISTS(d, p TRUE ON EMPTY)",
            "JSON_EXISTS expects ON ERROR, found 'EMPTY'",
        ),
    ] {
        match rewrite_flink_operators(sql) {
            Err(SqlError::Syntax(m)) => assert_eq!(m, expected, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
}

#[test]
fn names_that_look_like_clauses_stay_names() {
    for sql in [
        "SELECT JSON_VALUE(doc, cfg.error) FROM t",
        "SELECT JSON_EXISTS(doc, t.true) FROM t",
        "SELECT db.json_value(x, p NULL ON EMPTY)",
    ] {
        assert_eq!(rw(sql), sql);
    }
}

#[test]
fn nested_defaults_are_rewritten_once_each_up_to_a_bound() {
    let nested = |depth: usize| {
        let mut e = "1".to_string();
        for _ in 0..depth {
            e = format!("JSON_VALUE(d, '$' DEFAULT {e} ON EMPTY)");
        }
        format!("SELECT {e}")
    };
    // Each level once: 30 levels would take 2^30 rewrites if levels were redone.
    let out = rw(&nested(30));
    assert_eq!(out.matches("'__eddy_json'").count(), 30);
    assert!(matches!(
        rewrite_flink_operators(&nested(40)),
        Err(SqlError::NotSupported(_))
    ));
}
