//! SET and RESET.

use eddy_runtime::config::all_options;

use super::rows::{table, text};
use crate::engine::{Engine, QueryOutput};
use crate::error::Result;
use crate::session::Session;

pub(super) fn set(
    engine: &Engine,
    session: &Session,
    kv: Option<(String, String)>,
) -> Result<QueryOutput> {
    match kv {
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
