//! A grammar-based SQL fuzzer against the real binary: random statements over a few test
//! tables (expressions, functions, joins, subqueries, window TVFs, DDL with odd options,
//! SET, jobs, and truncated or spliced statements), each of which must be answered with
//! rows or an error. A statement after which the server is gone (crash) or does not answer
//! within a minute (hang) fails the test and is saved as a regression `.slt` under
//! `sqllogictest/test_files/bug_fixes/`.
//!
//! `EDDY_FUZZ_STATEMENTS` (default 5000, what CI runs) and `EDDY_FUZZ_SEED` (default a
//! fixed seed, so CI is repeatable) choose the run; `EDDY_FUZZ_STATEMENTS=100000` fuzzes for
//! as long as you like locally.

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use common::{exec, Eddy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Tables every statement may use, with their columns and types.
const SETUP: &[&str] = &[
    "CREATE TABLE t1 (a INT, b BIGINT, c STRING, d DOUBLE, ts TIMESTAMP(3), \
     WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', \
     'number-of-rows' = '40', 'fields.a.min' = '-5', 'fields.a.max' = '5', 'fields.c.length' = '3')",
    "CREATE TABLE t2 (a INT, e STRING, f BOOLEAN) WITH ('connector' = 'datagen', \
     'number-of-rows' = '30', 'fields.a.min' = '-5', 'fields.a.max' = '5')",
    "CREATE TABLE bh (x STRING) WITH ('connector' = 'blackhole')",
    "CREATE VIEW v1 AS SELECT a, b, c FROM t1 WHERE a > 0",
];

const INT_COLS: &[&str] = &["t1.a", "t1.b", "t2.a"];
const STR_COLS: &[&str] = &["t1.c", "t2.e"];
const FUNCTIONS1: &[&str] = &[
    "abs",
    "upper",
    "lower",
    "length",
    "trim",
    "reverse",
    "sqrt",
    "ceil",
    "floor",
    "round",
    "md5",
    "ascii",
    "char_length",
    "initcap",
    "to_hex",
    "isnan",
    "exp",
    "ln",
];
const FUNCTIONS2: &[&str] = &[
    "coalesce",
    "nullif",
    "concat",
    "mod",
    "power",
    "left",
    "right",
    "repeat",
    "strpos",
    "split_index",
    "regexp_extract",
    "greatest",
    "least",
    "lpad",
    "substr",
    "date_trunc",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "9223372036854775807",
    "99999999999999999999999",
    "1.5",
    "1e308",
    "-0.0",
    "NULL",
    "''",
    "'x'",
    "'it''s'",
    "'%'",
    "'\\'",
    "TRUE",
    "FALSE",
    "DATE '2024-02-29'",
    "TIMESTAMP '2024-01-01 00:00:00'",
    "INTERVAL '1' SECOND",
    "INTERVAL '-3' DAY",
    "'NaN'",
    "X'00'",
    "'{\"a\": 1}'",
    "'🦆'",
];
const TYPES: &[&str] = &[
    "INT",
    "BIGINT",
    "STRING",
    "DOUBLE",
    "DECIMAL(10, 2)",
    "DECIMAL(38, 0)",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP(3)",
    "TINYINT",
    "SMALLINT",
    "BYTES",
    "VARCHAR(3)",
    "ARRAY<INT>",
];
const OPS: &[&str] = &[
    "+",
    "-",
    "*",
    "/",
    "%",
    "=",
    "<>",
    "<",
    ">=",
    "AND",
    "OR",
    "||",
    "IS DISTINCT FROM",
];
const OPTION_KEYS: &[&str] = &[
    "connector",
    "path",
    "format",
    "number-of-rows",
    "rows-per-second",
    "fields.a.kind",
    "fields.a.min",
    "fields.a.max",
    "fields.a.length",
    "csv.field-delimiter",
    "csv.ignore-parse-errors",
    "json.ignore-parse-errors",
    "scan.startup.mode",
    "",
    "x.y",
];
const OPTION_VALUES: &[&str] = &[
    "datagen",
    "filesystem",
    "blackhole",
    "print",
    "kafka",
    "csv",
    "json",
    "nonsense",
    "",
    "-1",
    "0",
    "99999999999999999999",
    "sequence",
    "random",
    "true",
    "maybe",
    "/dev/null",
    "/nonexistent/dir",
    ";",
    "'",
    "\\t",
];
const CONFIG_KEYS: &[&str] = &[
    "parallelism.default",
    "execution.batch-size",
    "execution.buffer-timeout",
    "pipeline.max-parallelism",
    "table.exec.source.idle-timeout",
    "pipeline.auto-watermark-interval",
    "table.exec.window-agg.buffer-size-limit",
    "statement_timeout",
    "no.such.key",
    "timezone",
];
const CONFIG_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "4",
    "100000000000",
    "'1 s'",
    "'abc'",
    "'0 ms'",
    "''",
    "'UTC'",
    "'Mars/Olympus'",
];

struct Gen {
    rng: StdRng,
}

