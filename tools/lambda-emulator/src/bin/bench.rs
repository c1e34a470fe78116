//! `make bench`: measures each function's release artifact under the Runtime API emulation
//! against DynamoDB Local, beside the raw DynamoDB call each route makes (the storage floor).
//!
//! Per function and run: zip and binary size, init (exec → first poll of `/next`), the first
//! invocation, warm p50/p99 over `BENCH_INVOCATIONS` (default 300), CPU per warm invocation and
//! peak RSS. `BENCH_RUNS` (default 3) runs; medians reported. Writes `target/bench/results.json`
//! and regenerates `docs/BENCHMARKS.md`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use items_core::table::TableSpec;
use items_core::{DynamoStore, ItemStore, Route};
use lambda_emulator::{FunctionProcess, Outcome, RuntimeApi, unpack_bootstrap};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(15);
/// The `sub` of the fixtures' caller: the owner of every item the harness writes.
const SUB: &str = "7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Where the zips are: `BENCH_LAMBDA_DIR` (e.g. a profile variant's `--lambda-dir`) or
/// `target/lambda`.
fn lambda_dir() -> PathBuf {
    std::env::var_os("BENCH_LAMBDA_DIR").map_or_else(|| root().join("target/lambda"), PathBuf::from)
}

fn unpack(function: &str, dir: &Path) -> (PathBuf, u64) {
    let zip = lambda_dir().join(function).join("bootstrap.zip");
    assert!(
        zip.exists(),
        "{} missing: run `make build ARCH=x86_64`",
        zip.display()
    );
    let bootstrap = unpack_bootstrap(&zip, &dir.join(function)).expect("unzip");
    (bootstrap, std::fs::metadata(&zip).expect("zip").len())
}

/// The fixture a warm invocation of `route` sends, for item `id`, without `If-Match`.
fn event(route: Route, id: &str) -> Vec<u8> {
    let case = match route {
        Route::CreateItem => "create",
        Route::GetItem => "get",
        Route::ListItems => "list",
        Route::UpdateItem => "update",
        Route::DeleteItem => "delete",
    };
    let path = root()
        .join("fixtures/events")
        .join(route.function_name())
        .join(format!("{case}.json"));
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut v: Value = serde_json::from_str(&text.replace("{{ID}}", id)).expect("json");
    for h in ["headers", "multiValueHeaders"] {
        if let Some(m) = v[h].as_object_mut() {
            m.remove("If-Match");
        }
    }
    serde_json::to_vec(&v).expect("json")
}

/// `n` items of the fixtures' owner, written by the store the functions use.
async fn seed(client: &aws_sdk_dynamodb::Client, table: &str, n: usize) -> Vec<String> {
    use items_core::domain::{Description, Item, ItemId, Name, Owner, Tags, Version};
    let store = DynamoStore::new(client.clone(), table);
    let owner = Owner::parse(SUB).expect("owner");
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let item = Item {
            id: ItemId::new(),
            name: Name::parse("bench").expect("name"),
            description: Description::default(),
            tags: Tags::default(),
            version: Version::new(1).expect("version"),
            created_at: seeded_at(),
            updated_at: seeded_at(),
        };
        store.create(&owner, &item).await.expect("seed");
        ids.push(item.id.to_string());
    }
    ids
}

/// The time the harness's own items carry.
fn seeded_at() -> items_core::clock::Timestamp {
    items_core::clock::Timestamp::parse("2026-11-29T00:00:00.000Z").expect("a timestamp")
}

/// The fixture's JSON body for `route`, as an object.
fn fixture_body(route: Route, case: &str) -> serde_json::Map<String, Value> {
    let path = root()
        .join("fixtures/events")
        .join(route.function_name())
        .join(format!("{case}.json"));
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let body: Value = serde_json::from_str(event["body"].as_str().expect("a body")).expect("json");
    body.as_object().expect("an object").clone()
}

