//! The API contract, read from the files under `api/` (compiled in): the operations of
//! `openapi.json` with their function, DynamoDB actions, parameters and self-contained
//! (`$ref`-free, draft 4) request body schemas, and the gateway responses.
//!
//! The local server routes and validates with this; the CDK stack reads the same file in
//! TypeScript (`cdk/lib/contract.ts`) by the same rules, with the same sentences for a contract
//! that breaks them: `cdk/test/contract-agreement.test.ts` runs both readers (this one through
//! the `routes` binary) over the contract and over broken ones and checks they agree. Nothing
//! here re-types a route or a schema.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const OPENAPI_JSON: &str = include_str!("../openapi.json");
pub const GATEWAY_RESPONSES_JSON: &str = include_str!("../gateway-responses.json");

/// The HTTP methods an OpenAPI path item may hold that API Gateway can serve, in the order
/// OpenAPI lists them (the TypeScript reader's `HTTP_METHODS`).
pub const HTTP_METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("the contract is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The sentence the TypeScript reader throws for the same contract.
    #[error("{0}")]
    Malformed(String),
}

fn malformed(what: impl Into<String>) -> ContractError {
    ContractError::Malformed(what.into())
}

/// A value as `JSON.stringify` shows it in the TypeScript reader's messages.
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "undefined".to_owned(), Value::to_string)
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    pub required: bool,
    /// The parameter's schema as written (API Gateway checks only presence; the functions
    /// parse the value).
    #[serde(skip)]
    pub schema: Value,
}

/// One method on one path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub operation_id: String,
    /// Upper case, e.g. `PATCH`.
    pub method: String,
    /// The path template, e.g. `/v1/items/{id}`.
    pub path: String,
    /// The Lambda function (and crate) serving it.
    #[serde(rename = "function")]
    pub function: String,
    /// The only DynamoDB actions that function's role holds.
    pub dynamodb_actions: Vec<String>,
    /// Path-level parameters, overridden by the operation's own of the same name and location.
    pub parameters: Vec<Parameter>,
    /// The `application/json` body schema, self-contained, when the operation takes a body.
    #[serde(skip)]
    pub body_schema: Option<Value>,
}

impl Operation {
    /// Matches a concrete path against this operation's template, returning the path
    /// parameters. A parameter matches one non-empty segment.
    pub fn match_path(&self, path: &str) -> Option<Vec<(String, String)>> {
        let template: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        if template.len() != actual.len() {
            return None;
        }
        let mut params = Vec::new();
        for (t, a) in template.iter().zip(&actual) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !a.is_empty() => params.push((name.to_owned(), (*a).to_owned())),
                Some(_) => return None,
                None if t == a => {}
                None => return None,
            }
        }
        Some(params)
    }
}

/// The parsed contract.
#[derive(Debug, Clone)]
pub struct Contract {
    doc: Value,
}

fn non_empty_str<'a>(where_: &str, value: Option<&'a Value>) -> Result<&'a str, ContractError> {
    match value.and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(malformed(format!(
            "{where_} must be a non-empty string, got {}",
            shown(value)
        ))),
    }
}

fn is_crate_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && s.len() <= 63
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_dynamodb_action(s: &str) -> bool {
    s.strip_prefix("dynamodb:").is_some_and(|a| {
        let mut bytes = a.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_uppercase())
            && a.len() >= 2
            && bytes.all(|b| b.is_ascii_alphabetic())
    })
}

impl Contract {
    /// The contract compiled into this crate.
    pub fn load() -> Result<Self, ContractError> {
        Self::parse(OPENAPI_JSON)
    }

    pub fn parse(text: &str) -> Result<Self, ContractError> {
        Ok(Self {
            doc: serde_json::from_str(text)?,
        })
    }

    /// A component schema with every `$ref` inlined.
    pub fn schema(&self, name: &str) -> Result<Value, ContractError> {
        let schema = self
            .doc
            .pointer(&format!("/components/schemas/{name}"))
            .ok_or_else(|| malformed(format!("no schema {name}")))?;
        self.inline(schema, &[])
    }

