use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::helpers::spawn_app;

#[tokio::test]
async fn pages_walk_every_item_once_in_creation_order() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.create_named("alice", &format!("item {i}")).await.id());
    }
    app.create_named("bob", "not alice's").await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "3")];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let r = app.list("alice", &query).await;
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        let items = r.body["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(
        seen, created,
        "every item once, oldest first, none of bob's"
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
}

#[tokio::test]
async fn the_default_page_is_twenty_and_an_empty_list_has_no_cursor() {
    let app = spawn_app().await;
    let empty = app.list("alice", &[]).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["items"], serde_json::json!([]));
    assert!(empty.body["nextCursor"].is_null());

    for i in 0..21 {
        app.create_named("alice", &format!("n{i}")).await;
    }
    let page = app.list("alice", &[]).await;
    assert_eq!(page.body["items"].as_array().map(Vec::len), Some(20));
    assert!(page.body["nextCursor"].is_string());
}

#[tokio::test]
async fn bad_limits_are_400() {
    let app = spawn_app().await;
    for limit in ["0", "-1", "101", "1000000000", "abc", "", "1.5", "0x10"] {
        let locations = app
            .list("alice", &[("limit", limit)])
            .await
            .assert_problem(400, limit);
        assert_eq!(locations, vec!["parameter limit".to_owned()], "{limit}");
    }
    assert_eq!(app.list("alice", &[("limit", "100")]).await.status, 200);
}

#[tokio::test]
async fn cursors_cannot_be_forged_or_borrowed() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.create_named("bob", &format!("b{i}")).await;
        app.create_named("alice", &format!("a{i}")).await;
    }
    let bobs_page = app.list("bob", &[("limit", "1")]).await;
    let bobs_cursor = bobs_page.body["nextCursor"]
        .as_str()
        .expect("bob has more")
        .to_owned();

    let forged_partition = URL_SAFE_NO_PAD.encode(
        r#"{"v":1,"o":"0000000000000000","after":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","pk":"USER#bob"}"#,
    );
    let cases = [
        (bobs_cursor.as_str(), "bob's cursor used by alice"),
        (
            forged_partition.as_str(),
            "hand-made cursor naming bob's partition",
        ),
        ("not a cursor", "junk"),
        ("eyJ2IjoxfQ", "valid base64 JSON without the fields"),
    ];
    for (cursor, case) in cases {
        let locations = app
            .list("alice", &[("cursor", cursor)])
            .await
            .assert_problem(400, case);
        assert_eq!(locations, vec!["parameter cursor".to_owned()], "{case}");
    }
    let long = "A".repeat(600);
    app.list("alice", &[("cursor", &long)])
        .await
        .assert_problem(400, "too long");

    // Bob's own cursor still works for bob.
    assert_eq!(
        app.list("bob", &[("cursor", &bobs_cursor)]).await.status,
        200
    );
}
