//! What API Gateway does in front of the functions, in its order: stage throttling, routing,
//! the Cognito authorizer, the API key and its client app's usage plan, the request validators;
//! then the Lambda proxy integration, here an in-process call of the same handler code with the
//! proxy event API Gateway would send. Every answer carries `x-amzn-RequestId`, and every request
//! gets one JSON log line (never a body, a token or a key).

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_contract::{Contract, GatewayResponses, Location, Operation};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response};
use items_core::cors::Cors;
use items_core::events::ProxyEvent;
use items_core::{App, DynamoStore, Route};
use serde_json::Value;

use crate::cors;
use crate::credentials;
use crate::identity::{self, Identity};
use crate::reference;
use crate::responses::{self, refusal};
use crate::throttle::Throttles;

/// API Gateway's payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's integration timeout.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// `requestContext.stage` of local events.
pub const STAGE: &str = "local";

pub(crate) use crate::responses::{GatewayError, HttpResponse};

#[derive(Debug, thiserror::Error)]
pub enum GatewayInitError {
    #[error("the API contract cannot be read: {0}")]
    Contract(#[from] api_contract::ContractError),
    #[error("{function} ({method} {path}) has no handler in items-core")]
    UnknownFunction {
        function: String,
        method: String,
        path: String,
    },
    #[error("the body model of {method} {path} is not a valid draft 4 schema: {detail}")]
    Schema {
        method: String,
        path: String,
        detail: String,
    },
}

struct CompiledOperation {
    op: Operation,
    route: Route,
    validator: Option<jsonschema::Validator>,
}

/// What one request looked like, for its log line.
#[derive(Debug, Default)]
struct Trace {
    resource: Option<String>,
    function: Option<&'static str>,
    response_type: Option<&'static str>,
}

/// The gateway in front of the handlers.
pub struct Gateway {
    operations: Vec<CompiledOperation>,
    responses: GatewayResponses,
    identity: Identity,
    throttles: Throttles,
    app: App<DynamoStore>,
    /// The API reference page `/_local/docs` serves.
    docs_page: Option<PathBuf>,
    /// The browser origins the stage allows (the preflight's and the gateway answers' CORS).
    cors: Cors,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("operations", &self.operations.len())
            .field("identity", &self.identity)
            .field("throttles", &self.throttles)
            .finish_non_exhaustive()
    }
}

