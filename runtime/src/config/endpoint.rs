//! Where the process listens: the SQL gateway's PostgreSQL endpoint and the REST API.

use super::{ConfigOption, ValueKind};

/// Port of the PostgreSQL wire protocol endpoint.
pub const PG_PORT: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.port",
    default: "5433",
    kind: ValueKind::Int,
    description: "Port of the SQL gateway's PostgreSQL wire protocol endpoint.",
};

/// Address the endpoints bind to.
pub const BIND_ADDRESS: ConfigOption = ConfigOption {
    key: "rest.bind-address",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Address the SQL gateway and REST endpoints bind to.",
};

/// Port of the REST API.
pub const REST_PORT: ConfigOption = ConfigOption {
    key: "rest.port",
    default: "8081",
    kind: ValueKind::Int,
    description: "Port of the REST API (Flink's /overview, /jobs/overview, /jobs/:id).",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[PG_PORT, BIND_ADDRESS, REST_PORT];
