//! The hostile-input catalogue: untrusted bytes in every place the API turns them into types
//! (body, path, query, headers), sent over real HTTP to the local server (API Gateway's checks in
//! front of the same handler code the functions run), authenticated as a real user.
//!
//! Every row is one input and the exact answer it must get: status, problem `type` and where the
//! problem is located (the function's `errors[]` member: `pointer` into the body, `parameter` or
//! `header`; or the field at the head of the gateway validator's detail). Whatever the row, no answer may be a 5xx, every 4xx must be
//! `application/problem+json` with `status`, `type`, `title` and the `requestId` of
//! `x-amzn-RequestId`, and a refused write must leave nothing behind (checked with a list).
//!
//! `docs/HOSTILE-INPUT.md` holds this table as Markdown between its `catalogue` markers;
//! `the_hostile_input_doc_lists_exactly_this_catalogue` fails when they differ, and
//! `HOSTILE_DOC_UPDATE=1 cargo test -p local-server --test gateway hostile` rewrites it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{TestResponse, TestServer, credentials, spawn_server};

/// Which server set-up a row runs against (one server per group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Body,
    Text,
    Path,
    Query,
    Header,
}

/// What the row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// This status with this problem type slug (`urn:problem:secure-serverless-backend:<slug>`)
    /// and, when given, this location: a body pointer (`/name`), `parameter limit` or
    /// `header If-Match`.
    Problem(u16, &'static str, Option<&'static str>),
    /// 201, and the item reads back exactly as sent.
    StoredVerbatim,
    /// This success status.
    Ok(u16),
    /// A 4xx problem, hyper's bare 431 for a head over [`local_server::MAX_HEAD_BYTES`], or the
    /// connection closed without an answer; never a 5xx.
    RefusedOrClosed,
}

/// What a row can refer to: the user's own item, its page cursor, another user's cursor.
pub struct Ctx {
    pub item_id: String,
    pub own_cursor: String,
    pub other_cursor: String,
}

pub struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    chunked: bool,
}

pub struct Row {
    pub group: Group,
    pub input: &'static str,
    pub answer: Answer,
    pub make: fn(&Ctx) -> Req,
}

const JSON: &str = "application/json";

pub fn req(method: &'static str, path: impl Into<String>) -> Req {
    Req {
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        chunked: false,
    }
}

impl Req {
    pub fn header(mut self, k: &str, v: impl Into<Vec<u8>>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = Some(b.into());
        self
    }
}

/// POST /v1/items with a JSON content type.
fn create(body: impl Into<Vec<u8>>) -> Req {
    req("POST", "/v1/items")
        .header("Content-Type", JSON)
        .body(body)
}

fn create_json(v: &Value) -> Req {
    create(v.to_string())
}

fn create_typed(content_type: &str, body: impl Into<Vec<u8>>) -> Req {
    req("POST", "/v1/items")
        .header("Content-Type", content_type)
        .body(body)
}

fn patch(c: &Ctx, body: impl Into<Vec<u8>>) -> Req {
    req("PATCH", format!("/v1/items/{}", c.item_id))
        .header("Content-Type", JSON)
        .body(body)
}

fn get_id(id: &str) -> Req {
    req("GET", format!("/v1/items/{id}"))
}

fn list_query(q: &str) -> Req {
    req("GET", format!("/v1/items?{q}"))
}

