//! Domain types. Each can only hold a valid value: parse, don't validate.
//!
//! The limits here are the ones `api/openapi.json` states: `api/tests/agreement.rs` checks each
//! constant against the contract's schemas and runs one table of good and bad bodies through both.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;

/// A problem with one part of a request, located where it is: `errors[]` carries exactly one of
/// `pointer`, `parameter` or `header` beside `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    #[serde(flatten)]
    pub at: InputLocation,
    pub detail: String,
}

/// Where a bad input is. Serialized as one member named for the kind of place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputLocation {
    /// A JSON pointer (RFC 6901) into the body: `""` is the whole body, `/name` a field.
    Pointer(String),
    /// A query or path parameter, by name (`limit`, `cursor`, `id`).
    Parameter(String),
    /// A request header, by name (`If-Match`, `Idempotency-Key`).
    Header(String),
}

impl FieldError {
    /// A bad body field, at this JSON pointer (`""` or starting with `/`).
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: InputLocation::Pointer(pointer.into()),
            detail: detail.into(),
        }
    }

    /// A bad query or path parameter.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: InputLocation::Parameter(name.into()),
            detail: detail.into(),
        }
    }

    /// A bad request header.
    pub fn header(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: InputLocation::Header(name.into()),
            detail: detail.into(),
        }
    }

    /// The body pointer, when the problem is in the body.
    pub fn pointer(&self) -> Option<&str> {
        match &self.at {
            InputLocation::Pointer(p) => Some(p),
            InputLocation::Parameter(_) | InputLocation::Header(_) => None,
        }
    }
}

pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const TAG_MAX_CHARS: usize = 50;
pub const TAGS_MAX_ITEMS: usize = 20;

/// The owner of an item: the `sub` claim of the caller's verified ID token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(String);

impl Owner {
    /// Longest `sub` accepted. Cognito's are 36-character UUIDs.
    pub const MAX_LEN: usize = 128;

    pub fn parse(sub: &str) -> Option<Self> {
        let ok = !sub.is_empty()
            && sub.len() <= Self::MAX_LEN
            && sub.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':')
            });
        ok.then(|| Self(sub.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A server-made item id: a UUIDv7 in its canonical lowercase form, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(uuid::Uuid);

impl ItemId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// Accepts only the canonical form the server hands out: 36 characters, lowercase hex and
    /// hyphens in the 8-4-4-4-12 layout.
    pub fn parse(s: &str) -> Option<Self> {
        let canonical = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            });
        if !canonical {
            return None;
        }
        uuid::Uuid::parse_str(s).ok().map(Self)
    }
}

impl Default for ItemId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for ItemId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn is_forbidden_control(c: char, allow_line_breaks: bool) -> bool {
    if allow_line_breaks && matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}')
}

/// Checks a one-line text field: `1..=max` characters (Unicode scalar values, as JSON Schema's
/// `maxLength` counts them), not all spaces, no control characters. "Blank" means only U+0020
/// because the regex engines that read the contract's `pattern` disagree on what `\s` covers.
fn parse_line(s: &str, max: usize) -> Result<String, String> {
    let chars = s.chars().count();
    if chars == 0 || chars > max {
        return Err(format!("must be between 1 and {max} characters"));
    }
    if s.chars().any(|c| is_forbidden_control(c, false)) {
        return Err("must not contain control characters".to_owned());
    }
    if s.chars().all(|c| c == ' ') {
        return Err("must not be blank".to_owned());
    }
    Ok(s.to_owned())
}