fn header_str<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The name/value pairs of a query string, percent-decoded (API Gateway hands the function
/// decoded values), repeats kept in order. A `+` stays a `+`: it is not read as a space, as it
/// is in an HTML form's encoding.
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    let raw = raw.unwrap_or_default().replace('+', "%2B");
    form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn media_type(content_type: Option<&str>) -> Option<String> {
    content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

impl Gateway {
    pub fn new(
        contract: &Contract,
        responses: GatewayResponses,
        identity: Identity,
        throttles: Throttles,
        app: App<DynamoStore>,
    ) -> Result<Self, GatewayInitError> {
        let mut operations = Vec::new();
        for op in contract.operations()? {
            let route = Route::from_function_name(&op.function).ok_or_else(|| {
                GatewayInitError::UnknownFunction {
                    function: op.function.clone(),
                    method: op.method.clone(),
                    path: op.path.clone(),
                }
            })?;
            let validator = op
                .body_schema
                .as_ref()
                .map(jsonschema::draft4::new)
                .transpose()
                .map_err(|e| GatewayInitError::Schema {
                    method: op.method.clone(),
                    path: op.path.clone(),
                    detail: e.to_string(),
                })?;
            operations.push(CompiledOperation {
                op,
                route,
                validator,
            });
        }
        Ok(Self {
            operations,
            responses,
            identity,
            throttles,
            app,
            docs_page: None,
            cors: Cors::default(),
        })
    }

    /// Answers browsers on `cors`'s origins as the stage does: preflights and the CORS headers
    /// of the gateway's own answers (the functions' answers get theirs from the app).
    #[must_use]
    pub fn with_cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }

    /// Serves `page` (what `make docs` builds) at `/_local/docs`.
    #[must_use]
    pub fn with_docs_page(mut self, page: PathBuf) -> Self {
        self.docs_page = Some(page);
        self
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Answers one request; never fails.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<HttpResponse, Infallible> {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let method = req.method().to_string();
        let path = req.uri().path().to_owned();
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut trace = Trace::default();
        let mut response = match Arc::clone(&self)
            .process(req, &request_id, peer, &mut trace)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                trace.response_type = Some(e.response_type);
                let mut response = self.render(&e, &request_id);
                cors::gateway_answer(
                    &self.cors,
                    &self.responses.cors,
                    origin.as_ref(),
                    response.headers_mut(),
                );
                response
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        tracing::info!(
            requestId = %request_id,
            method = %method,
            path = %path,
            resource = trace.resource.as_deref().unwrap_or(""),
            function = trace.function.unwrap_or(""),
            status = response.status().as_u16(),
            responseType = trace.response_type.unwrap_or(""),
            sourceIp = %peer.ip(),
            latencyMs = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(response)
    }

    /// A gateway response, as `api/gateway-responses.json` shapes it.
    pub fn render(&self, e: &GatewayError, request_id: &str) -> HttpResponse {
        responses::render(&self.responses, e, request_id)
    }

    async fn process(
        self: Arc<Self>,
        req: Request<Incoming>,
        request_id: &str,
        peer: SocketAddr,
        trace: &mut Trace,
    ) -> Result<HttpResponse, GatewayError> {
        let now = Instant::now();
        let path = req.uri().path().to_owned();
        if path == reference::PATH {
            trace.resource = Some(reference::PATH.to_owned());
            return match &self.docs_page {
                Some(page) => reference::answer(req.method(), page),
                None => Err(GatewayError::no_route()),
            };
        }
        if path.starts_with(credentials::PREFIX) {
            trace.resource = Some(credentials::PATH.to_owned());
            return credentials::answer(&self.identity, req.method(), &path, req.uri().query());
        }

        // 1. Stage throttling.
        self.throttles.stage(now).map_err(refusal)?;

        // The CORS preflight: the stack's OPTIONS method on every path with operations, a mock
        // integration without authorizer or API key.
        if req.method() == Method::OPTIONS {
            let methods: Vec<&str> = self
                .operations
                .iter()
                .filter(|c| c.op.match_path(&path).is_some())
                .map(|c| c.op.method.as_str())
                .collect();
            if methods.is_empty() {
                return Err(GatewayError::no_route());
            }
            trace.resource = Some(path.clone());
            return Ok(cors::preflight(
                &self.cors,
                &self.responses.cors,
                &methods,
                req.headers().get(header::ORIGIN),
            ));
        }

        // 2. Routing: an unknown path or method is MISSING_AUTHENTICATION_TOKEN.
        let (compiled, path_parameters) = self
            .operations
            .iter()
            .filter(|c| c.op.method == req.method().as_str())
            .find_map(|c| c.op.match_path(&path).map(|p| (c, p)))
            .ok_or_else(GatewayError::no_route)?;
        let op = &compiled.op;
        trace.resource = Some(op.path.clone());
        trace.function = Some(compiled.route.function_name());
        self.throttles
            .method(&format!("{} {}", op.method, op.path), now)
            .map_err(refusal)?;

        // 3. The Cognito authorizer: the Authorization header holds the ID token, raw or as
        // `Bearer <token>`.
        let claims = self
            .identity
            .verify(header_str(&req, "authorization"))
            .map_err(|r| GatewayError::unauthorized(r.message()))?;

        // 4. The API key, which names a client app, and that client's usage plan.
        let api_key = header_str(&req, "x-api-key").unwrap_or_default().to_owned();
        let client = self
            .identity
            .client_of(&api_key)
            .ok_or_else(GatewayError::invalid_api_key)?;
        let epoch = i64::try_from(identity::now_seconds()).unwrap_or_default();
        self.throttles
            .usage_plan(client, now, epoch)
            .map_err(refusal)?;

        // 5. The request validator: required parameters, then the body model.
        let query = parse_query(req.uri().query());
        let missing: Vec<&str> = op
            .parameters
            .iter()
            .filter(|p| p.required)
            .filter(|p| match p.location {
                Location::Path => !path_parameters.iter().any(|(k, _)| *k == p.name),
                Location::Query => !query.iter().any(|(k, _)| *k == p.name),
                Location::Header => !req.headers().contains_key(p.name.as_str()),
            })
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(GatewayError::bad_parameters(&format!(
                "Missing required request parameters: [{}]",
                missing.join(", ")
            )));
        }
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64);
        if too_large {
            return Err(GatewayError::too_large());
        }
        let (parts, body) = req.into_parts();
        let body = Limited::new(body, MAX_PAYLOAD_BYTES)
            .collect()
            .await
            .map_err(|_| GatewayError::too_large())?
            .to_bytes();
        if let Some(validator) = &compiled.validator {
            // A model applies to application/json, which API Gateway assumes when the
            // request names no content type; another type passes through unvalidated.
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let media = media_type(content_type);
            if media.is_none() || media.as_deref() == Some("application/json") {
                validate_body(validator, &body)?;
            }
        }

        // 6. The Lambda proxy integration.
        let event = ProxyEvent {
            method: op.method.clone(),
            resource: op.path.clone(),
            path: path.clone(),
            path_parameters: path_parameters.into_iter().collect(),
            query,
            headers: proxy_headers(&parts.headers, peer),
            body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
            claims: Some(claims),
            request_id: request_id.to_owned(),
            stage: STAGE.to_owned(),
            request_context_path: path,
            source_ip: peer.ip().to_string(),
            api_key: Some(api_key),
            time_epoch_ms: u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default(),
            )
            .unwrap_or_default(),
        };
        let request = event.to_request().map_err(|e| {
            tracing::error!(requestId = %request_id, error = %e, "the proxy event does not deserialize");
            GatewayError::integration_failure()
        })?;
        let route = compiled.route;
        let gateway = Arc::clone(&self);
        let call = tokio::spawn(async move { gateway.app.handle(route, request).await });
        let response = match tokio::time::timeout(INTEGRATION_TIMEOUT, call).await {
            Err(_) => return Err(GatewayError::integration_timeout()),
            Ok(Err(join)) => {
                tracing::error!(requestId = %request_id, error = %join, "the handler panicked");
                return Err(GatewayError::integration_failure());
            }
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(never))) => match never {},
        };
        Ok(integration_response(response))
    }
}

