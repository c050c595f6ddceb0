//! The keyed-state contract as one test every backend runs (the heap backend now, RocksDB
//! with the same calls), so that both behave alike.

use super::{KeyGroupRange, KeyedStateBackend, StateKey};

/// A backend for the key groups of a range.
pub type MakeBackend<'a> = dyn Fn(KeyGroupRange) -> Box<dyn KeyedStateBackend> + 'a;

fn at(key_group: u32, namespace: &[u8], key: &[u8]) -> StateKey {
    StateKey {
        key_group,
        namespace: namespace.to_vec(),
        key: key.to_vec(),
    }
}

fn all(b: &dyn KeyedStateBackend, range: KeyGroupRange) -> Vec<(String, StateKey, Vec<u8>)> {
    let mut out = Vec::new();
    b.scan(range, &mut |s, k, v| {
        out.push((s.to_string(), k.clone(), v.to_vec()));
        Ok(())
    })
    .expect("scan");
    out
}

/// Panics where `make`'s backends break the contract.
pub fn check_backend(make: &MakeBackend<'_>) {
    let full = KeyGroupRange { start: 0, end: 127 };
    let mut b = make(full);
    assert_eq!(b.key_group_range(), full);

    // Addressing: state, key group, namespace and key all tell values apart.
    b.put("acc", at(3, b"w1", b"a"), b"1".to_vec()).unwrap();
    b.put("acc", at(9, b"w1", b"b"), b"2".to_vec()).unwrap();
    b.put("acc", at(3, b"w2", b"a"), b"3".to_vec()).unwrap();
    b.put("acc", at(3, b"w1", b"a"), b"4".to_vec()).unwrap();
    b.put("rows", at(3, b"w1", b"a"), b"5".to_vec()).unwrap();
    b.put("acc", at(127, b"", b""), Vec::new()).unwrap();
    assert_eq!(
        b.get("acc", &at(3, b"w1", b"a")).unwrap().as_deref(),
        Some(&b"4"[..])
    );
    assert_eq!(
        b.get("rows", &at(3, b"w1", b"a")).unwrap().as_deref(),
        Some(&b"5"[..])
    );
    assert_eq!(b.get("other", &at(3, b"w1", b"a")).unwrap(), None);
    assert_eq!(b.get("acc", &at(127, b"", b"")).unwrap(), Some(Vec::new()));

    // An update sees the value there (or none) and replaces it, or removes it with None.
    let mut seen = Vec::new();
    let mut append = |old: Option<&[u8]>| {
        seen.push(old.map(<[u8]>::to_vec));
        Ok(Some([old.unwrap_or(b""), b"+"].concat()))
    };
    b.update("upd", at(5, b"n", b"k"), &mut append).unwrap();
    b.update("upd", at(5, b"n", b"k"), &mut append).unwrap();
    assert_eq!(seen, [None, Some(b"+".to_vec())]);
    assert_eq!(
        b.get("upd", &at(5, b"n", b"k")).unwrap().as_deref(),
        Some(&b"++"[..])
    );
    b.update("upd", at(5, b"n", b"k"), &mut |_| Ok(None))
        .unwrap();
    b.update("upd", at(5, b"n", b"gone"), &mut |_| Ok(None))
        .unwrap();
    assert!(all(b.as_ref(), KeyGroupRange { start: 5, end: 5 }).is_empty());
    b.update("acc", at(3, b"w1", b"a"), &mut |old| {
        assert_eq!(old, Some(&b"4"[..]));
        Ok(old.map(<[u8]>::to_vec))
    })
    .unwrap();

    // A key group of another subtask is refused, not stored.
    let mut half = make(KeyGroupRange { start: 0, end: 63 });
    assert!(half.put("acc", at(64, b"w", b"k"), b"x".to_vec()).is_err());
    assert!(half
        .update("acc", at(64, b"w", b"k"), &mut |_| Ok(Some(b"x".to_vec())))
        .is_err());
    assert!(all(half.as_ref(), full).is_empty());

    // Scans visit one range, in key-group order, state names within a key group.
    let scanned = all(b.as_ref(), KeyGroupRange { start: 3, end: 9 });
    let order: Vec<(u32, &str)> = scanned
        .iter()
        .map(|(s, k, _)| (k.key_group, s.as_str()))
        .collect();
    assert_eq!(order, [(3, "acc"), (3, "acc"), (3, "rows"), (9, "acc")]);
    assert_eq!(
        all(
            b.as_ref(),
            KeyGroupRange {
                start: 10,
                end: 126
            }
        )
        .len(),
        0
    );
    assert_eq!(all(b.as_ref(), full).len(), 5);

    // Taking a namespace in one key group leaves the other groups' values.
    assert!(b.take_namespace_in("acc", 4, b"w1").unwrap().is_empty());
    assert_eq!(
        b.get_namespace_in("acc", 9, b"w1").unwrap(),
        [(at(9, b"w1", b"b"), b"2".to_vec())],
        "reading a namespace leaves it in place"
    );
    let in_nine = b.take_namespace_in("acc", 9, b"w1").unwrap();
    assert_eq!(in_nine, [(at(9, b"w1", b"b"), b"2".to_vec())]);
    b.put("acc", at(9, b"w1", b"b"), b"2".to_vec()).unwrap();

    // Taking a namespace removes exactly its values of that state.
    let mut w1 = b.take_namespace("acc", b"w1").unwrap();
    w1.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        w1,
        [
            (at(3, b"w1", b"a"), b"4".to_vec()),
            (at(9, b"w1", b"b"), b"2".to_vec())
        ]
    );
    assert!(b.take_namespace("acc", b"w1").unwrap().is_empty());
    assert_eq!(
        b.get("rows", &at(3, b"w1", b"a")).unwrap().as_deref(),
        Some(&b"5"[..])
    );
    assert_eq!(
        b.remove("rows", &at(3, b"w1", b"a")).unwrap().as_deref(),
        Some(&b"5"[..])
    );
    assert_eq!(b.remove("rows", &at(3, b"w1", b"a")).unwrap(), None);

    // A snapshot restores into a fresh backend, and split over two halves (rescaling) each
    // half keeps exactly its own key groups.
    for kg in 0..128u32 {
        b.put(
            "acc",
            at(kg, b"w9", &kg.to_be_bytes()),
            vec![kg as u8; (kg % 7) as usize],
        )
        .unwrap();
    }
    let before = all(b.as_ref(), full);
    let mut bytes = Vec::new();
    b.snapshot(full, &mut bytes).unwrap();
    let mut again = make(full);
    again.restore(&mut bytes.as_slice()).unwrap();
    assert_eq!(all(again.as_ref(), full), before);
    let (low, high) = (
        KeyGroupRange { start: 0, end: 40 },
        KeyGroupRange {
            start: 41,
            end: 127,
        },
    );
    let mut left = make(low);
    let mut right = make(high);
    left.restore(&mut bytes.as_slice()).unwrap();
    right.restore(&mut bytes.as_slice()).unwrap();
    let mut joined = all(left.as_ref(), full);
    assert!(joined.iter().all(|(_, k, _)| low.contains(k.key_group)));
    joined.extend(all(right.as_ref(), full));
    assert_eq!(joined, before);

    // A snapshot of part of the range holds only that part.
    let mut part = Vec::new();
    b.snapshot(low, &mut part).unwrap();
    let mut from_part = make(full);
    from_part.restore(&mut part.as_slice()).unwrap();
    assert_eq!(all(from_part.as_ref(), full), all(b.as_ref(), low));

    // Damaged or foreign snapshots are refused with an error, never a panic.
    let mut bad_version = bytes.clone();
    bad_version[11] = 9;
    let e = make(full).restore(&mut bad_version.as_slice()).unwrap_err();
    assert!(e.to_string().contains("version 9"), "{e}");
    assert!(make(full)
        .restore(&mut &b"not a snapshot at all"[..])
        .is_err());
    assert!(make(full).restore(&mut &bytes[..bytes.len() / 2]).is_err());
}
