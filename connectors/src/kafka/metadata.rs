//! The Kafka metadata columns, as Flink's Kafka connector declares them: `topic` (STRING),
//! `partition` (INT), `offset` (BIGINT), `timestamp` (TIMESTAMP_LTZ(3), written too) and
//! `timestamp-type` (STRING), read per record and filled in next to the decoded columns.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int32Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use eddy_runtime::RuntimeError;

use crate::metadata::{key_of, MetadataKey};

/// What a Kafka table can declare as metadata.
pub(crate) fn keys() -> Vec<MetadataKey> {
    let ltz = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    vec![
        MetadataKey {
            key: "topic",
            data_type: DataType::Utf8,
            writable: false,
        },
        MetadataKey {
            key: "partition",
            data_type: DataType::Int32,
            writable: false,
        },
        MetadataKey {
            key: "offset",
            data_type: DataType::Int64,
            writable: false,
        },
        MetadataKey {
            key: "timestamp",
            data_type: ltz,
            writable: true,
        },
        MetadataKey {
            key: "timestamp-type",
            data_type: DataType::Utf8,
            writable: false,
        },
    ]
}

/// One metadata value a record has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Topic,
    Partition,
    Offset,
    Timestamp,
    TimestampType,
}

impl Kind {
    fn of(key: &str) -> Option<Self> {
        Some(match key {
            "topic" => Kind::Topic,
            "partition" => Kind::Partition,
            "offset" => Kind::Offset,
            "timestamp" => Kind::Timestamp,
            "timestamp-type" => Kind::TimestampType,
            _ => return None,
        })
    }
}

/// The metadata columns of a table: (column index, kind).
pub(crate) fn columns(schema: &Schema) -> Vec<(usize, Kind)> {
    (0..schema.fields().len())
        .filter_map(|i| Some((i, Kind::of(key_of(schema.field(i))?)?)))
        .collect()
}

/// Per-record metadata of a buffer of records of one partition.
#[derive(Debug, Default)]
pub(crate) struct RecordMetadata {
    pub timestamps: Vec<Option<i64>>,
    pub timestamp_types: Vec<&'static str>,
}

impl RecordMetadata {
    pub fn clear(&mut self) {
        self.timestamps.clear();
        self.timestamp_types.clear();
    }

    pub fn push(&mut self, timestamp: rdkafka::Timestamp) {
        let (ts, kind) = match timestamp {
            rdkafka::Timestamp::NotAvailable => (None, "NoTimestampType"),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), "CreateTime"),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), "LogAppendTime"),
        };
        self.timestamps.push(ts);
        self.timestamp_types.push(kind);
    }
}

/// The column of metadata `kind` for records at `offsets` of `topic` / `partition`, cast
/// to the declared `data_type`.
pub(crate) fn column(
    kind: Kind,
    data_type: &DataType,
    topic: &str,
    partition: i32,
    offsets: &[i64],
    meta: &RecordMetadata,
) -> Result<ArrayRef, RuntimeError> {
    let n = offsets.len();
    let array: ArrayRef = match kind {
        Kind::Topic => Arc::new(StringArray::from(vec![topic; n])),
        Kind::Partition => Arc::new(Int32Array::from(vec![partition; n])),
        Kind::Offset => Arc::new(Int64Array::from(offsets.to_vec())),
        Kind::Timestamp => {
            Arc::new(TimestampMillisecondArray::from(meta.timestamps.clone()).with_timezone("UTC"))
        }
        Kind::TimestampType => Arc::new(StringArray::from(meta.timestamp_types.clone())),
    };
    if array.data_type() == data_type {
        return Ok(array);
    }
    Ok(cast(&array, data_type)?)
}
