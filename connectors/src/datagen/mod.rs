//! The `datagen` connector (Flink's `DataGenTableSourceFactory`): random or sequential
//! rows at `rows-per-second`, unbounded unless `number-of-rows` is set or a field is a
//! sequence. Options are checked here into [`FieldSpec`]s; [`generator`] fills Arrow
//! arrays from them a batch at a time; [`source`] splits the work over subtasks and
//! paces it.

mod generator;
mod source;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use eddy_runtime::connector::Source;
use eddy_runtime::jobgraph::ConnectorSpec;

pub use source::{DataGenReader, DataGenSource};

use crate::error::{ConnectorError, Result};
use crate::factory::TableFactory;
use crate::options::{get, get_positive_u64, parse_duration, OptionKey};
use crate::types::sql_type_name;

const IDENTIFIER: &str = "datagen";

/// `rows-per-second`.
pub const ROWS_PER_SECOND: OptionKey = OptionKey::with_default(
    "rows-per-second",
    "10000",
    "Rows generated per second, over all subtasks.",
);
/// `number-of-rows`.
pub const NUMBER_OF_ROWS: OptionKey = OptionKey::new(
    "number-of-rows",
    "Total rows to generate; the source is unbounded when absent.",
);
/// `fields.#.kind`.
pub const FIELD_KIND: OptionKey =
    OptionKey::with_default("fields.#.kind", "random", "'random' or 'sequence'.");
/// `fields.#.min`.
pub const FIELD_MIN: OptionKey =
    OptionKey::new("fields.#.min", "Smallest random value of a numeric column.");
/// `fields.#.max`.
pub const FIELD_MAX: OptionKey =
    OptionKey::new("fields.#.max", "Largest random value of a numeric column.");
/// `fields.#.max-past`.
pub const FIELD_MAX_PAST: OptionKey = OptionKey::with_default(
    "fields.#.max-past",
    "0",
    "Random timestamps and dates fall within this long before now.",
);
/// `fields.#.length`.
pub const FIELD_LENGTH: OptionKey = OptionKey::with_default(
    "fields.#.length",
    "100",
    "Length of random strings and bytes.",
);
/// `fields.#.start`.
pub const FIELD_START: OptionKey = OptionKey::new("fields.#.start", "First value of a sequence.");
/// `fields.#.end`.
pub const FIELD_END: OptionKey = OptionKey::new("fields.#.end", "Last value of a sequence.");
/// `fields.#.null-rate`.
pub const FIELD_NULL_RATE: OptionKey = OptionKey::with_default(
    "fields.#.null-rate",
    "0",
    "Fraction of NULL values, between 0 and 1.",
);

/// The `datagen` connector.
#[derive(Debug, Default)]
pub struct DataGenTableFactory;

/// How one column is generated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSpec {
    pub(crate) data_type: DataType,
    pub(crate) kind: FieldKind,
    pub(crate) null_rate: f64,
}

/// Random values, or a sequence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldKind {
    Random(RandomSpec),
    /// `start..=end`, strided over subtasks.
    Sequence {
        start: i64,
        end: i64,
    },
}

/// Parameters of random values, by type family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RandomSpec {
    Boolean,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    /// Unscaled bounds.
    Decimal {
        min: i128,
        max: i128,
    },
    /// Strings and bytes of a fixed length.
    Text {
        length: usize,
    },
    Date {
        max_past: Duration,
    },
    Time,
    Timestamp {
        max_past: Duration,
    },
}

/// A datagen table's options, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DataGenConfig {
    pub(crate) rows_per_second: u64,
    pub(crate) number_of_rows: Option<u64>,
    pub(crate) fields: Vec<FieldSpec>,
}

impl DataGenConfig {
    /// Whether generation ends by itself.
    pub(crate) fn is_bounded(&self) -> bool {
        self.number_of_rows.is_some()
            || self
                .fields
                .iter()
                .any(|f| matches!(f.kind, FieldKind::Sequence { .. }))
    }

