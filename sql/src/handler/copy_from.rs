//! `COPY table [(columns)] FROM STDIN`: the rows a client sends in PostgreSQL's text or CSV
//! format, decoded as PostgreSQL's `CopyReadAttributesText` / `CopyReadAttributesCSV`
//! split them, cast to the table's types, and written by a bounded INSERT job whose source
//! carries the rows in its plan (the `values` connector, as `INSERT ... VALUES`): the same
//! sink, checkpoints and commit as any INSERT, on whichever TaskManager runs it.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_cluster::JobStatus;
use eddy_planner::{ConnectorTable, TableDefinition};
use eddy_runtime::jobgraph::{ConnectorSpec, SerializedSchema};

use crate::engine::Engine;
use crate::error::{Result, SqlError};
use crate::parser::CopyOptions;
use crate::session::Session;

/// The most data one COPY FROM takes: it is decoded at once, in the gateway's memory, and
/// its rows travel inside the job graph, whose RPC message is bounded too.
pub const MAX_BYTES: usize = 64 << 20;

/// A COPY FROM waiting for its data: the table, the columns the data fills, and how.
#[derive(Debug, Clone)]
pub struct CopyIn {
    /// The table as the statement names it (for messages).
    pub table: String,
    /// Its full name: catalog, database, table.
    pub target: Vec<String>,
    /// The columns the data holds, with the table's types, in the data's order.
    pub schema: SchemaRef,
    pub options: CopyOptions,
    /// A NOT NULL column the column list leaves out (NULL in every row written).
    pub omitted_not_null: Option<String>,
}

