//! The optional limit on failed authentications per client.

use crate::helpers::{spawn_app, spawn_dev_app_with};

#[tokio::test]
async fn a_client_over_its_failure_limit_gets_429_with_retry_after() {
    let app = spawn_dev_app_with(&["--auth-failure-limit", "3"]).await;
    for _ in 0..3 {
        app.get("/movies", "not-a-token")
            .await
            .expect_error(401, "invalid_header");
    }

    let refused = app.get("/movies", "not-a-token").await;
    refused.expect_error(429, "too_many_requests");
    let wait: u64 = refused
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Until the minute is over, even a good token from that client waits.
    app.get("/movies", &app.tokens.assistant)
        .await
        .expect_error(429, "too_many_requests");
    // Public routes stay open.
    app.get_anonymously("/health").await.ok();
}

#[tokio::test]
async fn without_the_option_failures_are_never_limited() {
    let app = spawn_app().await;
    for _ in 0..50 {
        app.get("/movies", "not-a-token")
            .await
            .expect_error(401, "invalid_header");
    }
    app.get("/movies", &app.tokens.assistant).await.ok();
}
