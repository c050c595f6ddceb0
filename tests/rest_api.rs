//! The REST API answers Flink's paths with the jobs the SQL gateway submitted.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{exec, submit, wait_for_status, Eddy};

/// A plain HTTP/1.1 GET against the REST port; returns (status code, body).
fn get(port: u16, path: &str) -> (u16, serde_json::Value) {
    request(port, "GET", path)
}

/// A plain HTTP/1.1 request without a body; returns (status code, body).
fn request(port: u16, method: &str, path: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to REST port");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    let json =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body {body:?} is not JSON: {e}"));
    (status, json)
}

#[tokio::test]
async fn overview_and_jobs_follow_flink_paths() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let job = submit(&client, "INSERT INTO bh SELECT id FROM src").await;
    wait_for_status(&client, &job, "FINISHED").await;

    let (status, overview) = get(eddy.rest_port, "/overview");
    assert_eq!(status, 200);
    assert_eq!(overview["taskmanagers"], 1);
    assert_eq!(overview["slots-total"], 4);
    assert_eq!(overview["slots-available"], 4);
    assert_eq!(overview["jobs-finished"], 1);

    let (status, jobs) = get(eddy.rest_port, "/jobs/overview");
    assert_eq!(status, 200);
    assert_eq!(jobs["jobs"][0]["jid"], job.as_str());
    assert_eq!(jobs["jobs"][0]["state"], "FINISHED");

    let (status, one) = get(eddy.rest_port, &format!("/jobs/{job}"));
    assert_eq!(status, 200);
    assert_eq!(one["metrics"]["numRecordsOut"], 10);

    let (status, missing) = get(eddy.rest_port, "/jobs/0123456789abcdef0123456789abcdef");
    assert_eq!(status, 404);
    assert!(missing["errors"][0]
        .as_str()
        .unwrap_or("")
        .contains("does not exist"));
}

#[tokio::test]
async fn jobs_list_vertices_config_and_cancel_by_patch() {
    let eddy = Eddy::start();
    let client = eddy.connect().await;
    exec(&client, "SET 'parallelism.default' = '2'").await;
    exec(
        &client,
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '100')",
    )
    .await;
    exec(
        &client,
        "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')",
    )
    .await;
    let done = submit(&client, "INSERT INTO bh SELECT id FROM src").await;
    wait_for_status(&client, &done, "FINISHED").await;

    let (_, one) = get(eddy.rest_port, &format!("/jobs/{done}"));
    let vertices = one["vertices"].as_array().unwrap();
    assert!(!vertices.is_empty(), "{one}");
    for v in vertices {
        assert_eq!(v["parallelism"], 2, "{v}");
        assert_eq!(v["status"], "FINISHED", "{v}");
    }
    let written: u64 = vertices
        .iter()
        .map(|v| v["metrics"]["write-records"].as_u64().unwrap())
        .sum();
    assert_eq!(written, 100, "{one}");
    let bytes: u64 = vertices
        .iter()
        .map(|v| {
            v["metrics"]["read-bytes"].as_u64().unwrap()
                + v["metrics"]["write-bytes"].as_u64().unwrap()
        })
        .sum();
    assert!(bytes > 0, "{one}");

    let (status, config) = get(eddy.rest_port, "/config");
    assert_eq!(status, 200);
    assert!(
        config["flink-version"]
            .as_str()
            .unwrap()
            .starts_with("eddy-"),
        "{config}"
    );

    exec(
        &client,
        "CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10')",
    )
    .await;
    let running = submit(&client, "INSERT INTO bh SELECT id FROM slow").await;
    wait_for_status(&client, &running, "RUNNING").await;
    let (status, jobs) = get(eddy.rest_port, "/jobs");
    assert_eq!(status, 200);
    let list = jobs["jobs"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|j| j["id"] == running.as_str() && j["status"] == "RUNNING"),
        "{jobs}"
    );
    assert!(
        list.iter()
            .any(|j| j["id"] == done.as_str() && j["status"] == "FINISHED"),
        "{jobs}"
    );

    let path = format!("/jobs/{running}");
    let (status, _) = request(eddy.rest_port, "PATCH", &format!("{path}?mode=stop"));
    assert_eq!(status, 400);
    let (status, _) = request(eddy.rest_port, "PATCH", &path);
    assert_eq!(status, 202);
    wait_for_status(&client, &running, "CANCELED").await;
    let (status, again) = request(eddy.rest_port, "PATCH", &path);
    assert_eq!(status, 409, "{again}");
    let (status, _) = request(
        eddy.rest_port,
        "PATCH",
        "/jobs/0123456789abcdef0123456789abcdef",
    );
    assert_eq!(status, 404);
}
