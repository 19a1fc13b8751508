//! The HTTP layer under the routes: `HEAD`, the `Host` rule of HTTP/1.1,
//! and header room for a 16 KiB token over HTTP/2. When an idle connection
//! is closed is a matter of time: the listener's unit tests check it on a
//! paused clock.

use reqwest::Method;
use serde_json::json;
use tokio::net::TcpStream;

use crate::helpers::{TestApp, id_of, read_head, send, spawn_app};

/// Every route that answers `GET`, with ids that exist.
async fn read_routes(app: &TestApp) -> Vec<String> {
    let movie = id_of(&app.create_movie("Universe", "2010-10-13").await);
    let actor = id_of(&app.create_actor("Robert", 44, "Male", Some(movie)).await);
    vec![
        "/movies".to_owned(),
        "/movies?limit=1".to_owned(),
        format!("/movies/{movie}"),
        "/movies/search?q=uni".to_owned(),
        "/actors".to_owned(),
        format!("/actors/{actor}"),
        "/actors/search?q=rob".to_owned(),
        "/health".to_owned(),
        "/openapi.json".to_owned(),
        "/.well-known/jwks.json".to_owned(),
    ]
}

#[tokio::test]
async fn every_get_route_answers_head_with_the_same_status_and_headers_and_no_body() {
    let app = spawn_app().await;
    for path in read_routes(&app).await {
        let token = &app.tokens.producer;
        let get = send(app.authed(Method::GET, &path, token)).await;
        let head = send(app.authed(Method::HEAD, &path, token)).await;

        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(get.status, 200, "GET {path}: {get:?}");
        assert!(head.text.is_empty(), "HEAD {path} sent a body");
        for name in ["content-type", "content-length"] {
            assert_eq!(head.header(name), get.header(name), "{name} of HEAD {path}");
        }
    }
}

#[tokio::test]
async fn head_is_refused_as_get_is() {
    let app = spawn_app().await;

    let anonymous = send(app.request(Method::HEAD, "/movies")).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.www_authenticate(), "Bearer");
    assert!(anonymous.text.is_empty());

    let missing = send(app.authed(Method::HEAD, "/movies/999", &app.tokens.producer)).await;
    assert_eq!(missing.status, 404);
    let nowhere = send(app.request(Method::HEAD, "/nowhere")).await;
    assert_eq!(nowhere.status, 404);
}

#[tokio::test]
async fn a_405_lists_head_beside_get() {
    let app = spawn_app().await;

    let reply = send(app.authed(Method::PUT, "/movies", &app.tokens.producer)).await;

    reply.expect_error(405, "method_not_allowed");
    let allow = reply.header("allow").unwrap_or_default();
    assert!(allow.contains("HEAD") && allow.contains("GET"), "{allow}");
}

/// The status line of the answer to `request`, sent raw on a connection of
/// its own.
async fn status_of_raw(app: &TestApp, request: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut stream = TcpStream::connect(app.server.addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    read_head(&mut stream)
        .await
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_http_1_1_request_without_host_or_with_two_is_a_400() {
    let app = spawn_app().await;
    let addr = app.server.addr;

    for request in [
        "GET /health HTTP/1.1\r\n\r\n".to_owned(),
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nHost: other.example\r\n\r\n"),
        format!(
            "GET /movies HTTP/1.1\r\nAuthorization: Bearer {}\r\n\r\n",
            app.tokens.producer
        ),
    ] {
        let status = status_of_raw(&app, &request).await;
        assert!(status.starts_with("HTTP/1.1 400"), "{request:?}: {status}");
    }
    let status = status_of_raw(
        &app,
        &format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
}

#[tokio::test]
async fn a_400_for_a_missing_host_is_the_json_envelope() {
    let app = spawn_app().await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(app.server.addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");

    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""code":"bad_request""#), "{answer}");
}

#[tokio::test]
async fn a_16_kib_token_works_over_http_2() {
    let app = spawn_app().await;
    // A development token padded to the contract's 16 KiB with a claim the
    // server ignores would need the key; an HS256 token of 16 KiB is
    // refused for its algorithm, which proves the header got through.
    let padding = "a".repeat(16 * 1024 - 40);
    let token = format!("eyJhbGciOiJIUzI1NiJ9.{padding}.c2ln");
    assert!(token.len() <= 16 * 1024);
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");

    let response = h2
        .get(app.url("/movies"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.expect("the JSON envelope");
    assert_eq!(body["code"], "invalid_header");

    let good = send(h2.get(app.url("/movies")).bearer_auth(&app.tokens.producer)).await;
    good.ok();
}

#[tokio::test]
async fn an_offset_beyond_23_59_is_a_422_naming_release() {
    let app = spawn_app().await;
    for release in [
        "2010-10-13T00:00:00+24:00",
        "2010-10-13T00:00:00+25:00",
        "2010-10-13T00:00:00-24:00",
    ] {
        let reply = app
            .post(
                "/movies",
                &app.tokens.producer,
                &json!({"title": "Universe", "release": release}),
            )
            .await;
        reply.expect_unprocessable("release");
    }
    app.post(
        "/movies",
        &app.tokens.producer,
        &json!({"title": "Universe", "release": "2010-10-13T00:00:00+23:59"}),
    )
    .await
    .ok();
}
