//! The targets `make bench` holds the functions to, as data: each names what it measures, of
//! which rows, and its limit. [`check`] evaluates them against a run's results; the report
//! prints the outcome.

use crate::{HELLO_FLOOR, Kind, PYTHON_BASELINES, Results, Row};

/// A limit on the worst of some rows.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    /// Whose rows it applies to.
    pub kind: Kind,
    /// The measured value of one row, given the runtime floor's row.
    pub value: fn(&Row, Option<&Row>) -> f64,
    /// The worst value allowed.
    pub at_most: f64,
    pub unit: &'static str,
}

/// A ratio to the Python baseline, for each route in [`PYTHON_BASELINES`].
#[derive(Debug, Clone, Copy)]
pub struct AgainstPython {
    /// The target's name, before the route's word: "cold start ≥ 20× faster than Python".
    pub name: &'static str,
    /// Python's value over Rust's (or the other way round), for one route.
    pub ratio: fn(rust: &Row, python: &Row) -> f64,
    pub at_least: f64,
    /// What the ratio says, after the number: "faster", "smaller".
    pub unit: &'static str,
}

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

/// Init over the hello-world floor's init (NaN without a floor: the target is not checked).
fn init_over_hello(r: &Row, hello: Option<&Row>) -> f64 {
    hello.map_or(f64::NAN, |h| r.init_ms / h.init_ms)
}

pub const LIMITS: [Limit; 5] = [
    Limit {
        name: "zip ≤ 2.5 MB",
        kind: Kind::Rust,
        value: |r, _| mb(r.zip_bytes as f64),
        at_most: 2.5,
        unit: " MB",
    },
    Limit {
        name: "peak RSS ≤ 10 MB",
        kind: Kind::Rust,
        value: |r, _| mb(r.peak_rss_kib * 1024.0),
        at_most: 10.0,
        unit: " MB",
    },
    Limit {
        name: "init ≤ 1.5 × hello-world init (warm-up off: the runtime and client alone)",
        kind: Kind::RustWarmUpOff,
        value: init_over_hello,
        at_most: 1.5,
        unit: "×",
    },
    Limit {
        name: "init ≤ 1.5 × hello-world init (as shipped: init includes the warm-up call)",
        kind: Kind::Rust,
        value: init_over_hello,
        at_most: 1.5,
        unit: "×",
    },
    Limit {
        name: "warm p50 ≤ storage floor + 0.3 ms",
        kind: Kind::Rust,
        value: |r, _| r.warm_p50_ms - r.storage_floor_p50_ms.unwrap_or(f64::NAN),
        at_most: 0.3,
        unit: " ms over",
    },
];

pub const AGAINST_PYTHON: [AgainstPython; 2] = [
    AgainstPython {
        name: "cold start ≥ 20× faster than Python",
        ratio: |rust, python| python.cold_start_ms / rust.cold_start_ms,
        at_least: 20.0,
        unit: "×",
    },
    AgainstPython {
        name: "peak RSS ≥ 4× smaller than Python",
        ratio: |rust, python| python.peak_rss_kib / rust.peak_rss_kib,
        at_least: 4.0,
        unit: "×",
    },
];

/// How one target came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub target: String,
    /// `function: value (limit …)`, as the table prints it.
    pub worst: String,
    pub met: bool,
}

/// Every target against `results`. A limit whose rows are missing (a partial run) or that
/// needs a floor the run did not measure is left out.
pub fn check(results: &Results) -> Vec<Outcome> {
    let hello = results.row(HELLO_FLOOR);
    let mut out = Vec::new();
    for limit in LIMITS {
        let worst = results
            .of_kind(limit.kind)
            .into_iter()
            .map(|r| ((limit.value)(r, hello), r.function.as_str()))
            .filter(|(v, _)| !v.is_nan())
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((value, function)) = worst {
            let (limit_value, unit) = (limit.at_most, limit.unit);
            out.push(Outcome {
                target: limit.name.to_owned(),
                worst: format!("{function}: {value:.2}{unit} (limit {limit_value:.2}{unit})"),
                met: value <= limit.at_most,
            });
        }
    }
    for (route, _, word) in PYTHON_BASELINES {
        let function = route.function_name();
        let (Some(rust), Some(python)) =
            (results.row(function), results.row(&crate::python(function)))
        else {
            continue;
        };
        for target in AGAINST_PYTHON {
            let ratio = (target.ratio)(rust, python);
            out.push(Outcome {
                target: format!("{} ({word})", target.name),
                worst: format!("{function}: {ratio:.1}{}", target.unit),
                met: ratio >= target.at_least,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A row with plausible figures; tests change the one they are about.
    pub(crate) fn row(function: &str, kind: Kind) -> Row {
        Row {
            function: function.to_owned(),
            kind,
            zip_bytes: 2_300_000,
            binary_bytes: 5_000_000,
            init_ms: 2.0,
            first_invocation_ms: 1.0,
            cold_start_ms: 3.0,
            warm_p50_ms: 1.0,
            warm_p99_ms: 2.0,
            cpu_us_per_warm_invocation: 300.0,
            peak_rss_kib: 6.0 * 1024.0,
            storage_floor_p50_ms: Some(0.8),
        }
    }

    pub(crate) fn results(rows: Vec<Row>) -> Results {
        Results {
            machine: "test".into(),
            runs: 1,
            cold_starts_per_run: 1,
            invocations_per_run: 1,
            functions: rows,
        }
    }

    #[test]
    fn the_worst_function_decides_a_limit() {
        let mut big = row("create-item", Kind::Rust);
        big.zip_bytes = 2_600_000;
        let r = results(vec![row("get-item", Kind::Rust), big]);
        let zip = &check(&r)[0];
        assert_eq!(zip.target, "zip ≤ 2.5 MB");
        assert_eq!(zip.worst, "create-item: 2.60 MB (limit 2.50 MB)");
        assert!(!zip.met);
    }

    #[test]
    fn init_is_held_to_the_hello_world_floor_only_when_it_was_measured() {
        let without = check(&results(vec![row("get-item", Kind::Rust)]));
        assert!(
            without.iter().all(|o| !o.target.starts_with("init")),
            "{without:?}"
        );
        let mut hello = row(HELLO_FLOOR, Kind::RuntimeFloor);
        hello.init_ms = 1.0;
        let with = check(&results(vec![row("get-item", Kind::Rust), hello]));
        let init = with
            .iter()
            .find(|o| o.target.contains("as shipped"))
            .expect("the init target");
        assert_eq!(init.worst, "get-item: 2.00× (limit 1.50×)");
        assert!(!init.met);
    }

    #[test]
    fn each_python_baseline_is_compared_with_its_route() {
        let mut python = row("get-item (Python)", Kind::PythonBaseline);
        python.cold_start_ms = 300.0;
        python.peak_rss_kib = 12.0 * 1024.0;
        let outcomes = check(&results(vec![row("get-item", Kind::Rust), python]));
        let outcome = |target: &str| {
            outcomes
                .iter()
                .find(|o| o.target == target)
                .map(|o| (o.worst.as_str(), o.met))
        };
        assert_eq!(
            outcome("cold start ≥ 20× faster than Python (get)"),
            Some(("get-item: 100.0×", true))
        );
        assert_eq!(
            outcome("peak RSS ≥ 4× smaller than Python (get)"),
            Some(("get-item: 2.0×", false))
        );
    }
}
