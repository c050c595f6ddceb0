//! Connector errors. Every variant a user can cause names the connector, option, column
//! or value at fault; the SQL layer maps them to SQLSTATEs (`UnknownConnector` and
//! `UnknownOption` → 42704, `MissingOption` and `InvalidOption` → 22023,
//! `UnsupportedType` → 0A000). Errors raised while running (bad records, missing files)
//! are [`RuntimeError`]s, wrapped in [`ConnectorError::Runtime`] when they pass through here.

use eddy_runtime::error::ErrorClass;
use eddy_runtime::RuntimeError;

/// Result alias of this crate.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// Errors in a table's connector definition, or raised while creating its source or sink.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The `connector` option names no known connector.
    #[error("unknown connector '{name}'; available connectors: {}", available.join(", "))]
    UnknownConnector {
        name: String,
        available: Vec<String>,
    },
    /// A WITH option the connector does not declare.
    #[error(
        "unsupported option '{option}' for connector '{connector}'; supported options: {}",
        valid.join(", ")
    )]
    UnknownOption {
        connector: String,
        option: String,
        valid: Vec<String>,
    },
    /// A required WITH option is absent (`connector` is empty when the missing option is
    /// `connector` itself).
    #[error("{}", missing_message(connector, option))]
    MissingOption { connector: String, option: String },
    /// A WITH option has a value the connector cannot use.
    #[error("invalid value '{value}' for option '{option}': {reason}")]
    InvalidOption {
        option: String,
        value: String,
        reason: String,
    },
    /// An option that exists, but not for this table (another format's option, or a
    /// per-column option naming a column the table does not have).
    #[error("option '{option}' does not apply to this table: {reason}")]
    OptionNotApplicable { option: String, reason: String },
    /// A column type the connector or format cannot read or write.
    #[error("{connector_or_format} does not support column '{column}' of type {data_type}")]
    UnsupportedType {
        connector_or_format: String,
        column: String,
        data_type: String,
    },
    /// A metadata column the connector does not have, or of a type it cannot give.
    #[error("{0}")]
    InvalidMetadata(String),

    /// A connector that needs a primary key (`upsert-kafka`) on a table without one.
    #[error("{0}")]
    MissingPrimaryKey(String),
    /// The connector only writes (e.g. `print`), yet the table was read.
    #[error("connector '{connector}' can only be used as a sink; it cannot be read from")]
    NotASource { connector: String },
    /// The connector only reads (e.g. `datagen`), yet the table was written.
    #[error("connector '{connector}' can only be used as a source; it cannot be written to")]
    NotASink { connector: String },
    /// The format can be written but not read (yet).
    #[error("format '{format}' can only be written for now; reading it is not supported yet")]
    FormatNotReadable { format: String },
    /// A runtime error (missing file, I/O failure, ...).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn missing_message(connector: &str, option: &str) -> String {
    if connector.is_empty() {
        format!("missing required option '{option}' in the table's WITH clause")
    } else {
        format!("missing required option '{option}' for connector '{connector}'")
    }
}

impl ConnectorError {
    /// Shorthand for [`ConnectorError::InvalidOption`].
    pub fn invalid(option: &str, value: &str, reason: impl Into<String>) -> Self {
        ConnectorError::InvalidOption {
            option: option.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Who is at fault, which decides whether retrying could help.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Runtime(e) => e.class(),
            _ => ErrorClass::User,
        }
    }

    /// Whether retrying the same operation could succeed.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::External
    }
}

impl From<ConnectorError> for RuntimeError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Runtime(e) => e,
            other => RuntimeError::User(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_thing_at_fault() {
        let e = ConnectorError::UnknownConnector {
            name: "kafak".into(),
            available: vec!["datagen".into(), "print".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown connector 'kafak'; available connectors: datagen, print"
        );
        let e = ConnectorError::MissingOption {
            connector: String::new(),
            option: "connector".into(),
        };
        assert!(e.to_string().contains("'connector'"), "{e}");
        let e = ConnectorError::MissingOption {
            connector: "filesystem".into(),
            option: "path".into(),
        };
        assert_eq!(
            e.to_string(),
            "missing required option 'path' for connector 'filesystem'"
        );
    }

    #[test]
    fn converts_into_runtime_errors() {
        let e: RuntimeError =
            ConnectorError::invalid("format", "xml", "must be csv or json").into();
        assert!(
            matches!(e, RuntimeError::User(ref m) if m.contains("'format'")),
            "{e}"
        );
        let e: RuntimeError = ConnectorError::Runtime(RuntimeError::Cancelled).into();
        assert!(matches!(e, RuntimeError::Cancelled));
        assert!(!ConnectorError::invalid("a", "b", "c").is_retryable());
        let io = RuntimeError::External("broker down".into());
        assert!(ConnectorError::Runtime(io).is_retryable());
    }
}
