//! Flink's partition commit (`sink.partition-commit.*`, `partition.time-extractor.*`):
//! telling downstream readers that a partition of a partitioned filesystem table is
//! complete. A partition is committed once its files are committed (with a checkpoint,
//! or at the end of input without checkpoints) and its trigger says so:
//! - `process-time` (the default): the subtask's clock has passed the time the partition
//!   was first committed to plus `sink.partition-commit.delay`;
//! - `partition-time`: the watermark has passed the time extracted from the partition's
//!   values (`partition.time-extractor.timestamp-pattern`, e.g. `$dt $hm:00`, read with
//!   `partition.time-extractor.timestamp-formatter` in `sink.partition-commit.watermark-time-zone`)
//!   plus the delay.
//!
//! At the end of input every partition is committed, as Flink's committer does. The
//! `success-file` policy writes an empty `_SUCCESS` (`sink.partition-commit.success-file.name`)
//! into the partition's directory; `metastore` does nothing, as for Flink's filesystem
//! tables, which have no metastore. Each subtask commits the partitions it wrote, when its
//! own files in them are committed (Flink has one committer wait for every subtask's
//! files of a checkpoint; see docs/flink_sql.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use eddy_runtime::{Result as RuntimeResult, RuntimeError};

use crate::error::{ConnectorError, Result};
use crate::options::{get, parse_duration, OptionKey};

/// `sink.partition-commit.trigger`.
pub const TRIGGER: OptionKey = OptionKey::with_default(
    "sink.partition-commit.trigger",
    "process-time",
    "When a partition is committed: 'process-time' (the clock passed its creation plus the delay) or 'partition-time' (the watermark passed the time extracted from its values plus the delay).",
);
/// `sink.partition-commit.delay`.
pub const DELAY: OptionKey = OptionKey::with_default(
    "sink.partition-commit.delay",
    "0 s",
    "How long after its trigger time a partition is committed.",
);
/// `sink.partition-commit.watermark-time-zone`.
pub const WATERMARK_TIME_ZONE: OptionKey = OptionKey::with_default(
    "sink.partition-commit.watermark-time-zone",
    "UTC",
    "The time zone in which a partition's extracted time is compared with the watermark (partition-time trigger).",
);
/// `sink.partition-commit.policy.kind`.
pub const POLICY_KIND: OptionKey = OptionKey::new(
    "sink.partition-commit.policy.kind",
    "How a partition is committed, comma-separated: 'success-file' writes an empty success file into it; 'metastore' does nothing for a filesystem table. Unset: partitions are not committed.",
);
/// `sink.partition-commit.success-file.name`.
pub const SUCCESS_FILE_NAME: OptionKey = OptionKey::with_default(
    "sink.partition-commit.success-file.name",
    "_SUCCESS",
    "The name of the success file.",
);
/// `sink.partition-commit.policy.class`.
pub const POLICY_CLASS: OptionKey = OptionKey::new(
    "sink.partition-commit.policy.class",
    "A Java class for the 'custom' policy; Eddy cannot load Java classes.",
);
/// `sink.partition-commit.policy.class.parameters`.
pub const POLICY_CLASS_PARAMETERS: OptionKey = OptionKey::new(
    "sink.partition-commit.policy.class.parameters",
    "Parameters of the 'custom' policy's class; Eddy cannot load Java classes.",
);
/// `partition.time-extractor.kind`.
pub const EXTRACTOR_KIND: OptionKey = OptionKey::with_default(
    "partition.time-extractor.kind",
    "default",
    "How a partition's time is extracted: 'default' (from the timestamp pattern); 'custom' needs a Java class, which Eddy cannot load.",
);
/// `partition.time-extractor.class`.
pub const EXTRACTOR_CLASS: OptionKey = OptionKey::new(
    "partition.time-extractor.class",
    "A Java class for the 'custom' extractor; Eddy cannot load Java classes.",
);
/// `partition.time-extractor.timestamp-pattern`.
pub const TIMESTAMP_PATTERN: OptionKey = OptionKey::new(
    "partition.time-extractor.timestamp-pattern",
    "How a partition's timestamp is built from its values, e.g. '$dt $hm:00'; unset, the first partition column's value.",
);
/// `partition.time-extractor.timestamp-formatter`.
pub const TIMESTAMP_FORMATTER: OptionKey = OptionKey::with_default(
    "partition.time-extractor.timestamp-formatter",
    "yyyy-MM-dd HH:mm:ss",
    "The Java DateTimeFormatter pattern the built timestamp is read with; a date alone is its midnight.",
);

