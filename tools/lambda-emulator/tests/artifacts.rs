//! The deployable files work: each release `bootstrap.zip` that `make build` leaves is unzipped
//! and its `bootstrap` run as a process under the Runtime API emulation, fed the API Gateway
//! REST (v1) proxy events in `fixtures/events/`, against DynamoDB Local.
//!
//! Every test runs twice, once per architecture (`x86_64::…` and `arm64::…`), on the zips in
//! `target/lambda/<arch>/`. The one that is not this machine's runs under qemu user-mode
//! emulation (`qemu-aarch64 -L /usr/aarch64-linux-gnu`, invoked explicitly).
//!
//! Needs `make build ARCH=x86_64`, `make build ARCH=arm64`, qemu-user with the other
//! architecture's C library, and `AWS_ENDPOINT_URL_DYNAMODB`; `make test` sees to all of them.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use items_core::table::TableSpec;
use lambda_emulator::{Arch, FunctionProcess, Outcome, RuntimeApi, unpack_bootstrap};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(15);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Unzips `target/lambda/<arch>/<function>/bootstrap.zip` into a fresh folder and returns the binary.
fn unpack(arch: Arch, function: &str) -> PathBuf {
    let zip = arch
        .lambda_dir(&root())
        .join(function)
        .join("bootstrap.zip");
    assert!(
        zip.exists(),
        "{} is missing: run `make build ARCH={}` (make test does)",
        zip.display(),
        arch.name()
    );
    let dir = std::env::temp_dir().join(format!(
        "artifact-{}-{function}-{}",
        arch.name(),
        uuid::Uuid::new_v4().simple()
    ));
    let bootstrap = unpack_bootstrap(&zip, &dir).expect("unzip");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&bootstrap)
            .expect("bootstrap in zip")
            .permissions(),
    );
    assert!(
        mode & 0o111 != 0,
        "bootstrap in {function}'s zip is not executable"
    );
    bootstrap
}

fn fixture(function: &str, case: &str, id: &str, version: u64) -> Vec<u8> {
    let path = root()
        .join("fixtures/events")
        .join(function)
        .join(format!("{case}.json"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("{{ID}}", id)
        .replace("{{VERSION}}", &version.to_string())
        .into_bytes()
}

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local (make test)")
}

async fn fresh_table() -> String {
    let client = items_core::config::dynamodb_local_client(&endpoint()).expect("client");
    let table = format!("artifact-{}", uuid::Uuid::new_v4().simple());
    TableSpec::from_contract()
        .unwrap()
        .create_fresh(&client, &table)
        .await
        .expect("table");
    table
}

/// A function's bootstrap, running.
struct Running {
    api: RuntimeApi,
    process: FunctionProcess,
    function: &'static str,
}

impl Running {
    async fn start(arch: Arch, function: &'static str, table: &str) -> Self {
        Self::start_with(arch, function, table, &[]).await
    }

    /// [`Running::start`] with more environment variables.
    async fn start_with(
        arch: Arch,
        function: &'static str,
        table: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let bootstrap = unpack(arch, function);
        let api = RuntimeApi::start().await.expect("runtime api");
        let endpoint = endpoint();
        let mut vars = vec![
            ("TABLE_NAME", table),
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
            USER_LIMIT[0],
            USER_LIMIT[1],
        ];
        vars.extend_from_slice(env);
        let process = FunctionProcess::spawn_for(arch, &bootstrap, &api, function, &vars)
            .unwrap_or_else(|e| panic!("{function} ({}): {e}", arch.name()));
        api.wait_for_first_poll(TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{function} ({}) init: {e}", arch.name()));
        Self {
            api,
            process,
            function,
        }
    }

    /// Invokes one fixture; returns the proxy response's status and parsed body.
    async fn call(&self, case: &str, id: &str, version: u64) -> (u16, Value, Value) {
        let event = fixture(self.function, case, id, version);
        let outcome = self
            .api
            .invoke(&event, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{} {case}: {e}", self.function));
        let Outcome::Response(bytes) = outcome else {
            panic!(
                "{} {case}: the function reported an error: {outcome:?}",
                self.function
            );
        };
        let response: Value = serde_json::from_slice(&bytes).expect("a proxy response");
        let status = response["statusCode"].as_u64().expect("statusCode") as u16;
        let body = match response["body"].as_str() {
            Some(b) if !b.is_empty() => serde_json::from_str(b).expect("a JSON body"),
            _ => Value::Null,
        };
        (status, body, response["multiValueHeaders"].clone())
    }

    async fn stop(self) -> String {
        let (stdout, _stderr, _) = self.process.stop().await;
        stdout
    }
}

/// Each test below, once per architecture: `x86_64::<test>` and `arm64::<test>`.
macro_rules! for_each_arch {
    ($($test:ident),* $(,)?) => {
        mod x86_64 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(lambda_emulator::Arch::X86_64).await;
            })*
        }
        mod arm64 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(lambda_emulator::Arch::Arm64).await;
            })*
        }
    };
}

