//! The `filesystem` connector (Flink's `FileSystemTableFactory`): a bounded source over a
//! file or a directory tree, one split per file or per byte range of a large file, and a sink writing part files into a
//! directory, visible only once committed. Reading: [`source`]; writing: [`sink`].

pub mod partition;
pub mod partition_commit;
mod partitioned_sink;
mod sink;
mod source;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use eddy_runtime::connector::{Sink, Source};
use eddy_runtime::jobgraph::ConnectorSpec;

pub use sink::{FileSystemSink, FileSystemWriter};
pub use source::{FileSystemReader, FileSystemSource};

use crate::error::{ConnectorError, Result};
use crate::factory::TableFactory;
use crate::format::FormatFactory;
use crate::options::{get, get_required, parse_duration, parse_memory_size, OptionKey};
use crate::registry::{format_factory, formats};

const IDENTIFIER: &str = "filesystem";

/// `path`.
pub const PATH: OptionKey = OptionKey::new(
    "path",
    "A file or directory to read (directories recursively); the directory to write into.",
);
/// `format`.
pub const FORMAT: OptionKey = OptionKey::new("format", "The file format: 'csv' or 'json'.");
/// `source.split.min-size` (Eddy's own: Flink reads a file with one subtask).
pub const SPLIT_MIN_SIZE: OptionKey = OptionKey::with_default(
    "source.split.min-size",
    "8MB",
    "A file of at least twice this size is read as byte ranges by the source's subtasks, as many as the parallelism allows with each range at least this size; lines stay whole. Changelog formats (debezium-json, canal-json) are always read one file per subtask, in order.",
);
/// `sink.rolling-policy.file-size`.
pub const ROLLING_FILE_SIZE: OptionKey = OptionKey::with_default(
    "sink.rolling-policy.file-size",
    "128MB",
    "A part file is closed and a new one started once it reaches this size.",
);
/// `sink.rolling-policy.check-interval`.
pub const ROLLING_CHECK_INTERVAL: OptionKey = OptionKey::with_default(
    "sink.rolling-policy.check-interval",
    "1 min",
    "How often Flink checks open part files against the rollover interval. Eddy checks them at every write and checkpoint instead, so the value only has to be a valid duration.",
);
/// `sink.rolling-policy.rollover-interval`.
pub const ROLLOVER_INTERVAL: OptionKey = OptionKey::with_default(
    "sink.rolling-policy.rollover-interval",
    "30 min",
    "A part file is closed and a new one started once it has been open this long.",
);

/// The `filesystem` connector.
#[derive(Debug, Default)]
pub struct FileSystemTableFactory;

/// A filesystem table's options, checked.
struct FileSystemOptions {
    path: PathBuf,
    format: Arc<dyn FormatFactory>,
    file_size: u64,
    split_min_size: u64,
    rollover_interval: Duration,
    default_partition: String,
}

impl FileSystemOptions {
    fn parse(schema: &Schema, options: &BTreeMap<String, String>) -> Result<Self> {
        let path = get_required(IDENTIFIER, options, &PATH)?;
        if path.trim().is_empty() {
            return Err(ConnectorError::invalid(PATH.key, path, "the path is empty"));
        }
        let format = format_factory(get_required(IDENTIFIER, options, &FORMAT)?)?;
        // Another format's options next to this one are a mistake worth naming.
        for key in options.keys() {
            let Some((prefix, _)) = key.split_once('.') else {
                continue;
            };
            if prefix != format.identifier() && formats().iter().any(|f| f.identifier() == prefix) {
                return Err(ConnectorError::OptionNotApplicable {
                    option: key.clone(),
                    reason: format!(
                        "it belongs to format '{prefix}', but the table's format is '{}'",
                        format.identifier()
                    ),
                });
            }
        }
        if !format.reads_lines() {
            return Err(ConnectorError::invalid(
                FORMAT.key,
                format.identifier(),
                "this format encodes records, not lines: Eddy reads and writes it with the kafka and upsert-kafka connectors only (Flink's filesystem writes Avro container files, which Eddy does not)",
            ));
        }
        format.validate(schema, options)?;
        let file_size = match get(options, &ROLLING_FILE_SIZE) {
            Some(v) => parse_memory_size(ROLLING_FILE_SIZE.key, v)?,
            None => 128 << 20,
        };
        let split_min_size = match get(options, &SPLIT_MIN_SIZE) {
            Some(v) => parse_memory_size(SPLIT_MIN_SIZE.key, v)?,
            None => 8 << 20,
        };
        let default_partition = get(options, &partition::DEFAULT_NAME)
            .unwrap_or("__DEFAULT_PARTITION__")
            .to_string();
        if default_partition.is_empty() || default_partition.contains(['/', '=']) {
            return Err(ConnectorError::invalid(
                partition::DEFAULT_NAME.key,
                &default_partition,
                "a directory name without '/' or '=' is needed",
            ));
        }
        let rollover_interval = match get(options, &ROLLOVER_INTERVAL) {
            Some(v) => parse_duration(ROLLOVER_INTERVAL.key, v)?,
            None => Duration::from_secs(30 * 60),
        };
        if let Some(v) = get(options, &ROLLING_CHECK_INTERVAL) {
            parse_duration(ROLLING_CHECK_INTERVAL.key, v)?;
        }
        partition_commit::CommitPolicy::parse(options, None)?;
        if rollover_interval.is_zero() {
            return Err(ConnectorError::invalid(
                ROLLOVER_INTERVAL.key,
                "0",
                "the interval must be positive",
            ));
        }
        Ok(Self {
            path: local_path(path)?,
            format,
            file_size,
            split_min_size,
            rollover_interval,
            default_partition,
        })
    }
}

