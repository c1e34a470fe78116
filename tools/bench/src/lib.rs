//! `make bench`: each function's release artifact measured under the Runtime API emulation
//! against DynamoDB Local, beside the raw DynamoDB call each route makes (the storage floor), a
//! hello-world runtime floor and a Python 3.11 + boto3 baseline.
//!
//! - [`measure`] runs the artifacts and produces one [`Row`] per measured thing;
//! - [`goals`] holds the targets the rows are held to, as data;
//! - [`report`] turns [`Results`] into `docs/BENCHMARKS.md`, measuring nothing.

// A harness: a failed measurement stops it with the reason.
#![allow(clippy::expect_used, clippy::panic)]

use items_core::Route;
use serde::{Deserialize, Serialize};

pub mod goals;
pub mod machine;
pub mod measure;
pub mod report;
pub mod stats;

/// What a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A function as the stack ships it (DynamoDB warm-up on).
    #[serde(rename = "rust")]
    Rust,
    /// The same function with `DYNAMODB_WARM_UP=false`.
    #[serde(rename = "rust, warm-up off")]
    RustWarmUpOff,
    /// `bench/hello`: a hello-world `lambda_runtime` function, same release profile.
    #[serde(rename = "runtime floor")]
    RuntimeFloor,
    /// `bench/python`: the same route in Python 3.11 + boto3 under `awslambdaric`.
    #[serde(rename = "python baseline")]
    PythonBaseline,
}

/// One measured thing: medians over the runs. The JSON names are `results.json`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub function: String,
    pub kind: Kind,
    pub zip_bytes: u64,
    pub binary_bytes: u64,
    pub init_ms: f64,
    pub first_invocation_ms: f64,
    pub cold_start_ms: f64,
    pub warm_p50_ms: f64,
    pub warm_p99_ms: f64,
    pub cpu_us_per_warm_invocation: f64,
    #[serde(rename = "peakRssKiB")]
    pub peak_rss_kib: f64,
    pub storage_floor_p50_ms: Option<f64>,
}

/// Everything one `make bench` measured: `target/bench/results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    pub machine: String,
    pub runs: usize,
    pub cold_starts_per_run: usize,
    pub invocations_per_run: usize,
    pub functions: Vec<Row>,
}

impl Results {
    pub fn row(&self, function: &str) -> Option<&Row> {
        self.functions.iter().find(|r| r.function == function)
    }

    pub fn of_kind(&self, kind: Kind) -> Vec<&Row> {
        self.functions.iter().filter(|r| r.kind == kind).collect()
    }
}

/// The routes measured against the Python baseline: the route, the handler in
/// `bench/python/items.py`, and the word the targets table uses for it.
pub const PYTHON_BASELINES: [(Route, &str, &str); 2] = [
    (Route::GetItem, "items.get_item", "get"),
    (Route::CreateItem, "items.create_item", "create"),
];

/// The label of a function measured with its warm-up off.
pub fn warm_up_off(function: &str) -> String {
    format!("{function} (warm-up off)")
}

/// The label of a route's Python baseline.
pub fn python(function: &str) -> String {
    format!("{function} (Python)")
}

/// The label of the runtime floor.
pub const HELLO_FLOOR: &str = "hello-floor";
