//! The table's keys and the codec between domain values and DynamoDB records: the one place
//! that knows how an item or an idempotency record is laid out.
//!
//! `PK = USER#<owner>`; `SK = ITEM#<id>` for an item, `SK = IDEMPOTENCY#<key>` for the
//! idempotency record of one of the owner's keys. Other record kinds take partitions of their own
//! prefix, never `USER#`: a caller's per-user limit counters are `PK = LIMIT#<sub>`,
//! `SK = WINDOW#<start>` (see [`crate::limit`]), and the warm-up key is `WARM-UP#`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::StoreError;
use crate::clock::Timestamp;
use crate::domain::{Description, Item, ItemId, Name, Owner, Tags, Version};
use crate::idempotency::{Fingerprint, IdempotencyKey, StoredResponse};

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// The TTL attribute (epoch seconds) of records that expire, such as idempotency records.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// The prefix of an owner's partition key.
pub const OWNER_PREFIX: &str = "USER#";
/// The prefix of an item's sort key.
pub const ITEM_PREFIX: &str = "ITEM#";
/// The prefix of an idempotency record's sort key.
pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";

/// The prefix of a per-user limit counter's partition key: its own partition, so the functions'
/// grant for it can be limited to this prefix (`dynamodb:LeadingKeys`).
pub const LIMIT_PREFIX: &str = "LIMIT#";
/// The prefix of a per-user limit counter's sort key; the window's start (Unix seconds) follows.
pub const WINDOW_PREFIX: &str = "WINDOW#";
/// A per-user limit counter's count of requests in its window.
pub const LIMIT_COUNT_ATTRIBUTE: &str = "requests";

/// An idempotency record's `status`.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETED: &str = "COMPLETED";

/// A record: attribute name → value.
pub type Record = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn tags_value(tags: &Tags) -> AttributeValue {
    AttributeValue::L(tags.iter().map(|t| s(t.as_str())).collect())
}

/// `USER#<owner>`: the partition of everything an owner has.
pub fn owner_partition(owner: &Owner) -> String {
    format!("{OWNER_PREFIX}{}", owner.as_str())
}

/// `ITEM#<id>`: an item's sort key.
pub fn item_sort_key(id: ItemId) -> String {
    format!("{ITEM_PREFIX}{id}")
}

/// `IDEMPOTENCY#<key>`: the sort key of an idempotency key's record.
pub fn idempotency_sort_key(key: &IdempotencyKey) -> String {
    format!("{IDEMPOTENCY_PREFIX}{}", key.as_str())
}

/// The item id of an item's sort key.
pub fn item_id_of_sort_key(sort_key: &str) -> Option<ItemId> {
    sort_key.strip_prefix(ITEM_PREFIX).and_then(ItemId::parse)
}

/// The primary key of a record.
pub fn key(partition: String, sort: String) -> Record {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(partition)),
        (SORT_KEY.to_owned(), s(sort)),
    ])
}

/// `LIMIT#<sub>`: the partition of a caller's per-user limit counters.
pub fn limit_partition(owner: &Owner) -> String {
    format!("{LIMIT_PREFIX}{}", owner.as_str())
}

/// The key of `owner`'s counter for the window starting at `window_start` (Unix seconds).
pub fn limit_key(owner: &Owner, window_start: u64) -> Record {
    key(
        limit_partition(owner),
        format!("{WINDOW_PREFIX}{window_start}"),
    )
}

pub fn item_key(owner: &Owner, id: ItemId) -> Record {
    key(owner_partition(owner), item_sort_key(id))
}

pub fn idempotency_key(owner: &Owner, key_: &IdempotencyKey) -> Record {
    key(owner_partition(owner), idempotency_sort_key(key_))
}

pub fn item_to_record(owner: &Owner, item: &Item) -> Record {
    let mut record = item_key(owner, item.id);
    record.extend([
        ("id".to_owned(), s(item.id.to_string())),
        ("name".to_owned(), s(item.name.as_str())),
        ("description".to_owned(), s(item.description.as_str())),
        ("tags".to_owned(), tags_value(&item.tags)),
        ("version".to_owned(), n(item.version.get())),
        ("createdAt".to_owned(), s(item.created_at.to_string())),
        ("updatedAt".to_owned(), s(item.updated_at.to_string())),
    ]);
    record
}

pub fn record_to_item(record: &Record) -> Result<Item, StoreError> {
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
    let timestamp = |key: &str| {
        text(key).and_then(|t| {
            Timestamp::parse(t).ok_or_else(|| StoreError::Corrupt(format!("bad {key}")))
        })
    };
    Ok(Item {
        id,
        name,
        description,
        tags,
        version,
        created_at: timestamp("createdAt")?,
        updated_at: timestamp("updatedAt")?,
    })
}

/// Where an idempotency record's key stands.
#[derive(Debug, Clone, Copy)]
pub enum KeyState<'a> {
    /// Taken by a request still running; a duplicate waits until this epoch second.
    InProgress { until: u64 },
    /// Done: the response to replay.
    Completed(&'a StoredResponse),
}

