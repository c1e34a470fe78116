//! Logging and metrics.
//!
//! Logs are JSON lines on stdout (Lambda's JSON log format), one per request with its request
//! id, method, resource, status and latency; never a body, a token or an API key. The level and
//! format follow Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`,
//! `AWS_LAMBDA_LOG_FORMAT`); `RUST_LOG` (a plain level) works outside Lambda.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use tracing::level_filters::LevelFilter;

/// The CloudWatch namespace of the business metrics.
pub const METRICS_NAMESPACE: &str = "SecureServerlessBackend";

fn level_from(value: Option<String>) -> LevelFilter {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("trace") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("warn") => LevelFilter::WARN,
        Some("error" | "fatal") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let level = level_from(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok(),
    );
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    // `try_init` so that a second call (tests, the local server) is harmless.
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    };
}

/// Whether [`count`] writes its EMF lines (on, except in quiet tests).
static METRICS_ON: AtomicBool = AtomicBool::new(true);

/// Quiet tests unless `TEST_LOG` is set, as zero2prod does: no log lines, no metric lines.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    } else {
        METRICS_ON.store(false, Ordering::Relaxed);
    }
}

/// One CloudWatch Embedded Metric Format line counting a business event.
pub fn emf_count_line(metric: &str, function: &str, now_ms: u128) -> String {
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }]
            }]
        },
        "Function": function,
        metric: 1
    })
    .to_string()
}

/// Emits a business metric (e.g. `ItemsCreated`) as an EMF line on stdout, where the Lambda
/// service picks it up; CloudWatch turns it into a metric with no API call from the function.
pub fn count(metric: &str, function: &str) {
    if !METRICS_ON.load(Ordering::Relaxed) {
        return;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let line = emf_count_line(metric, function, now_ms);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_log_levels_map_to_filters() {
        assert_eq!(level_from(Some("DEBUG".into())), LevelFilter::DEBUG);
        assert_eq!(level_from(Some("FATAL".into())), LevelFilter::ERROR);
        assert_eq!(level_from(None), LevelFilter::INFO);
        assert_eq!(level_from(Some("nonsense".into())), LevelFilter::INFO);
    }

    #[test]
    fn an_emf_line_declares_its_metric() {
        let line: serde_json::Value =
            serde_json::from_str(&emf_count_line("ItemsCreated", "create-item", 5)).expect("json");
        assert_eq!(line["ItemsCreated"], 1);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "ItemsCreated"
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            METRICS_NAMESPACE
        );
    }
}
