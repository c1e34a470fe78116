//! Test harness: each test starts the built `local-server` binary on a free port with its own
//! table in DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`), and talks to it over real HTTP.

use std::time::Duration;

use serde_json::Value;

pub use crate::common::{TestResponse, TestServer, secret};
use crate::common::{loopback_endpoint, spawn_server_with, try_request};

/// Starts a server with extra environment (e.g. tiny throttles) and the stage's own limits.
pub fn spawn_server(env: &[(&str, &str)]) -> TestServer {
    spawn_server_with(
        &loopback_endpoint(),
        "items-local-test",
        &[
            "LOCAL_THROTTLE_RATE",
            "LOCAL_THROTTLE_BURST",
            "LOCAL_USAGE_RATE",
            "LOCAL_USAGE_BURST",
            "LOCAL_QUOTA_LIMIT",
            "LOCAL_USER_LIMIT_REQUESTS",
            "LOCAL_USER_LIMIT_WINDOW",
        ],
        env,
    )
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
pub fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> TestResponse {
    try_request(
        server.addr,
        method,
        path,
        headers,
        body,
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
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