/// The record of one of `owner`'s idempotency keys, taken by a request with `fingerprint`;
/// DynamoDB may delete it after `expires` (epoch seconds).
pub fn idempotency_record(
    owner: &Owner,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    state: KeyState<'_>,
    expires: u64,
) -> Record {
    let attribute = |name: &str, value| (name.to_owned(), value);
    let mut record = idempotency_key(owner, key);
    record.extend([
        attribute("fingerprint", s(fingerprint.as_str())),
        attribute(TTL_ATTRIBUTE, n(expires)),
    ]);
    match state {
        KeyState::InProgress { until } => record.extend([
            attribute("status", s(IN_PROGRESS)),
            attribute("inProgressUntil", n(until)),
        ]),
        KeyState::Completed(response) => record.extend([
            attribute("status", s(COMPLETED)),
            attribute("responseStatus", n(u64::from(response.status))),
            attribute("responseBody", s(&response.body)),
            attribute("responseEtag", s(&response.etag)),
            attribute("responseLocation", s(&response.location)),
        ]),
    }
    record
}

/// The response a completed idempotency record holds.
pub fn stored_response(record: &Record) -> Option<StoredResponse> {
    let text = |k: &str| record.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(StoredResponse {
        status: record.get("responseStatus")?.as_n().ok()?.parse().ok()?,
        body: text("responseBody")?,
        etag: text("responseEtag")?,
        location: text("responseLocation")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SystemClock};

    #[test]
    fn an_item_survives_the_round_trip_through_its_record() {
        let owner = Owner::parse("alice").expect("owner");
        let now = SystemClock.now();
        let item = Item {
            id: ItemId::new(),
            name: Name::parse("n").expect("name"),
            description: Description::parse("d").expect("description"),
            tags: Tags::from_stored(vec!["a".into(), "b".into()]).expect("tags"),
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let record = item_to_record(&owner, &item);
        assert_eq!(record[PARTITION_KEY], s(format!("{OWNER_PREFIX}alice")));
        assert_eq!(
            item_id_of_sort_key(record[SORT_KEY].as_s().expect("a string")),
            Some(item.id)
        );
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
        let owner = Owner::parse("alice").expect("owner");
        let mut record = item_to_record(
            &owner,
            &Item {
                id: ItemId::new(),
                name: Name::parse("n").expect("name"),
                description: Description::default(),
                tags: Tags::default(),
                version: Version::FIRST,
                created_at: SystemClock.now(),
                updated_at: SystemClock.now(),
            },
        );
        record.insert("createdAt".to_owned(), s("yesterday"));
        assert!(matches!(
            record_to_item(&record),
            Err(StoreError::Corrupt(what)) if what == "bad createdAt"
        ));
    }

    #[test]
    fn each_kind_of_record_has_a_partition_prefix_no_other_starts_with() {
        let owner = Owner::parse("alice").expect("owner");
        let partitions = [
            (
                "items and idempotency",
                owner_partition(&owner),
                OWNER_PREFIX,
            ),
            ("limit counters", limit_partition(&owner), LIMIT_PREFIX),
            (
                "warm-up",
                super::super::WARM_UP_KEY.to_owned(),
                super::super::WARM_UP_KEY,
            ),
        ];
        for (kind, partition, prefix) in &partitions {
            assert!(partition.starts_with(prefix), "{kind}");
            for (other, _, other_prefix) in &partitions {
                if kind != other {
                    assert!(
                        !partition.starts_with(other_prefix) && !other_prefix.starts_with(prefix),
                        "{kind} and {other} share a prefix"
                    );
                }
            }
        }
        // A sub can hold `#`-free characters only, so no sub turns one partition into another.
        assert_eq!(Owner::parse("LIMIT#alice"), None);
        let counter = limit_key(&owner, 1_796_000_160);
        assert_eq!(counter[PARTITION_KEY], s("LIMIT#alice"));
        assert_eq!(counter[SORT_KEY], s("WINDOW#1796000160"));
    }

    #[test]
    fn a_completed_record_gives_back_the_response_it_holds() {
        let owner = Owner::parse("alice").expect("owner");
        let key = IdempotencyKey::parse("k").expect("key");
        let response = StoredResponse {
            status: 201,
            body: "{}".into(),
            etag: "\"1\"".into(),
            location: "/v1/items/x".into(),
        };
        let fingerprint = Fingerprint::of(&crate::domain::NewItem {
            name: Name::parse("n").expect("name"),
            description: Description::default(),
            tags: Tags::default(),
        });
        let record = idempotency_record(
            &owner,
            &key,
            &fingerprint,
            KeyState::Completed(&response),
            7,
        );
        assert_eq!(record[SORT_KEY], s(format!("{IDEMPOTENCY_PREFIX}k")));
        assert_eq!(stored_response(&record), Some(response));
    }
}
