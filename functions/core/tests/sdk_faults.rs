//! SDK-level fault injection: the real `DynamoStore` and `App` over a DynamoDB client whose HTTP
//! connector is a scripted fake DynamoDB. Every fault is a real wire response (DynamoDB's JSON
//! protocol: `application/x-amz-json-1.0`, errors as HTTP 4xx/5xx with a `__type`), so the SDK's
//! own deserializers, retry classifiers, backoff and timeouts decide what the handler sees, with
//! the production settings from `config::{timeouts, retries}`. Nothing leaves the process: the
//! connector answers every request itself, and the endpoint is a closed loopback port anyway.
//!
//! Needs no DynamoDB Local: `cargo test -p items-core --test sdk_faults`.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryPartition;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use helpers::{EventExt, TestApp, TestResponse, app_over, event, item_path};
use items_core::config::{self, ATTEMPT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT};
use items_core::store::record;
use items_core::{Route, telemetry};

const TABLE: &str = "items-fault-injection-table";
const ID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const KEY: &str = "order-42";

/// What the fake DynamoDB answers to one attempt.
#[derive(Debug, Clone)]
enum Answer {
    /// HTTP 200 with this JSON body.
    Ok(String),
    /// An error as DynamoDB sends it: this status and `{"__type": …, "message": …}`.
    Error(u16, &'static str, &'static str),
    /// No answer before `Duration` has passed (then an empty success, if anyone still waits).
    Slow(Duration),
    /// HTTP 200 whose body is not what the protocol promises.
    Garbage(&'static str),
    /// A failed `attribute_not_exists` condition whose returned record is the `Item` this very
    /// request carries: what DynamoDB answers a retried `PutItem` whose first attempt was applied.
    ConditionFailedOnOwnItem,
}

const THROTTLING: Answer = Answer::Error(
    400,
    "com.amazon.coral.availability#ThrottlingException",
    "Rate of requests exceeds the allowed throughput.",
);
const THROUGHPUT_EXCEEDED: Answer = Answer::Error(
    400,
    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "The level of configured provisioned throughput for the table was exceeded.",
);
const INTERNAL_SERVER_ERROR: Answer = Answer::Error(
    500,
    "com.amazonaws.dynamodb.v20120810#InternalServerError",
    "Internal server error",
);
const VALIDATION: Answer = Answer::Error(
    400,
    "com.amazon.coral.validate#ValidationException",
    "One or more parameter values were invalid: Missing the key PK in the item of table items-fault-injection-table",
);
const ACCESS_DENIED: Answer = Answer::Error(
    400,
    "com.amazon.coral.service#AccessDeniedException",
    "User: arn:aws:sts::123456789012:assumed-role/get-item-role/get-item is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/items-fault-injection-table",
);

fn ok(body: &str) -> Answer {
    Answer::Ok(body.to_owned())
}

/// One request the SDK sent: the operation (from `x-amz-target`) and the JSON body.
#[derive(Debug, Clone)]
struct Call {
    operation: String,
    body: String,
    /// Where the SDK sent it, and the headers that carry the credentials.
    uri: String,
    authorization: String,
    security_token: Option<String>,
}

type Script = dyn Fn(&str, usize) -> Answer + Send + Sync;

/// The fake DynamoDB: answers each attempt from a script given the operation and how many times
/// that operation has been called (1 for the first attempt), and records every call.
#[derive(Clone)]
struct FakeDynamo {
    script: Arc<Script>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl std::fmt::Debug for FakeDynamo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDynamo").finish_non_exhaustive()
    }
}

impl FakeDynamo {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn attempts(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }
}

