//! Flink SQL (and standard SQL) forms DataFusion does not take, rewritten into ones it does:
//! - `LIKE` / `ILIKE` with an `ESCAPE` character other than backslash: a literal pattern is
//!   written with backslash escapes, the one DataFusion knows;
//! - `SIMILAR TO` with a literal pattern: SQL's `%` and `_` and literal `.`, `^`, `$`
//!   become the regular expression DataFusion matches (it takes the pattern as a regex);
//! - `LOCALTIMESTAMP` and `LOCALTIME` (bare words, not columns a query names in quotes):
//!   the session's wall-clock time as TIMESTAMP(3) and TIME;
//! - `x [NOT] BETWEEN SYMMETRIC a AND b` (marked by `parser/flink_operators.rs`): `x BETWEEN
//!   a AND b OR x BETWEEN b AND a`, as Calcite expands it;
//! - `x IS [NOT] JSON [kind]` (carried as `IS [form] NORMALIZED`): `[NOT] is_json(x, kind)`;
//! - `JSON_OBJECT` (its pairs made arguments by the pre-pass) and `JSON_ARRAY`: a first
//!   argument saying what NULL values do (the ON NULL clause, DataFusion takes none) and
//!   which values are nested JSON_OBJECT / JSON_ARRAY calls, inserted as JSON;
//! - `FLOOR(t TO unit)` and `CEIL(t TO unit)`: Eddy's functions that round times
//!   (`runtime/src/functions/time_round.rs`);
//! - interval ranges (`INTERVAL '10 00:00:00.004' DAY TO SECOND`, `'2-10' YEAR TO MONTH`):
//!   the text's fields written out as the `'10 days 0 hours ...'` DataFusion reads;
//! - `FROM_UNIXTIME(n [, format])` and `UNIX_TIMESTAMP(text [, format])`: the format made
//!   explicit and a last argument `CAST(NULL AS TIMESTAMP_LTZ(3))` added, whose type
//!   carries the session's time zone to the function (also inside a job's tasks, which
//!   have no session).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArgumentClause, FunctionArguments, Ident, Value, ValueWithSpan,
};

/// Rewrites `query` in place.
pub(super) fn apply(query: &mut ast::Query) {
    let _ = ast::visit_expressions_mut(query, |e: &mut Expr| {
        like_escape(e);
        similar_to(e);
        local_time(e);
        between_symmetric(e);
        is_json(e);
        json_constructors(e);
        time_round(e);
        interval_range(e);
        unix_time_zone(e);
        row_cast(e);
        qualified_function_name(e);
        ControlFlow::<()>::Continue(())
    });
}

/// `CAST(ROW(a, b) AS ROW<x T, y U>)` (the type written `STRUCT<...>` by the pre-pass):
/// the constructor's values under the type's names, `named_struct('x', CAST(a AS T), 'y',
/// CAST(b AS U))`, as Arrow casts a struct only to one with the same field names.
fn row_cast(e: &mut Expr) {
    let Expr::Cast {
        kind,
        expr,
        data_type: ast::DataType::Struct(fields, _),
        ..
    } = e
    else {
        return;
    };
    let Expr::Function(f) = expr.as_ref() else {
        return;
    };
    let is_row = f.name.0.len() == 1
        && f.name.0[0].as_ident().is_some_and(|i| {
            i.value.eq_ignore_ascii_case("row") || i.value.eq_ignore_ascii_case("struct")
        });
    let FunctionArguments::List(list) = &f.args else {
        return;
    };
    if !is_row || list.args.len() != fields.len() {
        return;
    }
    let mut args = Vec::with_capacity(2 * fields.len());
    for (arg, field) in list.args.iter().zip(fields.iter()) {
        let (ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(value)), Some(name)) =
            (arg, &field.field_name)
        else {
            return;
        };
        args.push(Expr::value(Value::SingleQuotedString(
            crate::parser::normalize_ident(name),
        )));
        args.push(Expr::Cast {
            kind: kind.clone(),
            expr: Box::new(value.clone()),
            data_type: field.field_type.clone(),
            array: false,
            format: None,
        });
    }
    *e = call("named_struct", args);
}