    pub(crate) fn parse(schema: &Schema, options: &BTreeMap<String, String>) -> Result<Self> {
        let rows_per_second = get_positive_u64(options, &ROWS_PER_SECOND)?.unwrap_or(10_000);
        let number_of_rows = match get(options, &NUMBER_OF_ROWS) {
            None => None,
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                ConnectorError::invalid(NUMBER_OF_ROWS.key, v, "expected a non-negative integer")
            })?),
        };
        let fields = schema
            .fields()
            .iter()
            .map(|f| parse_field(f, options))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rows_per_second,
            number_of_rows,
            fields,
        })
    }
}

/// An option of one column, with its key spelled out.
fn field_option<'a>(
    options: &'a BTreeMap<String, String>,
    key: &OptionKey,
    column: &str,
) -> (String, Option<&'a str>) {
    let name = key.for_column(column);
    let value = options.get(&name).map(String::as_str);
    (name, value)
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| ConnectorError::invalid(key, value, format!("expected {what}")))
}

fn integer_range(data_type: &DataType) -> Option<(i64, i64)> {
    match data_type {
        DataType::Int8 => Some((i8::MIN.into(), i8::MAX.into())),
        DataType::Int16 => Some((i16::MIN.into(), i16::MAX.into())),
        DataType::Int32 => Some((i32::MIN.into(), i32::MAX.into())),
        DataType::Int64 => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

fn parse_field(field: &Field, options: &BTreeMap<String, String>) -> Result<FieldSpec> {
    let column = field.name();
    let data_type = field.data_type();
    let unsupported = || ConnectorError::UnsupportedType {
        connector_or_format: "connector 'datagen'".into(),
        column: column.clone(),
        data_type: sql_type_name(data_type),
    };
    let opt = |key: &OptionKey| field_option(options, key, column);
    let not_for = |(key, value): (String, Option<&str>), why: &str| match value {
        Some(v) => Err(ConnectorError::invalid(&key, v, why.replace("{c}", column))),
        None => Ok(()),
    };

    let (null_key, null_rate) = opt(&FIELD_NULL_RATE);
    let null_rate = match null_rate {
        None => 0.0,
        Some(v) => {
            let rate: f64 = parse_number(&null_key, v, "a number between 0 and 1")?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConnectorError::invalid(
                    &null_key,
                    v,
                    "expected a number between 0 and 1",
                ));
            }
            if rate > 0.0 && !field.is_nullable() {
                return Err(ConnectorError::invalid(
                    &null_key,
                    v,
                    format!("column '{column}' is NOT NULL"),
                ));
            }
            rate
        }
    };

    let (kind_key, kind) = opt(&FIELD_KIND);
    let kind = match kind.unwrap_or("random") {
        "random" => {
            not_for(
                opt(&FIELD_START),
                "applies to sequence fields; set 'fields.{c}.kind' = 'sequence'",
            )?;
            not_for(
                opt(&FIELD_END),
                "applies to sequence fields; set 'fields.{c}.kind' = 'sequence'",
            )?;
            FieldKind::Random(parse_random(field, options)?.ok_or_else(unsupported)?)
        }
        "sequence" => {
            let sequence_type = integer_range(data_type).is_some()
                || matches!(
                    data_type,
                    DataType::Float32
                        | DataType::Float64
                        | DataType::Decimal128(_, _)
                        | DataType::Utf8
                );
            if !sequence_type {
                return Err(ConnectorError::invalid(
                    &kind_key,
                    "sequence",
                    format!(
                        "column '{column}' is {}; sequences are numeric or STRING",
                        sql_type_name(data_type)
                    ),
                ));
            }
            for key in [&FIELD_MIN, &FIELD_MAX, &FIELD_MAX_PAST, &FIELD_LENGTH] {
                not_for(
                    opt(key),
                    "applies to random fields, but 'fields.{c}.kind' is 'sequence'",
                )?;
            }
            parse_sequence(field, options)?
        }
        other => {
            return Err(ConnectorError::invalid(
                &kind_key,
                other,
                "expected 'random' or 'sequence'",
            ))
        }
    };
    Ok(FieldSpec {
        data_type: data_type.clone(),
        kind,
        null_rate,
    })
}

