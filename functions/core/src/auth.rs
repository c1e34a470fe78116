//! The caller's identity: the `sub` claim the API Gateway Cognito authorizer verified.
//!
//! The owner never comes from the path, the query or the body, so one caller cannot name
//! another's items (OWASP API1, BOLA). A request without a usable `sub` fails closed with 401;
//! behind the deployed API that cannot happen, as the authorizer rejects it first.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::domain::Owner;
use crate::http::{Problem, ProblemKind};

/// The `sub` claim from a REST API (v1) proxy event's `requestContext.authorizer.claims`.
pub fn owner(req: &Request) -> Result<Owner, Problem> {
    let sub = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx
            .authorizer
            .fields
            .get("claims")
            .and_then(|claims| claims.get("sub"))
            .and_then(Value::as_str),
        _ => None,
    };
    sub.and_then(Owner::parse).ok_or_else(|| {
        Problem::new(
            ProblemKind::Unauthorized,
            "the request carries no verified identity",
        )
    })
}

/// API Gateway's request id (`requestContext.requestId`), which the client sees in its
/// gateway errors and the `x-amzn-RequestId` header; empty when absent.
pub fn api_request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}
