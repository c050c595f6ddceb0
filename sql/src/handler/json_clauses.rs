//! `JSON_VALUE(json, path RETURNING type)`: Flink's value in a type of the query's choice,
//! NULL where the text does not convert (NULL ON ERROR, the default). DataFusion has no
//! RETURNING clause, so the call becomes `TRY_CAST(JSON_VALUE(json, path) AS type)`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{self, Expr, FunctionArgumentClause, FunctionArguments};

/// Rewrites every `JSON_VALUE(.. RETURNING type)` of `query`.
pub(super) fn apply(query: &mut ast::Query) {
    let _ = ast::visit_expressions_mut(query, |e: &mut Expr| {
        let Expr::Function(f) = e else {
            return ControlFlow::<()>::Continue(());
        };
        let is_json_value = f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.value.eq_ignore_ascii_case("json_value"));
        let FunctionArguments::List(list) = &mut f.args else {
            return ControlFlow::Continue(());
        };
        if !is_json_value {
            return ControlFlow::Continue(());
        }
        let Some(at) = list
            .clauses
            .iter()
            .position(|c| matches!(c, FunctionArgumentClause::JsonReturningClause(_)))
        else {
            return ControlFlow::Continue(());
        };
        let FunctionArgumentClause::JsonReturningClause(returning) = list.clauses.remove(at) else {
            return ControlFlow::Continue(());
        };
        let call = e.clone();
        *e = Expr::Cast {
            kind: ast::CastKind::TryCast,
            expr: Box::new(call),
            data_type: returning.data_type,
            array: false,
            format: None,
        };
        ControlFlow::Continue(())
    });
}