/// A qualified call's name (`db.f`, `catalog.db.f`) in the form user functions are
/// registered under: DataFusion looks such a name up as written, so unquoted parts fold to
/// lower case here and quoted ones lose their quotes.
fn qualified_function_name(e: &mut Expr) {
    let Expr::Function(f) = e else {
        return;
    };
    if f.name.0.len() < 2 {
        return;
    }
    for part in f.name.0.iter_mut() {
        if let Some(ident) = part.as_ident() {
            *part =
                ast::ObjectNamePart::Identifier(Ident::new(crate::parser::normalize_ident(ident)));
        }
    }
}

fn unix_time_zone(e: &mut Expr) {
    let Expr::Function(f) = e else {
        return;
    };
    let Some(name) = f.name.0.last().and_then(|p| p.as_ident()) else {
        return;
    };
    let takes_zone = ["from_unixtime", "unix_timestamp"]
        .iter()
        .any(|n| name.value.eq_ignore_ascii_case(n));
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    if !takes_zone || f.name.0.len() != 1 || list.args.is_empty() || list.args.len() > 2 {
        return;
    }
    let arg = |e: Expr| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e));
    if list.args.len() == 1 {
        list.args.push(arg(Expr::value(Value::SingleQuotedString(
            "yyyy-MM-dd HH:mm:ss".into(),
        ))));
    }
    let ltz = ast::DataType::Custom(
        ast::ObjectName::from(vec![Ident::new("TIMESTAMP_LTZ")]),
        vec!["3".into()],
    );
    list.args.push(arg(Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(Expr::value(Value::Null)),
        data_type: ltz,
        array: false,
        format: None,
    }));
}

/// The text of a string literal.
fn literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

fn string(s: String) -> Expr {
    Expr::Value(Value::SingleQuotedString(s).into())
}

/// The one character of an ESCAPE clause.
fn escape_of(escape: &Option<ValueWithSpan>) -> Option<char> {
    let ValueWithSpan {
        value: Value::SingleQuotedString(s),
        ..
    } = escape.as_ref()?
    else {
        return None;
    };
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

fn like_escape(e: &mut Expr) {
    let (Expr::Like {
        pattern,
        escape_char,
        ..
    }
    | Expr::ILike {
        pattern,
        escape_char,
        ..
    }) = e
    else {
        return;
    };
    let Some(escape) = escape_of(escape_char).filter(|&c| c != '\\') else {
        return;
    };
    let Some(text) = literal(pattern) else {
        return;
    };
    let mut out = String::with_capacity(text.len() + 4);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => match chars.next() {
                Some(next @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(next);
                }
                Some(next) => out.push(next),
                // A trailing escape character escapes nothing; DataFusion reports it.
                None => out.push('\\'),
            },
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    **pattern = string(out);
    *escape_char = None;
}

fn similar_to(e: &mut Expr) {
    let Expr::SimilarTo {
        pattern,
        escape_char,
        ..
    } = e
    else {
        return;
    };
    let escape = escape_of(escape_char).unwrap_or('\\');
    let Some(text) = literal(pattern) else {
        return;
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => {
                if let Some(next) = chars.next() {
                    out.push_str(&regex_literal(next));
                }
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '.' | '^' | '$' | '\\' => out.push_str(&regex_literal(c)),
            c => out.push(c),
        }
    }
    **pattern = string(out);
    *escape_char = None;
}

/// `c` matched as itself in a regular expression.
fn regex_literal(c: char) -> String {
    match c.is_ascii_alphanumeric() || c == ' ' {
        true => c.to_string(),
        false => format!("\\{c}"),
    }
}

fn local_time(e: &mut Expr) {
    // The parser reads the bare words as a call without parentheses, or as a name.
    let word = match e {
        Expr::Identifier(Ident {
            value,
            quote_style: None,
            ..
        }) => value.clone(),
        Expr::Function(f) if matches!(f.args, FunctionArguments::None) && f.over.is_none() => {
            match f.name.0.as_slice() {
                [part] => match part.as_ident() {
                    Some(Ident {
                        value,
                        quote_style: None,
                        ..
                    }) => value.clone(),
                    _ => return,
                },
                _ => return,
            }
        }
        _ => return,
    };
    let target = match word.to_ascii_lowercase().as_str() {
        "localtimestamp" => ast::DataType::Timestamp(Some(3), ast::TimezoneInfo::None),
        "localtime" => ast::DataType::Time(None, ast::TimezoneInfo::None),
        _ => return,
    };
    *e = Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(call("to_local_time", vec![call("now", Vec::new())])),
        data_type: target,
        array: false,
        format: None,
    };
}

