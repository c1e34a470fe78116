use std::sync::Arc;

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_patch_changes_only_the_given_fields_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app
        .create(
            "alice",
            r#"{"name":"old","description":"keep me","tags":["x"]}"#,
        )
        .await;
    let id = created.id();

    let r = app
        .update("alice", &id, Some("\"1\""), r#"{"name":"new","tags":[]}"#)
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(r.body["name"], "new");
    assert_eq!(r.body["description"], "keep me");
    assert_eq!(r.body["tags"], json!([]));
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["createdAt"], created.body["createdAt"]);
    assert!(r.body["updatedAt"].as_str() >= created.body["updatedAt"].as_str());
    assert_eq!(app.get("alice", &id).await.body, r.body);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.create_named("alice", "v1").await.id();
    app.update("alice", &id, Some("\"1\""), r#"{"name":"v2"}"#)
        .await;

    for tag in ["\"1\"", "W/\"2\"", "\"abc\""] {
        app.update("alice", &id, Some(tag), r#"{"name":"lost"}"#)
            .await
            .assert_problem(412, tag);
    }

    let now = app.get("alice", &id).await;
    assert_eq!(
        (now.body["name"].as_str(), now.etag().as_str()),
        (Some("v2"), "\"2\"")
    );
}

#[tokio::test]
async fn if_match_star_and_lists_are_honoured() {
    let app = spawn_app().await;
    let id = app.create_named("alice", "v1").await.id();
    assert_eq!(
        app.update("alice", &id, Some("*"), r#"{"name":"v2"}"#)
            .await
            .status,
        200
    );
    assert_eq!(
        app.update("alice", &id, Some("\"1\", \"2\""), r#"{"name":"v3"}"#)
            .await
            .status,
        200
    );
    assert_eq!(
        app.update("alice", &id, None, r#"{"name":"v4"}"#)
            .await
            .etag(),
        "\"4\""
    );
}

#[tokio::test]
async fn updating_a_missing_item_is_404_and_creates_nothing() {
    let app = spawn_app().await;
    let missing = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    app.update("alice", missing, None, r#"{"name":"n"}"#)
        .await
        .assert_problem(404, "no If-Match");
    app.update("alice", missing, Some("\"1\""), r#"{"name":"n"}"#)
        .await
        .assert_problem(404, "If-Match");
    assert!(app.scan_all().await.is_empty(), "no upsert");
}

#[tokio::test]
async fn bad_patches_are_400() {
    let app = spawn_app().await;
    let id = app.create_named("alice", "n").await.id();
    let cases = [
        (r#"{}"#, "empty patch"),
        (r#"{"name":null}"#, "null name"),
        (r#"{"version":9}"#, "server-owned field"),
        (r#"{"createdAt":"2020-01-01T00:00:00Z"}"#, "timestamp"),
        (r#"{"tags":"a"}"#, "tags not an array"),
    ];
    for (body, case) in cases {
        app.update("alice", &id, None, body)
            .await
            .assert_problem(400, case);
    }
    let locations = app
        .update("alice", &id, Some("3"), r#"{"name":"x"}"#)
        .await
        .assert_problem(400, "unquoted If-Match");
    assert_eq!(locations, vec!["header If-Match".to_owned()]);
    assert_eq!(
        app.get("alice", &id).await.etag(),
        "\"1\"",
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_with_the_same_if_match_let_exactly_one_win() {
    let app = Arc::new(spawn_app().await);
    let id = app.create_named("alice", "start").await.id();
    let writers = 12;

    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let app = Arc::clone(&app);
            let id = id.clone();
            tokio::spawn(async move {
                let body = json!({ "name": format!("writer {i}") }).to_string();
                let r = app.update("alice", &id, Some("\"1\""), &body).await;
                (i, r.status)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, status) = t.await.expect("task");
        match status {
            200 => winners.push(i),
            412 => {}
            other => panic!("writer {i} got {other}"),
        }
    }

    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let final_item = app.get("alice", &id).await;
    assert_eq!(final_item.etag(), "\"2\"");
    assert_eq!(
        final_item.body["name"],
        format!("writer {}", winners[0]),
        "the winner's write is the one stored"
    );
}
