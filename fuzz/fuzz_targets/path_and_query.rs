//! Path and query parameters: `http::item_id` and `http::limit`.
//!
//! Invariants: an accepted id is exactly its own canonical Display (so it round-trips); an
//! accepted limit is 1..=100 and is the decimal the client sent; every rejection is a 400 that
//! names the parameter.
#![no_main]

use items_core::domain::{InputLocation, ItemId};
use items_core::http::{self, DEFAULT_LIMIT, MAX_LIMIT, Problem};
use libfuzzer_sys::fuzz_target;

fn assert_rejection(p: &Problem, parameter: &str) {
    assert_eq!(p.status, 400);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].at, InputLocation::Parameter(parameter.into()));
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match http::item_id(Some(raw)) {
        Ok(id) => {
            let shown = id.to_string();
            assert_eq!(shown, raw, "an id in a non-canonical form was accepted");
            assert_eq!(ItemId::parse(&shown), Some(id));
        }
        Err(p) => assert_rejection(&p, "id"),
    }
    match http::limit(Some(raw)) {
        Ok(n) => {
            assert!((1..=MAX_LIMIT).contains(&n), "limit {n}");
            assert_eq!(raw.parse::<u32>().ok(), Some(n));
            assert!(raw.bytes().all(|b| b.is_ascii_digit()), "{raw:?}");
        }
        Err(p) => assert_rejection(&p, "limit"),
    }
    assert_eq!(http::limit(None).ok(), Some(DEFAULT_LIMIT));
});
