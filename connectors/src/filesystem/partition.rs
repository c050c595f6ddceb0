//! Partitioned filesystem tables (`PARTITIONED BY`), laid out as Flink's (and Hive's):
//! one directory level `key=value` per partition column, in declaration order, holding
//! part files that carry the other columns only. A NULL or empty value is the
//! `partition.default-name` directory; other values are escaped as Flink's
//! `PartitionPathUtils.escapePathName` does, so `a/b` is `a%2Fb`.
//!
//! Reading, the values come back from the path, typed as the columns are declared; a
//! predicate over the partition columns alone skips whole partitions (pruning) before
//! any file is opened.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, cast_with_options, take_record_batch, CastOptions};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::ScalarValue;
use eddy_runtime::jobgraph::SerializedExpr;
use eddy_runtime::{Result, RuntimeError};

use crate::options::OptionKey;

/// `partition.default-name`.
pub const DEFAULT_NAME: OptionKey = OptionKey::with_default(
    "partition.default-name",
    "__DEFAULT_PARTITION__",
    "The directory name of a partition whose value is NULL or empty.",
);

/// The values of one partition, in `PARTITIONED BY` order; `None` is NULL.
pub type PartitionValues = Vec<Option<String>>;

/// How a table's rows map to partition directories and back.
#[derive(Debug, Clone)]
pub struct Partitioning {
    /// The table's physical schema.
    schema: SchemaRef,
    /// The partition columns' indices in `schema`, in `PARTITIONED BY` order.
    keys: Vec<usize>,
    /// The other columns' indices in `schema`: what part files hold.
    data: Vec<usize>,
    default_name: String,
}

/// Characters Flink escapes in a partition directory name (Hive's list).
fn needs_escape(c: char) -> bool {
    c < ' '
        || matches!(
            c,
            '"' | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7f}'
                | '{'
                | '['
                | ']'
                | '^'
        )
}

/// A value as it appears in a directory name.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match needs_escape(c) {
            true => out.push_str(&format!("%{:02X}", c as u32)),
            false => out.push(c),
        }
    }
    out
}

