//! Planner errors.

use datafusion::error::DataFusionError;
use eddy_runtime::RuntimeError;

/// Result alias for the planner.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

/// Why a statement cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The statement uses something a streaming job cannot do (yet).
    #[error("{0}")]
    NotSupported(String),
    /// The query's column types do not fit the sink's.
    #[error(
        "column '{column}' of table '{table}' has type {expected} but the query produces {found}"
    )]
    TypeMismatch {
        table: String,
        column: String,
        expected: String,
        found: String,
    },
    /// The query and the sink have different numbers of columns.
    #[error(
        "INSERT INTO '{table}' has {query} query columns but the table has {table_columns} columns"
    )]
    ColumnCount {
        table: String,
        query: usize,
        table_columns: usize,
    },
    /// A window TVF, window aggregation or window join is written wrongly.
    #[error("{0}")]
    Windowing(String),
    /// An updating query's upsert key is not within the upsert sink's primary key, and
    /// no ON CONFLICT says what to do (PostgreSQL answers an ON CONFLICT that matches no
    /// key with 42P10 too).
    #[error("{0}")]
    UpsertKey(String),
    /// A table definition (computed column, watermark) is invalid.
    #[error("{0}")]
    InvalidDefinition(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl PlanError {
    /// Carries the error through DataFusion's planner (e.g. out of a table function), from
    /// where `PlanError::find` gets it back.
    pub fn into_datafusion(self) -> DataFusionError {
        DataFusionError::External(Box::new(self))
    }

    /// A planner error DataFusion carried, if it holds one.
    pub fn find(e: &DataFusionError) -> Option<&PlanError> {
        match e.find_root() {
            DataFusionError::External(inner) => inner.downcast_ref::<PlanError>(),
            _ => None,
        }
    }
}
