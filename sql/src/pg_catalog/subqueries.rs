//! Client catalog queries DataFusion cannot plan as written, rewritten into the same
//! answers for Eddy's catalog:
//! - a correlated scalar subquery that is not aggregated, as SQLAlchemy's `get_columns`
//!   puts four inside `CASE`: DataFusion decorrelates a scalar subquery only when it is
//!   aggregated and its correlation is made of equalities. The select item is wrapped in
//!   `max()` (the lookups are by key: one row or none, where `max` is that row or NULL),
//!   and conditions on the outer row alone move out to `CASE WHEN cond THEN (subquery)`.
//!   One over a catalog that is always empty in Eddy (`pg_sequence`) is NULL.
//! - `generate_subscripts(a, 1)` beside `unnest(a)` (SQLAlchemy's key and index columns):
//!   DataFusion has no set-returning function of that name, so it becomes
//!   `unnest(generate_series(1, array_length(a, 1)))`, the subscripts of Eddy's arrays,
//!   which start at 1.
//! - `(information_schema._pg_expandarray(a)).x` / `.n` (pgjdbc's and Metabase's key and
//!   index columns), a set-returning function of records DataFusion has no type for: the
//!   elements, `unnest(a)`, and their positions, `unnest(generate_series(1, length))`.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, SelectItem,
    SetExpr, TableFactor,
};

/// Catalogs that hold no rows for any Eddy object.
const ALWAYS_EMPTY: &[&str] = &["pg_sequence"];

