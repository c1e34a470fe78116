//! API Gateway's behaviour in front of the functions, over real HTTP: the authorizer, the API
//! key, routing, the request validator, payload size, throttling and quotas, and the local
//! credentials route. Table-driven, with a message per case.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use local_server::identity::{AUDIENCE, ISSUER, Identity, now_seconds};
use serde_json::{Value, json};

use crate::helpers::{
    TestServer, assert_gateway_problem, credentials, request, secret, spawn_server,
};

fn signer() -> Identity {
    Identity::from_secret(&secret(), ["web"]).expect("identity")
}

fn claims(sub: &str) -> Value {
    Identity::id_token_claims(sub, now_seconds())
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn list(
    server: &TestServer,
    token: Option<&str>,
    key: Option<&str>,
) -> crate::helpers::TestResponse {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("Authorization", t));
    }
    if let Some(k) = key {
        headers.push(("x-api-key", k));
    }
    request(server, "GET", "/v1/items", &headers, None)
}

#[test]
fn the_authorizer_refuses_every_bad_token_with_401() {
    let server = spawn_server(&[]);
    let (good, key) = credentials(&server, "alice");
    let s = signer();
    let now = now_seconds();
    let other_key = Identity::from_secret(&[9u8; 32], ["web"]).expect("identity");
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims("alice"))
    );
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims("alice"),
        &EncodingKey::from_secret(&secret()).expect("key"),
    )
    .expect("hs512");
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = b64(&claims("mallory"));
        parts.join(".")
    };
    let sign = |c: Value| s.sign(&c).expect("sign");
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no Authorization header", None, "Unauthorized"),
        (
            "an empty Authorization header",
            Some(String::new()),
            "Unauthorized",
        ),
        ("not a JWT", Some("not-a-jwt".into()), "Unauthorized"),
        (
            "a bearer prefix on garbage",
            Some("Bearer abc.def.ghi".into()),
            "Unauthorized",
        ),
        (
            "signed by another key",
            Some(other_key.issue("alice").expect("t")),
            "Unauthorized",
        ),
        (
            "claims changed after signing",
            Some(tampered),
            "Unauthorized",
        ),
        (
            "expired",
            Some(sign(with(claims("alice"), "exp", json!(now - 10)))),
            "The incoming token has expired",
        ),
        (
            "not yet valid",
            Some(sign(with(claims("alice"), "nbf", json!(now + 600)))),
            "Unauthorized",
        ),
        (
            "another audience",
            Some(sign(with(claims("alice"), "aud", json!("someone-else")))),
            "Unauthorized",
        ),
        (
            "another issuer",
            Some(sign(with(
                claims("alice"),
                "iss",
                json!("https://evil.example"),
            ))),
            "Unauthorized",
        ),
        (
            "an access token",
            Some(sign(with(claims("alice"), "token_use", json!("access")))),
            "Unauthorized",
        ),
        (
            "no token_use",
            Some(sign(without(claims("alice"), "token_use"))),
            "Unauthorized",
        ),
        (
            "no sub",
            Some(sign(without(claims("alice"), "sub"))),
            "Unauthorized",
        ),
        (
            "an empty sub",
            Some(sign(with(claims("alice"), "sub", json!("")))),
            "Unauthorized",
        ),
        (
            "no exp",
            Some(sign(without(claims("alice"), "exp"))),
            "Unauthorized",
        ),
        ("alg none", Some(alg_none), "Unauthorized"),
        (
            "HS512 instead of the local HS256",
            Some(hs512),
            "Unauthorized",
        ),
    ];
    for (case, token, detail) in cases {
        let r = list(&server, token.as_deref(), Some(&key));
        let body = assert_gateway_problem(&r, 401, case);
        assert_eq!(body["detail"], detail, "{case}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("UnauthorizedException"),
            "{case}"
        );
    }
    // And the control: the same server accepts a good token, and one signed here too.
    assert_eq!(
        list(&server, Some(&good), Some(&key)).status,
        200,
        "the issued token"
    );
    let own = sign(claims("alice"));
    assert_eq!(
        list(&server, Some(&own), Some(&key)).status,
        200,
        "a well-made token"
    );
    assert_eq!(ISSUER, claims("x")["iss"]);
    assert_eq!(AUDIENCE, claims("x")["aud"]);
}

