//! Configuration read once per cold start: the table name and the warm-up setting from the
//! environment, and the DynamoDB client: `aws-config` resolves region, credentials, endpoint URL,
//! FIPS and dual-stack from Lambda's environment as every AWS SDK does, and this module adds the
//! timeouts that fit inside the function's timeout and an HTTP client that trusts only Amazon
//! Trust Services' roots.

use std::time::Duration;

use aws_config::ConfigLoader;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, ProvideCredentials, Region};

use crate::limit::{self, UserLimit};

/// The table a function works on; set by the stack.
pub const TABLE_NAME_VAR: &str = "TABLE_NAME";

/// The function's timeout, as the stack sets it (`DEFAULT_TIMEOUT` in `cdk/lib/rust-function.ts`;
/// `cdk/test/rust-agreement.test.ts` checks that they agree). Everything below is sized to fit.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting to DynamoDB must take less than this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of one DynamoDB call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// One DynamoDB call, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// The most DynamoDB calls a request makes one after the other (an idempotent create: claim the
/// key, write item and record, release the key after a failure).
pub const MAX_CALLS_PER_REQUEST: u32 = 3;
/// The SDK's standard retry mode: exponential backoff with jitter, throttles and transient
/// errors retried, this many attempts in all.
pub const MAX_ATTEMPTS: u32 = 3;

/// The per-user limit's counter call (`crate::limit`), which runs before the handler's calls: one
/// attempt of it, and the whole call with its retries (a quick throttle is retried inside it; a
/// slow attempt is not). What is left of the function's timeout after the handler's calls; a
/// shorter attempt timeout turned a DynamoDB that had just restarted, slow for its first
/// requests, into 503s (local/tests/reliability/faults.rs).
pub const LIMIT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(900);
pub const LIMIT_OPERATION_TIMEOUT: Duration = Duration::from_millis(900);

// A request gives up (503) inside the function's timeout, never the other way round: the counter
// call, then the handler's calls one after the other.
const _: () = assert!(
    LIMIT_OPERATION_TIMEOUT.as_millis()
        + OPERATION_TIMEOUT.as_millis() * (MAX_CALLS_PER_REQUEST as u128)
        < FUNCTION_TIMEOUT.as_millis()
);
const _: () = assert!(LIMIT_ATTEMPT_TIMEOUT.as_millis() <= LIMIT_OPERATION_TIMEOUT.as_millis());
const _: () = assert!(ATTEMPT_TIMEOUT.as_millis() <= OPERATION_TIMEOUT.as_millis());

#[derive(thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the {TABLE_NAME_VAR} environment variable must name the DynamoDB table")]
    MissingTableName,
    #[error("the AWS_REGION environment variable must name the region (Lambda sets it)")]
    MissingRegion,
    #[error(
        "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables must hold the \
         function's credentials (Lambda sets them from the execution role)"
    )]
    MissingCredentials,
    #[error("{0} must be `true` or `false`, not {1:?}")]
    NotABoolean(&'static str, String),
    #[error("{0} must be a whole number from 1 to {1} (the stage's `userLimit`), not {2}")]
    BadUserLimit(&'static str, u32, String),
    #[error("the TLS settings of the DynamoDB client were refused: {0}")]
    Tls(String),
}

/// `main` returns this on a failed cold start and the process prints its `Debug`: make that
/// the sentence, not the variant name.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Whether a function warms its DynamoDB connection during init (see [`crate::run`]): `true`
/// or `false`; on when unset. The stack sets it per stage (`dynamodbWarmUp` in
/// `config/stages.json`).
pub const WARM_UP_VAR: &str = "DYNAMODB_WARM_UP";

pub fn warm_up() -> Result<bool, ConfigError> {
    flag(WARM_UP_VAR, env_var(WARM_UP_VAR), true)
}

/// The per-user limit's requests per window and window length in seconds (`crate::limit`); the
/// stack sets both from the stage's `userLimit` in `config/stages.json`. Required: a function
/// without them would serve every caller without a limit.
pub const USER_LIMIT_REQUESTS_VAR: &str = "USER_LIMIT_REQUESTS";
pub const USER_LIMIT_WINDOW_VAR: &str = "USER_LIMIT_WINDOW_SECONDS";

pub fn user_limit() -> Result<UserLimit, ConfigError> {
    user_limit_of(
        env_var(USER_LIMIT_REQUESTS_VAR),
        env_var(USER_LIMIT_WINDOW_VAR),
    )
}

fn user_limit_of(
    requests: Option<String>,
    window_seconds: Option<String>,
) -> Result<UserLimit, ConfigError> {
    let number = |name: &'static str, max: u32, value: Option<String>| {
        value
            .as_deref()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(|| {
                let shown = value
                    .as_ref()
                    .map_or("unset".to_owned(), |v| format!("{v:?}"));
                ConfigError::BadUserLimit(name, max, shown)
            })
    };
    let requests = number(USER_LIMIT_REQUESTS_VAR, limit::MAX_REQUESTS, requests)?;
    let window = number(
        USER_LIMIT_WINDOW_VAR,
        limit::MAX_WINDOW_SECONDS,
        window_seconds,
    )?;
    UserLimit::new(requests, window).ok_or_else(|| {
        ConfigError::BadUserLimit(
            USER_LIMIT_REQUESTS_VAR,
            limit::MAX_REQUESTS,
            requests.to_string(),
        )
    })
}

