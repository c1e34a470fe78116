//! `Idempotency-Key`: `IdempotencyKey::parse`, on the text of any header value the HTTP layer
//! lets through (as the create handler reads it) and on any UTF-8 string.
//!
//! Invariants: an accepted key is 1..=128 bytes of `A-Z a-z 0-9 _ . : -` and is exactly what
//! was sent (it becomes part of a DynamoDB sort key, so nothing else may slip in).
#![no_main]

use items_core::idempotency::{IdempotencyKey, MAX_KEY_LEN};
use lambda_http::http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fn check(raw: &str) {
    if let Some(key) = IdempotencyKey::parse(raw) {
        let k = key.as_str();
        assert_eq!(k, raw);
        assert!((1..=MAX_KEY_LEN).contains(&k.len()), "{} bytes", k.len());
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')),
            "{k:?}"
        );
        assert!(!k.contains('#'), "a key could forge a sort key prefix");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(text) = HeaderValue::from_bytes(data)
        .ok()
        .as_ref()
        .and_then(|v| v.to_str().ok())
    {
        check(text);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        check(s);
    }
});
