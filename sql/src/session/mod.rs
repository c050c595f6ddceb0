//! A client session: its configuration overrides (Flink's `SET 'k' = 'v'`) and the
//! PostgreSQL variables drivers set (`client_encoding`, `DateStyle`, ...).

mod backends;
mod cursors;
mod temporary;
mod zone;

pub use backends::{Backend, Backends, SessionList, QUERY_TEXT_LIMIT};
pub use temporary::{Temporaries, TemporaryObjects};
pub use zone::Zone;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use eddy_runtime::config::table::LOCAL_TIME_ZONE;
use eddy_runtime::config::{find_option, is_sensitive, Configuration};

use crate::catalog::{DatabaseName, ObjectName, ObjectPath};
use crate::error::{Result, SqlError};

/// Settings a PostgreSQL server reports to every client at startup (ParameterStatus), under
/// their PostgreSQL names, with the values `SHOW` answers for them.
pub fn reported_parameters() -> Vec<(&'static str, &'static str)> {
    const REPORTED: &[(&str, &str)] = &[
        ("server_version", "server_version"),
        ("server_encoding", "server_encoding"),
        ("client_encoding", "client_encoding"),
        ("DateStyle", "datestyle"),
        ("IntervalStyle", "intervalstyle"),
        ("TimeZone", "timezone"),
        ("integer_datetimes", "integer_datetimes"),
        ("standard_conforming_strings", "standard_conforming_strings"),
        ("is_superuser", "is_superuser"),
        (
            "default_transaction_read_only",
            "default_transaction_read_only",
        ),
        ("in_hot_standby", "in_hot_standby"),
        ("search_path", "search_path"),
        ("application_name", "application_name"),
    ];
    REPORTED
        .iter()
        .filter_map(|(reported, key)| {
            PG_VARIABLES
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| (*reported, *v))
        })
        .collect()
}

/// The PostgreSQL settings a session starts with, for `pg_settings`.
pub(crate) fn pg_defaults() -> impl Iterator<Item = (&'static str, &'static str)> {
    PG_VARIABLES.iter().copied()
}

/// PostgreSQL settings drivers and tools set or read; accepted and echoed, not enforced.
const PG_VARIABLES: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("datestyle", "ISO, MDY"),
    // SQLAlchemy's reflection compares each table's access method with it.
    ("default_table_access_method", "heap"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "on"),
    ("max_identifier_length", "63"),
    // Flink's current database is the schema a PostgreSQL client sees (docs/postgres.md).
    ("search_path", "default_database"),
    ("server_encoding", "UTF8"),
    ("server_version", "15.0 (Eddy)"),
    // Drivers compare versions by this number; it must agree with server_version.
    ("server_version_num", "150000"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
];

#[derive(Debug, Default)]
struct State {
    config: Configuration,
    pg: BTreeMap<String, String>,
    /// `USE CATALOG` / `USE db`; `None` is `default_catalog.default_database`.
    current: Option<DatabaseName>,
    /// `USE MODULES`: the loaded modules in resolution order, each used or not; `None`
    /// is Flink's start, `core` alone and used.
    modules: Option<Vec<(String, bool)>>,
}

/// Per-connection state. Locked only while a statement reads or changes settings.
#[derive(Debug, Default)]
pub struct Session {
    state: Mutex<State>,
    /// The user the client connected as; `None` is the built-in `eddy`.
    user: Option<String>,
    /// Cursors the session declared.
    pub cursors: cursors::Cursors,
    /// Temporary tables and views the session created.
    pub temporaries: Temporaries,
    /// The INSERTs of an open `BEGIN STATEMENT SET`.
    pub statement_set: Mutex<Option<Vec<crate::parser::StatementSetEntry>>>,
    /// The process id the client got in BackendKeyData.
    pid: i32,
    /// A `COPY ... FROM STDIN` receiving its data.
    copy_in: Mutex<Option<(crate::handler::CopyIn, Vec<u8>)>>,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session of `user`.
    pub fn for_user(user: &str) -> Session {
        Session {
            user: Some(user.to_string()),
            ..Session::default()
        }
    }

    /// The session with the process id its client got at startup.
    pub fn with_pid(mut self, pid: i32) -> Session {
        self.pid = pid;
        self
    }

    /// `pg_backend_pid()`: the process id the client got at startup (0 outside one).
    pub fn backend_pid(&self) -> i32 {
        self.pid
    }

    /// Starts taking data for `copy`.
    pub(crate) fn begin_copy_in(&self, copy: crate::handler::CopyIn) {
        *self.copy_in.lock().unwrap_or_else(|p| p.into_inner()) = Some((copy, Vec::new()));
    }

