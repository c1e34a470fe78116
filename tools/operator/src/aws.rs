//! Region and credentials from aws-config's full default chain, resolved quickly or not at all,
//! and one sentence for any SDK error.
//!
//! The chains are aws-config's own (environment, shared config and credentials files with
//! profiles and SSO, web identity, ECS, EC2 instance metadata); only the instance-metadata client
//! is bounded: one attempt, 1 s to connect, 1 s to read, 2 s per call (the SDK's default is 4
//! attempts with a 30 s budget), so that a laptop, where nothing answers at 169.254.169.254, gets
//! its answer in a few seconds. `AWS_EC2_METADATA_DISABLED=true` skips it altogether.

use std::error::Error as StdError;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::Fatal;

/// Longest wait for the whole credentials chain (each step is bounded on its own as well).
const CREDENTIALS_BUDGET: Duration = Duration::from_secs(8);
/// Budget of the first call to AWS (STS GetCallerIdentity), which proves the network and credentials.
const FIRST_CALL_BUDGET: Duration = Duration::from_secs(8);

/// A resolved region and credentials, proven by STS GetCallerIdentity.
#[derive(Debug, Clone)]
pub struct Aws {
    pub config: SdkConfig,
    pub account: String,
    pub caller_arn: String,
    pub region: String,
}

impl Aws {
    /// The shared configuration with another region (for stacks of other regions).
    pub fn config_in(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// The same credentials and account in another region.
    pub fn in_region(&self, region: &str) -> Self {
        Self {
            config: self.config_in(region),
            region: region.to_owned(),
            ..self.clone()
        }
    }
}

/// The instance-metadata client every chain step uses: one short attempt.
fn imds_client() -> imds::Client {
    imds::Client::builder()
        .max_attempts(1)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(2))
        .build()
}

/// aws-config's default region chain (environment, profile, instance metadata), with the bounded
/// instance-metadata client.
async fn default_region(imds: imds::Client) -> Option<Region> {
    RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::builder().build())
        .or_else(ImdsRegionProvider::builder().imds_client(imds).build())
        .region()
        .await
}

/// Region, then credentials, then one call to AWS: each failure is one sentence with exit status 2.
pub async fn connect(region: Option<&str>) -> Result<Aws, Fatal> {
    let imds = imds_client();
    let region = match region {
        Some(r) if !r.is_empty() => Region::new(r.to_owned()),
        _ => default_region(imds.clone()).await.ok_or_else(|| {
            Fatal::environment(
                "No AWS region: set AWS_REGION (or a profile's region in ~/.aws/config with AWS_PROFILE), or pass REGION=… to make.",
            )
        })?,
    };

    let chain = DefaultCredentialsChain::builder()
        .region(region.clone())
        .imds_client(imds)
        .build()
        .await;
    match tokio::time::timeout(CREDENTIALS_BUDGET, chain.provide_credentials()).await {
        Ok(Ok(_)) => {}
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => {
            return Err(Fatal::environment(
                "No AWS credentials: sign in (aws sso login with AWS_PROFILE set, or aws configure), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is provided (CI with OIDC, an instance profile).",
            ));
        }
        Ok(Err(e)) => {
            return Err(Fatal::environment(format!(
                "AWS credentials could not be loaded: {}.",
                chain_message(&e)
            )));
        }
        Err(_) => {
            return Err(Fatal::environment(format!(
                "AWS credentials could not be loaded within {} s: check AWS_PROFILE and the network.",
                CREDENTIALS_BUDGET.as_secs()
            )));
        }
    }

    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(chain)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .read_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await;

    let sts = aws_sdk_sts::Client::new(&config);
    let who = tokio::time::timeout(FIRST_CALL_BUDGET, sts.get_caller_identity().send()).await;
    let who = match who {
        Ok(Ok(who)) => who,
        Ok(Err(e)) => {
            return Err(match &e {
                SdkError::ServiceError(_) => Fatal::environment(format!(
                    "AWS refused the credentials (STS GetCallerIdentity in {region}): {}.",
                    sdk_message(&e)
                )),
                _ => Fatal::environment(format!(
                    "Cannot reach AWS (STS in {region}): {}; check the network, a proxy, or AWS_ENDPOINT_URL.",
                    sdk_message(&e)
                )),
            });
        }
        Err(_) => {
            return Err(Fatal::environment(format!(
                "Cannot reach AWS (STS in {region}): no answer within {} s; check the network, a proxy, or AWS_ENDPOINT_URL.",
                FIRST_CALL_BUDGET.as_secs()
            )));
        }
    };
    Ok(Aws {
        account: who.account().unwrap_or_default().to_owned(),
        caller_arn: who.arn().unwrap_or_default().to_owned(),
        region: region.to_string(),
        config,
    })
}

/// The innermost useful words of a credentials error.
fn chain_message(e: &CredentialsError) -> String {
    innermost(e).trim_end_matches('.').to_owned()
}

/// The last message of an error's source chain.
fn innermost(e: &(dyn StdError + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// One short phrase for any SDK error: the service's code and message, a timeout, or the
/// connection failure's innermost cause.
pub fn sdk_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {}", message.trim_end_matches('.')),
                (Some(code), None) => code.to_owned(),
                _ => innermost(err).trim_end_matches('.').to_owned(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                "timed out"
            } else if d.is_io() {
                "connection failed"
            } else {
                "request failed"
            };
            match d.as_connector_error() {
                Some(c) => format!("{kind} ({})", innermost(c).trim_end_matches('.')),
                None => kind.to_owned(),
            }
        }
        other => innermost(other).trim_end_matches('.').to_owned(),
    }
}

/// The service error code, when AWS answered with one.
pub fn error_code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// An SDK error as the sentence that ends a command: `what` says which call failed.
pub fn fatal<E, R>(what: &str, e: &SdkError<E, R>) -> Fatal
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    let sentence = format!("{what} failed: {}.", sdk_message(e));
    match e {
        SdkError::ServiceError(_) => Fatal::failed(sentence),
        _ => Fatal::environment(sentence),
    }
}
