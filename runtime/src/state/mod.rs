//! Keyed state. Key groups are the unit of state partitioning and redistribution.

pub mod key_group;
pub mod keyed;

pub use key_group::KeyGroupRange;
pub use keyed::{HeapKeyedStateBackend, KeyedStateBackend, StateKey};