fn parse_sequence(field: &Field, options: &BTreeMap<String, String>) -> Result<FieldKind> {
    let column = field.name();
    let bound = |key: &OptionKey| -> Result<i64> {
        match field_option(options, key, column) {
            (name, Some(v)) => parse_number(&name, v, "an integer"),
            (name, None) => Err(ConnectorError::MissingOption {
                connector: IDENTIFIER.into(),
                option: name,
            }),
        }
    };
    let (start, end) = (bound(&FIELD_START)?, bound(&FIELD_END)?);
    let end_key = FIELD_END.for_column(column);
    if start > end {
        return Err(ConnectorError::invalid(
            &end_key,
            &end.to_string(),
            format!("the end is less than the start ({start})"),
        ));
    }
    if let Some((lo, hi)) = integer_range(field.data_type()) {
        if start < lo || end > hi {
            return Err(ConnectorError::invalid(
                &end_key,
                &end.to_string(),
                format!(
                    "sequence {start}..{end} does not fit column '{column}' of type {}",
                    sql_type_name(field.data_type())
                ),
            ));
        }
    }
    if let DataType::Decimal128(p, s) = field.data_type() {
        let limit = 10i128.pow(u32::from(*p)) - 1;
        let scale = 10i128.pow(u32::try_from(*s).unwrap_or(0));
        if i128::from(start) * scale < -limit || i128::from(end) * scale > limit {
            return Err(ConnectorError::invalid(
                &end_key,
                &end.to_string(),
                format!("sequence does not fit column '{column}' of type DECIMAL({p}, {s})"),
            ));
        }
    }
    Ok(FieldKind::Sequence { start, end })
}

/// Longest random string or byte string.
const MAX_LENGTH: usize = 1 << 16;

/// Fails unless a float column's `min..=max` is finite in the column's type.
fn float_span(
    column: &str,
    data_type: &DataType,
    finite: bool,
    options: &BTreeMap<String, String>,
) -> Result<()> {
    if finite {
        return Ok(());
    }
    let (name, value) = field_option(options, &FIELD_MAX, column);
    let (name, value) = match value {
        Some(v) => (name, v),
        None => match field_option(options, &FIELD_MIN, column) {
            (name, Some(v)) => (name, v),
            (name, None) => (name, ""),
        },
    };
    Err(ConnectorError::invalid(
        &name,
        value,
        format!(
            "the range of column '{column}' does not fit its type {}",
            sql_type_name(data_type)
        ),
    ))
}

