//! `If-Match`: `http::if_match(&headers)` over arbitrary header bytes. Byte 0 is how many
//! `If-Match` lines to send; the rest is split on `\n` (never valid inside a header value);
//! values `HeaderValue` refuses are skipped, as the HTTP layer would have refused them.
//!
//! Invariants: no header is `None`; a rejection is a 400 naming `If-Match`; `*` is `Any` only
//! when the whole value is `*`; every version a tag selects is one the client spelled exactly
//! as its strong ETag (RFC 9110 strong comparison is character by character).
#![no_main]

use items_core::domain::InputLocation;
use items_core::http::{self, IfMatch};
use lambda_http::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (count, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c % 4), rest),
        None => (0, data),
    };
    let mut headers = HeaderMap::new();
    for part in rest.split(|b| *b == b'\n').take(count) {
        if let Ok(v) = HeaderValue::from_bytes(part) {
            headers.append(header::IF_MATCH, v);
        }
    }
    let sent: Vec<String> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let joined = sent.join(",");
    let elements: Vec<&str> = joined
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    match http::if_match(&headers) {
        Ok(None) => assert!(sent.is_empty(), "If-Match {sent:?} was ignored"),
        // Empty list elements are ignored (RFC 9110 §5.6.1), so `If-Match: ` + `If-Match: *` is `*`.
        Ok(Some(IfMatch::Any)) => assert_eq!(elements, ["*"], "{sent:?}"),
        Ok(Some(IfMatch::Never)) => assert!(!sent.is_empty()),
        Ok(Some(IfMatch::Versions(versions))) => {
            assert!(!versions.is_empty());
            let tags: Vec<&str> = joined
                .split(',')
                .map(str::trim)
                .filter(|t| !t.starts_with("W/"))
                .collect();
            for v in versions {
                assert!(v.get() >= 1);
                assert!(
                    tags.contains(&v.etag().as_str()),
                    "version {} matched, but If-Match {joined:?} never names its ETag {}",
                    v.get(),
                    v.etag()
                );
            }
        }
        Err(p) => {
            assert!(!sent.is_empty());
            assert_eq!(p.status, 400);
            assert_eq!(p.errors.len(), 1);
            assert_eq!(p.errors[0].at, InputLocation::Header("If-Match".into()));
        }
    }
});