/// Every option of this module, for the factory's list.
pub fn options() -> Vec<OptionKey> {
    vec![
        TRIGGER,
        DELAY,
        WATERMARK_TIME_ZONE,
        POLICY_KIND,
        SUCCESS_FILE_NAME,
        POLICY_CLASS,
        POLICY_CLASS_PARAMETERS,
        EXTRACTOR_KIND,
        EXTRACTOR_CLASS,
        TIMESTAMP_PATTERN,
        TIMESTAMP_FORMATTER,
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    ProcessTime,
    PartitionTime,
}

/// How a table's partitions are committed.
#[derive(Debug, Clone)]
pub struct CommitPolicy {
    trigger: Trigger,
    delay: Duration,
    zone: chrono_tz::Tz,
    /// The success file's name, with the `success-file` policy.
    success_file: Option<String>,
    /// `$name` placeholders over partition values; `None`: the first value.
    pattern: Option<String>,
    /// The formatter, as strftime; `None`: Flink's default, which takes a date alone too.
    formatter: Option<String>,
    /// Partition column names, in `PARTITIONED BY` order.
    keys: Vec<String>,
}

impl CommitPolicy {
    /// The table's policy, or `None` when it commits nothing (no policy kind, or no
    /// partitions: Flink commits partitions only). Without `keys` (the table is being
    /// checked, not written) the timestamp pattern's names are not checked.
    pub fn parse(
        options: &BTreeMap<String, String>,
        keys: Option<&[String]>,
    ) -> Result<Option<Self>> {
        let trigger = match get(options, &TRIGGER).unwrap_or("process-time") {
            t if t.eq_ignore_ascii_case("process-time") => Trigger::ProcessTime,
            t if t.eq_ignore_ascii_case("partition-time") => Trigger::PartitionTime,
            other => {
                return Err(ConnectorError::invalid(
                    TRIGGER.key,
                    other,
                    "expected 'process-time' or 'partition-time'",
                ))
            }
        };
        let delay = parse_duration(DELAY.key, get(options, &DELAY).unwrap_or("0 s"))?;
        let zone_text = get(options, &WATERMARK_TIME_ZONE).unwrap_or("UTC");
        let zone: chrono_tz::Tz = zone_text.parse().map_err(|_| {
            ConnectorError::invalid(
                WATERMARK_TIME_ZONE.key,
                zone_text,
                "not a time zone name (e.g. 'UTC', 'Asia/Shanghai')",
            )
        })?;
        if let Some(kind) = get(options, &EXTRACTOR_KIND) {
            if !kind.eq_ignore_ascii_case("default") {
                return Err(ConnectorError::invalid(
                    EXTRACTOR_KIND.key,
                    kind,
                    "only 'default' is supported: a 'custom' extractor is a Java class, which Eddy cannot load",
                ));
            }
        }
        let pattern = get(options, &TIMESTAMP_PATTERN).map(str::to_string);
        if let (Some(p), Some(keys)) = (&pattern, keys) {
            for name in placeholders(p) {
                if !keys.iter().any(|k| k == &name) {
                    return Err(ConnectorError::invalid(
                        TIMESTAMP_PATTERN.key,
                        p,
                        format!("'${name}' is not a partition column"),
                    ));
                }
            }
        }
        let formatter = match get(options, &TIMESTAMP_FORMATTER) {
            None => None,
            Some("yyyy-MM-dd HH:mm:ss") => None,
            Some(f) => Some(
                eddy_runtime::functions::date_format::java_to_strftime(f)
                    .map_err(|e| ConnectorError::invalid(TIMESTAMP_FORMATTER.key, f, e))?,
            ),
        };
        let Some(kinds) = get(options, &POLICY_KIND) else {
            return Ok(None);
        };
        let mut success_file = None;
        for kind in kinds.split(',').map(str::trim) {
            match kind.to_ascii_lowercase().as_str() {
                "success-file" => {
                    let name = get(options, &SUCCESS_FILE_NAME).unwrap_or("_SUCCESS");
                    if name.is_empty() || name.contains('/') {
                        return Err(ConnectorError::invalid(
                            SUCCESS_FILE_NAME.key,
                            name,
                            "a file name without '/' is needed",
                        ));
                    }
                    success_file = Some(name.to_string());
                }
                "metastore" => {}
                _ => {
                    return Err(ConnectorError::invalid(
                        POLICY_KIND.key,
                        kinds,
                        format!(
                            "'{kind}' is not supported: Eddy takes 'success-file' and 'metastore' (a 'custom' policy is a Java class, which Eddy cannot load)"
                        ),
                    ))
                }
            }
        }
        let keys = match keys {
            Some(keys) if !keys.is_empty() => keys,
            _ => return Ok(None),
        };
        Ok(Some(Self {
            trigger,
            delay,
            zone,
            success_file,
            pattern,
            formatter,
            keys: keys.to_vec(),
        }))
    }

    /// The time a partition stands for, in epoch milliseconds, from its values (by key, in
    /// `PARTITIONED BY` order, `None` for NULL).
    fn partition_time(&self, values: &[Option<String>]) -> RuntimeResult<i64> {
        let text = match &self.pattern {
            None => values.first().cloned().flatten().unwrap_or_default(),
            Some(p) => {
                let mut text = p.clone();
                // Longer names first, so that `$dt` does not eat a prefix of `$dt2`.
                let mut order: Vec<usize> = (0..self.keys.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(self.keys[i].len()));
                for i in order {
                    let value = values.get(i).cloned().flatten().unwrap_or_default();
                    text = text.replace(&format!("${}", self.keys[i]), &value);
                }
                text
            }
        };
        let local = self.parse_time(&text).ok_or_else(|| {
            RuntimeError::User(format!(
                "partition time '{text}' does not match the timestamp formatter (partition.time-extractor.*)"
            ))
        })?;
        // A time in a daylight-saving gap moves forward by the gap's length, as Java's
        // LocalDateTime.atZone (Flink's) moves it: it is read with the offset before it.
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp_millis())
            .or_else(|| {
                use chrono::Offset;
                let before = self
                    .zone
                    .from_local_datetime(&(local - chrono::Duration::hours(3)))
                    .earliest()?;
                before
                    .offset()
                    .fix()
                    .from_local_datetime(&local)
                    .single()
                    .map(|t| t.timestamp_millis())
            })
            .ok_or_else(|| {
                RuntimeError::User(format!(
                    "partition time '{text}' does not exist in {}",
                    self.zone
                ))
            })
    }

    fn parse_time(&self, text: &str) -> Option<NaiveDateTime> {
        let date = |t: &str, f: &str| NaiveDate::parse_from_str(t, f).ok()?.and_hms_opt(0, 0, 0);
        match &self.formatter {
            Some(f) => NaiveDateTime::parse_from_str(text, f)
                .ok()
                .or_else(|| date(text, f)),
            None => ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .or_else(|| date(text, "%Y-%m-%d")),
        }
    }
}

