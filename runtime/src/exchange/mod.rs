//! Exchanges between subtasks: the sending side ([`RecordWriter`], Flink's
//! `RecordWriter` over a result partition) and the channels themselves. Within a process a
//! channel is a bounded queue; its capacity is the back-pressure bound. [`gate`] is the
//! interface a subtask sees, with the network stack plugged in behind it.

mod gate;
mod local;
mod partitioner;
mod record_writer;

pub use gate::{CreditListener, InputChannel, OutputChannel, RemoteSender};
pub use local::{channel, ChannelKey, ChannelReceiver, ChannelSender, LocalChannelRegistry};
pub use partitioner::{key_groups, partition_batch, HASH_SEED};
pub use record_writer::RecordWriter;
