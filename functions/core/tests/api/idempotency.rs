//! `Idempotency-Key` on create: a retry never creates twice.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use items_core::Route;

use crate::helpers::{EventExt, TestApp, TestResponse, event, spawn_app};

async fn create_with_key(app: &TestApp, sub: &str, key: &str, body: &str) -> TestResponse {
    let e = event("POST", "/v1/items", "/v1/items", Some(sub))
        .json(body)
        .header("Idempotency-Key", key);
    app.call(Route::CreateItem, e).await
}

async fn items_in_table(app: &TestApp) -> usize {
    app.scan_all()
        .await
        .iter()
        .filter(|r| r["SK"].as_s().is_ok_and(|s| s.starts_with("ITEM#")))
        .count()
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_response() {
    let app = spawn_app().await;
    let first = create_with_key(&app, "alice", "order-1", r#"{"name":"once"}"#).await;
    assert_eq!(first.status, 201, "{}", first.body);

    let again = create_with_key(&app, "alice", "order-1", r#"{ "name" : "once" }"#).await;

    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "same item, same timestamps");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(items_in_table(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    create_with_key(&app, "alice", "k", r#"{"name":"one"}"#).await;
    create_with_key(&app, "alice", "k", r#"{"name":"two"}"#)
        .await
        .assert_problem(422, "different body");
    assert_eq!(items_in_table(&app).await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;
    let alice = create_with_key(&app, "alice", "shared", r#"{"name":"n"}"#).await;
    let bob = create_with_key(&app, "bob", "shared", r#"{"name":"n"}"#).await;
    assert_eq!((alice.status, bob.status), (201, 201));
    assert_ne!(
        alice.id(),
        bob.id(),
        "bob's key does not replay alice's item"
    );
}

#[tokio::test]
async fn a_request_in_progress_makes_a_duplicate_wait_with_409() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Alice's first attempt is running: its record is in progress.
    let fingerprint = {
        let serde_json::Value::Object(m) = serde_json::json!({"name": "n"}) else {
            unreachable!()
        };
        items_core::idempotency::fingerprint(&items_core::domain::NewItem::from_json(&m).unwrap())
    };
    app.client
        .put_item()
        .table_name(&app.table)
        .item("PK", AttributeValue::S("USER#alice".into()))
        .item("SK", AttributeValue::S("IDEMPOTENCY#busy".into()))
        .item("status", AttributeValue::S("IN_PROGRESS".into()))
        .item("fingerprint", AttributeValue::S(fingerprint))
        .item("inProgressUntil", AttributeValue::N((now + 60).to_string()))
        .item("expiresAt", AttributeValue::N((now + 3600).to_string()))
        .send()
        .await
        .unwrap();

    let r = create_with_key(&app, "alice", "busy", r#"{"name":"n"}"#).await;

    r.assert_problem(409, "in progress");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(items_in_table(&app).await, 0);
}

#[tokio::test]
async fn an_expired_or_abandoned_key_can_be_used_again() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (key, status, until, expires) in [
        ("expired", "COMPLETED", 0, now - 1),
        ("abandoned", "IN_PROGRESS", now - 1, now + 3600),
    ] {
        app.client
            .put_item()
            .table_name(&app.table)
            .item("PK", AttributeValue::S("USER#alice".into()))
            .item("SK", AttributeValue::S(format!("IDEMPOTENCY#{key}")))
            .item("status", AttributeValue::S(status.into()))
            .item("fingerprint", AttributeValue::S("old".into()))
            .item("inProgressUntil", AttributeValue::N(until.to_string()))
            .item("expiresAt", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .unwrap();
        let r = create_with_key(&app, "alice", key, r#"{"name":"fresh"}"#).await;
        assert_eq!(r.status, 201, "{key}: {}", r.body);
    }
    assert_eq!(items_in_table(&app).await, 2);
}

#[tokio::test]
async fn a_bad_key_is_400() {
    let app = spawn_app().await;
    let long = "k".repeat(129);
    for key in ["has space", "ä", long.as_str()] {
        let pointers = create_with_key(&app, "alice", key, r#"{"name":"n"}"#)
            .await
            .assert_problem(400, key);
        assert_eq!(pointers, vec!["Idempotency-Key".to_owned()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_create_exactly_one_item() {
    let app = Arc::new(spawn_app().await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let r = create_with_key(&app, "alice", "race", r#"{"name":"once"}"#).await;
                (r.status, r.body["id"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert!(status == 201 || status == 409, "got {status}");
        if status == 201 {
            ids.insert(id.unwrap());
        }
    }
    assert_eq!(ids.len(), 1, "every 201 names the same item: {ids:?}");
    assert_eq!(items_in_table(&app).await, 1);
}
