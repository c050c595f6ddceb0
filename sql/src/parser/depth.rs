//! Refuses statements nested deeper than [`MAX_EXPRESSION_DEPTH`] with SQLSTATE 54001, before
//! anything recurses over them: sqlparser builds `1+1+...+1` or a long `OR` list as a
//! left-deep tree without recursing, but planning, optimizing, evaluating and printing it
//! recurse once per level.
//!
//! A level is an expression inside an expression, a query inside a query, one operand of a
//! chain of `UNION` / `INTERSECT` / `EXCEPT`, or one more table joined in a `FROM`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Query, Select, SetExpr, Visit, Visitor};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::Token;
use eddy_runtime::limits::MAX_EXPRESSION_DEPTH;

use crate::error::{Result, SqlError};

/// Most operator tokens one statement may hold. A tree of them is as deep as they are many
/// at worst, and dropping a parsed tree recurses too, so a statement with more is refused
/// before it is parsed; any statement under the depth limit stays far below this.
pub const MAX_OPERATORS: usize = 100 * MAX_EXPRESSION_DEPTH;

/// Refuses a statement whose tokens hold more than [`MAX_OPERATORS`] operators.
pub fn check_tokens(tokens: &[Token]) -> Result<()> {
    let count = tokens.iter().filter(|t| is_operator(t)).count();
    if count > MAX_OPERATORS {
        return Err(SqlError::TooManyOperators {
            count,
            limit: MAX_OPERATORS,
        });
    }
    Ok(())
}

fn is_operator(t: &Token) -> bool {
    match t {
        Token::Word(w) => matches!(
            w.keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::JOIN
                | Keyword::CASE
                | Keyword::WHEN
                | Keyword::IS
                | Keyword::LIKE
                | Keyword::BETWEEN
        ),
        Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::Eq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Ampersand
        | Token::Pipe
        | Token::Caret
        | Token::DoubleColon => true,
        _ => false,
    }
}

/// Checks a parsed statement or expression against the gateway's depth limit.
pub fn check<T: Visit>(node: &T) -> Result<()> {
    check_with_limit(node, MAX_EXPRESSION_DEPTH)
}

fn check_with_limit<T: Visit>(node: &T, limit: usize) -> Result<()> {
    let mut v = DepthVisitor {
        depth: 0,
        limit,
        queries: Vec::new(),
    };
    match node.visit(&mut v) {
        // The walk stops at the first level past the limit, so it never recurses deeper
        // than the limit itself.
        ControlFlow::Break(depth) => Err(SqlError::TooDeep { depth, limit }),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct DepthVisitor {
    depth: usize,
    limit: usize,
    /// Levels each open query added, to take off when it closes.
    queries: Vec<usize>,
}

impl DepthVisitor {
    fn enter(&mut self, levels: usize) -> ControlFlow<usize> {
        self.depth += levels;
        if self.depth > self.limit {
            ControlFlow::Break(self.depth)
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl Visitor for DepthVisitor {
    type Break = usize;

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<usize> {
        self.enter(1)
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<usize> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<usize> {
        let levels = 1 + set_operation_depth(&query.body);
        self.queries.push(levels);
        self.enter(levels)
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<usize> {
        self.depth -= self.queries.pop().unwrap_or(0);
        ControlFlow::Continue(())
    }
}

/// How deep the set-operation tree of one query body is, joins included; walked with an
/// explicit stack because the tree itself may be thousands of levels deep.
fn set_operation_depth(body: &SetExpr) -> usize {
    let mut deepest = 0;
    let mut todo = vec![(body, 0usize)];
    while let Some((node, depth)) = todo.pop() {
        match node {
            SetExpr::SetOperation { left, right, .. } => {
                todo.push((left, depth + 1));
                todo.push((right, depth + 1));
            }
            SetExpr::Select(select) => deepest = deepest.max(depth + join_depth(select)),
            _ => deepest = deepest.max(depth),
        }
    }
    deepest
}

/// `FROM a, b JOIN c JOIN d` plans as a left-deep tree of three joins.
fn join_depth(select: &Select) -> usize {
    select.from.len().saturating_sub(1) + select.from.iter().map(|t| t.joins.len()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn depth_error(sql: &str, limit: usize) -> Option<usize> {
        let statements = Parser::parse_sql(&super::super::dialect(), sql).unwrap();
        match check_with_limit(&statements[0], limit) {
            Err(SqlError::TooDeep { depth, .. }) => Some(depth),
            Err(e) => panic!("unexpected error {e}"),
            Ok(()) => None,
        }
    }

    fn repeat(n: usize, part: &str, sep: &str) -> String {
        vec![part; n].join(sep)
    }

    #[test]
    fn operator_chains_count_one_level_per_operator() {
        let sql = format!("SELECT {}", repeat(100, "1", " + "));
        assert_eq!(depth_error(&sql, 200), None);
        assert!(depth_error(&sql, 50).is_some());
    }

    #[test]
    fn or_lists_set_operations_and_joins_count() {
        let ors = format!("SELECT 1 WHERE {}", repeat(100, "1 = 1", " OR "));
        assert!(depth_error(&ors, 50).is_some());
        let unions = repeat(100, "SELECT 1", " UNION ALL ");
        assert!(depth_error(&unions, 50).is_some());
        assert_eq!(depth_error(&unions, 200), None);
        let joins = format!(
            "SELECT 1 FROM t0 {}",
            (1..100)
                .map(|i| format!("JOIN t{i} ON true"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(depth_error(&joins, 50).is_some());
        let commas = format!("SELECT 1 FROM {}", repeat(100, "t", ", "));
        assert!(depth_error(&commas, 50).is_some());
    }

    #[test]
    fn the_walk_stops_at_the_limit() {
        // Far deeper than the walk could recurse on a test thread's stack; parsing and
        // dropping the tree need a big one (the server's threads have it).
        let run = || {
            let sql = format!("SELECT {}", repeat(50_000, "1", "+"));
            assert_eq!(depth_error(&sql, 100), Some(101));
        };
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn too_many_operators_are_refused_before_parsing() {
        let sql = format!("SELECT {}", repeat(MAX_OPERATORS + 2, "1", "+"));
        let tokens = super::super::tokenize(&sql).unwrap();
        let err = check_tokens(&tokens).unwrap_err();
        assert_eq!(err.sqlstate(), "54001");
        let fine = format!("SELECT {}", repeat(1000, "(1, 2)", ", "));
        check_tokens(&super::super::tokenize(&fine).unwrap()).unwrap();
    }
}