/// Applies the rewrites to a parsed catalog query.
pub fn rewrite(statement: &mut ast::Statement) {
    // `x = ANY (subquery)` compares with every row: not a scalar subquery to aggregate.
    let mut compared: HashSet<*const Query> = HashSet::new();
    let _ = ast::visit_expressions(statement, |e| {
        if let Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } = e {
            if let Expr::Subquery(q) = right.as_ref() {
                compared.insert(q.as_ref() as *const Query);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = ast::visit_expressions_mut(statement, |e| {
        match e {
            Expr::Subquery(q) if !compared.contains(&(q.as_ref() as *const Query)) => {
                if let Some(new) = scalar_subquery(q) {
                    *e = new;
                }
            }
            Expr::Function(f)
                if f.name
                    .to_string()
                    .eq_ignore_ascii_case("generate_subscripts") =>
            {
                if let Some(new) = subscripts(f) {
                    *e = new;
                }
            }
            // A computed name or OID cast to regclass (Metabase's `format('%I.%I', ...)`):
            // the crate resolves literals only.
            Expr::Cast {
                expr, data_type, ..
            } if is_regclass(data_type) => {
                *e = super::call(super::functions::REGCLASS_CAST, vec![expr.as_ref().clone()]);
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                if let Some(new) = expandarray_field(root, access_chain) {
                    *e = new;
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

fn scalar_subquery(q: &Query) -> Option<Expr> {
    if q.limit_clause.is_some() || q.order_by.is_some() || q.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let plain_group = matches!(&select.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if select.projection.len() != 1
        || !plain_group
        || select.having.is_some()
        || select.distinct.is_some()
    {
        return None;
    }
    let item = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) => e,
        SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return None,
    };
    if has_function(
        item,
        &[
            "max",
            "min",
            "count",
            "sum",
            "avg",
            "array_agg",
            "string_agg",
            "bool_and",
            "bool_or",
        ],
    ) {
        return None;
    }
    let (inner, tables) = inner_tables(select)?;
    if let [only] = tables.as_slice() {
        if ALWAYS_EMPTY.contains(&only.as_str()) {
            return Some(Expr::value(ast::Value::Null));
        }
    }
    let selection = select.selection.as_ref()?;
    let mut conjuncts = Vec::new();
    split_and(selection, &mut conjuncts);
    let (outer, rest): (Vec<Expr>, Vec<Expr>) =
        conjuncts.into_iter().partition(|c| outer_only(c, &inner));
    if rest.is_empty() || !rest.iter().any(|c| references_outer(c, &inner)) {
        // Uncorrelated (DataFusion plans it) or correlated in a way this does not handle.
        return None;
    }
    let mut select = select.as_ref().clone();
    select.selection = rest.into_iter().reduce(and);
    select.projection = vec![match &select.projection[0] {
        SelectItem::ExprWithAlias { expr, alias } => SelectItem::ExprWithAlias {
            expr: super::call("max", vec![expr.clone()]),
            alias: alias.clone(),
        },
        _ => SelectItem::UnnamedExpr(super::call("max", vec![item.clone()])),
    }];
    let mut query = q.clone();
    query.body = Box::new(SetExpr::Select(Box::new(select)));
    let subquery = Expr::Subquery(Box::new(query));
    Some(match outer.into_iter().reduce(and) {
        Some(condition) => Expr::Case {
            case_token: ast::helpers::attached_token::AttachedToken::empty(),
            end_token: ast::helpers::attached_token::AttachedToken::empty(),
            operand: None,
            conditions: vec![ast::CaseWhen {
                condition,
                result: subquery,
            }],
            else_result: None,
        },
        None => subquery,
    })
}

fn is_regclass(t: &ast::DataType) -> bool {
    let name = t.to_string().to_ascii_lowercase();
    name.trim_start_matches("pg_catalog.") == "regclass"
}

fn and(a: Expr, b: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    }
}

fn split_and(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        _ => out.push(e.clone()),
    }
}

/// The names the subquery's own tables go by (their aliases, or their last name part),
/// and the tables' own names; None when it reads anything but plain tables (a derived
/// table's columns could not be told from the outer row's).
fn inner_tables(select: &ast::Select) -> Option<(HashSet<String>, Vec<String>)> {
    let mut names = HashSet::new();
    let mut tables = Vec::new();
    let mut add = |factor: &TableFactor| {
        let TableFactor::Table { name, alias, .. } = factor else {
            return false;
        };
        let table = name.0.last().map(|p| p.to_string()).unwrap_or_default();
        let table = table.trim_matches('"').to_ascii_lowercase();
        let n = match alias {
            Some(a) => a.name.value.to_ascii_lowercase(),
            None => table.clone(),
        };
        names.insert(n);
        tables.push(table);
        true
    };
    for t in &select.from {
        if !add(&t.relation) {
            return None;
        }
        for j in &t.joins {
            if !add(&j.relation) {
                return None;
            }
        }
    }
    Some((names, tables))
}

/// The table a qualified column names (`pg_catalog.pg_attribute.attnum` → `pg_attribute`);
/// None for an unqualified one, which may be either side's.
fn qualifier(parts: &[ast::Ident]) -> Option<String> {
    (parts.len() >= 2).then(|| parts[parts.len() - 2].value.to_ascii_lowercase())
}

/// Every column `e` names, as Some(table) or None when unqualified.
fn columns(e: &Expr) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let _ = ast::visit_expressions(e, |x| {
        match x {
            Expr::CompoundIdentifier(parts) => out.push(qualifier(parts)),
            Expr::Identifier(_) => out.push(None),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

fn outer_only(e: &Expr, inner: &HashSet<String>) -> bool {
    let cols = columns(e);
    !cols.is_empty()
        && cols
            .iter()
            .all(|c| c.as_ref().is_some_and(|t| !inner.contains(t)))
}

fn references_outer(e: &Expr, inner: &HashSet<String>) -> bool {
    columns(e)
        .iter()
        .any(|c| c.as_ref().is_some_and(|t| !inner.contains(t)))
}

fn has_function(e: &Expr, names: &[&str]) -> bool {
    ast::visit_expressions(e, |x| match x {
        Expr::Function(f)
            if names
                .iter()
                .any(|n| f.name.to_string().eq_ignore_ascii_case(n)) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// `(_pg_expandarray(a)).x` as `unnest(a)`, `.n` as the positions.
fn expandarray_field(root: &Expr, chain: &[ast::AccessExpr]) -> Option<Expr> {
    let mut root = root;
    while let Expr::Nested(inner) = root {
        root = inner;
    }
    let Expr::Function(f) = root else {
        return None;
    };
    let name = f.name.0.last()?.to_string().to_ascii_lowercase();
    if name.trim_matches('"') != "_pg_expandarray" {
        return None;
    }
    let [ast::AccessExpr::Dot(Expr::Identifier(field))] = chain else {
        return None;
    };
    match field.value.to_ascii_lowercase().as_str() {
        "x" => Some(super::call("unnest", vec![first_argument(f)?])),
        "n" => subscripts(f),
        _ => None,
    }
}

fn first_argument(f: &ast::Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) => Some(a.clone()),
        _ => None,
    }
}

/// `generate_subscripts(a, 1)` (the dimension a literal 1, or a parameter, which clients
/// bind to 1: Eddy's arrays have one dimension); with a third argument (reverse) it stays.
fn subscripts(f: &ast::Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if f.name
        .0
        .last()?
        .to_string()
        .eq_ignore_ascii_case("generate_subscripts")
    {
        let dimension = match list.args.as_slice() {
            [_, FunctionArg::Unnamed(FunctionArgExpr::Expr(d))] => d,
            _ => return None,
        };
        let mut d = dimension;
        while let Expr::Cast { expr, .. } | Expr::Nested(expr) = d {
            d = expr;
        }
        let one = matches!(d, Expr::Value(v) if v.value == ast::Value::Number("1".into(), false));
        if !one && !matches!(d, Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_))) {
            return None;
        }
    }
    let array = first_argument(f)?;
    let one = || Expr::value(ast::Value::Number("1".into(), false));
    let length = Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(super::call("array_length", vec![array, one()])),
        data_type: ast::DataType::BigInt(None),
        array: false,
        format: None,
    };
    let series = super::call("generate_series", vec![one(), length]);
    Some(super::call("unnest", vec![series]))
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        super::rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn correlated_lookups_are_aggregated_and_outer_conditions_move_out() {
        assert_eq!(
            rewritten(
                "SELECT (SELECT d.adbin FROM pg_attrdef AS d WHERE a.atthasdef AND d.adrelid = a.attrelid) FROM pg_attribute AS a"
            ),
            "SELECT CASE WHEN a.atthasdef THEN (SELECT max(d.adbin) FROM pg_attrdef AS d WHERE d.adrelid = a.attrelid) END FROM pg_attribute AS a"
        );
        // Over an always-empty catalog: NULL.
        assert_eq!(
            rewritten("SELECT (SELECT s.seqstart FROM pg_sequence AS s WHERE s.seqrelid = a.attrelid) FROM pg_attribute AS a"),
            "SELECT NULL FROM pg_attribute AS a"
        );
        // Aggregated or uncorrelated subqueries stay as they are.
        for sql in [
            "SELECT (SELECT max(d.adbin) FROM pg_attrdef AS d WHERE d.adrelid = a.attrelid) FROM pg_attribute AS a",
            "SELECT (SELECT d.adbin FROM pg_attrdef AS d WHERE d.adnum = 1) FROM pg_attribute AS a",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }

    #[test]
    fn expandarray_fields_are_elements_and_positions() {
        assert_eq!(
            rewritten("SELECT (information_schema._pg_expandarray(i.indkey)).n AS pos, (information_schema._pg_expandarray(i.indkey)).x FROM pg_index AS i"),
            "SELECT unnest(generate_series(1, CAST(array_length(i.indkey, 1) AS BIGINT))) AS pos, unnest(i.indkey) FROM pg_index AS i"
        );
    }

    #[test]
    fn set_comparisons_and_derived_tables_are_left_alone() {
        for sql in [
            "SELECT c.relname FROM pg_class AS c WHERE 'id' = ANY(SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = c.oid)",
            "SELECT (SELECT s.n FROM (SELECT attrelid, attname AS n FROM pg_attribute) AS s WHERE s.attrelid = c.oid) FROM pg_class AS c",
            "SELECT generate_subscripts(i.indkey, 2), generate_subscripts(i.indkey, 1, true) FROM pg_index AS i",
        ] {
            let out = rewritten(sql);
            assert_eq!(out, sql);
        }
        // An empty catalog joined with another is no longer known to be empty.
        let joined = rewritten("SELECT (SELECT k.relname FROM pg_class AS k LEFT JOIN pg_sequence AS s ON k.oid = s.seqrelid WHERE k.oid = c.oid) FROM pg_class AS c");
        assert!(!joined.starts_with("SELECT NULL"), "{joined}");
    }

    #[test]
    fn subscripts_come_from_the_array_length() {
        assert_eq!(
            rewritten("SELECT unnest(i.indkey), generate_subscripts(i.indkey, 1) FROM pg_index AS i"),
            "SELECT unnest(i.indkey), unnest(generate_series(1, CAST(array_length(i.indkey, 1) AS BIGINT))) FROM pg_index AS i"
        );
    }
}
