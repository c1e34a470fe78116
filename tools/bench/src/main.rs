//! `make bench` (`scripts/bench.sh` sets it up): measures every function, the runtime floor and
//! the Python baseline, writes `target/bench/results.json` and regenerates
//! `docs/BENCHMARKS.md`. With `BENCH_FUNCTIONS` it measures only those functions and prints
//! their results as JSON instead (what `scripts/bench-variants.sh` reads), as it does for the
//! other architecture's zips (`BENCH_ARCH=arm64` on an x86_64 machine: emulated under qemu, never
//! written to the docs).
//!
//! Environment: `BENCH_RUNS` (3), `BENCH_COLD_STARTS` (10), `BENCH_INVOCATIONS` (300),
//! `BENCH_FUNCTIONS`, `BENCH_ARCH` (this machine's), `BENCH_LAMBDA_DIR` (`target/lambda/<arch>`),
//! `AWS_ENDPOINT_URL_DYNAMODB`.

// A harness: a failed measurement stops it with the reason.
#![allow(clippy::expect_used, clippy::panic)]

use bench::measure::{Bench, Settings, arch, machine, root};
use bench::{PYTHON_BASELINES, Results, report};
use serde_json::Value;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let settings = Settings::from_env().unwrap_or_else(|e| panic!("{e}"));
    let bench = Bench::new(settings.clone());
    bench.warm_dynamodb_local().await;
    let mut rows = Vec::new();
    for route in settings.routes() {
        for row in bench.function(route).await {
            eprintln!("{}", serde_json::to_string(&row).expect("json"));
            rows.push(row);
        }
    }
    let full = settings.only.is_none() && !arch().is_emulated();
    if full {
        rows.push(bench.hello_floor().await);
        if Bench::python_available() {
            for (route, handler, _) in PYTHON_BASELINES {
                rows.push(bench.python(route, handler).await);
            }
        } else {
            eprintln!("no .venv-bench: the Python baseline is skipped (scripts/bench.sh makes it)");
        }
    }
    bench.clean_up();
    let results = Results {
        machine: machine(),
        runs: settings.runs,
        cold_starts_per_run: settings.cold_starts,
        invocations_per_run: settings.warm,
        functions: rows,
    };
    let json = serde_json::to_string_pretty(&results).expect("json");
    if !full {
        println!("{json}");
        return;
    }
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(out.join("results.json"), json + "\n").expect("write results.json");
    let variants: Option<Value> = std::fs::read_to_string(out.join("variants.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let history = std::fs::read_to_string(root().join("bench/HISTORY.md")).unwrap_or_default();
    let text = report::markdown(&results, variants.as_ref(), &history);
    std::fs::write(root().join("docs/BENCHMARKS.md"), &text).expect("write docs/BENCHMARKS.md");
    println!("{text}");
}
