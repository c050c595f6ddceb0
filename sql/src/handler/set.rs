//! SET and RESET.

use eddy_runtime::config::all_options;

use super::rows::{table, text};
use crate::catalog::DatabaseName;
use crate::engine::{Engine, QueryOutput};
use crate::error::Result;
use crate::session::Session;

pub(super) async fn set(
    engine: &Engine,
    session: &Session,
    kv: Option<(String, String)>,
) -> Result<QueryOutput> {
    match kv {
        Some((k, v)) if k.eq_ignore_ascii_case("search_path") => {
            // A PostgreSQL schema is a Flink database: the first schema of the path that
            // is a database of the current catalog becomes the current one, as USE does.
            // A path naming none is kept as PostgreSQL keeps it.
            let current = session.current_database();
            let found = {
                let catalog = engine.catalog.read().await;
                let databases = catalog.catalog(&current.catalog)?;
                // Unquoted names fold to lower case, as PostgreSQL reads the path.
                v.split(',')
                    .map(|s| s.trim())
                    .map(
                        |s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                            Some(quoted) => quoted.to_string(),
                            None => s.to_lowercase(),
                        },
                    )
                    .find(|s| databases.databases.contains_key(s))
                    .map(|d| DatabaseName::new(&current.catalog, &d))
            };
            match found {
                Some(database) => session.use_database(database),
                None => session.set(&k, &v)?,
            }
            Ok(QueryOutput::Command("SET".into()))
        }
        Some((k, v)) => {
            session.set(&k, &v)?;
            Ok(QueryOutput::Command("SET".into()))
        }
        None => {
            let config = engine.effective_config(session);
            let rows = all_options()
                .into_iter()
                .map(|o| vec![text(o.key), text(config.get_string(o))])
                .collect();
            table(&["key", "value"], rows)
        }
    }
}

pub(super) fn reset(session: &Session, key: Option<&str>) -> Result<QueryOutput> {
    session.reset(key)?;
    Ok(QueryOutput::Command("RESET".into()))
}
