//! Idempotent creates with the `Idempotency-Key` header, with the semantics AWS Lambda Powertools
//! documents: a record per (owner, key) taken with a conditional write (in progress → complete);
//! a retry with the same key and body gets the first response again (status, body, ETag,
//! Location); a concurrent duplicate gets 409 with `Retry-After`; the same key with a different
//! body gets 422; a failed first attempt releases the key; records expire (a TTL attribute for
//! DynamoDB to delete them, and a stored timestamp checked on every use since TTL deletion lags).
//!
//! The record lives beside the caller's items (`crate::store::record` lays it out). The item and
//! the completed record are written in one transaction, so a crash can never leave an item whose
//! key would let a retry create it twice. [`create`] runs the whole protocol over an
//! [`IdempotencyStore`]; the route only maps its outcome to HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::config::FUNCTION_TIMEOUT;
use crate::domain::{Item, NewItem, Owner};
use crate::store::{IdempotencyStore, StoreError};

/// How long a completed key replays its first response.
pub const RECORD_TTL_SECONDS: u64 = 24 * 60 * 60;
/// How long an in-progress record blocks a duplicate: past this (longer than the function's
/// timeout) the first attempt is taken to have died and the key can be used again.
pub const IN_PROGRESS_SECONDS: u64 = FUNCTION_TIMEOUT.as_secs() + 5;
pub const MAX_KEY_LEN: usize = 128;

/// A client's idempotency key: 1–[`MAX_KEY_LEN`] characters of `A-Z a-z 0-9 _ . : -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// What a key may be, in the words of the 400 that refuses another.
    pub fn rule() -> String {
        format!("must be 1 to {MAX_KEY_LEN} characters of letters, digits, '_', '.', ':' and '-'")
    }

    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= MAX_KEY_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of what a create asks for (not of its bytes: the same fields with other white
/// space or key order are the same request). Stored with the key, compared on every reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(item: &NewItem) -> Self {
        let mut h = Sha256::new();
        for part in [item.name.as_str(), item.description.as_str()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        for tag in item.tags.iter() {
            h.update((tag.as_str().len() as u64).to_be_bytes());
            h.update(tag.as_str().as_bytes());
        }
        Self(URL_SAFE_NO_PAD.encode(h.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first response to a key, kept to be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub etag: String,
    pub location: String,
}

/// What taking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: go ahead and create.
    Acquired,
    /// Another request with this key is still running.
    InProgress,
    /// This key already created something: replay it.
    Completed(StoredResponse),
    /// This key was used with a different body.
    Mismatch,
}

/// What an idempotent create came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// This request created the item; the key now replays its response.
    Now,
    /// An earlier request with this key and body created it: answer with its response again.
    Before(StoredResponse),
}

/// Why an idempotent create did not happen.
#[derive(Debug)]
pub enum Refused {
    /// Another request with this key is still running.
    InProgress,
    /// The key was used with a different body.
    Mismatch,
    /// The store failed, or another request took the key over ([`StoreError::KeyLost`]).
    Store(StoreError),
}

/// Creates `item` for `owner` once per `key`: takes the key, then writes the item and the key's
/// completed record (holding `response`) in one transaction. A failed write releases the key
/// so that a retry runs; a failed release only logs a warning (the record then blocks retries
/// until it expires from being in progress).
pub async fn create<S: IdempotencyStore>(
    store: &S,
    owner: &Owner,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint,
    item: &Item,
    response: &StoredResponse,
    now: Timestamp,
) -> Result<Created, Refused> {
    match store.claim_key(owner, key, fingerprint, now).await {
        Ok(Claim::Acquired) => {}
        Ok(Claim::InProgress) => return Err(Refused::InProgress),
        Ok(Claim::Mismatch) => return Err(Refused::Mismatch),
        Ok(Claim::Completed(stored)) => return Ok(Created::Before(stored)),
        Err(e) => return Err(Refused::Store(e)),
    }
    match store
        .create_with_key(owner, item, key, fingerprint, response, now)
        .await
    {
        Ok(()) => Ok(Created::Now),
        Err(e) => {
            // A failed first attempt must not keep the key: release it so a retry runs.
            if let Err(release) = store.release_key(owner, key, fingerprint).await {
                tracing::warn!(error = ?release, "could not release an idempotency key");
            }
            Err(Refused::Store(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: serde_json::Value) -> NewItem {
        let serde_json::Value::Object(m) = v else {
            panic!("object")
        };
        NewItem::from_json(&m).expect("valid")
    }

    #[test]
    fn keys_are_short_plain_tokens() {
        assert!(IdempotencyKey::parse("order-42:retry.1_A").is_some());
        for bad in [
            "",
            "has space",
            "slash/",
            "ünicode",
            &"k".repeat(MAX_KEY_LEN + 1),
        ] {
            assert!(IdempotencyKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_fields_in_another_order_are_the_same_request() {
        let a = item(json!({"name": "n", "tags": ["x"], "description": "d"}));
        let b = item(json!({"description": "d", "name": "n", "tags": ["x"]}));
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
    }

    #[test]
    fn different_fields_are_a_different_request() {
        let base = Fingerprint::of(&item(json!({"name": "n"})));
        for other in [
            json!({"name": "m"}),
            json!({"name": "n", "description": "d"}),
            json!({"name": "n", "tags": ["t"]}),
            // The boundary between fields is part of the fingerprint.
            json!({"name": "nd"}),
        ] {
            assert_ne!(Fingerprint::of(&item(other.clone())), base, "{other}");
        }
        assert_ne!(
            Fingerprint::of(&item(json!({"name": "a", "description": "bc"}))),
            Fingerprint::of(&item(json!({"name": "ab", "description": "c"})))
        );
    }
}