#[test]
fn the_authorizer_takes_the_token_raw_or_as_bearer_in_any_case() {
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    for (case, value) in [
        ("the raw token", token.clone()),
        ("Bearer <token>", format!("Bearer {token}")),
        ("bearer <token>", format!("bearer {token}")),
        ("BEARER <token>, two spaces", format!("BEARER  {token}")),
    ] {
        let r = list(&server, Some(&value), Some(&key));
        assert_eq!(r.status, 200, "{case}: {}", r.text());
    }
    // A Bearer token that is not good gets the same 401 as a raw one.
    let tampered = format!("{token}x");
    for (case, value) in [
        ("Bearer and nothing", "Bearer".to_owned()),
        ("Bearer and a space", "Bearer ".to_owned()),
        ("Bearer on a bad signature", format!("Bearer {tampered}")),
        ("Bearer twice", format!("Bearer Bearer {token}")),
        ("another scheme", format!("Basic {token}")),
        ("no space after Bearer", format!("Bearer{token}")),
    ] {
        let r = list(&server, Some(&value), Some(&key));
        let body = assert_gateway_problem(&r, 401, case);
        assert_eq!(body["detail"], "Unauthorized", "{case}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("UnauthorizedException"),
            "{case}"
        );
    }
}

#[test]
fn a_missing_or_wrong_api_key_is_403() {
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    // The issued key with its last character changed (to one it cannot already be).
    let last = if key.ends_with('x') { 'y' } else { 'x' };
    let wrong = format!("{}{last}", &key[..key.len() - 1]);
    for (case, k) in [
        ("no x-api-key", None),
        ("an empty x-api-key", Some("")),
        ("a key the server never issued", Some(wrong.as_str())),
    ] {
        let r = list(&server, Some(&token), k);
        let body = assert_gateway_problem(&r, 403, case);
        assert_eq!(body["detail"], "Forbidden", "{case}");
    }
}

