//! Rows of catalog tables written by column name: a catalog table has dozens of columns
//! clients rarely read, so a row names the ones Eddy knows and every other column gets
//! PostgreSQL's neutral value (NULL where the column allows it, else zero, false or '').

use std::sync::Arc;

use datafusion::arrow::array::{new_empty_array, ArrayRef};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::error::Result;

/// A value before it meets its column's type.
#[derive(Debug, Clone)]
pub enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// An `int2vector`, `oidvector` or integer array.
    Ints(Vec<i64>),
}

impl From<&str> for V {
    fn from(s: &str) -> Self {
        V::Text(s.to_string())
    }
}

impl From<String> for V {
    fn from(s: String) -> Self {
        V::Text(s)
    }
}

impl From<bool> for V {
    fn from(b: bool) -> Self {
        V::Bool(b)
    }
}

impl From<u32> for V {
    fn from(i: u32) -> Self {
        V::Int(i64::from(i))
    }
}

impl From<i32> for V {
    fn from(i: i32) -> Self {
        V::Int(i64::from(i))
    }
}

impl From<i16> for V {
    fn from(i: i16) -> Self {
        V::Int(i64::from(i))
    }
}

impl<T: Into<V>> From<Option<T>> for V {
    fn from(o: Option<T>) -> Self {
        o.map_or(V::Null, Into::into)
    }
}

/// One row: values by column name.
pub type Row = Vec<(&'static str, V)>;

/// Builds a row from `(name, value)` pairs of any value type.
macro_rules! row {
    ($($name:literal => $value:expr),* $(,)?) => {
        vec![$(($name, $crate::pg_catalog::rows::V::from($value))),*]
    };
}
pub(crate) use row;

/// The rows as one batch of `schema`.
pub fn batch(schema: &SchemaRef, rows: &[Row]) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| column(field, rows))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn column(field: &Field, rows: &[Row]) -> Result<ArrayRef> {
    let dt = field.data_type();
    if rows.is_empty() {
        return Ok(new_empty_array(dt));
    }
    let values = rows
        .iter()
        .map(|row| {
            let value = row.iter().find(|(n, _)| *n == field.name()).map(|(_, v)| v);
            scalar(value.unwrap_or(&V::Null), field)
        })
        .collect::<Result<Vec<_>>>()?;
    let array = ScalarValue::iter_to_array(values)?;
    // Lists come out with their own item field; the schema's may be named differently.
    Ok(match array.data_type() == dt {
        true => array,
        false => cast(&array, dt)?,
    })
}

fn scalar(value: &V, field: &Field) -> Result<ScalarValue> {
    let dt = field.data_type();
    let given = match value {
        V::Null if field.is_nullable() => return ScalarValue::try_from(dt),
        V::Null => return neutral(dt),
        V::Bool(b) => ScalarValue::Boolean(Some(*b)),
        V::Int(i) => ScalarValue::Int64(Some(*i)),
        V::Float(f) => ScalarValue::Float64(Some(*f)),
        V::Text(s) => ScalarValue::Utf8(Some(s.clone())),
        V::Ints(items) => match dt {
            DataType::List(item) => list(
                items.iter().map(|i| ScalarValue::Int64(Some(*i))),
                item.data_type(),
            )?,
            // PostgreSQL's text form of an int2vector.
            _ => ScalarValue::Utf8(Some(
                items
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
        },
    };
    given.cast_to(dt)
}

fn list(items: impl Iterator<Item = ScalarValue>, item_type: &DataType) -> Result<ScalarValue> {
    let items = items
        .map(|s| s.cast_to(item_type))
        .collect::<Result<Vec<_>>>()?;
    Ok(ScalarValue::List(ScalarValue::new_list(
        &items, item_type, true,
    )))
}

/// The value of a column a row leaves out where NULL is not allowed.
fn neutral(dt: &DataType) -> Result<ScalarValue> {
    match dt {
        DataType::Utf8 => Ok(ScalarValue::Utf8(Some(String::new()))),
        DataType::List(item) => Ok(ScalarValue::List(ScalarValue::new_list(
            &[],
            item.data_type(),
            true,
        ))),
        _ => ScalarValue::new_default(dt),
    }
}

/// A schema from `(name, type)` pairs, every column nullable, for the tables Eddy defines
/// itself (information_schema, and pg_catalog views the crate does not have).
pub fn schema(columns: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(datafusion::arrow::datatypes::Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Int32Array};
    use datafusion::arrow::datatypes::Int32Type;

    #[test]
    fn rows_fill_by_name_and_default_the_rest() {
        let s = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            Field::new("oid", DataType::Int32, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("note", DataType::Utf8, true),
            Field::new(
                "key",
                DataType::List(Arc::new(Field::new("x", DataType::Int16, true))),
                true,
            ),
        ]));
        let rows = vec![
            row!["oid" => 5u32, "key" => V::Ints(vec![1, 2])],
            row!["name" => "t"],
        ];
        let b = batch(&s, &rows).expect("batch");
        let oids: &Int32Array = b.column(0).as_primitive::<Int32Type>();
        assert_eq!(oids.values().to_vec(), vec![5, 0]);
        assert_eq!(b.column(1).as_string::<i32>().value(0), "");
        assert_eq!(b.column(1).as_string::<i32>().value(1), "t");
        assert!(b.column(2).is_null(0));
        assert_eq!(b.column(3).as_list::<i32>().value(0).len(), 2);
        assert!(b.column(3).is_null(1));
    }
}
