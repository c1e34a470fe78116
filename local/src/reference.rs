//! `GET /_local/docs`: the API reference page `make docs` builds (web/api-reference.ts writes
//! `target/docs/index.html`: Swagger UI and `api/openapi.json` in one self-contained file). In
//! local mode the page calls this server and signs in with `/_local/credentials`. Read from disk
//! on every request, so a `make docs` shows without a restart. Like the credentials route, it sits
//! in front of the gateway's checks, and a deployed stack has nothing like it.

use std::path::Path;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response};

use crate::gateway::{GatewayError, HttpResponse};

/// The route.
pub const PATH: &str = "/_local/docs";

/// What the page may do: its own inline script and styles, images from data: URLs, and calls to
/// this server only (the API and `/_local/credentials`). Nothing loads from another host.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Answers `GET /_local/docs` with the page at `page`, or a 404 problem saying how to build it.
pub fn answer(method: &Method, page: &Path) -> Result<HttpResponse, GatewayError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(GatewayError::no_route());
    }
    let html = std::fs::read(page).map_err(|e| {
        GatewayError::local_page_missing(&format!(
            "The API reference page {} cannot be read ({e}): run `make docs` to build it.",
            page.display()
        ))
    })?;
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(html)
    };
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn serves_the_page_as_html_under_a_policy_that_allows_no_other_host() {
        let page = std::env::temp_dir().join(format!("reference-{}.html", std::process::id()));
        std::fs::write(&page, "<!doctype html><p>reference</p>").expect("write");
        let response = answer(&Method::GET, &page).expect("page");
        std::fs::remove_file(&page).expect("remove");
        assert_eq!(response.status(), 200);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
        assert!(csp.contains("connect-src 'self'") && csp.starts_with("default-src 'none'"));
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&body[..], b"<!doctype html><p>reference</p>");
    }

    #[test]
    fn a_missing_page_is_a_404_that_says_how_to_build_it() {
        let e = answer(&Method::GET, Path::new("/nonexistent/index.html")).expect_err("missing");
        assert_eq!(e.status, 404);
        assert!(e.message.contains("make docs"), "{}", e.message);
        let e = answer(&Method::POST, Path::new("/nonexistent/index.html")).expect_err("method");
        assert_eq!(e.response_type, "MISSING_AUTHENTICATION_TOKEN");
    }
}
