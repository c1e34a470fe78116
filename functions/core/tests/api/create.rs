use serde_json::json;

use crate::helpers::{EventExt, event, spawn_app};
use items_core::Route;

#[tokio::test]
async fn create_returns_201_with_location_etag_and_the_item() {
    let app = spawn_app().await;

    let r = app
        .create(
            "alice",
            r#"{"name":"Widget","description":"A thing","tags":["a","b"]}"#,
        )
        .await;

    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    assert_eq!(
        r.header("location"),
        Some(format!("/test/v1/items/{id}").as_str())
    );
    assert_eq!(r.etag(), "\"1\"");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body["name"], "Widget");
    assert_eq!(r.body["tags"], json!(["a", "b"]));
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["createdAt"], r.body["updatedAt"]);
    let stored = app.get("alice", &id).await;
    assert_eq!(
        stored.body, r.body,
        "what create returns is what was stored"
    );
}

#[tokio::test]
async fn the_server_makes_time_ordered_ids() {
    let app = spawn_app().await;
    let first = app.create_named("alice", "one").await.id();
    let second = app.create_named("alice", "two").await.id();
    assert_ne!(first, second);
    assert!(
        first < second,
        "UUIDv7 ids sort by creation: {first} < {second}"
    );
    assert_eq!(&first[14..15], "7", "a version-7 UUID: {first}");
}

#[tokio::test]
async fn bad_bodies_are_rejected_with_a_pointer_and_nothing_is_written() {
    let app = spawn_app().await;
    let long = "x".repeat(201);
    let too_many_tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let cases: Vec<(String, u16, Option<&str>, &str)> = vec![
        (r#"{}"#.into(), 400, Some("/name"), "name missing"),
        (r#"{"name":""}"#.into(), 400, Some("/name"), "empty name"),
        (
            format!(r#"{{"name":"{long}"}}"#),
            400,
            Some("/name"),
            "name too long",
        ),
        (
            r#"{"name":5}"#.into(),
            400,
            Some("/name"),
            "name of the wrong type",
        ),
        (
            r#"{"name":"n","tags":["a","a"]}"#.into(),
            400,
            Some("/tags/1"),
            "duplicate tags",
        ),
        (
            json!({"name":"n","tags":too_many_tags}).to_string(),
            400,
            Some("/tags"),
            "21 tags",
        ),
        (
            r#"{"name":"n","id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}"#.into(),
            400,
            Some("/id"),
            "client-chosen id",
        ),
        (
            r#"{"name":"n","owner":"bob"}"#.into(),
            400,
            Some("/owner"),
            "client-chosen owner",
        ),
        (
            r#"{"name":"n","version":7}"#.into(),
            400,
            Some("/version"),
            "client-chosen version",
        ),
        (r#"{"name":"#.into(), 400, None, "truncated JSON"),
        (
            r#"{"name":"a","name":"b"}"#.into(),
            400,
            None,
            "duplicate key",
        ),
        (r#"["name"]"#.into(), 400, None, "not an object"),
        ("null".into(), 400, None, "null"),
    ];
    for (body, status, pointer, case) in cases {
        let r = app.create("alice", &body).await;
        let locations = r.assert_problem(status, case);
        if let Some(p) = pointer {
            assert!(
                locations.contains(&format!("pointer {p}")),
                "{case}: {p} not in {locations:?}"
            );
            assert!(
                locations.iter().all(|l| l.starts_with("pointer /")),
                "{case}: a body field is located by a pointer starting with /: {locations:?}"
            );
        }
    }
    assert!(
        app.scan_all().await.is_empty(),
        "a rejected create wrote nothing"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_415_and_a_huge_one_413() {
    let app = spawn_app().await;
    let text =
        event("POST", "/v1/items", "/v1/items", Some("alice")).header("Content-Type", "text/plain");
    let mut text = text;
    text.body = Some("name=x".into());
    app.call(Route::CreateItem, text)
        .await
        .assert_problem(415, "text/plain");

    let huge = format!(
        r#"{{"name":"n","description":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    app.create("alice", &huge)
        .await
        .assert_problem(413, "70 KiB body");
}

#[tokio::test]
async fn strings_are_stored_verbatim_and_limits_count_characters() {
    let app = spawn_app().await;
    let cases = [
        "Robert'); DROP TABLE items;--",
        "<script>alert(1)</script>",
        "{{7*7}} ${jndi:ldap://x}",
        "名前ü🦀",
    ];
    for name in cases {
        let r = app.create_named("alice", name).await;
        let back = app.get("alice", &r.id()).await;
        assert_eq!(back.body["name"], name);
    }
    let crabs = "🦀".repeat(200);
    app.create_named("alice", &crabs).await;
}
