//! Exchanges between subtasks: the sending side ([`RecordWriter`], Flink's
//! `RecordWriter` over a result partition) and the channels themselves. Within a process a
//! channel is a bounded queue; its capacity is the back-pressure bound.

mod local;
mod partitioner;
mod record_writer;

pub use local::{channel, ChannelKey, ChannelReceiver, ChannelSender, LocalChannelRegistry};
pub use partitioner::{key_groups, partition_batch, HASH_SEED};
pub use record_writer::RecordWriter;
