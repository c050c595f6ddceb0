//! A value's address as one byte string, as both backends store it: the key group
//! (big-endian, so a key-group range is one contiguous range), the namespace's length and
//! the namespace (so one namespace of a key group is one contiguous range too), then the
//! key. The state's name is not part of it: each state has its own map or column family.

use super::StateKey;
use crate::error::{Result, RuntimeError};

/// Appends the address of (`key_group`, `namespace`, `key`) to `out`.
pub fn encode_into(out: &mut Vec<u8>, key_group: u32, namespace: &[u8], key: &[u8]) {
    out.reserve(8 + namespace.len() + key.len());
    out.extend_from_slice(&key_group.to_be_bytes());
    out.extend_from_slice(&(namespace.len() as u32).to_be_bytes());
    out.extend_from_slice(namespace);
    out.extend_from_slice(key);
}

/// The address of `key`.
pub fn encode(key: &StateKey) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, key.key_group, &key.namespace, &key.key);
    out
}

/// The prefix every key of `namespace` in `key_group` starts with.
pub fn namespace_prefix(key_group: u32, namespace: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, key_group, namespace, &[]);
    out
}

/// The address back as a [`StateKey`].
pub fn decode(bytes: &[u8]) -> Result<StateKey> {
    let bad = || RuntimeError::Internal("a stored state key is damaged".into());
    let (kg, rest) = bytes.split_at_checked(4).ok_or_else(bad)?;
    let (len, rest) = rest.split_at_checked(4).ok_or_else(bad)?;
    let len = u32::from_be_bytes(len.try_into().map_err(|_| bad())?) as usize;
    let (namespace, key) = rest.split_at_checked(len).ok_or_else(bad)?;
    Ok(StateKey {
        key_group: u32::from_be_bytes(kg.try_into().map_err(|_| bad())?),
        namespace: namespace.to_vec(),
        key: key.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_prefixes() {
        let key = StateKey {
            key_group: 7,
            namespace: b"ns".to_vec(),
            key: b"k".to_vec(),
        };
        let bytes = encode(&key);
        assert_eq!(decode(&bytes).unwrap(), key);
        assert!(bytes.starts_with(&namespace_prefix(7, b"ns")));
        // A longer namespace that starts with this one is not under its prefix.
        assert!(!encode(&StateKey {
            key_group: 7,
            namespace: b"nsx".to_vec(),
            key: Vec::new(),
        })
        .starts_with(&namespace_prefix(7, b"ns")));
        assert!(decode(&bytes[..6]).is_err());
    }
}
