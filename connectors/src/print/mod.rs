//! The `print` connector (Flink's `PrintTableSinkFactory`): writes every row to standard
//! output (or error) as Flink does, `+I[1, foo, 2024-01-01 00:00:00]`, prefixed with
//! `<subtask>> ` when parallelism > 1, or `<print-identifier>> ` /
//! `<print-identifier>:<subtask>> ` when an identifier is set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::jobgraph::ConnectorSpec;
use eddy_runtime::{Result as RuntimeResult, RuntimeError};

use crate::error::Result;
use crate::factory::TableFactory;
use crate::format::{SQL_TIMESTAMP_FORMAT, SQL_TIMESTAMP_LTZ_FORMAT, TIME_FORMAT};
use crate::options::{get, get_bool, OptionKey};

/// `print-identifier`.
pub const PRINT_IDENTIFIER: OptionKey = OptionKey::new(
    "print-identifier",
    "A prefix for every printed row, to tell several print sinks apart.",
);
/// `standard-error`.
pub const STANDARD_ERROR: OptionKey = OptionKey::with_default(
    "standard-error",
    "false",
    "Print to standard error instead of standard output.",
);

const FORMAT_OPTIONS: FormatOptions<'static> = FormatOptions::new()
    .with_null("null")
    .with_timestamp_format(Some(SQL_TIMESTAMP_FORMAT))
    .with_timestamp_tz_format(Some(SQL_TIMESTAMP_LTZ_FORMAT))
    .with_time_format(Some(TIME_FORMAT));

/// The `print` connector.
#[derive(Debug, Default)]
pub struct PrintTableFactory;

impl TableFactory for PrintTableFactory {
    fn identifier(&self) -> &'static str {
        "print"
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![
            PRINT_IDENTIFIER,
            STANDARD_ERROR,
            crate::options::SINK_PARALLELISM,
        ]
    }

    fn validate(
        &self,
        table: &str,
        schema: &datafusion::arrow::datatypes::Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.check_keys(table, schema, options)?;
        get_bool(options, &STANDARD_ERROR).map(|_| ())
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(PrintSink {
            identifier: get(&spec.options, &PRINT_IDENTIFIER)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            standard_error: get_bool(&spec.options, &STANDARD_ERROR)?,
        }))
    }
}

/// Prints rows.
#[derive(Debug)]
pub struct PrintSink {
    identifier: Option<String>,
    standard_error: bool,
}

/// Flink's prefix of a printed row.
fn prefix(identifier: Option<&str>, info: &SubtaskInfo) -> String {
    let subtask = info.subtask_index + 1;
    match (identifier, info.parallelism > 1) {
        (Some(id), true) => format!("{id}:{subtask}> "),
        (Some(id), false) => format!("{id}> "),
        (None, true) => format!("{subtask}> "),
        (None, false) => String::new(),
    }
}

impl Sink for PrintSink {
    fn create_writer(&self, info: &SubtaskInfo) -> RuntimeResult<Box<dyn SinkWriter>> {
        Ok(Box::new(PrintWriter {
            prefix: prefix(self.identifier.as_deref(), info),
            standard_error: self.standard_error,
            text: String::new(),
        }))
    }
}

/// One subtask's printer.
pub struct PrintWriter {
    prefix: String,
    standard_error: bool,
    text: String,
}

/// Appends one line per row of `batch` to `out`.
fn format_batch(prefix: &str, batch: &RecordBatch, out: &mut String) -> RuntimeResult<()> {
    // An updating stream's row kinds are shown as Flink shows them, not as a column.
    let formatters = eddy_runtime::changelog::data_columns(batch)
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &FORMAT_OPTIONS))
        .collect::<Result<Vec<_>, _>>()?;
    let kinds = eddy_runtime::changelog::op_strings(batch)?;
    for row in 0..batch.num_rows() {
        let kind = kinds.value(row);
        let _ = write!(out, "{prefix}{kind}[");
        for (i, f) in formatters.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", f.value(row));
        }
        out.push_str("]\n");
    }
    Ok(())
}

impl SinkWriter for PrintWriter {
    fn write(&mut self, batch: &RecordBatch) -> RuntimeResult<()> {
        self.text.clear();
        format_batch(&self.prefix, batch, &mut self.text)?;
        let result = if self.standard_error {
            std::io::stderr().lock().write_all(self.text.as_bytes())
        } else {
            std::io::stdout().lock().write_all(self.text.as_bytes())
        };
        result.map_err(|e| RuntimeError::io("cannot print rows", e))
    }

    fn finish(&mut self) -> RuntimeResult<()> {
        let result = if self.standard_error {
            std::io::stderr().flush()
        } else {
            std::io::stdout().flush()
        };
        result.map_err(|e| RuntimeError::io("cannot print rows", e))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;
    use crate::testing::{spec, subtask};

    #[test]
    fn prints_rows_as_flink() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("foo"), None])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_704_067_200_000),
                    Some(1_704_067_200_123),
                ])),
            ],
        )
        .unwrap();
        let mut out = String::new();
        format_batch("", &batch, &mut out).unwrap();
        assert_eq!(
            out,
            "+I[1, foo, 2024-01-01 00:00:00]\n+I[null, null, 2024-01-01 00:00:00.123]\n"
        );
    }

    #[test]
    fn prefixes_follow_flink() {
        assert_eq!(prefix(None, &subtask(0, 1, 1)), "");
        assert_eq!(prefix(None, &subtask(1, 2, 1)), "2> ");
        assert_eq!(prefix(Some("out"), &subtask(0, 1, 1)), "out> ");
        assert_eq!(prefix(Some("out"), &subtask(2, 4, 1)), "out:3> ");
    }

    #[test]
    fn validates_and_writes() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let f = PrintTableFactory;
        let bad: BTreeMap<String, String> =
            [("standard-error".to_string(), "sometimes".to_string())].into();
        assert!(f.validate("t", &schema, &bad).is_err());
        let sink = f
            .create_sink(&spec(
                &schema,
                &[("connector", "print"), ("standard-error", "true")],
            ))
            .unwrap();
        let mut writer = sink.create_writer(&subtask(0, 1, 1)).unwrap();
        let batch =
            RecordBatch::try_new(Arc::new(schema), vec![Arc::new(Int64Array::from(vec![7]))])
                .unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
    }
}