/// A directory name's value: `%XX` back to its character.
pub fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Partitioning {
    /// The partitioning of a table with `schema` by `keys` (column names), or `None` when
    /// it is not partitioned.
    pub fn new(schema: &SchemaRef, keys: &[String], default_name: &str) -> Result<Option<Self>> {
        if keys.is_empty() {
            return Ok(None);
        }
        let keys = keys
            .iter()
            .map(|k| {
                schema.index_of(k).map_err(|_| {
                    RuntimeError::User(format!("partition column '{k}' is not a column"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let data = (0..schema.fields().len())
            .filter(|i| !keys.contains(i))
            .collect();
        Ok(Some(Self {
            schema: schema.clone(),
            keys,
            data,
            default_name: default_name.to_string(),
        }))
    }

    /// The columns part files hold.
    pub fn data_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.data
                .iter()
                .map(|&i| self.schema.field(i).clone())
                .collect::<Vec<_>>(),
        ))
    }

    /// The partition columns alone, in `PARTITIONED BY` order: what a partition filter
    /// is evaluated over.
    pub fn key_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.keys
                .iter()
                .map(|&i| self.schema.field(i).clone())
                .collect::<Vec<_>>(),
        ))
    }

    /// The directory (relative, `k1=v1/k2=v2`) of a partition.
    pub fn directory(&self, values: &[Option<String>]) -> String {
        let mut dir = String::new();
        for (&k, v) in self.keys.iter().zip(values) {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(&escape(self.schema.field(k).name()));
            dir.push('=');
            match v.as_deref() {
                Some(v) if !v.is_empty() => dir.push_str(&escape(v)),
                _ => dir.push_str(&self.default_name),
            }
        }
        dir
    }

    /// Splits a batch of the table's rows (plus a row-kind column after them, for a
    /// changelog format) by partition: each partition's values and its rows without the
    /// partition columns.
    pub fn split(&self, batch: &RecordBatch) -> Result<Vec<(PartitionValues, RecordBatch)>> {
        let texts = self
            .keys
            .iter()
            .map(|&k| as_text(batch.column(k)))
            .collect::<Result<Vec<_>>>()?;
        let mut columns = self.data.clone();
        columns.extend(self.schema.fields().len()..batch.num_columns());
        let data = batch.project(&columns)?;
        let converter = RowConverter::new(
            texts
                .iter()
                .map(|_| SortField::new(DataType::Utf8))
                .collect(),
        )?;
        let rows = converter.convert_columns(&texts)?;
        // Rows of one partition, in arrival order; most batches hold one partition.
        let mut groups: HashMap<&[u8], Vec<u32>> = HashMap::new();
        let mut order: Vec<&[u8]> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let key = row.data();
            groups
                .entry(key)
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(i as u32);
        }
        let mut out = Vec::with_capacity(order.len());
        for key in order {
            let indices = &groups[key];
            let first = indices[0] as usize;
            let values = texts
                .iter()
                .map(|t| {
                    let t = t
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::StringArray>();
                    t.filter(|t| t.is_valid(first))
                        .map(|t| t.value(first).to_string())
                })
                .collect();
            let rows = match indices.len() == batch.num_rows() {
                true => data.clone(),
                false => take_record_batch(&data, &UInt32Array::from(indices.clone()))?,
            };
            out.push((values, rows));
        }
        Ok(out)
    }

    /// The partition of a file under `root`, from the `k=v` directories between them;
    /// `None` for a file outside any partition (not at the partition depth, or under a
    /// directory that names no partition column).
    pub fn of_file(&self, root: &Path, file: &Path) -> Option<PartitionValues> {
        let relative = file.strip_prefix(root).ok()?;
        let mut values: Vec<Option<Option<String>>> = vec![None; self.keys.len()];
        let dirs: Vec<_> = relative.parent()?.components().collect();
        if dirs.len() < self.keys.len() {
            return None;
        }
        for dir in &dirs[..self.keys.len()] {
            let name = dir.as_os_str().to_str()?;
            let (key, value) = name.split_once('=')?;
            let key = unescape(key);
            let at = self
                .keys
                .iter()
                .position(|&k| self.schema.field(k).name() == &key)?;
            values[at] = Some(match value == self.default_name {
                true => None,
                false => Some(unescape(value)),
            });
        }
        values.into_iter().collect()
    }

    /// The typed values of a partition, as its columns are declared.
    pub fn typed(&self, values: &[Option<String>], file: &str) -> Result<Vec<ScalarValue>> {
        self.keys
            .iter()
            .zip(values)
            .map(|(&k, v)| {
                let field = self.schema.field(k);
                typed_value(v.as_deref(), field.data_type()).ok_or_else(|| {
                    RuntimeError::User(format!(
                        "partition value '{}' of column '{}' (file '{file}') is not a valid {}",
                        v.as_deref().unwrap_or_default(),
                        field.name(),
                        field.data_type()
                    ))
                })
            })
            .collect()
    }

    /// A decoded batch of part-file columns (and a row-kind column after them) with the
    /// partition columns put back in their places.
    pub fn assemble(
        &self,
        decoded: &RecordBatch,
        typed: &[ScalarValue],
        output: &SchemaRef,
    ) -> Result<RecordBatch> {
        if typed.len() != self.keys.len() {
            return Err(RuntimeError::Internal(format!(
                "a file's split has {} partition values for {} partition columns",
                typed.len(),
                self.keys.len()
            )));
        }
        let n = decoded.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(output.fields().len());
        let mut data = 0;
        for i in 0..self.schema.fields().len() {
            match self.keys.iter().position(|&k| k == i) {
                Some(p) => columns.push(typed[p].to_array_of_size(n)?),
                None => {
                    columns.push(decoded.column(data).clone());
                    data += 1;
                }
            }
        }
        columns.extend(decoded.columns()[data..].iter().cloned());
        Ok(RecordBatch::try_new(output.clone(), columns)?)
    }

    /// Which of `partitions` a filter over the partition columns keeps (NULL: dropped).
    pub fn prune(
        &self,
        partitions: &[PartitionValues],
        filter: &SerializedExpr,
    ) -> Result<Vec<bool>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let schema = self.key_schema();
        // Typed as reading them types them: a value that does not fit fails the same way.
        let typed = partitions
            .iter()
            .map(|v| self.typed(v, &self.directory(v)))
            .collect::<Result<Vec<_>>>()?;
        let columns = (0..self.keys.len())
            .map(|p| {
                let values = typed.iter().map(|t| t[p].clone());
                let column = ScalarValue::iter_to_array(values)?;
                // All-NULL partitions give an untyped column: the key's type it is.
                Ok(cast(&column, schema.field(p).data_type())?)
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let ctx = eddy_runtime::expr_codec::function_context();
        // Pruning is a shortcut (the filter runs again on the rows): a filter this process
        // cannot rebuild keeps every partition.
        let Ok(predicate) = eddy_runtime::expr_codec::decode_expr(filter, &schema, &ctx) else {
            return Ok(vec![true; partitions.len()]);
        };
        let kept = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
        let kept = kept
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| {
                RuntimeError::Internal("a partition filter is not a predicate".into())
            })?;
        Ok((0..kept.len())
            .map(|i| kept.is_valid(i) && kept.value(i))
            .collect())
    }
}

