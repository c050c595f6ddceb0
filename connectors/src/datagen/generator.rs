//! Fills whole Arrow columns from [`FieldSpec`]s: one vector of values per column per
//! batch, no per-row allocation beyond string contents. A sequence's `k`-th value in a
//! share `index` of `parallelism` is `start + index + k * parallelism` (Flink's
//! `SequenceGenerator` strides the same way), so shares are disjoint and their union is
//! exactly `start..=end`.

use std::fmt::Write as _;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanArray, PrimitiveArray, StringArray, StringBuilder,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::*;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use eddy_runtime::{Result, RuntimeError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{FieldKind, FieldSpec, RandomSpec};

/// One subtask's part of the generated rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) index: u64,
    pub(crate) parallelism: u64,
}

impl Share {
    /// How many of the values `start..=end` fall to this share.
    pub(crate) fn sequence_len(&self, start: i64, end: i64) -> u64 {
        let total = i128::from(end) - i128::from(start) + 1;
        let (index, parallelism) = (i128::from(self.index), i128::from(self.parallelism.max(1)));
        if total <= index {
            return 0;
        }
        u64::try_from((total - index + parallelism - 1) / parallelism).unwrap_or(u64::MAX)
    }

    /// How many of `total` rows fall to this share.
    pub(crate) fn rows_of(&self, total: u64) -> u64 {
        let p = self.parallelism.max(1);
        total / p + u64::from(self.index < total % p)
    }

    /// The `k`-th sequence value of this share.
    fn sequence_value(&self, start: i64, k: u64) -> i128 {
        i128::from(start) + i128::from(self.index) + i128::from(k) * i128::from(self.parallelism)
    }
}

/// Generates batches of a table's rows.
pub(crate) struct RowGenerator {
    schema: SchemaRef,
    fields: Vec<FieldSpec>,
    rng: SmallRng,
    text: String,
    bytes: Vec<u8>,
}

impl RowGenerator {
    pub(crate) fn new(schema: SchemaRef, fields: Vec<FieldSpec>) -> Self {
        Self {
            schema,
            fields,
            rng: SmallRng::from_os_rng(),
            text: String::new(),
            bytes: Vec::new(),
        }
    }