fn forge(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

use Answer::{Ok as Status, Problem as P, RefusedOrClosed, StoredVerbatim};
use Group::{Body, Header, Path, Query, Text};

const VALIDATION: &str = "validation-failed";
const MALFORMED: &str = "malformed-json";
const MEDIA: &str = "unsupported-media-type";
const TOO_LARGE: &str = "payload-too-large";
const NOT_FOUND: &str = "not-found";

/// The catalogue. Keep `input` short and exact: it is the first column of the doc's table.
pub fn catalogue() -> Vec<Row> {
    let row = |group, input, answer, make| Row {
        group,
        input,
        answer,
        make,
    };
    vec![
        // --- Malformed, truncated, odd JSON (POST /v1/items) ---
        row(
            Body,
            "truncated JSON `{\"name\":`",
            P(400, VALIDATION, None),
            |_| create("{\"name\":"),
        ),
        row(
            Body,
            "unquoted key `{name: 1}`",
            P(400, VALIDATION, None),
            |_| create("{name: 1}"),
        ),
        row(
            Body,
            "trailing comma `{\"name\":\"a\",}`",
            P(400, VALIDATION, None),
            |_| create("{\"name\":\"a\",}"),
        ),
        row(
            Body,
            "single quotes `{'name':'a'}`",
            P(400, VALIDATION, None),
            |_| create("{'name':'a'}"),
        ),
        row(
            Body,
            "two JSON values `{\"name\":\"a\"}{}`",
            P(400, VALIDATION, None),
            |_| create("{\"name\":\"a\"}{}"),
        ),
        row(
            Body,
            "empty body, JSON content type",
            P(400, VALIDATION, None),
            |_| create(""),
        ),
        row(
            Body,
            "whitespace-only body",
            P(400, VALIDATION, None),
            |_| create("  \n\t "),
        ),
        row(
            Body,
            "UTF-8 byte order mark before the object",
            P(400, VALIDATION, None),
            |_| create(b"\xEF\xBB\xBF{\"name\":\"a\"}".to_vec()),
        ),
        row(Body, "`null`", P(400, VALIDATION, None), |_| create("null")),
        row(Body, "an array `[]`", P(400, VALIDATION, None), |_| {
            create("[]")
        }),
        row(
            Body,
            "a string `\"name\"`",
            P(400, VALIDATION, None),
            |_| create("\"name\""),
        ),
        row(
            Body,
            "a number `1e999999` (out of range)",
            P(400, VALIDATION, None),
            |_| create("{\"name\":\"a\",\"n\":1e999999}"),
        ),
        row(Body, "10,000 `[`", P(400, VALIDATION, None), |_| {
            create("[".repeat(10_000))
        }),
        row(
            Body,
            "10,000 nested objects `{\"a\":{\"a\":…`",
            P(400, VALIDATION, None),
            |_| create("{\"a\":".repeat(10_000)),
        ),
        row(
            Body,
            "10,000 nested arrays inside `tags`, closed",
            P(400, VALIDATION, None),
            |_| {
                create(format!(
                    "{{\"name\":\"a\",\"tags\":{}{}}}",
                    "[".repeat(10_000),
                    "]".repeat(10_000)
                ))
            },
        ),
        row(
            Body,
            "duplicate key `{\"name\":\"a\",\"name\":\"b\"}`",
            P(400, MALFORMED, None),
            |_| create("{\"name\":\"a\",\"name\":\"b\"}"),
        ),
        row(
            Body,
            "duplicate key hiding a bad value `{\"name\":\"\",\"name\":\"ok\"}`",
            P(400, MALFORMED, None),
            |_| create("{\"name\":\"\",\"name\":\"ok\"}"),
        ),
        row(
            Body,
            "invalid UTF-8 (0xFF) inside `name`",
            P(400, VALIDATION, None),
            |_| create(b"{\"name\":\"a\xFFb\"}".to_vec()),
        ),
        row(
            Body,
            "overlong UTF-8 (0xC0 0xAF) inside `name`",
            P(400, VALIDATION, None),
            |_| create(b"{\"name\":\"a\xC0\xAFb\"}".to_vec()),
        ),
        row(
            Body,
            "lone surrogate escape `\"\\ud800\"` as `name`",
            P(400, VALIDATION, None),
            |_| create("{\"name\":\"\\ud800\"}"),
        ),
        // --- Content types ---
        row(
            Body,
            "valid JSON as `text/plain`",
            P(415, MEDIA, None),
            |_| create_typed("text/plain", "{\"name\":\"a\"}"),
        ),
        row(
            Body,
            "form body `name=a` as `application/x-www-form-urlencoded`",
            P(415, MEDIA, None),
            |_| create_typed("application/x-www-form-urlencoded", "name=a"),
        ),
        row(
            Body,
            "valid JSON as `application/jsonp`",
            P(415, MEDIA, None),
            |_| create_typed("application/jsonp", "{\"name\":\"a\"}"),
        ),
        row(
            Body,
            "valid JSON with no Content-Type",
            P(415, MEDIA, None),
            |_| req("POST", "/v1/items").body("{\"name\":\"a\"}"),
        ),
        row(
            Body,
            "invalid UTF-8 as `text/plain`",
            P(415, MEDIA, None),
            |_| create_typed("text/plain", b"\xFF\xFE{".to_vec()),
        ),
        // --- Types and fields ---
        row(
            Body,
            "`name` a number",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": 1})),
        ),
        row(
            Body,
            "`name` null",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": null})),
        ),
        row(
            Body,
            "`name` the object `{\"$gt\":\"\"}` (NoSQL operator)",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": {"$gt": ""}})),
        ),
        row(
            Body,
            "`tags` a string",
            P(400, VALIDATION, Some("/tags")),
            |_| create_json(&json!({"name": "a", "tags": "x"})),
        ),
        row(
            Body,
            "`tags` holding a number",
            P(400, VALIDATION, Some("/tags/0")),
            |_| create_json(&json!({"name": "a", "tags": [1]})),
        ),
        row(Body, "no `name`", P(400, VALIDATION, None), |_| {
            create_json(&json!({"description": "d"}))
        }),
        row(Body, "client-set `owner`", P(400, VALIDATION, None), |_| {
            create_json(&json!({"name": "a", "owner": "bob"}))
        }),
        row(Body, "client-set `id`", P(400, VALIDATION, None), |_| {
            create_json(&json!({"name": "a", "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}))
        }),
        row(
            Body,
            "client-set `version`",
            P(400, VALIDATION, None),
            |_| create_json(&json!({"name": "a", "version": 99})),
        ),
        row(
            Body,
            "client-set `PK` `USER#bob`",
            P(400, VALIDATION, None),
            |_| create_json(&json!({"name": "a", "PK": "USER#bob"})),
        ),
        row(Body, "`__proto__` key", P(400, VALIDATION, None), |_| {
            create("{\"name\":\"a\",\"__proto__\":{\"admin\":true}}")
        }),
        // --- NUL and control characters, per field ---
        row(
            Body,
            "NUL in `name`",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "a\u{0}b"})),
        ),
        row(
            Body,
            "NUL in `description`",
            P(400, VALIDATION, Some("/description")),
            |_| create_json(&json!({"name": "a", "description": "a\u{0}b"})),
        ),
        row(
            Body,
            "NUL in a tag",
            P(400, VALIDATION, Some("/tags/0")),
            |_| create_json(&json!({"name": "a", "tags": ["a\u{0}b"]})),
        ),
        row(
            Body,
            "BEL (U+0007) in `name`",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "a\u{7}"})),
        ),
        row(
            Body,
            "DEL (U+007F) in `name`",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "a\u{7f}"})),
        ),
        row(
            Body,
            "CR LF in `name`",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "a\r\nb"})),
        ),
        row(
            Body,
            "ESC (U+001B) in `description`",
            P(400, VALIDATION, Some("/description")),
            |_| create_json(&json!({"name": "a", "description": "\u{1b}[31m"})),
        ),
        row(
            Body,
            "TAB in a tag",
            P(400, VALIDATION, Some("/tags/0")),
            |_| create_json(&json!({"name": "a", "tags": ["a\tb"]})),
        ),
        // --- Lengths count characters, not bytes ---
        row(
            Body,
            "`name` of 201 × 🦀",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "🦀".repeat(201)})),
        ),
        row(
            Body,
            "`name` empty",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": ""})),
        ),
        row(
            Body,
            "`name` of spaces only",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "   "})),
        ),
        row(
            Body,
            "`description` of 2001 × é",
            P(400, VALIDATION, Some("/description")),
            |_| create_json(&json!({"name": "a", "description": "é".repeat(2001)})),
        ),
        row(
            Body,
            "a tag of 51 × 🦀",
            P(400, VALIDATION, Some("/tags/0")),
            |_| create_json(&json!({"name": "a", "tags": ["🦀".repeat(51)]})),
        ),
        row(Body, "21 tags", P(400, VALIDATION, Some("/tags")), |_| {
            create_json(
                &json!({"name": "a", "tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}),
            )
        }),
        row(
            Body,
            "the same tag twice",
            P(400, VALIDATION, Some("/tags")),
            |_| create_json(&json!({"name": "a", "tags": ["x", "x"]})),
        ),
        row(
            Body,
            "`name` of 1 MB",
            P(400, VALIDATION, Some("/name")),
            |_| create_json(&json!({"name": "a".repeat(1 << 20)})),
        ),
        // --- Size limits ---
        row(
            Body,
            "valid object padded with spaces to 64 KiB + 1 (the function's limit)",
            P(413, TOO_LARGE, None),
            |_| {
                let mut b = b"{\"name\":\"a\"}".to_vec();
                b.resize(64 * 1024 + 1, b' ');
                create(b)
            },
        ),
        row(
            Body,
            "valid object padded to 9 MB",
            P(413, TOO_LARGE, None),
            |_| {
                let mut b = b"{\"name\":\"a\"}".to_vec();
                b.resize(9 << 20, b' ');
                create(b)
            },
        ),
        row(
            Body,
            "Content-Length of 10 MB + 1 (the gateway's limit)",
            P(413, TOO_LARGE, None),
            |_| {
                req("POST", "/v1/items")
                    .header("Content-Type", JSON)
                    .header("Content-Length", (10 * 1024 * 1024 + 1).to_string())
            },
        ),
        row(
            Body,
            "a chunked body of 11 MB, no Content-Length",
            RefusedOrClosed,
            |_| {
                let mut r = create(vec![b' '; 11 << 20]);
                r.chunked = true;
                r
            },
        ),
        // --- PATCH bodies ---
        row(Body, "PATCH `{}`", P(400, VALIDATION, None), |c| {
            patch(c, "{}")
        }),
        row(
            Body,
            "PATCH `name` null",
            P(400, VALIDATION, Some("/name")),
            |c| patch(c, "{\"name\":null}"),
        ),
        row(
            Body,
            "PATCH client-set `version`",
            P(400, VALIDATION, None),
            |c| patch(c, "{\"version\":7}"),
        ),
        row(Body, "PATCH duplicate key", P(400, MALFORMED, None), |c| {
            patch(c, "{\"name\":\"a\",\"name\":\"b\"}")
        }),
        row(
            Body,
            "PATCH truncated JSON",
            P(400, VALIDATION, None),
            |c| patch(c, "{\"name\":\"a"),
        ),
        row(Body, "PATCH as `text/plain`", P(415, MEDIA, None), |c| {
            req("PATCH", format!("/v1/items/{}", c.item_id))
                .header("Content-Type", "text/plain")
                .body("{\"name\":\"b\"}")
        }),
        row(
            Body,
            "PATCH with `If-Match: 3` (unquoted)",
            P(400, VALIDATION, Some("header If-Match")),
            |c| patch(c, "{\"name\":\"b\"}").header("If-Match", "3"),
        ),
        row(
            Body,
            "PATCH with `If-Match` of bytes 0xFF",
            P(400, VALIDATION, Some("header If-Match")),
            |c| patch(c, "{\"name\":\"b\"}").header("If-Match", b"\"\xFF".to_vec()),
        ),
        row(
            Body,
            "PATCH with `If-Match: \"1\" OR 1=1`",
            P(400, VALIDATION, Some("header If-Match")),
            |c| patch(c, "{\"name\":\"b\"}").header("If-Match", "\"1\" OR 1=1"),
        ),
        row(
            Body,
            "POST with `Idempotency-Key: ../../x`",
            P(400, VALIDATION, Some("header Idempotency-Key")),
            |_| create("{\"name\":\"a\"}").header("Idempotency-Key", "../../x"),
        ),
        row(
            Body,
            "POST with an `Idempotency-Key` of 129 characters",
            P(400, VALIDATION, Some("header Idempotency-Key")),
            |_| create("{\"name\":\"a\"}").header("Idempotency-Key", "k".repeat(129)),
        ),
        // --- Hostile text, stored and returned verbatim ---
        row(
            Text,
            "`name` of 200 × 🦀 (800 bytes)",
            StoredVerbatim,
            |_| create_json(&json!({"name": "🦀".repeat(200)})),
        ),
        row(
            Text,
            "`description` of 2000 × é, tags of 50 × 🦀",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "a", "description": "é".repeat(2000), "tags": ["🦀".repeat(50)]}),
                )
            },
        ),
        row(Text, "20 distinct tags", StoredVerbatim, |_| {
            create_json(
                &json!({"name": "a", "tags": (0..20).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            )
        }),
        row(
            Text,
            "SQL `'; DROP TABLE items; --`",
            StoredVerbatim,
            |_| create_json(&json!({"name": "'; DROP TABLE items; --", "tags": ["' OR '1'='1"]})),
        ),
        row(
            Text,
            "NoSQL `{\"$gt\":\"\"}` as a string",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "{\"$gt\":\"\"}", "description": "{\"$where\":\"sleep(1000)\"}"}),
                )
            },
        ),
        row(Text, "`<script>alert(1)</script>`", StoredVerbatim, |_| {
            create_json(
                &json!({"name": "<script>alert(1)</script>", "description": "<img src=x onerror=alert(1)>"}),
            )
        }),
        row(
            Text,
            "`${jndi:ldap://127.0.0.1:1/a}`",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "${jndi:ldap://127.0.0.1:1/a}", "tags": ["${env:AWS_SECRET_ACCESS_KEY}"]}),
                )
            },
        ),
        row(Text, "`../../etc/passwd`", StoredVerbatim, |_| {
            create_json(&json!({"name": "../../etc/passwd", "tags": ["..\\..\\windows"]}))
        }),
        row(
            Text,
            "CRLF and a header in `description`",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "a", "description": "a\r\nSet-Cookie: x=1\r\n\r\n<html>"}),
                )
            },
        ),
        row(
            Text,
            "DynamoDB key look-alikes `USER#bob`, `ITEM#…`",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "USER#bob", "description": "ITEM#00000000-0000-0000-0000-000000000000", "tags": ["PK", "SK", "#", ":v"]}),
                )
            },
        ),
        row(
            Text,
            "percent and escape look-alikes `%00 %0d%0a \\u0000`",
            StoredVerbatim,
            |_| create_json(&json!({"name": "%00 %0d%0a \\u0000 \\x00"})),
        ),
        row(
            Text,
            "C1 control U+0085, U+2028, RTL override U+202E, zero-width joiner",
            StoredVerbatim,
            |_| {
                create_json(
                    &json!({"name": "a\u{85}b\u{2028}c\u{202e}d\u{200d}e", "tags": ["\u{feff}x"]}),
                )
            },
        ),
        row(
            Text,
            "non-ASCII escapes `\\u00e9\\ud83e\\udd80`",
            StoredVerbatim,
            |_| create("{\"name\":\"\\u00e9\\ud83e\\udd80\"}"),
        ),
        row(
            Text,
            "`application/json; charset=utf-8`",
            StoredVerbatim,
            |_| create_typed("application/json; charset=utf-8", "{\"name\":\"a\"}"),
        ),
        // --- Odd ids in the path ---
        row(
            Path,
            "`/v1/items/..%2F..%2Fetc%2Fpasswd`",
            P(400, VALIDATION, Some("parameter id")),
            |_| get_id("..%2F..%2Fetc%2Fpasswd"),
        ),
        row(
            Path,
            "`/v1/items/../../etc/passwd` (raw)",
            P(404, NOT_FOUND, None),
            |_| get_id("../../etc/passwd"),
        ),
        row(
            Path,
            "`/v1/items/..`",
            P(400, VALIDATION, Some("parameter id")),
            |_| get_id(".."),
        ),
        row(
            Path,
            "percent-encoded UUID",
            P(400, VALIDATION, Some("parameter id")),
            |c| get_id(&c.item_id.replace('-', "%2D")),
        ),
        row(
            Path,
            "uppercase UUID of an existing item",
            P(400, VALIDATION, Some("parameter id")),
            |c| get_id(&c.item_id.to_uppercase()),
        ),
        row(
            Path,
            "UUID with braces `{…}`",
            P(400, VALIDATION, Some("parameter id")),
            |c| get_id(&format!("%7B{}%7D", c.item_id)),
        ),
        row(
            Path,
            "UUID with a trailing `%00`",
            P(400, VALIDATION, Some("parameter id")),
            |c| get_id(&format!("{}%00", c.item_id)),
        ),
        row(
            Path,
            "UUID with `;x=1` matrix parameter",
            P(400, VALIDATION, Some("parameter id")),
            |c| get_id(&format!("{};x=1", c.item_id)),
        ),
        row(
            Path,
            "id of 10 KB",
            P(400, VALIDATION, Some("parameter id")),
            |_| get_id(&"a".repeat(10 * 1024)),
        ),
        row(
            Path,
            "`USER%23bob` (key look-alike)",
            P(400, VALIDATION, Some("parameter id")),
            |_| get_id("USER%23bob"),
        ),
        row(
            Path,
            "a well-formed UUID nobody has",
            P(404, NOT_FOUND, None),
            |_| get_id("00000000-0000-7000-8000-000000000000"),
        ),
        row(
            Path,
            "empty id: `PATCH /v1/items/`",
            P(404, NOT_FOUND, None),
            |_| {
                req("PATCH", "/v1/items/")
                    .header("Content-Type", JSON)
                    .body("{\"name\":\"b\"}")
            },
        ),
        row(
            Path,
            "empty id: `DELETE /v1/items//`",
            P(404, NOT_FOUND, None),
            |_| req("DELETE", "/v1/items//"),
        ),
        row(
            Path,
            "DELETE of an uppercase UUID",
            P(400, VALIDATION, Some("parameter id")),
            |c| req("DELETE", format!("/v1/items/{}", c.item_id.to_uppercase())),
        ),
        row(
            Path,
            "PATCH of a 10 KB id",
            P(400, VALIDATION, Some("parameter id")),
            |_| {
                req("PATCH", format!("/v1/items/{}", "f".repeat(10 * 1024)))
                    .header("Content-Type", JSON)
                    .body("{\"name\":\"b\"}")
            },
        ),
        // --- limit and cursor ---
        row(
            Query,
            "`limit=0`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=0"),
        ),
        row(
            Query,
            "`limit=-1`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=-1"),
        ),
        row(
            Query,
            "`limit=1000000000`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=1000000000"),
        ),
        row(
            Query,
            "`limit=99999999999999999999999`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=99999999999999999999999"),
        ),
        row(
            Query,
            "`limit=abc`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=abc"),
        ),
        row(
            Query,
            "`limit=1.5`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=1.5"),
        ),
        row(
            Query,
            "`limit=` (empty)",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit="),
        ),
        row(
            Query,
            "`limit=%2B5`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=%2B5"),
        ),
        row(
            Query,
            "`limit=5%00`",
            P(400, VALIDATION, Some("parameter limit")),
            |_| list_query("limit=5%00"),
        ),
        row(Query, "`limit=100`", Status(200), |_| {
            list_query("limit=100")
        }),
        row(
            Query,
            "`cursor=!!!` (not base64url)",
            P(400, VALIDATION, Some("parameter cursor")),
            |_| list_query("cursor=!!!"),
        ),
        row(
            Query,
            "`cursor=` (empty)",
            P(400, VALIDATION, Some("parameter cursor")),
            |_| list_query("cursor="),
        ),
        row(
            Query,
            "cursor of 513 characters",
            P(400, VALIDATION, Some("parameter cursor")),
            |_| list_query(&format!("cursor={}", "A".repeat(513))),
        ),
        row(
            Query,
            "forged cursor `{\"v\":1,\"o\":\"0000000000000000\",\"after\":…}`",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| {
                list_query(&format!(
                    "cursor={}",
                    forge(&json!({"v": 1, "o": "0000000000000000", "after": c.item_id}))
                ))
            },
        ),
        row(
            Query,
            "forged cursor naming another partition `{…,\"pk\":\"USER#bob\"}`",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| {
                list_query(&format!(
                    "cursor={}",
                    forge(
                        &json!({"v": 1, "o": "0000000000000000", "after": c.item_id, "pk": "USER#bob"})
                    )
                ))
            },
        ),
        row(
            Query,
            "own cursor with `pk: USER#bob` added",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| {
                let mut wire: Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&c.own_cursor).expect("base64"))
                        .expect("json");
                wire["pk"] = json!("USER#bob");
                list_query(&format!("cursor={}", forge(&wire)))
            },
        ),
        row(
            Query,
            "own cursor with `after` changed to `../x`",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| {
                let mut wire: Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&c.own_cursor).expect("base64"))
                        .expect("json");
                wire["after"] = json!("../x");
                list_query(&format!("cursor={}", forge(&wire)))
            },
        ),
        row(
            Query,
            "another user's real cursor",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| list_query(&format!("cursor={}", c.other_cursor)),
        ),
        row(Query, "own cursor, replayed", Status(200), |c| {
            list_query(&format!("cursor={}", c.own_cursor))
        }),
        row(
            Query,
            "own cursor with padding `=`",
            P(400, VALIDATION, Some("parameter cursor")),
            |c| list_query(&format!("cursor={}%3D", c.own_cursor)),
        ),
        // --- Headers ---
        row(
            Header,
            "a 32 KB `X-Padding` header",
            RefusedOrClosed,
            |_| req("GET", "/v1/items").header("X-Padding", "a".repeat(32 * 1024)),
        ),
        row(Header, "200 headers of 100 bytes", RefusedOrClosed, |_| {
            (0..200).fold(req("GET", "/v1/items"), |r, i| {
                r.header(&format!("X-H{i}"), "b".repeat(100))
            })
        }),
        row(Header, "a 1 MB header", RefusedOrClosed, |_| {
            req("GET", "/v1/items").header("X-Padding", "c".repeat(1 << 20))
        }),
        row(
            Header,
            "an 8 KB `If-Match` on PATCH",
            P(400, VALIDATION, Some("header If-Match")),
            |c| patch(c, "{\"name\":\"b\"}").header("If-Match", "x".repeat(8 * 1024)),
        ),
        row(
            Header,
            "an 8 KB `Idempotency-Key`",
            P(400, VALIDATION, Some("header Idempotency-Key")),
            |_| create("{\"name\":\"a\"}").header("Idempotency-Key", "k".repeat(8 * 1024)),
        ),
        row(
            Header,
            "a 32 KB `If-Match` on PATCH",
            RefusedOrClosed,
            |c| patch(c, "{\"name\":\"b\"}").header("If-Match", "x".repeat(32 * 1024)),
        ),
        row(
            Header,
            "a 32 KB `Authorization` header",
            RefusedOrClosed,
            |_| req("GET", "/v1/items").header("Authorization", "e".repeat(32 * 1024)),
        ),
        row(
            Header,
            "8 KB of headers in all (under the 10 KiB head limit)",
            Status(200),
            |_| req("GET", "/v1/items").header("X-Padding", "d".repeat(8 * 1024)),
        ),
        row(
            Header,
            "`Content-Type` of 4 KB",
            P(415, MEDIA, None),
            |_| {
                create_typed(
                    &format!("application/{}", "j".repeat(4096)),
                    "{\"name\":\"a\"}",
                )
            },
        ),
        row(
            Header,
            "`X-Forwarded-For` of 4 KB of junk",
            Status(200),
            |_| req("GET", "/v1/items").header("X-Forwarded-For", "1.2.3.4, ".repeat(400)),
        ),
    ]
}

