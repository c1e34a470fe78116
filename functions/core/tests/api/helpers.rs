//! Test harness: each test gets its own table in DynamoDB Local and calls the handlers with
//! API Gateway REST (v1) proxy events, exactly as a deployed function is called.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use items_core::clock::{Clock, SystemClock, Timestamp};
use items_core::events::ProxyEvent;
use items_core::table::TableSpec;
use items_core::{App, DynamoStore, Route, config, telemetry};
use serde_json::Value;

pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// A client for DynamoDB Local on loopback, with static credentials and a fixed region.
pub fn local_client() -> Client {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} must point at DynamoDB Local: run the tests with `make test`")
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "tests talk to loopback only, not {endpoint}"
    );
    config::dynamodb_local_client(&endpoint).expect("client")
}

/// The system's clock, moved forward by what a test says has passed.
#[derive(Debug, Default)]
pub struct TestClock {
    passed_ms: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).expect("a test-sized duration");
        self.passed_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        let now = SystemClock.now().unix_millis() + self.passed_ms.load(Ordering::Relaxed);
        Timestamp::from_unix_millis(now).expect("a time within the years 0 to 9999")
    }
}

pub struct TestApp {
    pub app: App<DynamoStore, TestClock>,
    pub client: Client,
    pub table: String,
}

/// The app over `table`, on a [`TestClock`].
pub fn app_over(client: &Client, table: &str) -> App<DynamoStore, TestClock> {
    App::with_clock(
        DynamoStore::new(client.clone(), table),
        TestClock::default(),
    )
}

/// A fresh table and an app over it.
pub async fn spawn_app() -> TestApp {
    telemetry::init_for_tests();
    let client = local_client();
    let table = format!("items-test-{}", uuid::Uuid::new_v4().simple());
    TableSpec::from_contract()
        .expect("api/table.json")
        .create_fresh(&client, &table)
        .await
        .expect("create the test table");
    TestApp {
        app: app_over(&client, &table),
        client,
        table,
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag").to_owned()
    }
    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("an id").to_owned()
    }
    /// Asserts a problem+json answer with this status, and returns where each of its `errors[]`
    /// is: `pointer /name` (an RFC 6901 pointer into the body), `parameter limit` or
    /// `header If-Match`. Each entry has exactly one of the three members and a detail.
    pub fn assert_problem(&self, status: u16, case: &str) -> Vec<String> {
        assert_eq!(self.status, status, "{case}: body {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{case}"
        );
        assert_eq!(self.body["status"], status, "{case}");
        assert!(
            self.body["type"].as_str().is_some_and(|t| !t.is_empty()),
            "{case}"
        );
        assert!(
            self.body["requestId"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{case}"
        );
        let errors = self.body["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| {
                assert!(e["detail"].is_string(), "{case}: no detail in {e}");
                let found: Vec<String> = ["pointer", "parameter", "header"]
                    .into_iter()
                    .filter_map(|m| e[m].as_str().map(|v| format!("{m} {v}")))
                    .collect();
                assert_eq!(found.len(), 1, "{case}: one location in {e}");
                if let Some(p) = e["pointer"].as_str() {
                    assert!(
                        p.is_empty() || p.starts_with('/'),
                        "{case}: {p:?} is not an RFC 6901 pointer"
                    );
                }
                found[0].clone()
            })
            .collect()
    }
}

/// An event for a caller `sub`, as API Gateway sends it after the authorizer let it through.
pub fn event(method: &str, resource: &str, path: &str, sub: Option<&str>) -> ProxyEvent {
    ProxyEvent {
        method: method.to_owned(),
        resource: resource.to_owned(),
        path: path.to_owned(),
        headers: vec![
            ("Host".into(), "api.example.test".into()),
            ("User-Agent".into(), "integration-test".into()),
        ],
        claims: sub.map(|s| {
            BTreeMap::from([
                ("sub".to_owned(), s.to_owned()),
                ("token_use".to_owned(), "id".to_owned()),
            ])
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        stage: "test".to_owned(),
        request_context_path: format!("/test{path}"),
        source_ip: "127.0.0.1".to_owned(),
        ..ProxyEvent::default()
    }
}

pub trait EventExt {
    fn json(self, body: &str) -> Self;
    fn header(self, name: &str, value: &str) -> Self;
    fn query(self, name: &str, value: &str) -> Self;
    fn id(self, id: &str) -> Self;
}

impl EventExt for ProxyEvent {
    fn json(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self.header("Content-Type", "application/json")
    }
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }
    fn id(mut self, id: &str) -> Self {
        self.path_parameters.insert("id".to_owned(), id.to_owned());
        self
    }
}

pub fn item_path(id: &str) -> String {
    format!("/v1/items/{id}")
}

impl TestApp {
    pub async fn call(&self, route: Route, event: ProxyEvent) -> TestResponse {
        let request = event.to_request().expect("a valid proxy event");
        let response = self.app.handle(route, request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = body.as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("every body is JSON")
        };
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub async fn create(&self, sub: &str, body: &str) -> TestResponse {
        self.call(
            Route::CreateItem,
            event("POST", "/v1/items", "/v1/items", Some(sub)).json(body),
        )
        .await
    }

    pub async fn create_named(&self, sub: &str, name: &str) -> TestResponse {
        let r = self
            .create(sub, &serde_json::json!({ "name": name }).to_string())
            .await;
        assert_eq!(r.status, 201, "create {name}: {}", r.body);
        r
    }

    pub async fn get(&self, sub: &str, id: &str) -> TestResponse {
        self.call(
            Route::GetItem,
            event("GET", "/v1/items/{id}", &item_path(id), Some(sub)).id(id),
        )
        .await
    }

    pub async fn list(&self, sub: &str, query: &[(&str, &str)]) -> TestResponse {
        let mut e = event("GET", "/v1/items", "/v1/items", Some(sub));
        for (k, v) in query {
            e = e.query(k, v);
        }
        self.call(Route::ListItems, e).await
    }

    pub async fn update(
        &self,
        sub: &str,
        id: &str,
        if_match: Option<&str>,
        body: &str,
    ) -> TestResponse {
        let mut e = event("PATCH", "/v1/items/{id}", &item_path(id), Some(sub))
            .id(id)
            .json(body);
        if let Some(tag) = if_match {
            e = e.header("If-Match", tag);
        }
        self.call(Route::UpdateItem, e).await
    }

    pub async fn delete(&self, sub: &str, id: &str, if_match: Option<&str>) -> TestResponse {
        let mut e = event("DELETE", "/v1/items/{id}", &item_path(id), Some(sub)).id(id);
        if let Some(tag) = if_match {
            e = e.header("If-Match", tag);
        }
        self.call(Route::DeleteItem, e).await
    }

    /// Every record in this test's table, raw.
    pub async fn scan_all(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.client
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default()
    }
}
