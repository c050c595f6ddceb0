//! EXPLAIN: the streaming plan for INSERT and statement sets (and SELECTs over unbounded
//! tables), DataFusion's logical and physical plans for batch SELECTs.

use datafusion::physical_plan::displayable;
use eddy_planner::{explain as explain_graph, is_unbounded_plan, plan_collect};

use super::rows::{table, text};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::Statement;
use crate::session::Session;

fn lines(plan: String) -> Result<QueryOutput> {
    table(&["plan"], plan.lines().map(|l| vec![text(l)]).collect())
}

pub(super) async fn explain(
    engine: &Engine,
    session: &Session,
    statement: Statement,
    text: &str,
) -> Result<QueryOutput> {
    match statement {
        Statement::Insert(insert) => {
            let graph = super::insert::build_job(engine, session, &[insert.as_ref()], text).await?;
            lines(explain_graph(&graph))
        }
        Statement::StatementSet(entries) => {
            let inserts: Vec<_> = entries.iter().map(|e| e.insert.as_ref()).collect();
            let graph = super::insert::build_job(engine, session, &inserts, text).await?;
            lines(explain_graph(&graph))
        }
        Statement::Query(query) => {
            let super::query::PlannedQuery { ctx, plan, .. } =
                super::query::plan_query(engine, session, *query, None).await?;
            if is_unbounded_plan(&plan) {
                let config = engine.effective_config(session);
                let optimized = ctx.state().optimize(&plan)?;
                let graph = plan_collect(
                    &ctx.state(),
                    &optimized,
                    "explain",
                    engine.result_address.as_deref(),
                    &config,
                    text.to_string(),
                )?;
                return lines(explain_graph(&graph));
            }
            let optimized = ctx.state().optimize(&plan)?;
            let physical = ctx.state().create_physical_plan(&optimized).await?;
            let mut out = String::from("== Logical Plan ==\n");
            out.push_str(&optimized.display_indent().to_string());
            out.push_str("\n== Physical Plan ==\n");
            out.push_str(&displayable(physical.as_ref()).indent(true).to_string());
            lines(out)
        }
        _ => Err(SqlError::NotSupported(
            "EXPLAIN supports queries, INSERT and statement sets".into(),
        )),
    }
}
