//! Request bodies: `http::json_object` with a JSON content type, then `NewItem::from_json` and
//! `ItemPatch::from_json`, as the create and update handlers run them.
//!
//! Invariants: a rejected body is a 4xx with a detail; a validation failure names at least one
//! field, each by a JSON pointer; an accepted create holds only values inside the contract's
//! limits, is also a valid patch, and survives a round trip through its own JSON.
#![no_main]

use std::collections::HashSet;

use items_core::domain::{
    DESCRIPTION_MAX_CHARS, FieldError, ItemPatch, NAME_MAX_CHARS, NewItem, TAG_MAX_CHARS,
    TAGS_MAX_ITEMS, Tags,
};
use items_core::http::{self, Problem};
use lambda_http::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h
}

fn assert_line(s: &str, max: usize, what: &str) {
    let chars = s.chars().count();
    assert!((1..=max).contains(&chars), "{what} has {chars} characters");
    assert!(!s.chars().all(|c| c == ' '), "{what} is blank");
    assert!(
        !s.chars()
            .any(|c| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}')),
        "{what} holds a control character"
    );
}

fn assert_tags(tags: &Tags) {
    let all: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
    assert!(all.len() <= TAGS_MAX_ITEMS, "{} tags", all.len());
    let unique: HashSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "duplicate tags {all:?}");
    for t in all {
        assert_line(t, TAG_MAX_CHARS, "a tag");
    }
}

fn assert_description(d: &str) {
    assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS);
    assert!(
        !d.chars().any(
            |c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
        ),
        "description holds a forbidden control character"
    );
}

fn assert_validation_errors(errors: &[FieldError], body: &Map<String, Value>) {
    assert!(!errors.is_empty(), "a rejection without a reason: {body:?}");
    for e in errors {
        assert!(
            e.pointer()
                .is_some_and(|p| p.is_empty() || p.starts_with('/')),
            "not a JSON pointer into the body: {:?}",
            e.at
        );
        assert!(!e.detail.is_empty(), "no detail for {:?}", e.at);
    }
    let problem = Problem::validation(errors.to_vec());
    assert_eq!(problem.status, 400);
    assert!(problem.detail.is_some());
}

fn assert_client_problem(p: &Problem) {
    assert!(
        matches!(p.status, 400 | 413 | 415),
        "a body made a {}",
        p.status
    );
    assert!(p.detail.is_some(), "a 4xx without a detail");
}

fuzz_target!(|data: &[u8]| {
    let headers = json_headers();
    let object = match http::json_object(&headers, data) {
        Ok(object) => object,
        Err(p) => return assert_client_problem(&p),
    };
    assert!(data.len() <= http::MAX_BODY_BYTES);

    let created = NewItem::from_json(&object);
    let patched = ItemPatch::from_json(&object);
    match &patched {
        Ok(patch) => {
            assert!(
                patch.name.is_some() || patch.description.is_some() || patch.tags.is_some(),
                "an empty patch was accepted: {object:?}"
            );
            if let Some(n) = &patch.name {
                assert_line(n.as_str(), NAME_MAX_CHARS, "name");
            }
            if let Some(d) = &patch.description {
                assert_description(d.as_str());
            }
            if let Some(t) = &patch.tags {
                assert_tags(t);
            }
        }
        Err(errors) => assert_validation_errors(errors, &object),
    }
    match created {
        Ok(item) => {
            assert_line(item.name.as_str(), NAME_MAX_CHARS, "name");
            assert_description(item.description.as_str());
            assert_tags(&item.tags);
            // A valid create body is a valid patch too, with the same values.
            let patch = patched.as_ref().expect("a valid create is a valid patch");
            assert_eq!(patch.name.as_ref(), Some(&item.name));
            // What the API would echo parses back to the same item.
            let tags: Vec<&str> = item.tags.iter().map(|t| t.as_str()).collect();
            let echo = json!({
                "name": item.name.as_str(),
                "description": item.description.as_str(),
                "tags": tags,
            })
            .to_string();
            let again = http::json_object(&headers, echo.as_bytes())
                .ok()
                .and_then(|o| NewItem::from_json(&o).ok());
            assert_eq!(again.as_ref(), Some(&item), "round trip of {echo}");
        }
        Err(errors) => assert_validation_errors(&errors, &object),
    }
});
