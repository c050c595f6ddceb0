//! COPY ... TO STDOUT: rows in PostgreSQL's text or CSV format, one CopyData message per
//! row as PostgreSQL sends them. Values are the text a SELECT sends for them (the same
//! encoder), then escaped or quoted as PostgreSQL's `CopyAttributeOutText` /
//! `CopyAttributeOutCSV` do.

use std::sync::Arc;

use bytes::{Buf, Bytes};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::stream::BoxStream;
use futures::StreamExt;
use pgwire::api::portal::Format;
use pgwire::api::results::{CopyResponse, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::PgWireBackendMessage;

use super::encode::encode_batch;
use super::types::fields;
use crate::error::SqlError;
use crate::parser::CopyOptions;

/// The CopyOut response for `schema`'s rows from `stream`.
pub(super) fn copy_out(
    schema: SchemaRef,
    stream: BoxStream<'static, Result<RecordBatch, SqlError>>,
    options: CopyOptions,
    zone: crate::session::Zone,
) -> CopyResponse {
    let fields = Arc::new(fields(&schema, &Format::UnifiedText));
    let forced: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| options.force_quote.iter().any(|c| c == f.name()))
        .collect();
    let columns = schema.fields().len();
    // pgwire counts CopyData messages for the COPY tag, so the header travels in the first
    // row's message (alone only when there is no row: then the tag says 1 instead of 0).
    let header = options.header.then(|| {
        let mut line = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if i > 0 {
                line.push(options.delimiter as u8);
            }
            value(
                &mut line,
                f.name().as_bytes(),
                false,
                &options,
                columns == 1,
            );
        }
        line.push(b'\n');
        line
    });
    let options = Arc::new(options);
    let rows = stream
        .map(Some)
        .chain(futures::stream::once(async { None }))
        .scan(header, move |header, batch| {
            let lines: Vec<PgWireResult<CopyData>> = match batch {
                Some(Err(e)) => vec![Err(error(&e))],
                Some(Ok(batch)) => encode_batch(&batch, &fields, zone)
                    .into_iter()
                    .map(|row| {
                        let row = row?;
                        let mut line = header.take().unwrap_or_default();
                        write_row(&mut line, row.data.freeze(), &forced, &options)?;
                        Ok(CopyData::new(Bytes::from(line)))
                    })
                    .collect(),
                None => header
                    .take()
                    .map(|h| Ok(CopyData::new(Bytes::from(h))))
                    .into_iter()
                    .collect(),
            };
            futures::future::ready(Some(futures::stream::iter(lines)))
        })
        .flatten();
    CopyResponse::new(0, columns, rows)
}

/// Sends a CopyOut response as PostgreSQL does: CopyOutResponse, a CopyData per row
/// (flushed whenever the next row is not ready, so a streaming COPY shows rows as they
/// come), then CopyDone and the `COPY n` tag. When the query fails part way, the error is
/// returned for the caller to send as an ErrorResponse: PostgreSQL never sends CopyFail to
/// a client (pgwire's own sender does, which drivers take for a broken connection).
pub(super) async fn send_copy_out<C>(client: &mut C, mut copy: CopyResponse) -> PgWireResult<()>
where
    C: futures::Sink<PgWireBackendMessage> + Unpin,
    C::Error: std::fmt::Debug,
    PgWireError: From<<C as futures::Sink<PgWireBackendMessage>>::Error>,
{
    use futures::{FutureExt, SinkExt};
    let formats = copy.column_formats();
    let (format, columns) = (copy.format, copy.columns);
    let data_stream = copy.data_stream();
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            format,
            columns as i16,
            formats,
        )))
        .await?;
    let mut rows = 0usize;
    loop {
        let next = match data_stream.next().now_or_never() {
            Some(next) => next,
            None => {
                client.flush().await?;
                data_stream.next().await
            }
        };
        match next {
            Some(Ok(data)) => {
                rows += 1;
                client.feed(PgWireBackendMessage::CopyData(data)).await?;
            }
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    client
        .send(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(rows).into(),
        ))
        .await?;
    Ok(())
}

fn error(e: &SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        e.sqlstate().into(),
        e.client_message(),
    )))
}

