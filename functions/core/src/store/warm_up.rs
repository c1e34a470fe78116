//! The warm-up: one harmless DynamoDB call a function can make during init, so that its first
//! request finds the connection open (DNS, TCP and TLS done) and the SDK's lazy set-up
//! (endpoint, signing, HTTP client) behind it.

use super::record::{PARTITION_KEY, TTL_ATTRIBUTE, key, s};
use super::{DynamoStore, StoreError, classify, condition_held};

/// The partition and sort key of the warm-up calls. Items live under `USER#…` partitions and
/// idempotency records beside them, so no record has this key: a warm-up reads nothing and
/// writes nothing.
pub const WARM_UP_KEY: &str = "WARM-UP#";

/// The warm-up calls. Each variant is an action one of the roles is granted; none changes the
/// table, because no record has [`WARM_UP_KEY`] (were one there, a warm-up would report it as
/// corrupt after deleting or updating it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUpCall {
    /// `GetItem` of the warm-up key: finds nothing.
    GetItem,
    /// `Query` of the warm-up partition, one item at most: finds nothing.
    Query,
    /// `DeleteItem` of the warm-up key on condition that it exists: the condition fails.
    DeleteItem,
    /// `UpdateItem` of the warm-up key on condition that it exists: the condition fails.
    UpdateItem,
}

impl WarmUpCall {
    /// The IAM action the call needs, as the contract's `x-dynamodb-actions` spells it.
    pub fn action(self) -> &'static str {
        match self {
            WarmUpCall::GetItem => "dynamodb:GetItem",
            WarmUpCall::Query => "dynamodb:Query",
            WarmUpCall::DeleteItem => "dynamodb:DeleteItem",
            WarmUpCall::UpdateItem => "dynamodb:UpdateItem",
        }
    }
}

impl DynamoStore {
    /// Makes `call` against the table. `Ok` when DynamoDB answered as a warm-up expects (a
    /// failed condition included); the error otherwise. Retries and timeouts are the client's.
    pub async fn warm_up(&self, call: WarmUpCall) -> Result<(), StoreError> {
        let warm_up_key = || key(WARM_UP_KEY.to_owned(), WARM_UP_KEY.to_owned());
        let must_exist = format!("attribute_exists({PARTITION_KEY})");
        let found = match call {
            WarmUpCall::GetItem => self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(warm_up_key()))
                .projection_expression(PARTITION_KEY)
                .send()
                .await
                .map_err(classify)?
                .item
                .is_some(),
            WarmUpCall::Query => {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression(format!("{PARTITION_KEY} = :pk"))
                    .expression_attribute_values(":pk", s(WARM_UP_KEY))
                    .projection_expression(PARTITION_KEY)
                    .limit(1)
                    .send()
                    .await
                    .map_err(classify)?
                    .count
                    > 0
            }
            WarmUpCall::DeleteItem => condition_held(
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(warm_up_key()))
                    .condition_expression(must_exist)
                    .send()
                    .await,
            )?,
            WarmUpCall::UpdateItem => condition_held(
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(warm_up_key()))
                    .update_expression(format!("REMOVE {TTL_ATTRIBUTE}"))
                    .condition_expression(must_exist)
                    .send()
                    .await,
            )?,
        };
        if found {
            return Err(StoreError::Corrupt(format!(
                "a record has the warm-up key {WARM_UP_KEY}"
            )));
        }
        Ok(())
    }
}
