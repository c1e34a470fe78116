//! The item store: a small port and its DynamoDB adapter.
//!
//! Layout (see `api/table.json`): `PK = USER#<owner>`, `SK = ITEM#<id>`. Every write is
//! conditional: a create never overwrites, an update or delete must find the item and, with
//! `If-Match`, the same version. Listing is a Query on the caller's partition, never a Scan.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use crate::domain::{Description, Item, ItemId, ItemPatch, Name, Owner, Tags, Version};
use crate::idempotency::{
    Claim, IN_PROGRESS_SECONDS, IdempotencyKey, RECORD_TTL_SECONDS, StoredResponse,
};

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// The TTL attribute (epoch seconds) of records that expire, such as idempotency records.
pub const TTL_ATTRIBUTE: &str = "expiresAt";
const OWNER_PREFIX: &str = "USER#";
const ITEM_PREFIX: &str = "ITEM#";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

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

/// The port the route handlers depend on.
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
    fn update(
        &self,
        owner: &Owner,
        id: ItemId,
        patch: &ItemPatch,
        expect: &Expect,
        now: &str,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;
    fn delete(
        &self,
        owner: &Owner,
        id: ItemId,
        expect: &Expect,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes an idempotency key for a request with this fingerprint, or says why not.
    fn claim_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: u64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Creates the item and completes the key's record with the response, atomically.
    fn create_with_key(
        &self,
        owner: &Owner,
        item: &Item,
        key: &IdempotencyKey,
        fingerprint: &str,
        response: &StoredResponse,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Releases a key this request took, after its create failed, so a retry can run.
    fn release_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The DynamoDB adapter.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn tags_value(tags: &Tags) -> AttributeValue {
    AttributeValue::L(tags.iter().map(|t| s(t.as_str())).collect())
}

pub fn partition_key(owner: &Owner) -> AttributeValue {
    s(format!("{OWNER_PREFIX}{}", owner.as_str()))
}

fn sort_key(id: ItemId) -> AttributeValue {
    s(format!("{ITEM_PREFIX}{id}"))
}

fn key_sort_key(key: &IdempotencyKey) -> AttributeValue {
    s(format!("{IDEMPOTENCY_PREFIX}{}", key.as_str()))
}

fn stored_response(record: &HashMap<String, AttributeValue>) -> Option<StoredResponse> {
    let text = |k: &str| record.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(StoredResponse {
        status: record.get("responseStatus")?.as_n().ok()?.parse().ok()?,
        body: text("responseBody")?,
        etag: text("responseEtag")?,
        location: text("responseLocation")?,
    })
}

fn item_to_record(owner: &Owner, item: &Item) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PARTITION_KEY.to_owned(), partition_key(owner)),
        (SORT_KEY.to_owned(), sort_key(item.id)),
        ("id".to_owned(), s(item.id.to_string())),
        ("name".to_owned(), s(item.name.as_str())),
        ("description".to_owned(), s(item.description.as_str())),
        ("tags".to_owned(), tags_value(&item.tags)),
        ("version".to_owned(), n(item.version.get())),
        ("createdAt".to_owned(), s(&item.created_at)),
        ("updatedAt".to_owned(), s(&item.updated_at)),
    ])
}

fn record_to_item(record: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let text = |key: &str| {
        record.get(key).and_then(|v| v.as_s().ok()).ok_or_else(|| {
            StoreError::Corrupt(format!("attribute {key} is missing or not a string"))
        })
    };
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    let id = ItemId::parse(text("id")?).ok_or_else(|| corrupt("bad id"))?;
    let name = Name::parse(text("name")?).map_err(|_| corrupt("bad name"))?;
    let description =
        Description::parse(text("description")?).map_err(|_| corrupt("bad description"))?;
    let tags = record
        .get("tags")
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .map(|v| v.as_s().cloned())
                .collect::<Result<Vec<_>, _>>()
        })
        .and_then(Result::ok)
        .and_then(Tags::from_stored)
        .ok_or_else(|| corrupt("bad tags"))?;
    let version = record
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .and_then(Version::new)
        .ok_or_else(|| corrupt("bad version"))?;
    Ok(Item {
        id,
        name,
        description,
        tags,
        version,
        created_at: text("createdAt")?.clone(),
        updated_at: text("updatedAt")?.clone(),
    })
}

/// Sorts an SDK failure into the outcomes the API distinguishes.
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