/// A call of the function `name`.
fn time_round(e: &mut Expr) {
    let (expr, field, name) = match e {
        Expr::Floor {
            expr,
            field: ast::CeilFloorKind::DateTimeField(f),
        } => (expr, f, eddy_runtime::functions::TIME_FLOOR),
        Expr::Ceil {
            expr,
            field: ast::CeilFloorKind::DateTimeField(f),
        } => (expr, f, eddy_runtime::functions::TIME_CEIL),
        _ => return,
    };
    if matches!(field, ast::DateTimeField::NoDateTime) {
        return;
    }
    let unit = string(field.to_string());
    let time = std::mem::replace(expr.as_mut(), Expr::Value(Value::Null.into()));
    *e = call(name, vec![time, unit]);
}

fn interval_range(e: &mut Expr) {
    let Expr::Interval(interval) = e else {
        return;
    };
    let (Some(from), Some(to)) = (&interval.leading_field, &interval.last_field) else {
        return;
    };
    // Text that does not fit its range is left to DataFusion's own error.
    let Some(written) = literal(&interval.value).and_then(|t| range_text(t, from, to)) else {
        return;
    };
    *interval = ast::Interval {
        value: Box::new(string(written)),
        leading_field: None,
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    };
}

/// An interval range's text as DataFusion's unit words; a leading sign applies to every
/// field, as in SQL.
fn range_text(text: &str, from: &ast::DateTimeField, to: &ast::DateTimeField) -> Option<String> {
    use ast::DateTimeField as F;
    let names: &[&str] = match (from, to) {
        (F::Year, F::Month) => &["years", "months"],
        (F::Day, F::Hour) => &["days", "hours"],
        (F::Day, F::Minute) => &["days", "hours", "minutes"],
        (F::Day, F::Second) => &["days", "hours", "minutes", "seconds"],
        (F::Hour, F::Minute) => &["hours", "minutes"],
        (F::Hour, F::Second) => &["hours", "minutes", "seconds"],
        (F::Minute, F::Second) => &["minutes", "seconds"],
        _ => return None,
    };
    let text = text.trim();
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let parts: Vec<&str> = match from {
        F::Year => text.split('-').collect(),
        F::Day => {
            let (days, rest) = text.split_once(' ')?;
            std::iter::once(days)
                .chain(rest.trim().split(':'))
                .collect()
        }
        _ => text.split(':').collect(),
    };
    if parts.len() != names.len() {
        return None;
    }
    let mut out = Vec::with_capacity(parts.len());
    for (part, name) in parts.iter().zip(names) {
        let digits = part.chars().filter(|c| c.is_ascii_digit()).count();
        let dots = part.chars().filter(|c| *c == '.').count();
        let fraction_ok = *name == "seconds" && dots <= 1;
        if digits == 0 || digits + dots != part.len() || (dots > 0 && !fraction_ok) {
            return None;
        }
        out.push(format!("{sign}{part} {name}"));
    }
    Some(out.join(" "))
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// The one argument of a call of `name`.
fn only_argument<'a>(e: &'a Expr, name: &str) -> Option<&'a Expr> {
    let Expr::Function(f) = e else {
        return None;
    };
    let [part] = f.name.0.as_slice() else {
        return None;
    };
    if !part
        .as_ident()
        .is_some_and(|i| i.value.eq_ignore_ascii_case(name))
    {
        return None;
    }
    match &f.args {
        FunctionArguments::List(list) => match list.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] => Some(a),
            _ => None,
        },
        _ => None,
    }
}

fn negate_if(negated: bool, e: Expr) -> Expr {
    match negated {
        true => Expr::UnaryOp {
            op: ast::UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(e))),
        },
        false => e,
    }
}

