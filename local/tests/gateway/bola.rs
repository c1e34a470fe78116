//! Broken object-level authorization (OWASP API1), over real HTTP: a second user tries every
//! route on the first user's item. Each answer must be exactly what a missing item gets (same
//! status, headers, problem type, title, detail and errors; only the request id differs), so
//! nothing tells "someone else's" from "absent"; and the first user's item is unchanged after.

use serde_json::{Value, json};

use crate::helpers::{TestResponse, TestServer, credentials, spawn_server};
use crate::hostile::{Req, assert_well_formed, req, send};

/// Builds one route's request for an item id.
type MakeRequest = fn(&str) -> Req;

struct User {
    token: String,
    key: String,
}

fn user(server: &TestServer, sub: &str) -> User {
    let (token, key) = credentials(server, sub);
    User { token, key }
}

fn call(server: &TestServer, u: &User, r: &Req) -> TestResponse {
    send(server, &u.token, &u.key, r).expect("the server answered")
}

fn create(server: &TestServer, u: &User, name: &str) -> Value {
    let r = call(
        server,
        u,
        &req("POST", "/v1/items")
            .header("Content-Type", "application/json")
            .body(json!({"name": name, "description": "private", "tags": ["mine"]}).to_string()),
    );
    assert_eq!(r.status, 201, "create: {}", r.text());
    r.json()
}

/// Everything an answer tells the client, except the request id: status, headers (but
/// `x-amzn-RequestId`) and the body without `requestId`.
fn observable(r: &TestResponse) -> (u16, Vec<(String, String)>, Value) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("x-amzn-requestid") && !k.eq_ignore_ascii_case("date")
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    headers.sort();
    let mut body: Value = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    if let Some(o) = body.as_object_mut() {
        o.remove("requestId");
    }
    (r.status, headers, body)
}

fn patch(id: &str, if_match: Option<&str>) -> Req {
    let r = req("PATCH", format!("/v1/items/{id}"))
        .header("Content-Type", "application/json")
        .body(json!({"name": "taken over", "tags": []}).to_string());
    match if_match {
        Some(v) => r.header("If-Match", v),
        None => r,
    }
}

fn delete(id: &str, if_match: Option<&str>) -> Req {
    let r = req("DELETE", format!("/v1/items/{id}"));
    match if_match {
        Some(v) => r.header("If-Match", v),
        None => r,
    }
}

