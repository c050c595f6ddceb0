//! The parse ceiling for `bench/run`: arrow-csv's own reader over csv files, every column
//! converted to its type, nothing else. `bench/run` compares Eddy's q0 over the same files
//! with it (issue 17: q0 should beat a reader that does no more than parse).
//!
//! `arrow-csv-reference <file or directory> [runs] [batch size]` reads the files (the
//! directory's visible ones, sorted) with the columns of Nexmark's `bid` table and prints
//! one JSON line per run: `{"rows": .., "seconds": ..}`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

fn bid_schema() -> Schema {
    let text = |name| Field::new(name, DataType::Utf8, true);
    let int = |name| Field::new(name, DataType::Int64, true);
    Schema::new(vec![
        int("auction"),
        int("bidder"),
        int("price"),
        text("channel"),
        text("url"),
        Field::new(
            "dateTime",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
        text("extra"),
    ])
}

fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            out.extend(files(&p)?);
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn read_all(files: &[PathBuf], schema: &Arc<Schema>, batch: usize) -> Result<usize, String> {
    let mut rows = 0;
    for f in files {
        let file = File::open(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let reader = ReaderBuilder::new(schema.clone())
            .with_header(false)
            .with_batch_size(batch)
            .build(file)
            .map_err(|e| format!("{}: {e}", f.display()))?;
        for b in reader {
            rows += b.map_err(|e| format!("{}: {e}", f.display()))?.num_rows();
        }
    }
    Ok(rows)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: arrow-csv-reference <file or directory> [runs] [batch size]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1);
    let batch: usize = args.get(3).and_then(|b| b.parse().ok()).unwrap_or(8192);
    let files = match files(Path::new(path)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let schema = Arc::new(bid_schema());
    for _ in 0..runs {
        let start = Instant::now();
        match read_all(&files, &schema, batch) {
            Ok(rows) => println!(
                "{{\"rows\": {rows}, \"seconds\": {}}}",
                start.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
