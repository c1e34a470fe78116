//! CORS on every answer a function gives: an allowed `Origin` is echoed with the headers a
//! browser app needs to read; every answer varies by `Origin`; any other origin gets no
//! `Access-Control-*` header. No `Access-Control-Allow-Credentials`: the API takes its
//! credentials in the `Authorization` header, never cookies.

use lambda_http::http::{HeaderMap, HeaderValue, header};

/// The allowed origins, comma-separated; the stack sets it from the stage's `corsAllowOrigins`.
/// Unset: no origin is allowed.
pub const ALLOW_ORIGINS_VAR: &str = "CORS_ALLOW_ORIGINS";

/// The response headers a browser app may read beyond the CORS-safelisted ones: those the
/// contract's responses declare (`api/tests/agreement.rs` checks they agree).
pub const EXPOSE_HEADERS: [&str; 4] = ["ETag", "Location", "Retry-After", "Idempotent-Replayed"];
/// [`EXPOSE_HEADERS`] as the header's value.
const EXPOSE_HEADERS_VALUE: &str = "ETag,Location,Retry-After,Idempotent-Replayed";

/// One origin as browsers send it: `http(s)://host[:port]`, no path, wildcard, space or comma
/// (the rule `cdk/lib/config.ts` applies to `corsAllowOrigins`).
fn is_origin(o: &str) -> bool {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| !matches!(b, b'/' | b'*' | b',') && !b.is_ascii_whitespace())
    })
}

#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ALLOW_ORIGINS_VAR} must be a comma-separated list of origins, each scheme://host[:port] \
     with no wildcard or path, not {0:?}"
)]
pub struct BadOrigins(pub String);

/// A failed cold start prints the `Debug`: make it the sentence.
impl std::fmt::Debug for BadOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The origins whose requests get CORS headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Parses the variable's value; `None` (unset or blank) allows no origin.
    pub fn parse(value: Option<&str>) -> Result<Self, BadOrigins> {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let origins: Vec<String> = value.split(',').map(|o| o.trim().to_owned()).collect();
        if origins.iter().all(|o| is_origin(o)) {
            Ok(Self { origins })
        } else {
            Err(BadOrigins(value.to_owned()))
        }
    }

    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// Adds `Vary: Origin` to `response_headers`, and the CORS headers when the request's
    /// `Origin` is exactly one of the allowed origins.
    pub fn apply(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = request_headers.get(header::ORIGIN) else {
            return;
        };
        if self
            .origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
        {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response_headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS_VALUE),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(cors: &Cors, origin: Option<&str>) -> HeaderMap {
        let mut req = HeaderMap::new();
        if let Some(o) = origin {
            req.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        let mut res = HeaderMap::new();
        cors.apply(&req, &mut res);
        res
    }

    #[test]
    fn the_exposed_headers_value_is_the_list() {
        assert_eq!(EXPOSE_HEADERS_VALUE, EXPOSE_HEADERS.join(","));
    }

    #[test]
    fn an_allowed_origin_is_echoed_with_the_exposed_headers() {
        let cors = Cors::parse(Some("https://a.example.com, http://localhost:3000")).unwrap();
        let res = answer(&cors, Some("http://localhost:3000"));
        assert_eq!(
            res[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:3000"
        );
        assert_eq!(
            res[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            EXPOSE_HEADERS.join(",")
        );
        assert_eq!(res[header::VARY], "Origin");
    }

    #[test]
    fn another_origin_or_none_gets_only_vary() {
        let cors = Cors::parse(Some("https://a.example.com")).unwrap();
        for origin in [
            None,
            Some("https://evil.example.com"),
            Some("https://A.example.com"),
            Some("https://a.example.com:443"),
        ] {
            let res = answer(&cors, origin);
            assert_eq!(res.len(), 1, "{origin:?}: {res:?}");
            assert_eq!(res[header::VARY], "Origin");
        }
    }

    #[test]
    fn bad_settings_are_refused_and_unset_allows_none() {
        assert_eq!(Cors::parse(None).unwrap().origins().len(), 0);
        assert_eq!(Cors::parse(Some(" ")).unwrap().origins().len(), 0);
        for bad in [
            "*",
            "https://a.com/path",
            "a.com",
            "https://a.com,",
            "https://*.a.com",
        ] {
            assert_eq!(
                Cors::parse(Some(bad)),
                Err(BadOrigins(bad.to_owned())),
                "{bad}"
            );
        }
    }
}
