//! The API contract, read from the files under `api/` (compiled in): the operations of
//! `openapi.json` with their function, DynamoDB actions, parameters and self-contained
//! (`$ref`-free, draft 4) request body schemas, and the gateway responses.
//!
//! The local server routes and validates with this; the CDK stack reads the same files in
//! TypeScript. Nothing here re-types a route or a schema.

use serde::Deserialize;
use serde_json::{Map, Value};

pub const OPENAPI_JSON: &str = include_str!("../openapi.json");
pub const GATEWAY_RESPONSES_JSON: &str = include_str!("../gateway-responses.json");

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("the contract is not valid JSON")]
    Json(#[from] serde_json::Error),
    #[error("the contract is malformed: {0}")]
    Malformed(String),
}

fn malformed(what: impl Into<String>) -> ContractError {
    ContractError::Malformed(what.into())
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Value,
}

/// One method on one path.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Upper case, e.g. `PATCH`.
    pub method: String,
    /// The path template, e.g. `/v1/items/{id}`.
    pub path: String,
    pub operation_id: String,
    /// The Lambda function (and crate) serving it.
    pub function: String,
    /// The only DynamoDB actions that function's role holds.
    pub dynamodb_actions: Vec<String>,
    pub parameters: Vec<Parameter>,
    /// The `application/json` body schema, self-contained, when the operation takes a body.
    pub body_schema: Option<Value>,
    /// The name of that schema under `components.schemas`, e.g. `ItemCreate`.
    pub body_schema_name: Option<String>,
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

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

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

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// A component schema with every `$ref` inlined.
    pub fn schema(&self, name: &str) -> Result<Value, ContractError> {
        let schema = self
            .doc
            .pointer(&format!("/components/schemas/{name}"))
            .ok_or_else(|| malformed(format!("no schema {name}")))?;
        self.inline(schema, 0)
    }

    /// Replaces every `{"$ref": "#/..."}` with what it points at, recursively.
    pub fn inline(&self, value: &Value, depth: usize) -> Result<Value, ContractError> {
        if depth > 32 {
            return Err(malformed("$ref cycle"));
        }
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let target = r
                        .strip_prefix('#')
                        .and_then(|p| self.doc.pointer(p))
                        .ok_or_else(|| malformed(format!("unresolvable $ref {r}")))?;
                    return self.inline(target, depth + 1);
                }
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.inline(v, depth + 1)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .map(|v| self.inline(v, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> Result<Vec<Operation>, ContractError> {
        let paths = self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("no paths"))?;
        let mut out = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                out.push(self.operation(path, method, op)?);
            }
        }
        Ok(out)
    }

    fn operation(&self, path: &str, method: &str, op: &Value) -> Result<Operation, ContractError> {
        let text = |key: &str| {
            op.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(format!("{method} {path} has no {key}")))
        };
        let mut parameters = Vec::new();
        for p in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = self.inline(p, 0)?;
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                Some("header") => Location::Header,
                other => {
                    return Err(malformed(format!(
                        "{method} {path}: parameter in {other:?}"
                    )));
                }
            };
            parameters.push(Parameter {
                name: p
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                location,
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                schema: p.get("schema").cloned().unwrap_or(Value::Null),
            });
        }
        let body_ref = op.pointer("/requestBody/content/application~1json/schema");
        let body_schema_name = body_ref
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_owned);
        let body_schema = body_ref.map(|s| self.inline(s, 0)).transpose()?;
        let dynamodb_actions = op
            .get("x-dynamodb-actions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Operation {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            operation_id: text("operationId")?,
            function: text("x-function")?,
            dynamodb_actions,
            parameters,
            body_schema,
            body_schema_name,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponses {
    pub content_type: String,
    pub type_prefix: String,
    pub responses: Vec<GatewayResponse>,
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

    #[test]
    fn every_operation_names_a_function_and_its_dynamodb_actions() {
        let ops = Contract::load()
            .expect("contract")
            .operations()
            .expect("operations");
        let mut functions: Vec<&str> = ops.iter().map(|o| o.function.as_str()).collect();
        functions.sort_unstable();
        assert_eq!(
            functions,
            [
                "create-item",
                "delete-item",
                "get-item",
                "list-items",
                "update-item"
            ]
        );
        for op in &ops {
            assert!(!op.dynamodb_actions.is_empty(), "{}", op.function);
            assert!(
                op.dynamodb_actions
                    .iter()
                    .all(|a| a.starts_with("dynamodb:") && !a.contains('*')),
                "{}: {:?}",
                op.function,
                op.dynamodb_actions
            );
        }
    }

    #[test]
    fn request_schemas_are_self_contained() {
        let ops = Contract::load()
            .expect("contract")
            .operations()
            .expect("operations");
        for op in ops.iter().filter_map(|o| o.body_schema.as_ref()) {
            assert!(!op.to_string().contains("$ref"), "{op}");
        }
    }

    #[test]
    fn paths_match_templates_segment_by_segment() {
        let ops = Contract::load()
            .expect("contract")
            .operations()
            .expect("operations");
        let get = ops
            .iter()
            .find(|o| o.function == "get-item")
            .expect("get-item");
        assert_eq!(
            get.match_path("/v1/items/abc"),
            Some(vec![("id".to_owned(), "abc".to_owned())])
        );
        assert_eq!(get.match_path("/v1/items"), None);
        assert_eq!(get.match_path("/v1/items/abc/def"), None);
        assert_eq!(get.match_path("/v1/items//"), None);
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
}
