//! The public routes: health, readiness, the OpenAPI document and its
//! HTML rendering, the development key set.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;

use crate::http::error::ApiError;
use crate::http::response::{HttpResponse, json_bytes};
use crate::http::router::Endpoint;
use crate::state::App;

/// The OpenAPI 3.1 description of every route, kept as a file beside the
/// code; a test checks it against the route table.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// The API reference page: one self-contained file (its style and script
/// inline) that fetches `/openapi.json` and renders it, so the binary
/// serves it with no other asset and the browser needs no network.
pub const DOCS_PAGE: &str = include_str!("../../assets/docs.html");

/// What the reference page may load: its own inline style and script, and
/// `/openapi.json` from this origin; nothing else, so a page edited to
/// pull in a remote asset breaks visibly instead of leaking readers'
/// addresses to a third party.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The reference page as an HTML response.
fn docs_page() -> HttpResponse {
    let mut response = HttpResponse::new(Full::new(Bytes::from_static(DOCS_PAGE.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_POLICY),
    );
    response
}

/// Answers a public endpoint.
///
/// # Errors
/// 404 for the key set outside development mode (the router already
/// refuses it there).
pub fn public(app: &App, endpoint: Endpoint<'_>) -> Result<HttpResponse, ApiError> {
    match endpoint {
        Endpoint::Health => Ok(json_bytes(
            StatusCode::OK,
            Bytes::from_static(br#"{"status":"ok"}"#),
        )),
        Endpoint::OpenApi => Ok(json_bytes(
            StatusCode::OK,
            Bytes::from_static(OPENAPI.as_bytes()),
        )),
        Endpoint::Ready => Ok(ready(app)),
        Endpoint::Docs => Ok(docs_page()),
        Endpoint::Jwks => app
            .dev()
            .map(|dev| json_bytes(StatusCode::OK, dev.jwks().clone()))
            .ok_or(ApiError::NotFound),
        _ => Err(ApiError::NotFound),
    }
}

/// `/ready`: 200 when the store answers a read and a usable key set is
/// held, else 503 naming what is not.
fn ready(app: &App) -> HttpResponse {
    let store = match app.agency().backend().ready() {
        Ok(()) => "ok",
        Err(error) if error.is_unavailable() => "the database cannot be reached",
        Err(_) => "the store does not answer a read",
    };
    let keys = app.auth().readiness().unwrap_or("ok");
    if store == "ok" && keys == "ok" {
        return json_bytes(StatusCode::OK, Bytes::from_static(br#"{"status":"ready"}"#));
    }
    let body = serde_json::json!({
        "status": "not ready",
        "checks": {"store": store, "keys": keys},
    });
    json_bytes(
        StatusCode::SERVICE_UNAVAILABLE,
        Bytes::from(body.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::http::router::{NoRoute, ROUTES, resolve};

    const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "PUT"];

    fn documented() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut routes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
            {
                routes.insert((path.clone(), method.to_uppercase()));
            }
        }
        routes
    }

    fn routed() -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for (pattern, _) in ROUTES {
            let path = pattern.replace("{id}", "1");
            for method in METHODS {
                if resolve(method, &path, true).is_ok() {
                    routes.insert((pattern.to_owned(), method.to_owned()));
                }
            }
        }
        routes
    }

    #[test]
    fn the_docs_page_is_html_that_may_load_nothing_from_another_origin() {
        let response = docs_page();

        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        for remote in ["http://", "https://", "src=\"//", "href=\"//"] {
            assert!(!DOCS_PAGE.contains(remote), "the page names {remote}");
        }
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        assert_eq!(documented(), routed());
    }

    #[test]
    fn the_route_table_lists_the_methods_the_router_allows() {
        for (pattern, methods) in ROUTES {
            let path = pattern.replace("{id}", "1");
            for method in METHODS {
                let allowed = methods.contains(&method);
                let result = resolve(method, &path, true);
                assert_eq!(result.is_ok(), allowed, "{method} {path}");
                if !allowed {
                    let Err(NoRoute::MethodNotAllowed(allow)) = result else {
                        panic!("{method} {path}: {result:?}")
                    };
                    // Every GET also answers HEAD, listed right after it.
                    let mut expected = methods.to_vec();
                    if methods.contains(&"GET") {
                        expected.insert(1, "HEAD");
                    }
                    assert_eq!(allow, expected.join(", "), "{method} {path}");
                }
            }
        }
    }
}