/// The text of a row's expected answer, as the doc's table shows it.
fn answer_cells(a: Answer) -> (String, String, String) {
    match a {
        Answer::Problem(status, slug, pointer) => (
            status.to_string(),
            format!("`{slug}`"),
            pointer
                .map(|p| format!("`{p}`"))
                .unwrap_or_else(|| "–".to_owned()),
        ),
        Answer::StoredVerbatim => (
            "201, read back verbatim".to_owned(),
            "–".to_owned(),
            "–".to_owned(),
        ),
        Answer::Ok(status) => (status.to_string(), "–".to_owned(), "–".to_owned()),
        Answer::RefusedOrClosed => (
            "4xx or connection closed".to_owned(),
            "–".to_owned(),
            "–".to_owned(),
        ),
    }
}

fn group_name(g: Group) -> &'static str {
    match g {
        Body => "body",
        Text => "stored text",
        Path => "path id",
        Query => "query",
        Header => "headers",
    }
}

/// The catalogue as the Markdown table of `docs/HOSTILE-INPUT.md`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| # | where | input | status | problem type | located at |\n|---|---|---|---|---|---|\n",
    );
    for (i, r) in catalogue().iter().enumerate() {
        let (status, kind, pointer) = answer_cells(r.answer);
        out.push_str(&format!(
            "| {} | {} | {} | {status} | {kind} | {pointer} |\n",
            i + 1,
            group_name(r.group),
            r.input.replace('|', "\\|"),
        ));
    }
    out
}