/// The `$name` placeholders of a timestamp pattern.
fn placeholders(pattern: &str) -> Vec<String> {
    pattern
        .split('$')
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .filter(|name: &String| !name.is_empty())
        .collect()
}

/// A partition whose files are committed and which is waiting for its trigger.
#[derive(Debug, Clone)]
struct Waiting {
    values: Vec<Option<String>>,
    /// When its files were first committed, epoch milliseconds (the process-time
    /// trigger's creation time; it survives a restore).
    since: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One subtask's partitions on their way to being committed.
#[derive(Debug)]
pub struct PartitionCommitter {
    policy: CommitPolicy,
    /// Written since the last checkpoint, by directory.
    written: BTreeMap<String, Vec<Option<String>>>,
    /// Files committed, partition not yet, by directory.
    waiting: BTreeMap<String, Waiting>,
    watermark: i64,
}

/// What a checkpoint tells the committer: the partitions it wrote into and those still
/// waiting for their trigger (so that a restore from it knows them all), and the
/// watermark when it was taken. Encoded among the sink's committables, so that it is
/// committed (and, after a failure, committed again) with the files it speaks of.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Marker {
    partitions: Vec<MarkedPartition>,
    watermark: i64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MarkedPartition {
    dir: String,
    values: Vec<Option<String>>,
    /// For a partition already waiting: since when.
    #[serde(default)]
    since: Option<i64>,
}

const MARKER_PREFIX: &[u8] = b"partition-commit:";

impl PartitionCommitter {
    pub fn new(policy: CommitPolicy) -> Self {
        Self {
            policy,
            written: BTreeMap::new(),
            waiting: BTreeMap::new(),
            watermark: i64::MIN,
        }
    }

    /// Rows went into the partition at `dir` (relative to the table's directory).
    pub fn wrote(&mut self, dir: &str, values: &[Option<String>]) {
        if !self.written.contains_key(dir) {
            self.written.insert(dir.to_string(), values.to_vec());
        }
    }

