//! What the local server's test binaries (`gateway`, `reliability`) share: the built
//! `local-server` started on a free port with its own table, and a small HTTP/1.1 client over
//! `std::net::TcpStream` with a deadline on every request.

// Each test binary uses its own subset of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";
/// The signing secret the test servers use, so that tests can sign tokens of their own.
pub const SECRET_HEX: &str = "7465737420736563726574206f6620746865206c6f63616c2d7365727665722121";

pub fn secret() -> Vec<u8> {
    hex::decode(SECRET_HEX).expect("hex")
}

/// Limits far above anything a test sends, so that only a test that asks for throttling sees it.
pub const GENEROUS_LIMITS: [(&str, &str); 7] = [
    ("LOCAL_THROTTLE_RATE", "100000"),
    ("LOCAL_THROTTLE_BURST", "100000"),
    ("LOCAL_USAGE_RATE", "100000"),
    ("LOCAL_USAGE_BURST", "100000"),
    ("LOCAL_QUOTA_LIMIT", "100000000"),
    ("LOCAL_NO_METHOD_THROTTLES", "1"),
    ("LOCAL_USER_LIMIT_REQUESTS", "1000000"),
];

/// DynamoDB Local from `AWS_ENDPOINT_URL_DYNAMODB`, which must be on loopback.
pub fn loopback_endpoint() -> String {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} must point at DynamoDB Local: run the tests with `make test`, or \
             `export {ENDPOINT_VAR}=$(scripts/dynamodb-local.sh start)` first"
        )
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "tests talk to loopback only, not {endpoint}"
    );
    endpoint
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    pub base_url: String,
    pub addr: SocketAddr,
    child: Child,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built server against `endpoint` with a fresh table named `<table_prefix>-<uuid>`,
/// without the variables in `clear`, and with `env`.
pub fn spawn_server_with(
    endpoint: &str,
    table_prefix: &str,
    clear: &[&str],
    env: &[(&str, &str)],
) -> TestServer {
    let table = format!("{table_prefix}-{}", uuid::Uuid::new_v4().simple());
    let log = std::env::var_os("TEST_LOG").is_some();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_local-server"));
    cmd.args(["--port", "0", "--table", &table])
        .env(ENDPOINT_VAR, endpoint)
        .env("LOCAL_JWT_SECRET", SECRET_HEX)
        .env_remove("PORT")
        .env("RUST_LOG", if log { "info" } else { "warn" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if log {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
    for k in clear {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start local-server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    // Read the "listening on" line, then keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if log {
                println!("{line}");
            }
            if !sent && let Some(url) = line.strip_prefix("local-server listening on ") {
                let _ = tx.send(url.trim().to_owned());
                sent = true;
            }
        }
    });
    let Ok(base_url) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = child.wait();
        panic!("local-server did not print its URL within 30 s: {err}");
    };
    let addr = base_url
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");
    TestServer {
        base_url,
        addr,
        child,
    }
}

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The ETag's version number, `"7"` → 7.
    pub fn etag_version(&self) -> u64 {
        self.header("etag")
            .and_then(|e| e.trim_matches('"').parse().ok())
            .unwrap_or_else(|| panic!("no numeric ETag: {:?}", self.headers))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end within
/// `deadline`; `Err` when no complete answer came (refused, reset, or past the deadline).
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    deadline: Duration,
) -> Result<TestResponse, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(deadline))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(deadline))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    if let Some(b) = body {
        // A server may answer (413) before reading it all: read the answer regardless.
        let _ = stream.write_all(b);
    }
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        if started.elapsed() > deadline {
            return Err(format!("no complete answer within {deadline:?}"));
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if raw.is_empty() => return Err(format!("read: {e}")),
            Err(_) => break,
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(TestResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}
