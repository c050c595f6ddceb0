//! The data exchange's wire format. Every frame is `[u32 length][u8 kind][body]`, big
//! endian; a connection starts with a hello naming the protocol and its version. Batches
//! travel as Arrow IPC; watermarks, statuses and end of input as small control frames on
//! the same channel, so they stay in order with the rows.

use std::io::Cursor;

use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::checkpoint::{CheckpointBarrier, CheckpointKind};
use eddy_runtime::exchange::ChannelKey;
use eddy_runtime::{StreamElement, Watermark, WatermarkStatus};
use tokio::io::{AsyncRead, AsyncReadExt};

/// First bytes of a hello.
pub const MAGIC: &[u8; 8] = b"EDDYDATA";
/// Bumped on any incompatible change of this format.
pub const DATA_PROTOCOL_VERSION: u32 = 2;
/// Largest frame accepted; a length past it means the peer is not speaking this protocol.
pub const MAX_FRAME: usize = 512 << 20;

const HELLO: u8 = 0;
const PARTITION_REQUEST: u8 = 1;
const CREDIT: u8 = 2;
const CANCEL_PARTITION: u8 = 3;
const BATCH: u8 = 4;
const WATERMARK: u8 = 5;
const STATUS: u8 = 6;
const END_OF_INPUT: u8 = 7;
const BARRIER: u8 = 8;

/// A frame as read.
#[derive(Debug)]
pub enum Frame {
    Hello {
        version: u32,
    },
    /// A consumer asks for the channel `key` under the connection-local id `channel`, and
    /// grants `credits` buffers.
    PartitionRequest {
        channel: u64,
        key: ChannelKey,
        credits: u32,
    },
    /// The consumer freed `credits` more buffers.
    Credit {
        channel: u64,
        credits: u32,
    },
    /// The consumer is gone.
    CancelPartition {
        channel: u64,
    },
    Element {
        channel: u64,
        element: StreamElement,
    },
}

/// Why a frame cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed frame: {0}")]
    Malformed(String),
}

fn frame(kind: u8, body_len: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(5 + body_len);
    b.put_u32((1 + body_len) as u32);
    b.put_u8(kind);
    b
}

/// The hello a connection starts with.
pub fn hello() -> Bytes {
    let mut b = frame(HELLO, 12);
    b.put_slice(MAGIC);
    b.put_u32(DATA_PROTOCOL_VERSION);
    b.freeze()
}

pub fn partition_request(channel: u64, key: &ChannelKey, credits: u32) -> Bytes {
    let mut b = frame(PARTITION_REQUEST, 8 + 4 + key.job_id.len() + 20);
    b.put_u64(channel);
    b.put_u32(key.job_id.len() as u32);
    b.put_slice(key.job_id.as_bytes());
    b.put_u32(key.attempt);
    b.put_u32(key.edge as u32);
    b.put_u32(key.producer);
    b.put_u32(key.consumer);
    b.put_u32(credits);
    b.freeze()
}

pub fn credit(channel: u64, credits: u32) -> Bytes {
    let mut b = frame(CREDIT, 12);
    b.put_u64(channel);
    b.put_u32(credits);
    b.freeze()
}

pub fn cancel_partition(channel: u64) -> Bytes {
    let mut b = frame(CANCEL_PARTITION, 8);
    b.put_u64(channel);
    b.freeze()
}

