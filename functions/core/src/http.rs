//! HTTP mapping: reading requests (body, headers, parameters) and writing responses, with every
//! client error as RFC 9457 `application/problem+json`.

use std::collections::HashSet;
use std::fmt;

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::domain::{FieldError, InputLocation, ItemId, Version};

/// Largest request body accepted. The largest valid item, with every character `\u`-escaped,
/// is well under this.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page size when the client gives none, and the bounds of `limit` (the contract's `Limit`
/// parameter; `api/tests/agreement.rs` checks they agree).
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub const PROBLEM_JSON: &str = "application/problem+json";
const JSON: &str = "application/json";

/// An RFC 9457 problem. 5xx problems never carry a detail: it goes to the log instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub status: u16,
    pub detail: Option<String>,
    pub request_id: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u32>,
}

/// The JSON form of a [`Problem`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    request_id: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ProblemBody {
            kind: self.kind.type_uri(),
            title: self.kind.title(),
            status: self.status,
            detail: self.detail.as_deref(),
            request_id: &self.request_id,
            errors: &self.errors,
        }
        .serialize(s)
    }
}

/// The kinds of problem this API answers with, each with its status and stable `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Validation,
    MalformedJson,
    Unauthorized,
    NotFound,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    /// Over the caller's per-user limit (`crate::limit`).
    UserRateLimited,
    Unavailable,
    Internal,
}

impl ProblemKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation | Self::MalformedJson => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UserRateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Validation => "validation-failed",
            Self::MalformedJson => "malformed-json",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not-found",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition-failed",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::UserRateLimited => "user-rate-limited",
            Self::Unavailable => "service-unavailable",
            Self::Internal => "internal-error",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Validation => "Your request is not valid",
            Self::MalformedJson => "Your request body is not valid JSON",
            Self::Unauthorized => "Unauthorized",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::PreconditionFailed => "Precondition failed",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::IdempotencyKeyReused => "Idempotency key reused with a different request",
            Self::UserRateLimited => "Too many requests from this user",
            Self::Unavailable => "Service unavailable",
            Self::Internal => "Internal server error",
        }
    }

    /// The problem's `type`: a stable URN per kind.
    pub fn type_uri(self) -> String {
        format!("urn:problem:secure-serverless-backend:{}", self.slug())
    }
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        let status = kind.status();
        Self {
            kind,
            status: status.as_u16(),
            detail: (!status.is_server_error()).then(|| detail.into()),
            request_id: String::new(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{} {}", describe(&one.at), one.detail),
            _ => format!("{} fields are not valid", errors.len()),
        };
        Self {
            errors,
            ..Self::new(ProblemKind::Validation, detail)
        }
    }

    /// A bad body field, at this JSON pointer (`""` for the whole body).
    pub fn field(pointer: &str, detail: &str) -> Self {
        Self::validation(vec![FieldError::new(pointer, detail)])
    }

    /// A bad query or path parameter.
    pub fn parameter(name: &str, detail: &str) -> Self {
        Self::validation(vec![FieldError::parameter(name, detail)])
    }

    /// A bad request header.
    pub fn header(name: &str, detail: &str) -> Self {
        Self::validation(vec![FieldError::header(name, detail)])
    }

    pub fn not_found() -> Self {
        Self::new(ProblemKind::NotFound, "no such item")
    }

    pub fn unavailable(retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ProblemKind::Unavailable, "")
        }
    }

    /// The caller has made `requests` requests in this window of `window_seconds`; the window
    /// ends in `retry_after` seconds.
    pub fn user_rate_limited(requests: u32, window_seconds: u32, retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                ProblemKind::UserRateLimited,
                format!(
                    "each user may make {requests} requests every {window_seconds} seconds; \
                     retry after {retry_after} seconds"
                ),
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(ProblemKind::Internal, "")
    }

    pub fn with_request_id(mut self, request_id: &str) -> Self {
        request_id.clone_into(&mut self.request_id);
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json_response(status, &self, PROBLEM_JSON);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn describe(at: &InputLocation) -> String {
    match at {
        InputLocation::Pointer(p) if p.is_empty() => "the body".to_owned(),
        InputLocation::Pointer(p) => format!("field {p}"),
        InputLocation::Parameter(name) | InputLocation::Header(name) => name.clone(),
    }
}

/// Builds a JSON response with the headers every answer carries.
pub fn json_response<T: Serialize>(
    status: StatusCode,
    body: &T,
    content_type: &str,
) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => {
            let mut response = Response::new(Body::Text(text));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(JSON)),
            );
            add_common_headers(headers);
            response
        }
        Err(_) => empty_response(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub fn ok_json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    json_response(status, body, JSON)
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    add_common_headers(response.headers_mut());
    response
}

fn add_common_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

