//! SQL errors and the one table mapping them to SQLSTATE codes.

use datafusion::error::DataFusionError;
use eddy_cluster::ClusterError;
use eddy_connectors::ConnectorError;
use eddy_planner::PlanError;
use eddy_runtime::RuntimeError;

/// sqlparser's recursion limit (its `DEFAULT_REMAINING_DEPTH`), which the parser applies to
/// nesting it parses by recursing.
pub const PARSER_NESTING_LIMIT: usize = 50;

/// Result alias for the SQL layer.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// Everything a statement can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Syntax(String),
    /// COPY FROM data that does not read (22P02, 22P04, 23502, 54000).
    #[error("{message}")]
    CopyData {
        sqlstate: &'static str,
        message: String,
    },
    #[error("table or view '{0}' does not exist")]
    UndefinedTable(String),
    #[error("column '{column}' does not exist in table '{table}'")]
    UndefinedColumn { table: String, column: String },
    #[error("type '{0}' does not exist")]
    UndefinedType(String),
    /// Flink's words; PostgreSQL's invalid_catalog_name (3D000).
    #[error("A catalog with name [{0}] does not exist.")]
    UndefinedCatalog(String),
    /// Flink's words; PostgreSQL's invalid_schema_name (3F000).
    #[error("A database with name [{}] does not exist in the catalog: [{}].", .0.database, .0.catalog)]
    UndefinedDatabase(crate::catalog::DatabaseName),
    /// PostgreSQL's duplicate_database (42P04): a catalog is what a client connects to.
    #[error("Catalog {0} already exists.")]
    DuplicateCatalog(String),
    /// PostgreSQL's duplicate_schema (42P06): a database is what a client sees as a schema.
    #[error("Database {} already exists in Catalog {}.", .0.database, .0.catalog)]
    DuplicateDatabase(crate::catalog::DatabaseName),
    /// PostgreSQL's duplicate_column (42701) for ALTER TABLE ... ADD.
    #[error("column \"{column}\" of relation \"{table}\" already exists")]
    ColumnExists { table: String, column: String },
    /// PostgreSQL's invalid_table_definition (42P16).
    #[error("{0}")]
    InvalidDefinition(String),
    /// PostgreSQL's undefined_object (42704): a key or watermark a statement names that
    /// the table does not have.
    #[error("{0}")]
    UndefinedObject(String),
    /// PostgreSQL's duplicate_object (42710): a second key or watermark.
    #[error("{0}")]
    DuplicateConstraint(String),
    /// PostgreSQL's undefined_function (42883).
    #[error("{0}")]
    UndefinedFunction(String),
    /// PostgreSQL's duplicate_function (42723).
    #[error("{0}")]
    DuplicateFunction(String),
    /// PostgreSQL's invalid_function_definition (42P13): a function that does not load.
    #[error("{0}")]
    InvalidFunction(String),
    /// A name PostgreSQL keeps for itself (reserved_name, 42939).
    #[error("{0}")]
    ReservedName(String),
    /// A catalog `type` Eddy has no implementation of (42704, as an unknown connector).
    #[error("{0}")]
    UnknownCatalogType(String),
    /// PostgreSQL's dependent_objects_still_exist (2BP01).
    #[error("{0}")]
    DependentObjects(String),
    #[error("column '{0}' specified more than once")]
    DuplicateColumn(String),
    /// A column a definition adds that its table has, in Flink's words (42701).
    #[error("{0}")]
    DuplicateColumnText(String),
    #[error("{0} already exists")]
    DuplicateObject(String),
    #[error("{0}")]
    NotSupported(String),
    /// PostgreSQL's object_in_use.
    #[error("{0}")]
    ObjectInUse(String),
    /// A column a statement names that its query does not have.
    #[error("column \"{0}\" does not exist")]
    UndefinedColumnName(String),
    /// A column a definition names that its table does not have, in Flink's words.
    #[error("{0}")]
    UndefinedColumnText(String),
    #[error("role \"{0}\" already exists")]
    DuplicateRole(String),
    #[error("role \"{0}\" does not exist")]
    UndefinedRole(String),
    /// PostgreSQL's insufficient_privilege.
    #[error("permission denied {0}")]
    InsufficientPrivilege(String),
    /// A statement for one kind of object named another kind (PostgreSQL's
    /// wrong_object_type: `DROP VIEW` of a table).
    #[error("{0}")]
    WrongObjectType(String),
    /// No cursor of that name (PostgreSQL's invalid_cursor_name).
    #[error("{0}")]
    InvalidCursor(String),
    #[error("{0}")]
    DuplicateCursor(String),
    /// A FETCH of a cursor whose statement failed earlier: that error again.
    #[error("{message}")]
    CursorFailed { sqlstate: String, message: String },
    #[error("{0}")]
    InvalidParameter(String),
    /// A setting nobody declared (PostgreSQL's "unrecognized configuration parameter").
    #[error("{0}")]
    UndefinedParameter(String),
    #[error("{0}")]
    TypeMismatch(String),
    #[error("canceling statement due to user request")]
    Cancelled,
    /// PostgreSQL's `statement_timeout` ran out.
    #[error("canceling statement due to statement timeout ({0})")]
    StatementTimeout(String),
    /// Nested deeper than the gateway's limit (PostgreSQL's "stack depth limit exceeded").
    #[error("statement too complex: it nests at least {depth} levels of expressions, subqueries, set operations or joins, more than the limit of {limit}; split it, or use IN (...) for long OR lists")]
    TooDeep { depth: usize, limit: usize },
    /// Parentheses, subqueries, CASE or function calls nested past the parser's own limit.
    #[error("statement too complex: parentheses, subqueries, CASE expressions or function calls nest more than the parser's limit of {PARSER_NESTING_LIMIT} levels")]
    NestedTooDeep,
    /// More operators than any statement under the depth limit needs; refused before
    /// parsing, so that no tree of them is ever built.
    #[error("statement too complex: it has {count} operators, more than the limit of {limit}")]
    TooManyOperators { count: usize, limit: usize },
    /// A batch query needed more memory than the pool lets it have.
    #[error("out of memory: batch queries may use {limit} in all ('sql-gateway.batch.memory-limit') and this one needs more: {detail}")]
    OutOfMemory { limit: String, detail: String },
    /// Reading or writing a file of the data directory failed.
    #[error("cannot write {path}: {source}")]
    Storage {
        path: String,
        source: std::io::Error,
    },
    /// Code handling the statement panicked; the connection and the server go on.
    #[error("internal error: {0}")]
    Panic(String),
    #[error("{0}")]
    Internal(String),
    /// A job the statement waited for failed.
    #[error("job {id} failed: {error}")]
    JobFailed {
        id: String,
        error: eddy_cluster::gateway::Failure,
    },
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl From<datafusion::sql::sqlparser::parser::ParserError> for SqlError {
    fn from(e: datafusion::sql::sqlparser::parser::ParserError) -> Self {
        match e {
            datafusion::sql::sqlparser::parser::ParserError::RecursionLimitExceeded => {
                SqlError::NestedTooDeep
            }
            e => SqlError::Syntax(e.to_string()),
        }
    }
}