    /// Follows a local JSON pointer (`#/components/schemas/X`).
    fn pointer(&self, reference: &str) -> Result<&Value, ContractError> {
        let pointer = reference.strip_prefix('#').filter(|p| p.starts_with('/'));
        let Some(pointer) = pointer else {
            return Err(malformed(format!(
                "only local $refs are supported, got {}",
                Value::from(reference)
            )));
        };
        self.doc
            .pointer(pointer)
            .ok_or_else(|| malformed(format!("$ref {} does not resolve", Value::from(reference))))
    }

    /// The object a `$ref` points at (or the object itself when it has no `$ref`).
    fn deref<'a>(&'a self, node: &'a Value) -> Result<&'a Map<String, Value>, ContractError> {
        let mut node = node;
        let mut seen: Vec<&str> = Vec::new();
        loop {
            let Some(object) = node.as_object() else {
                return Err(malformed(format!("expected an object, got {node}")));
            };
            let Some(reference) = object.get("$ref").and_then(Value::as_str) else {
                return Ok(object);
            };
            if seen.contains(&reference) {
                seen.push(reference);
                return Err(malformed(format!("circular $ref: {}", seen.join(" -> "))));
            }
            seen.push(reference);
            node = self.pointer(reference)?;
        }
    }

    /// Replaces every `{"$ref": "#/..."}` with what it points at, recursively; `seen` holds the
    /// references being inlined on the way here, so that a cycle is an error, not a hang.
    fn inline(&self, value: &Value, seen: &[&str]) -> Result<Value, ContractError> {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                    let mut seen = seen.to_vec();
                    let cycle = seen.contains(&reference);
                    seen.push(reference);
                    if cycle {
                        return Err(malformed(format!("circular $ref: {}", seen.join(" -> "))));
                    }
                    return self.inline(self.pointer(reference)?, &seen);
                }
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.inline(v, seen)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .map(|v| self.inline(v, seen))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// Every operation: paths in the document's key order (sorted: serde_json keeps objects
    /// sorted), and on each path the methods in [`HTTP_METHODS`] order.
    pub fn operations(&self) -> Result<Vec<Operation>, ContractError> {
        let version = self.doc.get("openapi");
        if !version
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("3.0"))
        {
            return Err(malformed(format!(
                "expected an OpenAPI 3.0 document, got openapi={}",
                shown(version)
            )));
        }
        if let Some(info) = self.doc.get("info") {
            self.deref(info)?;
        }
        let paths = self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("the contract has no paths"))?;
        let mut out: Vec<Operation> = Vec::new();
        for (path, item) in paths {
            if !path.starts_with('/') {
                return Err(malformed(format!(
                    "path {} must start with /",
                    Value::from(path.as_str())
                )));
            }
            let item = self.deref(item)?;
            let shared = item.get("parameters").and_then(Value::as_array);
            for method in HTTP_METHODS {
                let Some(op) = item.get(method) else { continue };
                let op = self.operation(path, method, self.deref(op)?, shared, &out)?;
                out.push(op);
            }
        }
        if out.is_empty() {
            return Err(malformed("the contract declares no operations"));
        }
        Ok(out)
    }

    fn operation(
        &self,
        path: &str,
        method: &str,
        op: &Map<String, Value>,
        shared: Option<&Vec<Value>>,
        earlier: &[Operation],
    ) -> Result<Operation, ContractError> {
        let where_ = format!("{} {path}", method.to_ascii_uppercase());
        let function = non_empty_str(&format!("{where_}: x-function"), op.get("x-function"))?;
        if !is_crate_name(function) {
            return Err(malformed(format!(
                "{where_}: x-function {} is not a crate name",
                Value::from(function)
            )));
        }
        if let Some(other) = earlier.iter().find(|o| o.function == function) {
            return Err(malformed(format!(
                "{where_}: x-function {function} already serves {} {}; one function per route",
                other.method, other.path
            )));
        }
        let actions = op.get("x-dynamodb-actions");
        let dynamodb_actions: Option<Vec<String>> = actions
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .and_then(|a| {
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .filter(|s| is_dynamodb_action(s))
                            .map(str::to_owned)
                    })
                    .collect()
            });
        let Some(dynamodb_actions) = dynamodb_actions else {
            return Err(malformed(format!(
                "{where_}: x-dynamodb-actions must be a non-empty list of \"dynamodb:Action\", got {}",
                shown(actions)
            )));
        };
        let own = op.get("parameters").and_then(Value::as_array);
        let mut parameters: Vec<Parameter> = Vec::new();
        for raw in shared.into_iter().chain(own).flatten() {
            let p = self.deref(raw)?;
            let name = non_empty_str(&format!("{where_}: parameter name"), p.get("name"))?;
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                Some("header") => Location::Header,
                _ => {
                    return Err(malformed(format!(
                        "{where_}: parameter {name} is in {}; only path, query and header are supported",
                        shown(p.get("in"))
                    )));
                }
            };
            let required = p.get("required") == Some(&Value::Bool(true));
            if location == Location::Path && !required {
                return Err(malformed(format!(
                    "{where_}: path parameter {name} must be required"
                )));
            }
            let parameter = Parameter {
                name: name.to_owned(),
                location,
                required,
                schema: p.get("schema").cloned().unwrap_or(Value::Null),
            };
            // The operation's own parameter replaces a path-level one in its place.
            match parameters
                .iter_mut()
                .find(|q| q.name == parameter.name && q.location == parameter.location)
            {
                Some(existing) => *existing = parameter,
                None => parameters.push(parameter),
            }
        }
        for segment in path.split('/') {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                continue;
            };
            if !parameters
                .iter()
                .any(|p| p.location == Location::Path && p.name == name)
            {
                return Err(malformed(format!(
                    "{where_}: path parameter {{{name}}} is not declared"
                )));
            }
        }
        let body_schema = match op.get("requestBody") {
            None => None,
            Some(body) => {
                let content = self.deref(body)?.get("content").unwrap_or(&Value::Null);
                let schema = self
                    .deref(content)?
                    .get("application/json")
                    .and_then(Value::as_object)
                    .and_then(|media| media.get("schema"))
                    .ok_or_else(|| {
                        malformed(format!(
                            "{where_}: requestBody must have application/json content with a schema"
                        ))
                    })?;
                Some(self.inline(schema, &[])?)
            }
        };
        let operation_id = non_empty_str(&format!("{where_}: operationId"), op.get("operationId"))?;
        Ok(Operation {
            operation_id: operation_id.to_owned(),
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function: function.to_owned(),
            dynamodb_actions,
            parameters,
            body_schema,
        })
    }
}