impl HttpConnector for FakeDynamo {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
            .unwrap_or("?")
            .to_owned();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        let sent = body.clone();
        let nth = {
            let mut calls = self.calls.lock().unwrap();
            let header = |name: &str| request.headers().get(name).map(str::to_owned);
            calls.push(Call {
                operation: operation.clone(),
                body,
                uri: request.uri().to_owned(),
                authorization: header("authorization").unwrap_or_default(),
                security_token: header("x-amz-security-token"),
            });
            calls.iter().filter(|c| c.operation == operation).count()
        };
        let answer = (self.script)(&operation, nth);
        HttpConnectorFuture::new(async move {
            let (status, body) = match answer {
                Answer::Ok(body) => (200, body),
                Answer::Error(status, kind, message) => (
                    status,
                    serde_json::json!({ "__type": kind, "message": message }).to_string(),
                ),
                Answer::Slow(delay) => {
                    tokio::time::sleep(delay).await;
                    (200, "{}".to_owned())
                }
                Answer::Garbage(body) => (200, body.to_owned()),
                Answer::ConditionFailedOnOwnItem => {
                    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap_or_default();
                    (
                        400,
                        serde_json::json!({
                            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                            "message": "The conditional request failed",
                            "Item": sent["Item"],
                        })
                        .to_string(),
                    )
                }
            };
            let mut response = HttpResponse::new(
                StatusCode::try_from(status).expect("a valid status"),
                SdkBody::from(body),
            );
            let headers = response.headers_mut();
            headers.insert("content-type", "application/x-amz-json-1.0");
            headers.insert("x-amzn-requestid", "FAKE0REQUEST0ID");
            Ok(response)
        })
    }
}

/// Each client gets its own retry token bucket, so one test's throttles never starve another's.
static PARTITION: AtomicUsize = AtomicUsize::new(0);

/// An app whose DynamoDB is `script`, with production timeouts and retries, static credentials
/// and a fixed region (no credential or region probing).
fn app_with(
    script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static,
) -> (TestApp, FakeDynamo) {
    telemetry::init_for_tests();
    let fake = FakeDynamo {
        script: Arc::new(script),
        calls: Arc::default(),
    };
    let connector = SharedHttpConnector::new(fake.clone());
    let partition = PARTITION.fetch_add(1, Ordering::Relaxed);
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("fake", "fake", None, None, "sdk-faults"))
        // Never dialled (the connector answers), and loopback if it ever were.
        .endpoint_url("http://127.0.0.1:9")
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .timeout_config(config::timeouts())
        .retry_config(config::retries())
        .retry_partition(RetryPartition::new(format!("sdk-faults-{partition}")))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let app = TestApp {
        app: app_over(&client, TABLE),
        client,
        table: TABLE.to_owned(),
    };
    (app, fake)
}

/// The production client (`config::dynamodb_config`, from Lambda's environment variables alone:
/// no profile files, no instance metadata) with the fake at its connector: where it sends a
/// request, and with which credentials.
async fn first_call_from_environment(vars: &[(&str, &str)]) -> Call {
    let mut vars = vars.to_vec();
    vars.push(("AWS_EC2_METADATA_DISABLED", "true"));
    let fake = FakeDynamo {
        script: Arc::new(|_, _| Answer::Ok("{}".into())),
        calls: Arc::default(),
    };
    let connector = SharedHttpConnector::new(fake.clone());
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .env(aws_types::os_shim_internal::Env::from_slice(&vars))
        .fs(aws_types::os_shim_internal::Fs::from_slice(&[]));
    let conf = config::dynamodb_config(loader)
        .await
        .expect("config")
        .to_builder()
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    client
        .get_item()
        .table_name(TABLE)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
        .send()
        .await
        .expect("get");
    fake.calls().remove(0)
}

