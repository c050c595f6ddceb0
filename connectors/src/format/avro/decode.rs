//! Avro binary datums into Arrow columns: one typed builder per column, each record's
//! fields read in schema order straight into them.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::{avro_fields, not_lines, AvroField, AvroType};
use crate::error::Result;
use crate::format::{BatchDecoder, LineChunk};

type Decoded<T> = std::result::Result<T, String>;

/// Reads Avro's binary encoding from one datum.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Decoded<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or("the record ends in the middle of a value")?;
        self.pos += 1;
        Ok(b)
    }

    /// A zig-zag varint `long`.
    fn long(&mut self) -> Decoded<i64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err("a varint longer than 10 bytes".into())
    }

    fn int(&mut self) -> Decoded<i32> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| format!("{v} does not fit an Avro int"))
    }

    fn fixed(&mut self, n: usize) -> Decoded<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or("the record ends in the middle of a value")?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn bytes(&mut self) -> Decoded<&'a [u8]> {
        let len = self.long()?;
        let len = usize::try_from(len).map_err(|_| format!("a negative length {len}"))?;
        self.fixed(len)
    }
}

/// A column under construction.
enum Column {
    Boolean(BooleanBuilder),
    /// Every integer type, days of a date and times are read as longs and cast once.
    Integer(Int64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    String(StringBuilder),
    Bytes(BinaryBuilder),
    Date(Date32Builder),
    Decimal(Decimal128Builder),
}

impl Column {
    fn new(avro: AvroType) -> Decoded<Self> {
        Ok(match avro {
            AvroType::Boolean => Column::Boolean(BooleanBuilder::new()),
            AvroType::Int
            | AvroType::Long
            | AvroType::TimeMillis
            | AvroType::TimestampMillis
            | AvroType::TimestampMicros => Column::Integer(Int64Builder::new()),
            AvroType::Float => Column::Float(Float32Builder::new()),
            AvroType::Double => Column::Double(Float64Builder::new()),
            AvroType::String => Column::String(StringBuilder::new()),
            AvroType::Bytes => Column::Bytes(BinaryBuilder::new()),
            AvroType::Date => Column::Date(Date32Builder::new()),
            AvroType::Decimal { precision, scale } => Column::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(precision, scale)
                    .map_err(|e| e.to_string())?,
            ),
        })
    }

