//! Refusing a connection past `sql-gateway.endpoint.pg.max-connections` the way PostgreSQL
//! does: the client's startup packet is answered with a FATAL error, SQLSTATE 53300, so
//! psql and drivers show "sorry, too many clients already" instead of a reset connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Startup-phase request codes (PostgreSQL's protocol).
const SSL_REQUEST: u32 = 80877103;
const GSSENC_REQUEST: u32 = 80877104;
const CANCEL_REQUEST: u32 = 80877102;
/// A startup packet is small; anything larger is not a PostgreSQL client.
const MAX_STARTUP_PACKET: usize = 10_000;
/// How long a refused client may take to send its startup packet.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a connection opens, judged from its first 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opening {
    Cancel,
    /// An SSLRequest, or a TLS handshake at once (PostgreSQL 17's direct negotiation).
    Tls,
    Other,
}

/// How the connection opens (its first 8 bytes, peeked so that pgwire still reads them).
/// Waits at most `wait` for them.
pub(super) async fn opening(socket: &TcpStream, wait: Duration) -> Opening {
    let mut head = [0u8; 8];
    let peeked = tokio::time::timeout(wait.min(REFUSE_TIMEOUT), async {
        loop {
            match socket.peek(&mut head).await {
                Ok(8) => return true,
                // Closed, or an error: pgwire will find out.
                Ok(0) | Err(_) => return false,
                // Part of the packet is here: wait for the rest.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    })
    .await;
    if peeked != Ok(true) {
        return Opening::Other;
    }
    let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    match (length, code) {
        (16, CANCEL_REQUEST) => Opening::Cancel,
        (8, SSL_REQUEST) => Opening::Tls,
        // A TLS record of type handshake.
        _ if head[0] == 0x16 => Opening::Tls,
        _ => Opening::Other,
    }
}

/// Answers the client's startup packet with a FATAL 53300 error, then closes.
pub(super) async fn refuse_too_many(mut socket: TcpStream, limit: usize) {
    let message = format!(
        "sorry, too many clients already (sql-gateway.endpoint.pg.max-connections = {limit})"
    );
    let _ = tokio::time::timeout(REFUSE_TIMEOUT, async {
        // SSL and GSS encryption requests come first and are declined with 'N'; the
        // startup packet (or a cancel request, which gets no answer) follows.
        loop {
            let len = socket.read_u32().await? as usize;
            if !(8..=MAX_STARTUP_PACKET).contains(&len) {
                return Ok(());
            }
            let mut body = vec![0u8; len - 4];
            socket.read_exact(&mut body).await?;
            let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            match code {
                SSL_REQUEST | GSSENC_REQUEST => socket.write_all(b"N").await?,
                CANCEL_REQUEST => return Ok(()),
                _ => {
                    socket.write_all(&fatal_error("53300", &message)).await?;
                    return socket.shutdown().await;
                }
            }
        }
    })
    .await;
}

/// An ErrorResponse message with severity FATAL.
pub(super) fn fatal_error(sqlstate: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', sqlstate),
        (b'M', message),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}
