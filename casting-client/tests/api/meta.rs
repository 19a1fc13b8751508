//! The public routes, which need no token.

use crate::server::TestServer;

#[tokio::test]
async fn health_answers_ok_without_a_token() {
    let server = TestServer::start();

    let health = server.anonymous().health().await.unwrap();

    assert!(health.is_ok());
    assert_eq!(health.status, "ok");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let server = TestServer::start();

    let document = server.anonymous().openapi().await.unwrap();

    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/movies",
        "/movies/{id}",
        "/movies/search",
        "/actors",
        "/actors/{id}",
        "/actors/search",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
}