/// One answer API Gateway gives before a request reaches a function.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponse {
    pub response_type: String,
    pub status_code: Option<u16>,
    pub problem: String,
    pub title: String,
    pub detail: Option<String>,
    /// Seconds for a static `Retry-After` header, as the stack sets it on the gateway response.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponses {
    pub content_type: String,
    pub type_prefix: String,
    pub cors: CorsSpec,
    pub responses: Vec<GatewayResponse>,
}

/// CORS as the stage answers browsers: the preflight's allowed headers and lifetime, and the
/// headers every answer to an allowed origin exposes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsSpec {
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: u32,
}

impl GatewayResponses {
    pub fn load() -> Result<Self, ContractError> {
        Ok(serde_json::from_str(GATEWAY_RESPONSES_JSON)?)
    }

    pub fn get(&self, response_type: &str) -> Option<&GatewayResponse> {
        self.responses
            .iter()
            .find(|r| r.response_type == response_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn operations() -> Vec<Operation> {
        Contract::load()
            .expect("contract")
            .operations()
            .expect("operations")
    }

    /// The reader's error for a one-path contract holding `item`.
    fn error_for(item: Value) -> String {
        let doc =
            json!({"openapi": "3.0.3", "info": {"title": "t"}, "paths": {"/v1/x/{id}": item}});
        match Contract::parse(&doc.to_string()).and_then(|c| c.operations()) {
            Ok(ops) => panic!("accepted: {ops:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn request_schemas_are_self_contained() {
        for op in operations().iter().filter_map(|o| o.body_schema.as_ref()) {
            assert!(!op.to_string().contains("$ref"), "{op}");
        }
    }

    #[test]
    fn paths_match_templates_segment_by_segment() {
        let ops = operations();
        let get = ops
            .iter()
            .find(|o| o.method == "GET" && o.path.ends_with('}'))
            .expect("a GET with a path parameter");
        assert_eq!(
            get.match_path("/v1/items/abc"),
            Some(vec![("id".to_owned(), "abc".to_owned())])
        );
        assert_eq!(get.match_path("/v1/items"), None);
        assert_eq!(get.match_path("/v1/items/abc/def"), None);
        assert_eq!(get.match_path("/v1/items//"), None);
    }

    #[test]
    fn a_path_level_parameter_applies_to_every_method_and_an_operation_may_override_it() {
        let doc = json!({"openapi": "3.0.3", "paths": {"/v1/x/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": true},
                {"name": "trace", "in": "header"}
            ],
            "get": {"operationId": "getX", "x-function": "get-x", "x-dynamodb-actions": ["dynamodb:GetItem"]},
            "delete": {"operationId": "deleteX", "x-function": "delete-x", "x-dynamodb-actions": ["dynamodb:DeleteItem"],
                "parameters": [{"name": "trace", "in": "header", "required": true}]}
        }}});
        let ops = Contract::parse(&doc.to_string())
            .and_then(|c| c.operations())
            .expect("operations");
        let params = |i: usize| -> Vec<(&str, bool)> {
            ops[i]
                .parameters
                .iter()
                .map(|p| (p.name.as_str(), p.required))
                .collect()
        };
        assert_eq!(
            (ops[0].method.as_str(), params(0)),
            ("GET", vec![("id", true), ("trace", false)])
        );
        assert_eq!(
            (ops[1].method.as_str(), params(1)),
            ("DELETE", vec![("id", true), ("trace", true)])
        );
    }

    #[test]
    fn a_missing_dynamodb_action_list_is_an_error_not_an_empty_grant() {
        let e = error_for(json!({"get": {"operationId": "x", "x-function": "x",
            "parameters": [{"name": "id", "in": "path", "required": true}]}}));
        assert_eq!(
            e,
            "GET /v1/x/{id}: x-dynamodb-actions must be a non-empty list of \"dynamodb:Action\", got undefined"
        );
    }

    #[test]
    fn an_undeclared_path_parameter_is_an_error() {
        let e = error_for(json!({"put": {"operationId": "x", "x-function": "x",
            "x-dynamodb-actions": ["dynamodb:PutItem"]}}));
        assert_eq!(e, "PUT /v1/x/{id}: path parameter {id} is not declared");
    }

    #[test]
    fn a_circular_ref_is_an_error_not_a_hang() {
        let doc = json!({"openapi": "3.0.3", "components": {"schemas": {"A": {"properties": {"a": {"$ref": "#/components/schemas/A"}}}}}});
        let e = Contract::parse(&doc.to_string())
            .and_then(|c| c.schema("A"))
            .expect_err("a cycle");
        assert_eq!(
            e.to_string(),
            "circular $ref: #/components/schemas/A -> #/components/schemas/A"
        );
    }

    #[test]
    fn gateway_responses_cover_auth_throttling_and_unknown_routes() {
        let g = GatewayResponses::load().expect("gateway responses");
        for t in [
            "BAD_REQUEST_BODY",
            "UNAUTHORIZED",
            "INVALID_API_KEY",
            "THROTTLED",
            "MISSING_AUTHENTICATION_TOKEN",
        ] {
            assert!(g.get(t).is_some(), "{t}");
        }
        assert_eq!(
            g.get("MISSING_AUTHENTICATION_TOKEN")
                .and_then(|r| r.status_code),
            Some(404)
        );
    }

    #[test]
    fn only_the_429s_tell_the_client_when_to_come_back() {
        let g = GatewayResponses::load().expect("gateway responses");
        for r in &g.responses {
            let expected = match r.response_type.as_str() {
                "THROTTLED" => Some(1),
                "QUOTA_EXCEEDED" => Some(3600),
                _ => None,
            };
            assert_eq!(r.retry_after, expected, "{}", r.response_type);
        }
    }
}
