//! The internal `collect` sink: how the gateway streams the rows of a streaming `SELECT`
//! back to its client. The gateway registers a channel under an id
//! ([`register_collector`]), plans the query into a job whose sink table has
//! `'connector' = 'collect', 'collect.id' = '<id>'`, and reads batches off the channel.
//! Each writer takes a clone of the sender when it is created and sends every batch,
//! blocking while the channel is full (back-pressure reaches the job); a dropped receiver
//! cancels the job.
//!
//! In a standalone cluster the sink may run on a TaskManager in another process. The
//! planner then also sets `'collect.address'`, the gateway's result endpoint, and the
//! writer comes from the [`RemoteCollect`] transport the TaskManager installed (gRPC,
//! Arrow IPC), which keeps back-pressure and cancellation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::jobgraph::ConnectorSpec;
use eddy_runtime::RuntimeError;
use tokio::sync::mpsc::Sender;

use crate::error::Result;
use crate::factory::TableFactory;
use crate::options::{get_required, OptionKey};

/// `collect.id`.
pub const COLLECT_ID: OptionKey = OptionKey::new(
    "collect.id",
    "The id under which the gateway registered the channel receiving the rows.",
);

/// `collect.address`.
pub const COLLECT_ADDRESS: OptionKey = OptionKey::new(
    "collect.address",
    "host:port of the gateway's result endpoint, for a sink running in another process.",
);

/// Opens writers that send rows to a gateway in another process.
pub trait RemoteCollect: Send + Sync {
    /// A writer sending to the collector `id` at `address`; it stops waiting for the
    /// gateway once `cancel` is set.
    fn open(
        &self,
        address: &str,
        id: &str,
        cancel: Arc<AtomicBool>,
    ) -> eddy_runtime::Result<Box<dyn SinkWriter>>;
}

static REMOTE: OnceLock<Arc<dyn RemoteCollect>> = OnceLock::new();

/// Installs the transport for collect sinks whose gateway is in another process (once per
/// process; later calls are ignored).
pub fn set_remote_collect(transport: Arc<dyn RemoteCollect>) {
    let _ = REMOTE.set(transport);
}

/// The channel registered under `id`, if any.
pub fn collector(id: &str) -> Option<Sender<RecordBatch>> {
    collectors().live.get(id).cloned()
}

/// Whether the client of `id` has had all the rows it wants (its LIMIT, or it left): a
/// writer created after that is cancelled, not failed.
pub fn is_ended(id: &str) -> bool {
    collectors().ended.contains(id)
}

/// How many ended ids are remembered; older ones are forgotten all at once.
const ENDED_MEMORY: usize = 10_000;

#[derive(Default)]
struct Collectors {
    live: HashMap<String, Sender<RecordBatch>>,
    ended: std::collections::HashSet<String>,
}

fn collectors() -> MutexGuard<'static, Collectors> {
    static COLLECTORS: OnceLock<Mutex<Collectors>> = OnceLock::new();
    COLLECTORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes `sender` receive the rows of every collect sink with `'collect.id' = id`
/// created from now on (replacing an earlier registration of the same id).
pub fn register_collector(id: &str, sender: Sender<RecordBatch>) {
    collectors().live.insert(id.to_string(), sender);
}

/// Forgets the channel of `id`. Writers already created keep sending to it until they
/// finish; the receiver sees the channel close once they have all finished.
pub fn unregister_collector(id: &str) {
    let mut c = collectors();
    if c.live.remove(id).is_some() {
        if c.ended.len() >= ENDED_MEMORY {
            c.ended.clear();
        }
        c.ended.insert(id.to_string());
    }
}

/// The `collect` connector.
#[derive(Debug, Default)]
pub struct CollectTableFactory;