/// Adds the version condition to a condition expression.
fn version_condition(expect: &Expect, values: &mut HashMap<String, AttributeValue>) -> String {
    let mut condition = format!("attribute_exists({PARTITION_KEY})");
    if let Expect::OneOf(versions) = expect {
        if versions.is_empty() {
            // No version is 0, so this fails for an existing item, which is what a
            // precondition that can never hold must do; a missing item still reads as missing.
            values.insert(":expected0".to_owned(), n(0));
            condition.push_str(" AND #version = :expected0");
        } else {
            let names: Vec<String> = (0..versions.len())
                .map(|i| format!(":expected{i}"))
                .collect();
            for (name, v) in names.iter().zip(versions) {
                values.insert(name.clone(), n(v.get()));
            }
            condition.push_str(&format!(" AND #version IN ({})", names.join(", ")));
        }
    }
    condition
}

/// The partition and sort key of the warm-up calls. Items live under `USER#…` partitions and
/// idempotency records beside them, so no record has this key: a warm-up reads nothing and
/// writes nothing.
pub const WARM_UP_KEY: &str = "WARM-UP#";

/// One harmless DynamoDB call a function can make during init, so that its first request finds
/// the connection open (DNS, TCP and TLS done) and the SDK's lazy set-up (endpoint, signing,
/// HTTP client) behind it. Each variant is an action one of the roles is granted; none changes
/// the table, because no record has [`WARM_UP_KEY`] (were one there, a warm-up would report it
/// as corrupt after deleting or updating it).
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
        let key = || {
            HashMap::from([
                (PARTITION_KEY.to_owned(), s(WARM_UP_KEY)),
                (SORT_KEY.to_owned(), s(WARM_UP_KEY)),
            ])
        };
        let must_exist = format!("attribute_exists({PARTITION_KEY})");
        let found = match call {
            WarmUpCall::GetItem => self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key()))
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
                    .set_key(Some(key()))
                    .condition_expression(must_exist)
                    .send()
                    .await,
            )?,
            WarmUpCall::UpdateItem => condition_held(
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key()))
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

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl ItemStore for DynamoStore {
    async fn create(&self, owner: &Owner, item: &Item) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_to_record(owner, item)))
            .condition_expression(format!("attribute_not_exists({PARTITION_KEY})"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // The SDK retried a put whose first attempt was applied but whose answer was
                // lost: what is stored is exactly this item, so the create succeeded.
                Some(PutItemError::ConditionalCheckFailedException(c))
                    if c.item().map(record_to_item).and_then(Result::ok).as_ref() == Some(item) =>
                {
                    Ok(())
                }
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::AlreadyExists)
                }
                _ => Err(classify(e)),
            },
        }
    }

    async fn get(&self, owner: &Owner, id: ItemId) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, partition_key(owner))
            .key(SORT_KEY, sort_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item().map(record_to_item).transpose()
    }

    async fn list(
        &self,
        owner: &Owner,
        limit: u32,
        after: Option<ItemId>,
    ) -> Result<Page, StoreError> {
        let start = after.map(|id| {
            HashMap::from([
                (PARTITION_KEY.to_owned(), partition_key(owner)),
                (SORT_KEY.to_owned(), sort_key(id)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", partition_key(owner))
            .expression_attribute_values(":prefix", s(ITEM_PREFIX))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let items = output
            .items()
            .iter()
            .map(record_to_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last = match output.last_evaluated_key() {
            None => None,
            Some(key) => {
                let sk = key
                    .get(SORT_KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|v| v.strip_prefix(ITEM_PREFIX))
                    .and_then(ItemId::parse)
                    .ok_or_else(|| StoreError::Corrupt("bad LastEvaluatedKey".to_owned()))?;
                Some(sk)
            }
        };
        Ok(Page { items, last })
    }

    async fn update(
        &self,
        owner: &Owner,
        id: ItemId,
        patch: &ItemPatch,
        expect: &Expect,
        now: &str,
    ) -> Result<Item, StoreError> {
        // Marks this call's write, so that an SDK retry can recognise its own applied attempt.
        let write_id = ItemId::new().to_string();
        let mut values = HashMap::from([
            (":one".to_owned(), n(1)),
            (":now".to_owned(), s(now)),
            (":writeId".to_owned(), s(&write_id)),
        ]);
        let mut sets = vec![
            "#version = #version + :one".to_owned(),
            "#updatedAt = :now".to_owned(),
            "#writeId = :writeId".to_owned(),
        ];
        let mut names = HashMap::from([
            ("#version".to_owned(), "version".to_owned()),
            ("#updatedAt".to_owned(), "updatedAt".to_owned()),
            ("#writeId".to_owned(), "writeId".to_owned()),
        ]);
        let mut set = |field: &str, value: AttributeValue| {
            names.insert(format!("#{field}"), field.to_owned());
            values.insert(format!(":{field}"), value);
            sets.push(format!("#{field} = :{field}"));
        };
        if let Some(name) = &patch.name {
            set("name", s(name.as_str()));
        }
        if let Some(description) = &patch.description {
            set("description", s(description.as_str()));
        }
        if let Some(tags) = &patch.tags {
            set("tags", tags_value(tags));
        }
        let condition = version_condition(expect, &mut values);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, partition_key(owner))
            .key(SORT_KEY, sort_key(id))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes()
                .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no attributes".to_owned()))
                .and_then(record_to_item),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    None => Err(StoreError::NotFound),
                    // The SDK retried an update whose first attempt was applied but whose answer
                    // was lost: the version condition now fails against our own write, which
                    // carries this call's write id. The update succeeded.
                    Some(current)
                        if current.get("writeId").and_then(|v| v.as_s().ok())
                            == Some(&write_id) =>
                    {
                        record_to_item(current)
                    }
                    Some(_) => Err(StoreError::VersionMismatch),
                },
                _ => Err(classify(e)),
            },
        }
    }

    async fn delete(&self, owner: &Owner, id: ItemId, expect: &Expect) -> Result<(), StoreError> {
        let mut values = HashMap::new();
        let condition = version_condition(expect, &mut values);
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, partition_key(owner))
            .key(SORT_KEY, sort_key(id))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if !values.is_empty() {
            request = request
                .expression_attribute_names("#version", "version")
                .set_expression_attribute_values(Some(values));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                    Err(if c.item().is_some() {
                        StoreError::VersionMismatch
                    } else {
                        StoreError::NotFound
                    })
                }
                _ => Err(classify(e)),
            },
        }
    }

    async fn claim_key(
        &self,
        owner: &Owner,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: u64,
    ) -> Result<Claim, StoreError> {
        let record = HashMap::from([
            (PARTITION_KEY.to_owned(), partition_key(owner)),
            (SORT_KEY.to_owned(), key_sort_key(key)),
            ("status".to_owned(), s(IN_PROGRESS)),
            ("fingerprint".to_owned(), s(fingerprint)),
            ("inProgressUntil".to_owned(), n(now + IN_PROGRESS_SECONDS)),
            (TTL_ATTRIBUTE.to_owned(), n(now + RECORD_TTL_SECONDS)),
        ]);
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
        if text("fingerprint") != Some(fingerprint) {
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
        fingerprint: &str,
        response: &StoredResponse,
        now: u64,
    ) -> Result<(), StoreError> {
        let put_item = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item_to_record(owner, item)))
            .condition_expression(format!("attribute_not_exists({PARTITION_KEY})"))
            .build()
            .map_err(|e| StoreError::Internal(Box::new(e)))?;
        let completed = HashMap::from([
            (PARTITION_KEY.to_owned(), partition_key(owner)),
            (SORT_KEY.to_owned(), key_sort_key(key)),
            ("status".to_owned(), s(COMPLETED)),
            ("fingerprint".to_owned(), s(fingerprint)),
            (TTL_ATTRIBUTE.to_owned(), n(now + RECORD_TTL_SECONDS)),
            ("responseStatus".to_owned(), n(u64::from(response.status))),
            ("responseBody".to_owned(), s(&response.body)),
            ("responseEtag".to_owned(), s(&response.etag)),
            ("responseLocation".to_owned(), s(&response.location)),
        ]);
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(completed))
            // Still ours: in progress with our fingerprint.
            .condition_expression("#status = :inProgress AND fingerprint = :fp")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fingerprint))
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
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, partition_key(owner))
            .key(SORT_KEY, key_sort_key(key))
            .condition_expression("#status = :inProgress AND fingerprint = :fp")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fingerprint))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_survives_the_round_trip_through_its_record() {
        let owner = Owner::parse("alice").expect("owner");
        let item = Item {
            id: ItemId::new(),
            name: Name::parse("n").expect("name"),
            description: Description::parse("d").expect("description"),
            tags: Tags::from_stored(vec!["a".into(), "b".into()]).expect("tags"),
            version: Version::FIRST,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let record = item_to_record(&owner, &item);
        assert_eq!(record[PARTITION_KEY], s("USER#alice"));
        assert_eq!(record_to_item(&record).expect("parses"), item);
    }

    #[test]
    fn a_record_with_a_bad_attribute_is_corrupt_not_a_panic() {
        let mut record = HashMap::new();
        record.insert("id".to_owned(), n(5));
        assert!(matches!(
            record_to_item(&record),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn the_version_condition_names_each_expected_version() {
        let mut values = HashMap::new();
        let v = |x| Version::new(x).expect("nonzero");
        let c = version_condition(&Expect::OneOf(vec![v(2), v(3)]), &mut values);
        assert_eq!(
            c,
            "attribute_exists(PK) AND #version IN (:expected0, :expected1)"
        );
        assert_eq!(values[":expected1"], n(3));
    }
}
