//! [`UserLimitStore`] on DynamoDB: one conditional `UpdateItem` per request on the caller's
//! counter for the current window (`PK = LIMIT#<sub>`, `SK = WINDOW#<start>`).

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use super::record::{LIMIT_COUNT_ATTRIBUTE, TTL_ATTRIBUTE, limit_key, n};
use super::{DynamoStore, StoreError, UserLimitStore, condition_held};
use crate::config::{LIMIT_ATTEMPT_TIMEOUT, LIMIT_OPERATION_TIMEOUT};
use crate::domain::Owner;
use crate::limit::Window;

/// The counter call's own timeouts, shorter than the handler's calls: it runs in front of them,
/// and the request's whole DynamoDB budget must still end inside the function's timeout
/// (`crate::config`).
fn limit_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(LIMIT_ATTEMPT_TIMEOUT)
        .operation_timeout(LIMIT_OPERATION_TIMEOUT)
        .build()
}

impl UserLimitStore for DynamoStore {
    async fn count_request(
        &self,
        owner: &Owner,
        window: Window,
        limit: u32,
    ) -> Result<bool, StoreError> {
        // A new window's counter does not exist yet: `ADD` creates it at 1. An existing one is
        // counted only while it is below the limit; at the limit the condition fails and
        // nothing is written.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(limit_key(owner, window.start)))
            .update_expression("ADD #count :one SET #ttl = :expires")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", LIMIT_COUNT_ATTRIBUTE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(u64::from(limit)))
            .expression_attribute_values(":expires", n(window.expires()))
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default().timeout_config(limit_timeouts()),
            )
            .send()
            .await;
        condition_held(result)
    }
}