/// Sends one request on a fresh connection; `None` when the server closed it without an answer.
pub fn send(server: &TestServer, token: &str, key: &str, r: &Req) -> Option<TestResponse> {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        r.method, r.path, server.addr
    )
    .into_bytes();
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        ("Authorization".to_owned(), token.as_bytes().to_vec()),
        ("x-api-key".to_owned(), key.as_bytes().to_vec()),
    ];
    headers.extend(r.headers.iter().cloned());
    let sets_length = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    for (k, v) in &headers {
        head.extend_from_slice(k.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(v);
        head.extend_from_slice(b"\r\n");
    }
    if r.chunked {
        head.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if let Some(b) = &r.body
        && !sets_length
    {
        head.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    // The server may answer (and close) before reading everything: ignore write errors.
    let _ = stream.write_all(&head);
    if let Some(b) = &r.body {
        if r.chunked {
            for chunk in b.chunks(1 << 20) {
                if stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .is_err()
                    || stream.write_all(chunk).is_err()
                    || stream.write_all(b"\r\n").is_err()
                {
                    break;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        } else {
            let _ = stream.write_all(b);
        }
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(TestResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// The invariants every answer keeps: never a 5xx, and a 4xx is a complete problem+json.
pub fn assert_well_formed(r: &TestResponse, case: &str) {
    assert!(
        r.status < 500,
        "{case}: a server error: {} {}",
        r.status,
        r.text()
    );
    if r.status >= 400 {
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{case}: {}",
            r.text()
        );
        let body = r.json();
        assert_eq!(body["status"], r.status, "{case}: {body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:problem:secure-serverless-backend:")),
            "{case}: {body}"
        );
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{case}: {body}"
        );
        let rid = r
            .header("x-amzn-requestid")
            .unwrap_or_else(|| panic!("{case}: no x-amzn-RequestId"));
        assert_eq!(body["requestId"], rid, "{case}: {body}");
    }
}

/// Where a problem is located: the function's `errors[]` entry (`pointer`, or `parameter NAME`,
/// or `header NAME`, each in its own member), or, for the gateway validator's answer (a detail
/// such as `[/name: the value is not of type "string"]`), the field it names.
fn reports_pointer(body: &Value, pointer: &str) -> bool {
    if let Some(errors) = body["errors"].as_array() {
        let (member, value) = match pointer.split_once(' ') {
            Some((m @ ("parameter" | "header"), name)) => (m, name),
            _ => ("pointer", pointer),
        };
        return errors.iter().any(|e| e[member] == value);
    }
    body["detail"].as_str().is_some_and(|d| {
        d.starts_with(&format!("[{pointer}: ")) || d.contains(&format!(", {pointer}: "))
    })
}

fn fields(v: &Value) -> Value {
    json!({
        "name": v["name"],
        "description": v.get("description").cloned().unwrap_or(json!("")),
        "tags": v.get("tags").cloned().unwrap_or(json!([])),
    })
}

struct Session {
    server: TestServer,
    token: String,
    key: String,
    ctx: Ctx,
    seed: Value,
}

fn list_all(s: &Session) -> Vec<Value> {
    let r = send(&s.server, &s.token, &s.key, &list_query("limit=100")).expect("list answered");
    assert_eq!(r.status, 200, "list: {}", r.text());
    r.json()["items"].as_array().expect("items").clone()
}

/// A server, alice with one item (and a second, so her first page has a cursor), and a cursor
/// of bob's.
fn session() -> Session {
    let server = spawn_server(&crate::common::GENEROUS_LIMITS);
    let (token, key) = credentials(&server, "alice");
    let (bob_token, _) = credentials(&server, "bob");
    let mk = |t: &str, name: &str| {
        let r = send(
            &server,
            t,
            &key,
            &create_json(&json!({"name": name, "tags": ["seed"]})),
        )
        .expect("create answered");
        assert_eq!(r.status, 201, "seed: {}", r.text());
        r.json()
    };
    let seed = mk(&token, "seed one");
    mk(&token, "seed two");
    mk(&bob_token, "bob one");
    mk(&bob_token, "bob two");
    let page = |t: &str| {
        let r = send(&server, t, &key, &list_query("limit=1")).expect("list answered");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["nextCursor"]
            .as_str()
            .expect("a next page")
            .to_owned()
    };
    let ctx = Ctx {
        item_id: seed["id"].as_str().expect("id").to_owned(),
        own_cursor: page(&token),
        other_cursor: page(&bob_token),
    };
    Session {
        server,
        token,
        key,
        ctx,
        seed,
    }
}

/// Runs every row of a group, then checks that alice holds exactly her two seed items (unchanged)
/// plus what the group's rows were expected to store.
fn run_group(group: Group) {
    let s = session();
    let mut stored = 0;
    let mut failures = Vec::new();
    for (i, row) in catalogue()
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.group == group)
    {
        let case = format!("row {} ({}): {}", i + 1, group_name(group), row.input);
        let r = (row.make)(&s.ctx);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let got = send(&s.server, &s.token, &s.key, &r);
            match (row.answer, got) {
                (Answer::RefusedOrClosed, None) => {}
                (_, None) => panic!("{case}: the connection closed without an answer"),
                // hyper refuses an oversized head itself, with a bare 431 (see the doc).
                (Answer::RefusedOrClosed, Some(got)) if got.status == 431 => {}
                (answer, Some(got)) => {
                    assert_well_formed(&got, &case);
                    match answer {
                        Answer::RefusedOrClosed => {
                            assert!(
                                (400..500).contains(&got.status),
                                "{case}: {} {}",
                                got.status,
                                got.text()
                            );
                        }
                        Answer::Ok(status) => {
                            assert_eq!(got.status, status, "{case}: {}", got.text())
                        }
                        Answer::Problem(status, slug, pointer) => {
                            assert_eq!(got.status, status, "{case}: {}", got.text());
                            let body = got.json();
                            assert_eq!(
                                body["type"],
                                format!("urn:problem:secure-serverless-backend:{slug}"),
                                "{case}: {body}"
                            );
                            if let Some(p) = pointer {
                                assert!(
                                    reports_pointer(&body, p),
                                    "{case}: expected the problem at {p}: {body}"
                                );
                            }
                        }
                        Answer::StoredVerbatim => {
                            assert_eq!(got.status, 201, "{case}: {}", got.text());
                            let sent: Value =
                                serde_json::from_slice(r.body.as_deref().unwrap_or_default())
                                    .expect("sent JSON");
                            let created = got.json();
                            assert_eq!(
                                fields(&created),
                                fields(&sent),
                                "{case}: the answer differs from what was sent"
                            );
                            let location = got.header("location").expect("Location").to_owned();
                            let back = send(&s.server, &s.token, &s.key, &req("GET", location))
                                .expect("get answered");
                            assert_eq!(back.status, 200, "{case}: {}", back.text());
                            assert_eq!(
                                fields(&back.json()),
                                fields(&sent),
                                "{case}: stored differently from what was sent"
                            );
                        }
                    }
                }
            }
        }));
        match outcome {
            Ok(()) if row.answer == Answer::StoredVerbatim => stored += 1,
            Ok(()) => {}
            Err(e) => failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| case.clone()),
            ),
        }
    }
    assert!(
        failures.is_empty(),
        "{} row(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing half-written: exactly the seeds plus the rows meant to be stored, and the first
    // seed untouched by every refused PATCH.
    let items = list_all(&s);
    assert_eq!(
        items.len(),
        2 + stored,
        "alice's items after the {} rows: {items:#?}",
        group_name(group)
    );
    let first = items
        .iter()
        .find(|i| i["id"] == s.seed["id"])
        .expect("the seed item is still there");
    assert_eq!(first, &s.seed, "the seed item changed");
}

