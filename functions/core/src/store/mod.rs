//! The stores the handlers depend on (two small ports) and their DynamoDB adapter.
//!
//! Layout (see `api/table.json` and [`record`]): `PK = USER#<owner>`, `SK = ITEM#<id>` for items
//! and `SK = IDEMPOTENCY#<key>` for idempotency records beside them. Every write is conditional:
//! a create never overwrites, an update or delete must find the item and, with `If-Match`, the
//! same version. Listing is a Query on the caller's partition, never a Scan.
//!
//! - [`record`]: the keys and the codec between domain values and DynamoDB records;
//! - `items`: [`ItemStore`] on DynamoDB;
//! - `idempotency`: [`IdempotencyStore`] on DynamoDB (the records of `crate::idempotency`);
//! - `limit`: [`UserLimitStore`] on DynamoDB (the per-user limit's counters, `PK = LIMIT#<sub>`);
//! - [`warm_up`]: the one harmless call a function makes during init.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::clock::Timestamp;
use crate::domain::{Item, ItemId, ItemPatch, Owner, Version};
use crate::idempotency::{Claim, Fingerprint, IdempotencyKey, StoredResponse};
use crate::limit::Window;

mod idempotency;
mod items;
mod limit;
pub mod record;
pub mod warm_up;

pub use record::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
pub use warm_up::{WARM_UP_KEY, WarmUpCall};

type BoxError = Box<dyn StdError + Send + Sync>;

/// What a conditional write requires of the stored item's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The item must exist; any version.
    Exists,
    /// The item must exist with one of these versions (none: the precondition cannot hold).
    OneOf(Vec<Version>),
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    /// The last item of this page when DynamoDB says there may be more.
    pub last: Option<ItemId>,
}

#[derive(thiserror::Error)]
pub enum StoreError {
    #[error("no such item")]
    NotFound,
    #[error("the item's version does not match")]
    VersionMismatch,
    #[error("an item with this id already exists")]
    AlreadyExists,
    #[error("DynamoDB throttled the request")]
    Throttled(#[source] BoxError),
    #[error("DynamoDB did not answer in time or could not be reached")]
    Unavailable(#[source] BoxError),
    #[error("DynamoDB request failed")]
    Internal(#[source] BoxError),
    #[error("a stored record is malformed: {0}")]
    Corrupt(String),
    #[error("the idempotency key was taken over by another request")]
    KeyLost,
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

/// Writes an error and every cause under it, one per line.
pub fn error_chain_fmt(e: &dyn StdError, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{e}")?;
    let mut cause = e.source();
    while let Some(c) = cause {
        write!(f, "\n  caused by: {c}")?;
        cause = c.source();
    }
    Ok(())
}

/// The items of each owner: what the five routes read and write.
pub trait ItemStore: Send + Sync {
    fn create(
        &self,
        owner: &Owner,
        item: &Item,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get(
        &self,
        owner: &Owner,
        id: ItemId,
    ) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;
    fn list(
        &self,
        owner: &Owner,
        limit: u32,
        after: Option<ItemId>,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
    /// Applies `patch`, bumps the version and sets `updatedAt` to `now`.
    fn update(
        &self,
        owner: &Owner,
        id: ItemId,
        patch: &ItemPatch,
        expect: &Expect,
        now: Timestamp,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;
    fn delete(
        &self,
        owner: &Owner,
        id: ItemId,
        expect: &Expect,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The idempotency records of each owner, one per key (see [`crate::idempotency`]).
pub trait IdempotencyStore: Send + Sync {
    /// Takes an idempotency key for a request with this fingerprint, or says why not.
    fn claim_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: Timestamp,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Creates the item and completes the key's record with the response, atomically.
    fn create_with_key(
        &self,
        owner: &Owner,
        item: &Item,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        response: &StoredResponse,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Releases a key this request took, after its create failed, so a retry can run.
    fn release_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The per-user limit's counters (see [`crate::limit`]).
pub trait UserLimitStore: Send + Sync {
    /// Counts one request of `owner` in `window` if fewer than `limit` are counted there:
    /// `true` when it was counted, `false` (nothing written) when the window is full.
    fn count_request(
        &self,
        owner: &Owner,
        window: Window,
        limit: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The DynamoDB adapter of the stores, over one table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// Sorts an SDK failure into the outcomes the API distinguishes.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(Box::new(err))
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "LimitExceededException",
            ) => StoreError::Throttled(Box::new(err)),
            Some("InternalServerError" | "ServiceUnavailable") => {
                StoreError::Unavailable(Box::new(err))
            }
            _ => StoreError::Internal(Box::new(err)),
        },
        _ => StoreError::Internal(Box::new(err)),
    }
}

/// Whether a conditional write's `attribute_exists` condition held: `false` when DynamoDB
/// refused it with `ConditionalCheckFailedException`, `true` when the write went through.
fn condition_held<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(service))
            if service.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(e)),
    }
}
