//! The `*.ignore-parse-errors` policy. A chunk of lines is decoded at once; only when that
//! fails is it decoded line by line to find the malformed lines, which are then skipped
//! and counted (`numRecordsSkipped`) or fail the job with the line quoted.

use std::sync::Arc;

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::RuntimeError;

use super::{BatchDecoder, LineChunk};

/// Longest record text quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

/// What happens to a record that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRecordPolicy {
    /// Fail the job, quoting the record (Flink's default).
    Fail,
    /// Skip it and count it in `numRecordsSkipped` (`*.ignore-parse-errors = true`).
    Skip,
}

impl BadRecordPolicy {
    /// The policy for a `*.ignore-parse-errors` value.
    pub fn from_ignore_parse_errors(ignore: bool) -> Self {
        if ignore {
            BadRecordPolicy::Skip
        } else {
            BadRecordPolicy::Fail
        }
    }
}

/// A [`BatchDecoder`] under a [`BadRecordPolicy`].
pub struct RecordDecoder {
    decoder: Box<dyn BatchDecoder>,
    schema: SchemaRef,
    policy: BadRecordPolicy,
    metrics: Arc<TaskMetrics>,
}

impl RecordDecoder {
    /// Wraps `decoder`, whose batches have `schema`; skipped records are counted in `metrics`.
    pub fn new(
        decoder: Box<dyn BatchDecoder>,
        schema: SchemaRef,
        policy: BadRecordPolicy,
        metrics: Arc<TaskMetrics>,
    ) -> Self {
        Self {
            decoder,
            schema,
            policy,
            metrics,
        }
    }

    /// Decodes a chunk of lines read from `source` (a file path, for messages). Returns
    /// `None` when no line survived.
    pub fn decode(
        &mut self,
        source: &str,
        chunk: &LineChunk,
    ) -> Result<Option<RecordBatch>, RuntimeError> {
        if chunk.is_empty() {
            return Ok(None);
        }
        let exact = self.decoder.one_row_per_line();
        if let Ok(batch) = self.decoder.decode(chunk.bytes(), chunk.len()) {
            if !exact || batch.num_rows() == chunk.len() {
                return Ok(Some(batch));
            }
        }
        // Some line is bad: find it (or them) one line at a time.
        let mut good = Vec::with_capacity(chunk.len());
        let mut skipped = 0u64;
        for (line_number, text, with_newline) in chunk.lines() {
            let reason = match self.decoder.decode(with_newline, 1) {
                Ok(batch) if !exact || batch.num_rows() == 1 => {
                    good.push(batch);
                    continue;
                }
                Ok(batch) => format!(
                    "expected one record on the line, found {}",
                    batch.num_rows()
                ),
                Err(reason) => reason,
            };
            match self.policy {
                BadRecordPolicy::Skip => {
                    tracing::debug!(source, line_number, %reason, "skipping malformed record");
                    skipped += 1;
                }
                BadRecordPolicy::Fail => {
                    return Err(RuntimeError::BadRecord {
                        location: format!("{source}:{line_number}"),
                        reason,
                        record: quote_record(text),
                    })
                }
            }
        }
        if skipped > 0 {
            TaskMetrics::add(&self.metrics.num_records_skipped, skipped);
        }
        if good.is_empty() {
            return Ok(None);
        }
        Ok(Some(concat_batches(&self.schema, &good)?))
    }
}

/// A record's text for an error message: lossily UTF-8, cut after about 200 characters.
pub fn quote_record(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// Decodes lines holding one integer each.
    struct IntLines(SchemaRef);

    impl BatchDecoder for IntLines {
        fn decode(&mut self, buf: &[u8], _num_lines: usize) -> Result<RecordBatch, String> {
            let text = std::str::from_utf8(buf).map_err(|e| e.to_string())?;
            let values = text
                .lines()
                .map(|l| l.parse::<i64>().map_err(|e| format!("{e}")))
                .collect::<Result<Vec<_>, _>>()?;
            RecordBatch::try_new(self.0.clone(), vec![Arc::new(Int64Array::from(values))])
                .map_err(|e| e.to_string())
        }
    }

    fn decoder(policy: BadRecordPolicy) -> (RecordDecoder, Arc<TaskMetrics>) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let metrics = Arc::new(TaskMetrics::default());
        let d = RecordDecoder::new(
            Box::new(IntLines(schema.clone())),
            schema,
            policy,
            metrics.clone(),
        );
        (d, metrics)
    }

    fn chunk(lines: &[(u64, &str)]) -> LineChunk {
        let mut c = LineChunk::new();
        for (n, l) in lines {
            c.push(*n, l.as_bytes());
        }
        c
    }

    #[test]
    fn skips_and_counts() {
        let (mut d, metrics) = decoder(BadRecordPolicy::Skip);
        let batch = d
            .decode("f.txt", &chunk(&[(1, "1"), (2, "x"), (4, "3")]))
            .unwrap()
            .unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(metrics.num_records_skipped.load(Ordering::Relaxed), 1);
        assert!(d.decode("f.txt", &chunk(&[(5, "y")])).unwrap().is_none());
        assert_eq!(metrics.num_records_skipped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn fails_naming_the_line() {
        let (mut d, _) = decoder(BadRecordPolicy::Fail);
        let err = d
            .decode("/data/f.txt", &chunk(&[(1, "1"), (7, "x")]))
            .unwrap_err();
        match err {
            RuntimeError::BadRecord {
                location, record, ..
            } => {
                assert_eq!(location, "/data/f.txt:7");
                assert_eq!(record, "x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_records_are_cut() {
        let long = "é".repeat(500);
        let quoted = quote_record(long.as_bytes());
        assert_eq!(quoted.chars().count(), MAX_QUOTED_CHARS + 3);
        assert!(quoted.ends_with("..."));
        assert_eq!(quote_record(b"short"), "short");
    }
}