/// The DynamoDB call each route makes, issued directly through the store the function uses
/// (same SDK client settings, same request, same item shape), timed in the harness: the floor
/// a function cannot beat. What a function adds over it is the Lambda runtime, the event and
/// response JSON, validation and the log line.
async fn storage_floor(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    route: Route,
    ids: &[String],
) -> Vec<f64> {
    use items_core::domain::{Item, ItemId, ItemPatch, NewItem, Owner, Version};
    use items_core::store::Expect;
    let store = DynamoStore::new(client.clone(), table);
    let owner = Owner::parse(SUB).expect("owner");
    let new = NewItem::from_json(&fixture_body(Route::CreateItem, "create")).expect("create body");
    let patch =
        ItemPatch::from_json(&fixture_body(Route::UpdateItem, "update")).expect("patch body");
    let now = seeded_at();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let id = ItemId::parse(id).expect("id");
        let t = Instant::now();
        let ok = match route {
            Route::CreateItem => {
                let item = Item {
                    id: ItemId::new(),
                    name: new.name.clone(),
                    description: new.description.clone(),
                    tags: new.tags.clone(),
                    version: Version::new(1).expect("version"),
                    created_at: now,
                    updated_at: now,
                };
                store.create(&owner, &item).await.is_ok()
            }
            Route::GetItem => matches!(store.get(&owner, id).await, Ok(Some(_))),
            Route::ListItems => store.list(&owner, 10, None).await.is_ok(),
            Route::UpdateItem => store
                .update(&owner, id, &patch, &Expect::Exists, now)
                .await
                .is_ok(),
            Route::DeleteItem => store.delete(&owner, id, &Expect::Exists).await.is_ok(),
        };
        assert!(ok, "{route:?}: the floor call failed");
        out.push(ms(t.elapsed()));
    }
    out
}

/// The median of [`storage_floor`] over `ids`.
async fn floor(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    route: Route,
    ids: &[String],
) -> f64 {
    let mut f = storage_floor(client, table, route, ids).await;
    f.sort_by(f64::total_cmp);
    percentile(&f, 0.5)
}

struct Sample {
    init_ms: f64,
    first_ms: f64,
    cold_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_invocation: f64,
    peak_rss_kib: f64,
}

