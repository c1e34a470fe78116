//! `GET /_local/credentials?sub=NAME[&client=APP][&format=env]`: an ID token for any user and the
//! API keys of the stage's client apps. `apiKey` (`API_KEY` in the env format) is the key of the
//! named client app, by default the first one, as `make token STAGE=… [CLIENT=…]` gives it for a
//! deployed stage; `apiKeys` holds every client's. This route exists only in the local server, in
//! place of a Cognito sign-in and an API key looked up in the console; a deployed stack has
//! nothing like it. It sits in front of the gateway's checks: no throttle, token or key is asked
//! of it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response};
use items_core::domain::Owner;
use serde_json::{Map, Value, json};

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
    let clients = identity.api_keys();
    let (client, api_key) = match value("client") {
        None => clients.first().map(|(c, k)| (c.as_str(), k.as_str())),
        Some(name) => identity.api_key(name).map(|k| (name, k)),
    }
    .ok_or_else(|| {
        let names: Vec<&str> = clients.iter().map(|(c, _)| c.as_str()).collect();
        GatewayError::bad_parameters(&format!(
            "client must be one of the stage's client apps: {}",
            names.join(", ")
        ))
    })?;
    let all_keys: Map<String, Value> = clients
        .iter()
        .map(|(c, k)| (c.clone(), Value::from(k.as_str())))
        .collect();
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
                "client": client,
                "apiKey": api_key,
                "apiKeys": all_keys,
                "expiresIn": TOKEN_LIFETIME_SECONDS,
            })
            .to_string(),
        ),
        Some("env") => (
            "text/plain; charset=utf-8",
            format!("ID_TOKEN={token}\nAPI_KEY={api_key}\n"),
        ),
        Some(_) => return Err(GatewayError::bad_parameters("format must be json or env")),
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