fn runtime_sqlstate(e: &RuntimeError) -> &'static str {
    e.sqlstate()
}

fn plan_sqlstate(e: &PlanError) -> &'static str {
    match e {
        PlanError::NotSupported(_) => "0A000",
        PlanError::TypeMismatch { .. } => "42804",
        PlanError::ColumnCount { .. } => "42601",
        PlanError::Windowing(_) => "42P20",
        PlanError::UpsertKey(_) => "42P10",
        PlanError::InvalidDefinition(_) => "42P17",
        PlanError::DataFusion(d) => datafusion_sqlstate(d),
        PlanError::Runtime(r) => runtime_sqlstate(r),
    }
}

fn datafusion_sqlstate(e: &DataFusionError) -> &'static str {
    // Plan errors DataFusion carried back from the planner's callbacks; the rest of the
    // table lives with the runtime, which also reports task failures by it.
    if let DataFusionError::External(inner) = e.find_root() {
        if let Some(p) = inner.downcast_ref::<PlanError>() {
            return plan_sqlstate(p);
        }
        // Eddy's own functions fail with Eddy's errors (`current_setting`).
        match inner.downcast_ref::<SqlError>() {
            Some(SqlError::UndefinedParameter(_)) => return "42704",
            Some(SqlError::UndefinedTable(_)) => return "42P01",
            Some(SqlError::InvalidParameter(_)) => return "22023",
            _ => {}
        }
    }
    eddy_runtime::error::datafusion_sqlstate(e)
}

impl SqlError {
    /// The message sent to the client: an error DataFusion merely carried for a connector
    /// (a missing file, a malformed record) is shown as itself, without DataFusion's
    /// "External error:" wrapping.
    pub fn client_message(&self) -> String {
        let df = match self {
            SqlError::DataFusion(e) | SqlError::Plan(PlanError::DataFusion(e)) => e,
            other => return other.to_string(),
        };
        match df.find_root() {
            DataFusionError::External(inner) => inner.to_string(),
            // Not a DataFusion bug when it is the user's type error (see datafusion_sqlstate).
            DataFusionError::Internal(_) if self.sqlstate() != "XX000" => df
                .to_string()
                .split("\nThis issue was likely caused by a bug")
                .next()
                .unwrap_or_default()
                .to_string(),
            _ => df.to_string(),
        }
    }