impl TableFactory for CollectTableFactory {
    fn identifier(&self) -> &'static str {
        "collect"
    }

    fn is_internal(&self) -> bool {
        true
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![COLLECT_ID]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![COLLECT_ADDRESS]
    }

    fn create_sink(&self, spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        let id = get_required(self.identifier(), &spec.options, &COLLECT_ID)?;
        Ok(Arc::new(CollectSink {
            id: id.to_string(),
            address: spec.options.get(COLLECT_ADDRESS.key).cloned(),
        }))
    }
}

/// Sends rows to the channel registered under its id.
#[derive(Debug)]
pub struct CollectSink {
    id: String,
    address: Option<String>,
}

impl Sink for CollectSink {
    fn create_writer(&self, info: &SubtaskInfo) -> eddy_runtime::Result<Box<dyn SinkWriter>> {
        let Some(sender) = collector(&self.id) else {
            if is_ended(&self.id) {
                return Err(RuntimeError::Cancelled);
            }
            // The gateway is in another process.
            if let (Some(address), Some(remote)) = (&self.address, REMOTE.get()) {
                return remote.open(address, &self.id, info.cancel.clone());
            }
            return Err(RuntimeError::User(format!(
                "no client is collecting rows for 'collect.id' = '{}'",
                self.id
            )));
        };
        Ok(Box::new(CollectWriter {
            sender: Some(sender),
            cancel: info.cancel.clone(),
        }))
    }
}

/// One subtask's sender. Runs on the subtask's OS thread, so it may block.
pub struct CollectWriter {
    sender: Option<Sender<RecordBatch>>,
    cancel: Arc<AtomicBool>,
}

/// How often a writer blocked on a client that does not read looks at its cancel flag.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

impl SinkWriter for CollectWriter {
    fn write(&mut self, batch: &RecordBatch) -> eddy_runtime::Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let Some(sender) = &self.sender else {
            return Err(RuntimeError::Internal(
                "collect writer used after finish".into(),
            ));
        };
        // Waits while the client does not read (back-pressure), but not past a cancel: a
        // job failing elsewhere must be able to stop this subtask.
        loop {
            match sender.try_reserve() {
                Ok(permit) => {
                    permit.send(batch.clone());
                    return Ok(());
                }
                Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {
                    if self.cancel.load(Ordering::Relaxed) {
                        return Err(RuntimeError::Cancelled);
                    }
                    std::thread::sleep(CANCEL_POLL);
                }
                Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => {
                    return Err(RuntimeError::Cancelled)
                }
            }
        }
    }

    fn finish(&mut self) -> eddy_runtime::Result<()> {
        self.sender = None;
        Ok(())
    }

    fn abort(&mut self) {
        self.sender = None;
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::error::ConnectorError;
    use crate::testing::{spec, subtask};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap()
    }

    fn sink(id: &str) -> Arc<dyn Sink> {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        CollectTableFactory
            .create_sink(&spec(
                &schema,
                &[("connector", "collect"), ("collect.id", id)],
            ))
            .unwrap()
    }

    #[test]
    fn streams_batches_to_the_registered_channel() {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        register_collector(&id, tx);
        let mut writer = sink(&id).create_writer(&subtask(0, 1, 1)).unwrap();
        unregister_collector(&id);
        writer.write(&batch()).unwrap();
        writer.finish().unwrap();
        assert_eq!(rx.blocking_recv().unwrap().num_rows(), 2);
        assert!(
            rx.blocking_recv().is_none(),
            "the channel closes after finish"
        );
    }

    #[test]
    fn dropped_receiver_cancels_and_missing_collector_fails() {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        register_collector(&id, tx);
        let mut writer = sink(&id).create_writer(&subtask(0, 1, 1)).unwrap();
        unregister_collector(&id);
        drop(rx);
        assert!(matches!(
            writer.write(&batch()),
            Err(RuntimeError::Cancelled)
        ));

        let err = sink("nobody")
            .create_writer(&subtask(0, 1, 1))
            .err()
            .unwrap();
        assert!(err.to_string().contains("'nobody'"), "{err}");
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let err = CollectTableFactory
            .validate("t", &schema, &Default::default())
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::MissingOption { ref option, .. } if option == "collect.id")
        );
    }
}
