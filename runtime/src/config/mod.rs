//! Configuration: every key Eddy understands, declared once with Flink's name, default and
//! doc, plus [`Configuration`], the validated key → value map built from the YAML file,
//! `-D` flags and session `SET`s.
//!
//! One file per Flink options class: [`core`], [`pipeline`], [`execution`], [`task_manager`],
//! [`table`], [`endpoint`], [`job_store`], [`state`], [`python`], and [`cluster`] for the standalone
//! processes.

pub mod checkpointing;
pub mod cluster;
pub mod core;
pub mod endpoint;
pub mod execution;
pub mod flink_client;
pub mod flink_optimizer;
pub mod flink_table;
pub mod job_store;
pub mod pipeline;
pub mod python;
pub mod restart;
pub mod state;
pub mod table;
pub mod task_manager;
mod value;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use value::{parse_bool, parse_duration, parse_memory_size};

use crate::error::{Result, RuntimeError};

/// The type of a configuration value, used to validate it when it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An integer within `min..=max`: bounds keep a setting from sizing a buffer, a channel or
    /// a job graph beyond what the machine can hold.
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    /// A non-negative number such as a backoff multiplier.
    Float,
    Duration,
    /// A duration, or empty for "not set" (Flink options without a default, such as
    /// `execution.checkpointing.interval`).
    OptionalDuration,
    String,
    MemorySize,
    /// One of a fixed set of words (case-insensitive).
    Enum(&'static [&'static str]),
}

/// A declared configuration key (Flink's `ConfigOption`).
#[derive(Debug, Clone, Copy)]
pub struct ConfigOption {
    pub key: &'static str,
    pub default: &'static str,
    pub kind: ValueKind,
    pub description: &'static str,
}

impl ConfigOption {
    /// Checks that `value` parses as this option's kind.
    pub fn validate(&self, value: &str) -> Result<()> {
        let bad = |why: String| {
            RuntimeError::User(format!(
                "invalid value '{value}' for configuration key '{}': {why}",
                self.key
            ))
        };
        match self.kind {
            ValueKind::Int { min, max } => match value.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                Ok(_) => Err(bad(format!("expected an integer from {min} to {max}"))),
                Err(e) => Err(bad(e.to_string())),
            },
            ValueKind::Bool => parse_bool(value).map(|_| ()).map_err(bad),
            ValueKind::Float => match value.trim().parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => Ok(()),
                _ => Err(bad("expected a non-negative number".into())),
            },
            ValueKind::Duration => parse_duration(value).map(|_| ()).map_err(bad),
            ValueKind::OptionalDuration if value.trim().is_empty() => Ok(()),
            ValueKind::OptionalDuration => parse_duration(value).map(|_| ()).map_err(bad),
            ValueKind::MemorySize => parse_memory_size(value).map(|_| ()).map_err(bad),
            ValueKind::String => Ok(()),
            ValueKind::Enum(words) => {
                if words.iter().any(|w| w.eq_ignore_ascii_case(value.trim())) {
                    Ok(())
                } else {
                    Err(bad(format!("expected one of {}", words.join(", "))))
                }
            }
        }
    }
}

/// Every key Eddy accepts, in the order the docs list them.
pub fn all_options() -> Vec<&'static ConfigOption> {
    let mut all = Vec::new();
    all.extend(checkpointing::OPTIONS);
    all.extend(cluster::OPTIONS);
    all.extend(core::OPTIONS);
    all.extend(endpoint::OPTIONS);
    all.extend(execution::OPTIONS);
    all.extend(flink_table::OPTIONS);
    all.extend(flink_optimizer::OPTIONS);
    all.extend(flink_client::OPTIONS);
    all.extend(job_store::OPTIONS);
    all.extend(pipeline::OPTIONS);
    all.extend(python::OPTIONS);
    all.extend(restart::OPTIONS);
    all.extend(state::OPTIONS);
    all.extend(table::OPTIONS);
    all.extend(task_manager::OPTIONS);
    all
}

/// Looks a key up in the registry. `sql-gateway.endpoint.pg.users.<name>.password` stands
/// for one key per user name.
pub fn find_option(key: &str) -> Option<&'static ConfigOption> {
    if user_of_password_key(key).is_some() {
        return Some(&endpoint::PG_USER_PASSWORD);
    }
    all_options().into_iter().find(|o| o.key == key)
}

/// The user a `sql-gateway.endpoint.pg.users.<name>.password` key names.
fn user_of_password_key(key: &str) -> Option<&str> {
    key.strip_prefix(endpoint::PG_USERS_PREFIX)?
        .strip_suffix(endpoint::PG_USERS_SUFFIX)
        .filter(|name| !name.is_empty())
}

/// Keys whose values are secrets: never shown, never sent with a job, never set by a
/// session (Flink hides such keys in its logs and web UI the same way).
pub fn is_sensitive(key: &str) -> bool {
    key == endpoint::REST_AUTH_TOKEN.key || user_of_password_key(key).is_some()
}