/// Checks the statement before any data comes, as PostgreSQL does: the table exists and
/// can be written, and the columns are its own.
pub(super) async fn start(
    engine: &Engine,
    session: &crate::session::Session,
    path: crate::catalog::ObjectPath,
    columns: Vec<String>,
    options: CopyOptions,
) -> Result<CopyIn> {
    let full = session.resolve(&path);
    let table = full.name.clone();
    let catalog = engine.catalog.read().await;
    let catalog = catalog.database(&full.database)?;
    let temporary = session.temporaries.table(&full);
    if temporary.is_none()
        && (catalog.views.contains_key(&table) || session.temporaries.view(&full).is_some())
    {
        return Err(SqlError::WrongObjectType(format!(
            "cannot copy to view \"{table}\""
        )));
    }
    if catalog.materialized.contains_key(&table) {
        return Err(SqlError::WrongObjectType(format!(
            "cannot copy to materialized view \"{table}\""
        )));
    }
    let target = match &temporary {
        Some(t) => t,
        None => catalog.table(&table)?,
    };
    let writable = target.writable_schema();
    engine.registry.sink(&ConnectorSpec {
        table: table.clone(),
        schema: SerializedSchema::encode(&writable)?,
        options: target.options.clone(),
        primary_key: target.primary_key.clone().unwrap_or_default(),
        partition_keys: Vec::new(),
        partition_filter: None,
        read_columns: None,
    })?;
    if let Some((_, c)) = columns
        .iter()
        .enumerate()
        .find(|(i, c)| columns[..*i].contains(c))
    {
        return Err(SqlError::DuplicateColumn(format!(
            "column \"{c}\" specified more than once"
        )));
    }
    let fields = match columns.is_empty() {
        true => writable.fields().iter().cloned().collect::<Vec<_>>(),
        false => columns
            .iter()
            .map(|c| {
                writable
                    .field_with_name(c)
                    .map(|f| Arc::new(f.clone()))
                    .map_err(|_| SqlError::UndefinedColumn {
                        table: table.clone(),
                        column: c.clone(),
                    })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    // Nested values have no text form this reads (PostgreSQL's array literals, json).
    if let Some(f) = fields.iter().find(|f| {
        matches!(
            f.data_type(),
            DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(_, _)
                | DataType::Struct(_)
                | DataType::Map(_, _)
        )
    }) {
        return Err(SqlError::NotSupported(format!(
            "COPY FROM into column \"{}\" of a nested type ({}) is not supported; leave it out of the column list, or INSERT ... VALUES",
            f.name(),
            f.data_type()
        )));
    }
    let omitted_not_null = writable
        .fields()
        .iter()
        .find(|w| !w.is_nullable() && !fields.iter().any(|f| f.name() == w.name()))
        .map(|w| w.name().clone());
    Ok(CopyIn {
        table: path.to_string(),
        target: vec![
            full.database.catalog.clone(),
            full.database.database.clone(),
            full.name.clone(),
        ],
        schema: Arc::new(Schema::new(fields)),
        options,
        omitted_not_null,
    })
}

/// Decodes `data` and submits the job that writes its rows into the table: the job's id
/// (none when there are no rows) and the number of rows.
pub async fn submit(
    engine: &Engine,
    session: &Session,
    copy: &CopyIn,
    data: &[u8],
) -> Result<(Option<String>, usize)> {
    let batch = decode(copy, data)?;
    if batch.num_rows() == 0 {
        return Ok((None, 0));
    }
    if let Some(column) = &copy.omitted_not_null {
        return Err(bad_data(
            "23502",
            format!(
                "null value in column \"{column}\" of relation \"{}\" violates not-null constraint",
                copy.table
            ),
        ));
    }
    let rows = eddy_connectors::values::encode_rows(&batch)?;
    if rows.len() > 2 * MAX_BYTES {
        return Err(bad_data(
            "54000",
            format!(
                "COPY FROM rows take more than {} MiB in the job; split them into several COPY statements",
                (2 * MAX_BYTES) >> 20
            ),
        ));
    }
    let config = engine.effective_config(session);
    let ctx = engine.job_context_for(&config, session).await?;
    let state = ctx.state();
    let source = ConnectorTable::try_new(
        TableDefinition {
            spec: ConnectorSpec {
                table: "COPY".to_string(),
                schema: SerializedSchema::encode(&copy.schema)?,
                options: BTreeMap::from([
                    ("connector".to_string(), "values".to_string()),
                    (eddy_connectors::values::VALUES_ROWS.key.to_string(), rows),
                ]),
                primary_key: Vec::new(),
                partition_keys: Vec::new(),
                partition_filter: None,
                read_columns: None,
            },
            physical: copy.schema.clone(),
            computed: Vec::new(),
            watermark: None,
            primary_key: Vec::new(),
            bounded: true,
        },
        &state,
        engine.registry.clone(),
        config.clone(),
    )?;
    ctx.register_table("__copy_from_stdin", Arc::new(source))?;
    let quoted = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let columns: Vec<String> = copy
        .schema
        .fields()
        .iter()
        .map(|f| quoted(f.name()))
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM __copy_from_stdin",
        crate::parser::qualified_name(&copy.target),
        columns.join(", ")
    );
    let statement = crate::parser::parse_sqlparser(&sql)?;
    let text = format!("COPY {} FROM STDIN", copy.table);
    let graph = super::insert::build_job_in(engine, session, &ctx, &[&statement], &text).await?;
    let job_id = engine.dispatcher.submit_job(graph).await?;
    Ok((Some(job_id), batch.num_rows()))
}

/// Waits for a COPY's job: Ok once every row is in the table.
pub async fn wait(engine: &Engine, job_id: &str) -> Result<()> {
    let result = engine.dispatcher.request_job_result(job_id).await?;
    match result.status {
        JobStatus::Finished => Ok(()),
        JobStatus::Canceled => Err(SqlError::Cancelled),
        _ => Err(SqlError::JobFailed {
            id: job_id.to_string(),
            error: result.error.unwrap_or_else(|| {
                eddy_cluster::gateway::Failure::internal("the job failed without a reason")
            }),
        }),
    }
}

/// Cancels a COPY's job (the client cancelled the COPY).
pub async fn cancel(engine: &Engine, job_id: &str) {
    if let Err(e) = engine.dispatcher.cancel_job(job_id).await {
        tracing::debug!(job_id, error = %e, "cancelling a COPY's job");
    }
}

fn bad_data(sqlstate: &'static str, message: String) -> SqlError {
    SqlError::CopyData { sqlstate, message }
}

/// The rows of `data`, typed as the table's columns.
fn decode(copy: &CopyIn, data: &[u8]) -> Result<RecordBatch> {
    let text = std::str::from_utf8(data).map_err(|e| {
        bad_data(
            "22021",
            format!("invalid byte sequence for encoding \"UTF8\" in COPY data: {e}"),
        )
    })?;
    let n = copy.schema.fields().len();
    let mut builders: Vec<StringBuilder> = (0..n).map(|_| StringBuilder::new()).collect();
    let mut lines = Vec::new();
    let mut row = Vec::with_capacity(n);
    let mut split = Splitter::new(text, &copy.options);
    while let Some(line) = split.next_row(&mut row)? {
        if copy.options.header && line == 1 {
            continue;
        }
        if row.len() < n {
            return Err(bad_data(
                "22P04",
                format!(
                    "missing data for column \"{}\" (COPY {}, line {line})",
                    copy.schema.field(row.len()).name(),
                    copy.table
                ),
            ));
        }
        if row.len() > n {
            return Err(bad_data(
                "22P04",
                format!(
                    "extra data after last expected column (COPY {}, line {line})",
                    copy.table
                ),
            ));
        }
        for (b, v) in builders.iter_mut().zip(row.drain(..)) {
            b.append_option(v);
        }
        lines.push(line);
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(n);
    for (b, field) in builders.iter_mut().zip(copy.schema.fields()) {
        let text = b.finish();
        if matches!(
            field.data_type(),
            DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
        ) {
            let bytes = bytea_column(&text, copy, &lines, field.name())?;
            columns.push(
                datafusion::arrow::compute::cast(&bytes, field.data_type()).map_err(|e| {
                    bad_data(
                        "22P02",
                        format!(
                            "invalid input for column {} (COPY {}): {e}",
                            field.name(),
                            copy.table
                        ),
                    )
                })?,
            );
            continue;
        }
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        match cast_with_options(&text, field.data_type(), &strict) {
            Ok(a) => columns.push(a),
            Err(e) => {
                // Name the first value that does not read, with its line, as PostgreSQL does.
                let lenient = cast_with_options(&text, field.data_type(), &CastOptions::default());
                let at = lenient.ok().and_then(|typed| {
                    (0..text.len()).find(|&i| text.is_valid(i) && typed.is_null(i))
                });
                let message = match at {
                    Some(i) => format!(
                        "invalid input syntax for type {}: \"{}\" (COPY {}, line {}, column {})",
                        crate::pgwire::pg_type(field.data_type()).name(),
                        text.value(i),
                        copy.table,
                        lines[i],
                        field.name()
                    ),
                    None => format!(
                        "invalid input for column {} (COPY {}): {e}",
                        field.name(),
                        copy.table
                    ),
                };
                return Err(bad_data("22P02", message));
            }
        }
    }
    for (a, field) in columns.iter().zip(copy.schema.fields()) {
        if !field.is_nullable() && a.null_count() > 0 {
            return Err(bad_data(
                "23502",
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    field.name(),
                    copy.table
                ),
            ));
        }
    }
    RecordBatch::try_new(copy.schema.clone(), columns)
        .map_err(|e| SqlError::Internal(e.to_string()))
}

/// Cuts COPY data into rows of fields (None for NULL) as PostgreSQL reads them.
struct Splitter<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    options: &'a CopyOptions,
}

impl<'a> Splitter<'a> {
    fn new(text: &'a str, options: &'a CopyOptions) -> Self {
        Self {
            text,
            pos: 0,
            line: 0,
            options,
        }
    }

    /// The next row's fields into `row`; the line it starts on, or None at the end (of the
    /// data, or at the `\.` line that ends it in either format).
    fn next_row(&mut self, row: &mut Vec<Option<String>>) -> Result<Option<usize>> {
        row.clear();
        let rest = &self.text[self.pos..];
        if rest.is_empty()
            || rest == "\\."
            || rest.starts_with("\\.\n")
            || rest.starts_with("\\.\r\n")
        {
            return Ok(None);
        }
        self.line += 1;
        let start = self.line;
        match self.options.csv {
            true => self.csv_row(row)?,
            false => self.text_row(row)?,
        }
        Ok(Some(start))
    }

    /// A line of the text format, read as PostgreSQL's `CopyReadAttributesText` does: a
    /// backslash takes the next character as data (a delimiter, a newline), fields split
    /// at the other delimiters, a field spelled as NULL's string (before its escapes are
    /// undone) is NULL.
    fn text_row(&mut self, row: &mut Vec<Option<String>>) -> Result<()> {
        let (text, options) = (self.text, self.options);
        let bytes = text.as_bytes();
        let delimiter = options.delimiter as u8;
        let mut field_start = self.pos;
        let mut i = self.pos;
        let push = |start: usize, end: usize, row: &mut Vec<Option<String>>| -> Result<()> {
            let raw = &text[start..end];
            row.push(match raw == options.null {
                true => None,
                false => Some(unescape(raw)?),
            });
            Ok(())
        };
        let end = loop {
            match bytes.get(i) {
                None => break i,
                Some(b'\\') => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        self.line += 1;
                    }
                    i += 2;
                }
                Some(b'\n') => break i,
                Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => break i,
                Some(&b) if b == delimiter => {
                    push(field_start, i, row)?;
                    i += 1;
                    field_start = i;
                }
                Some(_) => i += 1,
            }
        };
        let end = end.min(bytes.len());
        push(field_start, end, row)?;
        self.pos = match bytes.get(end) {
            Some(b'\r') => end + 2,
            Some(_) => end + 1,
            None => end,
        }
        .min(bytes.len());
        Ok(())
    }

    /// A record of the CSV format: quoted fields may hold delimiters, quotes (doubled or
    /// escaped) and newlines; an unquoted field equal to NULL's string is NULL.
    fn csv_row(&mut self, row: &mut Vec<Option<String>>) -> Result<()> {
        let (quote, escape, delimiter) = (
            self.options.quote,
            self.options.escape,
            self.options.delimiter,
        );
        let mut field = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let mut chars = self.text[self.pos..].char_indices().peekable();
        let mut consumed = self.text.len() - self.pos;
        while let Some((i, c)) = chars.next() {
            if in_quotes {
                if c == escape
                    && chars
                        .peek()
                        .is_some_and(|(_, n)| *n == quote || *n == escape)
                {
                    if let Some((_, n)) = chars.next() {
                        field.push(n);
                    }
                } else if c == quote {
                    in_quotes = false;
                } else {
                    if c == '\n' {
                        self.line += 1;
                    }
                    field.push(c);
                }
            } else if c == quote {
                in_quotes = true;
                quoted = true;
            } else if c == delimiter {
                row.push(csv_value(std::mem::take(&mut field), quoted, self.options));
                quoted = false;
            } else if c == '\n' {
                consumed = i + 1;
                break;
            } else if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
            } else {
                field.push(c);
            }
        }
        if in_quotes {
            return Err(bad_data(
                "22P04",
                format!("unterminated CSV quoted field (line {})", self.line),
            ));
        }
        row.push(csv_value(field, quoted, self.options));
        self.pos += consumed;
        Ok(())
    }
}

