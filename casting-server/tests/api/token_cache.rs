//! The verified-token cache must never let in a token that a full check
//! would refuse: not once it has expired, not once its key left the set.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Reply, TestApp, now, spawn_app_with};
use crate::mock_issuer::{MockIssuer, keys};

async fn get_movies(app: &TestApp, token: &str) -> Reply {
    app.get("/movies", token).await
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    let app = spawn_app_with(MockIssuer::start(), &["--leeway", "0"]).await;
    let mut claims = app.issuer().claims(&["get:movies"]);
    claims["exp"] = json!(now() + 2);
    let token = app.issuer().sign(&claims);

    get_movies(&app, &token).await.ok();
    get_movies(&app, &token).await.ok();
    tokio::time::sleep(Duration::from_secs(3)).await;

    get_movies(&app, &token)
        .await
        .expect_error(401, "token_expired");
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_key_leaves_the_set() {
    let issuer = MockIssuer::start();
    issuer.publish_rotated_key();
    issuer.set_max_age(1);
    let app = spawn_app_with(issuer, &[]).await;
    let token = keys().rotated.rs256(&app.issuer().claims(&["get:movies"]));
    get_movies(&app, &token).await.ok();
    get_movies(&app, &token).await.ok();

    app.issuer().withdraw_rotated_key();
    let seen = app.issuer().fetches();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    // Two more fetches: the one in flight may have read the old set.
    while app.issuer().fetches() < seen + 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    get_movies(&app, &token)
        .await
        .expect_error(401, "invalid_token");
    // The key still in the set keeps working.
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
}
