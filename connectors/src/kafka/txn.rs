//! Committing a transaction that another producer prepared (Flink's
//! `FlinkKafkaInternalProducer.resumeTransaction`): a restarted job must commit the
//! transactions of the checkpoint it restores, whose producers died with the failed
//! attempt. librdkafka has no call for it, so this speaks the two requests it takes:
//! `FindCoordinator` (v1) for the transaction coordinator, then `EndTxn` (v1) with the
//! producer id and epoch the committable recorded. librdkafka reports the id and epoch it
//! acquired only in its `eos` debug log, which [`acquired_pid`] reads.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The producer id and epoch in librdkafka's "Acquired PID{Id:7,Epoch:0}" log line.
pub fn acquired_pid(message: &str) -> Option<(i64, i16)> {
    let rest = message.split("Acquired PID{Id:").nth(1)?;
    let (id, rest) = rest.split_once(",Epoch:")?;
    let epoch = rest.split('}').next()?;
    Some((id.trim().parse().ok()?, epoch.trim().parse().ok()?))
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Sends one request (header v1) and returns the response after its correlation id.
fn call(
    stream: &mut TcpStream,
    api_key: i16,
    version: i16,
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::with_capacity(body.len() + 16);
    message.extend_from_slice(&api_key.to_be_bytes());
    message.extend_from_slice(&version.to_be_bytes());
    message.extend_from_slice(&1i32.to_be_bytes());
    string(&mut message, "eddy");
    message.extend_from_slice(body);
    stream.write_all(&(message.len() as i32).to_be_bytes())?;
    stream.write_all(&message)?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    if !(4..=1 << 20).contains(&size) {
        return Err(std::io::Error::other(format!("a response of {size} bytes")));
    }
    let mut response = vec![0u8; size as usize];
    stream.read_exact(&mut response)?;
    Ok(response.split_off(4))
}

fn connect(address: &str, timeout: Duration) -> std::io::Result<TcpStream> {
    let addr = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("no address for '{address}'")))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

fn short(bytes: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn int(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The transaction coordinator of `transactional_id`, as `host:port`.
fn coordinator(
    bootstrap: &str,
    transactional_id: &str,
    timeout: Duration,
) -> Result<String, String> {
    let mut last = String::from("no broker given");
    for broker in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        let mut body = Vec::new();
        string(&mut body, transactional_id);
        body.push(1); // key type: transaction
        let response = match connect(broker, timeout).and_then(|mut s| call(&mut s, 10, 1, &body)) {
            Ok(r) => r,
            Err(e) => {
                last = format!("{broker}: {e}");
                continue;
            }
        };
        // throttle, error code, error message (nullable string), node, host, port.
        let error = short(&response, 4).ok_or("a short FindCoordinator response")?;
        if error != 0 {
            return Err(format!("FindCoordinator answered error code {error}"));
        }
        let message_len = short(&response, 6).ok_or("a short FindCoordinator response")?;
        let mut at = 8 + message_len.max(0) as usize + 4;
        let host_len = short(&response, at).ok_or("a short FindCoordinator response")? as usize;
        at += 2;
        let host = response
            .get(at..at + host_len)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or("a bad coordinator host")?;
        let port = int(&response, at + host_len).ok_or("a short FindCoordinator response")?;
        return Ok(format!("{host}:{port}"));
    }
    Err(last)
}

/// Why a prepared transaction was not committed.
#[derive(Debug)]
pub enum ResumeError {
    /// The brokers could not be asked: trying again may work.
    Unreachable(String),
    /// The coordinator refused (the transaction was aborted, e.g. it timed out).
    Refused(String),
}

/// Commits the transaction `producer_id` / `epoch` opened under `transactional_id`.
/// Committing one that is committed already succeeds, as in Kafka.
pub fn commit_prepared(
    bootstrap: &str,
    transactional_id: &str,
    producer_id: i64,
    epoch: i16,
    timeout: Duration,
) -> Result<(), ResumeError> {
    let coordinator =
        coordinator(bootstrap, transactional_id, timeout).map_err(ResumeError::Unreachable)?;
    let mut body = Vec::new();
    string(&mut body, transactional_id);
    body.extend_from_slice(&producer_id.to_be_bytes());
    body.extend_from_slice(&epoch.to_be_bytes());
    body.push(1); // commit
    let response = connect(&coordinator, timeout)
        .and_then(|mut s| call(&mut s, 26, 1, &body))
        .map_err(|e| ResumeError::Unreachable(format!("EndTxn at {coordinator}: {e}")))?;
    match short(&response, 4) {
        Some(0) => Ok(()),
        Some(code) => Err(ResumeError::Refused(format!(
            "EndTxn at {coordinator} answered error code {code}"
        ))),
        None => Err(ResumeError::Unreachable(format!(
            "a short EndTxn response from {coordinator}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pid_librdkafka_logs() {
        assert_eq!(
            acquired_pid("TxnCoordinator/111: Acquired PID{Id:1234,Epoch:7}"),
            Some((1234, 7))
        );
        assert_eq!(acquired_pid("Acquiring ProducerId"), None);
        assert_eq!(acquired_pid("Acquired PID{Id:x,Epoch:1}"), None);
    }
}