#[test]
fn another_users_item_answers_exactly_as_a_missing_one_on_every_route_and_stays_unchanged() {
    let server = spawn_server(&[
        ("LOCAL_NO_METHOD_THROTTLES", "1"),
        ("LOCAL_THROTTLE_BURST", "10000"),
        ("LOCAL_THROTTLE_RATE", "10000"),
        ("LOCAL_USAGE_BURST", "10000"),
        ("LOCAL_USAGE_RATE", "10000"),
        ("LOCAL_USER_LIMIT_REQUESTS", "1000000"),
    ]);
    let alice = user(&server, "alice");
    let bob = user(&server, "bob");
    let target = create(&server, &alice, "alice's secret");
    let id = target["id"].as_str().expect("id").to_owned();
    let before = call(&server, &alice, &req("GET", format!("/v1/items/{id}")));
    assert_eq!(before.status, 200, "{}", before.text());

    // Two kinds of missing for bob: an id nobody ever had, and one of his own that he deleted.
    let never = "00000000-0000-7000-8000-000000000000".to_owned();
    let gone = create(&server, &bob, "short-lived")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = call(&server, &bob, &delete(&gone, None));
    assert_eq!(r.status, 204, "{}", r.text());

    let routes: Vec<(&str, MakeRequest)> = vec![
        ("GET", |id| req("GET", format!("/v1/items/{id}"))),
        ("PATCH without If-Match", |id| patch(id, None)),
        (
            "PATCH with If-Match of the item's real version \"1\"",
            |id| patch(id, Some("\"1\"")),
        ),
        ("PATCH with a stale If-Match \"7\"", |id| {
            patch(id, Some("\"7\""))
        }),
        ("PATCH with If-Match *", |id| patch(id, Some("*"))),
        ("DELETE without If-Match", |id| delete(id, None)),
        (
            "DELETE with If-Match of the item's real version \"1\"",
            |id| delete(id, Some("\"1\"")),
        ),
        ("DELETE with a stale If-Match \"7\"", |id| {
            delete(id, Some("\"7\""))
        }),
        ("DELETE with If-Match *", |id| delete(id, Some("*"))),
    ];
    for (case, make) in &routes {
        let theirs = call(&server, &bob, &make(&id));
        let never_was = call(&server, &bob, &make(&never));
        let deleted = call(&server, &bob, &make(&gone));
        for r in [&theirs, &never_was, &deleted] {
            assert_well_formed(r, case);
        }
        assert_eq!(
            theirs.status,
            404,
            "{case}: bob on alice's item: {}",
            theirs.text()
        );
        assert_eq!(
            observable(&theirs),
            observable(&never_was),
            "{case}: alice's item and an id nobody had answer differently"
        );
        assert_eq!(
            observable(&theirs),
            observable(&deleted),
            "{case}: alice's item and bob's deleted item answer differently"
        );
        assert_ne!(
            theirs.header("x-amzn-requestid"),
            never_was.header("x-amzn-requestid"),
            "{case}: request ids are per request"
        );
    }

    // Listing: alice's cursor in bob's hands is refused exactly as a cursor of a third user's,
    // and bob's own pages never hold alice's items.
    create(&server, &alice, "alice's second");
    let carol = user(&server, "carol");
    create(&server, &carol, "carol's one");
    create(&server, &carol, "carol's two");
    let cursor_of = |u: &User| {
        let r = call(&server, u, &req("GET", "/v1/items?limit=1"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["nextCursor"]
            .as_str()
            .expect("a next page")
            .to_owned()
    };
    let alices = cursor_of(&alice);
    let carols = cursor_of(&carol);
    let with_alices = call(
        &server,
        &bob,
        &req("GET", format!("/v1/items?cursor={alices}")),
    );
    let with_carols = call(
        &server,
        &bob,
        &req("GET", format!("/v1/items?cursor={carols}")),
    );
    assert_well_formed(&with_alices, "list with alice's cursor");
    assert_eq!(
        with_alices.status,
        400,
        "list with alice's cursor: {}",
        with_alices.text()
    );
    assert_eq!(
        observable(&with_alices),
        observable(&with_carols),
        "alice's cursor and carol's cursor answer bob differently"
    );
    let bobs = call(&server, &bob, &req("GET", "/v1/items?limit=100"));
    assert_eq!(bobs.status, 200);
    assert_eq!(
        bobs.json()["items"],
        json!([]),
        "bob sees only his own (none left)"
    );

    // Alice's item is exactly as it was: same body, same ETag.
    let after = call(&server, &alice, &req("GET", format!("/v1/items/{id}")));
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(after.json(), before.json(), "alice's item changed");
    assert_eq!(after.header("etag"), before.header("etag"));
    assert_eq!(after.header("etag"), Some("\"1\""));
}

#[test]
fn an_idempotency_key_is_per_user_and_never_replays_another_users_item() {
    let server = spawn_server(&[]);
    let alice = user(&server, "alice");
    let bob = user(&server, "bob");
    let post = || {
        req("POST", "/v1/items")
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", "shared-key-1")
            .body(json!({"name": "same body"}).to_string())
    };
    let a = call(&server, &alice, &post());
    assert_eq!(a.status, 201, "{}", a.text());
    let b = call(&server, &bob, &post());
    assert_eq!(b.status, 201, "{}", b.text());
    assert_eq!(
        b.header("idempotent-replayed"),
        None,
        "bob got alice's replay"
    );
    assert_ne!(
        a.json()["id"],
        b.json()["id"],
        "bob was handed alice's item"
    );
    // Bob cannot read alice's item through the Location he did not get either.
    let location = a.header("location").expect("Location");
    let r = call(&server, &bob, &req("GET", location));
    assert_eq!(r.status, 404, "{}", r.text());
}