/// An environment variable that is set and not blank.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A `true`/`false` environment setting (any case); `default` when unset.
fn flag(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ConfigError::NotABoolean(name, v)),
    }
}

pub fn table_name() -> Result<String, ConfigError> {
    env_var(TABLE_NAME_VAR).ok_or(ConfigError::MissingTableName)
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

/// The client every function uses: [`dynamodb_config`] of the process's environment.
pub async fn dynamodb_client() -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    dynamodb_config(loader)
        .await
        .map(aws_sdk_dynamodb::Client::from_conf)
}

/// The DynamoDB configuration `loader` resolves (tests hand it an environment of their own):
/// region, credentials and the standard endpoint settings (`AWS_ENDPOINT_URL_DYNAMODB` points it
/// at DynamoDB Local in tests and benchmarks; `AWS_USE_FIPS_ENDPOINT`,
/// `AWS_USE_DUALSTACK_ENDPOINT`), plus our timeouts, retries and HTTP client.
///
/// A missing region or missing credentials fail init with one sentence: the credentials are
/// resolved once here (in Lambda, from the environment, at once) rather than at the first
/// request.
///
/// The loader's own providers get the Amazon Trust Services client: the region that would pick
/// another trust store is what the loader is about to resolve, and in Lambda none of the
/// providers that would use a client (web identity's STS, container and instance metadata)
/// runs. Without a client of ours they would build the SDK's default one, whose native root
/// store costs 4 ms of every cold start (docs/BENCHMARKS.md).
pub async fn dynamodb_config(
    loader: ConfigLoader,
) -> Result<aws_sdk_dynamodb::Config, ConfigError> {
    let shared = loader
        .http_client(https_client(TrustedRoots::AmazonTrustServices)?)
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await;
    let region = shared
        .region()
        .filter(|r| !r.as_ref().trim().is_empty())
        .ok_or(ConfigError::MissingRegion)?;
    let roots = TrustedRoots::for_region(region.as_ref());
    let credentials = shared
        .credentials_provider()
        .ok_or(ConfigError::MissingCredentials)?;
    credentials
        .provide_credentials()
        .await
        .map_err(|_| ConfigError::MissingCredentials)?;
    Ok(aws_sdk_dynamodb::config::Builder::from(&shared)
        .http_client(https_client(roots)?)
        .build())
}

/// The client settings for a region without `aws-config`: DynamoDB Local's client below.
fn base_config(region: &str) -> Result<aws_sdk_dynamodb::config::Builder, ConfigError> {
    Ok(aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(https_client(TrustedRoots::for_region(region))?)
        .timeout_config(timeouts())
        .retry_config(retries()))
}

/// The root certificates of Amazon Trust Services, the CA behind every AWS endpoint's
/// certificate (`certs/amazon-trust-services.pem` says where they come from).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// Which certificate authorities the client trusts for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedRoots {
    /// Only Amazon Trust Services' five roots: AWS endpoints need no other CA, and a
    /// mis-issued certificate from any of the ~150 others cannot intercept the table's traffic.
    /// Also the cheaper cold start: five certificates parsed from the binary instead of the
    /// machine's CA bundle and certificate directory read and parsed (see docs/BENCHMARKS.md).
    AmazonTrustServices,
    /// The machine's CA store (what the SDK does by default).
    Native,
}

impl TrustedRoots {
    /// Amazon Trust Services roots for the regions of the commercial `aws` partition (its
    /// `regionRegex` in the SDK's partition table: `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`),
    /// where AWS documents that its endpoints use them. Other partitions (China, GovCloud,
    /// the isolated and sovereign regions) keep the machine's store. The rule is written out
    /// here because the SDK for Rust resolves partitions only inside its endpoint resolvers and
    /// exposes no way to ask for a region's partition (awslabs/aws-sdk-rust#811).
    pub fn for_region(region: &str) -> Self {
        let mut parts = region.split('-');
        let commercial = matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some("us" | "eu" | "ap" | "sa" | "ca" | "me" | "af" | "il" | "mx"), Some(area), Some(n), None)
                if !area.is_empty()
                    && area.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
        );
        if commercial {
            TrustedRoots::AmazonTrustServices
        } else {
            TrustedRoots::Native
        }
    }
}