    pub fn on_watermark(&mut self, watermark: i64) {
        self.watermark = self.watermark.max(watermark);
    }

    /// The marker for a checkpoint (the end of input: every partition is due).
    pub fn marker(&mut self, end_of_input: bool) -> RuntimeResult<Vec<u8>> {
        let waiting = self.waiting.iter().map(|(dir, w)| MarkedPartition {
            dir: dir.clone(),
            values: w.values.clone(),
            since: Some(w.since),
        });
        let written = std::mem::take(&mut self.written)
            .into_iter()
            .map(|(dir, values)| MarkedPartition {
                dir,
                values,
                since: None,
            });
        let marker = Marker {
            partitions: waiting.chain(written).collect(),
            watermark: match end_of_input {
                true => i64::MAX,
                false => self.watermark,
            },
        };
        let mut bytes = MARKER_PREFIX.to_vec();
        bytes.extend(serde_json::to_vec(&marker).map_err(|e| {
            RuntimeError::Internal(format!("cannot encode a partition commit: {e}"))
        })?);
        Ok(bytes)
    }

    /// Whether a committable is a marker rather than a file.
    pub fn is_marker(committable: &[u8]) -> bool {
        committable.starts_with(MARKER_PREFIX)
    }

    /// The files of `markers`' checkpoints are committed: commits the partitions now due
    /// under `root`.
    pub fn committed(&mut self, root: &Path, markers: &[Vec<u8>]) -> RuntimeResult<()> {
        let mut watermark = i64::MIN;
        for bytes in markers {
            let marker: Marker = serde_json::from_slice(&bytes[MARKER_PREFIX.len()..])
                .map_err(|e| RuntimeError::Internal(format!("bad partition commit: {e}")))?;
            watermark = watermark.max(marker.watermark);
            let now = now_ms();
            for p in marker.partitions {
                let since = p.since.unwrap_or(now);
                let w = self.waiting.entry(p.dir).or_insert(Waiting {
                    values: p.values,
                    since,
                });
                w.since = w.since.min(since);
            }
        }
        self.commit_due(root, watermark)
    }

    /// End of input without checkpoints: everything written is committed.
    pub fn finish(&mut self, root: &Path) -> RuntimeResult<()> {
        let now = now_ms();
        for (dir, values) in std::mem::take(&mut self.written) {
            self.waiting
                .entry(dir)
                .or_insert(Waiting { values, since: now });
        }
        self.commit_due(root, i64::MAX)
    }

