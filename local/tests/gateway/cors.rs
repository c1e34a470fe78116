//! CORS over HTTP, as a browser meets it: the preflight, the functions' answers and the gateway's
//! own answers (401, 403, 429) to an allowed origin carry the headers a page needs to read them;
//! another origin gets none of the functions' and is refused by the preflight. The gateway's
//! answers with several allowed origins echo the request's Origin, as the stage's gateway
//! responses do (docs/STACK.md, "CORS").

use crate::common::TestResponse;
use crate::helpers::{credentials, request, spawn_server};

const ALLOWED: &str = "http://app.test:5173";
const ALSO: &str = "http://localhost:3000";
const OTHER: &str = "http://evil.test";
const EXPOSED: &str = "ETag,Location,Retry-After,Idempotent-Replayed";

fn assert_cors(r: &TestResponse, origin: &str, case: &str) {
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(origin),
        "{case}: {}",
        r.text()
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some(EXPOSED),
        "{case}"
    );
    assert!(
        r.header("vary").is_some_and(|v| v.contains("Origin")),
        "{case}: Vary: Origin"
    );
}

#[test]
fn an_allowed_origin_can_read_every_answer_and_another_origin_none_of_the_functions() {
    let origins = format!("{ALLOWED},{ALSO}");
    let server = spawn_server(&[("LOCAL_CORS_ALLOW_ORIGINS", &origins)]);
    let (token, key) = credentials(&server, "cors-user");
    let auth = |origin: &'static str| {
        vec![
            ("Origin", origin),
            ("Authorization", token.as_str()),
            ("x-api-key", key.as_str()),
        ]
    };

    // The preflight: the request's origin when allowed, the first allowed one otherwise.
    let pre = request(
        &server,
        "OPTIONS",
        "/v1/items/7f000001-0000-4000-8000-000000000001",
        &[
            ("Origin", ALLOWED),
            ("Access-Control-Request-Method", "PATCH"),
            (
                "Access-Control-Request-Headers",
                "authorization,if-match,x-api-key",
            ),
        ],
        None,
    );
    assert_eq!(pre.status, 204, "{}", pre.text());
    assert_eq!(pre.header("access-control-allow-origin"), Some(ALLOWED));
    let methods = pre
        .header("access-control-allow-methods")
        .unwrap_or_default();
    for m in ["GET", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = pre
        .header("access-control-allow-headers")
        .unwrap_or_default();
    for h in [
        "Authorization",
        "If-Match",
        "X-Api-Key",
        "Idempotency-Key",
        "Content-Type",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    let refused = request(
        &server,
        "OPTIONS",
        "/v1/items",
        &[("Origin", OTHER), ("Access-Control-Request-Method", "GET")],
        None,
    );
    assert_ne!(refused.header("access-control-allow-origin"), Some(OTHER));
    let unknown = request(
        &server,
        "OPTIONS",
        "/v2/nothing",
        &[("Origin", ALLOWED)],
        None,
    );
    assert_eq!(unknown.status, 404, "no preflight where no operation is");

    // The functions: 201 and a 4xx problem, to either allowed origin.
    let created = request(
        &server,
        "POST",
        "/v1/items",
        &[auth(ALLOWED), vec![("Content-Type", "application/json")]].concat(),
        Some(br#"{"name":"cors"}"#),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert_cors(&created, ALLOWED, "201 from create-item");
    let bad = request(&server, "GET", "/v1/items?limit=0", &auth(ALSO), None);
    assert_eq!(bad.status, 400);
    assert_cors(&bad, ALSO, "400 from list-items");

    // The gateway's own answers: 401 without a token, 403 with a bad key, 429 over the quota.
    let unauthorized = request(
        &server,
        "GET",
        "/v1/items",
        &[("Origin", ALLOWED), ("x-api-key", key.as_str())],
        None,
    );
    assert_eq!(unauthorized.status, 401);
    assert_cors(&unauthorized, ALLOWED, "401 from the authorizer");
    let forbidden = request(
        &server,
        "GET",
        "/v1/items",
        &[
            ("Origin", ALLOWED),
            ("Authorization", token.as_str()),
            ("x-api-key", "not-the-key-of-any-client-app"),
        ],
        None,
    );
    assert_eq!(forbidden.status, 403);
    assert_cors(&forbidden, ALLOWED, "403 for a bad API key");

    // Another origin: the functions' answers carry no CORS header at all.
    let other = request(&server, "GET", "/v1/items", &auth(OTHER), None);
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-expose-headers"), None);
    assert!(other.header("vary").is_some_and(|v| v.contains("Origin")));
}

#[test]
fn a_throttled_request_from_an_allowed_origin_is_readable_with_its_retry_after() {
    let server = spawn_server(&[
        ("LOCAL_CORS_ALLOW_ORIGINS", ALLOWED),
        ("LOCAL_QUOTA_LIMIT", "1"),
    ]);
    let (token, key) = credentials(&server, "cors-quota");
    let headers = [
        ("Origin", ALLOWED),
        ("Authorization", token.as_str()),
        ("x-api-key", key.as_str()),
    ];
    assert_eq!(
        request(&server, "GET", "/v1/items", &headers, None).status,
        200
    );
    let over = request(&server, "GET", "/v1/items", &headers, None);
    assert_eq!(over.status, 429, "{}", over.text());
    assert_cors(&over, ALLOWED, "429 over the quota");
    assert!(over.header("retry-after").is_some());
    // One allowed origin: the gateway names it, whoever asks.
    let elsewhere = request(
        &server,
        "GET",
        "/v1/items",
        &[
            ("Origin", OTHER),
            ("Authorization", token.as_str()),
            ("x-api-key", key.as_str()),
        ],
        None,
    );
    assert_eq!(elsewhere.status, 429);
    assert_eq!(
        elsewhere.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
}
