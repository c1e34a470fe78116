//! No lost updates over HTTP: many clients read-modify-write one item with `If-Match`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Api, GENEROUS_LIMITS, one_at_a_time, shared_endpoint, spawn_server};

const CLIENTS: usize = 16;
/// Each client gives up after this many 412s (a bound, far above what contention needs).
const MAX_ATTEMPTS_PER_CLIENT: usize = 200;
const TIME_BOUND: Duration = Duration::from_secs(25);

#[derive(Debug)]
struct ClientOutcome {
    tag: String,
    successes: usize,
    retries: usize,
}

/// Read the item, add this client's tag, PATCH with `If-Match`; on 412 read again and retry.
async fn add_tag(api: Api, path: String, tag: String, deadline: Instant) -> ClientOutcome {
    let mut retries = 0;
    for _ in 0..MAX_ATTEMPTS_PER_CLIENT {
        assert!(
            Instant::now() < deadline,
            "{tag}: not done within {TIME_BOUND:?}"
        );
        let read = api.call("GET", &path, None, &[]).await.result.expect("GET");
        assert_eq!(read.status, 200, "{tag} GET: {}", read.text());
        let etag = read.header("etag").expect("ETag").to_owned();
        let mut tags: Vec<Value> = read.json()["tags"].as_array().expect("tags").clone();
        tags.push(json!(tag));
        let write = api
            .call(
                "PATCH",
                &path,
                Some(&json!({ "tags": tags })),
                &[("If-Match", &etag)],
            )
            .await
            .result
            .expect("PATCH");
        match write.status {
            200 => {
                return ClientOutcome {
                    tag,
                    successes: 1,
                    retries,
                };
            }
            412 => retries += 1,
            other => panic!("{tag} PATCH: unexpected {other}: {}", write.text()),
        }
    }
    panic!("{tag}: still 412 after {MAX_ATTEMPTS_PER_CLIENT} attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_if_match_updates_lose_no_tag_and_count_every_version() {
    let _serial = one_at_a_time();
    // Arrange
    let server = spawn_server(&shared_endpoint(), &GENEROUS_LIMITS);
    let api = Api::sign_in(&server, "lost-updates").await;
    let created = api
        .call(
            "POST",
            "/v1/items",
            Some(&json!({ "name": "contended" })),
            &[],
        )
        .await
        .result
        .expect("create");
    assert_eq!(created.status, 201, "{}", created.text());
    let path = format!("/v1/items/{}", created.json()["id"].as_str().expect("id"));

    // Act: every client at once.
    let deadline = Instant::now() + TIME_BOUND;
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(add_tag(
                api.clone(),
                path.clone(),
                format!("client-{i:02}"),
                deadline,
            ))
        })
        .collect();
    let mut outcomes = Vec::new();
    for c in clients {
        outcomes.push(c.await.expect("client task"));
    }
    let elapsed = started.elapsed();

    // Assert: every tag is there, and the version counts every successful PATCH.
    let last = api.call("GET", &path, None, &[]).await.result.expect("GET");
    assert_eq!(last.status, 200);
    let item = last.json();
    let tags: Vec<&str> = item["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let successes: usize = outcomes.iter().map(|o| o.successes).sum();
    let retries: usize = outcomes.iter().map(|o| o.retries).sum();
    let lost: Vec<&str> = outcomes
        .iter()
        .map(|o| o.tag.as_str())
        .filter(|t| !tags.contains(t))
        .collect();
    eprintln!(
        "lost updates: {CLIENTS} clients, {successes} successful PATCHes, {retries} retries on 412, \
         {} tags lost, final version {}, {:.0} ms",
        lost.len(),
        item["version"],
        elapsed.as_secs_f64() * 1000.0
    );
    assert!(lost.is_empty(), "tags lost: {lost:?} (item: {item})");
    assert_eq!(tags.len(), CLIENTS, "each tag exactly once: {item}");
    assert_eq!(successes, CLIENTS);
    assert_eq!(
        item["version"].as_u64(),
        Some(1 + successes as u64),
        "{item}"
    );
    assert_eq!(last.etag_version(), 1 + successes as u64);
}
