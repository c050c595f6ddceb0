//! A streaming SELECT's rows from a collect sink on a TaskManager back to the gateway that
//! serves the client: one client-streaming call per sink subtask, a batch per message as
//! Arrow IPC. HTTP/2 flow control carries back-pressure: the gateway stops reading while
//! the client's channel is full, and the sink's send then blocks. A client that goes away
//! ends the call with an error, which cancels the sink.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::record_batch::RecordBatch;
use eddy_connectors::collect::{collector, is_ended, RemoteCollect};
use eddy_runtime::connector::SinkWriter;
use eddy_runtime::RuntimeError;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::client::channel;
use super::proto;
use super::proto::result_collector_client::ResultCollectorClient;
use super::proto::result_collector_server::ResultCollector;
use crate::shuffle::frame::{decode_batch, encode_batch};

pub use super::proto::result_collector_server::ResultCollectorServer;

/// How long a finishing sink waits for the gateway to take its last rows.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// The gateway's result endpoint.
#[derive(Default)]
pub struct ResultCollectorService;

#[tonic::async_trait]
impl ResultCollector for ResultCollectorService {
    async fn push_results(
        &self,
        request: Request<Streaming<proto::ResultChunk>>,
    ) -> Result<Response<proto::Empty>, Status> {
        let mut chunks = request.into_inner();
        let mut sender = None;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if sender.is_none() {
                sender = Some(collector(&chunk.collect_id).ok_or_else(|| {
                    if is_ended(&chunk.collect_id) {
                        // The client has all the rows it wanted (its LIMIT): not an error.
                        return Status::cancelled("the client has its rows");
                    }
                    Status::not_found(format!(
                        "no client is collecting rows for 'collect.id' = '{}'",
                        chunk.collect_id
                    ))
                })?);
            }
            if chunk.arrow_ipc.is_empty() {
                continue;
            }
            let batch = decode_batch(&chunk.arrow_ipc)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            if let Some(tx) = &sender {
                tx.send(batch)
                    .await
                    .map_err(|_| Status::cancelled("the client stopped reading"))?;
            }
        }
        Ok(Response::new(proto::Empty {}))
    }
}

/// Opens collect writers over gRPC; installed by every TaskManager.
pub struct GrpcRemoteCollect {
    pub runtime: Handle,
}

impl RemoteCollect for GrpcRemoteCollect {
    fn open(
        &self,
        address: &str,
        id: &str,
        cancel: Arc<AtomicBool>,
    ) -> eddy_runtime::Result<Box<dyn SinkWriter>> {
        let _guard = self.runtime.enter();
        let channel = channel(address).map_err(|e| RuntimeError::External(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<proto::ResultChunk>(2);
        let mut client = ResultCollectorClient::new(channel)
            .max_encoding_message_size(512 << 20)
            .max_decoding_message_size(512 << 20);
        let call = self
            .runtime
            .spawn(async move { client.push_results(ReceiverStream::new(rx)).await });
        // The first message names the collector, so the gateway can refuse at once.
        tx.blocking_send(proto::ResultChunk {
            collect_id: id.to_string(),
            arrow_ipc: Vec::new(),
        })
        .map_err(|_| RuntimeError::Cancelled)?;
        Ok(Box::new(GrpcCollectWriter {
            runtime: self.runtime.clone(),
            sender: Some(tx),
            call: Some(call),
            address: address.to_string(),
            cancel,
        }))
    }
}

type Call = JoinHandle<Result<Response<proto::Empty>, Status>>;

struct GrpcCollectWriter {
    runtime: Handle,
    sender: Option<mpsc::Sender<proto::ResultChunk>>,
    call: Option<Call>,
    address: String,
    cancel: Arc<AtomicBool>,
}

/// How often a writer waiting for the gateway looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

impl GrpcCollectWriter {
    /// Waits for the call to end: `Ok` once the gateway took every row, `Cancelled` when
    /// its client left or had all the rows it wanted, an error naming the gateway otherwise.
    fn wait_for_call(&mut self) -> eddy_runtime::Result<()> {
        let Some(call) = self.call.take() else {
            return Err(RuntimeError::Cancelled);
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(FINISH_TIMEOUT, call).await })
        {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(status))) if status.code() == tonic::Code::Cancelled => {
                Err(RuntimeError::Cancelled)
            }
            Ok(Ok(Err(status))) => Err(RuntimeError::External(format!(
                "sending rows to the gateway at {} failed: {}",
                self.address,
                status.message()
            ))),
            Ok(Err(e)) => Err(RuntimeError::Internal(format!("result call panicked: {e}"))),
            Err(_) => Err(RuntimeError::External(format!(
                "the gateway at {} did not take the last rows within {} s",
                self.address,
                FINISH_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Why a send failed: the call has ended.
    fn call_error(&mut self) -> RuntimeError {
        self.wait_for_call()
            .err()
            .unwrap_or(RuntimeError::Cancelled)
    }
}

impl SinkWriter for GrpcCollectWriter {
    fn write(&mut self, batch: &RecordBatch) -> eddy_runtime::Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let Some(sender) = &self.sender else {
            return Err(RuntimeError::Internal(
                "collect writer used after finish".into(),
            ));
        };
        let arrow_ipc = encode_batch(batch).map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let sender = sender.clone();
        // Waits while the gateway does not take rows (its client does not read), but not
        // past a cancel: a job failing elsewhere must be able to stop this subtask.
        loop {
            let reserved = self
                .runtime
                .block_on(async { tokio::time::timeout(CANCEL_POLL, sender.reserve()).await });
            match reserved {
                Ok(Ok(permit)) => {
                    permit.send(proto::ResultChunk {
                        collect_id: String::new(),
                        arrow_ipc,
                    });
                    return Ok(());
                }
                Ok(Err(_)) => return Err(self.call_error()),
                Err(_) if self.cancel.load(Ordering::Relaxed) => {
                    self.abort();
                    return Err(RuntimeError::Cancelled);
                }
                Err(_) => {}
            }
        }
    }

    fn finish(&mut self) -> eddy_runtime::Result<()> {
        self.sender = None;
        if self.call.is_none() {
            return Ok(());
        }
        self.wait_for_call()
    }

    fn abort(&mut self) {
        self.sender = None;
        if let Some(call) = self.call.take() {
            call.abort();
        }
    }
}
