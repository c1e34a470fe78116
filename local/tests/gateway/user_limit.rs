//! The per-user limit over HTTP, as local mode enforces it from the stage's `userLimit`: the
//! count belongs to the token's `sub`, so a second token of the same user shares it.

use crate::helpers::{credentials, request, spawn_server};

#[test]
fn one_sub_with_two_tokens_shares_one_count_and_another_sub_has_its_own() {
    // A day-long window, so that the test's few requests never straddle two windows.
    let server = spawn_server(&[
        ("LOCAL_USER_LIMIT_REQUESTS", "3"),
        ("LOCAL_USER_LIMIT_WINDOW", "86400"),
    ]);
    let (first, key) = credentials(&server, "alice");
    let (second, _) = credentials(&server, "alice");
    assert_ne!(first, second, "two different tokens of one user");
    let list = |token: &str| {
        request(
            &server,
            "GET",
            "/v1/items",
            &[("Authorization", token), ("x-api-key", &key)],
            None,
        )
    };

    for (n, token) in [&first, &second, &first].into_iter().enumerate() {
        let r = list(token);
        assert_eq!(r.status, 200, "request {n}: {}", r.text());
    }
    let refused = list(&second);

    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let body = refused.json();
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:user-rate-limited"
    );
    let retry_after: u32 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let (bobs, _) = credentials(&server, "bob");
    assert_eq!(list(&bobs).status, 200, "bob has a count of his own");
}