/// Random parameters of a column; `None` when datagen cannot generate its type.
fn parse_random(field: &Field, options: &BTreeMap<String, String>) -> Result<Option<RandomSpec>> {
    let column = field.name();
    let data_type = field.data_type();
    let opt = |key: &OptionKey| field_option(options, key, column);
    let only_for = |key: &OptionKey, family: &str| match opt(key) {
        (name, Some(v)) => Err(ConnectorError::invalid(
            &name,
            v,
            format!(
                "column '{column}' is {}; the option applies to {family} columns",
                sql_type_name(data_type)
            ),
        )),
        _ => Ok(()),
    };
    let numeric = matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
    );
    if !numeric {
        only_for(&FIELD_MIN, "numeric")?;
        only_for(&FIELD_MAX, "numeric")?;
    }
    let temporal = matches!(data_type, DataType::Timestamp(_, _) | DataType::Date32);
    if !temporal {
        only_for(&FIELD_MAX_PAST, "TIMESTAMP and DATE")?;
    }
    if !matches!(data_type, DataType::Utf8 | DataType::Binary) {
        only_for(&FIELD_LENGTH, "STRING and BYTES")?;
    }
    let bounds = |default: (f64, f64)| -> Result<(f64, f64)> {
        let mut out = default;
        for (key, slot) in [(&FIELD_MIN, &mut out.0), (&FIELD_MAX, &mut out.1)] {
            if let (name, Some(v)) = opt(key) {
                let n: f64 = parse_number(&name, v, "a number")?;
                if !n.is_finite() {
                    return Err(ConnectorError::invalid(
                        &name,
                        v,
                        "expected a finite number",
                    ));
                }
                *slot = n;
            }
        }
        if out.0 > out.1 {
            let (name, v) = opt(&FIELD_MAX);
            return Err(ConnectorError::invalid(
                &name,
                v.unwrap_or(""),
                format!("max is less than min of column '{column}'"),
            ));
        }
        Ok(out)
    };
    let max_past = || -> Result<Duration> {
        match opt(&FIELD_MAX_PAST) {
            (name, Some(v)) => parse_duration(&name, v),
            _ => Ok(Duration::ZERO),
        }
    };
    let spec = match data_type {
        DataType::Boolean => RandomSpec::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let (lo, hi) = integer_range(data_type).unwrap_or((i64::MIN, i64::MAX));
            let mut range = (lo, hi);
            for (key, slot) in [(&FIELD_MIN, &mut range.0), (&FIELD_MAX, &mut range.1)] {
                if let (name, Some(v)) = opt(key) {
                    let n: i64 = parse_number(&name, v, "an integer")?;
                    if n < lo || n > hi {
                        return Err(ConnectorError::invalid(
                            &name,
                            v,
                            format!(
                                "out of range for column '{column}' of type {}",
                                sql_type_name(data_type)
                            ),
                        ));
                    }
                    *slot = n;
                }
            }
            if range.0 > range.1 {
                let (name, v) = opt(&FIELD_MAX);
                return Err(ConnectorError::invalid(
                    &name,
                    v.unwrap_or(""),
                    format!("max is less than min of column '{column}'"),
                ));
            }
            RandomSpec::Int {
                min: range.0,
                max: range.1,
            }
        }
        // Flink's defaults: from the smallest positive value to the largest.
        DataType::Float32 => {
            let (min, max) = bounds((f32::MIN_POSITIVE.into(), f32::MAX.into()))?;
            float_span(
                column,
                data_type,
                (min as f32 - max as f32).is_finite(),
                options,
            )?;
            RandomSpec::Float { min, max }
        }
        DataType::Float64 => {
            let (min, max) = bounds((f64::MIN_POSITIVE, f64::MAX))?;
            float_span(column, data_type, (max - min).is_finite(), options)?;
            RandomSpec::Float { min, max }
        }
        DataType::Decimal128(p, s) => {
            let limit = 10i128.pow(u32::from(*p)) - 1;
            let scale = 10f64.powi(i32::from(*s));
            let type_max = limit as f64 / scale;
            let (min, max) = bounds((-type_max, type_max))?;
            let unscaled = |v: f64| ((v * scale).round() as i128).clamp(-limit, limit);
            RandomSpec::Decimal {
                min: unscaled(min),
                max: unscaled(max),
            }
        }
        DataType::Utf8 | DataType::Binary => {
            let length = match opt(&FIELD_LENGTH) {
                (name, Some(v)) => {
                    let length = parse_number::<usize>(&name, v, "a non-negative integer")?;
                    if length > MAX_LENGTH {
                        return Err(ConnectorError::invalid(
                            &name,
                            v,
                            format!("the length may be at most {MAX_LENGTH}"),
                        ));
                    }
                    length
                }
                _ => 100,
            };
            RandomSpec::Text { length }
        }
        DataType::Date32 => RandomSpec::Date {
            max_past: max_past()?,
        },
        DataType::Time32(_) | DataType::Time64(_) => RandomSpec::Time,
        DataType::Timestamp(_, _) => RandomSpec::Timestamp {
            max_past: max_past()?,
        },
        _ => return Ok(None),
    };
    Ok(Some(spec))
}

