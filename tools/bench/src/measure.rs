//! Measuring: each release artifact as a process under the Runtime API emulation, fed the
//! fixtures' events against DynamoDB Local, and the storage floor (the same DynamoDB call made
//! directly through the store the functions use). Produces [`Row`]s; says nothing about them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use items_core::clock::{Clock, SystemClock, Timestamp};
use items_core::domain::{
    Description, Item, ItemId, ItemPatch, Name, NewItem, Owner, Tags, Version,
};
use items_core::limit::UserLimit;
use items_core::store::Expect;
use items_core::table::TableSpec;
use items_core::{DynamoStore, ItemStore, Route, UserLimitStore};
use lambda_emulator::{FunctionProcess, Outcome, RuntimeApi, unpack_bootstrap};

pub use crate::machine::{arch, lambda_dir, machine, root};
use serde_json::Value;

use crate::stats::{median, percentile};
use crate::{HELLO_FLOOR, Kind, Row};

const TIMEOUT: Duration = Duration::from_secs(15);
/// The `sub` of the fixtures' caller: the owner of every item the harness writes.
const SUB: &str = "7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f";
/// The time the harness's own items carry.
const SEEDED_AT: &str = "2026-11-29T00:00:00.000Z";
/// The per-user limit every measured function runs with: every request is counted, as deployed,
/// and none is refused.
const USER_LIMIT_REQUESTS: &str = "1000000";
const USER_LIMIT_WINDOW_SECONDS: &str = "60";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What a run measures, from the environment `make bench` documents.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `BENCH_RUNS` (3): runs per function; the rows are their medians.
    pub runs: usize,
    /// `BENCH_COLD_STARTS` (10): cold starts per run; init and first invocation are their medians.
    pub cold_starts: usize,
    /// `BENCH_INVOCATIONS` (300): warm invocations on the last process of a run.
    pub warm: usize,
    /// `BENCH_FUNCTIONS=get-item,create-item`: only those (no floors, no baseline).
    pub only: Option<Vec<String>>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`: DynamoDB Local.
    pub endpoint: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            runs: env_usize("BENCH_RUNS", 3),
            cold_starts: env_usize("BENCH_COLD_STARTS", 10).max(1),
            warm: env_usize("BENCH_INVOCATIONS", 300),
            only: std::env::var("BENCH_FUNCTIONS")
                .ok()
                .map(|v| v.split(',').map(str::to_owned).collect()),
            endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| {
                "AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local (make bench sets it)"
                    .to_owned()
            })?,
        })
    }

    /// The routes to measure.
    pub fn routes(&self) -> Vec<Route> {
        Route::ALL
            .into_iter()
            .filter(|r| {
                self.only
                    .as_ref()
                    .is_none_or(|o| o.iter().any(|x| x == r.function_name()))
            })
            .collect()
    }

    /// Distinct items a run needs: one per cold start's first invocation, one per warm one.
    fn events(&self) -> usize {
        self.cold_starts + self.warm
    }
}

/// How a measured function is started.
enum Launch {
    /// A `bootstrap` binary from a release zip.
    Binary(PathBuf),
    /// `python -m awslambdaric <handler>` in `bench/python`, from the bench venv.
    Python(&'static str),
}

/// One run of one function.
struct Sample {
    init_ms: f64,
    first_ms: f64,
    cold_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_invocation: f64,
    peak_rss_kib: f64,
}

/// A zip's and its binary's sizes.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    zip: u64,
    binary: u64,
}

/// The medians of `samples` as a row.
fn row(function: &str, kind: Kind, sizes: Sizes, samples: &[Sample], floors: Vec<f64>) -> Row {
    let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Row {
        function: function.to_owned(),
        kind,
        zip_bytes: sizes.zip,
        binary_bytes: sizes.binary,
        init_ms: pick(|s| s.init_ms),
        first_invocation_ms: pick(|s| s.first_ms),
        cold_start_ms: pick(|s| s.cold_ms),
        warm_p50_ms: pick(|s| s.p50_ms),
        warm_p99_ms: pick(|s| s.p99_ms),
        cpu_us_per_warm_invocation: pick(|s| s.cpu_us_per_invocation),
        peak_rss_kib: pick(|s| s.peak_rss_kib),
        storage_floor_p50_ms: (!floors.is_empty()).then(|| median(floors)),
    }
}

/// The harness: a DynamoDB Local client and a scratch directory for the unzipped binaries.
#[derive(Debug)]
pub struct Bench {
    settings: Settings,
    client: Client,
    dir: PathBuf,
}

impl Bench {
    pub fn new(settings: Settings) -> Self {
        let client = items_core::config::dynamodb_local_client(&settings.endpoint)
            .unwrap_or_else(|e| panic!("a client for DynamoDB Local: {e}"));
        let dir = std::env::temp_dir().join(format!("bench-{}", std::process::id()));
        Self {
            settings,
            client,
            dir,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// DynamoDB Local is a JVM: until its JIT has compiled the request paths, the first function
    /// measured would meet a slower database than the last. Exercises every route's call first.
    pub async fn warm_dynamodb_local(&self) {
        let table = self.fresh_table().await;
        for route in Route::ALL {
            let ids = self.seed(&table, 1000).await;
            self.storage_floor(&table, route, &ids).await;
        }
    }

    /// A route's function as shipped (warm-up on, beside its storage floor) and with the
    /// warm-up off, measured in the same runs.
    pub async fn function(&self, route: Route) -> [Row; 2] {
        let function = route.function_name();
        let (bootstrap, sizes) = self.unpack(function);
        let launch = Launch::Binary(bootstrap);
        let n = self.settings.warm;
        let (mut on, mut off, mut floors) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.settings.runs {
            for warm_up in [true, false] {
                let table = self.fresh_table().await;
                let events = self.events(route, &table).await;
                let env = [(
                    items_core::config::WARM_UP_VAR,
                    if warm_up { "true" } else { "false" },
                )];
                let run = self.run_once(function, &launch, &table, &events, &env);
                if !warm_up {
                    off.push(run.await);
                    continue;
                }
                // The storage floor is measured just before and just after the function's run
                // and averaged, so that DynamoDB Local drifting during the run cancels out.
                let ids = self.seed(&table, 2 * n).await;
                let before = self.floor(&table, route, &ids[..n]).await;
                on.push(run.await);
                let after = self.floor(&table, route, &ids[n..]).await;
                floors.push((before + after) / 2.0);
            }
        }
        [
            row(function, Kind::Rust, sizes, &on, floors),
            row(
                &crate::warm_up_off(function),
                Kind::RustWarmUpOff,
                sizes,
                &off,
                Vec::new(),
            ),
        ]
    }

    /// The runtime floor: `bench/hello`.
    pub async fn hello_floor(&self) -> Row {
        let (bootstrap, sizes) = self.unpack(HELLO_FLOOR);
        let launch = Launch::Binary(bootstrap);
        let events = vec![b"{}".to_vec(); self.settings.events()];
        let mut samples = Vec::new();
        for _ in 0..self.settings.runs {
            samples.push(
                self.run_once(HELLO_FLOOR, &launch, "unused", &events, &[])
                    .await,
            );
        }
        row(HELLO_FLOOR, Kind::RuntimeFloor, sizes, &samples, Vec::new())
    }

    /// Whether the Python baseline's venv exists (`scripts/bench.sh` makes it).
    pub fn python_available() -> bool {
        root().join(".venv-bench/bin/python").exists()
    }

    /// A route's Python 3.11 + boto3 baseline, same events, same DynamoDB Local.
    pub async fn python(&self, route: Route, handler: &'static str) -> Row {
        let function = route.function_name();
        let mut samples = Vec::new();
        for _ in 0..self.settings.runs {
            let table = self.fresh_table().await;
            let events = self.events(route, &table).await;
            let launch = Launch::Python(handler);
            samples.push(self.run_once(function, &launch, &table, &events, &[]).await);
        }
        row(
            &crate::python(function),
            Kind::PythonBaseline,
            Sizes::default(),
            &samples,
            Vec::new(),
        )
    }

    /// Removes the unzipped binaries.
    pub fn clean_up(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn unpack(&self, function: &str) -> (PathBuf, Sizes) {
        let zip = lambda_dir().join(function).join("bootstrap.zip");
        assert!(
            zip.exists(),
            "{} missing: run `make build ARCH={}`",
            zip.display(),
            arch().name()
        );
        let bootstrap = unpack_bootstrap(&zip, &self.dir.join(function)).expect("unzip");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let sizes = Sizes {
            zip: size(&zip),
            binary: size(&bootstrap),
        };
        (bootstrap, sizes)
    }

    async fn fresh_table(&self) -> String {
        let table = format!("bench-{}", uuid::Uuid::new_v4().simple());
        TableSpec::from_contract()
            .expect("api/table.json")
            .create_fresh(&self.client, &table)
            .await
            .expect("table");
        table
    }

    /// A run's events for `route`, each on an item of its own seeded in `table`.
    async fn events(&self, route: Route, table: &str) -> Vec<Vec<u8>> {
        let ids = self.seed(table, self.settings.events()).await;
        ids.iter().map(|id| event(route, id)).collect()
    }

    /// `n` items of the fixtures' owner, written by the store the functions use.
    async fn seed(&self, table: &str, n: usize) -> Vec<ItemId> {
        let store = DynamoStore::new(self.client.clone(), table);
        let owner = Owner::parse(SUB).expect("owner");
        let at = Timestamp::parse(SEEDED_AT).expect("a timestamp");
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let item = Item {
                id: ItemId::new(),
                name: Name::parse("bench").expect("name"),
                description: Description::default(),
                tags: Tags::default(),
                version: Version::FIRST,
                created_at: at,
                updated_at: at,
            };
            store.create(&owner, &item).await.expect("seed");
            ids.push(item.id);
        }
        ids
    }

    /// The DynamoDB call each route makes, issued directly through the store the function
    /// uses (same SDK client settings, same request, same item shape), timed in the harness:
    /// the floor a function cannot beat. What a function adds over it is the Lambda runtime,
    /// the event and response JSON, validation and the log line.
    async fn storage_floor(&self, table: &str, route: Route, ids: &[ItemId]) -> Vec<f64> {
        let store = DynamoStore::new(self.client.clone(), table);
        let owner = Owner::parse(SUB).expect("owner");
        let new =
            NewItem::from_json(&fixture_body(Route::CreateItem, "create")).expect("create body");
        let patch =
            ItemPatch::from_json(&fixture_body(Route::UpdateItem, "update")).expect("patch body");
        let now = Timestamp::parse(SEEDED_AT).expect("a timestamp");
        let limit = UserLimit::new(
            USER_LIMIT_REQUESTS.parse().expect("a number"),
            USER_LIMIT_WINDOW_SECONDS.parse().expect("a number"),
        )
        .expect("a limit");
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let t = Instant::now();
            // The function's calls: the per-user limit's counter write, then the route's own.
            let counted = store
                .count_request(&owner, limit.window(SystemClock.now()), limit.requests())
                .await;
            assert!(
                matches!(counted, Ok(true)),
                "{route:?}: the counter write failed"
            );
            let ok = match route {
                Route::CreateItem => {
                    let item = Item {
                        id: ItemId::new(),
                        name: new.name.clone(),
                        description: new.description.clone(),
                        tags: new.tags.clone(),
                        version: Version::FIRST,
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

    /// The median of [`Bench::storage_floor`] over `ids`.
    async fn floor(&self, table: &str, route: Route, ids: &[ItemId]) -> f64 {
        median(self.storage_floor(table, route, ids).await)
    }

    async fn run_once(
        &self,
        function: &str,
        launch: &Launch,
        table: &str,
        events: &[Vec<u8>],
        extra_env: &[(&str, &str)],
    ) -> Sample {
        let mut env = vec![
            ("TABLE_NAME", table),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.settings.endpoint.as_str()),
            // Every request is counted against the per-user limit, as deployed; the limit is
            // far above what a run sends, so none is refused.
            ("USER_LIMIT_REQUESTS", USER_LIMIT_REQUESTS),
            ("USER_LIMIT_WINDOW_SECONDS", USER_LIMIT_WINDOW_SECONDS),
        ];
        env.extend_from_slice(extra_env);
        let cold_starts = self.settings.cold_starts;
        let (mut inits, mut firsts) = (Vec::new(), Vec::new());
        let mut last = None;
        for (i, first_event) in events[..cold_starts].iter().enumerate() {
            let api = RuntimeApi::start().await.expect("api");
            let process = match launch {
                Launch::Binary(bootstrap) => {
                    FunctionProcess::spawn_for(arch(), bootstrap, &api, function, &env)
                }
                Launch::Python(handler) => FunctionProcess::spawn_program(
                    &root().join(".venv-bench/bin/python"),
                    &["-m", "awslambdaric", handler],
                    &root().join("bench/python"),
                    &api,
                    function,
                    &env,
                ),
            }
            .expect("spawn");
            let first_poll = api.wait_for_first_poll(TIMEOUT).await.expect("init");
            inits.push(ms(first_poll - process.spawned_at));
            firsts.push(ms(invoke(&api, function, first_event).await));
            if i + 1 == cold_starts {
                last = Some((api, process));
            } else {
                process.stop().await;
            }
        }
        let (api, process) = last.expect("at least one cold start");
        let cpu_before = process.cpu_ticks().unwrap_or(0);
        let mut warm: Vec<f64> = Vec::with_capacity(self.settings.warm);
        for e in &events[cold_starts..] {
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

/// The fixture case a warm invocation of `route` sends.
fn case(route: Route) -> &'static str {
    match route {
        Route::CreateItem => "create",
        Route::GetItem => "get",
        Route::ListItems => "list",
        Route::UpdateItem => "update",
        Route::DeleteItem => "delete",
    }
}

fn fixture(route: Route, case: &str) -> String {
    let path = root()
        .join("fixtures/events")
        .join(route.function_name())
        .join(format!("{case}.json"));
    std::fs::read_to_string(path).expect("fixture")
}

/// The event a warm invocation of `route` sends, for item `id`, without `If-Match`.
fn event(route: Route, id: &ItemId) -> Vec<u8> {
    let text = fixture(route, case(route)).replace("{{ID}}", &id.to_string());
    let mut v: Value = serde_json::from_str(&text).expect("json");
    for h in ["headers", "multiValueHeaders"] {
        if let Some(m) = v[h].as_object_mut() {
            m.remove("If-Match");
        }
    }
    serde_json::to_vec(&v).expect("json")
}

/// The fixture's JSON body for `route`, as an object.
fn fixture_body(route: Route, case: &str) -> serde_json::Map<String, Value> {
    let event: Value = serde_json::from_str(&fixture(route, case)).expect("json");
    let body: Value = serde_json::from_str(event["body"].as_str().expect("a body")).expect("json");
    body.as_object().expect("an object").clone()
}
