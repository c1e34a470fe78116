//! Configuration read once per cold start: the table name from the environment, the DynamoDB
//! client with timeouts that fit inside the function's timeout.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// The only setting a function reads from its environment.
pub const TABLE_NAME_VAR: &str = "TABLE_NAME";

/// Connecting to DynamoDB must take less than this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of one DynamoDB call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// One DynamoDB call, retries included. A request makes at most three calls in a row, so a
/// request gives up (503) well inside the function timeout the stack sets (10 s).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// The SDK's standard retry mode: exponential backoff with jitter, throttles and transient
/// errors retried, this many attempts in all.
pub const MAX_ATTEMPTS: u32 = 3;

#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error("the {TABLE_NAME_VAR} environment variable must name the DynamoDB table")]
    MissingTableName,
}

/// `main` returns this on a failed cold start and the process prints its `Debug`: make that
/// the sentence, not the variant name.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

pub fn table_name() -> Result<String, ConfigError> {
    std::env::var(TABLE_NAME_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or(ConfigError::MissingTableName)
}

/// The timeouts every DynamoDB call runs under.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK's standard retry mode with [`MAX_ATTEMPTS`].
pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The SDK configuration, from the standard sources (Lambda's environment credentials and
/// region; `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local) plus our timeouts and retries.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

/// A client for DynamoDB Local at `endpoint` (local mode, tests, benchmarks): static dummy
/// credentials and a fixed region, so the SDK never probes for credentials anywhere, in
/// particular not the instance metadata address; same timeouts and retries as in Lambda.
pub fn dynamodb_local_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "static-local",
        ))
        .endpoint_url(endpoint)
        .timeout_config(timeouts())
        .retry_config(retries())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}