#[test]
fn malformed_and_oversized_bodies_are_4xx_problems_and_write_nothing() {
    run_group(Body);
}

#[test]
fn hostile_text_within_the_limits_is_stored_and_returned_verbatim() {
    run_group(Text);
}

#[test]
fn odd_ids_in_the_path_are_400_or_404_never_a_lookup_elsewhere() {
    run_group(Path);
}

#[test]
fn odd_limits_and_forged_or_borrowed_cursors_are_400() {
    run_group(Query);
}

#[test]
fn oversized_and_hostile_headers_never_get_a_5xx() {
    run_group(Header);
}

#[test]
fn the_hostile_input_doc_lists_exactly_this_catalogue() {
    const START: &str = "<!-- catalogue:start (generated by local/tests/gateway/hostile.rs) -->\n";
    const END: &str = "<!-- catalogue:end -->";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/HOSTILE-INPUT.md");
    let doc = std::fs::read_to_string(&path).expect("docs/HOSTILE-INPUT.md");
    let (before, rest) = doc.split_once(START).expect("the doc has the start marker");
    let (current, after) = rest.split_once(END).expect("the doc has the end marker");
    let table = markdown_table();
    if std::env::var_os("HOSTILE_DOC_UPDATE").is_some() {
        std::fs::write(&path, format!("{before}{START}{table}{END}{after}"))
            .expect("write the doc");
        return;
    }
    assert_eq!(
        current, table,
        "docs/HOSTILE-INPUT.md is out of date: run `HOSTILE_DOC_UPDATE=1 cargo test -p local-server --test gateway hostile`"
    );
}
