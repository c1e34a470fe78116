//! `Idempotency-Key` on create: a retry never creates twice.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use items_core::Route;
use items_core::clock::{Clock, SystemClock};
use items_core::domain::{NewItem, Owner};
use items_core::idempotency::{Fingerprint, IdempotencyKey, RECORD_TTL_SECONDS};
use items_core::store::record::{self, Record};

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
        .filter(|r| {
            r["SK"]
                .as_s()
                .is_ok_and(|s| s.starts_with(record::ITEM_PREFIX))
        })
        .count()
}

/// Writes an idempotency record of alice's as another request left it.
async fn put_record(app: &TestApp, record: Record) {
    app.client
        .put_item()
        .table_name(&app.table)
        .set_item(Some(record))
        .send()
        .await
        .unwrap();
}

fn alice() -> Owner {
    Owner::parse("alice").unwrap()
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).unwrap()
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
    let now = SystemClock.now().unix_seconds();
    // Alice's first attempt is running: its record is in progress.
    let fingerprint = {
        let serde_json::Value::Object(m) = serde_json::json!({"name": "n"}) else {
            unreachable!()
        };
        Fingerprint::of(&NewItem::from_json(&m).unwrap())
    };
    let state = record::KeyState::InProgress { until: now + 60 };
    let busy = record::idempotency_record(&alice(), &key("busy"), &fingerprint, state, now + 3600);
    put_record(&app, busy).await;

    let r = create_with_key(&app, "alice", "busy", r#"{"name":"n"}"#).await;

    r.assert_problem(409, "in progress");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(items_in_table(&app).await, 0);
}

#[tokio::test]
async fn an_expired_or_abandoned_key_can_be_used_again() {
    let app = spawn_app().await;
    let now = SystemClock.now().unix_seconds();
    for (k, status, until, expires) in [
        ("expired", record::COMPLETED, 0, now - 1),
        ("abandoned", record::IN_PROGRESS, now - 1, now + 3600),
    ] {
        let mut old = record::idempotency_key(&alice(), &key(k));
        old.extend([
            ("status".to_owned(), AttributeValue::S(status.into())),
            ("fingerprint".to_owned(), AttributeValue::S("old".into())),
            ("inProgressUntil".to_owned(), record::n(until)),
            (record::TTL_ATTRIBUTE.to_owned(), record::n(expires)),
        ]);
        put_record(&app, old).await;
        let r = create_with_key(&app, "alice", k, r#"{"name":"fresh"}"#).await;
        assert_eq!(r.status, 201, "{k}: {}", r.body);
    }
    assert_eq!(items_in_table(&app).await, 2);
}

#[tokio::test]
async fn a_completed_key_replays_for_a_day_and_then_creates_again() {
    let app = spawn_app().await;
    let body = r#"{"name":"daily"}"#;
    let first = create_with_key(&app, "alice", "daily", body).await;
    assert_eq!(first.status, 201, "{}", first.body);

    app.app
        .clock
        .advance(Duration::from_secs(RECORD_TTL_SECONDS - 60));
    let replayed = create_with_key(&app, "alice", "daily", body).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.id(), first.id());

    app.app.clock.advance(Duration::from_secs(120));
    let again = create_with_key(&app, "alice", "daily", body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_ne!(again.id(), first.id(), "an expired key creates anew");
    assert_eq!(items_in_table(&app).await, 2);
}

#[tokio::test]
async fn a_bad_key_is_400() {
    let app = spawn_app().await;
    let long = "k".repeat(items_core::idempotency::MAX_KEY_LEN + 1);
    for key in ["has space", "ä", long.as_str()] {
        let locations = create_with_key(&app, "alice", key, r#"{"name":"n"}"#)
            .await
            .assert_problem(400, key);
        assert_eq!(locations, vec!["header Idempotency-Key".to_owned()]);
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
