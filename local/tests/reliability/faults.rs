//! Faults: DynamoDB Local stopped in the middle of a bounded mixed load, then restarted on the
//! same port. Answers during the outage are 503 problem+json with `Retry-After`, quickly; the
//! service recovers without restarting the local server; no item is lost or half-written.
//!
//! The test owns its DynamoDB Local and runs it with `-dbPath` (on disk, in a directory of its
//! own), so the restarted instance has the table and the items: that is what a real outage
//! looks like (DynamoDB does not lose a table when it is unreachable), and it lets the test
//! check every item written before the fault. In memory, the restart would come back without
//! the table, and every request would be a 500 (ResourceNotFoundException) until someone
//! recreated it — a different test, of the local set-up rather than of the service.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    Api, GENEROUS_LIMITS, OwnDynamoDb, TestResponse, assert_complete_item, list_all, ms,
    one_at_a_time, percentile, spawn_server,
};

const TASKS: usize = 8;
/// A bound on each task's requests, whatever the timing.
const MAX_REQUESTS_PER_TASK: usize = 150;
/// Pause between one task's requests: a few hundred requests over the run, not a flood.
const PACING: Duration = Duration::from_millis(25);
const ITEMS_BEFORE_FAULT: usize = 12;
/// Every answer, during the outage too, must come within this (the SDK gives up after 3 s per
/// call; the function's timeout is 10 s). A behaviour bound, not a benchmark.
const ANSWER_BOUND: Duration = Duration::from_secs(10);
const LOAD_BEFORE_FAULT: Duration = Duration::from_millis(1500);
const OUTAGE: Duration = Duration::from_secs(2);
const RECOVERY_BOUND: Duration = Duration::from_secs(20);
const LOAD_AFTER_RECOVERY: Duration = Duration::from_millis(1500);
/// Requests that began this long after the first success following the restart must succeed.
const SETTLE: Duration = Duration::from_millis(500);

/// What every stored item must satisfy: its description names its version, so an update that
/// wrote one attribute and not the other would show.
fn rev(version: u64) -> String {
    format!("rev {version}")
}

#[derive(Debug)]
struct Sent {
    op: &'static str,
    started: Instant,
    elapsed: Duration,
    /// The status, or why there was none.
    outcome: Result<u16, String>,
    /// A 503 whose body or headers were not the promised problem+json with Retry-After.
    bad_503: Option<String>,
}

#[derive(Debug, Default)]
struct TaskLog {
    sent: Vec<Sent>,
    /// Created (201) and not deleted.
    confirmed: HashSet<String>,
    /// Deleted with a 204, or a delete whose fate is unknown (503 or a retried 404).
    deleted_or_maybe: HashSet<String>,
    ambiguous_creates: usize,
}

impl TaskLog {
    fn record(
        &mut self,
        op: &'static str,
        started: Instant,
        t: crate::helpers::Timed,
    ) -> Option<TestResponse> {
        let bad_503 = match &t.result {
            Ok(r) if r.status == 503 => check_503(r).err(),
            _ => None,
        };
        self.sent.push(Sent {
            op,
            started,
            elapsed: t.elapsed,
            outcome: t.result.as_ref().map(|r| r.status).map_err(Clone::clone),
            bad_503,
        });
        t.result.ok()
    }
}

/// A 503 must be problem+json with status 503 and a Retry-After.
fn check_503(r: &TestResponse) -> Result<(), String> {
    let retry_after = r.header("retry-after").and_then(|v| v.parse::<u32>().ok());
    let body: Option<Value> = serde_json::from_slice(&r.body).ok();
    let ok = r.header("content-type") == Some("application/problem+json")
        && retry_after.is_some_and(|s| s >= 1)
        && body
            .as_ref()
            .is_some_and(|b| b["status"] == 503 && b["requestId"].is_string());
    if ok {
        Ok(())
    } else {
        Err(format!("{:?} {}", r.headers, r.text()))
    }
}