/// A set of configuration values, validated against the registry. Unset keys read as their
/// declared default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    values: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration: every key at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key after checking that it exists and that the value parses.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let option = find_option(key).ok_or_else(|| {
            RuntimeError::User(format!(
                "unknown configuration key '{key}'; SET lists the known keys"
            ))
        })?;
        option.validate(value)?;
        self.values
            .insert(key.to_string(), value.trim().to_string());
        Ok(())
    }

    /// Removes an explicit value so the key reads as its default again.
    pub fn reset(&mut self, key: &str) -> Result<()> {
        if find_option(key).is_none() {
            return Err(RuntimeError::User(format!(
                "unknown configuration key '{key}'"
            )));
        }
        self.values.remove(key);
        Ok(())
    }

    /// Layers `other` over `self`: keys set in `other` win.
    pub fn merged_with(&self, other: &Configuration) -> Configuration {
        let mut values = self.values.clone();
        values.extend(other.values.clone());
        Configuration { values }
    }

    /// This configuration without its secrets ([`is_sensitive`]): what a job or a session
    /// may see.
    pub fn without_secrets(&self) -> Configuration {
        Configuration {
            values: self
                .values
                .iter()
                .filter(|(k, _)| !is_sensitive(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Users and passwords set with `sql-gateway.endpoint.pg.users.<name>.password`.
    pub fn user_passwords(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter_map(|(k, v)| Some((user_of_password_key(k)?.to_string(), v.clone())))
            .collect()
    }

    /// The explicitly set keys.
    pub fn explicit(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The value of a key as a string, falling back to the declared default.
    pub fn get_string(&self, option: &ConfigOption) -> String {
        self.values
            .get(option.key)
            .cloned()
            .unwrap_or_else(|| option.default.to_string())
    }

    /// An integer option. Values were validated when set, so a parse failure can only
    /// come from a bad default, which is a bug.
    pub fn get_int(&self, option: &ConfigOption) -> i64 {
        self.get_string(option).trim().parse().unwrap_or_else(|_| {
            tracing::error!(key = option.key, "unparsable integer option; using 0");
            0
        })
    }

    /// A boolean option.
    pub fn get_bool(&self, option: &ConfigOption) -> bool {
        parse_bool(&self.get_string(option)).unwrap_or(false)
    }

    /// A duration option.
    pub fn get_duration(&self, option: &ConfigOption) -> Duration {
        parse_duration(&self.get_string(option)).unwrap_or(Duration::ZERO)
    }

    /// An optional duration: `None` when unset or empty.
    pub fn get_optional_duration(&self, option: &ConfigOption) -> Option<Duration> {
        let text = self.get_string(option);
        match text.trim() {
            "" => None,
            t => parse_duration(t).ok(),
        }
    }

    /// A floating-point option (validated when set).
    pub fn get_float(&self, option: &ConfigOption) -> f64 {
        self.get_string(option).trim().parse().unwrap_or(0.0)
    }

    /// A memory size option, in bytes.
    pub fn get_memory_size(&self, option: &ConfigOption) -> u64 {
        parse_memory_size(&self.get_string(option)).unwrap_or(0)
    }

    /// Every key with its effective value and whether it was set explicitly.
    pub fn effective(&self) -> Vec<(&'static ConfigOption, String, bool)> {
        all_options()
            .into_iter()
            .map(|o| (o, self.get_string(o), self.values.contains_key(o.key)))
            .collect()
    }
}

/// Renders the registry as a Markdown table (the generated configuration docs).
pub fn options_markdown() -> String {
    let mut out = String::from("| key | default | description |\n|---|---|---|\n");
    for o in all_options() {
        out.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            o.key, o.default, o.description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_validates_key_and_value() {
        let mut c = Configuration::new();
        c.set("parallelism.default", "4").unwrap();
        assert_eq!(c.get_int(&core::DEFAULT_PARALLELISM), 4);
        assert!(c.set("parallelism.default", "four").is_err());
        assert!(c.set("no.such.key", "1").is_err());
        c.set("execution.buffer-timeout", "250 ms").unwrap();
        assert_eq!(
            c.get_duration(&execution::BUFFER_TIMEOUT),
            Duration::from_millis(250)
        );
        c.reset("parallelism.default").unwrap();
        assert_eq!(c.get_int(&core::DEFAULT_PARALLELISM), 1);
    }

    #[test]
    fn user_passwords_are_secrets() {
        let mut c = Configuration::new();
        c.set("sql-gateway.endpoint.pg.users.alice.password", "a")
            .unwrap();
        c.set("sql-gateway.endpoint.pg.users.bob.password", "b")
            .unwrap();
        c.set("rest.auth.token", "t").unwrap();
        c.set("parallelism.default", "2").unwrap();
        assert!(c
            .set("sql-gateway.endpoint.pg.users..password", "x")
            .is_err());
        assert!(c.set("sql-gateway.endpoint.pg.users.alice", "x").is_err());
        assert_eq!(
            c.user_passwords(),
            vec![("alice".into(), "a".into()), ("bob".into(), "b".into())]
        );
        let public = c.without_secrets();
        assert_eq!(public.explicit().len(), 1);
        assert_eq!(public.get_int(&core::DEFAULT_PARALLELISM), 2);
    }

    #[test]
    fn defaults_parse() {
        for o in all_options() {
            o.validate(o.default).unwrap();
        }
    }

    #[test]
    fn docs_are_current() {
        let committed = include_str!("../../../docs/configuration.md");
        assert!(
            committed.contains(&options_markdown()),
            "docs/configuration.md is stale: regenerate it with `eddy config-docs`"
        );
    }
}
