//! EXPLAIN: the streaming plan for INSERT and statement sets (and SELECTs over unbounded
//! tables), DataFusion's logical and physical plans for batch SELECTs, with Flink's
//! details: CHANGELOG_MODE (what each vertex's output carries), JSON_EXECUTION_PLAN,
//! ESTIMATED_COST and PLAN_ADVICE (Eddy has neither a cost model nor an advisor, and
//! says so).

use datafusion::physical_plan::displayable;
use eddy_planner::{explain as explain_graph, json_plan, plan_collect};
use eddy_runtime::jobgraph::JobGraph;

use super::rows::{table, text};
use crate::engine::{Engine, QueryOutput};
use crate::error::{Result, SqlError};
use crate::parser::{ExplainDetails, Statement};
use crate::session::Session;

fn lines(plan: String) -> Result<QueryOutput> {
    table(&["plan"], plan.lines().map(|l| vec![text(l)]).collect())
}

/// The sections every plan gets for the details asked.
fn details_text(details: &ExplainDetails, graph: Option<&JobGraph>) -> String {
    let mut out = String::new();
    if details.json_execution_plan {
        match graph {
            Some(g) => {
                out.push_str("== Physical Execution Plan ==\n");
                out.push_str(&json_plan(g));
                out.push('\n');
            }
            None => out.push_str("== Physical Execution Plan ==\nnot applicable: a batch query runs in one process as the plan above, not as a job graph\n"),
        }
    }
    if details.estimated_cost {
        out.push_str("== Estimated Cost ==\nnot applicable: Eddy has no cost-based optimizer; it plans from the query's shape\n");
    }
    if details.plan_advice {
        out.push_str("== Plan Advice ==\nNo available advice...\n");
    }
    out
}

fn graph_lines(graph: &JobGraph, details: &ExplainDetails) -> Result<QueryOutput> {
    let mut out = explain_graph(graph, details.changelog_mode);
    out.push_str(&details_text(details, Some(graph)));
    lines(out)
}

pub(super) async fn explain(
    engine: &Engine,
    session: &Session,
    statement: Statement,
    details: &ExplainDetails,
    text: &str,
) -> Result<QueryOutput> {
    match statement {
        Statement::Insert(insert) => {
            let graph = super::insert::build_job(engine, session, &[insert.as_ref()], text).await?;
            graph_lines(&graph, details)
        }
        Statement::StatementSet(entries) => {
            let inserts: Vec<_> = entries.iter().map(|e| e.insert.as_ref()).collect();
            let graph = super::insert::build_job(engine, session, &inserts, text).await?;
            graph_lines(&graph, details)
        }
        Statement::Query(query) => {
            let super::query::PlannedQuery {
                ctx,
                plan,
                streaming,
                ..
            } = super::query::plan_query(engine, session, *query, None).await?;
            if streaming {
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
                return graph_lines(&graph, details);
            }
            let optimized = ctx.state().optimize(&plan)?;
            let physical = ctx.state().create_physical_plan(&optimized).await?;
            let mut out = String::from("== Logical Plan ==\n");
            out.push_str(&optimized.display_indent().to_string());
            out.push_str("\n== Physical Plan ==\n");
            out.push_str(&displayable(physical.as_ref()).indent(true).to_string());
            if details.changelog_mode {
                out.push_str("\n== Changelog Mode ==\na batch query's result is insert-only: changelogMode=[I]\n");
            }
            out.push_str(&details_text(details, None));
            lines(out)
        }
        Statement::CreateMaterializedView {
            name,
            query,
            if_not_exists,
            freshness,
            table,
            options,
            partition_keys,
        } => {
            let def = super::materialized::Definition {
                name,
                query,
                if_not_exists,
                freshness,
                flink_table: table,
                options,
                partition_keys,
            };
            let graph = super::materialized::explain(engine, session, def).await?;
            graph_lines(&graph, details)
        }
        _ => Err(SqlError::NotSupported(
            "EXPLAIN supports queries, INSERT, statement sets and CREATE MATERIALIZED VIEW / TABLE"
                .into(),
        )),
    }
}