impl TableFactory for DataGenTableFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            ROWS_PER_SECOND,
            NUMBER_OF_ROWS,
            FIELD_KIND,
            FIELD_MIN,
            FIELD_MAX,
            FIELD_MAX_PAST,
            FIELD_LENGTH,
            FIELD_START,
            FIELD_END,
            FIELD_NULL_RATE,
        ]
    }

    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.check_keys(table, schema, options)?;
        DataGenConfig::parse(schema, options).map(|_| ())
    }

    fn is_bounded(&self, options: &BTreeMap<String, String>) -> bool {
        options.contains_key(NUMBER_OF_ROWS.key)
            || options
                .iter()
                .any(|(k, v)| FIELD_KIND.matches(k).is_some() && v.as_str() == "sequence")
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let schema = spec.schema.decode()?;
        let config = DataGenConfig::parse(&schema, &spec.options)?;
        Ok(Arc::new(DataGenSource::new(schema, config)))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::TimeUnit;

    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ])
    }

    fn validate(pairs: &[(&str, &str)]) -> Result<()> {
        DataGenTableFactory.validate("t", &schema(), &opts(pairs))
    }

    #[test]
    fn accepts_flink_options() {
        validate(&[
            ("rows-per-second", "5"),
            ("number-of-rows", "100"),
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "1"),
            ("fields.id.end", "100"),
            ("fields.name.length", "10"),
            ("fields.ts.max-past", "5 s"),
            ("fields.name.null-rate", "0.5"),
        ])
        .unwrap();
        let config = DataGenConfig::parse(&schema(), &opts(&[("fields.id.min", "3")])).unwrap();
        assert_eq!(
            config.fields[0].kind,
            FieldKind::Random(RandomSpec::Int {
                min: 3,
                max: i64::MAX
            })
        );
        assert!(!config.is_bounded());
    }

    #[test]
    fn rejects_bad_values() {
        let message = |pairs: &[(&str, &str)]| validate(pairs).unwrap_err().to_string();
        assert!(message(&[("rows-per-second", "0")]).contains("rows-per-second"));
        assert!(message(&[("rows-per-second", "fast")]).contains("positive integer"));
        assert!(message(&[("fields.nope.kind", "random")]).contains("no column 'nope'"));
        assert!(
            message(&[("fields.id.kind", "sequence"), ("fields.id.start", "1")])
                .contains("'fields.id.end'")
        );
        assert!(message(&[("fields.id.kind", "zigzag")]).contains("'random' or 'sequence'"));
        assert!(
            message(&[("fields.id.min", "9"), ("fields.id.max", "1")]).contains("less than min")
        );
        assert!(message(&[("fields.name.min", "1")]).contains("numeric"));
        assert!(message(&[("fields.id.start", "1")]).contains("sequence"));
        assert!(message(&[("fields.id.null-rate", "2")]).contains("between 0 and 1"));
        assert!(message(&[("fields.ts.max-past", "a while")]).contains("duration"));
        assert!(message(&[("fields.name.length", "100000000")]).contains("at most"));
        let floats = Schema::new(vec![
            Field::new("f", DataType::Float32, true),
            Field::new("d", DataType::Float64, true),
        ]);
        let check = |pairs: &[(&str, &str)]| {
            DataGenTableFactory
                .validate("t", &floats, &opts(pairs))
                .map_err(|e| e.to_string())
        };
        assert!(check(&[("fields.f.max", "1e300")])
            .unwrap_err()
            .contains("FLOAT"));
        assert!(
            check(&[("fields.d.min", "-1e308"), ("fields.d.max", "1e308")])
                .unwrap_err()
                .contains("DOUBLE")
        );
        check(&[("fields.d.min", "-1e300"), ("fields.d.max", "1e300")]).unwrap();
        let small = Schema::new(vec![Field::new("b", DataType::Int8, true)]);
        let err = DataGenTableFactory
            .validate("t", &small, &opts(&[("fields.b.max", "1000")]))
            .unwrap_err();
        assert!(err.to_string().contains("TINYINT"), "{err}");
        let nested = Schema::new(vec![Field::new(
            "l",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        )]);
        let err = DataGenTableFactory
            .validate("t", &nested, &opts(&[]))
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::UnsupportedType { .. }),
            "{err}"
        );
    }

    #[test]
    fn boundedness() {
        let f = DataGenTableFactory;
        assert!(!f.is_bounded(&opts(&[])));
        assert!(f.is_bounded(&opts(&[("number-of-rows", "1")])));
        assert!(f.is_bounded(&opts(&[("fields.id.kind", "sequence")])));
    }
}
