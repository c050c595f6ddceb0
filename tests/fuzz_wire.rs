//! Bytes on the PostgreSQL port that no client would send: random bytes before the startup
//! packet, oversized and negative lengths, and after a valid startup, messages with random
//! types, lengths and bodies (Parse / Bind / Execute / Describe with wrong counts, truncated
//! frames). Each connection may be refused or dropped; the server must keep serving others,
//! and its open descriptors must come back to where they were. Seeded, so CI repeats it;
//! `EDDY_WIRE_FUZZ_CONNECTIONS` (default 2000) and `EDDY_WIRE_FUZZ_SEED` choose the run.

mod common;

use std::time::Duration;

use common::{scalar, startup_packet, Eddy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// One connection's worth of bad bytes.
fn script(rng: &mut StdRng) -> Vec<u8> {
    let random =
        |rng: &mut StdRng, n: usize| (0..n).map(|_| rng.random::<u8>()).collect::<Vec<u8>>();
    match rng.random_range(0..8) {
        // Noise instead of a startup packet.
        0 => {
            let n = rng.random_range(1..400);
            random(rng, n)
        }
        // A startup packet whose length lies.
        1 => {
            let mut p = startup_packet();
            let len: u32 = *[0u32, 3, 7, 0x7fff_ffff, 0xffff_ffff, 9]
                .get(rng.random_range(0..6))
                .unwrap_or(&0);
            p[..4].copy_from_slice(&len.to_be_bytes());
            p
        }
        // A startup packet of another protocol version, or with unterminated parameters.
        2 => {
            let mut p = startup_packet();
            p[4] = rng.random();
            let cut = rng.random_range(8..p.len());
            p.truncate(cut);
            p
        }
        // A valid startup, then messages of random types and bodies.
        _ => {
            let mut out = startup_packet();
            for _ in 0..rng.random_range(1..12) {
                let kind = *b"QPBEDSCHXFdcfp?\x00"
                    .get(rng.random_range(0..16))
                    .unwrap_or(&b'Q');
                let n = rng.random_range(0..200);
                let body = match rng.random_range(0..4) {
                    // A Parse of a real statement with a random parameter count.
                    0 => {
                        let mut b = b"s1\0SELECT $1::INT + 1\0".to_vec();
                        b.extend_from_slice(&rng.random::<u16>().to_be_bytes());
                        b.extend(random(rng, n % 8));
                        b
                    }
                    // A Bind with counts that do not match what follows.
                    1 => {
                        let mut b = b"\0s1\0".to_vec();
                        b.extend_from_slice(&rng.random::<u16>().to_be_bytes());
                        b.extend_from_slice(&rng.random::<i32>().to_be_bytes());
                        b.extend(random(rng, n % 16));
                        b
                    }
                    2 => b"SELECT 1\0".to_vec(),
                    _ => random(rng, n),
                };
                let mut f = frame(kind, &body);
                if rng.random_bool(0.1) {
                    // A frame whose length claims more than will ever come.
                    f[1..5].copy_from_slice(&rng.random::<u32>().to_be_bytes());
                }
                out.extend(f);
            }
            out
        }
    }
}

/// Sends `bytes` on a new connection; returns how many bytes the server answered with.
async fn throw(port: u16, bytes: Vec<u8>) -> usize {
    let Ok(Ok(mut s)) = tokio::time::timeout(
        Duration::from_secs(5),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    else {
        return 0;
    };
    let _ = s.write_all(&bytes).await;
    let _ = s.shutdown().await;
    // Read whatever comes back until the server closes or goes quiet.
    let mut buf = [0u8; 4096];
    let mut answered = 0;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answered += n;
        }
    })
    .await;
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_on_the_wire_never_take_the_server_down() {
    let count: usize = std::env::var("EDDY_WIRE_FUZZ_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("EDDY_WIRE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let mut eddy = Eddy::start_with_args(&["-D", "sql-gateway.endpoint.pg.startup-timeout=2s"]);
    let client = eddy.connect().await;
    let fds_before = std::fs::read_dir(format!("/proc/{}/fd", eddy.pid()))
        .unwrap()
        .count();
    let mut rng = StdRng::seed_from_u64(seed);
    let port = eddy.pg_port;
    let mut answered = 0;
    for round in 0..count.div_ceil(25) {
        let scripts: Vec<Vec<u8>> = (0..25).map(|_| script(&mut rng)).collect();
        let tasks: Vec<_> = scripts
            .into_iter()
            .map(|b| tokio::spawn(throw(port, b)))
            .collect();
        for t in tasks {
            answered += usize::from(t.await.unwrap() > 0);
        }
        assert!(
            eddy.is_running(),
            "eddy died in round {round} (seed {seed})\n{}",
            eddy.log_tail(40)
        );
        assert_eq!(scalar(&client, "SELECT 1").await.as_deref(), Some("1"));
    }
    // The server read and answered most of them (errors, or a session that then broke).
    assert!(
        answered > count / 2,
        "only {answered} of {count} connections got an answer"
    );
    eprintln!("{answered} of {count} connections answered");
    // Every bad connection is gone again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", eddy.pid()))
            .unwrap()
            .count();
        if fds <= fds_before + 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "open files: {fds_before} before, {fds} after"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fresh = eddy.connect().await;
    assert_eq!(scalar(&fresh, "SELECT 2").await.as_deref(), Some("2"));
}