/// How a measured function is started.
enum Launch {
    /// A `bootstrap` binary from a release zip.
    Binary(PathBuf),
    /// `python -m awslambdaric <handler>` in `bench/python`, from the bench venv.
    Python(&'static str),
}

fn python_dir() -> PathBuf {
    root().join("bench/python")
}

async fn invoke(api: &RuntimeApi, function: &str, event: &[u8]) -> Duration {
    let t = Instant::now();
    let out = api.invoke(event, TIMEOUT).await.expect("invoke");
    let elapsed = t.elapsed();
    let Outcome::Response(body) = out else {
        panic!("{function}: error {out:?}")
    };
    let status = serde_json::from_slice::<Value>(&body).expect("json")["statusCode"]
        .as_u64()
        .unwrap_or(0);
    assert!((200..300).contains(&status), "{function}: status {status}");
    elapsed
}

/// How many cold starts each run makes (init and first invocation are their medians), and
/// how many warm invocations follow the last of them.
struct Plan {
    cold_starts: usize,
    warm: usize,
}

impl Plan {
    /// Distinct items a run needs: one per cold start's first invocation, one per warm one.
    fn events(&self) -> usize {
        self.cold_starts + self.warm
    }
}

async fn run_once(
    function: &str,
    launch: &Launch,
    table: &str,
    endpoint: &str,
    events: &[Vec<u8>],
    plan: &Plan,
    extra_env: &[(&str, &str)],
) -> Sample {
    let mut env = vec![
        ("TABLE_NAME", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
    ];
    env.extend_from_slice(extra_env);
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    let mut last = None;
    for (i, first_event) in events[..plan.cold_starts].iter().enumerate() {
        let api = RuntimeApi::start().await.expect("api");
        let process = match launch {
            Launch::Binary(bootstrap) => FunctionProcess::spawn(bootstrap, &api, function, &env),
            Launch::Python(handler) => FunctionProcess::spawn_program(
                &root().join(".venv-bench/bin/python"),
                &["-m", "awslambdaric", handler],
                &python_dir(),
                &api,
                function,
                &env,
            ),
        }
        .expect("spawn");
        let first_poll = api.wait_for_first_poll(TIMEOUT).await.expect("init");
        inits.push(ms(first_poll - process.spawned_at));
        firsts.push(ms(invoke(&api, function, first_event).await));
        if i + 1 == plan.cold_starts {
            last = Some((api, process));
        } else {
            process.stop().await;
        }
    }
    let (api, process) = last.expect("at least one cold start");
    let cpu_before = process.cpu_ticks().unwrap_or(0);
    let mut warm: Vec<f64> = Vec::with_capacity(plan.warm);
    for e in &events[plan.cold_starts..] {
        warm.push(ms(invoke(&api, function, e).await));
    }
    let cpu_ticks = process.cpu_ticks().unwrap_or(0).saturating_sub(cpu_before);
    let rss = process.peak_rss_kib().unwrap_or(0);
    process.stop().await;
    warm.sort_by(f64::total_cmp);
    Sample {
        init_ms: median(inits.clone()),
        first_ms: median(firsts.clone()),
        cold_ms: median(inits.iter().zip(&firsts).map(|(i, f)| i + f).collect()),
        p50_ms: percentile(&warm, 0.5),
        p99_ms: percentile(&warm, 0.99),
        // Clock ticks are 10 ms; averaged over hundreds of invocations.
        cpu_us_per_invocation: cpu_ticks as f64 * 10_000.0 / warm.len().max(1) as f64,
        peak_rss_kib: rss as f64,
    }
}

fn summary(
    label: &str,
    kind: &str,
    zip_bytes: u64,
    binary_bytes: u64,
    samples: &[Sample],
    floors: Vec<f64>,
) -> Value {
    let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    json!({
        "function": label,
        "kind": kind,
        "zipBytes": zip_bytes,
        "binaryBytes": binary_bytes,
        "initMs": pick(|s| s.init_ms),
        "firstInvocationMs": pick(|s| s.first_ms),
        "coldStartMs": pick(|s| s.cold_ms),
        "warmP50Ms": pick(|s| s.p50_ms),
        "warmP99Ms": pick(|s| s.p99_ms),
        "cpuUsPerWarmInvocation": pick(|s| s.cpu_us_per_invocation),
        "peakRssKiB": pick(|s| s.peak_rss_kib),
        "storageFloorP50Ms": if floors.is_empty() { Value::Null } else { json!(median(floors)) },
    })
}

async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = format!("bench-{}", uuid::Uuid::new_v4().simple());
    TableSpec::from_contract()
        .expect("api/table.json")
        .create(client, &table)
        .await
        .expect("table");
    table
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores ({cpu}), x86_64 Linux, DynamoDB Local in memory on loopback")
}

fn row(r: &Value) -> String {
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let size = |k: &str| {
        let b = f(k);
        if b > 0.0 {
            format!("{:.2} MB", b / 1e6)
        } else {
            "–".to_owned()
        }
    };
    let floor = r["storageFloorP50Ms"]
        .as_f64()
        .map_or("–".to_owned(), |v| format!("{v:.2} ms"));
    format!(
        "| {} | {} | {} | {:.1} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.0} µs | {:.1} MiB |\n",
        r["function"].as_str().unwrap_or(""),
        size("zipBytes"),
        size("binaryBytes"),
        f("initMs"),
        f("firstInvocationMs"),
        f("warmP50Ms"),
        f("warmP99Ms"),
        floor,
        f("cpuUsPerWarmInvocation"),
        f("peakRssKiB") / 1024.0,
    )
}

fn find<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    doc["functions"]
        .as_array()?
        .iter()
        .find(|r| r["function"] == name)
}

/// The largest `key` among `rows`, with the function it belongs to.
fn worst_of<'a>(rows: &[&'a Value], key: &dyn Fn(&Value) -> f64) -> (f64, &'a str) {
    rows.iter()
        .map(|r| (key(r), r["function"].as_str().unwrap_or("")))
        .fold(
            (f64::NEG_INFINITY, ""),
            |a, b| if b.0 > a.0 { b } else { a },
        )
}