fn csv_value(field: String, quoted: bool, options: &CopyOptions) -> Option<String> {
    match !quoted && field == options.null {
        true => None,
        false => Some(field),
    }
}

/// Undoes the text format's backslash escapes: `\t`, `\n`, `\\`, octal `\123`, hex
/// `\x41`; any other escaped character is itself. Escapes that make a NUL byte or bytes
/// that are not UTF-8 are refused, as PostgreSQL refuses them (22021).
fn unescape(raw: &str) -> Result<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' || i + 1 >= bytes.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if bytes.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match bytes.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    if out.contains(&0) {
        return Err(bad_data(
            "22021",
            "invalid byte sequence for encoding \"UTF8\": 0x00".into(),
        ));
    }
    String::from_utf8(out).map_err(|e| {
        bad_data(
            "22021",
            format!("invalid byte sequence for encoding \"UTF8\" in an escape: {e}"),
        )
    })
}

/// bytea input as PostgreSQL reads it: `\x` then hex digits, or the escape format (`\\`
/// for a backslash, `\ooo` octal bytes, anything else as it is).
fn bytea_column(
    text: &datafusion::arrow::array::StringArray,
    copy: &CopyIn,
    lines: &[usize],
    column: &str,
) -> Result<ArrayRef> {
    let mut out = datafusion::arrow::array::BinaryBuilder::new();
    for (i, line) in lines.iter().enumerate().take(text.len()) {
        if text.is_null(i) {
            out.append_null();
            continue;
        }
        let s = text.value(i);
        let refuse = |why: &str| {
            bad_data(
                "22P02",
                format!(
                    "invalid input syntax for type bytea: {why} (COPY {}, line {}, column {column})",
                    copy.table, line
                ),
            )
        };
        let bytes = match s.strip_prefix("\\x") {
            Some(hex) => {
                let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                if !digits.len().is_multiple_of(2) {
                    return Err(refuse("odd number of hexadecimal digits"));
                }
                digits
                    .chunks(2)
                    .map(|pair| {
                        let hi = (pair[0] as char).to_digit(16);
                        let lo = (pair[1] as char).to_digit(16);
                        match (hi, lo) {
                            (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                            _ => Err(refuse("invalid hexadecimal digit")),
                        }
                    })
                    .collect::<Result<Vec<u8>>>()?
            }
            None => {
                let b = s.as_bytes();
                let mut v = Vec::with_capacity(b.len());
                let mut j = 0;
                while j < b.len() {
                    if b[j] != b'\\' {
                        v.push(b[j]);
                        j += 1;
                    } else if b.get(j + 1) == Some(&b'\\') {
                        v.push(b'\\');
                        j += 2;
                    } else if j + 4 <= b.len()
                        && b[j + 1..j + 4].iter().all(|d| (b'0'..=b'7').contains(d))
                    {
                        let o = b[j + 1..j + 4]
                            .iter()
                            .fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
                        if o > 255 {
                            return Err(refuse("invalid escape"));
                        }
                        v.push(o as u8);
                        j += 4;
                    } else {
                        return Err(refuse("invalid escape"));
                    }
                }
                v
            }
        };
        out.append_value(bytes);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};

    fn copy(csv: bool, types: &[DataType]) -> CopyIn {
        let sql = if csv {
            "COPY t FROM STDIN WITH (FORMAT csv)"
        } else {
            "COPY t FROM STDIN"
        };
        let options = match crate::parser::parse_statement(sql).unwrap() {
            crate::parser::Statement::CopyFrom { options, .. } => options,
            other => panic!("{other:?}"),
        };
        CopyIn {
            table: "t".into(),
            target: vec![
                "default_catalog".into(),
                "default_database".into(),
                "t".into(),
            ],
            schema: Arc::new(Schema::new(
                types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Field::new(format!("c{i}"), t.clone(), true))
                    .collect::<Vec<_>>(),
            )),
            options,
            omitted_not_null: None,
        }
    }

    fn strings(batch: &RecordBatch, col: usize) -> Vec<Option<String>> {
        let a = batch
            .column(col)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn text_format_reads_as_postgres_writes_it() {
        let c = copy(false, &[DataType::Int32, DataType::Utf8]);
        let batch = decode(&c, b"1\ta\\tb\n2\t\\N\n3\t\\\\x\\101\\x42\n").unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(
            strings(&batch, 1),
            vec![Some("a\tb".into()), None, Some("\\xAB".into())]
        );
    }

    #[test]
    fn text_escapes_delimiters_and_ends_at_the_marker() {
        let c = copy(false, &[DataType::Utf8, DataType::Utf8]);
        let batch = decode(&c, b"a\\\tb\tx\\\ny\n\\N\t\\\\N\n\\.\nignored\n").unwrap();
        assert_eq!(strings(&batch, 0), vec![Some("a\tb".into()), None]);
        assert_eq!(
            strings(&batch, 1),
            vec![Some("x\ny".into()), Some("\\N".into())]
        );
        let e = decode(&c, b"a\\0\tb\n").unwrap_err();
        assert_eq!(e.sqlstate(), "22021");
    }

    #[test]
    fn bytea_reads_hex_and_escapes() {
        let c = copy(false, &[DataType::Binary]);
        let batch = decode(&c, b"\\\\x0aff\nab\\\\\\\\\\\\001\n").unwrap();
        let a = batch
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::BinaryArray>()
            .unwrap();
        assert_eq!(a.value(0), &[0x0a, 0xff]);
        assert_eq!(a.value(1), b"ab\\\x01");
        let e = decode(&c, b"\\\\xzz\n").unwrap_err();
        assert_eq!(e.sqlstate(), "22P02");
    }

    #[test]
    fn csv_format_reads_quotes_nulls_and_newlines() {
        let c = copy(true, &[DataType::Utf8, DataType::Utf8]);
        let batch = decode(&c, b"\"a,b\",\n\"\",\"say \"\"hi\"\"\nthere\"\n\\.\n").unwrap();
        assert_eq!(
            strings(&batch, 0),
            vec![Some("a,b".into()), Some("".into())]
        );
        assert_eq!(
            strings(&batch, 1),
            vec![None, Some("say \"hi\"\nthere".into())]
        );
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let c = copy(false, &[DataType::Int32, DataType::Utf8]);
        let e = decode(&c, b"1\ta\nx\tb\n").unwrap_err();
        assert_eq!(e.sqlstate(), "22P02");
        assert!(
            e.to_string().contains("\"x\"") && e.to_string().contains("line 2"),
            "{e}"
        );
        let e = decode(&c, b"1\n").unwrap_err();
        assert_eq!(e.sqlstate(), "22P04");
        assert!(
            e.to_string().contains("missing data for column \"c1\""),
            "{e}"
        );
        let e = decode(&c, b"1\ta\tb\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("extra data after last expected column"),
            "{e}"
        );
    }
}