impl Gen {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn expr(&mut self, depth: u32) -> String {
        if depth == 0 || self.chance(0.3) {
            return match self.rng.random_range(0..3) {
                0 => self.pick(INT_COLS).to_string(),
                1 => self.pick(STR_COLS).to_string(),
                _ => self.pick(LITERALS).to_string(),
            };
        }
        let d = depth - 1;
        match self.rng.random_range(0..12) {
            0 | 1 => format!("({} {} {})", self.expr(d), self.pick(OPS), self.expr(d)),
            2 => format!("{}({})", self.pick(FUNCTIONS1), self.expr(d)),
            3 => format!(
                "{}({}, {})",
                self.pick(FUNCTIONS2),
                self.expr(d),
                self.expr(d)
            ),
            4 => format!("CAST({} AS {})", self.expr(d), self.pick(TYPES)),
            5 => format!(
                "CASE WHEN {} THEN {} ELSE {} END",
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            6 => format!(
                "{} IN ({}, {}, {})",
                self.expr(d),
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            7 => format!(
                "{} BETWEEN {} AND {}",
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            8 => format!("{} LIKE {}", self.expr(d), self.expr(d)),
            9 => format!("{} IS NULL", self.expr(d)),
            10 => format!("(SELECT max(a) FROM t2 WHERE t2.a = {})", self.expr(d)),
            _ => format!("NOT {}", self.expr(d)),
        }
    }

    fn select(&mut self) -> String {
        let mut s = String::from("SELECT ");
        let agg = self.chance(0.3);
        let n = self.rng.random_range(1..4);
        let items: Vec<String> = (0..n)
            .map(|_| {
                if agg && self.chance(0.6) {
                    let f = self.pick(&["count", "sum", "min", "max", "avg", "count(DISTINCT"]);
                    if f.ends_with("DISTINCT") {
                        format!("{f} {})", self.expr(2))
                    } else {
                        format!("{f}({})", self.expr(2))
                    }
                } else {
                    self.expr(3)
                }
            })
            .collect();
        s.push_str(&items.join(", "));
        match self.rng.random_range(0..5) {
            0 => s.push_str(" FROM t1"),
            1 => s.push_str(" FROM t1 JOIN t2 ON t1.a = t2.a"),
            2 => s.push_str(" FROM t1 LEFT JOIN t2 ON t1.a = t2.a AND t2.f"),
            3 => s.push_str(" FROM t1, t2"),
            _ => s.push_str(" FROM t1 FULL JOIN t2 USING (a)"),
        }
        if self.chance(0.5) {
            let _ = write!(s, " WHERE {}", self.expr(3));
        }
        if agg && self.chance(0.5) {
            let _ = write!(s, " GROUP BY {}", self.expr(1));
        }
        if self.chance(0.3) {
            let _ = write!(
                s,
                " ORDER BY 1 {}",
                self.pick(&["ASC", "DESC", "NULLS FIRST", ""])
            );
        }
        if self.chance(0.3) {
            let _ = write!(
                s,
                " LIMIT {}",
                self.pick(&["0", "1", "5", "-1", "99999999999"])
            );
        }
        s
    }

    fn window(&mut self) -> String {
        let tvf = match self.rng.random_range(0..4) {
            0 => format!(
                "TUMBLE(TABLE t1, DESCRIPTOR(ts), INTERVAL '{}' SECOND)",
                self.pick(&["1", "0", "-1", "10"])
            ),
            1 => format!(
                "HOP(TABLE t1, DESCRIPTOR(ts), INTERVAL '{}' SECOND, INTERVAL '{}' SECOND)",
                self.pick(&["1", "2", "0"]),
                self.pick(&["4", "3", "1"])
            ),
            2 => format!(
                "CUMULATE(TABLE t1, DESCRIPTOR({}), INTERVAL '1' SECOND, INTERVAL '{}' SECOND)",
                self.pick(&["ts", "a", "nope"]),
                self.pick(&["3", "2", "5"])
            ),
            _ => {
                "SESSION(TABLE t1 PARTITION BY a, DESCRIPTOR(ts), INTERVAL '1' SECOND)".to_string()
            }
        };
        format!(
            "SELECT window_start, window_end, count(*), max({}) FROM TABLE({tvf}) GROUP BY window_start, window_end{}",
            self.expr(1),
            if self.chance(0.5) { ", a" } else { "" }
        )
    }

    fn ddl(&mut self) -> String {
        let name = format!("f{}", self.rng.random_range(0..4));
        match self.rng.random_range(0..5) {
            0 | 1 => {
                let n = self.rng.random_range(0..4);
                let opts: Vec<String> = (0..n)
                    .map(|_| {
                        format!(
                            "'{}' = '{}'",
                            self.pick(OPTION_KEYS),
                            self.pick(OPTION_VALUES)
                        )
                    })
                    .collect();
                format!(
                    "CREATE TABLE {name} (a {}, b {}) WITH ({})",
                    self.pick(TYPES),
                    self.pick(TYPES),
                    opts.join(", ")
                )
            }
            2 => format!(
                "DROP TABLE {}{name}",
                if self.chance(0.5) { "IF EXISTS " } else { "" }
            ),
            3 => format!("CREATE VIEW {name} AS {}", self.select()),
            _ => format!("DROP VIEW IF EXISTS {name}"),
        }
    }

    fn statement(&mut self) -> String {
        let s = match self.rng.random_range(0..20) {
            0..=8 => self.select(),
            9 | 10 => self.window(),
            11 | 12 => self.ddl(),
            13 => format!(
                "SET '{}' = {}",
                self.pick(CONFIG_KEYS),
                self.pick(CONFIG_VALUES)
            ),
            14 => self
                .pick(&[
                    "SHOW TABLES",
                    "SHOW JOBS",
                    "DESCRIBE t1",
                    "SHOW CREATE TABLE t2",
                    "RESET",
                    "SHOW VIEWS",
                ])
                .to_string(),
            15 => format!(
                "INSERT INTO bh SELECT CAST({} AS STRING) FROM t1",
                self.expr(2)
            ),
            16 => format!("EXPLAIN {}", self.select()),
            17 => format!("{} UNION ALL {}", self.select(), self.select()),
            _ => format!("SELECT * FROM ({}) q WHERE {}", self.select(), self.expr(2)),
        };
        // Now and then damage it: cut it short or splice in a stray token.
        match self.rng.random_range(0..10) {
            0 => {
                let cut = self.rng.random_range(0..=s.len());
                s.char_indices()
                    .take_while(|(i, _)| *i < cut)
                    .map(|(_, c)| c)
                    .collect()
            }
            1 => {
                let at = self.rng.random_range(0..=s.len());
                let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                let token =
                    self.pick(&["(", ")", "'", ",", "SELECT", "NULL", ";", "\"", "--", "/*"]);
                format!("{}{token}{}", &s[..at], &s[at..])
            }
            _ => s,
        }
    }
}

fn save_regression(seed: u64, index: usize, statement: &str, what: &str) -> String {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sqllogictest/test_files/bug_fixes");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("fuzz_{seed}_{index}.slt"));
    let mut text = format!(
        "# Found by tests/fuzz_sql.rs (seed {seed}, statement {index}): it {what} the server.\n\
         # Fix the server, then put the intended answer in place of 'statement error'.\n"
    );
    for s in SETUP {
        let _ = write!(text, "\nstatement ok\n{s}\n");
    }
    let _ = write!(
        text,
        "\nstatement error\n{statement}\n\nquery I\nSELECT 1\n----\n1\n"
    );
    let _ = std::fs::write(&path, text);
    path.display().to_string()
}

#[tokio::test]
async fn random_statements_never_crash_or_hang_the_server() {
    let count: usize = std::env::var("EDDY_FUZZ_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let seed: u64 = std::env::var("EDDY_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261128);
    let mut eddy = Eddy::start();
    let client = eddy.connect().await;
    for s in SETUP {
        exec(&client, s).await;
    }
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
    };
    let (mut ok, mut errors, mut internal) = (0usize, 0usize, Vec::new());
    let mut client = client;
    let mut recent: std::collections::VecDeque<String> = Default::default();
    for index in 0..count {
        let statement = g.statement();
        recent.push_back(statement.clone());
        if recent.len() > 8 {
            recent.pop_front();
        }
        // Each statement on its own, so a long join or an unbounded job cannot stall the run.
        let answer = tokio::time::timeout(Duration::from_secs(60), async {
            client.simple_query("SET statement_timeout = '20s'").await?;
            client.simple_query(&statement).await
        })
        .await;
        match answer {
            Err(_) => {
                let path = save_regression(seed, index, &statement, "hung");
                panic!(
                    "statement {index} did not answer within 60 s (saved as {path}):\n{statement}\n\
                     the statements before it, this session:\n{}\n{}",
                    Vec::from(recent.clone()).join("\n"),
                    eddy.log_tail(60)
                );
            }
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) if e.as_db_error().is_some() => {
                errors += 1;
                if common::sqlstate(&e).as_deref() == Some("XX000") {
                    internal.push((statement.clone(), common::describe_error(&e)));
                }
            }
            Ok(Err(e)) => {
                let alive = eddy.is_running();
                let what = if alive {
                    "dropped the connection of"
                } else {
                    "crashed"
                };
                let path = save_regression(seed, index, &statement, what);
                panic!(
                    "statement {index} {what} the server ({e}; saved as {path}):\n{statement}\n{}",
                    eddy.log_tail(40)
                );
            }
        }
        // A fresh session now and then, so settings earlier statements SET do not steer
        // every later one.
        if index % 200 == 199 {
            client = eddy.connect().await;
        }
    }
    assert!(eddy.is_running());
    eprintln!(
        "fuzzed {count} statements (seed {seed}): {ok} answered rows, {errors} errors, {} internal errors",
        internal.len()
    );
    for (s, e) in internal.iter().take(10) {
        eprintln!("internal error: {e}\n  for: {s}");
    }
    assert!(
        ok > count / 10,
        "too few statements succeeded ({ok}): the grammar is off"
    );
}