/// One client: creates, reads, lists, updates (read, then PATCH with `If-Match` and the
/// description `rev <new version>`) and deletes, paced, until told to stop or at its bound.
async fn client(api: Api, task: usize, before: Vec<String>, stop: Arc<AtomicBool>) -> TaskLog {
    let mut log = TaskLog::default();
    for n in 0..MAX_REQUESTS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let own: Vec<&String> = log.confirmed.iter().collect();
        match n % 5 {
            0 => {
                let body = json!({ "name": format!("during load {task}-{n}"), "description": rev(1), "tags": ["load"] });
                let at = Instant::now();
                let t = api.call("POST", "/v1/items", Some(&body), &[]).await;
                match log.record("create", at, t) {
                    Some(r) if r.status == 201 => {
                        let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                        log.confirmed.insert(id);
                    }
                    // 503: it may or may not have been written. 409: the SDK retried a PutItem
                    // whose first attempt was written before the connection broke.
                    Some(r) if r.status == 503 || r.status == 409 => log.ambiguous_creates += 1,
                    _ => {}
                }
            }
            1 => {
                let id = &before[n % before.len()];
                let at = Instant::now();
                let t = api.call("GET", &format!("/v1/items/{id}"), None, &[]).await;
                log.record("get", at, t);
            }
            2 => {
                let at = Instant::now();
                let t = api.call("GET", "/v1/items?limit=10", None, &[]).await;
                log.record("list", at, t);
            }
            3 => {
                let id = &before[(n / 5) % before.len()];
                let path = format!("/v1/items/{id}");
                let at = Instant::now();
                let t = api.call("GET", &path, None, &[]).await;
                if let Some(r) = log.record("get", at, t).filter(|r| r.status == 200) {
                    let version = r.etag_version();
                    let body = json!({ "description": rev(version + 1) });
                    let etag = format!("\"{version}\"");
                    let at = Instant::now();
                    let t = api
                        .call("PATCH", &path, Some(&body), &[("If-Match", &etag)])
                        .await;
                    log.record("update", at, t);
                }
            }
            _ => {
                if let Some(id) = own.first().map(|s| (*s).clone()) {
                    let at = Instant::now();
                    let t = api
                        .call(
                            "DELETE",
                            &format!("/v1/items/{id}"),
                            None,
                            &[("If-Match", "\"1\"")],
                        )
                        .await;
                    let answered = log.record("delete", at, t);
                    if answered.is_some_and(|r| matches!(r.status, 204 | 503 | 404)) {
                        log.confirmed.remove(&id);
                        log.deleted_or_maybe.insert(id);
                    }
                } else {
                    let at = Instant::now();
                    let t = api.call("GET", "/v1/items?limit=1", None, &[]).await;
                    log.record("list", at, t);
                }
            }
        }
        tokio::time::sleep(PACING).await;
    }
    log
}

