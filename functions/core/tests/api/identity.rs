//! The owner comes only from the authorizer's `sub` claim: no claim, no access, and one
//! caller's items are invisible to every other caller (the answer is the same as for a
//! missing item, so nothing leaks their existence).

use items_core::Route;

use crate::helpers::{EventExt, event, item_path, spawn_app};

#[tokio::test]
async fn a_request_without_a_verified_sub_is_401_on_every_route() {
    let app = spawn_app().await;
    let id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let cases = [
        (
            Route::CreateItem,
            event("POST", "/v1/items", "/v1/items", None).json(r#"{"name":"n"}"#),
        ),
        (
            Route::GetItem,
            event("GET", "/v1/items/{id}", &item_path(id), None).id(id),
        ),
        (
            Route::ListItems,
            event("GET", "/v1/items", "/v1/items", None),
        ),
        (
            Route::UpdateItem,
            event("PATCH", "/v1/items/{id}", &item_path(id), None)
                .id(id)
                .json(r#"{"name":"n"}"#),
        ),
        (
            Route::DeleteItem,
            event("DELETE", "/v1/items/{id}", &item_path(id), None).id(id),
        ),
    ];
    for (route, e) in cases {
        app.call(route, e)
            .await
            .assert_problem(401, route.function_name());
    }
    let bad_sub = event("GET", "/v1/items", "/v1/items", Some("USER#bob"));
    app.call(Route::ListItems, bad_sub)
        .await
        .assert_problem(401, "a sub that could break out of its key");
    assert!(app.scan_all().await.is_empty());
}

#[tokio::test]
async fn another_callers_item_answers_exactly_like_a_missing_one() {
    let app = spawn_app().await;
    let alices = app.create_named("alice", "private").await;
    let id = alices.id();
    let missing = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    let pairs = [
        (
            app.get("mallory", &id).await,
            app.get("mallory", missing).await,
            "get",
        ),
        (
            app.update("mallory", &id, None, r#"{"name":"pwned"}"#)
                .await,
            app.update("mallory", missing, None, r#"{"name":"pwned"}"#)
                .await,
            "update",
        ),
        (
            app.update("mallory", &id, Some("\"1\""), r#"{"name":"pwned"}"#)
                .await,
            app.update("mallory", missing, Some("\"1\""), r#"{"name":"pwned"}"#)
                .await,
            "update with If-Match",
        ),
        (
            app.delete("mallory", &id, None).await,
            app.delete("mallory", missing, None).await,
            "delete",
        ),
        (
            app.delete("mallory", &id, Some("\"1\"")).await,
            app.delete("mallory", missing, Some("\"1\"")).await,
            "delete with If-Match",
        ),
    ];
    for (theirs, absent, case) in pairs {
        theirs.assert_problem(404, case);
        let strip = |mut v: serde_json::Value| {
            v.as_object_mut().map(|o| o.remove("requestId"));
            v
        };
        assert_eq!(
            strip(theirs.body),
            strip(absent.body),
            "{case}: the answers differ"
        );
    }
    let list = app.list("mallory", &[]).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(0));
    let after = app.get("alice", &id).await;
    assert_eq!(after.body, alices.body, "alice's item is untouched");
}
