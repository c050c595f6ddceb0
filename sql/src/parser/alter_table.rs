//! Flink's ALTER TABLE and ALTER VIEW: rename, options, and schema changes (ADD, MODIFY,
//! DROP of columns, the primary key and the watermark; RENAME of a column).

use std::collections::BTreeMap;

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create_table::{object_path, parse_item, parse_options, SchemaItem};
use super::normalize_ident;
use super::statement::{remaining_text, Statement};
use super::words::{end, key_list, word};
use crate::catalog::ObjectPath;
use crate::error::{Result, SqlError};

/// Where ADD or MODIFY puts a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    First,
    After(String),
}

/// What ALTER TABLE changes.
#[derive(Debug, Clone, PartialEq)]
pub enum TableChange {
    Rename(ObjectPath),
    Set(BTreeMap<String, String>),
    Reset(Vec<String>),
    RenameColumn {
        from: String,
        to: String,
    },
    Add(Vec<(SchemaItem, Option<Position>)>),
    Modify(Vec<(SchemaItem, Option<Position>)>),
    DropColumns(Vec<String>),
    DropPrimaryKey,
    /// `DROP CONSTRAINT name`: the primary key, by its name.
    DropConstraint(String),
    DropWatermark,
}

/// What ALTER VIEW changes.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewChange {
    Rename(ObjectPath),
    /// `AS query`: the view's new query.
    Query(String),
}

fn ident(p: &mut Parser) -> Result<String> {
    Ok(normalize_ident(&p.parse_identifier()?))
}

fn position(p: &mut Parser) -> Result<Option<Position>> {
    if word(p, "FIRST") {
        return Ok(Some(Position::First));
    }
    if word(p, "AFTER") {
        return Ok(Some(Position::After(ident(p)?)));
    }
    Ok(None)
}

/// `item [FIRST | AFTER c]` or `(item [pos], ...)`.
fn items(p: &mut Parser) -> Result<Vec<(SchemaItem, Option<Position>)>> {
    let one = |p: &mut Parser| -> Result<(SchemaItem, Option<Position>)> {
        // `ADD COLUMN x INT`: the keyword is optional, unless it is the column's name.
        let named = |t: &Token| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("COLUMN"));
        if named(&p.peek_token().token)
            && matches!(p.peek_nth_token(1).token, Token::Word(_))
            && !matches!(
                p.peek_nth_token(2).token,
                Token::Comma | Token::RParen | Token::EOF
            )
        {
            p.next_token();
        }
        let item = parse_item(p)?;
        Ok((item, position(p)?))
    };
    if !p.consume_token(&Token::LParen) {
        return Ok(vec![one(p)?]);
    }
    let mut all = vec![one(p)?];
    while p.consume_token(&Token::Comma) {
        all.push(one(p)?);
    }
    p.expect_token(&Token::RParen)?;
    Ok(all)
}

/// Parses `ALTER TABLE [IF EXISTS] name ...`.
pub(super) fn parse_table(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.expect_keyword(Keyword::ALTER)?;
    p.expect_keyword(Keyword::TABLE)?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = object_path(&mut p)?;
    let change = if p.parse_keyword(Keyword::RENAME) {
        if p.parse_keyword(Keyword::TO) {
            TableChange::Rename(object_path(&mut p)?)
        } else {
            let _ = p.parse_keyword(Keyword::COLUMN);
            let from = ident(&mut p)?;
            p.expect_keyword(Keyword::TO)?;
            TableChange::RenameColumn {
                from,
                to: ident(&mut p)?,
            }
        }
    } else if p.parse_keyword(Keyword::SET) {
        TableChange::Set(parse_options(&mut p)?)
    } else if word(&mut p, "RESET") {
        TableChange::Reset(key_list(&mut p)?)
    } else if p.parse_keyword(Keyword::ADD) {
        TableChange::Add(items(&mut p)?)
    } else if word(&mut p, "MODIFY") {
        TableChange::Modify(items(&mut p)?)
    } else if p.parse_keyword(Keyword::DROP) {
        if p.parse_keywords(&[Keyword::PRIMARY, Keyword::KEY]) {
            TableChange::DropPrimaryKey
        } else if p.parse_keyword(Keyword::CONSTRAINT) {
            TableChange::DropConstraint(ident(&mut p)?)
        } else if word(&mut p, "WATERMARK") {
            TableChange::DropWatermark
        } else if p.consume_token(&Token::LParen) {
            let mut columns = vec![ident(&mut p)?];
            while p.consume_token(&Token::Comma) {
                columns.push(ident(&mut p)?);
            }
            p.expect_token(&Token::RParen)?;
            TableChange::DropColumns(columns)
        } else {
            let _ = p.parse_keyword(Keyword::COLUMN);
            TableChange::DropColumns(vec![ident(&mut p)?])
        }
    } else {
        return Err(SqlError::Syntax(
            "expected ALTER TABLE name RENAME, SET, RESET, ADD, MODIFY or DROP".into(),
        ));
    };
    end(&mut p, "ALTER TABLE")?;
    Ok(Statement::AlterTable {
        name,
        if_exists,
        change,
    })
}

