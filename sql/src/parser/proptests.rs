//! Property tests of the Flink DDL parser: any sequence of DDL-ish tokens parses or fails
//! with an error (never a panic), and a generated CREATE TABLE keeps its name, columns and
//! `WITH` options exactly, quotes and odd characters included.

use proptest::prelude::*;

use super::{parse_statement, split_statements, Statement};

const TOKENS: &[&str] = &[
    "CREATE",
    "TABLE",
    "TEMPORARY",
    "VIEW",
    "IF",
    "NOT",
    "EXISTS",
    "t",
    "`t`",
    "\"T\"",
    "(",
    ")",
    ",",
    "INT",
    "BIGINT",
    "STRING",
    "DECIMAL(10, 2)",
    "TIMESTAMP(3)",
    "TIMESTAMP_LTZ(3)",
    "ARRAY<",
    "MAP<",
    "ROW<",
    ">",
    "WATERMARK",
    "FOR",
    "AS",
    "ts",
    "-",
    "INTERVAL",
    "'5'",
    "SECOND",
    "PRIMARY",
    "KEY",
    "ENFORCED",
    "WITH",
    "'connector'",
    "=",
    "'datagen'",
    "''",
    "'it''s'",
    "PROCTIME()",
    "SELECT",
    "FROM",
    "INSERT",
    "INTO",
    "EXECUTE",
    "STATEMENT",
    "SET",
    "BEGIN",
    "END",
    ";",
    "SHOW",
    "JOBS",
    "STOP",
    "JOB",
    "DESCRIBE",
    "EXPLAIN",
    "RESET",
    "--",
    "/*",
    "*/",
    "$1",
    "\u{0}",
    "🦆",
    "1e999",
    "99999999999999999999",
];

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..30).prop_map(|t| t.join(" "))
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "as" | "with" | "for" | "not" | "primary" | "constraint" | "watermark"
        )
    })
}

fn option_text() -> impl Strategy<Value = String> {
    // Any printable text, quotes and backslashes included.
    "[ -~]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn token_soup_never_panics(sql in token_soup()) {
        let _ = parse_statement(&sql);
        let _ = split_statements(&sql);
    }

    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,80}") {
        let _ = parse_statement(&sql);
        let _ = split_statements(&sql);
    }

    #[test]
    fn create_table_keeps_columns_and_options(
        name in ident(),
        columns in proptest::collection::btree_set(ident(), 1..5),
        options in proptest::collection::btree_map("[a-z.\\-]{1,10}", option_text(), 1..5),
    ) {
        let cols: Vec<String> = columns.iter().map(|c| format!("{c} BIGINT")).collect();
        let with: Vec<String> = options
            .iter()
            .map(|(k, v)| format!("'{}' = '{}'", k, v.replace('\'', "''")))
            .collect();
        let sql = format!("CREATE TABLE {name} ({}) WITH ({})", cols.join(", "), with.join(", "));
        match parse_statement(&sql) {
            Ok(Statement::CreateTable { table, .. }) => {
                prop_assert_eq!(table.name, name);
                let got: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
                prop_assert_eq!(got, columns.into_iter().collect::<Vec<_>>());
                prop_assert_eq!(table.options, options);
            }
            other => prop_assert!(false, "{sql} parsed as {other:?}"),
        }
    }
}
