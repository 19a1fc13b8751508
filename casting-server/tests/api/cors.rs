//! CORS: any origin by default, only the configured ones with
//! `--cors-origins` / `CORS_ORIGINS`, and preflights answered without a token.

use reqwest::Method;

use crate::helpers::{Reply, TestApp, send, spawn_app, spawn_dev_app_with};

async fn from_origin(app: &TestApp, origin: &str) -> Reply {
    send(
        app.authed(Method::GET, "/movies", &app.tokens.assistant)
            .header("origin", origin),
    )
    .await
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Reply {
    send(
        app.request(Method::OPTIONS, path)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            ),
    )
    .await
}

fn allow_origin(reply: &Reply) -> Option<&str> {
    reply.header("access-control-allow-origin")
}

#[tokio::test]
async fn any_origin_is_allowed_by_default() {
    let app = spawn_app().await;

    let reply = from_origin(&app, "https://anywhere.example").await;

    reply.ok();
    let allowed = allow_origin(&reply);
    assert!(
        allowed == Some("*") || allowed == Some("https://anywhere.example"),
        "Access-Control-Allow-Origin is {allowed:?}"
    );
}

#[tokio::test]
async fn an_error_answer_carries_the_cors_header_too() {
    let app = spawn_app().await;

    let reply = send(
        app.request(Method::GET, "/movies")
            .header("origin", "https://anywhere.example"),
    )
    .await;

    reply.expect_error(401, "authorization_header_missing");
    assert!(allow_origin(&reply).is_some(), "{reply:?}");
}

#[tokio::test]
async fn a_preflight_is_answered_without_a_token() {
    let app = spawn_app().await;

    let reply = preflight(&app, "/movies", "https://anywhere.example", "POST").await;

    assert!((200..300).contains(&reply.status), "{reply:?}");
    assert!(allow_origin(&reply).is_some(), "{reply:?}");
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(
        methods.contains("POST") || methods == "*",
        "methods {methods:?}"
    );
}

#[tokio::test]
async fn a_preflight_allows_the_authorization_header() {
    // A wildcard does not cover Authorization (Fetch standard), so it must be
    // named or mirrored for a browser to send a token.
    let app = spawn_app().await;

    let reply = preflight(&app, "/movies/1", "https://anywhere.example", "PATCH").await;

    let headers = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{reply:?}");
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("PATCH") || methods == "*", "{reply:?}");
}

#[tokio::test]
async fn with_cors_origins_only_that_origin_is_allowed() {
    let app = spawn_dev_app_with(&["--cors-origins", "https://a.example"]).await;

    let allowed = from_origin(&app, "https://a.example").await;
    let refused = from_origin(&app, "https://b.example").await;

    assert_eq!(
        allow_origin(&allowed),
        Some("https://a.example"),
        "{allowed:?}"
    );
    assert_eq!(allow_origin(&refused), None, "{refused:?}");
}

#[tokio::test]
async fn cors_origins_takes_a_comma_separated_list() {
    let app = spawn_dev_app_with(&["--cors-origins", "https://a.example,https://c.example"]).await;

    let first = from_origin(&app, "https://a.example").await;
    let second = from_origin(&app, "https://c.example").await;
    let other = from_origin(&app, "https://b.example").await;

    assert_eq!(allow_origin(&first), Some("https://a.example"), "{first:?}");
    assert_eq!(
        allow_origin(&second),
        Some("https://c.example"),
        "{second:?}"
    );
    assert_eq!(allow_origin(&other), None, "{other:?}");
}

#[tokio::test]
async fn a_preflight_from_another_origin_is_not_allowed() {
    let app = spawn_dev_app_with(&["--cors-origins", "https://a.example"]).await;

    let reply = preflight(&app, "/movies", "https://b.example", "POST").await;

    assert_eq!(allow_origin(&reply), None, "{reply:?}");
}

#[tokio::test]
async fn cors_origins_can_come_from_the_environment() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = crate::helpers::Launch::dev(&dir.path().join("casting.redb"))
        .env("CORS_ORIGINS", "https://a.example")
        .start()
        .await;
    let client = crate::helpers::client();

    let allowed = send(
        client
            .get(server.url("/health"))
            .header("origin", "https://a.example"),
    )
    .await;
    let refused = send(
        client
            .get(server.url("/health"))
            .header("origin", "https://b.example"),
    )
    .await;

    assert_eq!(
        allow_origin(&allowed),
        Some("https://a.example"),
        "{allowed:?}"
    );
    assert_eq!(allow_origin(&refused), None, "{refused:?}");
}

#[tokio::test]
async fn an_origin_configured_with_a_trailing_slash_still_passes_preflight() {
    let app = spawn_dev_app_with(&["--cors-origins", "https://App.example/"]).await;

    let reply = preflight(&app, "/movies", "https://app.example", "POST").await;

    assert_eq!(
        allow_origin(&reply),
        Some("https://app.example"),
        "{reply:?}"
    );
}

#[tokio::test]
async fn an_origin_with_a_path_or_no_scheme_is_refused_at_startup() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for bad in ["https://app.example/app", "foo:bar", "app.example"] {
        let exit = crate::helpers::Launch::dev(&dir.path().join("casting.redb"))
            .args(["--cors-origins", bad])
            .run_to_exit()
            .await;
        assert!(exit.status.is_some_and(|s| !s.success()), "{bad}: {exit:?}");
        assert!(exit.stderr.contains("CORS_ORIGINS"), "{bad}: {exit:?}");
    }
}
