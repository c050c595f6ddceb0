//! The PostgreSQL wire protocol gateway: startup and cancel requests ([`server`]), who may
//! connect ([`auth`]: password, SCRAM, TLS), the simple and extended query protocols
//! ([`handler`]), `COPY ... TO STDOUT` ([`copy`]) Arrow ↔ PostgreSQL types ([`types`]) and values
//! ([`encode`], in [`text`] or [`binary`] format).

mod auth;
mod binary;
mod cancel;
mod copy;
mod copy_in;
mod encode;
mod execute;
mod guard;
mod handler;
mod idle;
mod refuse;
mod server;
mod text;
mod types;

pub use auth::EndpointOptions;
pub use server::serve;
pub use types::{pg_type, pg_typmod};
