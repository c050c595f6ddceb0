//! The Kafka metadata columns, as Flink's Kafka connector declares them: `topic` (STRING),
//! `partition` (INT), `offset` (BIGINT), `timestamp` (TIMESTAMP_LTZ(3), written too),
//! `timestamp-type` (STRING), `headers` (MAP<STRING, BYTES>, written too) and
//! `leader-epoch` (INT), read per record and filled in next to the decoded columns.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, Int32Array, Int64Array, MapBuilder, MapFieldNames, StringArray,
    StringBuilder, TimestampMillisecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use eddy_runtime::RuntimeError;
use rdkafka::message::BorrowedMessage;
use rdkafka::Message;

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
        MetadataKey {
            key: "headers",
            data_type: headers_type(),
            writable: true,
        },
        MetadataKey {
            key: "leader-epoch",
            data_type: DataType::Int32,
            writable: false,
        },
    ]
}

/// `MAP<STRING, BYTES>` as the catalog declares maps.
fn headers_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Binary, true),
            ])),
            false,
        )),
        false,
    )
}

/// One metadata value a record has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Topic,
    Partition,
    Offset,
    Timestamp,
    TimestampType,
    Headers,
    LeaderEpoch,
}

impl Kind {
    fn of(key: &str) -> Option<Self> {
        Some(match key {
            "topic" => Kind::Topic,
            "partition" => Kind::Partition,
            "offset" => Kind::Offset,
            "timestamp" => Kind::Timestamp,
            "timestamp-type" => Kind::TimestampType,
            "headers" => Kind::Headers,
            "leader-epoch" => Kind::LeaderEpoch,
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
    pub leader_epochs: Vec<Option<i32>>,
    /// Per record, its headers; kept only when a column reads them.
    pub headers: Vec<Vec<(String, Option<Vec<u8>>)>>,
}

impl RecordMetadata {
    pub fn clear(&mut self) {
        self.timestamps.clear();
        self.timestamp_types.clear();
        self.leader_epochs.clear();
        self.headers.clear();
    }

    /// Takes what `message` has beyond topic, partition and offset; its headers when
    /// `with_headers`.
    pub fn push(&mut self, message: &BorrowedMessage<'_>, with_headers: bool) {
        // SAFETY: the message is alive for the call; librdkafka only reads it.
        let epoch = unsafe { rdkafka::bindings::rd_kafka_message_leader_epoch(message.ptr()) };
        self.leader_epochs.push((epoch >= 0).then_some(epoch));
        if with_headers {
            self.headers.push(headers_of(message));
        }
        let (ts, kind) = match message.timestamp() {
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
        Kind::LeaderEpoch => Arc::new(Int32Array::from(meta.leader_epochs.clone())),
        Kind::Headers => {
            let names = MapFieldNames {
                entry: "entries".into(),
                key: "key".into(),
                value: "value".into(),
            };
            let mut map = MapBuilder::new(Some(names), StringBuilder::new(), BinaryBuilder::new());
            for headers in &meta.headers {
                for (key, value) in headers {
                    map.keys().append_value(key);
                    map.values().append_option(value.as_deref());
                }
                map.append(true)?;
            }
            Arc::new(map.finish())
        }
    };
    if array.data_type() == data_type {
        return Ok(array);
    }
    Ok(cast(&array, data_type)?)
}

/// A record's headers, names as text. rdkafka's own accessor panics on a name that is not
/// UTF-8, which any producer may send; here such a name is read lossily.
fn headers_of(message: &BorrowedMessage<'_>) -> Vec<(String, Option<Vec<u8>>)> {
    use rdkafka::bindings as rd;
    use std::ffi::{c_char, c_void, CStr};
    let ok = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    let mut out = Vec::new();
    let mut headers: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    // SAFETY: the message outlives these calls, and librdkafka keeps its headers for as
    // long; they are only read, and copied out before returning. A name is a NUL-ended
    // string and a value `size` bytes (or NULL), as librdkafka documents them.
    unsafe {
        if rd::rd_kafka_message_headers(message.ptr(), &mut headers) != ok || headers.is_null() {
            return out;
        }
        for idx in 0..rd::rd_kafka_header_cnt(headers) {
            let mut name: *const c_char = std::ptr::null();
            let mut value: *const c_void = std::ptr::null();
            let mut size = 0usize;
            if rd::rd_kafka_header_get_all(headers, idx, &mut name, &mut value, &mut size) != ok
                || name.is_null()
            {
                break;
            }
            let key = CStr::from_ptr(name).to_string_lossy().into_owned();
            let value = (!value.is_null())
                .then(|| std::slice::from_raw_parts(value.cast::<u8>(), size).to_vec());
            out.push((key, value));
        }
    }
    out
}
