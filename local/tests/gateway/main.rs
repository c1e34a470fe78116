//! The local server over real HTTP: the built binary, its own table in DynamoDB Local per test.
//! Run with `make test`, which starts DynamoDB Local and sets `AWS_ENDPOINT_URL_DYNAMODB`.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod behaviour;
mod bola;
mod clients;
#[path = "../common/mod.rs"]
mod common;
mod cors;
mod helpers;
mod hostile;
mod smoke;
mod user_limit;
