//! Reliability of the local server over real HTTP: no lost updates under contention, 503 and
//! recovery when DynamoDB Local goes away mid-load, and bounded load with and without throttling.
//! Run with `make test` (or `cargo test -p local-server --test reliability` with
//! `AWS_ENDPOINT_URL_DYNAMODB` set); the fault test starts a DynamoDB Local of its own.
//! docs/RELIABILITY.md says what each test does and lists the figures of recent runs.

// Test code: a failed expectation should panic with its message. The tests of this binary run
// one at a time (they load one shared machine and report latency), so each holds a lock across
// its awaits; every test runs on its own thread and runtime, so that blocks nothing else.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    clippy::await_holding_lock
)]

#[path = "../common/mod.rs"]
mod common;
mod faults;
mod helpers;
mod load;
mod lost_updates;