/// A directory's value typed as its column. Besides the text of the value, the forms
/// Flink 2.3 writes for non-text columns are read: a DATE as days since the epoch, a
/// TIMESTAMP as Java's `LocalDateTime` text (`2024-01-02T03:04`, seconds left out when
/// zero).
fn typed_value(value: Option<&str>, data_type: &DataType) -> Option<ScalarValue> {
    let text = ScalarValue::Utf8(value.map(str::to_string));
    if let Ok(v) = text.cast_to(data_type) {
        return Some(v);
    }
    let value = value?;
    match data_type {
        DataType::Date32 => value
            .parse::<i32>()
            .ok()
            .map(|d| ScalarValue::Date32(Some(d))),
        DataType::Timestamp(..) if value.len() == 16 && value.as_bytes().get(10) == Some(&b'T') => {
            ScalarValue::Utf8(Some(format!("{value}:00")))
                .cast_to(data_type)
                .ok()
        }
        _ => None,
    }
}

/// A partition column as text, as Flink names directories: timestamps with a space
/// between date and time.
fn as_text(column: &ArrayRef) -> Result<ArrayRef> {
    let format = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"));
    let options = CastOptions {
        safe: false,
        format_options: format,
    };
    Ok(cast_with_options(column, &DataType::Utf8, &options)?)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Array, StringArray};
    use datafusion::arrow::datatypes::Field;

    use super::*;

    fn partitioning() -> Partitioning {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("dt", DataType::Utf8, true),
            Field::new("hr", DataType::Int32, true),
        ]));
        Partitioning::new(
            &schema,
            &["dt".into(), "hr".into()],
            "__DEFAULT_PARTITION__",
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn names_escape_as_flinks() {
        // What Flink 2.3 wrote for these values (see sqllogictest/flink_partitions.py).
        assert_eq!(escape("a/b:c=d%"), "a%2Fb%3Ac%3Dd%25");
        assert_eq!(unescape("a%2Fb%3Ac%3Dd%25"), "a/b:c=d%");
        assert_eq!(unescape("100%"), "100%");
        let p = partitioning();
        assert_eq!(
            p.directory(&[Some("2024-01-01".into()), Some("10".into())]),
            "dt=2024-01-01/hr=10"
        );
        assert_eq!(
            p.directory(&[None, Some(String::new())]),
            "dt=__DEFAULT_PARTITION__/hr=__DEFAULT_PARTITION__"
        );
    }

    #[test]
    fn batches_split_by_partition_and_files_map_back() {
        let p = partitioning();
        let batch = RecordBatch::try_new(
            p.schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
                Arc::new(StringArray::from(vec![
                    Some("x"),
                    Some("y"),
                    Some("x"),
                    None,
                ])),
                Arc::new(Int32Array::from(vec![Some(1), Some(1), Some(1), None])),
            ],
        )
        .unwrap();
        let parts = p.split(&batch).unwrap();
        let dirs: Vec<String> = parts.iter().map(|(v, _)| p.directory(v)).collect();
        assert_eq!(
            dirs,
            [
                "dt=x/hr=1",
                "dt=y/hr=1",
                "dt=__DEFAULT_PARTITION__/hr=__DEFAULT_PARTITION__"
            ]
        );
        assert_eq!(parts[0].1.num_columns(), 1);
        assert_eq!(parts[0].1.num_rows(), 2);
        let root = Path::new("/data/t");
        let file = root.join("hr=1").join("part-0");
        assert_eq!(p.of_file(root, &file), None, "too shallow");
        let file = root.join("dt=x").join("hr=1").join("part-0");
        let values = p.of_file(root, &file).unwrap();
        assert_eq!(values, [Some("x".to_string()), Some("1".to_string())]);
        let file = root.join("dt=__DEFAULT_PARTITION__/hr=7/part-0");
        assert_eq!(p.of_file(root, &file).unwrap(), [None, Some("7".into())]);
        assert!(p
            .typed(&[Some("x".into()), Some("one".into())], "f")
            .is_err());
        let typed = p.typed(&values, "f").unwrap();
        let back = p.assemble(&parts[0].1, &typed, &p.schema).unwrap();
        assert_eq!(back.num_columns(), 3);
        assert_eq!(
            back.column(2)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap()
                .value(0),
            1
        );
    }
}
