//! Throughput of the network exchange between two processes on loopback: a producer
//! process hash-partitions batches (a BIGINT key, a BIGINT, a 20-character string) over 4
//! channels to a consumer process, through the same code a TaskManager uses (RecordWriter,
//! Arrow IPC frames, credit-based flow control). Prints MB/s of Arrow data and rows/s.
//!
//! ```text
//! cargo run --release -p eddy-cluster --example exchange_throughput -- [batches] [rows-per-batch]
//! ```
//! bench/run --exchange runs it and reports its figures beside the Nexmark ones.

use std::io::{BufRead, BufReader};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use eddy_cluster::shuffle::NetworkEnvironment;
use eddy_runtime::exchange::{ChannelKey, RecordWriter};
use eddy_runtime::jobgraph::Partitioner;
use eddy_runtime::{StreamElement, Watermark};

const CHANNELS: u32 = 4;
const ROLE: &str = "EDDY_EXCHANGE_ROLE";

fn key(consumer: u32) -> ChannelKey {
    ChannelKey {
        job_id: "exchange-throughput".into(),
        attempt: 0,
        edge: 0,
        producer: 0,
        consumer,
    }
}

fn batch(rows: usize, start: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
        Field::new("s", DataType::Utf8, false),
    ]));
    let keys =
        Int64Array::from_iter_values((start..start + rows as i64).map(|i| i * 7919 % 100_003));
    let values = Int64Array::from_iter_values(start..start + rows as i64);
    let strings = StringArray::from_iter_values((0..rows).map(|i| format!("{:020}", i)));
    RecordBatch::try_new(
        schema,
        vec![Arc::new(keys), Arc::new(values), Arc::new(strings)],
    )
    .expect("batch")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let batches: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rows: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8192);
    let runtime = tokio::runtime::Runtime::new()?;
    let _guard = runtime.enter();
    if std::env::var(ROLE).as_deref() == Ok("producer") {
        return produce(&runtime, batches, rows);
    }
    // The consumer: start the producer process and read its data address.
    let mut producer = std::process::Command::new(std::env::current_exe()?)
        .args(&args[1..])
        .env(ROLE, "producer")
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(producer.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let address = line.trim().to_string();
    let (network, _) = runtime.block_on(async {
        NetworkEnvironment::start(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
    })?;
    let handles: Vec<_> = (0..CHANNELS)
        .map(|c| {
            let network = network.clone();
            let address = address.clone();
            std::thread::spawn(move || -> Result<(u64, u64, Option<Instant>), String> {
                let mut input = network
                    .input_channel(&key(c), &address, 8)
                    .map_err(|e| e.to_string())?;
                let (mut bytes, mut rows, mut first) = (0u64, 0u64, None);
                loop {
                    let element = input
                        .receiver()
                        .recv()
                        .map_err(|_| input.closed_error().to_string())?;
                    input.consumed();
                    match element {
                        StreamElement::Batch(b) => {
                            first.get_or_insert_with(Instant::now);
                            // The rows' own bytes, not the buffers they were decoded into.
                            bytes += b
                                .columns()
                                .iter()
                                .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
                                .sum::<u64>();
                            rows += b.num_rows() as u64;
                        }
                        StreamElement::EndOfInput => return Ok((bytes, rows, first)),
                        _ => {}
                    }
                }
            })
        })
        .collect();
    let mut total_bytes = 0;
    let mut total_rows = 0;
    let mut start: Option<Instant> = None;
    for h in handles {
        let (b, r, f) = h.join().map_err(|_| "consumer thread panicked")??;
        total_bytes += b;
        total_rows += r;
        start = match (start, f) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let seconds = start.map(|s| s.elapsed().as_secs_f64()).unwrap_or(f64::NAN);
    producer.wait()?;
    println!(
        "exchange: {total_rows} rows, {:.0} MiB of Arrow data in {seconds:.2} s: {:.0} MB/s, {:.2} M rows/s (hash over {CHANNELS} channels, two processes on loopback)",
        total_bytes as f64 / (1 << 20) as f64,
        total_bytes as f64 / 1e6 / seconds,
        total_rows as f64 / 1e6 / seconds
    );
    Ok(())
}

fn produce(
    runtime: &tokio::runtime::Runtime,
    batches: usize,
    rows: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (network, address) = runtime.block_on(async {
        NetworkEnvironment::start(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
    })?;
    println!("{address}");
    let cancel = Arc::new(AtomicBool::new(false));
    let channels = (0..CHANNELS)
        .map(|c| network.output_channel(key(c), cancel.clone()))
        .collect();
    let mut writer = RecordWriter::new(
        Partitioner::Hash {
            key_columns: vec![0],
        },
        channels,
        128,
    )
    .with_buffering(rows, std::time::Duration::from_millis(100));
    let template: Vec<RecordBatch> = (0..16).map(|i| batch(rows, (i * rows) as i64)).collect();
    for i in 0..batches {
        writer.emit(StreamElement::Batch(template[i % template.len()].clone()))?;
    }
    writer.emit(StreamElement::Watermark(Watermark::MAX))?;
    writer.emit(StreamElement::EndOfInput)?;
    // Let the connection's writer drain before the process ends.
    std::thread::sleep(std::time::Duration::from_millis(500));
    Ok(())
}
