//! Flink's CREATE TABLE: columns with Flink types, `WATERMARK FOR`, `PRIMARY KEY ... NOT
//! ENFORCED`, and `WITH ('key' = 'value', ...)`.

use std::collections::BTreeMap;

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::data_type::TypeParser;
use super::normalize_ident;
use super::statement::Statement;
use crate::catalog::{CatalogTable, Column, FlinkType, MetadataColumn, ObjectPath, WatermarkSpec};
use crate::error::{Result, SqlError};

fn ident(p: &mut Parser) -> Result<String> {
    Ok(normalize_ident(&p.parse_identifier()?))
}

/// `('key' = 'value', ...)`, after WITH or SET.
pub(super) fn parse_options(p: &mut Parser) -> Result<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    p.expect_token(&Token::LParen)?;
    if p.consume_token(&Token::RParen) {
        return Ok(options);
    }
    loop {
        let key = p.parse_literal_string()?;
        p.expect_token(&Token::Eq)?;
        let value = p.parse_literal_string()?;
        if options.insert(key.clone(), value).is_some() {
            return Err(SqlError::InvalidParameter(format!(
                "option '{key}' is given twice"
            )));
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    Ok(options)
}

/// A name of one to three parts, each case-normalized.
pub(super) fn object_path(p: &mut Parser) -> Result<ObjectPath> {
    let name = p.parse_object_name(false)?;
    let parts = name
        .0
        .iter()
        .map(|part| {
            part.as_ident()
                .map(normalize_ident)
                .ok_or_else(|| SqlError::Syntax(format!("'{name}' is not a name")))
        })
        .collect::<Result<Vec<_>>>()?;
    ObjectPath::try_new(parts)
}

/// One entry of a table's schema, as CREATE TABLE and ALTER TABLE ... ADD | MODIFY
/// write it.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaItem {
    /// A column; `key` when it is declared `PRIMARY KEY NOT ENFORCED` itself.
    Column {
        column: Column,
        key: bool,
    },
    Watermark(WatermarkSpec),
    /// `[CONSTRAINT name] PRIMARY KEY (columns) NOT ENFORCED`.
    PrimaryKey {
        name: Option<String>,
        columns: Vec<String>,
    },
}

fn not_enforced(p: &mut Parser) -> Result<()> {
    match p.parse_keywords(&[Keyword::NOT, Keyword::ENFORCED]) {
        true => Ok(()),
        false => Err(SqlError::NotSupported(
            "Flink supports only PRIMARY KEY ... NOT ENFORCED".into(),
        )),
    }
}

/// Parses one schema entry: a column (physical, computed or metadata), a watermark or a
/// primary key.
pub(super) fn parse_item(p: &mut Parser) -> Result<SchemaItem> {
    if matches!(&p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("WATERMARK"))
    {
        p.next_token();
        p.expect_keyword(Keyword::FOR)?;
        let column = ident(p)?;
        p.expect_keyword(Keyword::AS)?;
        let expr = p.parse_expr()?;
        super::depth::check(&expr)?;
        return Ok(SchemaItem::Watermark(WatermarkSpec {
            column,
            expression: expr.to_string(),
        }));
    }
    let constraint = match p.parse_keyword(Keyword::CONSTRAINT) {
        true => Some(ident(p)?),
        false => None,
    };
    if p.parse_keywords(&[Keyword::PRIMARY, Keyword::KEY]) {
        p.expect_token(&Token::LParen)?;
        let mut columns = vec![ident(p)?];
        while p.consume_token(&Token::Comma) {
            columns.push(ident(p)?);
        }
        p.expect_token(&Token::RParen)?;
        not_enforced(p)?;
        return Ok(SchemaItem::PrimaryKey {
            name: constraint,
            columns,
        });
    }
    if constraint.is_some() {
        return Err(SqlError::NotSupported(
            "a named constraint must be a PRIMARY KEY (...) NOT ENFORCED".into(),
        ));
    }
    let name = ident(p)?;
    let comment = |p: &mut Parser| -> Result<Option<String>> {
        match p.parse_keyword(Keyword::COMMENT) {
            true => Ok(Some(p.parse_literal_string()?)),
            false => Ok(None),
        }
    };
    if p.parse_keyword(Keyword::AS) {
        // The type is inferred when the table is created (see handler::ddl).
        let expr = p.parse_expr()?;
        super::depth::check(&expr)?;
        let comment = comment(p)?;
        return Ok(SchemaItem::Column {
            column: Column {
                name,
                data_type: FlinkType::String,
                nullable: true,
                expression: Some(expr.to_string()),
                metadata: None,
                comment,
            },
            key: false,
        });
    }
    let (data_type, mut nullable) = TypeParser::new(p).parse_column_type()?;
    let key = p.parse_keywords(&[Keyword::PRIMARY, Keyword::KEY]);
    if key {
        not_enforced(p)?;
        nullable = false;
    }
    let metadata = match p.parse_keyword(Keyword::METADATA) {
        false => None,
        true => {
            let key = match p.parse_keyword(Keyword::FROM) {
                true => p.parse_literal_string()?,
                false => name.clone(),
            };
            let is_virtual = matches!(
                &p.peek_token().token,
                Token::Word(w) if w.value.eq_ignore_ascii_case("VIRTUAL")
            );
            if is_virtual {
                p.next_token();
            }
            Some(MetadataColumn { key, is_virtual })
        }
    };
    let comment = comment(p)?;
    Ok(SchemaItem::Column {
        column: Column {
            name,
            data_type,
            nullable,
            expression: None,
            metadata,
            comment,
        },
        key,
    })
}

