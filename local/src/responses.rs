//! API Gateway's own answers, given before or instead of a function's: the kinds (each with the
//! status and `x-amzn-ErrorType` API Gateway uses) and how `api/gateway-responses.json` shapes
//! them, exactly as the stack's gateway responses do.

use api_contract::GatewayResponses;
use http_body_util::Full;
use hyper::Response;
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use serde_json::{Map, Value, json};

use crate::throttle::Refusal;

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// An answer API Gateway gives itself, before or instead of the function's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    /// The gateway response type, e.g. `UNAUTHORIZED`.
    pub response_type: &'static str,
    /// API Gateway's own status for it, used when `api/gateway-responses.json` sets none.
    pub status: u16,
    /// `$context.error.messageString`.
    pub message: String,
    /// `$context.error.validationErrorString`.
    pub validation: Option<String>,
    /// `x-amzn-ErrorType`.
    pub error_type: &'static str,
}

impl GatewayError {
    fn new(
        response_type: &'static str,
        status: u16,
        error_type: &'static str,
        message: &str,
    ) -> Self {
        Self {
            response_type,
            status,
            message: message.to_owned(),
            validation: None,
            error_type,
        }
    }
    pub fn throttled() -> Self {
        Self::new(
            "THROTTLED",
            429,
            "TooManyRequestsException",
            "Too Many Requests",
        )
    }
    pub fn quota_exceeded() -> Self {
        Self::new(
            "QUOTA_EXCEEDED",
            429,
            "LimitExceededException",
            "Limit Exceeded",
        )
    }
    pub fn no_route() -> Self {
        Self::new(
            "MISSING_AUTHENTICATION_TOKEN",
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new("UNAUTHORIZED", 401, "UnauthorizedException", message)
    }
    pub fn invalid_api_key() -> Self {
        Self::new("INVALID_API_KEY", 403, "ForbiddenException", "Forbidden")
    }
    pub fn bad_parameters(message: &str) -> Self {
        Self::new(
            "BAD_REQUEST_PARAMETERS",
            400,
            "BadRequestException",
            message,
        )
    }
    pub fn bad_body(validation: String) -> Self {
        Self {
            validation: Some(validation),
            ..Self::new(
                "BAD_REQUEST_BODY",
                400,
                "BadRequestException",
                "Invalid request body",
            )
        }
    }
    pub fn too_large() -> Self {
        Self::new(
            "REQUEST_TOO_LARGE",
            413,
            "RequestEntityTooLargeException",
            "Request Too Long",
        )
    }
    /// A local-only page (`/_local/…`) that is not there, with what to do about it.
    pub fn local_page_missing(message: &str) -> Self {
        Self::new("DEFAULT_4XX", 404, "NotFoundException", message)
    }
    pub fn integration_failure() -> Self {
        Self::new(
            "INTEGRATION_FAILURE",
            502,
            "InternalServerErrorException",
            "Internal server error",
        )
    }
    pub fn integration_timeout() -> Self {
        Self::new(
            "INTEGRATION_TIMEOUT",
            504,
            "InternalServerErrorException",
            "Endpoint request timed out",
        )
    }
}

pub(crate) fn refusal(r: Refusal) -> GatewayError {
    match r {
        Refusal::Throttled => GatewayError::throttled(),
        Refusal::QuotaExceeded => GatewayError::quota_exceeded(),
    }
}

/// Fills a gateway response's detail template the way API Gateway does: `messageString` is a
/// quoted JSON string, `validationErrorString` is not. The result is parsed as JSON.
pub fn render_detail(template: &str, message: &str, validation: Option<&str>) -> Value {
    let quoted = Value::String(message.to_owned()).to_string();
    let escaped = Value::String(validation.unwrap_or_default().to_owned()).to_string();
    let escaped = escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default();
    let text = template
        .replace("$context.error.validationErrorString", escaped)
        .replace("$context.error.messageString", &quoted);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// A gateway response, as `api/gateway-responses.json` (`responses`) shapes it.
pub fn render(responses: &GatewayResponses, e: &GatewayError, request_id: &str) -> HttpResponse {
    let fallback = if e.status >= 500 {
        "DEFAULT_5XX"
    } else {
        "DEFAULT_4XX"
    };
    let entry = responses
        .get(e.response_type)
        .or_else(|| responses.get(fallback));
    let status = entry.and_then(|r| r.status_code).unwrap_or(e.status);
    let mut body = Map::new();
    if let Some(r) = entry {
        body.insert(
            "type".into(),
            json!(format!("{}{}", responses.type_prefix, r.problem)),
        );
        body.insert("title".into(), json!(r.title));
    }
    body.insert("status".into(), json!(status));
    if let Some(template) = entry.and_then(|r| r.detail.as_deref()) {
        body.insert(
            "detail".into(),
            render_detail(template, &e.message, e.validation.as_deref()),
        );
    }
    body.insert("requestId".into(), json!(request_id));
    let mut response = Response::new(Full::new(Bytes::from(Value::Object(body).to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&responses.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert("x-amzn-errortype", HeaderValue::from_static(e.error_type));
    if let Some(seconds) = entry.and_then(|r| r.retry_after) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_templates_take_a_quoted_string_and_validation_templates_a_raw_one() {
        assert_eq!(
            render_detail("$context.error.messageString", "Unauthorized", None),
            json!("Unauthorized")
        );
        assert_eq!(
            render_detail(
                "\"$context.error.validationErrorString\"",
                "Invalid request body",
                Some("[/name: \"x\" is bad]")
            ),
            json!("[/name: \"x\" is bad]")
        );
        assert_eq!(
            render_detail("\"no such route\"", "m", None),
            json!("no such route")
        );
    }
}