/// An item's name: 1 to [`NAME_MAX_CHARS`] characters, not all spaces, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_line(s, NAME_MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An item's description: 0 to [`DESCRIPTION_MAX_CHARS`] characters; tab, LF and CR are the only
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(format!(
                "must be at most {DESCRIPTION_MAX_CHARS} characters"
            ));
        }
        if s.chars().any(|c| is_forbidden_control(c, true)) {
            return Err(
                "must not contain control characters other than tab, line feed and carriage return"
                    .to_owned(),
            );
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One tag: 1 to [`TAG_MAX_CHARS`] characters, not all spaces, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_line(s, TAG_MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An item's tags: at most [`TAGS_MAX_ITEMS`], no two equal, in the order the client gave them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    /// Parses a JSON value at `pointer`, reporting every bad element.
    fn from_json(value: &Value, pointer: &str, errors: &mut Vec<FieldError>) -> Option<Self> {
        let Value::Array(values) = value else {
            errors.push(FieldError::new(pointer, "must be an array of strings"));
            return None;
        };
        if values.len() > TAGS_MAX_ITEMS {
            errors.push(FieldError::new(
                pointer,
                format!("must have at most {TAGS_MAX_ITEMS} tags"),
            ));
            return None;
        }
        let before = errors.len();
        let mut tags: Vec<Tag> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let at = format!("{pointer}/{i}");
            match v.as_str().map(Tag::parse) {
                None => errors.push(FieldError::new(at, "must be a string")),
                Some(Err(detail)) => errors.push(FieldError::new(at, detail)),
                Some(Ok(tag)) if tags.contains(&tag) => {
                    errors.push(FieldError::new(at, "duplicates an earlier tag"))
                }
                Some(Ok(tag)) => tags.push(tag),
            }
        }
        (errors.len() == before).then_some(Self(tags))
    }

    /// Builds tags from stored strings, which were valid when written.
    pub fn from_stored(tags: Vec<String>) -> Option<Self> {
        let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
        for t in tags {
            let tag = Tag::parse(&t).ok()?;
            if out.contains(&tag) {
                return None;
            }
            out.push(tag);
        }
        (out.len() <= TAGS_MAX_ITEMS).then_some(Self(out))
    }
}

/// The version of an item: 1 when created, one more on every change. Its ETag is `"<version>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    pub const FIRST: Version = Version(1);

    pub fn new(v: u64) -> Option<Self> {
        (v >= 1).then_some(Self(v))
    }
    pub fn get(self) -> u64 {
        self.0
    }
    pub fn etag(self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// What a client may set when creating an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub name: Name,
    pub description: Description,
    pub tags: Tags,
}

/// What a client may change on an item; at least one field is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPatch {
    pub name: Option<Name>,
    pub description: Option<Description>,
    pub tags: Option<Tags>,
}

/// A stored item as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: ItemId,
    pub name: Name,
    pub description: Description,
    pub tags: Tags,
    pub version: Version,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const FIELDS: [&str; 3] = ["name", "description", "tags"];

/// Reports fields the schema does not allow (`additionalProperties: false`), e.g. `id`, `owner`,
/// `version` or the timestamps, which only the server writes.
fn check_unknown_fields(object: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for key in object.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errors.push(FieldError::new(
            format!("/{}", escape_pointer(key)),
            "is not a field clients can set",
        ));
    }
}

fn string_field<T>(
    object: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = object.get(key)?;
    let pointer = format!("/{key}");
    match value.as_str() {
        None => {
            errors.push(FieldError::new(pointer, "must be a string"));
            None
        }
        Some(s) => parse(s)
            .map_err(|detail| errors.push(FieldError::new(pointer, detail)))
            .ok(),
    }
}

