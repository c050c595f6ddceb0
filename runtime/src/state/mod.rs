//! Keyed state. Key groups are the unit of state partitioning and redistribution.

pub mod key_group;

pub use key_group::KeyGroupRange;