    /// Appends data of the COPY FROM in progress; refused past what one COPY takes.
    pub(crate) fn copy_in_data(&self, bytes: &[u8]) -> Result<()> {
        let mut copy = self.copy_in.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, data)) = copy.as_mut() else {
            return Err(SqlError::Internal("COPY data without a COPY FROM".into()));
        };
        if data.len() + bytes.len() > crate::handler::MAX_COPY_IN_BYTES {
            *copy = None;
            return Err(SqlError::CopyData {
                sqlstate: "54000",
                message: format!(
                    "COPY FROM data is larger than {} MiB; split it into several COPY statements",
                    crate::handler::MAX_COPY_IN_BYTES >> 20
                ),
            });
        }
        data.extend_from_slice(bytes);
        Ok(())
    }

    /// Ends the COPY FROM in progress: its statement and data.
    pub(crate) fn take_copy_in(&self) -> Option<(crate::handler::CopyIn, Vec<u8>)> {
        self.copy_in
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Whether a `BEGIN STATEMENT SET` is collecting INSERTs.
    pub fn statement_set_open(&self) -> bool {
        self.statement_set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The session's time zone (TimeZone, table.local-time-zone).
    pub fn time_zone(&self) -> Zone {
        self.pg_variable("timezone")
            .and_then(|z| Zone::parse(&z))
            .unwrap_or_else(Zone::utc)
    }

    /// Where unqualified names resolve: Flink's current catalog and database.
    pub fn current_database(&self) -> DatabaseName {
        self.lock()
            .current
            .clone()
            .unwrap_or_else(DatabaseName::default_database)
    }

    /// `USE CATALOG` / `USE db`: the caller has checked that the database exists.
    pub fn use_database(&self, database: DatabaseName) {
        let mut state = self.lock();
        state.current = Some(database);
        // The search path a client reads is the current database from now on.
        state.pg.remove("search_path");
    }

    /// The loaded modules in resolution order, each with whether it is used.
    pub fn modules(&self) -> Vec<(String, bool)> {
        self.lock()
            .modules
            .clone()
            .unwrap_or_else(|| vec![("core".to_string(), true)])
    }

    /// `USE MODULES`: `names` (loaded, checked by the caller) are used, in that order, and
    /// the other loaded ones are not.
    pub fn use_modules(&self, names: &[String]) {
        let loaded = self.modules();
        let mut next: Vec<(String, bool)> = names.iter().map(|n| (n.clone(), true)).collect();
        next.extend(
            loaded
                .into_iter()
                .filter(|(n, _)| !names.contains(n))
                .map(|(n, _)| (n, false)),
        );
        self.lock().modules = Some(next);
    }

    /// A name as written, made full with the current catalog and database.
    pub fn resolve(&self, path: &ObjectPath) -> ObjectName {
        path.resolve(&self.current_database())
    }

    /// The user the client connected as.
    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or(crate::pg_catalog::ROLE_NAME)
    }

    /// The session's own settings, to layer over the process configuration.
    pub fn config(&self) -> Configuration {
        self.lock().config.clone()
    }

    /// `SET key = value`: Flink keys are checked against the registry; PostgreSQL
    /// variables are accepted as drivers expect.
    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        let lower = key.to_ascii_lowercase();
        // Flink's table.local-time-zone and PostgreSQL's TimeZone are one setting.
        if lower == "timezone" || lower == LOCAL_TIME_ZONE.key {
            if Zone::parse(value).is_none() {
                return Err(SqlError::InvalidParameter(format!(
                    "invalid value for parameter \"{key}\": \"{value}\" (a time zone is an IANA name such as 'Asia/Shanghai', or an offset such as 'GMT+08:00')"
                )));
            }
            let mut s = self.lock();
            s.config.set(LOCAL_TIME_ZONE.key, value)?;
            s.pg.insert("timezone".into(), value.to_string());
            return Ok(());
        }
        if is_sensitive(key) {
            return Err(SqlError::InvalidParameter(format!(
                "'{key}' cannot be set in a session: it is a secret of the server, set in its configuration file"
            )));
        }
        if find_option(key).is_some() {
            return Ok(self.lock().config.set(key, value)?);
        }
        if PG_VARIABLES.iter().any(|(k, _)| *k == lower) {
            if lower == "statement_timeout" || lower == "idle_in_transaction_session_timeout" {
                parse_pg_duration(value).map_err(|why| {
                    SqlError::InvalidParameter(format!(
                        "invalid value for parameter \"{lower}\": \"{value}\" ({why})"
                    ))
                })?;
            }
            self.lock().pg.insert(lower, value.to_string());
            return Ok(());
        }
        Err(SqlError::UndefinedParameter(format!(
            "unrecognized configuration parameter \"{key}\"; SET lists Eddy's keys"
        )))
    }

    /// `RESET key`, or every key.
    pub fn reset(&self, key: Option<&str>) -> Result<()> {
        let mut s = self.lock();
        match key {
            None => {
                // As Flink's RESET: settings go back, the current catalog and database stay.
                let current = s.current.take();
                let modules = s.modules.take();
                *s = State {
                    current,
                    modules,
                    ..State::default()
                };
                Ok(())
            }
            Some(k)
                if k.eq_ignore_ascii_case("timezone")
                    || k.eq_ignore_ascii_case(LOCAL_TIME_ZONE.key) =>
            {
                s.pg.remove("timezone");
                Ok(s.config.reset(LOCAL_TIME_ZONE.key)?)
            }
            Some(k) if find_option(k).is_some() => Ok(s.config.reset(k)?),
            Some(k) if PG_VARIABLES.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)) => {
                s.pg.remove(&k.to_ascii_lowercase());
                Ok(())
            }
            Some(k) => Err(SqlError::UndefinedParameter(format!(
                "unrecognized configuration parameter \"{k}\""
            ))),
        }
    }

    /// PostgreSQL's `statement_timeout`, with the text it was set to; `None` when 0.
    pub fn statement_timeout(&self) -> Option<(Duration, String)> {
        self.pg_timeout("statement_timeout")
    }

    /// PostgreSQL's `idle_in_transaction_session_timeout`; `None` when 0.
    pub fn idle_in_transaction_timeout(&self) -> Option<Duration> {
        self.pg_timeout("idle_in_transaction_session_timeout")
            .map(|(d, _)| d)
    }

    fn pg_timeout(&self, name: &str) -> Option<(Duration, String)> {
        let text = self.pg_variable(name)?;
        match parse_pg_duration(&text) {
            Ok(d) if !d.is_zero() => Some((d, text)),
            _ => None,
        }
    }

    /// A PostgreSQL variable's value (`SHOW name`).
    /// Every PostgreSQL setting as this session has it: its own `SET` values over the
    /// defaults, by lower-case name.
    pub fn pg_settings(&self) -> Vec<(String, String)> {
        let own = self.lock().pg.clone();
        let mut all: BTreeMap<String, String> = PG_VARIABLES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        all.insert("search_path".into(), self.current_database().database);
        all.extend(own);
        all.into_iter().collect()
    }

    pub fn pg_variable(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase().replace(' ', "");
        let lower = if lower == "timezone" {
            "timezone".to_string()
        } else {
            lower
        };
        if let Some(v) = self.lock().pg.get(&lower) {
            return Some(v.clone());
        }
        // The schema a client sees is Flink's current database (docs/postgres.md).
        if lower == "search_path" {
            return Some(self.current_database().database);
        }
        PG_VARIABLES
            .iter()
            .find(|(k, _)| *k == lower)
            .map(|(_, v)| v.to_string())
    }
}

