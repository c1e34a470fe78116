//! `make bench`: measures each function's release artifact under the Runtime API emulation
//! against DynamoDB Local, beside the raw DynamoDB call each route makes (the storage floor).
//!
//! Per function and run: zip and binary size, init (exec → first poll of `/next`), the first
//! invocation, warm p50/p99 over `BENCH_INVOCATIONS` (default 300), CPU per warm invocation and
//! peak RSS. `BENCH_RUNS` (default 3) runs; medians reported. Writes `target/bench/results.json`
//! and regenerates `docs/BENCHMARKS.md`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use items_core::table::TableSpec;
use lambda_emulator::{FunctionProcess, Outcome, RuntimeApi, unpack_bootstrap};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(15);
const FUNCTIONS: [&str; 5] = [
    "create-item",
    "get-item",
    "list-items",
    "update-item",
    "delete-item",
];
const OWNER: &str = "USER#7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f";

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

/// The fixture a warm invocation of `function` sends, for item `id`, without `If-Match`.
fn event(function: &str, id: &str) -> Vec<u8> {
    let case = match function {
        "create-item" => "create",
        "get-item" => "get",
        "list-items" => "list",
        "update-item" => "update",
        _ => "delete",
    };
    let path = root()
        .join("fixtures/events")
        .join(function)
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

async fn seed(client: &aws_sdk_dynamodb::Client, table: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = items_core::domain::ItemId::new().to_string();
        let s = |v: &str| AttributeValue::S(v.to_owned());
        client
            .put_item()
            .table_name(table)
            .item("PK", s(OWNER))
            .item("SK", s(&format!("ITEM#{id}")))
            .item("id", s(&id))
            .item("name", s("bench"))
            .item("description", s(""))
            .item("tags", AttributeValue::L(vec![]))
            .item("version", AttributeValue::N("1".into()))
            .item("createdAt", s("2026-11-29T00:00:00.000Z"))
            .item("updatedAt", s("2026-11-29T00:00:00.000Z"))
            .send()
            .await
            .expect("seed");
        ids.push(id);
    }
    ids
}

