//! Parses Flink type syntax: `INT`, `DECIMAL(10, 2)`, `TIMESTAMP(3) WITH LOCAL TIME ZONE`,
//! `ARRAY<INT>`, `MAP<STRING, INT>`, `ROW<a INT, b STRING>`, with `NOT NULL`.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::normalize_ident;
use crate::catalog::FlinkType;
use crate::error::{Result, SqlError};

/// Parses a type; `pending_gt` counts a `>` left over from a `>>` token closing two levels.
pub(crate) struct TypeParser<'p, 'a> {
    pub parser: &'p mut Parser<'a>,
    pending_gt: u32,
}

impl<'p, 'a> TypeParser<'p, 'a> {
    pub fn new(parser: &'p mut Parser<'a>) -> Self {
        Self {
            parser,
            pending_gt: 0,
        }
    }

    fn expect_lt(&mut self) -> Result<()> {
        self.parser.expect_token(&Token::Lt)?;
        Ok(())
    }

    fn expect_gt(&mut self) -> Result<()> {
        if self.pending_gt > 0 {
            self.pending_gt -= 1;
            return Ok(());
        }
        match self.parser.next_token().token {
            Token::Gt => Ok(()),
            Token::ShiftRight => {
                self.pending_gt += 1;
                Ok(())
            }
            other => Err(SqlError::Syntax(format!(
                "expected '>' in type, found {other}"
            ))),
        }
    }

    fn optional_number(&mut self) -> Result<Option<u64>> {
        if !self.parser.consume_token(&Token::LParen) {
            return Ok(None);
        }
        let n = self.number()?;
        self.parser.expect_token(&Token::RParen)?;
        Ok(Some(n))
    }

    fn number(&mut self) -> Result<u64> {
        match self.parser.next_token().token {
            Token::Number(n, _) => n
                .parse()
                .map_err(|_| SqlError::Syntax(format!("'{n}' is not a valid length or precision"))),
            other => Err(SqlError::Syntax(format!(
                "expected a number in type, found {other}"
            ))),
        }
    }

    fn precision(&mut self, default: u8, max: u8, what: &str) -> Result<u8> {
        let p = self.optional_number()?.unwrap_or(default as u64);
        if p > max as u64 {
            return Err(SqlError::InvalidParameter(format!(
                "{what} precision must be between 0 and {max}, not {p}"
            )));
        }
        Ok(p as u8)
    }

    fn word(&mut self) -> Result<String> {
        match self.parser.next_token().token {
            Token::Word(w) => Ok(w.value.to_ascii_uppercase()),
            other => Err(SqlError::Syntax(format!("expected a type, found {other}"))),
        }
    }

    /// Consumes `words` if the next tokens are exactly these words; otherwise consumes
    /// nothing. Looks ahead instead of rewinding, which whitespace tokens make unreliable.
    fn keywords(&mut self, words: &[&str]) -> bool {
        let all = words.iter().enumerate().all(|(i, w)| {
            matches!(&self.parser.peek_nth_token(i).token, Token::Word(t) if t.value.eq_ignore_ascii_case(w))
        });
        if all {
            for _ in words {
                self.parser.next_token();
            }
        }
        all
    }

    /// Parses a type and its nullability; returns (type, nullable).
    pub fn parse_column_type(&mut self) -> Result<(FlinkType, bool)> {
        let t = self.parse_type()?;
        let nullable = if self.keywords(&["NOT", "NULL"]) {
            false
        } else {
            self.keywords(&["NULL"]);
            true
        };
        Ok((t, nullable))
    }

    /// Parses a type.
    pub fn parse_type(&mut self) -> Result<FlinkType> {
        let word = self.word()?;
        Ok(match word.as_str() {
            "BOOLEAN" | "BOOL" => FlinkType::Boolean,
            "TINYINT" => FlinkType::TinyInt,
            "SMALLINT" => FlinkType::SmallInt,
            "INT" | "INTEGER" => FlinkType::Int,
            "BIGINT" => FlinkType::BigInt,
            "FLOAT" | "REAL" => FlinkType::Float,
            "DOUBLE" => {
                self.keywords(&["PRECISION"]);
                FlinkType::Double
            }
            "DECIMAL" | "DEC" | "NUMERIC" => {
                let (mut p, mut s) = (10u64, 0u64);
                if self.parser.consume_token(&Token::LParen) {
                    p = self.number()?;
                    if self.parser.consume_token(&Token::Comma) {
                        s = self.number()?;
                    }
                    self.parser.expect_token(&Token::RParen)?;
                }
                if !(1..=38).contains(&p) || s > p {
                    return Err(SqlError::InvalidParameter(format!(
                        "DECIMAL({p}, {s}) is invalid: precision must be 1..38 and scale at most the precision"
                    )));
                }
                FlinkType::Decimal(p as u8, s as i8)
            }
            "CHAR" | "CHARACTER" => {
                if self.keywords(&["VARYING"]) {
                    FlinkType::Varchar(self.optional_number()?.unwrap_or(1) as u32)
                } else {
                    FlinkType::Char(self.optional_number()?.unwrap_or(1) as u32)
                }
            }
            "VARCHAR" => match self.optional_number()? {
                Some(n) => FlinkType::Varchar(n.min(u32::MAX as u64) as u32),
                None => FlinkType::String,
            },
            "STRING" | "TEXT" => FlinkType::String,
            "BINARY" => FlinkType::Binary(self.optional_number()?.unwrap_or(1) as u32),
            "VARBINARY" => match self.optional_number()? {
                Some(n) => FlinkType::Varbinary(n as u32),
                None => FlinkType::Bytes,
            },
            "BYTES" | "BYTEA" => FlinkType::Bytes,
            "DATE" => FlinkType::Date,
            "TIME" => {
                let p = self.precision(0, 9, "TIME")?;
                self.keywords(&["WITHOUT", "TIME", "ZONE"]);
                FlinkType::Time(p)
            }
            "TIMESTAMP" => {
                let p = self.precision(6, 9, "TIMESTAMP")?;
                if self.keywords(&["WITH", "LOCAL", "TIME", "ZONE"]) {
                    FlinkType::TimestampLtz(p)
                } else {
                    self.keywords(&["WITHOUT", "TIME", "ZONE"]);
                    FlinkType::Timestamp(p)
                }
            }
            "TIMESTAMP_LTZ" => FlinkType::TimestampLtz(self.precision(6, 9, "TIMESTAMP_LTZ")?),
            "ARRAY" => {
                self.expect_lt()?;
                let inner = self.parse_type()?;
                self.expect_gt()?;
                FlinkType::Array(Box::new(inner))
            }
            "MAP" => {
                self.expect_lt()?;
                let k = self.parse_type()?;
                self.parser.expect_token(&Token::Comma)?;
                let v = self.parse_type()?;
                self.expect_gt()?;
                FlinkType::Map(Box::new(k), Box::new(v))
            }
            "ROW" => {
                let angle = if self.parser.consume_token(&Token::Lt) {
                    true
                } else {
                    self.parser.expect_token(&Token::LParen)?;
                    false
                };
                let mut fields = Vec::new();
                loop {
                    let name = normalize_ident(&self.parser.parse_identifier()?);
                    let t = self.parse_type()?;
                    fields.push((name, t));
                    if !self.parser.consume_token(&Token::Comma) {
                        break;
                    }
                }
                if angle {
                    self.expect_gt()?;
                } else {
                    self.parser.expect_token(&Token::RParen)?;
                }
                FlinkType::Row(fields)
            }
            other => return Err(SqlError::UndefinedType(other.to_ascii_lowercase())),
        })
    }
}
