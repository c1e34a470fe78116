//! CORS in local mode, as the stage answers browsers: the preflight the stack's OPTIONS methods
//! give (CDK's mock integration), and the CORS headers of the gateway's own answers. The
//! functions' answers get theirs from the same code the Lambda functions run
//! (`items_core::cors`), fed the same origins.

use api_contract::CorsSpec;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use items_core::cors::Cors;

use crate::responses::HttpResponse;

fn value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

/// The preflight of a path whose operations use `methods`: 204, the request's origin when it is
/// allowed and otherwise the first allowed one (so a browser on another origin refuses the real
/// request), the allowed headers and methods, the exposed headers and the lifetime.
pub fn preflight(
    cors: &Cors,
    spec: &CorsSpec,
    methods: &[&str],
    origin: Option<&HeaderValue>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    let allowed = origin.filter(|o| cors.origins().iter().any(|a| a.as_bytes() == o.as_bytes()));
    let first = cors.origins().first().and_then(|o| value(o));
    if let Some(o) = allowed.cloned().or(first) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(v) = value(&spec.allow_headers.join(",")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    let mut methods: Vec<&str> = methods.to_vec();
    methods.push("OPTIONS");
    if let Some(v) = value(&methods.join(",")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if let Some(v) = value(&spec.expose_headers.join(",")) {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(spec.max_age_seconds),
    );
    response
}

/// The CORS headers of a gateway answer (401, 403, 404, 413, 415, 429, …), as the stack's
/// gateway responses set them: a gateway response's headers are static or copied from the
/// request, so with one allowed origin it names that origin, and with several it echoes the
/// request's `Origin`, whatever it is (docs/STACK.md, "CORS").
pub fn gateway_answer(
    cors: &Cors,
    spec: &CorsSpec,
    origin: Option<&HeaderValue>,
    headers: &mut HeaderMap,
) {
    let allow = match cors.origins() {
        [one] => value(one),
        _ => origin.cloned(),
    };
    if let Some(o) = allow {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    if let Some(v) = value(&spec.expose_headers.join(",")) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CorsSpec {
        api_contract::GatewayResponses::load()
            .expect("api/gateway-responses.json")
            .cors
    }

    #[test]
    fn a_preflight_echoes_only_an_allowed_origin() {
        let cors = Cors::parse(Some("http://a.test,http://b.test")).expect("origins");
        let allowed = HeaderValue::from_static("http://b.test");
        let r = preflight(&cors, &spec(), &["GET", "POST"], Some(&allowed));
        assert_eq!(r.status(), 204);
        let h = r.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://b.test");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "GET,POST,OPTIONS");
        assert!(
            h[header::ACCESS_CONTROL_ALLOW_HEADERS]
                .to_str()
                .expect("ascii")
                .contains("Idempotency-Key")
        );
        let other = HeaderValue::from_static("http://evil.test");
        let r = preflight(&cors, &spec(), &["GET"], Some(&other));
        assert_eq!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://a.test"
        );
    }

    #[test]
    fn a_gateway_answer_names_the_one_origin_or_echoes_the_request() {
        let one = Cors::parse(Some("http://a.test")).expect("origins");
        let several = Cors::parse(Some("http://a.test,http://b.test")).expect("origins");
        let origin = HeaderValue::from_static("http://elsewhere.test");
        let mut h = HeaderMap::new();
        gateway_answer(&one, &spec(), Some(&origin), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://a.test");
        let mut h = HeaderMap::new();
        gateway_answer(&several, &spec(), Some(&origin), &mut h);
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://elsewhere.test"
        );
        let mut h = HeaderMap::new();
        gateway_answer(&several, &spec(), None, &mut h);
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(h[header::VARY], "Origin");
    }
}