/// The SDK's default HTTPS client (hyper, rustls on aws-lc, the connector settings and
/// proxy handling the SDK would use) with the trust store `roots`.
pub fn https_client(
    roots: TrustedRoots,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, ConfigError> {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
    let trust_store = match roots {
        TrustedRoots::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
        }
        TrustedRoots::Native => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| ConfigError::Tls(e.to_string()))?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

/// A client for DynamoDB Local at `endpoint` (local mode, tests, benchmarks): static dummy
/// credentials and a fixed region, so the SDK never probes for credentials anywhere, in
/// particular not the instance metadata address; same timeouts and retries as in Lambda.
pub fn dynamodb_local_client(endpoint: &str) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    let conf = base_config("us-east-1")?
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "static-local",
        ))
        .endpoint_url(endpoint)
        .build();
    Ok(aws_sdk_dynamodb::Client::from_conf(conf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_types::os_shim_internal::{Env, Fs};

    /// What [`dynamodb_config`] makes of `vars` alone: no profile files, no instance metadata.
    async fn config(vars: &[(&str, &str)]) -> Result<aws_sdk_dynamodb::Config, ConfigError> {
        let mut vars = vars.to_vec();
        vars.push(("AWS_EC2_METADATA_DISABLED", "true"));
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .env(Env::from_slice(&vars))
            .fs(Fs::from_slice(&[]));
        dynamodb_config(loader).await
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[tokio::test]
    async fn lambdas_environment_makes_a_client() {
        let conf = config(&LAMBDA).await.expect("config");
        assert_eq!(conf.region().map(Region::as_ref), Some("eu-west-1"));
    }

    #[tokio::test]
    async fn the_region_falls_back_to_aws_default_region() {
        let conf = config(&[
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ])
        .await
        .expect("config");
        assert_eq!(conf.region().map(Region::as_ref), Some("us-west-2"));
    }

    #[tokio::test]
    async fn missing_region_or_credentials_fail_init_with_a_sentence() {
        assert_eq!(
            config(&LAMBDA[1..]).await.err(),
            Some(ConfigError::MissingRegion)
        );
        let blank_region = [("AWS_REGION", " "), LAMBDA[1], LAMBDA[2]];
        assert_eq!(
            config(&blank_region).await.err(),
            Some(ConfigError::MissingRegion)
        );
        let no_secret = [LAMBDA[0], LAMBDA[1]];
        assert_eq!(
            config(&no_secret).await.err(),
            Some(ConfigError::MissingCredentials)
        );
        let blank_key = [LAMBDA[0], ("AWS_ACCESS_KEY_ID", " "), LAMBDA[2]];
        assert_eq!(
            config(&blank_key).await.err(),
            Some(ConfigError::MissingCredentials)
        );
        assert!(
            ConfigError::MissingCredentials
                .to_string()
                .contains("AWS_ACCESS_KEY_ID")
        );
    }

    #[test]
    fn the_user_limit_takes_only_positive_bounded_whole_numbers() {
        let some = |v: &str| Some(v.to_owned());
        assert_eq!(
            user_limit_of(some("120"), some("60")),
            Ok(UserLimit::new(120, 60).expect("limit"))
        );
        for (requests, window, bad_var, bad_value) in [
            (None, some("60"), USER_LIMIT_REQUESTS_VAR, None),
            (some("120"), None, USER_LIMIT_WINDOW_VAR, None),
            (some("0"), some("60"), USER_LIMIT_REQUESTS_VAR, some("0")),
            (some("-1"), some("60"), USER_LIMIT_REQUESTS_VAR, some("-1")),
            (
                some("1.5"),
                some("60"),
                USER_LIMIT_REQUESTS_VAR,
                some("1.5"),
            ),
            (some("120"), some("0"), USER_LIMIT_WINDOW_VAR, some("0")),
            (
                some("120"),
                some("86401"),
                USER_LIMIT_WINDOW_VAR,
                some("86401"),
            ),
            (
                some("1000001"),
                some("60"),
                USER_LIMIT_REQUESTS_VAR,
                some("1000001"),
            ),
        ] {
            let err = user_limit_of(requests.clone(), window.clone()).expect_err("refused");
            assert!(
                matches!(&err, ConfigError::BadUserLimit(var, _, value)
                    if *var == bad_var && *value == bad_value.map_or("unset".to_owned(), |v| format!("{v:?}"))),
                "{requests:?}/{window:?}: {err}"
            );
            assert!(err.to_string().starts_with(bad_var), "{err}");
        }
    }

    #[test]
    fn the_warm_up_setting_takes_only_true_or_false() {
        for (value, want) in [
            (None, Ok(true)),
            (Some("TRUE"), Ok(true)),
            (Some("false"), Ok(false)),
            (
                Some("yes"),
                Err(ConfigError::NotABoolean(WARM_UP_VAR, "yes".into())),
            ),
            (
                Some("1"),
                Err(ConfigError::NotABoolean(WARM_UP_VAR, "1".into())),
            ),
        ] {
            assert_eq!(
                flag(WARM_UP_VAR, value.map(str::to_owned), true),
                want,
                "{value:?}"
            );
        }
    }
}