for_each_arch!(
    every_release_bootstrap_serves_its_route_from_its_fixtures,
    a_function_without_its_table_name_fails_its_init_loudly,
    each_function_warms_its_connection_during_init_unless_told_not_to,
    a_failed_warm_up_is_a_warning_and_init_goes_on,
    a_malformed_warm_up_setting_fails_init_with_a_sentence,
    a_missing_or_malformed_user_limit_fails_init_with_a_sentence,
);

async fn every_release_bootstrap_serves_its_route_from_its_fixtures(arch: Arch) {
    let table = fresh_table().await;

    let create = Running::start(arch, "create-item", &table).await;
    let (status, item, headers) = create.call("create", "", 0).await;
    assert_eq!(status, 201, "{item}");
    let id = item["id"].as_str().expect("id").to_owned();
    assert_eq!(headers["etag"], serde_json::json!(["\"1\""]), "{headers}");
    assert_eq!(
        headers["location"],
        serde_json::json!([format!("/prod/v1/items/{id}")])
    );
    let (status, problem, headers) = create.call("unknown-field", "", 0).await;
    assert_eq!(
        (status, problem["errors"][0]["pointer"].as_str()),
        (400, Some("/owner")),
        "{problem}"
    );
    assert_eq!(
        headers["content-type"],
        serde_json::json!(["application/problem+json"])
    );
    let logs = create.stop().await;

    let get = Running::start(arch, "get-item", &table).await;
    let (status, body, _) = get.call("get", &id, 1).await;
    assert_eq!((status, &body), (200, &item));
    assert_eq!(get.call("missing", &id, 1).await.0, 404);
    get.stop().await;

    let list = Running::start(arch, "list-items", &table).await;
    let (status, page, _) = list.call("list", &id, 1).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], serde_json::json!([item]));
    assert_eq!(list.call("bad-limit", &id, 1).await.0, 400);
    list.stop().await;

    let update = Running::start(arch, "update-item", &table).await;
    let (status, updated, _) = update.call("update", &id, 1).await;
    assert_eq!(
        (status, updated["version"].as_u64()),
        (200, Some(2)),
        "{updated}"
    );
    assert_eq!(update.call("stale", &id, 1).await.0, 412);
    update.stop().await;

    let delete = Running::start(arch, "delete-item", &table).await;
    assert_eq!(
        delete.call("delete", &id, 1).await.0,
        412,
        "the delete fixture's If-Match \"1\" is stale now"
    );
    assert_eq!(delete.call("delete", &id, 2).await.0, 204);
    assert_eq!(delete.call("delete", &id, 2).await.0, 404);
    assert_eq!(delete.call("bad-id", &id, 2).await.0, 400);
    delete.stop().await;

    // One JSON log line per request, with the request id and status, never the body.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let request_lines: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(request_lines.len(), 2, "{logs}");
    assert_eq!(request_lines[0]["status"], 201);
    assert!(
        request_lines[0]["requestId"]
            .as_str()
            .is_some_and(|r| r.ends_with("-create")),
        "{logs}"
    );
    assert!(
        !logs.contains("Written on the train"),
        "a request body reached the log: {logs}"
    );
    assert!(
        !logs.contains("EXAMPLEapiKey"),
        "an API key reached the log"
    );
    assert!(
        lines.iter().any(|l| l["ItemsCreated"] == 1),
        "an EMF metric line: {logs}"
    );
}

