//! API Gateway REST (v1) proxy events, built the way API Gateway builds them for a Lambda proxy
//! integration behind a Cognito user pool authorizer. The local server feeds these to the
//! handlers, and the tests use them; a deployed function receives the real thing.
//!
//! Shape: <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One request as API Gateway saw it, after routing and authorization.
#[derive(Debug, Clone, Default)]
pub struct ProxyEvent {
    /// The HTTP method, e.g. `PATCH`.
    pub method: String,
    /// The resource template that matched, e.g. `/v1/items/{id}`.
    pub resource: String,
    /// The path as requested, without the stage, e.g. `/v1/items/0190…`.
    pub path: String,
    pub path_parameters: BTreeMap<String, String>,
    /// Query parameters in order, repeats kept.
    pub query: Vec<(String, String)>,
    /// Headers in order, repeats kept; names as the client sent them.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The verified ID token's claims (strings, as the REST API hands them over), or `None`
    /// for a method without an authorizer.
    pub claims: Option<BTreeMap<String, String>>,
    pub request_id: String,
    pub stage: String,
    /// The path the client used including stage or base path, e.g. `/prod/v1/items`.
    pub request_context_path: String,
    pub source_ip: String,
    pub api_key: Option<String>,
    pub time_epoch_ms: u64,
}

fn single_and_multi(pairs: &[(String, String)], lowercase: bool) -> (Value, Value) {
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        let key = if lowercase {
            k.to_ascii_lowercase()
        } else {
            k.clone()
        };
        // API Gateway's single-value maps keep the last value of a repeated name.
        single.insert(key.clone(), Value::String(v.clone()));
        match multi.get_mut(&key) {
            Some(Value::Array(values)) => values.push(Value::String(v.clone())),
            _ => {
                multi.insert(key, json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

impl ProxyEvent {
    /// The event as JSON, the form a Lambda function receives.
    pub fn to_json(&self) -> Value {
        let (headers, multi_headers) = single_and_multi(&self.headers, false);
        let (query, multi_query) = single_and_multi(&self.query, false);
        let path_parameters = if self.path_parameters.is_empty() {
            Value::Null
        } else {
            json!(self.path_parameters)
        };
        let user_agent = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .map(|(_, v)| v.clone());
        let host = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone());
        let authorizer = match &self.claims {
            Some(claims) => json!({ "claims": claims }),
            None => Value::Null,
        };
        json!({
            "resource": self.resource,
            "path": self.path,
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters,
            "stageVariables": null,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": self.resource,
                "httpMethod": self.method,
                "extendedRequestId": self.request_id,
                "requestTime": "",
                "path": self.request_context_path,
                "accountId": "000000000000",
                "protocol": "HTTP/1.1",
                "stage": self.stage,
                "domainPrefix": "local",
                "requestTimeEpoch": self.time_epoch_ms,
                "requestId": self.request_id,
                "identity": {
                    "sourceIp": self.source_ip,
                    "userAgent": user_agent,
                    "apiKey": self.api_key,
                    "apiKeyId": self.api_key.as_ref().map(|_| "local-api-key"),
                },
                "domainName": host,
                "apiId": "local",
                "authorizer": authorizer,
            },
            "body": self.body,
            "isBase64Encoded": false,
        })
    }

    /// The event as the `lambda_http` request a handler receives, through the same
    /// deserialization the Lambda runtime uses.
    pub fn to_request(&self) -> Result<lambda_http::Request, serde_json::Error> {
        lambda_http::request::from_str(&self.to_json().to_string())
    }
}
