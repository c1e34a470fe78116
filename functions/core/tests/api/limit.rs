//! The per-user limit against DynamoDB Local: one count per `sub`, whatever the token; other
//! callers unaffected; a new window starts a new count; a refusal is a 429 problem with
//! `Retry-After` and writes nothing.

use std::time::Duration;

use items_core::clock::Clock;
use items_core::limit::UserLimit;
use items_core::store::record::{LIMIT_COUNT_ATTRIBUTE, LIMIT_PREFIX};

use crate::helpers::{EventExt, TestApp, event, spawn_app};
use items_core::Route;

const LIMIT: u32 = 3;
const WINDOW: u32 = 60;

/// A fresh app with the limit, its clock moved to the start of a window (give or take the
/// milliseconds since), so that no test's requests straddle two windows by chance.
async fn limited_app() -> TestApp {
    let mut app = spawn_app().await;
    let limit = UserLimit::new(LIMIT, WINDOW).expect("limit");
    app.app.user_limit = Some(limit);
    let now = app.app.clock.now();
    let end_ms = i64::try_from(limit.window(now).end * 1000).expect("ms");
    let left = u64::try_from(end_ms - now.unix_millis()).expect("the window is ahead");
    app.app.clock.advance(Duration::from_millis(left));
    app
}

/// A list request by `sub` carrying the ID token `token`, as the authorizer passes it on.
async fn list_with_token(app: &TestApp, sub: &str, token: &str) -> u16 {
    let e = event("GET", "/v1/items", "/v1/items", Some(sub)).header("Authorization", token);
    app.call(Route::ListItems, e).await.status
}

#[tokio::test]
async fn one_sub_shares_one_count_across_tokens_and_routes() {
    let app = limited_app().await;

    assert_eq!(
        list_with_token(&app, "alice", "token-from-first-sign-in").await,
        200
    );
    assert_eq!(
        list_with_token(&app, "alice", "token-after-refresh").await,
        200
    );
    let created = app.create("alice", r#"{"name":"third"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);

    let refused = app.get("alice", &created.id()).await;
    refused.assert_problem(429, "the fourth request in the window");
    assert_eq!(
        list_with_token(&app, "alice", "yet-another-token").await,
        429,
        "a new token does not reset the count"
    );
}

#[tokio::test]
async fn another_sub_is_not_affected() {
    let app = limited_app().await;
    for _ in 0..LIMIT {
        assert_eq!(list_with_token(&app, "alice", "a").await, 200);
    }
    assert_eq!(list_with_token(&app, "alice", "a").await, 429);

    for n in 0..LIMIT {
        assert_eq!(
            list_with_token(&app, "bob", "b").await,
            200,
            "bob's request {n}"
        );
    }
}

#[tokio::test]
async fn the_count_starts_again_in_the_next_window() {
    let app = limited_app().await;
    for _ in 0..LIMIT {
        assert_eq!(list_with_token(&app, "alice", "a").await, 200);
    }
    assert_eq!(list_with_token(&app, "alice", "a").await, 429);

    app.app
        .clock
        .advance(Duration::from_secs(u64::from(WINDOW)));

    for n in 0..LIMIT {
        assert_eq!(
            list_with_token(&app, "alice", "a").await,
            200,
            "request {n} of the new window"
        );
    }
    assert_eq!(list_with_token(&app, "alice", "a").await, 429);
}

#[tokio::test]
async fn a_refusal_is_problem_json_with_the_seconds_left_in_the_window() {
    let app = limited_app().await;
    for _ in 0..LIMIT {
        assert_eq!(list_with_token(&app, "alice", "a").await, 200);
    }
    let limit = UserLimit::new(LIMIT, WINDOW).expect("limit");
    let before = app.app.clock.now();

    let r = app.list("alice", &[]).await;

    let after = app.app.clock.now();
    r.assert_problem(429, "over the limit");
    assert_eq!(
        r.body["type"],
        "urn:problem:secure-serverless-backend:user-rate-limited"
    );
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3 requests every 60 seconds"))
    );
    let retry_after: u32 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    let (latest, earliest) = (
        limit.window(before).retry_after(before),
        limit.window(after).retry_after(after),
    );
    assert!(
        (earliest.min(latest)..=latest.max(earliest)).contains(&retry_after) && retry_after >= 1,
        "Retry-After {retry_after} is not the time left ({earliest}..{latest})"
    );
}

#[tokio::test]
async fn a_refused_request_writes_nothing() {
    let app = limited_app().await;
    for n in 0..LIMIT {
        app.create_named("alice", &format!("item {n}")).await;
    }
    let before = app.scan_all().await;

    let refused = app.create("alice", r#"{"name":"one too many"}"#).await;
    refused.assert_problem(429, "over the limit");
    let keyed = app.create("alice", r#"{"name":"keyed"}"#).await;
    keyed.assert_problem(429, "over the limit again");

    let mut after = app.scan_all().await;
    let key = |r: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        format!("{:?}{:?}", r["PK"], r["SK"])
    };
    let mut before_sorted = before.clone();
    before_sorted.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(after, before_sorted, "the table is exactly as it was");
    let counters: Vec<_> = after
        .iter()
        .filter(|r| r["PK"].as_s().is_ok_and(|pk| pk.starts_with(LIMIT_PREFIX)))
        .collect();
    assert_eq!(counters.len(), 1, "one counter for alice's window");
    assert_eq!(
        counters[0][LIMIT_COUNT_ATTRIBUTE]
            .as_n()
            .map(String::as_str),
        Ok("3"),
        "the counter stops at the limit"
    );
    assert!(counters[0].contains_key("expiresAt"), "the counter expires");
}