/// Encodes one element of `channel`: runs on the producing subtask's thread.
pub fn element(channel: u64, element: &StreamElement) -> Result<Bytes, FrameError> {
    Ok(match element {
        StreamElement::Batch(batch) => {
            let ipc = encode_batch(batch)?;
            let mut b = frame(BATCH, 8 + ipc.len());
            b.put_u64(channel);
            b.put_slice(&ipc);
            b.freeze()
        }
        StreamElement::Watermark(w) => {
            let mut b = frame(WATERMARK, 16);
            b.put_u64(channel);
            b.put_i64(w.0);
            b.freeze()
        }
        StreamElement::WatermarkStatus(s) => {
            let mut b = frame(STATUS, 9);
            b.put_u64(channel);
            b.put_u8(matches!(s, WatermarkStatus::Idle) as u8);
            b.freeze()
        }
        StreamElement::Barrier(barrier) => {
            let mut b = frame(BARRIER, 27);
            b.put_u64(channel);
            b.put_u64(barrier.id);
            b.put_i64(barrier.timestamp);
            let (kind, stop, drain) = match barrier.kind {
                CheckpointKind::Checkpoint => (0, false, false),
                CheckpointKind::Savepoint { stop, drain } => (1, stop, drain),
            };
            b.put_u8(kind);
            b.put_u8(stop as u8);
            b.put_u8(drain as u8);
            b.freeze()
        }
        StreamElement::EndOfInput => {
            let mut b = frame(END_OF_INPUT, 8);
            b.put_u64(channel);
            b.freeze()
        }
    })
}

/// One batch as an Arrow IPC stream.
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, FrameError> {
    let malformed = |e: arrow::error::ArrowError| FrameError::Malformed(e.to_string());
    let mut w = StreamWriter::try_new(Vec::new(), &batch.schema()).map_err(malformed)?;
    w.write(batch).map_err(malformed)?;
    w.finish().map_err(malformed)?;
    w.into_inner().map_err(malformed)
}

/// The batch of an Arrow IPC stream written by [`encode_batch`].
pub fn decode_batch(bytes: &[u8]) -> Result<RecordBatch, FrameError> {
    let malformed = |e: arrow::error::ArrowError| FrameError::Malformed(e.to_string());
    let mut r = StreamReader::try_new(Cursor::new(bytes), None).map_err(malformed)?;
    match r.next() {
        Some(batch) => batch.map_err(malformed),
        None => Err(FrameError::Malformed(
            "an IPC stream without a batch".into(),
        )),
    }
}

/// Largest frame a consumer sends (requests, credits, cancels): what a producer's server
/// accepts, so a stray peer cannot make it allocate much.
pub const MAX_CONTROL_FRAME: usize = 64 << 10;

/// Reads the next frame; `None` at a clean end of stream.
pub async fn read(reader: &mut (impl AsyncRead + Unpin)) -> Result<Option<Frame>, FrameError> {
    read_limited(reader, MAX_FRAME).await
}

