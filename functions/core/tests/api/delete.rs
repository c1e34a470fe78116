use crate::helpers::spawn_app;

#[tokio::test]
async fn delete_is_204_then_the_item_is_gone() {
    let app = spawn_app().await;
    let id = app.create_named("alice", "doomed").await.id();

    let r = app.delete("alice", &id, None).await;

    assert_eq!(r.status, 204);
    assert!(r.body.is_null(), "no body");
    app.get("alice", &id)
        .await
        .assert_problem(404, "after delete");
    app.delete("alice", &id, None)
        .await
        .assert_problem(404, "second delete");
}

#[tokio::test]
async fn delete_honours_if_match() {
    let app = spawn_app().await;
    let id = app.create_named("alice", "v1").await.id();
    app.update("alice", &id, None, r#"{"name":"v2"}"#).await;

    app.delete("alice", &id, Some("\"1\""))
        .await
        .assert_problem(412, "stale");
    assert_eq!(
        app.get("alice", &id).await.status,
        200,
        "a failed delete deletes nothing"
    );
    assert_eq!(app.delete("alice", &id, Some("\"2\"")).await.status, 204);
}

#[tokio::test]
async fn deleting_with_a_bad_id_is_400() {
    let app = spawn_app().await;
    app.delete("alice", "nope", None)
        .await
        .assert_problem(400, "bad id");
}
