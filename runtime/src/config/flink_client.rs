//! Flink's SQL client options (display, result mode, verbosity) and the deployment keys its
//! users set, accepted so that SQL-client scripts run as pasted. A PostgreSQL client shows
//! rows itself, so most say "not applicable".

use super::flink_table::MAX_COUNT;
use super::{ConfigOption, ValueKind};

// ---------------------------------------------------------------------------------------
// SqlClientOptions
// ---------------------------------------------------------------------------------------

pub const SQL_CLIENT_DISPLAY_COLOR_SCHEMA: ConfigOption = ConfigOption {
    key: "sql-client.display.color-schema",
    default: "DEFAULT",
    kind: ValueKind::Enum(&[
        "DEFAULT",
        "DARK",
        "LIGHT",
        "CHESTER",
        "VS2010",
        "SOLARIZED",
        "OBSIDIAN",
        "GESHI",
    ]),
    description: "The colours the SQL client highlights SQL syntax with. Eddy: not applicable — Eddy has no SQL client of its own; PostgreSQL clients display statements.",
};

/// Deprecated by Flink for `table.display.max-column-width` but still read as its
/// fallback, so scripts still set it.
pub const SQL_CLIENT_DISPLAY_MAX_COLUMN_WIDTH: ConfigOption = ConfigOption {
    key: "sql-client.display.max-column-width",
    default: "30",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "Deprecated name of table.display.max-column-width: how many characters of a column the SQL client prints before truncating. Eddy: not applicable — PostgreSQL clients lay results out themselves.",
};

pub const SQL_CLIENT_DISPLAY_PRINT_TIME_COST: ConfigOption = ConfigOption {
    key: "sql-client.display.print-time-cost",
    default: "true",
    kind: ValueKind::Bool,
    description: "Whether the SQL client prints how long each query took. Eddy: not applicable — PostgreSQL clients time statements themselves (psql's \\timing).",
};

pub const SQL_CLIENT_DISPLAY_SHOW_LINE_NUMBERS: ConfigOption = ConfigOption {
    key: "sql-client.display.show-line-numbers",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the SQL client numbers the lines of a multi-line statement as it is typed. Eddy: not applicable — Eddy has no SQL client of its own.",
};

pub const SQL_CLIENT_EXECUTION_MAX_TABLE_RESULT_ROWS: ConfigOption = ConfigOption {
    key: "sql-client.execution.max-table-result.rows",
    default: "1000000",
    kind: ValueKind::Int {
        min: 1,
        max: MAX_COUNT,
    },
    description: "How many rows the SQL client's table mode keeps, dropping the oldest past it. Eddy: not applicable — Eddy has no table result mode; rows stream to the PostgreSQL client.",
};

pub const SQL_CLIENT_EXECUTION_RESULT_MODE: ConfigOption = ConfigOption {
    key: "sql-client.execution.result-mode",
    default: "TABLE",
    kind: ValueKind::Enum(&["TABLE", "CHANGELOG", "TABLEAU"]),
    description: "How the SQL client shows query results: a paginated materialized table, the changelog, or printed rows. Eddy: accepted; has no effect, as a PostgreSQL client displays the rows, and a streaming SELECT always sends its changelog with an op column as Flink's changelog mode shows it.",
};

/// The name of `sql-client.execution.result-mode` in the YAML-configured SQL client of
/// Flink 1.12 and before, still common in tutorials.
pub const EXECUTION_RESULT_MODE: ConfigOption = ConfigOption {
    key: "execution.result-mode",
    default: "TABLE",
    kind: ValueKind::Enum(&["TABLE", "CHANGELOG", "TABLEAU"]),
    description: "Old name of sql-client.execution.result-mode: how the SQL client shows query results. Eddy: accepted; has no effect, as a PostgreSQL client displays the rows, and a streaming SELECT always sends its changelog with an op column.",
};

pub const SQL_CLIENT_VERBOSE: ConfigOption = ConfigOption {
    key: "sql-client.verbose",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the SQL client prints the whole stack trace of an error instead of its cause. Eddy: not applicable — errors reach PostgreSQL clients as messages with a SQLSTATE, never as stack traces.",
};

// ---------------------------------------------------------------------------------------
// DeploymentOptions
// ---------------------------------------------------------------------------------------

pub const EXECUTION_ATTACHED: ConfigOption = ConfigOption {
    key: "execution.attached",
    default: "false",
    kind: ValueKind::Bool,
    description: "Whether the client submits a job attached, waiting for its result, or detached. Eddy: accepted; has no effect, as jobs run in Eddy's cluster independently of the session, and an INSERT returns at submission unless table.dml-sync is true.",
};

/// Every option in this file.
/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    SQL_CLIENT_DISPLAY_COLOR_SCHEMA,
    SQL_CLIENT_DISPLAY_MAX_COLUMN_WIDTH,
    SQL_CLIENT_DISPLAY_PRINT_TIME_COST,
    SQL_CLIENT_DISPLAY_SHOW_LINE_NUMBERS,
    SQL_CLIENT_EXECUTION_MAX_TABLE_RESULT_ROWS,
    SQL_CLIENT_EXECUTION_RESULT_MODE,
    EXECUTION_RESULT_MODE,
    SQL_CLIENT_VERBOSE,
    EXECUTION_ATTACHED,
];