    fn append_null(&mut self) {
        match self {
            Column::Boolean(b) => b.append_null(),
            Column::Integer(b) => b.append_null(),
            Column::Float(b) => b.append_null(),
            Column::Double(b) => b.append_null(),
            Column::String(b) => b.append_null(),
            Column::Bytes(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Decimal(b) => b.append_null(),
        }
    }

    fn read(&mut self, avro: AvroType, c: &mut Cursor<'_>) -> Decoded<()> {
        match self {
            Column::Boolean(b) => match c.byte()? {
                0 => b.append_value(false),
                1 => b.append_value(true),
                other => return Err(format!("{other} is not an Avro boolean")),
            },
            Column::Integer(b) => b.append_value(match avro {
                AvroType::Int | AvroType::TimeMillis => i64::from(c.int()?),
                _ => c.long()?,
            }),
            Column::Float(b) => {
                let bytes = c.fixed(4)?;
                b.append_value(f32::from_le_bytes(bytes.try_into().map_err(|_| "a float")?));
            }
            Column::Double(b) => {
                let bytes = c.fixed(8)?;
                b.append_value(f64::from_le_bytes(
                    bytes.try_into().map_err(|_| "a double")?,
                ));
            }
            Column::String(b) => b.append_value(
                std::str::from_utf8(c.bytes()?)
                    .map_err(|e| format!("a string that is not UTF-8: {e}"))?,
            ),
            Column::Bytes(b) => b.append_value(c.bytes()?),
            Column::Date(b) => b.append_value(c.int()?),
            Column::Decimal(b) => b.append_value(unscaled(c.bytes()?)?),
        }
        Ok(())
    }

    /// The finished column as `data_type`.
    fn finish(self, avro: AvroType, data_type: &DataType) -> Decoded<ArrayRef> {
        let array: ArrayRef = match self {
            Column::Boolean(mut b) => Arc::new(b.finish()),
            Column::Integer(mut b) => {
                let longs = b.finish();
                return integer_column(longs, avro, data_type);
            }
            Column::Float(mut b) => Arc::new(b.finish()),
            Column::Double(mut b) => Arc::new(b.finish()),
            Column::String(mut b) => Arc::new(b.finish()),
            Column::Bytes(mut b) => Arc::new(b.finish()),
            Column::Date(mut b) => Arc::new(b.finish()),
            Column::Decimal(mut b) => Arc::new(b.finish()),
        };
        Ok(array)
    }
}

/// Longs read for an integer, time or timestamp column as the column's type: a time's
/// milliseconds scaled to the column's unit, a timestamp's to its unit (Avro's
/// `timestamp-millis` or `-micros`), integers narrowed (a value out of range fails).
fn integer_column(
    longs: datafusion::arrow::array::Int64Array,
    avro: AvroType,
    data_type: &DataType,
) -> Decoded<ArrayRef> {
    use datafusion::arrow::compute::kernels::numeric::mul;
    let scale = |array: &datafusion::arrow::array::Int64Array, by: i64| -> Decoded<ArrayRef> {
        match by {
            1 => Ok(Arc::new(array.clone())),
            _ => mul(array, &datafusion::arrow::array::Int64Array::new_scalar(by))
                .map_err(|e| format!("a time out of range: {e}")),
        }
    };
    let scaled = match (avro, data_type) {
        (AvroType::TimeMillis, DataType::Time64(TimeUnit::Nanosecond)) => scale(&longs, 1_000_000)?,
        (AvroType::TimeMillis, DataType::Time64(_)) => scale(&longs, 1_000)?,
        (AvroType::TimestampMillis, DataType::Timestamp(TimeUnit::Second, _)) => {
            let seconds = datafusion::arrow::compute::kernels::numeric::div(
                &longs,
                &datafusion::arrow::array::Int64Array::new_scalar(1_000),
            )
            .map_err(|e| e.to_string())?;
            return cast(&seconds, data_type).map_err(|e| e.to_string());
        }
        _ => Arc::new(longs),
    };
    // Integers are narrowed with overflow checks; times and timestamps reinterpreted.
    let options = datafusion::arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    datafusion::arrow::compute::cast_with_options(&scaled, data_type, &options)
        .map_err(|e| format!("a value out of range for {data_type}: {e}"))
}

/// A decimal's unscaled value from its big-endian two's complement bytes.
fn unscaled(bytes: &[u8]) -> Decoded<i128> {
    if bytes.len() > 16 {
        return Err(format!("a decimal of {} bytes (at most 16)", bytes.len()));
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut full = [if negative { 0xff } else { 0 }; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

/// Decodes records holding one datum each.
pub(crate) struct AvroDecoder {
    schema: SchemaRef,
    fields: Vec<AvroField>,
}

impl AvroDecoder {
    pub fn new(schema: SchemaRef) -> Result<Self> {
        Ok(Self {
            fields: avro_fields(&schema)?,
            schema,
        })
    }

    fn record(&self, columns: &mut [Column], datum: &[u8]) -> Decoded<()> {
        let mut c = Cursor { buf: datum, pos: 0 };
        for (column, field) in columns.iter_mut().zip(&self.fields) {
            if field.nullable {
                match c.long()? {
                    0 => {
                        column.append_null();
                        continue;
                    }
                    1 => {}
                    other => return Err(format!("union branch {other} of [\"null\", T]")),
                }
            }
            column.read(field.avro, &mut c)?;
        }
        // Bytes past the last field are ignored, as Flink's DatumReader ignores them.
        Ok(())
    }
}

impl BatchDecoder for AvroDecoder {
    fn decode(&mut self, _buf: &[u8], _num_lines: usize) -> Decoded<RecordBatch> {
        Err(not_lines().to_string())
    }

    fn decode_records(&mut self, chunk: &LineChunk) -> Decoded<RecordBatch> {
        let mut columns = self
            .fields
            .iter()
            .map(|f| Column::new(f.avro))
            .collect::<Decoded<Vec<_>>>()?;
        for (_, datum, _) in chunk.lines() {
            self.record(&mut columns, datum)?;
        }
        let arrays = columns
            .into_iter()
            .zip(&self.fields)
            .zip(self.schema.fields())
            .map(|((column, avro), field)| column.finish(avro.avro, field.data_type()))
            .collect::<Decoded<Vec<_>>>()?;
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(chunk.len())),
        )
        .map_err(|e| e.to_string())
    }
}