/// The raw SDK call a route makes, timed directly: the floor a function cannot beat.
async fn storage_floor(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    function: &str,
    ids: &[String],
) -> Vec<f64> {
    let key = |id: &str| {
        HashMap::from([
            ("PK".to_owned(), AttributeValue::S(OWNER.into())),
            ("SK".to_owned(), AttributeValue::S(format!("ITEM#{id}"))),
        ])
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let t = Instant::now();
        let ok = match function {
            "create-item" => {
                let mut item = key(&items_core::domain::ItemId::new().to_string());
                item.insert("name".into(), AttributeValue::S("floor".into()));
                client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .send()
                    .await
                    .is_ok()
            }
            "get-item" => client
                .get_item()
                .table_name(table)
                .set_key(Some(key(id)))
                .consistent_read(true)
                .send()
                .await
                .is_ok(),
            "list-items" => client
                .query()
                .table_name(table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
                .expression_attribute_values(":pk", AttributeValue::S(OWNER.into()))
                .expression_attribute_values(":p", AttributeValue::S("ITEM#".into()))
                .limit(10)
                .consistent_read(true)
                .send()
                .await
                .is_ok(),
            "update-item" => client
                .update_item()
                .table_name(table)
                .set_key(Some(key(id)))
                .update_expression("SET #v = #v + :one")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await
                .is_ok(),
            _ => client
                .delete_item()
                .table_name(table)
                .set_key(Some(key(id)))
                .condition_expression("attribute_exists(PK)")
                .send()
                .await
                .is_ok(),
        };
        assert!(ok, "{function}: the floor call failed");
        out.push(ms(t.elapsed()));
    }
    out
}

struct Sample {
    init_ms: f64,
    first_ms: f64,
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

async fn run_once(
    function: &str,
    launch: &Launch,
    table: &str,
    endpoint: &str,
    events: &[Vec<u8>],
) -> Sample {
    let api = RuntimeApi::start().await.expect("api");
    let env = [
        ("TABLE_NAME", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
    ];
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
    let init = first_poll - process.spawned_at;
    let first = invoke(&api, function, &events[0]).await;
    let cpu_before = process.cpu_ticks().unwrap_or(0);
    let mut warm: Vec<f64> = Vec::with_capacity(events.len());
    for e in &events[1..] {
        warm.push(ms(invoke(&api, function, e).await));
    }
    let cpu_ticks = process.cpu_ticks().unwrap_or(0).saturating_sub(cpu_before);
    let rss = process.peak_rss_kib().unwrap_or(0);
    process.stop().await;
    warm.sort_by(f64::total_cmp);
    Sample {
        init_ms: ms(init),
        first_ms: ms(first),
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
        "coldStartMs": pick(|s| s.init_ms + s.first_ms),
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

fn markdown(doc: &Value) -> String {
    let header = "| function | zip | binary | init | first invocation | warm p50 | warm p99 | storage floor p50 | CPU / warm invocation | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n";
    let mut table = String::from(header);
    for r in doc["functions"].as_array().into_iter().flatten() {
        table.push_str(&row(r));
    }
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
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
    let rust: Vec<&Value> = doc["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["kind"] == "rust")
        .collect();
    let hello = find(doc, "hello-floor");
    let worst = |key: &dyn Fn(&Value) -> f64| {
        rust.iter()
            .map(|r| (key(r), r["function"].as_str().unwrap_or("")))
            .fold(
                (f64::NEG_INFINITY, ""),
                |a, b| if b.0 > a.0 { b } else { a },
            )
    };
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
            "init ≤ 1.5 × hello-world init",
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
    format!(
        "# Benchmarks\n\nGenerated by `make bench`; do not edit by hand. Machine: {}. Medians of {} runs; warm figures over {} invocations per run. Init is exec → first poll of the Runtime API's `/next`. Latencies are measured at the Runtime API emulation (event handed over → response posted) against DynamoDB Local on loopback; the storage floor is the same DynamoDB call issued directly by the (release-built) harness with the same SDK. CPU is user + system time from `/proc`, in 10 ms ticks averaged over the warm invocations. `hello-floor` is a hello-world `lambda_runtime` function with the same release profile: the runtime floor.\n\n## Every function\n\n{}\n## Rust against the Python 3.11 + boto3 baseline (AWS's `awslambdaric`, same events, same DynamoDB Local)\n\n{}\n## Targets\n\n{}\n{}Raw results: `target/bench/results.json`.\n",
        doc["machine"].as_str().unwrap_or(""),
        doc["runs"],
        doc["invocationsPerRun"],
        table,
        ratios,
        targets,
        variants_section(),
    )
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
        "## Release profile: what each choice buys (get-item, `scripts/bench-variants.sh`)\n\nEach variant changes one setting of the shipped profile (`opt-level = \"z\"`, fat LTO, one codegen unit, `panic = \"abort\"`, stripped) and is built clean in its own target dir.\n\n| variant | setting | clean build (one function) | zip | init | warm p50 | peak RSS |\n|---|---|---|---|---|---|---|\n",
    );
    for v in variants.as_array().into_iter().flatten() {
        let r = &v["result"]["functions"][0];
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} MB | {:.1} ms | {:.2} ms | {:.1} MiB |\n",
            v["variant"].as_str().unwrap_or(""),
            v["setting"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("(as shipped)"),
            v["cleanBuildSeconds"]
                .as_u64()
                .map_or("–".to_owned(), |s| format!("{s} s")),
            f("zipBytes") / 1e6,
            f("initMs"),
            f("warmP50Ms"),
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
    let client = items_core::config::dynamodb_local_client(&endpoint);
    let dir = std::env::temp_dir().join(format!("bench-{}", std::process::id()));
    // BENCH_FUNCTIONS=get-item,create-item measures only those (profile variants, quick runs);
    // the floors and the Python baseline run only in a full run.
    let only: Option<Vec<String>> = std::env::var("BENCH_FUNCTIONS")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let selected: Vec<&str> = FUNCTIONS
        .into_iter()
        .filter(|f| only.as_ref().is_none_or(|o| o.iter().any(|x| x == f)))
        .collect();
    let mut results = Vec::new();
    for function in selected {
        let (bootstrap, zip_bytes) = unpack(function, &dir);
        let binary_bytes = std::fs::metadata(&bootstrap).expect("bootstrap").len();
        let launch = Launch::Binary(bootstrap);
        let mut samples = Vec::new();
        let mut floors = Vec::new();
        for _ in 0..runs {
            let table = fresh_table(&client).await;
            let ids = seed(&client, &table, n + 1).await;
            let events: Vec<Vec<u8>> = ids.iter().map(|id| event(function, id)).collect();
            samples.push(run_once(function, &launch, &table, &endpoint, &events).await);
            let floor_ids = seed(&client, &table, n).await;
            let mut f = storage_floor(&client, &table, function, &floor_ids).await;
            f.sort_by(f64::total_cmp);
            floors.push(percentile(&f, 0.5));
        }
        let r = summary(function, "rust", zip_bytes, binary_bytes, &samples, floors);
        eprintln!("{r}");
        results.push(r);
    }

    if only.is_some() {
        let doc = json!({ "machine": machine(), "runs": runs, "invocationsPerRun": n, "functions": results });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        return;
    }

    // The runtime floor: hello world on lambda_runtime, same profile.
    let (hello, hello_zip) = unpack("hello-floor", &dir);
    let hello_bytes = std::fs::metadata(&hello).expect("hello").len();
    let launch = Launch::Binary(hello);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let events = vec![b"{}".to_vec(); n + 1];
        samples.push(run_once("hello-floor", &launch, "unused", &endpoint, &events).await);
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
        for (function, handler) in [
            ("get-item", "items.get_item"),
            ("create-item", "items.create_item"),
        ] {
            let mut samples = Vec::new();
            for _ in 0..runs {
                let table = fresh_table(&client).await;
                let ids = seed(&client, &table, n + 1).await;
                let events: Vec<Vec<u8>> = ids.iter().map(|id| event(function, id)).collect();
                samples.push(
                    run_once(
                        function,
                        &Launch::Python(handler),
                        &table,
                        &endpoint,
                        &events,
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
    let doc =
        json!({ "machine": machine(), "runs": runs, "invocationsPerRun": n, "functions": results });
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
