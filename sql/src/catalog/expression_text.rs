//! Expressions as Flink prints them in DESCRIBE and SHOW CREATE TABLE: names in
//! backticks, function names in upper case (`COALESCE(`product`, 'x')`,
//! `` `ts` - INTERVAL '1' SECOND ``). The catalog keeps each expression as written; only
//! what is shown changes.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{self, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

struct Flinkish;

fn quote(ident: &mut ast::Ident) {
    if ident.quote_style.is_none() {
        ident.quote_style = Some('`');
    }
}

impl VisitorMut for Flinkish {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut ast::Expr) -> ControlFlow<()> {
        match expr {
            ast::Expr::Identifier(ident) => quote(ident),
            ast::Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(quote),
            ast::Expr::Function(f) => {
                for part in f.name.0.iter_mut() {
                    if let ast::ObjectNamePart::Identifier(ident) = part {
                        if ident.quote_style.is_none() {
                            ident.value = ident.value.to_ascii_uppercase();
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// `text` as Flink prints it; as written when it does not parse.
pub fn flink_text(text: &str) -> String {
    let parsed = Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr());
    match parsed {
        Ok(mut expr) => {
            let _ = expr.visit(&mut Flinkish);
            expr.to_string()
        }
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::flink_text;

    #[test]
    fn prints_as_flink_prints() {
        assert_eq!(
            flink_text("ts - INTERVAL '1' SECOND"),
            "`ts` - INTERVAL '1' SECOND"
        );
        assert_eq!(
            flink_text("coalesce(product, 'missing_sku')"),
            "COALESCE(`product`, 'missing_sku')"
        );
        assert_eq!(flink_text("PROCTIME()"), "PROCTIME()");
        assert_eq!(
            flink_text("CAST(product_id AS STRING)"),
            "CAST(`product_id` AS STRING)"
        );
        assert_eq!(flink_text("\"Mixed\" + 1"), "\"Mixed\" + 1");
        assert_eq!(flink_text("(("), "((");
    }
}