/// Reads the next frame of at most `max` bytes; `None` at a clean end of stream.
pub async fn read_limited(
    reader: &mut (impl AsyncRead + Unpin),
    max: usize,
) -> Result<Option<Frame>, FrameError> {
    let len = match reader.read_u32().await {
        Ok(n) => n as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if len == 0 || len > max {
        return Err(FrameError::Malformed(format!(
            "frame length {len} is out of range"
        )));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    decode(Bytes::from(body)).map(Some)
}

fn need(b: &Bytes, n: usize, what: &str) -> Result<(), FrameError> {
    if b.remaining() < n {
        return Err(FrameError::Malformed(format!("{what} is cut short")));
    }
    Ok(())
}

fn decode(mut b: Bytes) -> Result<Frame, FrameError> {
    let kind = b.get_u8();
    Ok(match kind {
        HELLO => {
            need(&b, 12, "hello")?;
            if &b[..8] != MAGIC {
                return Err(FrameError::Malformed("not an Eddy data connection".into()));
            }
            b.advance(8);
            Frame::Hello {
                version: b.get_u32(),
            }
        }
        PARTITION_REQUEST => {
            need(&b, 12, "partition request")?;
            let channel = b.get_u64();
            let n = b.get_u32() as usize;
            need(&b, n + 20, "partition request")?;
            let job_id = String::from_utf8(b.split_to(n).to_vec())
                .map_err(|_| FrameError::Malformed("job id is not UTF-8".into()))?;
            Frame::PartitionRequest {
                channel,
                key: ChannelKey {
                    job_id,
                    attempt: b.get_u32(),
                    edge: b.get_u32() as usize,
                    producer: b.get_u32(),
                    consumer: b.get_u32(),
                },
                credits: b.get_u32(),
            }
        }
        CREDIT => {
            need(&b, 12, "credit")?;
            Frame::Credit {
                channel: b.get_u64(),
                credits: b.get_u32(),
            }
        }
        CANCEL_PARTITION => {
            need(&b, 8, "cancel")?;
            Frame::CancelPartition {
                channel: b.get_u64(),
            }
        }
        BATCH | WATERMARK | STATUS | END_OF_INPUT | BARRIER => {
            need(&b, 8, "element")?;
            let channel = b.get_u64();
            let element = match kind {
                BATCH => StreamElement::Batch(decode_batch(&b)?),
                WATERMARK => {
                    need(&b, 8, "watermark")?;
                    StreamElement::Watermark(Watermark(b.get_i64()))
                }
                STATUS => {
                    need(&b, 1, "status")?;
                    StreamElement::WatermarkStatus(if b.get_u8() == 1 {
                        WatermarkStatus::Idle
                    } else {
                        WatermarkStatus::Active
                    })
                }
                BARRIER => {
                    need(&b, 19, "barrier")?;
                    let id = b.get_u64();
                    let timestamp = b.get_i64();
                    let (kind, stop, drain) = (b.get_u8(), b.get_u8() == 1, b.get_u8() == 1);
                    StreamElement::Barrier(CheckpointBarrier {
                        id,
                        timestamp,
                        kind: match kind {
                            0 => CheckpointKind::Checkpoint,
                            _ => CheckpointKind::Savepoint { stop, drain },
                        },
                    })
                }
                _ => StreamElement::EndOfInput,
            };
            Frame::Element { channel, element }
        }
        other => return Err(FrameError::Malformed(format!("unknown frame kind {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    async fn roundtrip(bytes: Bytes) -> Frame {
        let mut r = &bytes[..];
        read(&mut r).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn frames_roundtrip() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])),
            ],
        )
        .unwrap();
        match roundtrip(element(7, &StreamElement::Batch(batch.clone())).unwrap()).await {
            Frame::Element {
                channel: 7,
                element: StreamElement::Batch(b),
            } => assert_eq!(b, batch),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            roundtrip(element(1, &StreamElement::Watermark(Watermark(-5))).unwrap()).await,
            Frame::Element {
                channel: 1,
                element: StreamElement::Watermark(Watermark(-5))
            }
        ));
        for kind in [
            CheckpointKind::Checkpoint,
            CheckpointKind::Savepoint {
                stop: true,
                drain: false,
            },
        ] {
            let barrier = CheckpointBarrier {
                id: 42,
                timestamp: -3,
                kind,
            };
            match roundtrip(element(2, &StreamElement::Barrier(barrier)).unwrap()).await {
                Frame::Element {
                    channel: 2,
                    element: StreamElement::Barrier(b),
                } => assert_eq!(b, barrier),
                other => panic!("{other:?}"),
            }
        }
        let key = ChannelKey {
            job_id: "j".repeat(32),
            attempt: 1,
            edge: 2,
            producer: 3,
            consumer: 4,
        };
        match roundtrip(partition_request(9, &key, 8)).await {
            Frame::PartitionRequest {
                channel: 9,
                key: k,
                credits: 8,
            } => assert_eq!(k, key),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            roundtrip(hello()).await,
            Frame::Hello {
                version: DATA_PROTOCOL_VERSION
            }
        ));
    }

    #[tokio::test]
    async fn refuses_garbage() {
        for bytes in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            &[0, 0, 0, 0][..],
            &[0, 0, 0, 3, 99, 0, 0][..],
            &[0, 0, 0, 5, 2, 0, 0, 0, 1][..],
            &[
                0, 0, 0, 13, 0, b'N', b'O', b'P', b'E', 0, 0, 0, 0, 0, 0, 0, 1,
            ][..],
        ] {
            let mut r = bytes;
            assert!(read(&mut r).await.is_err(), "{bytes:?}");
        }
        let mut empty: &[u8] = &[];
        assert!(read(&mut empty).await.unwrap().is_none());
    }
}
