//! Flink's type names in queries' casts that DataFusion does not know, before PostgreSQL's
//! OID types: `CAST(ts AS TIMESTAMP_LTZ(3))` is a timestamp with the session's time zone,
//! so a TIMESTAMP is read as a time of day there, as Flink reads it.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::error::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast;

use crate::session::Zone;

/// Plans Flink's types, then PostgreSQL's OID types.
#[derive(Debug)]
pub(crate) struct EddyTypes {
    /// The session's zone, as Arrow names it.
    zone: String,
    postgres: Arc<dyn TypePlanner>,
}

impl EddyTypes {
    pub fn new(zone: Zone, postgres: Arc<dyn TypePlanner>) -> Self {
        Self {
            zone: zone.arrow_name(),
            postgres,
        }
    }
}

/// A type as Flink writes it, for the catalog's type parser: sqlparser prints a map as
/// `Map(K, V)`, its pre-pass form.
fn flink_text(t: &ast::DataType) -> String {
    match t {
        ast::DataType::Map(key, value) => {
            format!("MAP<{}, {}>", flink_text(key), flink_text(value))
        }
        ast::DataType::Array(ast::ArrayElemTypeDef::AngleBracket(inner)) => {
            format!("ARRAY<{}>", flink_text(inner))
        }
        other => other.to_string(),
    }
}

/// The Arrow unit that holds a Flink precision's digits, as the catalog's types have it.
fn unit(precision: u64) -> TimeUnit {
    match precision {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

impl TypePlanner for EddyTypes {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> Result<Option<FieldRef>> {
        if let ast::DataType::Custom(name, args) = sql_type {
            let is_ltz = name.0.len() == 1
                && name.0[0]
                    .as_ident()
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("TIMESTAMP_LTZ"));
            if is_ltz {
                // Flink's default precision is 6; more than 9 digits do not exist.
                let precision = match args.as_slice() {
                    [] => 6,
                    [p] => match p.parse::<u64>() {
                        Ok(p) if p <= 9 => p,
                        _ => {
                            return Err(datafusion::error::DataFusionError::Plan(format!(
                                "TIMESTAMP_LTZ precision must be between 0 and 9, not {p}"
                            )))
                        }
                    },
                    _ => {
                        return Err(datafusion::error::DataFusionError::Plan(
                            "TIMESTAMP_LTZ takes one precision".into(),
                        ))
                    }
                };
                let t = DataType::Timestamp(unit(precision), Some(self.zone.as_str().into()));
                return Ok(Some(Arc::new(Field::new("", t, true))));
            }
        }
        // Flink's BYTES (DataFusion knows BYTEA and VARBINARY only).
        if let ast::DataType::Bytes(_) = sql_type {
            return Ok(Some(Arc::new(Field::new("", DataType::Binary, true))));
        }
        // `MAP<K, V>`, which the parser's pre-pass hands over as `MAP(K, V)`: planned as
        // the catalog plans the type in a column.
        if let ast::DataType::Map(..) = sql_type {
            let text = flink_text(sql_type);
            let mut parser =
                datafusion::sql::sqlparser::parser::Parser::new(&crate::parser::DIALECT)
                    .try_with_sql(&text)
                    .map_err(|e| datafusion::error::DataFusionError::Plan(e.to_string()))?;
            let flink = crate::parser::parse_type(&mut parser)
                .map_err(|e| datafusion::error::DataFusionError::Plan(e.to_string()))?;
            return Ok(Some(Arc::new(Field::new("", flink.to_arrow(), true))));
        }
        self.postgres.plan_type_field(sql_type)
    }
}
