//! Eddy's connectors: where a table's rows come from and go to. The entry point is
//! [`ConnectorRegistry`], which validates `CREATE TABLE ... WITH (...)` against each
//! connector's [`TableFactory`] and resolves a job's connector specs into the runtime's
//! [`Source`](eddy_runtime::connector::Source)s and [`Sink`](eddy_runtime::connector::Sink)s.
//! Connectors use Flink's names and options: `filesystem`, `datagen`, `nexmark`, `print`,
//! `blackhole`, plus the internal `collect` sink the gateway streams query results through. File
//! contents are decoded and encoded by the [`format`]s `csv` and `json`, which skip or
//! report malformed records by their `*.ignore-parse-errors` option.

pub mod blackhole;
pub mod collect;
pub mod datagen;
pub mod error;
pub mod factory;
pub mod filesystem;
pub mod format;
pub mod kafka;
pub mod materialized;
pub mod metadata;
pub mod nexmark;
pub mod options;
pub mod print;
pub mod registry;
pub mod types;
pub mod values;

#[cfg(test)]
mod testing;

pub use collect::{register_collector, unregister_collector};
pub use error::{ConnectorError, Result};
pub use factory::TableFactory;
pub use options::OptionKey;
pub use registry::ConnectorRegistry;