/// What `CREATE TABLE ... LIKE` takes of its source table (Flink's `FeatureOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeFeature {
    All,
    Constraints,
    Generated,
    Metadata,
    Options,
    Partitions,
    Watermarks,
}

/// How it takes it (Flink's `MergingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeStrategy {
    Including,
    Excluding,
    Overwriting,
}

/// `LIKE source [(INCLUDING ALL OVERWRITING OPTIONS ...)]` after a CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLike {
    pub source: ObjectPath,
    pub options: Vec<(LikeStrategy, LikeFeature)>,
}

fn parse_like(p: &mut Parser) -> Result<TableLike> {
    let source = object_path(p)?;
    let mut options = Vec::new();
    if p.consume_token(&Token::LParen) {
        loop {
            let word = |p: &mut Parser| p.next_token().token.to_string().to_ascii_uppercase();
            let strategy = match word(p).as_str() {
                "INCLUDING" => LikeStrategy::Including,
                "EXCLUDING" => LikeStrategy::Excluding,
                "OVERWRITING" => LikeStrategy::Overwriting,
                other => {
                    return Err(SqlError::Syntax(format!(
                    "expected INCLUDING, EXCLUDING or OVERWRITING in the LIKE clause, not {other}"
                )))
                }
            };
            let feature = match word(p).as_str() {
                "ALL" => LikeFeature::All,
                "CONSTRAINTS" => LikeFeature::Constraints,
                "GENERATED" => LikeFeature::Generated,
                "METADATA" => LikeFeature::Metadata,
                "OPTIONS" => LikeFeature::Options,
                "PARTITIONS" => LikeFeature::Partitions,
                "WATERMARKS" => LikeFeature::Watermarks,
                other => {
                    return Err(SqlError::Syntax(format!(
                        "expected ALL, CONSTRAINTS, GENERATED, METADATA, OPTIONS, PARTITIONS or WATERMARKS in the LIKE clause, not {other}"
                    )))
                }
            };
            // As Flink's parser: ALL, CONSTRAINTS and PARTITIONS are all or nothing.
            if strategy == LikeStrategy::Overwriting
                && matches!(
                    feature,
                    LikeFeature::All | LikeFeature::Constraints | LikeFeature::Partitions
                )
            {
                return Err(SqlError::Syntax(format!(
                    "Illegal merging strategy 'OVERWRITING' for '{}' option.",
                    format!("{feature:?}").to_ascii_uppercase()
                )));
            }
            if options.iter().any(|(_, f)| *f == feature) {
                return Err(SqlError::Syntax(format!(
                    "Each like option feature can be declared only once. Duplicated option: {}",
                    format!("{feature:?}").to_ascii_uppercase()
                )));
            }
            options.push((strategy, feature));
            if p.consume_token(&Token::RParen) {
                break;
            }
            let _ = p.consume_token(&Token::Comma);
        }
    }
    Ok(TableLike { source, options })
}

/// Checks what a complete definition's key, watermark and partitions name, and makes the
/// key's columns NOT NULL, as Flink does however the key is declared.
pub(crate) fn check_references(table: &mut CatalogTable) -> Result<()> {
    for key_col in table.primary_key.iter().flatten() {
        let Some(column) = table.columns.iter_mut().find(|c| &c.name == key_col) else {
            return Err(SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: key_col.clone(),
            });
        };
        column.nullable = false;
    }
    table.check_partition_keys()?;
    if let Some(w) = &table.watermark {
        if !table.columns.iter().any(|c| c.name == w.column) {
            return Err(SqlError::UndefinedColumn {
                table: table.name.clone(),
                column: w.column.clone(),
            });
        }
    }
    Ok(())
}

