//! Integer literals are INT when they fit and BIGINT otherwise, as in Flink SQL and
//! PostgreSQL (DataFusion alone makes every integer literal BIGINT, so `SELECT 1` would
//! come back as int8); a literal with an exponent (`1.5E0`) is DOUBLE, as in Flink and
//! PostgreSQL (the session parses other decimals as exact DECIMAL). Only expressions that
//! compute values are touched: positional `GROUP BY 1` / `ORDER BY 1` and `LIMIT` keep
//! their literals.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{self, Expr, SetExpr, Value};

fn as_int(expr: &mut Expr) {
    if let Expr::Value(v) = expr {
        if let Value::Number(n, _) = &v.value {
            if n.contains(['e', 'E']) {
                // Through text: as a DECIMAL first, 1E-50 would not fit.
                *expr = Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: Box::new(Expr::Value(Value::SingleQuotedString(n.clone()).into())),
                    data_type: ast::DataType::Double(ast::ExactNumberInfo::None),
                    array: false,
                    format: None,
                };
            } else if n.parse::<i32>().is_ok() {
                let literal = expr.clone();
                *expr = Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: Box::new(literal),
                    data_type: ast::DataType::Int(None),
                    array: false,
                    format: None,
                };
            }
        }
    }
}

fn rewrite<T: ast::VisitMut>(node: &mut T) {
    let _ = ast::visit_expressions_mut(node, |e: &mut Expr| {
        // Leave a literal that is already cast alone: CAST(1 AS BIGINT) stays as written.
        if !matches!(e, Expr::Cast { .. }) {
            as_int(e);
        }
        ControlFlow::<()>::Continue(())
    });
    // A window frame's offset (`ROWS BETWEEN 1 PRECEDING ..`) is a count, not a value:
    // it stays a bare literal.
    // So are TRUNCATE's places: its DECIMAL result takes its scale from the literal
    // (Flink's type), which a function sees only when the argument is a bare literal.
    let _ = ast::visit_expressions_mut(node, |e: &mut Expr| {
        if let Expr::Function(f) = e {
            let truncate = f.name.0.len() == 1
                && f.name.0[0]
                    .as_ident()
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("truncate"));
            if let (true, ast::FunctionArguments::List(list)) = (truncate, &mut f.args) {
                let places = match list.args.get_mut(1) {
                    Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(places))) => {
                        bare_count(places)
                    }
                    _ => false,
                };
                // Marked, so the function takes its scale from them at every stage of
                // planning, and from nothing else (an expression folded to a literal later).
                if places && list.args.len() == 2 {
                    list.args
                        .push(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            Expr::value(Value::SingleQuotedString(
                                eddy_runtime::functions::LITERAL_PLACES.into(),
                            )),
                        )));
                }
            }
            if let Some(ast::WindowType::WindowSpec(spec)) = f.over.as_mut() {
                if let Some(frame) = spec.window_frame.as_mut() {
                    uncast_bound(&mut frame.start_bound);
                    if let Some(end) = frame.end_bound.as_mut() {
                        uncast_bound(end);
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `CAST(n AS INT)` and `-CAST(n AS INT)` (an integer literal as typed above) as the bare
/// literal `n` / `-n`; whether it was one.
fn bare_count(e: &mut Expr) -> bool {
    let (negative, inner) = match &*e {
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => (true, expr.as_ref()),
        other => (false, other),
    };
    let Expr::Cast {
        expr,
        data_type: ast::DataType::Int(None),
        ..
    } = inner
    else {
        return false;
    };
    let Expr::Value(v) = expr.as_ref() else {
        return false;
    };
    let Value::Number(n, long) = &v.value else {
        return false;
    };
    if n.parse::<i32>().is_err() {
        return false;
    }
    let literal = Value::Number(if negative { format!("-{n}") } else { n.clone() }, *long);
    *e = Expr::Value(literal.into());
    true
}

fn uncast_bound(bound: &mut ast::WindowFrameBound) {
    if let ast::WindowFrameBound::Preceding(Some(e)) | ast::WindowFrameBound::Following(Some(e)) =
        bound
    {
        if let Expr::Cast { expr, .. } = e.as_mut() {
            if is_number(expr) {
                let literal = expr.as_ref().clone();
                **e = literal;
            } else if let Expr::Value(v) = expr.as_ref() {
                // An exponent literal made DOUBLE through text: the number again.
                if let Value::SingleQuotedString(n) = &v.value {
                    if n.parse::<f64>().is_ok() && n.contains(['e', 'E']) {
                        **e = Expr::Value(Value::Number(n.clone(), false).into());
                    }
                }
            }
        }
    }
}

fn rewrite_set_expr(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            for item in select.projection.iter_mut() {
                rewrite(item);
            }
            if let Some(w) = select.selection.as_mut() {
                rewrite(w);
            }
            if let Some(h) = select.having.as_mut() {
                rewrite(h);
            }
            // GROUP BY expressions must stay equal to the select list's; positions stay.
            if let ast::GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
                for e in exprs.iter_mut().filter(|e| !is_number(e)) {
                    rewrite(e);
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left);
            rewrite_set_expr(right);
        }
        SetExpr::Query(q) => rewrite_set_expr(&mut q.body),
        _ => {}
    }
}

fn is_number(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(v.value, Value::Number(_, _)))
}

/// Types the integer literals of a query's computed expressions as INT where they fit
/// (and rewrites the forms of `flink_syntax.rs` DataFusion does not take).
pub(super) fn apply(query: &mut ast::Query) {
    super::flink_syntax::apply(query);
    rewrite_set_expr(&mut query.body);
    if let Some(order_by) = query.order_by.as_mut() {
        if let ast::OrderByKind::Expressions(exprs) = &mut order_by.kind {
            for o in exprs.iter_mut().filter(|o| !is_number(&o.expr)) {
                rewrite(&mut o.expr);
            }
        }
    }
}
