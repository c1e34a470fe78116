//! `GET /_local/credentials?sub=NAME[&format=env]`: an ID token for any user and the API key.
//! This route exists only in the local server, in place of a Cognito sign-in and an API key
//! looked up in the console; a deployed stack has nothing like it. It sits in front of the
//! gateway's checks: no throttle, token or key is asked of it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response};
use items_core::domain::Owner;
use serde_json::json;

use crate::gateway::{GatewayError, HttpResponse};
use crate::identity::{Identity, TOKEN_LIFETIME_SECONDS};

/// The route.
pub const PATH: &str = "/_local/credentials";
/// Every path under this prefix is local-only; all but [`PATH`] are unknown routes.
pub const PREFIX: &str = "/_local/";

/// Answers a request for a path under [`PREFIX`].
pub fn answer(
    identity: &Identity,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Result<HttpResponse, GatewayError> {
    if method != Method::GET || path != PATH {
        return Err(GatewayError::no_route());
    }
    let query = crate::gateway::parse_query(query);
    let value = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let sub = value("sub")
        .filter(|s| Owner::parse(s).is_some())
        .ok_or_else(|| {
            GatewayError::bad_parameters(&format!(
                "sub must be a user name of 1 to {} letters, digits and - _ . @ :",
                Owner::MAX_LEN
            ))
        })?;
    let token = identity.issue(sub).map_err(|e| {
        tracing::error!(error = %e, "cannot sign a token");
        GatewayError::integration_failure()
    })?;
    let (content_type, text) = match value("format") {
        None | Some("json") => (
            "application/json",
            json!({
                "sub": sub,
                "idToken": token,
                "apiKey": identity.api_key(),
                "expiresIn": TOKEN_LIFETIME_SECONDS,
            })
            .to_string(),
        ),
        Some("env") => (
            "text/plain; charset=utf-8",
            format!("ID_TOKEN={token}\nAPI_KEY={}\n", identity.api_key()),
        ),
        Some(_) => return Err(GatewayError::bad_parameters("format must be json or env")),
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
