//! A client session: its configuration overrides (Flink's `SET 'k' = 'v'`) and the
//! PostgreSQL variables drivers set (`client_encoding`, `DateStyle`, ...).

use std::collections::BTreeMap;
use std::sync::Mutex;

use eddy_runtime::config::{find_option, Configuration};

use crate::error::{Result, SqlError};

/// PostgreSQL settings drivers and tools set or read; accepted and echoed, not enforced.
const PG_VARIABLES: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("datestyle", "ISO, MDY"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("search_path", "public"),
    ("server_encoding", "UTF8"),
    ("server_version", "15.0 (Eddy)"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
];

#[derive(Debug, Default)]
struct State {
    config: Configuration,
    pg: BTreeMap<String, String>,
}

/// Per-connection state. Locked only while a statement reads or changes settings.
#[derive(Debug, Default)]
pub struct Session {
    state: Mutex<State>,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session's own settings, to layer over the process configuration.
    pub fn config(&self) -> Configuration {
        self.lock().config.clone()
    }

    /// `SET key = value`: Flink keys are checked against the registry; PostgreSQL
    /// variables are accepted as drivers expect.
    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        let lower = key.to_ascii_lowercase();
        if find_option(key).is_some() {
            return Ok(self.lock().config.set(key, value)?);
        }
        if PG_VARIABLES.iter().any(|(k, _)| *k == lower) {
            self.lock().pg.insert(lower, value.to_string());
            return Ok(());
        }
        Err(SqlError::InvalidParameter(format!(
            "unknown configuration key '{key}'; SET lists the known keys"
        )))
    }

    /// `RESET key`, or every key.
    pub fn reset(&self, key: Option<&str>) -> Result<()> {
        let mut s = self.lock();
        match key {
            None => {
                *s = State::default();
                Ok(())
            }
            Some(k) if find_option(k).is_some() => Ok(s.config.reset(k)?),
            Some(k) if PG_VARIABLES.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)) => {
                s.pg.remove(&k.to_ascii_lowercase());
                Ok(())
            }
            Some(k) => Err(SqlError::InvalidParameter(format!(
                "unknown configuration key '{k}'"
            ))),
        }
    }

    /// A PostgreSQL variable's value (`SHOW name`).
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
        PG_VARIABLES
            .iter()
            .find(|(k, _)| *k == lower)
            .map(|(_, v)| v.to_string())
    }
}