/// Parses `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) [WITH (...)]`.
pub(super) fn parse(sql: &str) -> Result<Statement> {
    let mut p = Parser::new(&super::DIALECT).try_with_sql(sql)?;
    p.expect_keyword(Keyword::CREATE)?;
    let replace = p.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    let temporary = p.parse_keyword(Keyword::TEMPORARY);
    p.expect_keyword(Keyword::TABLE)?;
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let path = object_path(&mut p)?;
    let name = path.name().to_string();
    let mut columns: Vec<Column> = Vec::new();
    let mut watermark = None;
    let mut primary_key = None;
    let mut primary_key_name = None;
    // CREATE TABLE ... AS SELECT may leave the column list out.
    let mut listed = p.consume_token(&Token::LParen);
    while listed {
        match parse_item(&mut p)? {
            SchemaItem::Watermark(w) => watermark = Some(w),
            SchemaItem::PrimaryKey { name, columns } => {
                primary_key = Some(columns);
                primary_key_name = name;
            }
            SchemaItem::Column { column, key } => {
                if columns.iter().any(|c| c.name == column.name) {
                    return Err(SqlError::DuplicateObject(format!(
                        "column '{}'",
                        column.name
                    )));
                }
                if key {
                    primary_key = Some(vec![column.name.clone()]);
                }
                columns.push(column);
            }
        }
        // After the last item, its closing parenthesis.
        listed = p.consume_token(&Token::Comma);
        if !listed {
            p.expect_token(&Token::RParen)?;
        }
    }
    let comment = match p.parse_keyword(Keyword::COMMENT) {
        true => Some(p.parse_literal_string()?),
        false => None,
    };
    let partition_keys = match p.parse_keywords(&[Keyword::PARTITIONED, Keyword::BY]) {
        true => {
            p.expect_token(&Token::LParen)?;
            let mut keys = vec![ident(&mut p)?];
            while p.consume_token(&Token::Comma) {
                keys.push(ident(&mut p)?);
            }
            p.expect_token(&Token::RParen)?;
            keys
        }
        false => Vec::new(),
    };
    let options = match p.parse_keyword(Keyword::WITH) {
        true => parse_options(&mut p)?,
        false => BTreeMap::new(),
    };
    let like = match p.parse_keyword(Keyword::LIKE) {
        true => Some(parse_like(&mut p)?),
        false => None,
    };
    let query = match like.is_none() && p.parse_keyword(Keyword::AS) {
        true => Some(super::statement::remaining_text(sql, &mut p)?),
        false => None,
    };
    if replace && query.is_none() {
        return Err(SqlError::Syntax(
            "CREATE OR REPLACE TABLE needs AS <query>".into(),
        ));
    }
    if query.is_none() && p.peek_token().token != Token::EOF {
        return Err(SqlError::Syntax(format!(
            "unexpected {} at the end of CREATE TABLE",
            p.peek_token().token
        )));
    }
    if columns.is_empty() && query.is_none() && like.is_none() {
        return Err(SqlError::Syntax(format!(
            "table '{name}' needs at least one column"
        )));
    }
    let mut table = CatalogTable {
        name: name.clone(),
        columns,
        watermark,
        primary_key,
        options,
        primary_key_name,
        comment,
        partition_keys,
    };
    // With AS or LIKE, the key, the watermark and the partitions may name columns of the
    // query or of the source table: checked once those are known (handler::ctas,
    // handler::table_like).
    if query.is_none() && like.is_none() {
        check_references(&mut table)?;
    }
    if let Some(query) = query {
        match super::statement::parse_sqlparser(&query)? {
            datafusion::sql::sqlparser::ast::Statement::Query(_) => {}
            _ => {
                return Err(SqlError::Syntax(
                    "CREATE TABLE ... AS must be followed by a query".into(),
                ))
            }
        }
        return Ok(Statement::CreateTableAs {
            table,
            path,
            query,
            if_not_exists,
            replace,
            temporary,
        });
    }
    Ok(Statement::CreateTable {
        table,
        path,
        if_not_exists,
        temporary,
        like,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flink_ddl() {
        let s = crate::parser::parse_statement(
            "CREATE TABLE IF NOT EXISTS Bids (auction BIGINT NOT NULL, `Price` DECIMAL(10, 2), m MAP<STRING, ARRAY<INT>>, \
             ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (auction) NOT ENFORCED) \
             WITH ('connector' = 'datagen', 'rows-per-second' = '5')",
        )
        .unwrap();
        let Statement::CreateTable {
            table,
            if_not_exists,
            ..
        } = s
        else {
            panic!()
        };
        assert!(if_not_exists);
        assert_eq!(table.name, "bids");
        assert_eq!(table.columns[1].name, "price");
        assert_eq!(table.columns[1].data_type, FlinkType::Decimal(10, 2));
        assert_eq!(
            table.columns[2].data_type,
            FlinkType::Map(
                Box::new(FlinkType::String),
                Box::new(FlinkType::Array(Box::new(FlinkType::Int)))
            )
        );
        assert!(!table.columns[0].nullable);
        assert_eq!(table.watermark.unwrap().column, "ts");
        assert_eq!(table.options["rows-per-second"], "5");
    }

    #[test]
    fn rejects_unknown_types() {
        assert!(matches!(
            parse("CREATE TABLE t (a WIBBLE) WITH ('connector' = 'blackhole')"),
            Err(SqlError::UndefinedType(_))
        ));
    }
}
