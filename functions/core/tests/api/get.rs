use crate::helpers::spawn_app;

#[tokio::test]
async fn get_returns_the_item_with_its_etag() {
    let app = spawn_app().await;
    let created = app.create_named("alice", "Widget").await;

    let r = app.get("alice", &created.id()).await;

    assert_eq!(r.status, 200);
    assert_eq!(r.etag(), "\"1\"");
    assert_eq!(r.body, created.body);
}

#[tokio::test]
async fn a_missing_item_is_404() {
    let app = spawn_app().await;
    let r = app
        .get("alice", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        .await;
    r.assert_problem(404, "missing item");
}

#[tokio::test]
async fn bad_ids_are_400() {
    let app = spawn_app().await;
    let cases = [
        ("not-a-uuid", "junk"),
        ("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "uppercase"),
        ("..%2F..%2Fetc%2Fpasswd", "encoded traversal"),
        ("../../etc/passwd", "traversal"),
        ("", "empty"),
    ];
    for (id, case) in cases {
        let locations = app.get("alice", id).await.assert_problem(400, case);
        assert_eq!(locations, vec!["parameter id".to_owned()], "{case}");
    }
    let huge = "a".repeat(10_000);
    app.get("alice", &huge).await.assert_problem(400, "huge id");
}
