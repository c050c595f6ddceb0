//! Where the process listens: the SQL gateway's PostgreSQL endpoint and the REST API.

use super::{ConfigOption, ValueKind};

/// Port of the PostgreSQL wire protocol endpoint.
pub const PG_PORT: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.port",
    default: "5433",
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port of the SQL gateway's PostgreSQL wire protocol endpoint.",
};

/// Port of a standalone gateway's result endpoint.
pub const RESULT_PORT: ConfigOption = ConfigOption {
    key: "sql-gateway.result.port",
    default: "0",
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port on which a gateway started with `eddy gateway` takes the rows of streaming SELECTs from TaskManagers (0: any free port; bound on rest.bind-address).",
};

/// Host TaskManagers reach a standalone gateway at.
pub const GATEWAY_HOST: ConfigOption = ConfigOption {
    key: "sql-gateway.host",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Host TaskManagers reach a gateway started with `eddy gateway` at.",
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
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port of the REST API (Flink's /overview, /jobs/overview, /jobs/:id).",
};

/// Most connections the PostgreSQL endpoint serves at once (PostgreSQL's
/// `max_connections`); one more is refused with SQLSTATE 53300.
pub const PG_MAX_CONNECTIONS: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.max-connections",
    default: "100",
    kind: ValueKind::Int {
        min: 1,
        max: 100000,
    },
    description:
        "Most client connections served at once; further ones are refused with SQLSTATE 53300.",
};

/// How long a new connection may take to finish its startup (PostgreSQL's
/// `authentication_timeout`).
pub const PG_STARTUP_TIMEOUT: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.startup-timeout",
    default: "60 s",
    kind: ValueKind::Duration,
    description: "How long a new connection may take to send its startup packet and finish authentication before it is closed (PostgreSQL's authentication_timeout).",
};

/// Memory all batch queries of the gateway may use together before they spill or fail.
pub const BATCH_MEMORY_LIMIT: ConfigOption = ConfigOption {
    key: "sql-gateway.batch.memory-limit",
    default: "2 gb",
    kind: ValueKind::MemorySize,
    description: "Memory shared by all batch queries (SELECT over bounded tables); sorts, hash aggregations and hash joins spill to the data dir's tmp/ past it, and a query that still cannot fit fails with SQLSTATE 53200.",
};

/// Where materialized views keep their contents.
pub const MATERIALIZED_VIEW_DIR: ConfigOption = ConfigOption {
    key: "sql-gateway.materialized-view.dir",
    default: "",
    kind: ValueKind::String,
    description: "Where each materialized view keeps its committed contents: a directory (empty: `materialized/` under the gateway's data dir), which every TaskManager must reach at the same path, or an object store URL such as `s3://bucket/views` (credentials, region and endpoint from the AWS_* environment variables, as for checkpoints).",
};

/// Freshness of a materialized view that declares none.
pub const MATERIALIZED_VIEW_FRESHNESS: ConfigOption = ConfigOption {
    key: "sql-gateway.materialized-view.default-freshness",
    default: "1 s",
    kind: ValueKind::Duration,
    description: "Checkpoint interval of a materialized view's job when neither FRESHNESS nor `execution.checkpointing.interval` sets one: how stale a read of the view can be.",
};

/// How PostgreSQL clients authenticate (PostgreSQL's `pg_hba.conf` method, one for all).
pub const PG_AUTH: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.auth",
    default: "trust",
    kind: ValueKind::Enum(&["trust", "password", "scram-sha-256"]),
    description: "How PostgreSQL clients authenticate: `trust` (any user name, no password), `password` (a cleartext password, for use over TLS), or `scram-sha-256`. Users come from `sql-gateway.endpoint.pg.users.<name>.password` and from CREATE USER.",
};

/// A user's password, one key per user. The key is a pattern: `<name>` is the user.
pub const PG_USER_PASSWORD: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.users.<name>.password",
    default: "",
    kind: ValueKind::String,
    description: "Password of user `<name>` (a superuser), in clear or as the SCRAM-SHA-256 verifier PostgreSQL stores (`SCRAM-SHA-256$4096:salt$StoredKey:ServerKey`). Configuration users cannot be altered or dropped with SQL.",
};

/// Prefix and suffix of [`PG_USER_PASSWORD`] keys.
pub const PG_USERS_PREFIX: &str = "sql-gateway.endpoint.pg.users.";
pub const PG_USERS_SUFFIX: &str = ".password";

/// The server certificate for TLS.
pub const PG_SSL_CERT: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.ssl.cert",
    default: "",
    kind: ValueKind::String,
    description: "PEM file with the server certificate (and its chain) for TLS on the PostgreSQL endpoint; empty: no TLS. Needs `sql-gateway.endpoint.pg.ssl.key`.",
};

/// The server key for TLS.
pub const PG_SSL_KEY: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.ssl.key",
    default: "",
    kind: ValueKind::String,
    description: "PEM file with the private key of `sql-gateway.endpoint.pg.ssl.cert`.",
};

/// Whether a connection without TLS is refused.
pub const PG_SSL_REQUIRED: ConfigOption = ConfigOption {
    key: "sql-gateway.endpoint.pg.ssl.required",
    default: "false",
    kind: ValueKind::Bool,
    description: "Refuse PostgreSQL connections that do not use TLS (SQLSTATE 28000), as a `hostssl`-only pg_hba.conf does.",
};

/// The token REST requests must carry.
pub const REST_AUTH_TOKEN: ConfigOption = ConfigOption {
    key: "rest.auth.token",
    default: "",
    kind: ValueKind::String,
    description:
        "When set, every REST request must carry `Authorization: Bearer <token>`; others get 401.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    RESULT_PORT,
    GATEWAY_HOST,
    PG_PORT,
    BIND_ADDRESS,
    REST_PORT,
    PG_MAX_CONNECTIONS,
    PG_STARTUP_TIMEOUT,
    BATCH_MEMORY_LIMIT,
    MATERIALIZED_VIEW_DIR,
    MATERIALIZED_VIEW_FRESHNESS,
    PG_AUTH,
    PG_USER_PASSWORD,
    PG_SSL_CERT,
    PG_SSL_KEY,
    PG_SSL_REQUIRED,
    REST_AUTH_TOKEN,
];