fn between_symmetric(e: &mut Expr) {
    let Expr::Between {
        expr,
        negated,
        low,
        high,
    } = e
    else {
        return;
    };
    let Some(low) = only_argument(low, crate::parser::flink_operators::SYMMETRIC_MARKER) else {
        return;
    };
    let between = |low: &Expr, high: &Expr| Expr::Between {
        expr: expr.clone(),
        negated: false,
        low: Box::new(low.clone()),
        high: Box::new(high.clone()),
    };
    let either = Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(between(low, high)),
        op: ast::BinaryOperator::Or,
        right: Box::new(between(high, low)),
    }));
    *e = negate_if(*negated, either);
}

fn is_json(e: &mut Expr) {
    let Expr::IsNormalized {
        expr,
        form,
        negated,
    } = e
    else {
        return;
    };
    let form = form.as_ref().map(|f| f.to_string());
    let kind = crate::parser::flink_operators::json_kind_of_form(form.as_deref());
    let test = call("is_json", vec![(**expr).clone(), string(kind.to_string())]);
    *e = negate_if(*negated, test);
}

/// The lower-case name of a call of a one-part name.
fn call_name(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else {
        return None;
    };
    match f.name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn json_constructors(e: &mut Expr) {
    // (object, aggregate)
    let (object, aggregate) = match call_name(e).as_deref() {
        Some("json_object") => (true, false),
        Some("json_array") => (false, false),
        Some("json_objectagg") => (true, true),
        Some("json_arrayagg") => (false, true),
        _ => return,
    };
    let Expr::Function(f) = e else {
        return;
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    let first = match list.args.first() {
        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(first))) => literal(first),
        _ => None,
    };
    if object && !aggregate && first != Some(crate::parser::flink_operators::JSON_OBJECT_MARKER) {
        return;
    }
    if first.is_some_and(|m| m.starts_with("eddy:json:")) {
        return;
    }
    let clause = list
        .clauses
        .iter()
        .position(|c| matches!(c, FunctionArgumentClause::JsonNullClause(_)))
        .map(|at| list.clauses.remove(at));
    let absent_on_null = match clause {
        Some(FunctionArgumentClause::JsonNullClause(ast::JsonNullClause::AbsentOnNull)) => true,
        Some(_) => false,
        // Flink's defaults: JSON_OBJECT keeps NULLs, JSON_ARRAY drops them.
        None => !object,
    };
    let values: Vec<&ast::FunctionArg> = match (object, aggregate) {
        (true, false) => list.args.iter().skip(2).step_by(2).collect(),
        (true, true) => list.args.iter().skip(1).collect(),
        (false, _) => list.args.iter().collect(),
    };
    let raw: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, a)| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(v)) => {
                let mut v: &Expr = v;
                while let Expr::Nested(inner) = v {
                    v = inner;
                }
                // JSON(text) is JSON already, as Flink's JSON() marks it.
                matches!(
                    call_name(v).as_deref(),
                    Some("json_object" | "json_array" | "json")
                )
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .collect();
    let mode = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(string(
        eddy_runtime::functions::json_mode_literal(absent_on_null, &raw),
    )));
    match object && !aggregate {
        true => list.args[0] = mode,
        false => list.args.insert(0, mode),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut statements = Parser::parse_sql(&GenericDialect {}, sql).expect("SQL");
        let ast::Statement::Query(q) = &mut statements[0] else {
            panic!("a query");
        };
        super::apply(q);
        statements[0].to_string()
    }

    use super::*;

    #[test]
    fn patterns_are_written_as_datafusion_reads_them() {
        assert_eq!(
            rewritten("SELECT 'a_c' LIKE 'a!_c\\d!!' ESCAPE '!'"),
            "SELECT 'a_c' LIKE 'a\\_c\\\\d!'"
        );
        assert_eq!(
            rewritten("SELECT x NOT ILIKE '#%' ESCAPE '#' FROM t"),
            "SELECT x NOT ILIKE '\\%' FROM t"
        );
        assert_eq!(
            rewritten("SELECT 'abc' SIMILAR TO '(a|b)%.c_'"),
            "SELECT 'abc' SIMILAR TO '(a|b).*\\.c.'"
        );
        assert_eq!(
            rewritten("SELECT LOCALTIMESTAMP, \"localtime\""),
            "SELECT CAST(to_local_time(now()) AS TIMESTAMP(3)), \"localtime\""
        );
    }

    fn flink(sql: &str) -> String {
        rewritten(&crate::parser::flink_operators::rewrite_flink_operators(sql).unwrap())
    }

    #[test]
    fn interval_ranges_are_written_out() {
        use ast::DateTimeField as F;
        assert_eq!(
            range_text("10 00:00:00.004", &F::Day, &F::Second).as_deref(),
            Some("10 days 00 hours 00 minutes 00.004 seconds")
        );
        assert_eq!(
            range_text("-2-10", &F::Year, &F::Month).as_deref(),
            Some("-2 years -10 months")
        );
        assert_eq!(
            range_text("4:05", &F::Hour, &F::Minute).as_deref(),
            Some("4 hours 05 minutes")
        );
        assert_eq!(range_text("10 00:00", &F::Day, &F::Second), None);
        assert_eq!(range_text("1.5-2", &F::Year, &F::Month), None);
        assert_eq!(range_text("1 2", &F::Month, &F::Day), None);
    }

    #[test]
    fn a_row_cast_names_the_constructors_values() {
        assert_eq!(
            flink("SELECT CAST(ROW(1, 'a') AS ROW<x INT, y STRING>), TRY_CAST(ROW(z) AS ROW<\"Q\" INT>)"),
            "SELECT named_struct('x', CAST(1 AS INT), 'y', CAST('a' AS STRING)), named_struct('Q', TRY_CAST(z AS INT))"
        );
        // A struct that is not a constructor call keeps its CAST.
        assert_eq!(
            flink("SELECT CAST(r AS ROW<x INT>) FROM t"),
            "SELECT CAST(r AS STRUCT<x INT>) FROM t"
        );
    }

    #[test]
    fn json_constructors_take_their_mode_first() {
        assert_eq!(
            flink("SELECT JSON_OBJECT(KEY 'a' VALUE JSON_ARRAY(1, x NULL ON NULL), 'b' VALUE y ABSENT ON NULL) FROM t"),
            "SELECT JSON_OBJECT('eddy:json:ABSENT ON NULL;raw=0', 'a', JSON_ARRAY('eddy:json:NULL ON NULL', 1, x), 'b', y) FROM t"
        );
        assert_eq!(
            flink("SELECT JSON_ARRAY(), JSON_OBJECT()"),
            "SELECT JSON_ARRAY('eddy:json:ABSENT ON NULL'), JSON_OBJECT('eddy:json:NULL ON NULL')"
        );
        assert_eq!(
            flink("SELECT JSON_OBJECTAGG(KEY k VALUE JSON(v)), JSON_ARRAYAGG(x NULL ON NULL) FROM t"),
            "SELECT JSON_OBJECTAGG('eddy:json:NULL ON NULL;raw=0', k, JSON(v)), JSON_ARRAYAGG('eddy:json:NULL ON NULL', x) FROM t"
        );
        assert_eq!(
            flink("SELECT JSON_ARRAY(JSON(s), s)"),
            "SELECT JSON_ARRAY('eddy:json:ABSENT ON NULL;raw=0', JSON(s), s)"
        );
    }

    #[test]
    fn symmetric_between_and_is_json_become_what_they_mean() {
        assert_eq!(
            flink("SELECT x NOT BETWEEN SYMMETRIC 1 + 1 AND y FROM t"),
            "SELECT NOT ((x BETWEEN 1 + 1 AND y OR x BETWEEN y AND 1 + 1)) FROM t"
        );
        assert_eq!(
            flink("SELECT 2 BETWEEN SYMMETRIC 3 AND 1 = TRUE"),
            "SELECT (2 BETWEEN 3 AND 1 OR 2 BETWEEN 1 AND 3) = true"
        );
        assert_eq!(
            flink("SELECT s IS NOT JSON ARRAY, NOT s IS JSON, s IS JSON SCALAR = FALSE FROM t"),
            "SELECT NOT (is_json(s, 'ARRAY')), NOT is_json(s, 'VALUE'), is_json(s, 'SCALAR') = false FROM t"
        );
    }
}