/// Starts `function` with only `env` (and the emulator's Lambda variables) and checks that init
/// fails, says `sentence`, and never asks for work.
async fn init_fails_saying(
    arch: Arch,
    function: &'static str,
    env: &[(&str, &str)],
    sentence: &str,
) {
    let bootstrap = unpack(arch, function);
    let api = RuntimeApi::start().await.expect("runtime api");
    let process = FunctionProcess::spawn_for(arch, &bootstrap, &api, function, env).expect("spawn");
    let (stdout, stderr, code) = process.wait_exit(TIMEOUT).await.expect("it exits");
    assert_ne!(code, Some(0));
    assert!(
        format!("{stdout}{stderr}").contains(sentence),
        "the failure names the setting: {stdout}{stderr}"
    );
    assert!(api.first_poll().is_none(), "it never asked for work");
}

async fn a_function_without_its_table_name_fails_its_init_loudly(arch: Arch) {
    init_fails_saying(
        arch,
        "get-item",
        &[],
        "the TABLE_NAME environment variable must name the DynamoDB table",
    )
    .await;
}

fn log_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn each_function_warms_its_connection_during_init_unless_told_not_to(arch: Arch) {
    let table = fresh_table().await;
    let client = items_core::config::dynamodb_local_client(&endpoint()).expect("client");
    for function in items_core::Route::ALL.map(items_core::Route::function_name) {
        let logs = Running::start(arch, function, &table).await.stop().await;
        let warmed: Vec<Value> = log_lines(&logs)
            .into_iter()
            .filter(|l| l["message"] == "DynamoDB connection warmed up")
            .collect();
        assert_eq!(warmed.len(), 1, "{function}: {logs}");
        assert_eq!(warmed[0]["function"], function);
        assert!(warmed[0]["durationMs"].as_f64().is_some(), "{logs}");

        let logs = Running::start_with(arch, function, &table, &[("DYNAMODB_WARM_UP", "false")])
            .await
            .stop()
            .await;
        assert!(!logs.contains("warm"), "{function}: {logs}");
    }
    // Five warm-ups (three of them conditional writes) changed nothing.
    let scan = client.scan().table_name(&table).send().await.expect("scan");
    assert_eq!(scan.count, 0, "{:?}", scan.items);
}

async fn a_failed_warm_up_is_a_warning_and_init_goes_on(arch: Arch) {
    let logs = Running::start(arch, "get-item", "no-such-table")
        .await
        .stop()
        .await;
    let lines = log_lines(&logs);
    let warning = lines
        .iter()
        .find(|l| l["message"] == "DynamoDB warm-up failed; the first request will connect")
        .unwrap_or_else(|| panic!("{logs}"));
    assert_eq!(warning["level"], "WARN");
}

async fn a_malformed_warm_up_setting_fails_init_with_a_sentence(arch: Arch) {
    init_fails_saying(
        arch,
        "list-items",
        &[
            ("TABLE_NAME", "t"),
            USER_LIMIT[0],
            USER_LIMIT[1],
            ("DYNAMODB_WARM_UP", "yes"),
        ],
        "DYNAMODB_WARM_UP must be `true` or `false`, not \"yes\"",
    )
    .await;
}

/// The per-user limit every function is started with (the stack sets it from the stage).
const USER_LIMIT: [(&str, &str); 2] = [
    ("USER_LIMIT_REQUESTS", "1000"),
    ("USER_LIMIT_WINDOW_SECONDS", "60"),
];

async fn a_missing_or_malformed_user_limit_fails_init_with_a_sentence(arch: Arch) {
    init_fails_saying(
        arch,
        "get-item",
        &[("TABLE_NAME", "t"), USER_LIMIT[1]],
        "USER_LIMIT_REQUESTS must be a whole number from 1 to 1000000 (the stage's `userLimit`), not unset",
    )
    .await;
    init_fails_saying(
        arch,
        "get-item",
        &[("TABLE_NAME", "t"), USER_LIMIT[0], ("USER_LIMIT_WINDOW_SECONDS", "0")],
        "USER_LIMIT_WINDOW_SECONDS must be a whole number from 1 to 86400 (the stage's `userLimit`), not \"0\"",
    )
    .await;
}