    fn commit_due(&mut self, root: &Path, watermark: i64) -> RuntimeResult<()> {
        let delay_ms = i64::try_from(self.policy.delay.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let mut due = BTreeSet::new();
        for (dir, w) in &self.waiting {
            // Both triggers compare strictly, as Flink's do.
            let ready = match (watermark, self.policy.trigger) {
                (i64::MAX, _) => true,
                (_, Trigger::ProcessTime) => now > w.since.saturating_add(delay_ms),
                (_, Trigger::PartitionTime) => {
                    let time = self.policy.partition_time(&w.values)?;
                    watermark > time.saturating_add(delay_ms)
                }
            };
            if ready {
                due.insert(dir.clone());
            }
        }
        for dir in due {
            if let Some(name) = &self.policy.success_file {
                let path = root.join(&dir).join(name);
                std::fs::write(&path, b"").map_err(|e| {
                    RuntimeError::Internal(format!(
                        "cannot write the success file '{}': {e}",
                        path.display()
                    ))
                })?;
            }
            self.waiting.remove(&dir);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Result<Option<CommitPolicy>> {
        let options: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CommitPolicy::parse(&options, Some(&["dt".to_string(), "hm".to_string()]))
    }

    #[test]
    fn nexmark_q10s_options_give_a_partition_time_success_file_policy() {
        let p = policy(&[
            ("sink.partition-commit.trigger", "partition-time"),
            ("sink.partition-commit.delay", "1 min"),
            ("sink.partition-commit.policy.kind", "success-file"),
            ("partition.time-extractor.timestamp-pattern", "$dt $hm:00"),
        ])
        .unwrap()
        .unwrap();
        let t = p
            .partition_time(&[Some("2024-01-02".into()), Some("10:30".into())])
            .unwrap();
        assert_eq!(t, 1_704_191_400_000, "2024-01-02 10:30:00 UTC");
        assert!(policy(&[]).unwrap().is_none(), "no policy, no commit");
    }

    #[test]
    fn bad_options_are_named() {
        for (pairs, needle) in [
            (
                vec![("sink.partition-commit.trigger", "later")],
                "process-time",
            ),
            (
                vec![("sink.partition-commit.policy.kind", "custom")],
                "Java class",
            ),
            (
                vec![
                    ("sink.partition-commit.policy.kind", "success-file"),
                    ("partition.time-extractor.timestamp-pattern", "$day"),
                ],
                "'$day' is not a partition column",
            ),
            (
                vec![("sink.partition-commit.watermark-time-zone", "Mars/Base")],
                "time zone",
            ),
        ] {
            let e = policy(&pairs).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn a_partition_is_committed_once_the_watermark_passes_its_time_plus_the_delay() {
        let dir = crate::testing::TestDir::new();
        let p = policy(&[
            ("sink.partition-commit.trigger", "partition-time"),
            ("sink.partition-commit.delay", "1 min"),
            (
                "sink.partition-commit.policy.kind",
                "success-file,metastore",
            ),
            ("partition.time-extractor.timestamp-pattern", "$dt $hm:00"),
        ])
        .unwrap()
        .unwrap();
        let mut c = PartitionCommitter::new(p);
        let part = "dt=2024-01-02/hm=10:30";
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        c.wrote(part, &[Some("2024-01-02".into()), Some("10:30".into())]);
        // 10:31:00 is the partition's time plus one minute: not yet past it.
        c.on_watermark(1_704_191_460_000);
        let marker = c.marker(false).unwrap();
        assert!(PartitionCommitter::is_marker(&marker));
        c.committed(dir.path(), &[marker]).unwrap();
        assert!(!dir.path().join(part).join("_SUCCESS").exists());
        c.on_watermark(1_704_191_460_001);
        let marker = c.marker(false).unwrap();
        c.committed(dir.path(), &[marker]).unwrap();
        assert!(dir.path().join(part).join("_SUCCESS").exists());
    }

    #[test]
    fn a_waiting_partition_survives_a_restore_from_a_later_checkpoint() {
        let dir = crate::testing::TestDir::new();
        let options = [
            ("sink.partition-commit.trigger", "partition-time"),
            ("sink.partition-commit.policy.kind", "success-file"),
            ("partition.time-extractor.timestamp-pattern", "$dt $hm:00"),
        ];
        let part = "dt=2024-01-02/hm=10:30";
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        let mut first = PartitionCommitter::new(policy(&options).unwrap().unwrap());
        first.wrote(part, &[Some("2024-01-02".into()), Some("10:30".into())]);
        // Committed with a low watermark: the partition waits.
        let m1 = first.marker(false).unwrap();
        first.committed(dir.path(), &[m1]).unwrap();
        // The next checkpoint writes nothing new, yet its marker carries the waiting one.
        first.on_watermark(1_704_191_400_001);
        let m2 = first.marker(false).unwrap();
        // A new run restored from the second checkpoint commits its marker again.
        let mut second = PartitionCommitter::new(policy(&options).unwrap().unwrap());
        second.committed(dir.path(), &[m2]).unwrap();
        assert!(dir.path().join(part).join("_SUCCESS").exists());
    }

    #[test]
    fn a_partition_time_in_a_daylight_saving_gap_moves_past_it() {
        let p = policy(&[
            ("sink.partition-commit.policy.kind", "success-file"),
            (
                "sink.partition-commit.watermark-time-zone",
                "America/New_York",
            ),
            ("partition.time-extractor.timestamp-pattern", "$dt $hm:00"),
        ])
        .unwrap()
        .unwrap();
        // 02:30 does not exist on 2024-03-10 in New York: 03:30 EDT, 07:30 UTC.
        let t = p
            .partition_time(&[Some("2024-03-10".into()), Some("02:30".into())])
            .unwrap();
        assert_eq!(t, 1_710_055_800_000);
    }

    #[test]
    fn at_the_end_of_input_every_partition_is_committed() {
        let dir = crate::testing::TestDir::new();
        let p = policy(&[
            ("sink.partition-commit.delay", "1 h"),
            ("sink.partition-commit.policy.kind", "success-file"),
            ("sink.partition-commit.success-file.name", "DONE"),
        ])
        .unwrap()
        .unwrap();
        let mut c = PartitionCommitter::new(p);
        std::fs::create_dir_all(dir.path().join("dt=a/hm=b")).unwrap();
        c.wrote("dt=a/hm=b", &[Some("a".into()), Some("b".into())]);
        c.finish(dir.path()).unwrap();
        assert!(dir.path().join("dt=a/hm=b/DONE").exists());
    }
}