/// The answers a request may give: its success, a 503 during the fault, and, for a request
/// in flight when the connection to DynamoDB broke, what the SDK's retry of an already-applied
/// write answers (409 create, 412 update, 404 delete).
fn allowed(op: &str, status: u16) -> bool {
    matches!(
        (op, status),
        (_, 503)
            | ("create", 201 | 409)
            | ("get" | "list", 200)
            | ("update", 200 | 412)
            | ("delete", 204 | 404)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_dynamodb_mid_load_answers_503_quickly_and_recovers_without_losing_items() {
    let _serial = one_at_a_time();
    // Arrange: our own DynamoDB Local (on disk), a server on it, items written before the fault.
    let dynamodb = OwnDynamoDb::start();
    let server = spawn_server(&dynamodb.endpoint, &GENEROUS_LIMITS);
    let api = Api::sign_in(&server, "faults").await;
    let mut before: HashMap<String, Value> = HashMap::new();
    for i in 0..ITEMS_BEFORE_FAULT {
        let body = json!({ "name": format!("before the fault {i}"), "description": rev(1), "tags": ["before", format!("n{i}")] });
        let r = api
            .call("POST", "/v1/items", Some(&body), &[])
            .await
            .result
            .expect("create");
        assert_eq!(r.status, 201, "{}", r.text());
        let item = r.json();
        before.insert(item["id"].as_str().expect("id").to_owned(), item);
    }
    let ids: Vec<String> = before.keys().cloned().collect();

    // Act: load; stop DynamoDB Local; keep it down; restart it on the same port; wait for the
    // first success; a little more load; stop.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let mine: Vec<String> = ids.iter().skip(task).step_by(TASKS).cloned().collect();
            tokio::spawn(client(api.clone(), task, mine, Arc::clone(&stop)))
        })
        .collect();
    tokio::time::sleep(LOAD_BEFORE_FAULT).await;
    let fault_at = Instant::now();
    let faults_injected = 1;
    let d = tokio::task::spawn_blocking(move || {
        dynamodb.stop();
        dynamodb
    })
    .await
    .expect("stop DynamoDB Local");
    let stopped_at = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    let restart_from = Instant::now();
    let d = tokio::task::spawn_blocking(move || {
        d.restart();
        d
    })
    .await
    .expect("restart DynamoDB Local");
    let restarted_at = Instant::now();
    let mut recovered_at = None;
    while restarted_at.elapsed() < RECOVERY_BOUND {
        let t = api.call("GET", "/v1/items?limit=1", None, &[]).await;
        if t.result.as_ref().is_ok_and(|r| r.status == 200) {
            recovered_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if recovered_at.is_some() {
        tokio::time::sleep(LOAD_AFTER_RECOVERY).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for t in tasks {
        logs.push(t.await.expect("load task"));
    }
    let wall = started.elapsed();
    let recovered_at = recovered_at.unwrap_or_else(|| {
        panic!("no success within {RECOVERY_BOUND:?} of restarting DynamoDB Local")
    });

    // Assert, per request.
    let sent: Vec<&Sent> = logs.iter().flat_map(|l| &l.sent).collect();
    let status_of = |s: &&Sent| s.outcome.as_ref().ok().copied();
    let unanswered: Vec<_> = sent.iter().filter(|s| s.outcome.is_err()).collect();
    let slow: Vec<_> = sent.iter().filter(|s| s.elapsed >= ANSWER_BOUND).collect();
    let other_5xx: Vec<_> = sent
        .iter()
        .filter(|s| status_of(s).is_some_and(|c| c >= 500 && c != 503))
        .collect();
    let unavailable = sent.iter().filter(|s| status_of(s) == Some(503)).count();
    let bad_503: Vec<_> = sent.iter().filter_map(|s| s.bad_503.as_ref()).collect();
    let disallowed: Vec<_> = sent
        .iter()
        .filter(|s| status_of(s).is_some_and(|c| !allowed(s.op, c)))
        .map(|s| (s.op, s.outcome.clone()))
        .collect();
    let after_recovery: Vec<_> = sent
        .iter()
        .filter(|s| s.started >= recovered_at + SETTLE)
        .collect();
    let failed_after_recovery: Vec<_> = after_recovery
        .iter()
        .filter(|s| !matches!(status_of(s), Some(200 | 201 | 204)))
        .map(|s| (s.op, s.outcome.clone()))
        .collect();
    let retried_writes: Vec<String> = sent
        .iter()
        .filter(|s| {
            matches!(
                (s.op, status_of(s)),
                ("create", Some(409)) | ("update", Some(412)) | ("delete", Some(404))
            )
        })
        .map(|s| format!("{} {:?}", s.op, s.outcome))
        .collect();
    let mut outage_latencies: Vec<Duration> = sent
        .iter()
        .filter(|s| status_of(s) == Some(503))
        .map(|s| s.elapsed)
        .collect();
    outage_latencies.sort_unstable();

    // Assert, per item: everything stored is complete and consistent; nothing is missing.
    let stored = list_all(&api).await;
    let by_id: HashMap<&str, &Value> = stored
        .iter()
        .map(|i| (i["id"].as_str().unwrap_or_default(), i))
        .collect();
    assert_eq!(by_id.len(), stored.len(), "an id listed twice");
    for item in &stored {
        assert_complete_item(item);
        assert_eq!(
            item["description"].as_str(),
            Some(rev(item["version"].as_u64().unwrap_or_default()).as_str()),
            "half-written update: {item}"
        );
    }
    let mut lost = Vec::new();
    for (id, original) in &before {
        match by_id.get(id.as_str()) {
            None => lost.push(id.clone()),
            Some(now) => {
                for field in ["id", "name", "tags", "createdAt"] {
                    assert_eq!(now[field], original[field], "{field} of {id} changed");
                }
            }
        }
    }
    let confirmed: HashSet<&String> = logs.iter().flat_map(|l| &l.confirmed).collect();
    lost.extend(
        confirmed
            .iter()
            .filter(|id| !by_id.contains_key(id.as_str()))
            .map(|id| (*id).clone()),
    );
    let ambiguous_creates: usize = logs.iter().map(|l| l.ambiguous_creates).sum();
    let maybe_deleted: usize = logs.iter().map(|l| l.deleted_or_maybe.len()).sum();

    eprintln!(
        "faults: {} requests in {:.1} s, {faults_injected} fault (DynamoDB Local stopped {:.1} s \
         into the load; stopping took {:.1} s, restarting {:.1} s, down {:.1} s in all), first success {:.0} ms after the restart; \
         503s {unavailable} (p50 {:.0} ms, max {:.0} ms), other 5xx {}, unanswered {}, \
         over {ANSWER_BOUND:?} {}, retried writes answered 409/412/404 {retried_writes:?}, \
         failures after recovery {}/{}; items: {} before the fault, {} created during, \
         {ambiguous_creates} creates of unknown fate, {maybe_deleted} deleted or maybe, \
         {} stored, {} lost",
        sent.len(),
        wall.as_secs_f64(),
        (fault_at - started).as_secs_f64(),
        (stopped_at - fault_at).as_secs_f64(),
        (restarted_at - restart_from).as_secs_f64(),
        (restarted_at - fault_at).as_secs_f64(),
        ms(recovered_at - restarted_at),
        ms(percentile(&outage_latencies, 0.5)),
        ms(outage_latencies.last().copied().unwrap_or_default()),
        other_5xx.len(),
        unanswered.len(),
        slow.len(),
        failed_after_recovery.len(),
        after_recovery.len(),
        before.len(),
        confirmed.len() + maybe_deleted,
        stored.len(),
        lost.len(),
    );
    assert!(
        unavailable > 0,
        "the fault produced no 503: was DynamoDB Local really stopped?"
    );
    assert!(
        unanswered.is_empty(),
        "requests without an answer: {unanswered:?}"
    );
    assert!(
        slow.is_empty(),
        "answers slower than {ANSWER_BOUND:?}: {slow:?}"
    );
    assert!(other_5xx.is_empty(), "5xx other than 503: {other_5xx:?}");
    assert!(
        bad_503.is_empty(),
        "503s without problem+json and Retry-After: {bad_503:?}"
    );
    assert!(disallowed.is_empty(), "unexpected answers: {disallowed:?}");
    assert!(!after_recovery.is_empty(), "no load after the recovery");
    assert!(
        failed_after_recovery.is_empty(),
        "failures after the recovery: {failed_after_recovery:?}"
    );
    assert!(lost.is_empty(), "items lost: {lost:?}");
    drop(server);
    drop(d);
}
