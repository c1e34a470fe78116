//! Test harness: each test starts the built `local-server` binary on a free port with its own
//! table in DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`), and talks to it over real HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";
/// The signing secret the test servers use, so that tests can sign tokens of their own.
pub const SECRET_HEX: &str = "7465737420736563726574206f6620746865206c6f63616c2d7365727665722121";

pub fn secret() -> Vec<u8> {
    (0..SECRET_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&SECRET_HEX[i..i + 2], 16).expect("hex"))
        .collect()
}

fn endpoint() -> String {
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
pub struct TestServer {
    pub base_url: String,
    pub addr: String,
    child: Child,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server with extra environment (e.g. tiny throttles).
pub fn spawn_server(env: &[(&str, &str)]) -> TestServer {
    let table = format!("items-local-test-{}", uuid::Uuid::new_v4().simple());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_local-server"));
    cmd.args(["--port", "0", "--table", &table])
        .env(ENDPOINT_VAR, endpoint())
        .env("LOCAL_JWT_SECRET", SECRET_HEX)
        .env_remove("PORT")
        .env_remove("LOCAL_THROTTLE_RATE")
        .env_remove("LOCAL_THROTTLE_BURST")
        .env_remove("LOCAL_USAGE_RATE")
        .env_remove("LOCAL_USAGE_BURST")
        .env_remove("LOCAL_QUOTA_LIMIT")
        .env(
            "RUST_LOG",
            if std::env::var_os("TEST_LOG").is_some() {
                "info"
            } else {
                "warn"
            },
        )
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
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
            if std::env::var_os("TEST_LOG").is_some() {
                println!("{line}");
            }
            if !sent && let Some(url) = line.strip_prefix("local-server listening on ") {
                let _ = tx.send(url.trim().to_owned());
                sent = true;
            }
        }
    });
    let base_url = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("local-server did not print its URL within 30 s: {err}");
        }
    };
    let addr = base_url.trim_start_matches("http://").to_owned();
    TestServer {
        base_url,
        addr,
        child,
    }
}

#[derive(Debug)]
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
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
pub fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> TestResponse {
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        server.addr
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    if let Some(b) = body {
        // A server may answer (413) before reading it all.
        let _ = stream.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    TestResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Local credentials for `sub`.
pub fn credentials(server: &TestServer, sub: &str) -> (String, String) {
    let r = request(
        server,
        "GET",
        &format!("/_local/credentials?sub={sub}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "credentials: {}", r.text());
    let v = r.json();
    (
        v["idToken"].as_str().expect("idToken").to_owned(),
        v["apiKey"].as_str().expect("apiKey").to_owned(),
    )
}

/// Asserts an API Gateway problem+json answer with this status and request id.
pub fn assert_gateway_problem(r: &TestResponse, status: u16, case: &str) -> Value {
    assert_eq!(r.status, status, "{case}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{case}"
    );
    let body = r.json();
    assert_eq!(body["status"], status, "{case}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:problem:")),
        "{case}: {body}"
    );
    let rid = r.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert_eq!(body["requestId"], rid, "{case}");
    body
}