/// A PostgreSQL time setting: a number of milliseconds, or a number with a unit (`us`,
/// `ms`, `s`, `min`, `h`, `d`), as in `SET statement_timeout = '5s'`.
fn parse_pg_duration(value: &str) -> std::result::Result<Duration, String> {
    let v = value.trim().to_ascii_lowercase();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected milliseconds or a number with a unit such as '5s'".to_string())?;
    let ms_per_unit = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        other => {
            return Err(format!(
                "valid units are \"us\", \"ms\", \"s\", \"min\", \"h\" and \"d\", not \"{other}\""
            ))
        }
    };
    let ms = n * ms_per_unit;
    if !ms.is_finite() || ms < 0.0 || ms > i32::MAX as f64 {
        return Err(format!(
            "{value} is outside the valid range 0 .. {} ms",
            i32::MAX
        ));
    }
    Ok(Duration::from_micros((ms * 1000.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeouts_read_as_postgresql_reads_them() {
        assert_eq!(parse_pg_duration("5000").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_pg_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(
            parse_pg_duration("2 min").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_pg_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_pg_duration("5 parsecs").is_err());
        assert!(parse_pg_duration("-1").is_err());
        let s = Session::default();
        assert!(s.statement_timeout().is_none());
        s.set("statement_timeout", "250ms").unwrap();
        assert_eq!(s.statement_timeout().unwrap().0, Duration::from_millis(250));
        assert_eq!(
            s.set("statement_timeout", "soon").unwrap_err().sqlstate(),
            "22023"
        );
        s.set("statement_timeout", "0").unwrap();
        assert!(s.statement_timeout().is_none());
    }
}
