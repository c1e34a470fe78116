//! The items API shared by every route function: domain types, validation, the DynamoDB store,
//! HTTP mapping, identity and telemetry. A route's `main.rs` only builds an [`App`] once per cold start and runs it.

pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod routes;
pub mod store;
pub mod table;
pub mod telemetry;

pub use routes::{App, Route};
pub use store::{DynamoStore, ItemStore};
