//! Bounded load over loopback: mixed routes with generous limits (no 5xx, no 429), then a tiny
//! per-key limit (429 beyond it, and nothing else). Latency and throughput are reported, never
//! asserted beyond a generous behaviour bound.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    Api, GENEROUS_LIMITS, TestResponse, Timed, assert_complete_item, list_all, ms, one_at_a_time,
    percentile, shared_endpoint, spawn_server,
};

const TASKS: usize = 8;
const REQUESTS_PER_TASK: usize = 250;
/// A behaviour bound, not a benchmark: no single answer on loopback may take this long.
const SLOWEST_ALLOWED: Duration = Duration::from_secs(10);
/// The whole run must end within this, whatever the machine's load.
const RUN_BOUND: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    by_status: HashMap<u16, usize>,
    unexpected: Vec<String>,
    latencies: Vec<Duration>,
    created: usize,
    deleted: usize,
}

impl Tally {
    fn record(&mut self, what: &str, t: &Timed, expected: u16) -> Option<TestResponse> {
        self.sent += 1;
        self.latencies.push(t.elapsed);
        match &t.result {
            Err(e) => {
                self.unexpected.push(format!("{what}: no answer ({e})"));
                None
            }
            Ok(r) => {
                *self.by_status.entry(r.status).or_default() += 1;
                if r.status != expected {
                    self.unexpected.push(format!(
                        "{what}: {} instead of {expected}: {}",
                        r.status,
                        r.text()
                    ));
                    return None;
                }
                if t.elapsed > SLOWEST_ALLOWED {
                    self.unexpected
                        .push(format!("{what}: answered after {:?}", t.elapsed));
                }
                Some(r.clone())
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        for (s, n) in other.by_status {
            *self.by_status.entry(s).or_default() += n;
        }
        self.unexpected.extend(other.unexpected);
        self.latencies.extend(other.latencies);
        self.created += other.created;
        self.deleted += other.deleted;
    }

    fn count(&self, f: impl Fn(u16) -> bool) -> usize {
        self.by_status
            .iter()
            .filter(|(s, _)| f(**s))
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    Get,
    List,
    Update,
    Delete,
}

/// One client's share of the mixed load, on its own items: create, get, list, update with
/// `If-Match`, delete with `If-Match`, in a fixed rotation (every answer is predictable).
async fn mixed_client(api: Api, task: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    // id → current version
    let mut mine: Vec<(String, u64)> = Vec::new();
    for n in 0..REQUESTS_PER_TASK {
        if Instant::now() > deadline {
            tally
                .unexpected
                .push(format!("task {task}: run bound reached"));
            break;
        }
        let pick = (n * 7 + task) % mine.len().max(1);
        let op = match n % 10 {
            _ if mine.is_empty() => Op::Create,
            0 | 5 if mine.len() < 40 => Op::Create,
            4 | 6 => Op::List,
            7 | 8 => Op::Update,
            9 if mine.len() > 1 => Op::Delete,
            _ => Op::Get,
        };
        match op {
            Op::Create => {
                let body = json!({ "name": format!("load {task}-{n}"), "tags": ["load"] });
                let t = api.call("POST", "/v1/items", Some(&body), &[]).await;
                if let Some(r) = tally.record("create", &t, 201) {
                    mine.push((r.json()["id"].as_str().unwrap_or_default().to_owned(), 1));
                    tally.created += 1;
                }
            }
            Op::Get => {
                let (id, _) = &mine[pick];
                let t = api.call("GET", &format!("/v1/items/{id}"), None, &[]).await;
                tally.record("get", &t, 200);
            }
            Op::List => {
                let t = api.call("GET", "/v1/items?limit=20", None, &[]).await;
                tally.record("list", &t, 200);
            }
            Op::Update => {
                let (id, version) = &mut mine[pick];
                let body = json!({ "description": format!("update {n}") });
                let etag = format!("\"{version}\"");
                let path = format!("/v1/items/{id}");
                let t = api
                    .call("PATCH", &path, Some(&body), &[("If-Match", &etag)])
                    .await;
                if let Some(r) = tally.record("update", &t, 200) {
                    *version = r.etag_version();
                }
            }
            Op::Delete => {
                let (id, version) = mine.swap_remove(pick);
                let etag = format!("\"{version}\"");
                let path = format!("/v1/items/{id}");
                let t = api
                    .call("DELETE", &path, None, &[("If-Match", &etag)])
                    .await;
                if tally.record("delete", &t, 204).is_some() {
                    tally.deleted += 1;
                } else {
                    mine.push((id, version));
                }
            }
        }
    }
    tally
}

fn report(name: &str, tally: &Tally, wall: Duration) {
    let mut sorted = tally.latencies.clone();
    sorted.sort_unstable();
    let mut statuses: Vec<_> = tally.by_status.iter().collect();
    statuses.sort();
    eprintln!(
        "{name}: {} requests in {:.2} s = {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         statuses {statuses:?}",
        tally.sent,
        wall.as_secs_f64(),
        tally.sent as f64 / wall.as_secs_f64(),
        ms(percentile(&sorted, 0.50)),
        ms(percentile(&sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or_default()),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_under_generous_limits_answers_no_5xx_and_no_429() {
    let _serial = one_at_a_time();
    // Arrange: limits far above what 8 clients on loopback can send.
    let server = spawn_server(&shared_endpoint(), &GENEROUS_LIMITS);
    let mut apis = Vec::new();
    for task in 0..TASKS {
        apis.push(Api::sign_in(&server, &format!("load-{task}")).await);
    }

    // Act
    let deadline = Instant::now() + RUN_BOUND;
    let started = Instant::now();
    let handles: Vec<_> = apis
        .iter()
        .cloned()
        .enumerate()
        .map(|(task, api)| tokio::spawn(mixed_client(api, task, deadline)))
        .collect();
    let mut tally = Tally::default();
    for h in handles {
        tally.merge(h.await.expect("load task"));
    }
    let wall = started.elapsed();
    report("mixed load, generous limits", &tally, wall);

    // Assert
    assert_eq!(tally.sent, TASKS * REQUESTS_PER_TASK, "every request sent");
    assert_eq!(tally.count(|s| s >= 500), 0, "5xx: {:?}", tally.by_status);
    assert_eq!(
        tally.count(|s| s == 429),
        0,
        "429 under the limits: {:?}",
        tally.by_status
    );
    assert!(
        tally.unexpected.is_empty(),
        "unexpected answers: {:#?}",
        tally.unexpected
    );
    // Nothing lost and nothing duplicated: each user holds exactly what it created minus what
    // it deleted, each item complete.
    let mut held = 0;
    for api in &apis {
        let items = list_all(api).await;
        items.iter().for_each(assert_complete_item);
        held += items.len();
    }
    assert_eq!(
        held,
        tally.created - tally.deleted,
        "items held vs created - deleted"
    );
    eprintln!(
        "mixed load: {} created, {} deleted, {held} held at the end",
        tally.created, tally.deleted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tiny_per_key_limit_answers_429_beyond_it_and_nothing_else() {
    let _serial = one_at_a_time();
    // Arrange: the stage generous, the usage plan's per-key throttle tiny.
    const RATE: f64 = 5.0;
    const BURST: f64 = 10.0;
    const PER_TASK: usize = 25;
    let mut env = GENEROUS_LIMITS.to_vec();
    env.extend([("LOCAL_USAGE_RATE", "5"), ("LOCAL_USAGE_BURST", "10")]);
    let server = spawn_server(&shared_endpoint(), &env);
    let api = Api::sign_in(&server, "tiny-limit").await;

    // Act: 8 clients listing as fast as they can.
    let started = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..PER_TASK {
                    answers.push(api.call("GET", "/v1/items?limit=5", None, &[]).await);
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.extend(h.await.expect("task"));
    }
    let wall = started.elapsed();

    // Assert: only 200 and 429 (THROTTLED, problem+json); at least the burst passed, and no
    // more than the bucket allowed over the run.
    let mut tally = Tally::default();
    let mut throttled_bodies: Vec<Value> = Vec::new();
    for t in &answers {
        tally.sent += 1;
        tally.latencies.push(t.elapsed);
        let r = t.result.as_ref().expect("an answer");
        *tally.by_status.entry(r.status).or_default() += 1;
        if r.status == 429 {
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
            assert_eq!(
                r.header("x-amzn-errortype"),
                Some("TooManyRequestsException")
            );
            throttled_bodies.push(r.json());
        }
    }
    report("tiny per-key limit (5/s, burst 10)", &tally, wall);
    let ok = tally.count(|s| s == 200);
    let throttled = tally.count(|s| s == 429);
    assert_eq!(
        ok + throttled,
        TASKS * PER_TASK,
        "only 200 and 429: {:?}",
        tally.by_status
    );
    assert!(
        throttled > 0,
        "the limit was exceeded but nothing was throttled"
    );
    assert!(ok as f64 >= BURST, "fewer than the burst passed: {ok}");
    let allowed = BURST + RATE * wall.as_secs_f64() + 1.0;
    assert!(
        ok as f64 <= allowed,
        "{ok} passed, the bucket allows {allowed:.1}"
    );
    assert!(
        throttled_bodies.iter().all(|b| b["status"] == 429),
        "{throttled_bodies:?}"
    );
}