#[tokio::test]
async fn lambdas_environment_picks_region_credentials_and_endpoint() {
    let lambda = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEKEY"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "session-token"),
    ];
    let call = first_call_from_environment(&lambda).await;
    assert_eq!(call.uri, "https://dynamodb.eu-west-1.amazonaws.com/");
    assert!(
        call.authorization.contains("Credential=ASIAEXAMPLEKEY/")
            && call
                .authorization
                .contains("/eu-west-1/dynamodb/aws4_request"),
        "{}",
        call.authorization
    );
    assert_eq!(call.security_token.as_deref(), Some("session-token"));

    let mut fips = lambda.to_vec();
    fips.push(("AWS_USE_FIPS_ENDPOINT", "true"));
    let call = first_call_from_environment(&fips).await;
    assert_eq!(call.uri, "https://dynamodb-fips.eu-west-1.amazonaws.com/");

    let mut dual = lambda.to_vec();
    dual.push(("AWS_USE_DUALSTACK_ENDPOINT", "true"));
    let call = first_call_from_environment(&dual).await;
    assert_eq!(call.uri, "https://dynamodb.eu-west-1.api.aws/");

    // A value that is not true or false is aws-config's to judge: it logs a warning and the
    // setting stays off, as in every AWS SDK.
    let mut not_a_flag = lambda.to_vec();
    not_a_flag.push(("AWS_USE_FIPS_ENDPOINT", "yes"));
    let call = first_call_from_environment(&not_a_flag).await;
    assert_eq!(call.uri, "https://dynamodb.eu-west-1.amazonaws.com/");

    let mut local = lambda.to_vec();
    local.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9"));
    local.push(("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"));
    let call = first_call_from_environment(&local).await;
    assert_eq!(call.uri, "http://127.0.0.1:8000/");
}

fn item_json(id: &str) -> String {
    serde_json::json!({
        "PK": {"S": format!("{}alice", record::OWNER_PREFIX)},
        "SK": {"S": format!("{}{id}", record::ITEM_PREFIX)},
        "id": {"S": id},
        "name": {"S": "Widget"},
        "description": {"S": ""},
        "tags": {"L": [{"S": "a"}]},
        "version": {"N": "1"},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
        "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
    })
    .to_string()
}