pub fn set_etag(response: &mut Response<Body>, version: Version) {
    if let Ok(value) = HeaderValue::from_str(&version.etag()) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// Reads a JSON object body: it must be `application/json`, at most [`MAX_BODY_BYTES`], valid
/// UTF-8 JSON, an object, and free of duplicate keys.
pub fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(JSON) {
        return Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            "the body must be application/json",
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::field("", "a JSON body is required"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::new(ProblemKind::MalformedJson, json_error_detail(&e)))?;
    let Value::Object(object) = value else {
        return Err(Problem::field("", "must be a JSON object"));
    };
    if let Err(e) = serde_json::from_slice::<NoDuplicateKeys>(body) {
        return Err(Problem::new(
            ProblemKind::MalformedJson,
            json_error_detail(&e),
        ));
    }
    Ok(object)
}

/// serde_json's message without its echo of the input, which could be anything.
fn json_error_detail(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "the body ends before the JSON value does",
        serde_json::error::Category::Syntax => "the body is not valid JSON",
        serde_json::error::Category::Data => "the body has a duplicate key",
        serde_json::error::Category::Io => "the body could not be read",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// Deserializes a top-level object only to refuse a key given twice, which a JSON object
/// parser otherwise resolves silently by keeping the last.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key) {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(NoDuplicateKeys)
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the `id` path parameter.
pub fn item_id(raw: Option<&str>) -> Result<ItemId, Problem> {
    raw.and_then(ItemId::parse)
        .ok_or_else(|| Problem::parameter("id", "must be an item id: a lowercase UUID"))
}

/// Reads the `limit` query parameter: absent → the default, otherwise a plain integer from 1
/// to [`MAX_LIMIT`], in at most as many digits as [`MAX_LIMIT`] has.
pub fn limit(raw: Option<&str>) -> Result<u32, Problem> {
    const MAX_DIGITS: usize = MAX_LIMIT.ilog10() as usize + 1;
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    let parsed =
        (!raw.is_empty() && raw.len() <= MAX_DIGITS && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw.parse::<u32>().ok())
            .flatten()
            .filter(|n| (1..=MAX_LIMIT).contains(n));
    parsed.ok_or_else(|| {
        Problem::parameter(
            "limit",
            &format!("must be an integer from 1 to {MAX_LIMIT}"),
        )
    })
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the item must exist.
    Any,
    /// One or more strong entity tags; the item's version must be one of them.
    Versions(Vec<Version>),
    /// Only tags that can never match a version (weak or foreign tags): the precondition fails.
    Never,
}

/// Reads `If-Match` (RFC 9110 §13.1.1). Weak tags never match (strong comparison); a tag that is
/// not one of ours is well-formed but can never match. A value that is not a list of entity
/// tags is a 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, Problem> {
    let values: Vec<&HeaderValue> = headers.get_all(header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(None);
    }
    let bad = || {
        Problem::header(
            "If-Match",
            "must be * or a list of entity tags such as \"3\"",
        )
    };
    let mut joined = String::new();
    for v in values {
        let s = v.to_str().map_err(|_| bad())?;
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(s);
    }
    if joined.trim() == "*" {
        return Ok(Some(IfMatch::Any));
    }
    let mut versions = Vec::new();
    let mut any_tag = false;
    for part in joined.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (weak, tag) = match part.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let inner = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|t| {
                t.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
            })
            .ok_or_else(bad)?;
        any_tag = true;
        if weak {
            continue;
        }
        // Strong comparison is character by character (RFC 9110 §8.8.3.2): only the exact
        // spelling of an ETag we issue (no sign, no leading zero) can match its version.
        let ours = inner.len() <= 19
            && inner.bytes().all(|b| b.is_ascii_digit())
            && !inner.starts_with('0');
        if let Some(v) = ours
            .then(|| inner.parse::<u64>().ok())
            .flatten()
            .and_then(Version::new)
        {
            versions.push(v);
        }
    }
    if !any_tag {
        return Err(bad());
    }
    Ok(Some(if versions.is_empty() {
        IfMatch::Never
    } else {
        IfMatch::Versions(versions)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        h
    }

    fn json_headers() -> HeaderMap {
        headers(&[("content-type", "application/json; charset=utf-8")])
    }

    #[test]
    fn limit_table() {
        let cases: [(Option<&str>, Option<u32>, &str); 11] = [
            (None, Some(DEFAULT_LIMIT), "absent"),
            (Some("1"), Some(1), "lowest"),
            (Some("100"), Some(100), "highest"),
            (Some("0"), None, "zero"),
            (Some("101"), None, "above range"),
            (Some("-1"), None, "negative"),
            (Some("1000000000"), None, "huge"),
            (Some("abc"), None, "not a number"),
            (Some("2.0"), None, "decimal"),
            (Some(""), None, "empty"),
            (Some("+5"), None, "signed"),
        ];
        for (input, expected, case) in cases {
            assert_eq!(limit(input).ok(), expected, "{case}: {input:?}");
        }
    }

    #[test]
    fn if_match_table() {
        let v = |n| Version::new(n).expect("nonzero");
        let cases: [(&str, Option<IfMatch>, &str); 9] = [
            (
                "\"3\"",
                Some(IfMatch::Versions(vec![v(3)])),
                "one strong tag",
            ),
            (
                "\"3\", \"4\"",
                Some(IfMatch::Versions(vec![v(3), v(4)])),
                "a list",
            ),
            ("*", Some(IfMatch::Any), "any"),
            (
                "W/\"3\"",
                Some(IfMatch::Never),
                "weak tags never match strongly",
            ),
            ("\"abc\"", Some(IfMatch::Never), "foreign tag"),
            ("\"0\"", Some(IfMatch::Never), "version zero does not exist"),
            ("3", None, "unquoted"),
            ("\"3", None, "unterminated"),
            ("", None, "empty"),
        ];
        for (input, expected, case) in cases {
            let got = if_match(&headers(&[("if-match", input)]));
            match expected {
                Some(e) => assert_eq!(got.ok().flatten(), Some(e), "{case}: {input:?}"),
                None => assert!(got.is_err(), "{case}: {input:?} was accepted"),
            }
        }
        assert_eq!(if_match(&HeaderMap::new()).ok(), Some(None));
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_client_errors() {
        let cases: [(&str, u16, &str); 8] = [
            ("{\"name\":", 400, "truncated"),
            ("{name: 1}", 400, "unquoted key"),
            ("[1,2]", 400, "array"),
            ("\"text\"", 400, "string"),
            ("", 400, "empty"),
            ("{\"a\":1,\"a\":2}", 400, "duplicate key"),
            ("{\"name\":\"\\ud800\"}", 400, "lone surrogate"),
            (&"[".repeat(200), 400, "deep nesting"),
        ];
        for (body, status, case) in cases {
            let got = json_object(&json_headers(), body.as_bytes());
            assert_eq!(got.map_err(|p| p.status).err(), Some(status), "{case}");
        }
    }

    #[test]
    fn invalid_utf8_is_malformed_json() {
        let got = json_object(&json_headers(), b"{\"name\":\"\xff\"}");
        assert_eq!(
            got.map_err(|p| p.kind).err(),
            Some(ProblemKind::MalformedJson)
        );
    }

    #[test]
    fn a_body_that_is_not_json_gets_415() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonp",
            "",
        ] {
            let got = json_object(&headers(&[("content-type", ct)]), b"{}");
            assert_eq!(got.map_err(|p| p.status).err(), Some(415), "{ct:?}");
        }
    }

    #[test]
    fn an_oversized_body_gets_413() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        let got = json_object(&json_headers(), &body);
        assert_eq!(got.map_err(|p| p.status).err(), Some(413));
    }

    #[test]
    fn server_errors_never_carry_a_detail() {
        let p = Problem::new(ProblemKind::Internal, "table xyz exploded");
        assert_eq!(p.detail, None);
        let text = serde_json::to_string(&p).expect("serializes");
        assert!(!text.contains("xyz"), "{text}");
    }

    #[test]
    fn each_bad_input_is_located_in_its_own_member() {
        let member =
            |p: &Problem| serde_json::to_value(p).expect("serializes")["errors"][0].clone();
        let cases = [
            (
                limit(Some("0")).map(|_| ()),
                "parameter",
                "limit",
                "limit must be",
            ),
            (
                item_id(Some("NOPE")).map(|_| ()),
                "parameter",
                "id",
                "id must be",
            ),
            (
                if_match(&headers(&[("if-match", "3")])).map(|_| ()),
                "header",
                "If-Match",
                "If-Match must be",
            ),
            (
                json_object(&json_headers(), b"[1]").map(|_| ()),
                "pointer",
                "",
                "the body must be",
            ),
        ];
        for (got, name, value, detail) in cases {
            let p = got.expect_err("refused");
            let e = member(&p);
            assert_eq!(e[name], value, "{name} {value}: {e}");
            assert_eq!(
                e.as_object().map(|o| o.len()),
                Some(2),
                "{name} {value}: one location and a detail, {e}"
            );
            assert!(
                p.detail.as_deref().is_some_and(|d| d.starts_with(detail)),
                "{name} {value}: {:?}",
                p.detail
            );
        }
        let body = Problem::field("/tags/0", "must be a string");
        assert_eq!(member(&body)["pointer"], "/tags/0");
        assert_eq!(
            body.detail.as_deref(),
            Some("field /tags/0 must be a string")
        );
    }

    #[test]
    fn retry_after_is_a_header_on_503() {
        let r = Problem::unavailable(2).into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