/// Parses `ALTER VIEW name RENAME TO new | AS query`.
pub(super) fn parse_view(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.expect_keyword(Keyword::ALTER)?;
    p.expect_keyword(Keyword::VIEW)?;
    let name = object_path(&mut p)?;
    let change = if p.parse_keywords(&[Keyword::RENAME, Keyword::TO]) {
        let to = object_path(&mut p)?;
        end(&mut p, "ALTER VIEW")?;
        ViewChange::Rename(to)
    } else if p.parse_keyword(Keyword::AS) {
        let query = remaining_text(sql, &mut p)?;
        match super::statement::parse_sqlparser(&query)? {
            datafusion::sql::sqlparser::ast::Statement::Query(_) => ViewChange::Query(query),
            _ => {
                return Err(SqlError::Syntax(
                    "ALTER VIEW ... AS must be followed by a query".into(),
                ))
            }
        }
    } else {
        return Err(SqlError::Syntax(
            "expected ALTER VIEW name RENAME TO new_name or ALTER VIEW name AS query".into(),
        ));
    };
    Ok(Statement::AlterView { name, change })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sql: &str) -> TableChange {
        match parse_table(sql).unwrap() {
            Statement::AlterTable { change, .. } => change,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_flink_alter_table() {
        assert_eq!(
            change("alter table orders rename to orders2"),
            TableChange::Rename(ObjectPath::bare("orders2"))
        );
        assert_eq!(
            change("alter table orders2 rename amount to amount1"),
            TableChange::RenameColumn {
                from: "amount".into(),
                to: "amount1".into()
            }
        );
        assert_eq!(change("alter table t reset ()"), TableChange::Reset(vec![]));
        let TableChange::Add(added) = change(
            "alter table orders2 add (user_email string not null after `user`, cleaned as coalesce(product, 'x') after product, id bigint not null first)",
        ) else {
            panic!()
        };
        assert_eq!(added.len(), 3);
        assert_eq!(added[0].1, Some(Position::After("user".into())));
        assert_eq!(added[2].1, Some(Position::First));
        let TableChange::Modify(modified) = change(
            "alter table orders2 modify constraint order_constraint primary key (trade_order_id) not enforced",
        ) else {
            panic!()
        };
        assert_eq!(
            modified[0].0,
            SchemaItem::PrimaryKey {
                name: Some("order_constraint".into()),
                columns: vec!["trade_order_id".into()]
            }
        );
        assert_eq!(
            change("alter table orders2 drop (amount1, product)"),
            TableChange::DropColumns(vec!["amount1".into(), "product".into()])
        );
        assert_eq!(
            change("alter table orders2 drop watermark"),
            TableChange::DropWatermark
        );
        assert!(parse_table("alter table t frobnicate").is_err());
        // PostgreSQL's ADD COLUMN, which Flink does not take, unless `column` is the name.
        let TableChange::Add(added) = change("alter table t add column note string") else {
            panic!()
        };
        assert!(matches!(&added[0].0, SchemaItem::Column { column, .. } if column.name == "note"));
        let TableChange::Add(added) = change("alter table t add column bigint") else {
            panic!()
        };
        assert!(
            matches!(&added[0].0, SchemaItem::Column { column, .. } if column.name == "column")
        );
    }
}