    /// Rows `first..first + rows` of `share`.
    pub(crate) fn generate(
        &mut self,
        share: Share,
        first: u64,
        rows: usize,
    ) -> Result<RecordBatch> {
        let Self {
            schema,
            fields,
            rng,
            text,
            bytes,
        } = self;
        let now = chrono::Utc::now();
        let mut columns = Vec::with_capacity(fields.len());
        for spec in fields.iter() {
            let nulls = (spec.null_rate > 0.0).then(|| {
                NullBuffer::from(
                    (0..rows)
                        .map(|_| !rng.random_bool(spec.null_rate))
                        .collect::<Vec<_>>(),
                )
            });
            let column = match &spec.kind {
                FieldKind::Sequence { start, .. } => {
                    sequence_column(&spec.data_type, share, *start, first, rows, nulls, text)?
                }
                FieldKind::Random(random) => {
                    let mut g = RandomColumn {
                        rng,
                        rows,
                        nulls,
                        now,
                        text,
                        bytes,
                    };
                    g.column(&spec.data_type, random)?
                }
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }
}

fn primitive<T: ArrowPrimitiveType>(
    values: Vec<T::Native>,
    nulls: Option<NullBuffer>,
) -> PrimitiveArray<T> {
    PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
}

fn timestamps<T: ArrowTimestampType>(
    values: Vec<i64>,
    nulls: Option<NullBuffer>,
    tz: &Option<Arc<str>>,
) -> ArrayRef {
    Arc::new(primitive::<T>(values, nulls).with_timezone_opt(tz.clone()))
}

fn unsupported(data_type: &DataType) -> RuntimeError {
    RuntimeError::Internal(format!("datagen cannot generate {data_type}"))
}

fn sequence_column(
    data_type: &DataType,
    share: Share,
    start: i64,
    first: u64,
    rows: usize,
    nulls: Option<NullBuffer>,
    text: &mut String,
) -> Result<ArrayRef> {
    let values = (first..first + rows as u64).map(|k| share.sequence_value(start, k));
    // Values lie within start..=end, which the options check fitted to the type.
    Ok(match data_type {
        DataType::Int8 => Arc::new(primitive::<Int8Type>(
            values.map(|v| v as i8).collect(),
            nulls,
        )),
        DataType::Int16 => Arc::new(primitive::<Int16Type>(
            values.map(|v| v as i16).collect(),
            nulls,
        )),
        DataType::Int32 => Arc::new(primitive::<Int32Type>(
            values.map(|v| v as i32).collect(),
            nulls,
        )),
        DataType::Int64 => Arc::new(primitive::<Int64Type>(
            values.map(|v| v as i64).collect(),
            nulls,
        )),
        DataType::Float32 => Arc::new(primitive::<Float32Type>(
            values.map(|v| v as f32).collect(),
            nulls,
        )),
        DataType::Float64 => Arc::new(primitive::<Float64Type>(
            values.map(|v| v as f64).collect(),
            nulls,
        )),
        DataType::Decimal128(p, s) => {
            let scale = 10i128.pow(u32::try_from(*s).unwrap_or(0));
            Arc::new(
                primitive::<Decimal128Type>(values.map(|v| v * scale).collect(), nulls)
                    .with_precision_and_scale(*p, *s)?,
            )
        }
        DataType::Utf8 => {
            let mut builder = StringBuilder::with_capacity(rows, rows * 8);
            for v in values {
                text.clear();
                let _ = write!(text, "{v}");
                builder.append_value(&*text);
            }
            let (offsets, data, _) = builder.finish().into_parts();
            Arc::new(StringArray::new(offsets, data, nulls))
        }
        other => return Err(unsupported(other)),
    })
}

/// Random values for one column of one batch.
struct RandomColumn<'a> {
    rng: &'a mut SmallRng,
    rows: usize,
    nulls: Option<NullBuffer>,
    now: chrono::DateTime<chrono::Utc>,
    text: &'a mut String,
    bytes: &'a mut Vec<u8>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl RandomColumn<'_> {
    fn ints<T: ArrowPrimitiveType>(
        &mut self,
        min: i64,
        max: i64,
        f: impl Fn(i64) -> T::Native,
    ) -> ArrayRef {
        let values = (0..self.rows)
            .map(|_| f(self.rng.random_range(min..=max)))
            .collect();
        Arc::new(primitive::<T>(values, self.nulls.take()))
    }

    /// `now - random(0..=past)` in a unit where `past` is `max_past` in that unit.
    fn before_now(&mut self, now: i64, past: u128) -> Vec<i64> {
        let past = i64::try_from(past).unwrap_or(i64::MAX);
        (0..self.rows)
            .map(|_| now.saturating_sub(self.rng.random_range(0..=past)))
            .collect()
    }

    fn column(&mut self, data_type: &DataType, spec: &RandomSpec) -> Result<ArrayRef> {
        let rows = self.rows;
        Ok(match (data_type, spec) {
            (DataType::Boolean, RandomSpec::Boolean) => {
                let values = BooleanBuffer::from_iter((0..rows).map(|_| self.rng.random::<bool>()));
                Arc::new(BooleanArray::new(values, self.nulls.take()))
            }
            (DataType::Int8, RandomSpec::Int { min, max }) => {
                self.ints::<Int8Type>(*min, *max, |v| v as i8)
            }
            (DataType::Int16, RandomSpec::Int { min, max }) => {
                self.ints::<Int16Type>(*min, *max, |v| v as i16)
            }
            (DataType::Int32, RandomSpec::Int { min, max }) => {
                self.ints::<Int32Type>(*min, *max, |v| v as i32)
            }
            (DataType::Int64, RandomSpec::Int { min, max }) => {
                self.ints::<Int64Type>(*min, *max, |v| v)
            }
            (DataType::Float32, RandomSpec::Float { min, max }) => {
                let (min, max) = (*min as f32, *max as f32);
                let values = (0..rows)
                    .map(|_| self.rng.random_range(min..=max))
                    .collect();
                Arc::new(primitive::<Float32Type>(values, self.nulls.take()))
            }
            (DataType::Float64, RandomSpec::Float { min, max }) => {
                let values = (0..rows)
                    .map(|_| self.rng.random_range(*min..=*max))
                    .collect();
                Arc::new(primitive::<Float64Type>(values, self.nulls.take()))
            }
            (DataType::Decimal128(p, s), RandomSpec::Decimal { min, max }) => {
                let values = (0..rows)
                    .map(|_| self.rng.random_range(*min..=*max))
                    .collect();
                Arc::new(
                    primitive::<Decimal128Type>(values, self.nulls.take())
                        .with_precision_and_scale(*p, *s)?,
                )
            }
            (DataType::Utf8, RandomSpec::Text { length }) => {
                let mut builder = StringBuilder::with_capacity(rows, rows * length);
                for _ in 0..rows {
                    self.text.clear();
                    while self.text.len() < *length {
                        let mut bits: u64 = self.rng.random();
                        for _ in 0..16.min(length - self.text.len()) {
                            self.text.push(char::from(HEX[(bits & 0xf) as usize]));
                            bits >>= 4;
                        }
                    }
                    builder.append_value(&*self.text);
                }
                let (offsets, data, _) = builder.finish().into_parts();
                Arc::new(StringArray::new(offsets, data, self.nulls.take()))
            }
            (DataType::Binary, RandomSpec::Text { length }) => {
                let mut builder = BinaryBuilder::with_capacity(rows, rows * length);
                self.bytes.resize(*length, 0);
                let nulls = self.nulls.take();
                for i in 0..rows {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        builder.append_null();
                    } else {
                        self.rng.fill(&mut self.bytes[..]);
                        builder.append_value(&*self.bytes);
                    }
                }
                Arc::new(builder.finish())
            }
            (DataType::Date32, RandomSpec::Date { max_past }) => {
                let today = i64::from(self.now.date_naive().to_epoch_days());
                let days = u128::from(max_past.as_secs() / 86_400);
                let values = self.before_now(today, days);
                let values = values.into_iter().map(|d| d as i32).collect();
                Arc::new(primitive::<Date32Type>(values, self.nulls.take()))
            }
            (DataType::Time32(unit), RandomSpec::Time) => {
                let per_day: i32 = if *unit == TimeUnit::Second {
                    86_400
                } else {
                    86_400_000
                };
                let values: Vec<i32> = (0..rows)
                    .map(|_| self.rng.random_range(0..per_day))
                    .collect();
                match unit {
                    TimeUnit::Second => {
                        Arc::new(primitive::<Time32SecondType>(values, self.nulls.take()))
                    }
                    _ => Arc::new(primitive::<Time32MillisecondType>(
                        values,
                        self.nulls.take(),
                    )),
                }
            }
            (DataType::Time64(unit), RandomSpec::Time) => {
                let per_day: i64 = if *unit == TimeUnit::Microsecond {
                    86_400_000_000
                } else {
                    86_400_000_000_000
                };
                let values: Vec<i64> = (0..rows)
                    .map(|_| self.rng.random_range(0..per_day))
                    .collect();
                match unit {
                    TimeUnit::Microsecond => Arc::new(primitive::<Time64MicrosecondType>(
                        values,
                        self.nulls.take(),
                    )),
                    _ => Arc::new(primitive::<Time64NanosecondType>(values, self.nulls.take())),
                }
            }
            (DataType::Timestamp(unit, tz), RandomSpec::Timestamp { max_past }) => {
                let now = self.now;
                let nulls = self.nulls.take();
                match unit {
                    TimeUnit::Second => {
                        let v = self.before_now(now.timestamp(), u128::from(max_past.as_secs()));
                        timestamps::<TimestampSecondType>(v, nulls, tz)
                    }
                    TimeUnit::Millisecond => {
                        let v = self.before_now(now.timestamp_millis(), max_past.as_millis());
                        timestamps::<TimestampMillisecondType>(v, nulls, tz)
                    }
                    TimeUnit::Microsecond => {
                        let v = self.before_now(now.timestamp_micros(), max_past.as_micros());
                        timestamps::<TimestampMicrosecondType>(v, nulls, tz)
                    }
                    TimeUnit::Nanosecond => {
                        let now = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
                        let v = self.before_now(now, max_past.as_nanos());
                        timestamps::<TimestampNanosecondType>(v, nulls, tz)
                    }
                }
            }
            (other, _) => return Err(unsupported(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::datagen::DataGenConfig;

    fn generator(schema: Schema, options: &[(&str, &str)]) -> RowGenerator {
        let options: BTreeMap<String, String> = options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = DataGenConfig::parse(&schema, &options).unwrap();
        RowGenerator::new(Arc::new(schema), config.fields)
    }

    #[test]
    fn shares_split_rows_and_sequences() {
        let shares: Vec<Share> = (0..3)
            .map(|index| Share {
                index,
                parallelism: 3,
            })
            .collect();
        assert_eq!(
            shares.iter().map(|s| s.rows_of(10)).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_eq!(
            shares.iter().map(|s| s.sequence_len(1, 10)).sum::<u64>(),
            10
        );
        assert_eq!(shares[2].sequence_len(5, 6), 0);
        assert_eq!(
            Share {
                index: 0,
                parallelism: 1
            }
            .sequence_len(i64::MIN, i64::MAX),
            u64::MAX
        );
    }

    #[test]
    fn generates_every_scalar_type() {
        let ltz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let schema = Schema::new(vec![
            Field::new("b", DataType::Boolean, true),
            Field::new("i8", DataType::Int8, true),
            Field::new("i16", DataType::Int16, true),
            Field::new("i32", DataType::Int32, true),
            Field::new("i64", DataType::Int64, true),
            Field::new("f32", DataType::Float32, true),
            Field::new("f64", DataType::Float64, true),
            Field::new("dec", DataType::Decimal128(10, 2), true),
            Field::new("s", DataType::Utf8, true),
            Field::new("bytes", DataType::Binary, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Time32(TimeUnit::Millisecond), true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("ltz", ltz.clone(), true),
        ]);
        let mut g = generator(
            schema,
            &[
                ("fields.dec.min", "-1.5"),
                ("fields.dec.max", "1.5"),
                ("fields.ts.max-past", "1 h"),
                ("fields.bytes.length", "3"),
                ("fields.bytes.null-rate", "1"),
            ],
        );
        let before = chrono::Utc::now().timestamp_millis();
        let batch = g
            .generate(
                Share {
                    index: 0,
                    parallelism: 1,
                },
                0,
                500,
            )
            .unwrap();
        let after = chrono::Utc::now().timestamp_millis();
        assert_eq!(batch.num_rows(), 500);
        assert_eq!(batch.column(13).data_type(), &ltz);
        let dec = batch.column(7).as_primitive::<Decimal128Type>();
        assert!(dec.values().iter().all(|v| (-150..=150).contains(v)));
        assert_eq!(batch.column(9).null_count(), 500);
        let ts = batch.column(12).as_primitive::<TimestampMillisecondType>();
        let hour = Duration::from_secs(3600).as_millis() as i64;
        assert!(ts
            .values()
            .iter()
            .all(|t| *t >= before - hour && *t <= after));
        assert!(batch
            .column(8)
            .as_string::<i32>()
            .iter()
            .flatten()
            .all(|s| s.len() == 100));
    }

    #[test]
    fn sequences_in_every_numeric_type_and_strings() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int8, true),
            Field::new("b", DataType::Float64, true),
            Field::new("c", DataType::Decimal128(5, 1), true),
            Field::new("d", DataType::Utf8, true),
        ]);
        let mut options = Vec::new();
        let keys: Vec<(String, String, String)> = ["a", "b", "c", "d"]
            .iter()
            .map(|c| {
                (
                    format!("fields.{c}.kind"),
                    format!("fields.{c}.start"),
                    format!("fields.{c}.end"),
                )
            })
            .collect();
        for (kind, start, end) in &keys {
            options.push((kind.as_str(), "sequence"));
            options.push((start.as_str(), "1"));
            options.push((end.as_str(), "100"));
        }
        let mut g = generator(schema, &options);
        let batch = g
            .generate(
                Share {
                    index: 1,
                    parallelism: 2,
                },
                3,
                2,
            )
            .unwrap();
        // Share 1 of 2 yields 2, 4, 6, ...; rows 3 and 4 of it are 8 and 10.
        assert_eq!(
            batch.column(0).as_primitive::<Int8Type>().values(),
            &[8, 10]
        );
        assert_eq!(
            batch.column(1).as_primitive::<Float64Type>().values(),
            &[8.0, 10.0]
        );
        assert_eq!(
            batch.column(2).as_primitive::<Decimal128Type>().values(),
            &[80, 100]
        );
        let d: Vec<_> = batch
            .column(3)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(d, vec!["8", "10"]);
    }
}