    /// The SQLSTATE sent to the client: the only such table in Eddy.
    pub fn sqlstate(&self) -> &str {
        match self {
            SqlError::Syntax(_) => "42601",
            SqlError::CopyData { sqlstate, .. } => sqlstate,
            SqlError::UndefinedTable(_) => "42P01",
            SqlError::UndefinedColumn { .. } => "42703",
            SqlError::UndefinedCatalog(_) => "3D000",
            SqlError::UndefinedDatabase(_) => "3F000",
            SqlError::DuplicateCatalog(_) => "42P04",
            SqlError::DuplicateDatabase(_) => "42P06",
            SqlError::DependentObjects(_) => "2BP01",
            SqlError::ReservedName(_) => "42939",
            SqlError::UndefinedFunction(_) => "42883",
            SqlError::DuplicateFunction(_) => "42723",
            SqlError::InvalidFunction(_) => "42P13",
            SqlError::UndefinedObject(_) => "42704",
            SqlError::ColumnExists { .. } => "42701",
            SqlError::InvalidDefinition(_) => "42P16",
            SqlError::DuplicateConstraint(_) => "42710",
            SqlError::UnknownCatalogType(_) => "42704",
            SqlError::UndefinedType(_) => "42704",
            SqlError::DuplicateColumn(_) | SqlError::DuplicateColumnText(_) => "42701",
            SqlError::WrongObjectType(_) => "42809",
            SqlError::InvalidCursor(_) => "34000",
            SqlError::DuplicateCursor(_) => "42P03",
            SqlError::CursorFailed { sqlstate, .. } => sqlstate,
            SqlError::DuplicateObject(_) => "42P07",
            SqlError::NotSupported(_) => "0A000",
            SqlError::DuplicateRole(_) => "42710",
            SqlError::UndefinedColumnName(_) | SqlError::UndefinedColumnText(_) => "42703",
            SqlError::ObjectInUse(_) => "55006",
            SqlError::UndefinedRole(_) => "42704",
            SqlError::InsufficientPrivilege(_) => "42501",
            SqlError::InvalidParameter(_) => "22023",
            SqlError::UndefinedParameter(_) => "42704",
            SqlError::TypeMismatch(_) => "42804",
            SqlError::Cancelled | SqlError::StatementTimeout(_) => "57014",
            SqlError::TooDeep { .. }
            | SqlError::NestedTooDeep
            | SqlError::TooManyOperators { .. } => "54001",
            SqlError::OutOfMemory { .. } => "53200",
            SqlError::Storage { source, .. } => match source.kind() {
                std::io::ErrorKind::StorageFull => "53100",
                _ => "58030",
            },
            SqlError::Internal(_) | SqlError::Panic(_) => "XX000",
            // The task's own error, with the class and SQLSTATE it had where it happened.
            SqlError::JobFailed { error, .. } => &error.sqlstate,
            SqlError::Connector(e) => match e {
                ConnectorError::UnknownConnector { .. }
                | ConnectorError::UnknownOption { .. }
                | ConnectorError::OptionNotApplicable { .. }
                | ConnectorError::InvalidMetadata(_) => "42704",
                ConnectorError::NotASource { .. } | ConnectorError::NotASink { .. } => "42809",
                ConnectorError::UnsupportedType { .. } => "0A000",
                ConnectorError::MissingPrimaryKey(_) => "42P16",
                ConnectorError::Runtime(r) => runtime_sqlstate(r),
                _ => "22023",
            },
            SqlError::Plan(e) => plan_sqlstate(e),
            SqlError::DataFusion(e) => datafusion_sqlstate(e),
            SqlError::Runtime(e) => runtime_sqlstate(e),
            SqlError::Cluster(e) => match e {
                ClusterError::JobNotFound(_) => "42704",
                ClusterError::NotEnoughSlots { .. } => "53000",
                ClusterError::JobTerminated { .. } => "55000",
                ClusterError::Unreachable(_) | ClusterError::Rpc { .. } => "08006",
                ClusterError::UnknownTaskExecutor(_) => "58000",
                ClusterError::Incompatible(_) => "08P01",
                ClusterError::Remote(f) => &f.sqlstate,
                ClusterError::Runtime(r) => runtime_sqlstate(r),
            },
        }
    }
}
