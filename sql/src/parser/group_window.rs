//! Flink's legacy group windows: `GROUP BY k, SESSION(ts, gap)` (or `TUMBLE(ts, size)`,
//! `HOP(ts, slide, size)`) with `SESSION_START(ts, gap)`, `SESSION_END(...)` and
//! `SESSION_ROWTIME(...)` in the select list, as Flink's Nexmark q11 is written. Rewritten on
//! the AST into the window TVF they mean: the FROM table becomes the TVF over it (SESSION
//! partitioned by the other grouping keys), the window call in GROUP BY becomes
//! `window_start, window_end`, and the `_START` / `_END` / `_ROWTIME` / `_PROCTIME` calls
//! become `window_start` / `window_end` / `window_time`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, Query, Select, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::normalize_ident;
use crate::error::{Result, SqlError};

const WINDOWS: [&str; 3] = ["TUMBLE", "HOP", "SESSION"];

/// Rewrites every SELECT of `statement` that groups by a legacy group window.
pub fn rewrite_group_windows(statement: &mut Statement) -> Result<()> {
    let mut rewriter = Rewriter { error: None };
    let _ = statement.visit(&mut rewriter);
    match rewriter.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Rewriter {
    error: Option<SqlError>,
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            if let Err(e) = rewrite_select(select) {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn function_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn function_args(expr: &Expr) -> Vec<Expr> {
    let Expr::Function(f) = expr else {
        return Vec::new();
    };
    let FunctionArguments::List(list) = &f.args else {
        return Vec::new();
    };
    list.args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The column a plain (possibly qualified) column reference names.
fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(normalize_ident(i)),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
        _ => None,
    }
}

fn rewrite_select(select: &mut Select) -> Result<()> {
    let GroupByExpr::Expressions(group_by, _) = &mut select.group_by else {
        return Ok(());
    };
    let Some(position) = group_by
        .iter()
        .position(|g| function_name(g).is_some_and(|n| WINDOWS.contains(&n.as_str())))
    else {
        return Ok(());
    };
    let window = group_by.remove(position);
    let kind = function_name(&window).unwrap_or_default();
    let args = function_args(&window);
    let usage = || {
        SqlError::Syntax(format!(
            "GROUP BY {kind}(...) must be written {kind}(time_column, interval...) over a single table or view"
        ))
    };
    let time = args.first().and_then(column_name).ok_or_else(usage)?;
    let intervals: Vec<String> = args[1..].iter().map(|a| a.to_string()).collect();
    if intervals.is_empty() {
        return Err(usage());
    }
    let mut keys = Vec::new();
    for g in group_by.iter() {
        keys.push(column_name(g).ok_or_else(|| {
            SqlError::NotSupported(format!(
                "GROUP BY {g} beside a {kind} group window: only columns are supported"
            ))
        })?);
    }
    group_by.insert(position, Expr::Identifier(Ident::new("window_start")));
    group_by.insert(position + 1, Expr::Identifier(Ident::new("window_end")));

    let [from] = select.from.as_mut_slice() else {
        return Err(usage());
    };
    if !from.joins.is_empty() {
        return Err(usage());
    }
    let TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = &from.relation
    else {
        return Err(usage());
    };
    let parts = name
        .0
        .iter()
        .map(|p| p.as_ident().map(normalize_ident))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(usage)?;
    // All of it: `shop.bids` is not the current database's `bids`.
    let table = super::qualified_name(&parts);
    let literal = |s: &str| Token::SingleQuotedString(s.to_string()).to_string();
    let mut call_args = vec![literal(&table), literal(&time)];
    call_args.extend(intervals);
    if kind == "SESSION" && !keys.is_empty() {
        call_args.push(literal(&keys.join(",")));
    }
    let call = format!("{}({})", kind.to_ascii_lowercase(), call_args.join(", "));
    let mut relation = Parser::new(&super::DIALECT)
        .try_with_sql(&call)?
        .parse_table_factor()?;
    if let TableFactor::Table { alias: a, .. } = &mut relation {
        *a = alias.clone();
    }
    from.relation = relation;

    // The auxiliary functions name the window's columns.
    let replace = |e: &mut Expr| {
        if let Some(name) = function_name(e) {
            let column = match name.strip_prefix(&format!("{kind}_")) {
                Some("START") => Some("window_start"),
                Some("END") => Some("window_end"),
                Some("ROWTIME") | Some("PROCTIME") => Some("window_time"),
                _ => None,
            };
            if let Some(c) = column {
                *e = Expr::Identifier(Ident::new(c));
            }
        }
        ControlFlow::<()>::Continue(())
    };
    let _ = visit_expressions_mut(&mut select.projection, replace);
    if let Some(having) = &mut select.having {
        let _ = visit_expressions_mut(having, replace);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&super::super::DIALECT, sql)
            .unwrap()
            .remove(0);
        rewrite_group_windows(&mut s).unwrap();
        s.to_string()
    }

    #[test]
    fn nexmark_q11_becomes_a_session_tvf() {
        assert_eq!(
            rewritten(
                "SELECT B.bidder, count(*) as bid_count, SESSION_START(B.dateTime, INTERVAL '10' SECOND) as starttime, SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime FROM bid B GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)"
            ),
            "SELECT B.bidder, count(*) AS bid_count, window_start AS starttime, window_end AS endtime FROM session('bid', 'datetime', INTERVAL '10' SECOND, 'bidder') B GROUP BY B.bidder, window_start, window_end"
        );
        assert_eq!(
            rewritten("SELECT TUMBLE_END(ts, INTERVAL '1' MINUTE), count(*) FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE)"),
            "SELECT window_end, count(*) FROM tumble('t', 'ts', INTERVAL '1' MINUTE) GROUP BY window_start, window_end"
        );
        assert_eq!(
            rewritten("SELECT a FROM t GROUP BY a"),
            "SELECT a FROM t GROUP BY a"
        );
    }
}