/// Checks a body against an operation's model. The detail lists each failure with where it is,
/// never echoing the value itself.
fn validate_body(validator: &jsonschema::Validator, body: &[u8]) -> Result<(), GatewayError> {
    let instance: Value = serde_json::from_slice(body)
        .map_err(|_| GatewayError::bad_body("[the request body is not valid JSON]".to_owned()))?;
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| {
            let at = e.instance_path().as_str().to_owned();
            let what = e.masked_with("the value").to_string();
            if at.is_empty() {
                what
            } else {
                format!("{at}: {what}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GatewayError::bad_body(format!("[{}]", errors.join(", "))))
    }
}

/// The headers a function sees, as API Gateway passes them on: the client's, except that the
/// gateway owns `X-Forwarded-*` (it appends the client to `X-Forwarded-For` and sets the proto and
/// port of its own listener), and `Host` is the API's host. A client-sent `X-Forwarded-Proto` or
/// a `Host` that is no authority never reaches the function: `lambda_http` builds the request
/// URI from them and panics on one that makes no URL.
fn proxy_headers(headers: &hyper::HeaderMap, peer: SocketAddr) -> Vec<(String, String)> {
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.parse::<hyper::http::uri::Authority>().is_ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let port = host
        .rsplit_once(':')
        .map(|(_, p)| p.to_owned())
        .filter(|p| p.parse::<u16>().is_ok())
        .unwrap_or_else(|| "80".to_owned());
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "host" | "x-forwarded-for" | "x-forwarded-proto" | "x-forwarded-port"
            )
        })
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let forwarded = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(chain) => format!("{chain}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    out.push(("Host".to_owned(), host));
    out.push(("X-Forwarded-For".to_owned(), forwarded));
    out.push(("X-Forwarded-Port".to_owned(), port));
    out.push(("X-Forwarded-Proto".to_owned(), "http".to_owned()));
    out
}

/// The function's response as API Gateway returns it to the client.
fn integration_response(response: lambda_http::Response<lambda_http::Body>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let bytes: &[u8] = body.as_ref();
    let mut out = Response::new(Full::new(Bytes::copy_from_slice(bytes)));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    if !bytes.is_empty() && !out.headers().contains_key(header::CONTENT_TYPE) {
        out.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded_and_keep_repeats() {
        assert_eq!(
            parse_query(Some("a=1&a=2&b=x%20y&c")),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned()),
                ("b".to_owned(), "x y".to_owned()),
                ("c".to_owned(), String::new()),
            ]
        );
        assert_eq!(
            parse_query(Some("k=%zz%4&&plus=a+b%2Bc")),
            vec![
                ("k".to_owned(), "%zz%4".to_owned()),
                ("plus".to_owned(), "a+b+c".to_owned()),
            ]
        );
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(
            media_type(Some("Application/JSON; charset=utf-8")).as_deref(),
            Some("application/json")
        );
        assert_eq!(media_type(None), None);
    }
}