#[test]
fn unknown_routes_and_methods_are_404_problems() {
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    let auth = [
        ("Authorization", token.as_str()),
        ("x-api-key", key.as_str()),
    ];
    for (case, method, path) in [
        ("an unknown path under /v1", "GET", "/v1/nope"),
        ("a path outside /v1", "GET", "/items"),
        ("the root", "GET", "/"),
        ("a deeper item path", "GET", "/v1/items/a/b"),
        ("PUT on the collection", "PUT", "/v1/items"),
        ("DELETE on the collection", "DELETE", "/v1/items"),
        (
            "POST on an item",
            "POST",
            "/v1/items/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        ),
        ("OPTIONS where no operation is", "OPTIONS", "/v1/other"),
    ] {
        // Without credentials too: routing comes before the authorizer.
        for headers in [&auth[..], &[][..]] {
            let r = request(&server, method, path, headers, None);
            let body = assert_gateway_problem(&r, 404, case);
            assert_eq!(body["detail"], "no such route", "{case}");
            assert_eq!(
                body["type"], "urn:problem:secure-serverless-backend:not-found",
                "{case}"
            );
        }
    }
}

#[test]
fn bodies_that_fail_the_model_are_400_with_the_reason() {
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    let json_headers = [
        ("Authorization", token.as_str()),
        ("x-api-key", key.as_str()),
        ("Content-Type", "application/json"),
    ];
    let long = "n".repeat(201);
    let long_body = json!({ "name": long }).to_string();
    for (case, method, body, mentions) in [
        (
            "an unknown field",
            "POST",
            r#"{"name":"a","owner":"bob"}"#,
            "owner",
        ),
        ("no name", "POST", r#"{"description":"x"}"#, "name"),
        ("a name too long", "POST", long_body.as_str(), "/name"),
        (
            "tags not an array",
            "POST",
            r#"{"name":"a","tags":"x"}"#,
            "/tags",
        ),
        ("not an object", "POST", r#"["a"]"#, "object"),
        ("not JSON", "POST", r#"{"name":"#, "not valid JSON"),
        ("an empty patch", "PATCH", "{}", "property"),
        (
            "a patch writing the version",
            "PATCH",
            r#"{"version":3}"#,
            "version",
        ),
    ] {
        let path = if method == "POST" {
            "/v1/items".to_owned()
        } else {
            "/v1/items/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_owned()
        };
        let r = request(&server, method, &path, &json_headers, Some(body.as_bytes()));
        let problem = assert_gateway_problem(&r, 400, case);
        let detail = problem["detail"].as_str().expect("a detail");
        assert!(detail.contains(mentions), "{case}: {detail}");
        assert!(
            !detail.contains(&long),
            "{case}: the detail echoes the value"
        );
        assert_eq!(
            problem["type"],
            "urn:problem:secure-serverless-backend:validation-failed"
        );
    }
    // Without a Content-Type the model still applies (API Gateway assumes application/json).
    let r = request(
        &server,
        "POST",
        "/v1/items",
        &json_headers[..2],
        Some(br#"{"name":"a","owner":"bob"}"#),
    );
    assert_gateway_problem(&r, 400, "no Content-Type");
}

#[test]
fn a_body_over_10_mb_is_413() {
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    let too_long = (10 * 1024 * 1024 + 1).to_string();
    let r = request(
        &server,
        "POST",
        "/v1/items",
        &[
            ("Authorization", &token),
            ("x-api-key", &key),
            ("Content-Type", "application/json"),
            ("Content-Length", &too_long),
        ],
        None,
    );
    assert_gateway_problem(&r, 413, "Content-Length over 10 MB");
}

#[test]
fn stage_throttling_answers_429_before_routing() {
    let server = spawn_server(&[
        ("LOCAL_THROTTLE_BURST", "3"),
        ("LOCAL_THROTTLE_RATE", "0.001"),
    ]);
    // The credentials route is not part of the API and is not throttled.
    let (token, key) = credentials(&server, "alice");
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            if i % 2 == 0 {
                request(&server, "GET", "/v1/nope", &[], None).status
            } else {
                list(&server, Some(&token), Some(&key)).status
            }
        })
        .collect();
    assert_eq!(
        statuses,
        [404, 200, 404, 429, 429],
        "a burst of 3, then nothing"
    );
    let r = request(&server, "GET", "/v1/nope", &[], None);
    let body = assert_gateway_problem(&r, 429, "stage throttle");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:too-many-requests"
    );
    assert_eq!(body["detail"], "Too Many Requests");
    assert_eq!(
        r.header("retry-after"),
        Some("1"),
        "as the stack's THROTTLED"
    );
}

#[test]
fn the_usage_plan_throttles_per_key_after_auth() {
    let server = spawn_server(&[("LOCAL_USAGE_BURST", "2"), ("LOCAL_USAGE_RATE", "0.001")]);
    let (token, key) = credentials(&server, "alice");
    // Requests refused before the usage plan (a bad token) do not use it up.
    assert_eq!(list(&server, Some("bad"), Some(&key)).status, 401);
    let statuses: Vec<u16> = (0..3)
        .map(|_| list(&server, Some(&token), Some(&key)).status)
        .collect();
    assert_eq!(statuses, [200, 200, 429], "a burst of 2 per key");
    let r = list(&server, Some(&token), Some(&key));
    let body = assert_gateway_problem(&r, 429, "key throttle");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:too-many-requests"
    );
    assert_eq!(
        r.header("retry-after"),
        Some("1"),
        "as the stack's THROTTLED"
    );
}

#[test]
fn the_usage_plan_quota_answers_429_quota_exceeded() {
    let server = spawn_server(&[("LOCAL_QUOTA_LIMIT", "2")]);
    let (token, key) = credentials(&server, "alice");
    let statuses: Vec<u16> = (0..3)
        .map(|_| list(&server, Some(&token), Some(&key)).status)
        .collect();
    assert_eq!(statuses, [200, 200, 429], "a quota of 2");
    let r = list(&server, Some(&token), Some(&key));
    let body = assert_gateway_problem(&r, 429, "quota");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:quota-exceeded"
    );
    assert_eq!(body["detail"], "Limit Exceeded");
    assert_eq!(
        r.header("retry-after"),
        Some("3600"),
        "as the stack's QUOTA_EXCEEDED"
    );
}

