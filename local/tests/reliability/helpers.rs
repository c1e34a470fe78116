//! Harness of the reliability tests: the built `local-server` on a free port with its own table,
//! an own DynamoDB Local when a test needs to stop and restart it (a guard that always stops it),
//! and a small HTTP/1.1 client over `std::net::TcpStream` (as `tests/gateway/helpers.rs` uses),
//! driven from tokio tasks through `spawn_blocking`, with a deadline on every request.
//!
//! The server and the client are `tests/common`, shared with the gateway tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use crate::common::GENEROUS_LIMITS;
const DYNAMODB_LOCAL_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dynamodb-local.sh");

/// Longer than any answer may take: a request still unanswered then is reported as a hang.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(20);

/// The tests of this binary measure latency and load one shared machine: one at a time.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The shared DynamoDB Local of the test run (`make test` starts it).
pub use crate::common::loopback_endpoint as shared_endpoint;

/// A DynamoDB Local of this test's own, on disk (`-dbPath`) so that a stop and a start keep the
/// data, started and stopped through `scripts/dynamodb-local.sh` with its own state directory.
/// Dropping it stops it and removes its files, whether the test passed or not.
#[derive(Debug)]
pub struct OwnDynamoDb {
    pub endpoint: String,
    pub port: u16,
    dir: PathBuf,
}

impl OwnDynamoDb {
    pub fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("reliability-ddb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the DynamoDB Local directory");
        let mut own = Self {
            endpoint: String::new(),
            port: 0,
            dir,
        };
        // From here on, Drop stops whatever the script started, even if the start fails.
        own.endpoint = own.script(&["start", "0"]);
        own.port = own
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {:?}", own.endpoint));
        own
    }

    /// Stops it (the script waits for the process to exit, 5 s at most, then kills it).
    pub fn stop(&self) {
        self.script(&["stop"]);
    }

    /// Starts it again on the same port, on the same files.
    pub fn restart(&self) {
        let endpoint = self.script(&["start", &self.port.to_string()]);
        assert_eq!(endpoint, self.endpoint, "restarted on another port");
    }

    fn script(&self, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(DYNAMODB_LOCAL_SCRIPT)
            .args(args)
            .env("DYNAMODB_LOCAL_STATE", self.dir.join("state"))
            .env("DYNAMODB_LOCAL_DB_PATH", self.dir.join("db"))
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/dynamodb-local.sh");
        assert!(
            out.status.success(),
            "scripts/dynamodb-local.sh {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(DYNAMODB_LOCAL_SCRIPT)
            .arg("stop")
            .env("DYNAMODB_LOCAL_STATE", self.dir.join("state"))
            .stdin(Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub use crate::common::{TestResponse, TestServer};
use crate::common::{spawn_server_with, try_request};

/// Starts the built server against `endpoint` with its own table and extra environment.
pub fn spawn_server(endpoint: &str, env: &[(&str, &str)]) -> TestServer {
    let mut clear = vec!["LOCAL_STAGE", "LOCAL_STAGES_FILE", "LOCAL_QUOTA_PERIOD"];
    clear.extend(GENEROUS_LIMITS.iter().map(|(k, _)| *k));
    spawn_server_with(endpoint, "items-reliability", &clear, env)
}

/// One answer and how long it took; `Err` when none came (refused, reset, or past the deadline).
#[derive(Debug)]
pub struct Timed {
    pub elapsed: Duration,
    pub result: Result<TestResponse, String>,
}

/// One HTTP/1.1 request on a fresh connection, within [`REQUEST_DEADLINE`].
fn request_blocking(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Result<TestResponse, String> {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    try_request(addr, method, path, &headers, body, REQUEST_DEADLINE)
}

/// A signed-in client of one server: one user's ID token and the server's API key.
#[derive(Debug, Clone)]
pub struct Api {
    addr: SocketAddr,
    auth: Arc<Vec<(String, String)>>,
}

impl Api {
    /// Fetches local credentials for `sub` from the server.
    pub async fn sign_in(server: &TestServer, sub: &str) -> Self {
        let anonymous = Self {
            addr: server.addr,
            auth: Arc::new(Vec::new()),
        };
        let r = anonymous
            .call("GET", &format!("/_local/credentials?sub={sub}"), None, &[])
            .await
            .result
            .expect("credentials answer");
        assert_eq!(r.status, 200, "credentials: {}", r.text());
        let v = r.json();
        let field = |k: &str| v[k].as_str().expect(k).to_owned();
        Self {
            addr: server.addr,
            auth: Arc::new(vec![
                ("Authorization".to_owned(), field("idToken")),
                ("x-api-key".to_owned(), field("apiKey")),
            ]),
        }
    }

    /// Sends one request (a JSON body if any) with the credentials and `extra` headers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Timed {
        let mut headers: Vec<(String, String)> = self.auth.as_ref().clone();
        headers.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let body = body.map(|b| {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
            serde_json::to_vec(b).expect("serialise")
        });
        let (addr, method, path) = (self.addr, method.to_owned(), path.to_owned());
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            request_blocking(addr, &method, &path, &headers, body.as_deref())
        })
        .await
        .unwrap_or_else(|e| Err(format!("request task failed: {e}")));
        Timed {
            elapsed: started.elapsed(),
            result,
        }
    }
}

/// Every item of the caller, page by page (at most 100 pages of 100).
pub async fn list_all(api: &Api) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = "/v1/items?limit=100".to_owned();
    for _ in 0..100 {
        let r = api
            .call("GET", &path, None, &[])
            .await
            .result
            .expect("list");
        assert_eq!(r.status, 200, "list: {}", r.text());
        let page = r.json();
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/items?limit=100&cursor={cursor}"),
            None => return items,
        }
    }
    panic!("more than 100 pages of items");
}

/// An item as the API returns it, with every field present and of the right type.
pub fn assert_complete_item(item: &Value) {
    let s = |k: &str| item[k].as_str().is_some();
    assert!(
        s("id")
            && s("name")
            && s("description")
            && s("createdAt")
            && s("updatedAt")
            && item["version"].as_u64().is_some_and(|v| v >= 1)
            && item["tags"]
                .as_array()
                .is_some_and(|t| t.iter().all(Value::is_string)),
        "incomplete item: {item}"
    );
    assert_eq!(
        item.as_object().map(serde_json::Map::len),
        Some(7),
        "unexpected fields: {item}"
    );
}

/// The `p`-th percentile (0 < p ≤ 1) of some durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Milliseconds, for reports.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
