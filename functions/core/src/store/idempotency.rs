//! [`IdempotencyStore`] on DynamoDB: the record of each `Idempotency-Key`, taken with a
//! conditional put, completed in one transaction with the item it created, released with a
//! conditional delete. What the records mean is `crate::idempotency`'s business.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::record::{
    COMPLETED, IN_PROGRESS, KeyState, PARTITION_KEY, TTL_ATTRIBUTE, idempotency_key,
    idempotency_record, item_to_record, n, s, stored_response,
};
use super::{DynamoStore, IdempotencyStore, StoreError, classify};
use crate::clock::Timestamp;
use crate::domain::{Item, Owner};
use crate::idempotency::{
    Claim, Fingerprint, IN_PROGRESS_SECONDS, IdempotencyKey, RECORD_TTL_SECONDS, StoredResponse,
};

impl IdempotencyStore for DynamoStore {
    async fn claim_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        let now = now.unix_seconds();
        let until = now + IN_PROGRESS_SECONDS;
        let state = KeyState::InProgress { until };
        let record = idempotency_record(owner, key, fingerprint, state, now + RECORD_TTL_SECONDS);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            // Free, expired (TTL deletion lags, so the stored time is checked), or abandoned
            // in progress by an attempt that died.
            .condition_expression(format!(
                "attribute_not_exists({PARTITION_KEY}) OR #expires < :now OR (#status = :inProgress AND #until < :now)"
            ))
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#until", "inProgressUntil")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let e = match result {
            Ok(_) => return Ok(Claim::Acquired),
            Err(e) => e,
        };
        let Some(PutItemError::ConditionalCheckFailedException(c)) = e.as_service_error() else {
            return Err(classify(e));
        };
        let existing = c.item().ok_or_else(|| {
            StoreError::Corrupt("a held idempotency key returned no record".to_owned())
        })?;
        let text = |k: &str| {
            existing
                .get(k)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
        };
        if text("fingerprint") != Some(fingerprint.as_str()) {
            return Ok(Claim::Mismatch);
        }
        match text("status") {
            Some(COMPLETED) => stored_response(existing)
                .map(Claim::Completed)
                .ok_or_else(|| {
                    StoreError::Corrupt(
                        "a completed idempotency record lacks its response".to_owned(),
                    )
                }),
            _ => Ok(Claim::InProgress),
        }
    }

    async fn create_with_key(
        &self,
        owner: &Owner,
        item: &Item,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        response: &StoredResponse,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let put_item = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item_to_record(owner, item)))
            .condition_expression(format!("attribute_not_exists({PARTITION_KEY})"))
            .build()
            .map_err(|e| StoreError::Internal(Box::new(e)))?;
        let expires = now.unix_seconds() + RECORD_TTL_SECONDS;
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency_record(
                owner,
                key,
                fingerprint,
                KeyState::Completed(response),
                expires,
            )))
            // Still ours: in progress with our fingerprint.
            .condition_expression("#status = :inProgress AND fingerprint = :fp")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fingerprint.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Internal(Box::new(e)))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_item).build())
            .transact_items(TransactWriteItem::builder().put(put_record).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    let failed = |i: usize| {
                        t.cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .is_some_and(|c| c == "ConditionalCheckFailed")
                    };
                    // An SDK retry of a transaction that was applied but whose answer was lost
                    // finds the record completed with this very response.
                    let own = t
                        .cancellation_reasons()
                        .get(1)
                        .and_then(|r| r.item())
                        .and_then(stored_response)
                        .is_some_and(|r| r == *response);
                    if own {
                        Ok(())
                    } else if failed(1) {
                        Err(StoreError::KeyLost)
                    } else if failed(0) {
                        Err(StoreError::AlreadyExists)
                    } else {
                        Err(classify(e))
                    }
                }
                _ => Err(classify(e)),
            },
        }
    }

    async fn release_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(owner, key)))
            .condition_expression("#status = :inProgress AND fingerprint = :fp")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fingerprint.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours any more (completed, or taken over): nothing to release.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(classify(e)),
        }
    }
}