fn markdown(doc: &Value) -> String {
    let header = "| function | zip | binary | init | first invocation | warm p50 | warm p99 | storage floor p50 | CPU / warm invocation | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n";
    let mut table = String::from(header);
    for r in doc["functions"].as_array().into_iter().flatten() {
        if r["kind"] != "rust, warm-up off" {
            table.push_str(&row(r));
        }
    }
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let mut warm_up = String::from(
        "| function | init on / off | first invocation on / off | cold start (init + first) on / off |\n|---|---|---|---|\n",
    );
    for function in Route::ALL.map(Route::function_name) {
        if let (Some(on), Some(off)) = (
            find(doc, function),
            find(doc, &format!("{function} (warm-up off)")),
        ) {
            let pair = |k: &str| format!("{:.2} / {:.2} ms", f(on, k), f(off, k));
            warm_up.push_str(&format!(
                "| {function} | {} | {} | {} |\n",
                pair("initMs"),
                pair("firstInvocationMs"),
                pair("coldStartMs"),
            ));
        }
    }
    let mut ratios = String::from(
        "| route | cold start (init + first) Rust / Python | warm p50 | CPU / warm invocation | peak RSS |\n|---|---|---|---|---|\n",
    );
    for function in ["get-item", "create-item"] {
        if let (Some(rust), Some(py)) = (
            find(doc, function),
            find(doc, &format!("{function} (Python)")),
        ) {
            let x = |k: &str| f(py, k) / f(rust, k);
            ratios.push_str(&format!(
                "| {function} | {:.2} ms / {:.1} ms = **{:.0}× faster** | {:.1}× | {:.1}× | {:.1} / {:.1} MiB = **{:.1}× smaller** |\n",
                f(rust, "coldStartMs"),
                f(py, "coldStartMs"),
                x("coldStartMs"),
                x("warmP50Ms"),
                x("cpuUsPerWarmInvocation"),
                f(rust, "peakRssKiB") / 1024.0,
                f(py, "peakRssKiB") / 1024.0,
                x("peakRssKiB"),
            ));
        }
    }
    let mut targets = String::from("| target | worst function | met |\n|---|---|---|\n");
    let of_kind = |kind: &str| -> Vec<&Value> {
        doc["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["kind"] == kind)
            .collect()
    };
    let rust = of_kind("rust");
    let rust_off = of_kind("rust, warm-up off");
    let hello = find(doc, "hello-floor");
    let worst = |key: &dyn Fn(&Value) -> f64| worst_of(&rust, key);
    let mut check = |name: &str, (value, function): (f64, &str), limit: f64, unit: &str| {
        let ok = value <= limit;
        targets.push_str(&format!(
            "| {name} | {function}: {value:.2}{unit} (limit {limit:.2}{unit}) | {} |\n",
            if ok { "yes" } else { "**no**" }
        ));
    };
    check(
        "zip ≤ 2.5 MB",
        worst(&|r| f(r, "zipBytes") / 1e6),
        2.5,
        " MB",
    );
    check(
        "peak RSS ≤ 10 MB",
        worst(&|r| f(r, "peakRssKiB") * 1024.0 / 1e6),
        10.0,
        " MB",
    );
    if let Some(h) = hello {
        check(
            "init ≤ 1.5 × hello-world init (warm-up off: the runtime and client alone)",
            worst_of(&rust_off, &|r| f(r, "initMs") / f(h, "initMs")),
            1.5,
            "×",
        );
        check(
            "init ≤ 1.5 × hello-world init (as shipped: init includes the warm-up call)",
            worst(&|r| f(r, "initMs") / f(h, "initMs")),
            1.5,
            "×",
        );
    }
    check(
        "warm p50 ≤ storage floor + 0.3 ms",
        worst(&|r| f(r, "warmP50Ms") - f(r, "storageFloorP50Ms")),
        0.3,
        " ms over",
    );
    for (function, label) in [("get-item", "get"), ("create-item", "create")] {
        if let (Some(rust), Some(py)) = (
            find(doc, function),
            find(doc, &format!("{function} (Python)")),
        ) {
            let faster = f(py, "coldStartMs") / f(rust, "coldStartMs");
            targets.push_str(&format!(
                "| cold start ≥ 20× faster than Python ({label}) | {function}: {faster:.1}× | {} |\n",
                if faster >= 20.0 { "yes" } else { "**no**" }
            ));
            let smaller = f(py, "peakRssKiB") / f(rust, "peakRssKiB");
            targets.push_str(&format!(
                "| peak RSS ≥ 4× smaller than Python ({label}) | {function}: {smaller:.1}× | {} |\n",
                if smaller >= 4.0 { "yes" } else { "**no**" }
            ));
        }
    }
    format!(
        "# Benchmarks\n\nGenerated by `make bench`; do not edit by hand. Machine: {}. Medians of {} runs. Each run cold-starts a function {} times (init and first invocation are the medians of those), then makes {} warm invocations on the last process. Init is exec → first poll of the Runtime API's `/next`. Latencies are measured at the Runtime API emulation (event handed over → response posted) against DynamoDB Local on loopback; the storage floor is the same DynamoDB call made directly through the same store code by the (release-built) harness, just before and just after each function's run (the mean of the two medians). CPU is user + system time from `/proc`, in 10 ms ticks averaged over the warm invocations. `hello-floor` is a hello-world `lambda_runtime` function with the same release profile: the runtime floor.\n\n## Every function (as the stack ships it: DynamoDB warm-up on)\n\n{}\n## The DynamoDB warm-up during init, measured both ways\n\nWith `DYNAMODB_WARM_UP=true` (the stack's default, `dynamodbWarmUp` in `config/stages.json`) each function makes one harmless call during init (`GetItem`/`Query` of a key no item has, or a conditional `DeleteItem`/`UpdateItem` whose condition fails), so the first request finds the connection open and the SDK's lazy set-up done. Here DynamoDB Local is plain HTTP on loopback, so this moves only the TCP connect and that set-up; on Lambda the call also moves DNS and the TLS handshake, which cost far more, into init. Whether that shortens a request-driven cold start on Lambda depends on how much faster init runs than the handler (init is reported to run with burst CPU, not promised) against the warm-up call's own round trip; where Lambda initialises an environment ahead of any request (provisioned concurrency, proactive initialisation) the first request gains the whole handshake. Each function logs `DynamoDB connection warmed up` with `durationMs` at init, so the cost on Lambda can be read from CloudWatch and compared with the setting off.\n\n{}\n## Rust against the Python 3.11 + boto3 baseline (AWS's `awslambdaric`, same events, same DynamoDB Local)\n\n{}\n## Targets\n\n{}\n{}{}Raw results: `target/bench/results.json`.\n",
        doc["machine"].as_str().unwrap_or(""),
        doc["runs"],
        doc["coldStartsPerRun"],
        doc["invocationsPerRun"],
        table,
        warm_up,
        ratios,
        targets,
        variants_section(),
        history_section(),
    )
}

/// The hand-written record of what each optimisation bought (`bench/HISTORY.md`), appended as
/// it is: its figures were measured once, at the step it describes, and say so.
fn history_section() -> String {
    std::fs::read_to_string(root().join("bench/HISTORY.md"))
        .map(|t| format!("{}\n", t.trim_end()))
        .unwrap_or_default()
}

/// What each release-profile choice buys, from `scripts/bench-variants.sh`'s last run
/// (`target/bench/variants.json`), when there is one.
fn variants_section() -> String {
    let Some(variants) = std::fs::read_to_string(root().join("target/bench/variants.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return String::new();
    };
    let mut out = String::from(
        "## Release profile: what each choice buys (get-item, `scripts/bench-variants.sh`)\n\nEach variant changes one setting of the shipped profile (`opt-level = \"z\"`, fat LTO, one codegen unit, `panic = \"abort\"`, stripped) and is built clean in its own target dir. Init and cold start are with the warm-up off (the binary's own start); warm p50 is over the storage floor measured in the same run, so variants measured minutes apart compare.\n\n| variant | setting | clean build (one function) | zip | init | cold start | warm p50 over the floor | peak RSS |\n|---|---|---|---|---|---|---|---|\n",
    );
    for v in variants.as_array().into_iter().flatten() {
        let r = &v["result"]["functions"][0];
        let off = &v["result"]["functions"][1];
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let f_off = |k: &str| off[k].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} MB | {:.2} ms | {:.2} ms | +{:.2} ms | {:.1} MiB |\n",
            v["variant"].as_str().unwrap_or(""),
            v["setting"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("(as shipped)"),
            v["cleanBuildSeconds"]
                .as_u64()
                .map_or("–".to_owned(), |s| format!("{s} s")),
            f("zipBytes") / 1e6,
            f_off("initMs"),
            f_off("coldStartMs"),
            f("warmP50Ms") - f("storageFloorP50Ms"),
            f("peakRssKiB") / 1024.0,
        ));
    }
    out.push('\n');
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = env_usize("BENCH_RUNS", 3);
    let n = env_usize("BENCH_INVOCATIONS", 300);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local (make bench sets it)");
    let client = items_core::config::dynamodb_local_client(&endpoint).expect("client");
    let dir = std::env::temp_dir().join(format!("bench-{}", std::process::id()));
    // BENCH_FUNCTIONS=get-item,create-item measures only those (profile variants, quick runs);
    // the floors and the Python baseline run only in a full run.
    let only: Option<Vec<String>> = std::env::var("BENCH_FUNCTIONS")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let selected: Vec<Route> = Route::ALL
        .into_iter()
        .filter(|r| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|x| x == r.function_name()))
        })
        .collect();
    // DynamoDB Local is a JVM: until its JIT has compiled the request paths, the first function
    // measured would meet a slower database than the last. Exercise every route's call first.
    let warm_table = fresh_table(&client).await;
    for route in Route::ALL {
        let ids = seed(&client, &warm_table, 1000).await;
        storage_floor(&client, &warm_table, route, &ids).await;
    }
    let plan = Plan {
        cold_starts: env_usize("BENCH_COLD_STARTS", 10).max(1),
        warm: n,
    };
    let mut results = Vec::new();
    for route in selected {
        let function = route.function_name();
        let (bootstrap, zip_bytes) = unpack(function, &dir);
        let binary_bytes = std::fs::metadata(&bootstrap).expect("bootstrap").len();
        let launch = Launch::Binary(bootstrap);
        // As the stack ships it (warm-up on), then with the warm-up off: the setting measured
        // both ways in the same runs.
        let (mut on, mut off) = (Vec::new(), Vec::new());
        let mut floors = Vec::new();
        for _ in 0..runs {
            for (warm_up, samples) in [("true", &mut on), ("false", &mut off)] {
                let table = fresh_table(&client).await;
                let ids = seed(&client, &table, plan.events()).await;
                let events: Vec<Vec<u8>> = ids.iter().map(|id| event(route, id)).collect();
                let env = [(items_core::config::WARM_UP_VAR, warm_up)];
                let run = run_once(function, &launch, &table, &endpoint, &events, &plan, &env);
                if warm_up == "false" {
                    samples.push(run.await);
                    continue;
                }
                // Beside the shipped setting, the storage floor: measured just before and just
                // after the function's run and averaged, so that DynamoDB Local drifting during
                // the run cancels out.
                let floor_ids = seed(&client, &table, 2 * n).await;
                let before = floor(&client, &table, route, &floor_ids[..n]).await;
                samples.push(run.await);
                let after = floor(&client, &table, route, &floor_ids[n..]).await;
                floors.push((before + after) / 2.0);
            }
        }
        let r = summary(function, "rust", zip_bytes, binary_bytes, &on, floors);
        eprintln!("{r}");
        results.push(r);
        let r = summary(
            &format!("{function} (warm-up off)"),
            "rust, warm-up off",
            zip_bytes,
            binary_bytes,
            &off,
            Vec::new(),
        );
        eprintln!("{r}");
        results.push(r);
    }

    if only.is_some() {
        let doc = json!({ "machine": machine(), "runs": runs, "coldStartsPerRun": plan.cold_starts, "invocationsPerRun": n, "functions": results });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        return;
    }

    // The runtime floor: hello world on lambda_runtime, same profile.
    let (hello, hello_zip) = unpack("hello-floor", &dir);
    let hello_bytes = std::fs::metadata(&hello).expect("hello").len();
    let launch = Launch::Binary(hello);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let events = vec![b"{}".to_vec(); plan.events()];
        samples.push(
            run_once(
                "hello-floor",
                &launch,
                "unused",
                &endpoint,
                &events,
                &plan,
                &[],
            )
            .await,
        );
    }
    let r = summary(
        "hello-floor",
        "runtime floor",
        hello_zip,
        hello_bytes,
        &samples,
        Vec::new(),
    );
    eprintln!("{r}");
    results.push(r);

    // The baseline: Python 3.11 + boto3 under awslambdaric, same events, same DynamoDB Local.
    if root().join(".venv-bench/bin/python").exists() {
        for (route, handler) in [
            (Route::GetItem, "items.get_item"),
            (Route::CreateItem, "items.create_item"),
        ] {
            let function = route.function_name();
            let mut samples = Vec::new();
            for _ in 0..runs {
                let table = fresh_table(&client).await;
                let ids = seed(&client, &table, plan.events()).await;
                let events: Vec<Vec<u8>> = ids.iter().map(|id| event(route, id)).collect();
                samples.push(
                    run_once(
                        function,
                        &Launch::Python(handler),
                        &table,
                        &endpoint,
                        &events,
                        &plan,
                        &[],
                    )
                    .await,
                );
            }
            let r = summary(
                &format!("{function} (Python)"),
                "python baseline",
                0,
                0,
                &samples,
                Vec::new(),
            );
            eprintln!("{r}");
            results.push(r);
        }
    } else {
        eprintln!("no .venv-bench: the Python baseline is skipped (scripts/bench.sh makes it)");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let doc = json!({ "machine": machine(), "runs": runs, "coldStartsPerRun": plan.cold_starts, "invocationsPerRun": n, "functions": results });
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&doc).expect("json") + "\n",
    )
    .expect("write results.json");
    let text = markdown(&doc);
    std::fs::write(root().join("docs/BENCHMARKS.md"), &text).expect("write docs/BENCHMARKS.md");
    println!("{text}");
}
