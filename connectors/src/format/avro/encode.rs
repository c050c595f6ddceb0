//! Arrow rows into Avro binary datums, one per row.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int64Type, SchemaRef, TimeUnit,
};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::RuntimeError;

use super::{avro_fields, not_lines, AvroField, AvroType};
use crate::error::Result;
use crate::format::BatchEncoder;

/// Appends a zig-zag varint `long`.
pub(crate) fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// A decimal's unscaled value in the fewest big-endian two's complement bytes.
fn put_decimal(out: &mut Vec<u8>, unscaled: i128) {
    let full = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (full[start], full[start + 1]);
        let redundant = (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    put_bytes(out, &full[start..]);
}

/// Encodes rows of a schema into datums.
pub(crate) struct AvroEncoder {
    schema: SchemaRef,
    fields: Vec<AvroField>,
}

impl AvroEncoder {
    pub fn new(schema: SchemaRef) -> Result<Self> {
        Ok(Self {
            fields: avro_fields(&schema)?,
            schema,
        })
    }

    /// A column as the array its Avro type is written from: integers, times and
    /// timestamps as longs in Avro's unit.
    fn prepared(&self, column: &ArrayRef, avro: AvroType) -> Result<ArrayRef, RuntimeError> {
        let longs = |array: &ArrayRef| cast(array, &DataType::Int64);
        let divided = |array: &ArrayRef, by: i64| -> Result<ArrayRef, RuntimeError> {
            let raw = longs(array)?;
            Ok(match by {
                1 => raw,
                _ => datafusion::arrow::compute::kernels::numeric::div(
                    &raw,
                    &datafusion::arrow::array::Int64Array::new_scalar(by),
                )?,
            })
        };
        Ok(match (avro, column.data_type()) {
            (AvroType::Int | AvroType::Long, _) => longs(column)?,
            (AvroType::TimeMillis, DataType::Time64(TimeUnit::Nanosecond)) => {
                divided(column, 1_000_000)?
            }
            (AvroType::TimeMillis, DataType::Time64(_)) => divided(column, 1_000)?,
            (AvroType::TimeMillis, _) => longs(column)?,
            (AvroType::TimestampMillis, DataType::Timestamp(TimeUnit::Second, _)) => {
                let seconds = longs(column)?;
                datafusion::arrow::compute::kernels::numeric::mul(
                    &seconds,
                    &datafusion::arrow::array::Int64Array::new_scalar(1_000),
                )?
            }
            (AvroType::TimestampMillis | AvroType::TimestampMicros, _) => longs(column)?,
            _ => column.clone(),
        })
    }
}

impl BatchEncoder for AvroEncoder {
    fn encode(&mut self, _batch: &RecordBatch, _out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        Err(not_lines())
    }

    fn encode_records(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), RuntimeError> {
        let columns = batch
            .columns()
            .iter()
            .zip(&self.fields)
            .map(|(c, f)| self.prepared(c, f.avro))
            .collect::<Result<Vec<_>, RuntimeError>>()?;
        for row in 0..batch.num_rows() {
            for ((column, field), schema_field) in
                columns.iter().zip(&self.fields).zip(self.schema.fields())
            {
                if column.is_null(row) {
                    if !field.nullable {
                        return Err(RuntimeError::User(format!(
                            "column '{}' is NOT NULL, but a row holds NULL: Avro cannot write it",
                            schema_field.name()
                        )));
                    }
                    put_long(out, 0);
                    continue;
                }
                if field.nullable {
                    put_long(out, 1);
                }
                match field.avro {
                    AvroType::Boolean => out.push(u8::from(column.as_boolean().value(row))),
                    AvroType::Int
                    | AvroType::Long
                    | AvroType::TimeMillis
                    | AvroType::TimestampMillis
                    | AvroType::TimestampMicros => {
                        put_long(out, column.as_primitive::<Int64Type>().value(row))
                    }
                    AvroType::Float => out.extend_from_slice(
                        &column
                            .as_primitive::<Float32Type>()
                            .value(row)
                            .to_le_bytes(),
                    ),
                    AvroType::Double => out.extend_from_slice(
                        &column
                            .as_primitive::<Float64Type>()
                            .value(row)
                            .to_le_bytes(),
                    ),
                    AvroType::String => {
                        put_bytes(out, column.as_string::<i32>().value(row).as_bytes())
                    }
                    AvroType::Bytes => put_bytes(out, column.as_binary::<i32>().value(row)),
                    AvroType::Date => put_long(
                        out,
                        i64::from(column.as_primitive::<Date32Type>().value(row)),
                    ),
                    AvroType::Decimal { .. } => {
                        put_decimal(out, column.as_primitive::<Decimal128Type>().value(row))
                    }
                }
            }
            ends.push(out.len());
        }
        Ok(())
    }
}