fn get_item_found() -> Answer {
    Answer::Ok(format!(r#"{{"Item":{}}}"#, item_json(ID)))
}

/// The route under test, and the DynamoDB operation it makes.
#[derive(Debug, Clone, Copy)]
enum RouteCall {
    Get,
    Create,
    List,
    Update,
    Delete,
}

impl RouteCall {
    const ALL: [RouteCall; 5] = [
        RouteCall::Get,
        RouteCall::Create,
        RouteCall::List,
        RouteCall::Update,
        RouteCall::Delete,
    ];

    fn operation(self) -> &'static str {
        match self {
            RouteCall::Get => "GetItem",
            RouteCall::Create => "PutItem",
            RouteCall::List => "Query",
            RouteCall::Update => "UpdateItem",
            RouteCall::Delete => "DeleteItem",
        }
    }

    /// What DynamoDB answers when the call succeeds.
    fn success(self) -> Answer {
        match self {
            RouteCall::Get => get_item_found(),
            RouteCall::Create | RouteCall::Delete => ok("{}"),
            RouteCall::List => Answer::Ok(format!(r#"{{"Count":1,"Items":[{}]}}"#, item_json(ID))),
            RouteCall::Update => Answer::Ok(format!(r#"{{"Attributes":{}}}"#, item_json(ID))),
        }
    }

    fn success_status(self) -> u16 {
        match self {
            RouteCall::Create => 201,
            RouteCall::Delete => 204,
            _ => 200,
        }
    }

    async fn send(self, app: &TestApp) -> TestResponse {
        match self {
            RouteCall::Get => app.get("alice", ID).await,
            RouteCall::Create => app.create("alice", r#"{"name":"Widget"}"#).await,
            RouteCall::List => app.list("alice", &[]).await,
            RouteCall::Update => app.update("alice", ID, None, r#"{"name":"New"}"#).await,
            RouteCall::Delete => app.delete("alice", ID, None).await,
        }
    }
}

/// Asserts an opaque 5xx: problem+json with nothing from the SDK, DynamoDB or the table in it.
fn assert_opaque(r: &TestResponse, status: u16, case: &str) {
    r.assert_problem(status, case);
    let text = r.body.to_string();
    for leak in [
        "Exception",
        "Error",
        TABLE,
        "arn:",
        "dynamodb",
        "throughput",
        "PK",
        "caused by",
    ] {
        assert!(!text.contains(leak), "{case}: {leak:?} leaked into {text}");
    }
    assert!(r.body.get("detail").is_none(), "{case}: {text}");
}

fn assert_unavailable(r: &TestResponse, case: &str) {
    assert_opaque(r, 503, case);
    assert_eq!(r.header("retry-after"), Some("1"), "{case}");
}

/// Runs each case on its own task, so that cases waiting out backoff or timeouts overlap, and
/// returns their results in order.
async fn concurrently<T, F>(cases: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = cases.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("a case task panicked"));
    }
    out
}

#[tokio::test]
async fn a_throttle_on_every_attempt_is_a_503_after_exactly_max_attempts() {
    let faults = [
        ("ThrottlingException", THROTTLING),
        (
            "ProvisionedThroughputExceededException",
            THROUGHPUT_EXCEEDED,
        ),
    ];
    let mut cases = Vec::new();
    for (fault, answer) in faults {
        for route in RouteCall::ALL {
            let answer = answer.clone();
            cases.push(async move {
                let (app, fake) = app_with(move |_, _| answer.clone());
                let started = Instant::now();
                let r = route.send(&app).await;
                (
                    format!("{fault} on {route:?}"),
                    route,
                    r,
                    fake,
                    started.elapsed(),
                )
            });
        }
    }
    for (case, route, r, fake, elapsed) in concurrently(cases).await {
        assert_unavailable(&r, &case);
        assert_eq!(
            fake.attempts(route.operation()),
            MAX_ATTEMPTS as usize,
            "{case}: {:?}",
            fake.calls()
        );
        assert_eq!(fake.calls().len(), MAX_ATTEMPTS as usize, "{case}");
        eprintln!(
            "{case}: {} after {} attempts in {elapsed:?}",
            r.status,
            fake.calls().len()
        );
    }
}

#[tokio::test]
async fn one_throttle_then_success_succeeds_through_the_sdk_retry() {
    for route in RouteCall::ALL {
        let (app, fake) = app_with(move |_, n| if n == 1 { THROTTLING } else { route.success() });

        let r = route.send(&app).await;

        assert_eq!(r.status, route.success_status(), "{route:?}: {}", r.body);
        assert_eq!(fake.attempts(route.operation()), 2, "{route:?}");
    }
}

#[tokio::test]
async fn internal_server_errors_are_retried_then_a_503() {
    for route in [RouteCall::Get, RouteCall::Create] {
        let (app, fake) = app_with(|_, _| INTERNAL_SERVER_ERROR);

        let r = route.send(&app).await;

        assert_unavailable(&r, &format!("{route:?}"));
        assert_eq!(
            fake.attempts(route.operation()),
            MAX_ATTEMPTS as usize,
            "{route:?}"
        );
    }
}

#[tokio::test]
async fn one_internal_server_error_then_success_succeeds() {
    let (app, fake) = app_with(|_, n| {
        if n == 1 {
            INTERNAL_SERVER_ERROR
        } else {
            get_item_found()
        }
    });

    let r = app.get("alice", ID).await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], ID);
    assert_eq!(fake.attempts("GetItem"), 2);
}

#[tokio::test]
async fn a_dynamodb_slower_than_the_attempt_timeout_is_a_503_within_the_operation_timeout() {
    let cases = [RouteCall::Get, RouteCall::Create].map(|route| async move {
        let (app, fake) = app_with(|_, _| Answer::Slow(Duration::from_secs(30)));
        let started = Instant::now();
        let r = route.send(&app).await;
        (route, r, fake, started.elapsed())
    });
    for (route, r, fake, elapsed) in concurrently(cases.into()).await {
        let case = format!("{route:?} took {elapsed:?}");
        assert_unavailable(&r, &case);
        assert!(
            elapsed >= ATTEMPT_TIMEOUT,
            "{case}: gave up before a timeout"
        );
        assert!(
            elapsed < OPERATION_TIMEOUT + Duration::from_secs(2),
            "{case}: not bounded by the operation timeout"
        );
        let attempts = fake.attempts(route.operation());
        assert!(
            (2..=MAX_ATTEMPTS as usize).contains(&attempts),
            "{case}: a timed-out attempt is retried within the operation timeout, made {attempts}"
        );
        eprintln!("{case}: {} after {attempts} attempts", r.status);
    }
}

#[tokio::test]
async fn client_side_dynamodb_errors_are_an_opaque_500_and_not_retried() {
    let faults = [
        ("ValidationException", VALIDATION),
        ("AccessDeniedException", ACCESS_DENIED),
        (
            "ResourceNotFoundException",
            Answer::Error(
                400,
                "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                "Requested resource not found: Table: items-fault-injection-table not found",
            ),
        ),
    ];
    for (fault, answer) in faults {
        for route in RouteCall::ALL {
            let case = format!("{fault} on {route:?}");
            let answer = answer.clone();
            let (app, fake) = app_with(move |_, _| answer.clone());

            let r = route.send(&app).await;

            assert_opaque(&r, 500, &case);
            assert_eq!(fake.calls().len(), 1, "{case}: {:?}", fake.calls());
        }
    }
}

#[tokio::test]
async fn a_corrupt_item_from_dynamodb_is_an_opaque_500_never_a_panic() {
    let with = |key: &str, value: serde_json::Value| {
        let mut item: serde_json::Value = serde_json::from_str(&item_json(ID)).unwrap();
        match value {
            serde_json::Value::Null => {
                item.as_object_mut().unwrap().remove(key);
            }
            v => item[key] = v,
        }
        format!(r#"{{"Item":{item}}}"#)
    };
    let null = serde_json::Value::Null;
    let cases = [
        (r#"{"Item":{}}"#.to_owned(), "an empty item"),
        (
            format!(
                r#"{{"Item":{{"PK":{{"S":"{}alice"}},"SK":{{"S":"{}x"}}}}}}"#,
                record::OWNER_PREFIX,
                record::ITEM_PREFIX
            ),
            "only the keys",
        ),
        (with("name", null.clone()), "no name"),
        (with("version", null.clone()), "no version"),
        (with("tags", null.clone()), "no tags"),
        (with("createdAt", null), "no createdAt"),
        (
            with("version", serde_json::json!({"S": "1"})),
            "version as a string",
        ),
        (
            with("version", serde_json::json!({"N": "0"})),
            "version zero",
        ),
        (
            with(
                "version",
                serde_json::json!({"N": "99999999999999999999999"}),
            ),
            "version beyond u64",
        ),
        (with("id", serde_json::json!({"S": "../etc"})), "a bad id"),
        (with("name", serde_json::json!({"S": ""})), "an empty name"),
        (
            with("name", serde_json::json!({"S": "x".repeat(201)})),
            "a name too long",
        ),
        (
            with("tags", serde_json::json!({"L": [{"S": "a"}, {"S": "a"}]})),
            "duplicate tags",
        ),
        (
            with("tags", serde_json::json!({"L": [{"N": "1"}]})),
            "a tag that is a number",
        ),
        (
            with("tags", serde_json::json!({"SS": ["a"]})),
            "tags as a string set",
        ),
        (
            with("description", serde_json::json!({"NULL": true})),
            "a null description",
        ),
    ];
    for (body, case) in cases {
        let answer = Answer::Ok(body.clone());
        let (app, fake) = app_with(move |_, _| answer.clone());

        let r = app.get("alice", ID).await;

        assert_opaque(&r, 500, case);
        assert_eq!(
            fake.calls().len(),
            1,
            "{case}: a corrupt item is not retried"
        );
    }
}

#[tokio::test]
async fn corrupt_update_and_list_answers_are_an_opaque_500() {
    let cases = [
        (
            RouteCall::Update,
            r#"{}"#.to_owned(),
            "UpdateItem without attributes",
        ),
        (
            RouteCall::Update,
            r#"{"Attributes":{"version":{"N":"2"}}}"#.to_owned(),
            "UpdateItem with partial attributes",
        ),
        (
            RouteCall::List,
            r#"{"Items":[{"id":{"S":"x"}}]}"#.to_owned(),
            "a corrupt item in a page",
        ),
        (
            RouteCall::List,
            format!(
                r#"{{"Items":[],"LastEvaluatedKey":{{"PK":{{"S":"{}alice"}},"SK":{{"S":"{}k"}}}}}}"#,
                record::OWNER_PREFIX,
                record::IDEMPOTENCY_PREFIX
            ),
            "a LastEvaluatedKey that is not an item",
        ),
    ];
    for (route, body, case) in cases {
        let answer = Answer::Ok(body);
        let (app, _) = app_with(move |_, _| answer.clone());

        let r = route.send(&app).await;

        assert_opaque(&r, 500, case);
    }
}

#[tokio::test]
async fn a_response_that_is_not_the_protocol_is_a_5xx_never_a_panic() {
    for (body, case) in [
        ("not json", "not JSON"),
        ("{\"Item\":", "truncated"),
        (
            "{\"Item\":{\"id\":{\"Q\":\"?\"}}}",
            "an unknown attribute type",
        ),
        ("[1,2,3]", "an array"),
    ] {
        let (app, fake) = app_with(move |_, _| Answer::Garbage(body));

        let r = app.get("alice", ID).await;

        assert!(
            r.status == 500 || r.status == 503,
            "{case}: {} {}",
            r.status,
            r.body
        );
        assert_opaque(&r, r.status, case);
        eprintln!("{case}: {} after {} attempts", r.status, fake.calls().len());
    }
}

fn create_with_key_event() -> items_core::events::ProxyEvent {
    event("POST", "/v1/items", "/v1/items", Some("alice"))
        .json(r#"{"name":"Widget"}"#)
        .header("Idempotency-Key", KEY)
}

#[tokio::test]
async fn a_throttled_create_transaction_releases_its_idempotency_key_and_answers_503() {
    let (app, fake) = app_with(|operation, _| match operation {
        "TransactWriteItems" => THROTTLING,
        _ => ok("{}"),
    });

    let r = app.call(Route::CreateItem, create_with_key_event()).await;

    assert_unavailable(&r, "throttled transaction");
    let calls = fake.calls();
    let operations: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    let mut expected = vec!["PutItem"];
    expected.extend(std::iter::repeat_n(
        "TransactWriteItems",
        MAX_ATTEMPTS as usize,
    ));
    expected.push("DeleteItem");
    assert_eq!(
        operations, expected,
        "claim, the retried transaction, then release"
    );
    let release: serde_json::Value =
        serde_json::from_str(&calls[calls.len() - 1].body).expect("a JSON request");
    assert_eq!(release["TableName"], TABLE);
    assert_eq!(
        release["Key"]["PK"]["S"],
        format!("{}alice", record::OWNER_PREFIX)
    );
    assert_eq!(
        release["Key"]["SK"]["S"],
        format!("{}{KEY}", record::IDEMPOTENCY_PREFIX)
    );
    assert!(
        release["ConditionExpression"]
            .as_str()
            .is_some_and(|c| c.contains(":inProgress")),
        "only an in-progress record of ours is released: {release}"
    );
}

#[tokio::test]
async fn a_failed_release_still_answers_the_transactions_503() {
    let (app, fake) = app_with(|operation, _| match operation {
        "PutItem" => ok("{}"),
        _ => THROTTLING,
    });

    let r = app.call(Route::CreateItem, create_with_key_event()).await;

    assert_unavailable(&r, "throttled transaction and release");
    assert_eq!(fake.attempts("DeleteItem"), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_throttled_key_claim_is_a_503_and_creates_nothing() {
    let (app, fake) = app_with(|_, _| THROTTLING);

    let r = app.call(Route::CreateItem, create_with_key_event()).await;

    assert_unavailable(&r, "throttled claim");
    assert_eq!(fake.attempts("PutItem"), MAX_ATTEMPTS as usize);
    assert_eq!(fake.attempts("TransactWriteItems"), 0);
}

#[tokio::test]
async fn one_throttle_on_the_create_transaction_then_success_is_201() {
    let (app, fake) = app_with(|operation, n| match operation {
        "TransactWriteItems" if n == 1 => THROTTLING,
        _ => ok("{}"),
    });

    let r = app.call(Route::CreateItem, create_with_key_event()).await;

    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(fake.attempts("TransactWriteItems"), 2);
    assert_eq!(
        fake.attempts("DeleteItem"),
        0,
        "a created item keeps its key"
    );
    let location = r.header("location").unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/test/v1/items/"),
        "{location} for {}",
        item_path(&r.id())
    );
}

#[tokio::test]
async fn a_create_retried_after_its_applied_attempt_lost_its_answer_is_201() {
    // Attempt 1 is applied but its answer is lost (a 500 here); attempt 2's condition then fails
    // against the very item attempt 1 wrote.
    let (app, fake) = app_with(|_, n| {
        if n == 1 {
            INTERNAL_SERVER_ERROR
        } else {
            Answer::ConditionFailedOnOwnItem
        }
    });

    let r = app.create("alice", r#"{"name":"Widget"}"#).await;

    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["name"], "Widget");
    assert_eq!(fake.attempts("PutItem"), 2);
}

#[tokio::test]
async fn a_create_whose_id_is_taken_by_another_item_is_still_a_conflict() {
    // The condition fails and DynamoDB returns no record of ours.
    let (app, _) = app_with(|_, _| {
        Answer::Error(
            400,
            "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "The conditional request failed",
        )
    });

    app.create("alice", r#"{"name":"Widget"}"#)
        .await
        .assert_problem(409, "someone else's record under this key");
}

/// The app of [`app_with`] with a per-user limit of 5 requests a minute.
fn limited_app_with(
    script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static,
) -> (TestApp, FakeDynamo) {
    let (mut app, fake) = app_with(script);
    app.app.user_limit = items_core::limit::UserLimit::new(5, 60);
    (app, fake)
}

const CONDITION_FAILED: Answer = Answer::Error(
    400,
    "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
    "The conditional request failed",
);

#[tokio::test]
async fn a_request_over_the_user_limit_costs_one_conditional_write_and_nothing_else() {
    for route in RouteCall::ALL {
        let case = format!("{route:?} over the limit");
        let (app, fake) = limited_app_with(|op, _| match op {
            "UpdateItem" => CONDITION_FAILED,
            _ => ok("{}"),
        });

        let r = route.send(&app).await;

        r.assert_problem(429, &case);
        assert_eq!(
            r.body["type"], "urn:problem:secure-serverless-backend:user-rate-limited",
            "{case}"
        );
        let retry_after: u32 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry_after), "{case}: {retry_after}");
        let calls = fake.calls();
        assert_eq!(calls.len(), 1, "{case}: {calls:?}");
        let sent: serde_json::Value = serde_json::from_str(&calls[0].body).expect("JSON");
        assert_eq!(sent["Key"]["PK"]["S"], "LIMIT#alice", "{case}");
        assert!(
            sent["Key"]["SK"]["S"]
                .as_str()
                .is_some_and(|s| s.starts_with("WINDOW#")),
            "{case}: {sent}"
        );
        assert_eq!(
            sent["ExpressionAttributeValues"][":limit"]["N"], "5",
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_request_within_the_user_limit_is_counted_first_then_served() {
    let (app, fake) = limited_app_with(|_, _| ok("{}"));

    let r = app.get("alice", ID).await;

    r.assert_problem(404, "the fake has no item");
    let operations: Vec<String> = fake.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(operations, ["UpdateItem", "GetItem"]);
}

#[tokio::test]
async fn a_throttled_or_unreachable_counter_is_a_503_and_the_handler_makes_no_call() {
    for (case, answer) in [
        ("throttled", THROTTLING),
        ("unavailable", INTERNAL_SERVER_ERROR),
        ("slow", Answer::Slow(Duration::from_secs(5))),
    ] {
        let (app, fake) = limited_app_with(move |_, _| answer.clone());
        let started = Instant::now();

        let r = app.get("alice", ID).await;

        assert_unavailable(&r, case);
        assert!(
            started.elapsed() < config::LIMIT_OPERATION_TIMEOUT + Duration::from_millis(500),
            "{case}: gave up after {:?}",
            started.elapsed()
        );
        assert!(
            fake.calls().iter().all(|c| c.operation == "UpdateItem"),
            "{case}: {:?}",
            fake.calls()
        );
    }
}