/// The local path a `path` option names: a plain path, or a `file:` URI as Flink users
/// write them (`file:///data/out`, `file:/data/out`, `file://localhost/data/out`). Other
/// schemes (`s3://`, `hdfs://`) are refused by name rather than taken as a relative path.
fn local_path(path: &str) -> Result<PathBuf> {
    if let Some(rest) = path.strip_prefix("file://") {
        return match rest.strip_prefix("localhost") {
            _ if rest.starts_with('/') => Ok(PathBuf::from(rest)),
            Some(local) if local.starts_with('/') => Ok(PathBuf::from(local)),
            _ => Err(ConnectorError::invalid(
                PATH.key,
                path,
                "a file:// URI names a path on this machine, as in 'file:///data/out'",
            )),
        };
    }
    if let Some(rest) = path.strip_prefix("file:") {
        return Ok(PathBuf::from(rest));
    }
    if let Some((scheme, _)) = path.split_once("://") {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(ConnectorError::invalid(
                PATH.key,
                path,
                format!("the filesystem connector reads and writes local paths; '{scheme}://' is not supported"),
            ));
        }
    }
    Ok(PathBuf::from(path))
}

fn decode_spec(spec: &ConnectorSpec) -> Result<(SchemaRef, FileSystemOptions)> {
    let schema = spec.schema.decode()?;
    let options = FileSystemOptions::parse(&schema, &spec.options)?;
    Ok((schema, options))
}

impl TableFactory for FileSystemTableFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![PATH, FORMAT]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        let mut keys = vec![
            SPLIT_MIN_SIZE,
            ROLLING_FILE_SIZE,
            ROLLOVER_INTERVAL,
            ROLLING_CHECK_INTERVAL,
            crate::options::SINK_PARALLELISM,
            partition::DEFAULT_NAME,
        ];
        keys.extend(partition_commit::options());
        for format in formats() {
            keys.extend(format.optional_options());
        }
        keys
    }

    fn validate(
        &self,
        table: &str,
        schema: &Schema,
        options: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.check_keys(table, schema, options)?;
        FileSystemOptions::parse(schema, options).map(|_| ())
    }

    fn is_bounded(&self, _options: &BTreeMap<String, String>) -> bool {
        true
    }

    fn create_source(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Source>> {
        let (schema, options) = decode_spec(spec)?;
        let partitioning = partition::Partitioning::new(
            &schema,
            &spec.partition_keys,
            &options.default_partition,
        )?;
        // Rows of one key must keep their order in a changelog.
        let split = (!options.format.produces_changelog()).then_some(options.split_min_size);
        Ok(Arc::new(
            FileSystemSource::new(
                spec.table.clone(),
                options.path,
                schema,
                options.format,
                spec.options.clone(),
            )
            .partitioned(partitioning, spec.partition_filter.clone())
            .reading(spec.read_columns.clone())
            .splitting(split),
        ))
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let (schema, options) = decode_spec(spec)?;
        let partitioning = partition::Partitioning::new(
            &schema,
            &spec.partition_keys,
            &options.default_partition,
        )?;
        let commit_policy =
            partition_commit::CommitPolicy::parse(&spec.options, Some(&spec.partition_keys))?;
        Ok(Arc::new(
            FileSystemSink::new(
                spec.table.clone(),
                options.path,
                schema,
                options.format,
                spec.options.clone(),
                options.file_size,
                options.rollover_interval,
            )
            .partitioned(partitioning, commit_policy),
        ))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn validate(pairs: &[(&str, &str)]) -> Result<()> {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        FileSystemTableFactory.validate("t", &schema, &opts(pairs))
    }

    #[test]
    fn checks_options() {
        validate(&[
            ("path", "/tmp/x"),
            ("format", "csv"),
            ("csv.field-delimiter", ";"),
        ])
        .unwrap();
        validate(&[
            ("path", "/tmp/x"),
            ("format", "json"),
            ("json.ignore-parse-errors", "true"),
        ])
        .unwrap();
        let err = validate(&[("path", "/tmp/x")]).unwrap_err();
        assert!(
            matches!(err, ConnectorError::MissingOption { ref option, .. } if option == "format")
        );
        let err = validate(&[("path", "/tmp/x"), ("format", "xml")]).unwrap_err();
        assert!(err.to_string().contains("csv, json"), "{err}");
        let err = validate(&[
            ("path", "/x"),
            ("format", "json"),
            ("csv.null-literal", "N"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("'csv.null-literal'"), "{err}");
        let err = validate(&[("path", "/x"), ("format", "csv"), ("csv.typo", "N")]).unwrap_err();
        assert!(matches!(err, ConnectorError::UnknownOption { .. }), "{err}");
        let err = validate(&[
            ("path", "/x"),
            ("format", "csv"),
            ("sink.rolling-policy.file-size", "big"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("file-size"), "{err}");
    }

    #[test]
    fn file_uris_name_local_paths_and_other_schemes_are_refused() {
        for (uri, path) in [
            ("file:///data/out/", "/data/out/"),
            ("file:/data/out", "/data/out"),
            ("file://localhost/data/out", "/data/out"),
            ("relative/dir", "relative/dir"),
        ] {
            assert_eq!(local_path(uri).unwrap(), PathBuf::from(path), "{uri}");
        }
        for uri in ["s3://bucket/x", "hdfs://nn:8020/x", "file://otherhost/x"] {
            let err = local_path(uri).unwrap_err().to_string();
            assert!(err.contains(uri), "{err}");
        }
    }
}
