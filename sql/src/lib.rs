//! Eddy's SQL layer: the Flink-SQL dialect, the persisted catalog, sessions, statement
//! handlers and the PostgreSQL wire-protocol gateway.
//!
//! A statement arrives through [`pgwire`], is split and classified by [`parser`], and is
//! executed by [`handler`] against the [`engine::Engine`] (catalog + connector registry +
//! Dispatcher) within a [`session::Session`]; batch queries execute on their own runtime
//! (`batch_executor`). Every error leaves through [`error::SqlError::sqlstate`].

mod batch_executor;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod handler;
pub mod parser;
pub mod pg_catalog;
pub mod pgwire;
pub mod session;
mod type_planner;

pub use engine::Engine;
pub use error::{Result, SqlError};
