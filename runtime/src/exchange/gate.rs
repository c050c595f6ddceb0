//! The exchange interface between a subtask and its channels, whatever carries them
//! (Flink's ResultPartition on the sending side and InputGate on the receiving side).
//! A channel within one process is a bounded queue; a channel to a subtask on another
//! TaskManager is provided by the network stack through [`RemoteSender`] and
//! [`CreditListener`], so this crate knows nothing of sockets.

use crate::error::{Result, RuntimeError};
use crate::exchange::{ChannelReceiver, ChannelSender};
use crate::stream_element::StreamElement;

/// The sending end of a channel to a subtask on another TaskManager. `send` blocks until
/// the receiver has granted a credit (credit-based flow control), so a slow consumer holds
/// its producers back with bounded memory.
pub trait RemoteSender: Send {
    /// Sends one element, waiting for a credit. Fails with [`RuntimeError::Cancelled`]
    /// once the consumer is gone or the task is cancelled.
    fn send(&mut self, element: StreamElement) -> Result<()>;
}

/// Told by a remote input channel each time its task takes an element, so the network
/// stack can give the sender that buffer's credit back.
pub trait CreditListener: Send {
    /// One element was taken off the channel.
    fn consumed(&mut self);
    /// Why the channel closed without its end-of-input (a lost connection), if known.
    fn failure(&self) -> Option<String>;
}

/// One output channel of a subtask.
pub enum OutputChannel {
    /// To a subtask in this process.
    Local(ChannelSender),
    /// To a subtask on another TaskManager.
    Remote(Box<dyn RemoteSender>),
}

impl OutputChannel {
    /// Sends one element, blocking while the channel is full or out of credit.
    pub fn send(&mut self, element: StreamElement) -> Result<()> {
        match self {
            // A closed channel means the consumer is gone: the job is being cancelled or
            // has failed.
            OutputChannel::Local(s) => s.send(element).map_err(|_| RuntimeError::Cancelled),
            OutputChannel::Remote(r) => r.send(element),
        }
    }
}

impl std::fmt::Debug for OutputChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputChannel::Local(_) => f.write_str("OutputChannel::Local"),
            OutputChannel::Remote(_) => f.write_str("OutputChannel::Remote"),
        }
    }
}

/// One input channel of a subtask: the queue it selects on, plus, for a remote channel,
/// who to tell when an element was taken.
pub struct InputChannel {
    receiver: ChannelReceiver,
    credit: Option<Box<dyn CreditListener>>,
}

impl InputChannel {
    /// A channel from a subtask in this process.
    pub fn local(receiver: ChannelReceiver) -> Self {
        Self {
            receiver,
            credit: None,
        }
    }

    /// A channel fed by the network stack, which `credit` hears back from.
    pub fn remote(receiver: ChannelReceiver, credit: Box<dyn CreditListener>) -> Self {
        Self {
            receiver,
            credit: Some(credit),
        }
    }

    /// The queue to select on.
    pub fn receiver(&self) -> &ChannelReceiver {
        &self.receiver
    }

    /// Must be called after each element taken off [`InputChannel::receiver`].
    pub fn consumed(&mut self) {
        if let Some(c) = &mut self.credit {
            c.consumed();
        }
    }

    /// The error for a channel that closed before its end-of-input: its producer failed
    /// or was cancelled (the job is going down anyway), or its connection was lost.
    pub fn closed_error(&self) -> RuntimeError {
        match self.credit.as_ref().and_then(|c| c.failure()) {
            Some(reason) => RuntimeError::External(reason),
            None => RuntimeError::Cancelled,
        }
    }
}
