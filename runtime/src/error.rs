//! Runtime errors. Each variant knows its class so the JobMaster can decide whether a
//! restart could help and the gateway can pick a SQLSTATE.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

/// Result alias used across the runtime.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Who is at fault for an error, which decides how it is reported and whether retrying helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad input or a bad statement: retrying will fail the same way.
    User,
    /// A system outside Eddy (file system, broker) failed; retrying may help.
    External,
    /// A bug in Eddy.
    Internal,
}

/// Errors raised while building or running operators and tasks.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A record could not be decoded; names the file (or split) and line and quotes the record.
    #[error("malformed record in {location}: {reason}; record: '{record}'")]
    BadRecord {
        location: String,
        reason: String,
        record: String,
    },
    /// A user-caused problem detected at runtime (bad option value, missing file, ...).
    #[error("{0}")]
    User(String),
    /// A missing file or directory.
    #[error("{0}")]
    NotFound(String),
    /// An external system failed.
    #[error("{0}")]
    External(String),
    /// A user function raised, returned what its type cannot hold, or could not be loaded.
    #[error("{message}")]
    UserFunction {
        sqlstate: &'static str,
        message: String,
    },
    /// A built-in function refused a value, with the SQLSTATE PostgreSQL gives that error.
    #[error("{message}")]
    Data {
        sqlstate: &'static str,
        message: String,
    },
    /// The job or task was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// An I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// A bug: an invariant of the runtime does not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RuntimeError {
    /// Wraps an I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return RuntimeError::NotFound(format!("{}: {source}", context.into()));
        }
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }

    /// The SQLSTATE a client sees for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            RuntimeError::NotFound(_) => "58P01",
            RuntimeError::BadRecord { .. } => "22P04",
            RuntimeError::User(_) => "22023",
            RuntimeError::Cancelled => "57014",
            RuntimeError::Io { .. } | RuntimeError::External(_) => "58000",
            RuntimeError::UserFunction { sqlstate, .. } | RuntimeError::Data { sqlstate, .. } => {
                sqlstate
            }
            RuntimeError::Arrow(_) => "22000",
            RuntimeError::DataFusion(e) => datafusion_sqlstate(e),
            RuntimeError::Internal(_) => "XX000",
        }
    }

    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            RuntimeError::BadRecord { .. }
            | RuntimeError::User(_)
            | RuntimeError::NotFound(_)
            | RuntimeError::UserFunction { .. }
            | RuntimeError::Data { .. }
            | RuntimeError::Cancelled => ErrorClass::User,
            RuntimeError::External(_) | RuntimeError::Io { .. } => ErrorClass::External,
            RuntimeError::Arrow(_) | RuntimeError::DataFusion(_) => ErrorClass::User,
            RuntimeError::Internal(_) => ErrorClass::Internal,
        }
    }
}

/// The SQLSTATE of a DataFusion error (one table with [`RuntimeError::sqlstate`]).
pub fn datafusion_sqlstate(e: &DataFusionError) -> &'static str {
    use datafusion::common::SchemaError;
    match e.find_root() {
        DataFusionError::SQL(_, _) => "42601",
        DataFusionError::SchemaError(err, _) => match err.as_ref() {
            SchemaError::FieldNotFound { .. } => "42703",
            SchemaError::AmbiguousReference { .. } => "42702",
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => "42701",
        },
        DataFusionError::Plan(msg) => {
            let m = msg.to_ascii_lowercase();
            if m.contains("table") && m.contains("not found") {
                "42P01"
            } else if m.contains("invalid function")
                || m.contains("function") && m.contains("not found")
            {
                "42883"
            } else if m.contains("coerc")
                || m.contains("type")
                || m.contains("cast")
                || m.contains("boolean")
            {
                "42804"
            } else {
                "42601"
            }
        }
        DataFusionError::NotImplemented(_) => "0A000",
        // DataFusion reports some type errors in user input as internal ones (found by
        // tests/fuzz_sql.rs): `x BETWEEN a AND b` over types that do not compare.
        DataFusionError::Internal(msg) if msg.contains("Failed to coerce types") => "42804",
        DataFusionError::Internal(msg) if msg.contains("failed to match any signature") => "42883",
        DataFusionError::ArrowError(err, _) => match err.as_ref() {
            datafusion::arrow::error::ArrowError::DivideByZero => "22012",
            datafusion::arrow::error::ArrowError::CastError(_)
            | datafusion::arrow::error::ArrowError::ParseError(_) => "22P02",
            _ => "22000",
        },
        DataFusionError::External(inner) => match inner.downcast_ref::<RuntimeError>() {
            Some(r) => r.sqlstate(),
            None => "XX000",
        },
        DataFusionError::Execution(msg) if msg.to_ascii_lowercase().contains("divide by zero") => {
            "22012"
        }
        DataFusionError::Execution(_) => "22000",
        DataFusionError::ResourcesExhausted(_) => "53200",
        _ => "XX000",
    }
}

/// The message a panic carried (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