/// One DataRow's fields (each an i32 length, -1 for NULL, then the text) as a line.
fn write_row(
    line: &mut Vec<u8>,
    mut data: Bytes,
    forced: &[bool],
    options: &CopyOptions,
) -> PgWireResult<()> {
    for (i, force) in forced.iter().enumerate() {
        if i > 0 {
            line.push(options.delimiter as u8);
        }
        if data.remaining() < 4 {
            return Err(PgWireError::ApiError("a row ended early".into()));
        }
        let len = data.get_i32();
        if len < 0 {
            line.extend_from_slice(options.null.as_bytes());
            continue;
        }
        let len = len as usize;
        if data.remaining() < len {
            return Err(PgWireError::ApiError("a row ended early".into()));
        }
        let text = data.split_to(len);
        value(line, &text, *force, options, forced.len() == 1);
    }
    line.push(b'\n');
    Ok(())
}

/// One non-NULL value, escaped (text) or quoted where needed (CSV).
fn value(line: &mut Vec<u8>, text: &[u8], force_quote: bool, options: &CopyOptions, single: bool) {
    let delimiter = options.delimiter as u8;
    if !options.csv {
        for &b in text {
            match b {
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\t' => line.extend_from_slice(b"\\t"),
                0x08 => line.extend_from_slice(b"\\b"),
                0x0c => line.extend_from_slice(b"\\f"),
                0x0b => line.extend_from_slice(b"\\v"),
                b if b == delimiter => line.extend_from_slice(&[b'\\', b]),
                b => line.push(b),
            }
        }
        return;
    }
    let (quote, escape) = (options.quote as u8, options.escape as u8);
    // A value that reads back as NULL, or as the end-of-data marker (a line of its own only
    // when there is one column), is quoted too.
    let needs_quotes = force_quote
        || text == options.null.as_bytes()
        || (single && text == b"\\.")
        || text
            .iter()
            .any(|&b| b == delimiter || b == quote || b == b'\n' || b == b'\r');
    if !needs_quotes {
        line.extend_from_slice(text);
        return;
    }
    line.push(quote);
    for &b in text {
        if b == quote || b == escape {
            line.push(escape);
        }
        line.push(b);
    }
    line.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv() -> CopyOptions {
        CopyOptions {
            csv: true,
            header: false,
            delimiter: ',',
            null: String::new(),
            quote: '"',
            escape: '"',
            force_quote: vec![],
        }
    }

    fn text() -> CopyOptions {
        CopyOptions {
            csv: false,
            delimiter: '\t',
            null: "\\N".into(),
            ..csv()
        }
    }

    fn out(v: &str, o: &CopyOptions) -> String {
        let mut line = Vec::new();
        value(&mut line, v.as_bytes(), false, o, true);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn text_escapes_as_postgresql() {
        assert_eq!(out("a\tb\nc\\d\re", &text()), "a\\tb\\nc\\\\d\\re");
        let pipes = CopyOptions {
            delimiter: '|',
            ..text()
        };
        // A tab is escaped whatever the delimiter, as PostgreSQL does.
        assert_eq!(out("a|b\tc", &pipes), "a\\|b\\tc");
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(out("plain", &csv()), "plain");
        assert_eq!(out("", &csv()), "\"\"");
        assert_eq!(out("a,b", &csv()), "\"a,b\"");
        assert_eq!(out("say \"hi\"", &csv()), "\"say \"\"hi\"\"\"");
        assert_eq!(out("two\nlines", &csv()), "\"two\nlines\"");
        assert_eq!(out("\\.", &csv()), "\"\\.\"");
        let escaped = CopyOptions {
            escape: '\\',
            ..csv()
        };
        assert_eq!(out("a\"b\\c", &escaped), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn rows_from_data_row_fields() {
        let mut data = bytes::BytesMut::new();
        for v in [Some("1"), None, Some("x,y")] {
            match v {
                Some(s) => {
                    data.extend_from_slice(&(s.len() as i32).to_be_bytes());
                    data.extend_from_slice(s.as_bytes());
                }
                None => data.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        let mut line = Vec::new();
        write_row(&mut line, data.freeze(), &[true, false, false], &csv()).unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), "\"1\",,\"x,y\"\n");
    }
}
