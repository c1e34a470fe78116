//! Idempotent creates with the `Idempotency-Key` header, with the semantics AWS Lambda Powertools
//! documents: a record per (owner, key) taken with a conditional write (in progress → complete);
//! a retry with the same key and body gets the first response again (status, body, ETag,
//! Location); a concurrent duplicate gets 409 with `Retry-After`; the same key with a different
//! body gets 422; a failed first attempt releases the key; records expire (a TTL attribute for
//! DynamoDB to delete them, and a stored timestamp checked on every use since TTL deletion lags).
//!
//! The record lives beside the caller's items: `PK = USER#<owner>`, `SK = IDEMPOTENCY#<key>`.
//! The item and the completed record are written in one transaction, so a crash can never leave
//! an item whose key would let a retry create it twice.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::NewItem;

/// How long a completed key replays its first response.
pub const RECORD_TTL_SECONDS: u64 = 24 * 60 * 60;
/// How long an in-progress record blocks a duplicate; past this (longer than the function's
/// 10 s timeout) the first attempt is taken to have died and the key can be used again.
pub const IN_PROGRESS_SECONDS: u64 = 15;
pub const MAX_KEY_LEN: usize = 128;

/// A client's idempotency key: 1–128 characters of `A-Z a-z 0-9 _ . : -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
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

/// A fingerprint of what the request asks for (not of its bytes: the same fields with other
/// white space or key order are the same request).
pub fn fingerprint(item: &NewItem) -> String {
    let mut h = Sha256::new();
    for part in [item.name.as_str(), item.description.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    for tag in item.tags.iter() {
        h.update((tag.as_str().len() as u64).to_be_bytes());
        h.update(tag.as_str().as_bytes());
    }
    URL_SAFE_NO_PAD.encode(h.finalize())
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
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn different_fields_are_a_different_request() {
        let base = fingerprint(&item(json!({"name": "n"})));
        for other in [
            json!({"name": "m"}),
            json!({"name": "n", "description": "d"}),
            json!({"name": "n", "tags": ["t"]}),
            // The boundary between fields is part of the fingerprint.
            json!({"name": "nd"}),
        ] {
            assert_ne!(fingerprint(&item(other.clone())), base, "{other}");
        }
        assert_ne!(
            fingerprint(&item(json!({"name": "a", "description": "bc"}))),
            fingerprint(&item(json!({"name": "ab", "description": "c"})))
        );
    }
}
