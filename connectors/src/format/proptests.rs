//! Property tests of the CSV and JSON decoders over arbitrary input lines: decoding never
//! panics; skipping bad records accounts for every line (rows + skipped = lines); failing on
//! them names a line that exists and quotes it. The csv decoder's fast path gives the same
//! batches and errors as its general path.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::RuntimeError;
use proptest::prelude::*;

use super::{
    BatchDecoder, CsvFormatFactory, FormatFactory, JsonFormatFactory, LineChunk, RecordDecoder,
};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new("b", DataType::Int64, true),
        Field::new("d", DataType::Float64, true),
        Field::new("m", DataType::Decimal128(10, 2), true),
        Field::new("f", DataType::Boolean, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("day", DataType::Date32, true),
    ]))
}

/// Pieces a line is made of: valid values, their near misses, separators and raw bytes.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"1".to_vec()),
        Just(b"-2147483649".to_vec()),
        Just(b"9223372036854775808".to_vec()),
        Just(b"1.5e308".to_vec()),
        Just(b"12345678.999".to_vec()),
        Just(b"true".to_vec()),
        Just(b"2024-02-30 25:61:00".to_vec()),
        Just(b"2024-01-01T00:00:00.123".to_vec()),
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b":".to_vec()),
        Just(br#"{"i": 1, "s": "x", "t": "2024-01-01 00:00:00"}"#.to_vec()),
        Just(br#""m": 1e400"#.to_vec()),
        Just("🦆".as_bytes().to_vec()),
        Just(vec![0xff, 0xfe, 0x00]),
        proptest::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..12
        ),
    ]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(piece(), 1..10).prop_map(|p| p.concat())
}

fn decoder(
    factory: &dyn FormatFactory,
    ignore_key: &str,
    ignore: bool,
) -> (RecordDecoder, Arc<TaskMetrics>) {
    let mut options = BTreeMap::new();
    options.insert(ignore_key.to_string(), ignore.to_string());
    let metrics = Arc::new(TaskMetrics::default());
    let d = RecordDecoder::new(
        factory.create_decoder(schema(), &options).unwrap(),
        schema(),
        factory.bad_record_policy(&options).unwrap(),
        metrics.clone(),
    );
    (d, metrics)
}

fn check(factory: &dyn FormatFactory, ignore_key: &str, lines: &[Vec<u8>]) {
    let mut chunk = LineChunk::new();
    let mut pushed = 0u64;
    for (i, l) in lines.iter().enumerate() {
        if !l.is_empty() {
            chunk.push(i as u64 + 1, l);
            pushed += 1;
        }
    }
    let (mut skip, metrics) = decoder(factory, ignore_key, true);
    let rows = skip
        .decode("in", &chunk)
        .expect("skipping never fails")
        .map_or(0, |b| b.num_rows() as u64);
    let skipped = metrics.snapshot().num_records_skipped;
    assert_eq!(
        rows + skipped,
        pushed,
        "rows {rows} + skipped {skipped} != lines {pushed}"
    );

    let (mut fail, _) = decoder(factory, ignore_key, false);
    match fail.decode("in", &chunk) {
        Ok(batch) => assert_eq!(batch.map_or(0, |b| b.num_rows() as u64), pushed),
        Err(RuntimeError::BadRecord { location, .. }) => {
            let line: usize = location.trim_start_matches("in:").parse().unwrap();
            assert!(line >= 1 && line <= lines.len(), "{location}");
            assert!(skipped > 0, "failed on {location}, yet nothing was skipped");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn csv_decoding_accounts_for_every_line(lines in proptest::collection::vec(line(), 1..8)) {
        check(&CsvFormatFactory, "csv.ignore-parse-errors", &lines);
    }

    #[test]
    fn json_decoding_accounts_for_every_line(lines in proptest::collection::vec(line(), 1..8)) {
        check(&JsonFormatFactory, "json.ignore-parse-errors", &lines);
    }

    #[test]
    fn csv_fast_path_equals_the_general_path(
        lines in proptest::collection::vec(csv_line(), 1..8),
        read in proptest::collection::vec(0usize..8, 0..8),
        projected in any::<bool>(),
    ) {
        let mut buf = Vec::new();
        for l in &lines {
            buf.extend_from_slice(l);
            buf.push(b'\n');
        }
        let options = BTreeMap::new();
        let mut fast = CsvFormatFactory.create_decoder(schema(), &options).unwrap();
        let mut general = super::csv::CsvDecoder::general_only(schema(), &options).unwrap();
        if projected {
            fast.read_only(&read);
            general.read_only(&read);
        }
        let (a, b) = (fast.decode(&buf, lines.len()), general.decode(&buf, lines.len()));
        prop_assert_eq!(a, b, "{}", String::from_utf8_lossy(&buf));
    }
}

/// Fields the fast path parses, near misses it must leave to the general path, and text.
fn csv_field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"".to_vec()),
        Just(b"0".to_vec()),
        Just(b"-17".to_vec()),
        Just(b" 42 ".to_vec()),
        Just(b"007".to_vec()),
        Just(b"+5".to_vec()),
        Just(b"2147483648".to_vec()),
        Just(b"-9223372036854775808".to_vec()),
        Just(b"9223372036854775808".to_vec()),
        Just(b"1.5".to_vec()),
        Just(b"1e3".to_vec()),
        Just(b"true".to_vec()),
        Just(b"2024-01-15 10:11:12.345".to_vec()),
        Just(b"2024-01-15 10:11:12".to_vec()),
        Just(b"2024-01-15 10:11:12.3456".to_vec()),
        Just(b"2024-01-15T10:11:12".to_vec()),
        Just(b"2024-02-30 10:11:12".to_vec()),
        Just(b"1969-12-31 23:59:59.999".to_vec()),
        Just(b"2024-02-29".to_vec()),
        Just(b"2023-02-29".to_vec()),
        Just(b"abc".to_vec()),
        Just("🦆".as_bytes().to_vec()),
        Just(vec![0xff, 0xfe]),
        Just(b"\"q\"".to_vec()),
        Just(b"\r".to_vec()),
        proptest::collection::vec(
            any::<u8>().prop_filter("no newline or comma", |b| *b != b'\n' && *b != b','),
            0..6
        ),
    ]
}

/// Mostly eight fields, as the schema has; sometimes seven or nine.
fn csv_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(csv_field(), 8..=8),
        1 => proptest::collection::vec(csv_field(), 7..=9),
    ]
    .prop_map(|fields| fields.join(&b","[..]))
    .prop_filter("a line is not empty", |l| !l.is_empty())
}
