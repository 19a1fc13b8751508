//! The routes beyond the data: `/health`, `/openapi.json` and `/docs`.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_answers_ok_without_a_token() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/health").await;

    assert_eq!(reply.ok(), &json!({"status": "ok"}));
}

#[tokio::test]
async fn openapi_is_a_3_1_document_served_without_a_token() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/openapi.json").await;

    let document = reply.ok();
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3.1"),
        "openapi is {:?}",
        document["openapi"]
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type:?}"
    );
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/openapi.json").await;

    let paths = &reply.ok()["paths"];
    let mut missing = Vec::new();
    for (path, methods) in [
        ("/movies", &["get", "post"][..]),
        ("/movies/{id}", &["get", "patch", "delete"][..]),
        ("/actors", &["get", "post"][..]),
        ("/actors/{id}", &["get", "patch", "delete"][..]),
        ("/movies/search", &["get"][..]),
        ("/actors/search", &["get"][..]),
        ("/health", &["get"][..]),
        ("/openapi.json", &["get"][..]),
        ("/docs", &["get"][..]),
        ("/.well-known/jwks.json", &["get"][..]),
    ] {
        for method in methods {
            if paths[path][method].is_null() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "openapi.json lacks {missing:?}");
}

#[tokio::test]
async fn docs_is_an_html_page_served_without_a_token_that_renders_openapi() {
    let app = spawn_app().await;

    let reply = app.get_anonymously("/docs").await;

    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.text.starts_with("<!doctype html>"), "{reply:?}");
    assert!(reply.text.contains(r#"fetch("openapi.json""#), "{reply:?}");
    let policy = reply.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'none'"), "{policy:?}");
}
