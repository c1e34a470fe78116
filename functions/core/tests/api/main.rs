//! Integration tests: every route against a real DynamoDB Local, one fresh table per test.
//! Run with `make test`, which starts DynamoDB Local and sets `AWS_ENDPOINT_URL_DYNAMODB`.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod create;
mod delete;
mod get;
mod helpers;
mod idempotency;
mod identity;
mod limit;
mod list;
mod update;
mod warm_up;