fn tags_field(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Tags> {
    object
        .get("tags")
        .and_then(|v| Tags::from_json(v, "/tags", errors))
}

impl NewItem {
    /// Parses a create request's JSON object, reporting every bad field at once.
    pub fn from_json(object: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        check_unknown_fields(object, &mut errors);
        if !object.contains_key("name") {
            errors.push(FieldError::new("/name", "is required"));
        }
        let name = string_field(object, "name", Name::parse, &mut errors);
        let description = string_field(object, "description", Description::parse, &mut errors);
        let tags = tags_field(object, &mut errors);
        match name {
            Some(name) if errors.is_empty() => Ok(Self {
                name,
                description: description.unwrap_or_default(),
                tags: tags.unwrap_or_default(),
            }),
            _ => Err(errors),
        }
    }
}

impl ItemPatch {
    /// Parses an update request's JSON object, reporting every bad field at once.
    pub fn from_json(object: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        check_unknown_fields(object, &mut errors);
        if object.is_empty() {
            errors.push(FieldError::new(
                "",
                "must set at least one of name, description, tags",
            ));
        }
        let patch = Self {
            name: string_field(object, "name", Name::parse, &mut errors),
            description: string_field(object, "description", Description::parse, &mut errors),
            tags: tags_field(object, &mut errors),
        };
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901 §3).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_canonical_uuid_is_an_item_id() {
        let id = ItemId::new();
        assert_eq!(ItemId::parse(&id.to_string()), Some(id));
    }

    #[test]
    fn item_ids_in_other_forms_are_rejected() {
        let cases = [
            ("", "empty"),
            ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5B", "uppercase"),
            ("0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "simple form"),
            ("{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}", "braced"),
            ("urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "urn"),
            ("../../etc/passwd", "path traversal"),
            ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", "not hex"),
            ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0", "too long"),
        ];
        for (input, case) in cases {
            assert_eq!(ItemId::parse(input), None, "{case}: {input:?} was accepted");
        }
    }

    #[test]
    fn names_are_measured_in_characters_not_bytes() {
        let two_hundred_snowmen = "☃".repeat(NAME_MAX_CHARS);
        assert!(Name::parse(&two_hundred_snowmen).is_ok());
        assert!(Name::parse(&format!("{two_hundred_snowmen}☃")).is_err());
    }

    #[test]
    fn name_validation_table() {
        let cases: [(&str, bool, &str); 9] = [
            ("a", true, "one character"),
            ("Widget 42", true, "ordinary name"),
            (
                "'; DROP TABLE items; --",
                true,
                "injection-looking text is data",
            ),
            ("", false, "empty"),
            ("   ", false, "blank"),
            ("a\u{0}b", false, "NUL"),
            ("line\nbreak", false, "line feed"),
            ("del\u{7f}", false, "DEL"),
            (" padded ", true, "surrounding spaces are kept"),
        ];
        for (input, ok, case) in cases {
            assert_eq!(Name::parse(input).is_ok(), ok, "{case}: {input:?}");
        }
    }

    #[test]
    fn descriptions_allow_line_breaks_but_not_other_controls() {
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("line one\r\nline two\tend").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Description::parse(&"x".repeat(DESCRIPTION_MAX_CHARS)).is_ok());
        assert!(Description::parse(&"x".repeat(DESCRIPTION_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn a_minimal_create_gets_empty_description_and_tags() {
        let item = NewItem::from_json(&object(json!({"name": "n"}))).expect("valid");
        assert_eq!(item.description.as_str(), "");
        assert_eq!(item.tags, Tags::default());
    }

    #[test]
    fn every_bad_field_of_a_create_is_reported_with_its_pointer() {
        let errors = NewItem::from_json(&object(json!({
            "name": "",
            "description": 7,
            "tags": ["ok", "ok", 3],
            "owner": "someone-else",
            "a/b": true
        })))
        .expect_err("invalid");
        let pointers: Vec<&str> = errors.iter().filter_map(FieldError::pointer).collect();
        for expected in [
            "/name",
            "/description",
            "/tags/1",
            "/tags/2",
            "/owner",
            "/a~1b",
        ] {
            assert!(
                pointers.contains(&expected),
                "{expected} missing from {pointers:?}"
            );
        }
    }

    #[test]
    fn clients_cannot_write_server_owned_fields() {
        for field in ["id", "owner", "version", "createdAt", "updatedAt"] {
            let mut body = object(json!({"name": "n"}));
            body.insert(field.to_owned(), json!("x"));
            assert!(
                NewItem::from_json(&body).is_err(),
                "create accepted {field}"
            );
            assert!(
                ItemPatch::from_json(&body).is_err(),
                "patch accepted {field}"
            );
        }
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        let errors = ItemPatch::from_json(&Map::new()).expect_err("invalid");
        assert_eq!(errors[0].pointer(), Some(""));
    }

    #[test]
    fn twenty_one_tags_are_too_many() {
        let tags: Vec<String> = (0..=TAGS_MAX_ITEMS).map(|i| format!("t{i}")).collect();
        assert!(NewItem::from_json(&object(json!({"name": "n", "tags": tags}))).is_err());
    }

    #[test]
    fn owners_must_be_plausible_subjects() {
        assert!(Owner::parse("3f1c2a9e-1111-4222-8333-944445555666").is_some());
        assert!(Owner::parse("").is_none());
        assert!(Owner::parse("USER#x").is_none());
        assert!(Owner::parse(&"a".repeat(Owner::MAX_LEN + 1)).is_none());
    }

    #[test]
    fn a_version_of_zero_does_not_exist() {
        assert_eq!(Version::new(0), None);
        assert_eq!(Version::FIRST.etag(), "\"1\"");
    }
}