#[test]
fn the_credentials_route_issues_working_credentials_for_plausible_names_only() {
    let server = spawn_server(&[]);
    let r = request(
        &server,
        "GET",
        "/_local/credentials?sub=alice@example.com",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-amzn-requestid").is_some());
    let v = r.json();
    assert_eq!(v["sub"], "alice@example.com");
    assert_eq!(v["expiresIn"], 3600);
    let (token, key) = (
        v["idToken"].as_str().unwrap(),
        v["apiKey"].as_str().unwrap(),
    );
    assert_eq!(key.len(), 40);
    assert_eq!(
        list(&server, Some(token), Some(key)).status,
        200,
        "the credentials work"
    );

    let env = request(
        &server,
        "GET",
        "/_local/credentials?sub=bob&format=env",
        &[],
        None,
    );
    assert_eq!(env.status, 200);
    let text = env.text();
    assert!(
        text.starts_with("ID_TOKEN=ey") && text.contains(&format!("\nAPI_KEY={key}\n")),
        "{text}"
    );

    let long = "a".repeat(129);
    for (case, query) in [
        ("no sub", String::new()),
        ("an empty sub", "?sub=".to_owned()),
        ("a space", "?sub=a%20b".to_owned()),
        ("a path", "?sub=../etc".to_owned()),
        ("too long", format!("?sub={long}")),
        ("an unknown format", "?sub=alice&format=xml".to_owned()),
    ] {
        let r = request(
            &server,
            "GET",
            &format!("/_local/credentials{query}"),
            &[],
            None,
        );
        assert_gateway_problem(&r, 400, case);
    }
    let r = request(&server, "POST", "/_local/credentials?sub=alice", &[], None);
    assert_gateway_problem(&r, 404, "POST on the credentials route");
}

#[test]
fn the_handlers_see_the_event_api_gateway_would_send() {
    let server = spawn_server(&[]);
    let (alice, key) = credentials(&server, "alice");
    let (bob, _) = credentials(&server, "bob");
    let r = request(
        &server,
        "POST",
        "/v1/items",
        &[
            ("Authorization", &alice),
            ("x-api-key", &key),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"name":"mine"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    // requestContext.path is the path as requested: Location resolves against the server.
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/items/{id}").as_str())
    );
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert!(r.header("x-amzn-requestid").is_some_and(|v| v.len() == 36));
    // The owner is the token's sub: bob cannot see alice's item.
    let path = format!("/v1/items/{id}");
    let as_bob = request(
        &server,
        "GET",
        &path,
        &[("Authorization", &bob), ("x-api-key", &key)],
        None,
    );
    assert_eq!(as_bob.status, 404, "{}", as_bob.text());
    let as_alice = request(
        &server,
        "GET",
        &path,
        &[("Authorization", &alice), ("x-api-key", &key)],
        None,
    );
    assert_eq!(as_alice.status, 200, "{}", as_alice.text());
    // A handler's own problem carries the same request id as the header.
    let bad = request(
        &server,
        "GET",
        "/v1/items?limit=1000",
        &[("Authorization", &alice), ("x-api-key", &key)],
        None,
    );
    assert_gateway_problem(&bad, 400, "a limit the function refuses");
}

#[test]
fn client_sent_forwarding_headers_never_reach_the_function() {
    // lambda_http builds the request URI from X-Forwarded-Proto and Host and panics on one that
    // makes no URL; API Gateway owns those headers, and so does the local server.
    let server = spawn_server(&[]);
    let (token, key) = credentials(&server, "alice");
    for (case, name, value) in [
        ("a proto that is no scheme", "X-Forwarded-Proto", "ht tp"),
        ("a port that is no number", "X-Forwarded-Port", "eighty"),
        ("a forged client chain", "X-Forwarded-For", "not an address"),
    ] {
        let r = request(
            &server,
            "GET",
            "/v1/items",
            &[
                ("Authorization", &token),
                ("x-api-key", &key),
                (name, value),
            ],
            None,
        );
        assert_eq!(r.status, 200, "{case}: {}", r.text());
    }
}
