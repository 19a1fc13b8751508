//! Fetching the issuer's key set: when, how often, and what an outage of
//! it does to requests.

use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use super::{expect_invalid_token, get_movies, good_claims};
use crate::helpers::{Reply, send, spawn_app_with, spawn_app_with_issuer, spawn_app_with_jwks_url};
use crate::mock_issuer::{MockIssuer, Mode, keys};

/// Polls the issuer's fetch counter until it reaches `at_least`.
async fn wait_for_fetches(issuer: &MockIssuer, at_least: usize, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if issuer.fetches() >= at_least {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    issuer.fetches() >= at_least
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_first_use() {
    let issuer = MockIssuer::start();
    let app = spawn_app_with(issuer, &[]).await;
    // A server that fetches at startup should have its answer before the
    // rotation, so that the first use of kid-2 is what asks again.
    wait_for_fetches(app.issuer(), 1, Duration::from_secs(1)).await;
    app.issuer().publish_rotated_key();

    let token = keys().rotated.rs256(&good_claims(&app));
    let reply = get_movies(&app, &token).await;

    reply.ok();
}

#[tokio::test]
async fn every_rsa_key_of_the_key_set_is_accepted() {
    let issuer = MockIssuer::start();
    issuer.publish_rotated_key();
    let app = spawn_app_with(issuer, &[]).await;

    get_movies(&app, &keys().rotated.rs256(&good_claims(&app)))
        .await
        .ok();
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.issuer().token(&["get:movies"]))
        .await
        .ok();
    let before = app.issuer().fetches();

    let mut flood = JoinSet::new();
    for n in 0..200 {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("unknown-{n}")});
        let token = keys()
            .primary
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
        let request = app.authed(Method::GET, "/movies", &token);
        flood.spawn(send(request));
    }
    let mut statuses = Vec::new();
    while let Some(reply) = flood.join_next().await {
        let reply = reply.expect("the request task finished");
        statuses.push((reply.status, reply.json["code"].clone()));
    }

    assert!(
        statuses
            .iter()
            .all(|(s, c)| *s == 401 && *c == json!("invalid_token")),
        "every unknown kid is a 401 invalid_token: {statuses:?}"
    );
    let refetches = app.issuer().fetches() - before;
    assert!(
        refetches <= 1,
        "{refetches} fetches of the key set for 200 unknown kids"
    );
}

#[tokio::test]
async fn a_failing_key_set_is_not_hammered_by_unknown_kids() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Error);
    let before = app.issuer().fetches();

    for n in 0..30 {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("unknown-{n}")});
        let token = keys()
            .primary
            .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
        expect_invalid_token(&get_movies(&app, &token).await, "invalid_token");
    }

    let refetches = app.issuer().fetches() - before;
    assert!(
        refetches <= 1,
        "{refetches} fetches of a failing key set for 30 unknown kids"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_hanging_fetch() {
    let issuer = MockIssuer::start();
    issuer.set_mode(Mode::Hang);
    let app = spawn_app_with(issuer, &[]).await;

    let mut burst = JoinSet::new();
    for _ in 0..20 {
        let request = app.authed(Method::GET, "/movies", &app.tokens.assistant);
        burst.spawn(send(request));
    }
    while let Some(reply) = burst.join_next().await {
        let reply = reply.expect("the request task finished");
        reply.expect_error(503, "auth_unavailable");
    }

    assert_eq!(app.issuer().fetches(), 1, "key set fetches");
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let app = spawn_app_with_issuer().await;

    let mut burst = JoinSet::new();
    for _ in 0..20 {
        let request = app.authed(Method::GET, "/movies", &app.tokens.assistant);
        burst.spawn(send(request));
    }
    while let Some(reply) = burst.join_next().await {
        reply.expect("the request task finished").ok();
    }

    assert_eq!(app.issuer().fetches(), 1, "key set fetches");
}

#[tokio::test]
async fn known_kids_keep_working_when_the_key_set_goes_down() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();

    for mode in [Mode::Error, Mode::Garbage, Mode::Hang] {
        app.issuer().set_mode(mode);
        let reply = get_movies(&app, &app.issuer().token(&["get:movies"])).await;
        assert_eq!(reply.status, 200, "with the key set in {mode:?}: {reply:?}");
    }
}

#[tokio::test]
async fn an_unknown_kid_while_the_key_set_is_down_is_invalid_token_not_503() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Error);

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn an_unknown_kid_while_the_key_set_hangs_is_invalid_token_not_503() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    app.issuer().set_mode(Mode::Hang);

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let token = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let reply = get_movies(&app, &token).await;

    expect_invalid_token(&reply, "invalid_token");
}

#[tokio::test]
async fn a_known_kid_never_waits_on_a_hanging_fetch() {
    let app = spawn_app_with_issuer().await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    let before = app.issuer().fetches();
    app.issuer().set_mode(Mode::Hang);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let unknown = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    let stuck = tokio::spawn(send(app.authed(Method::GET, "/movies", &unknown)));
    // The unknown kid should start a fetch that hangs; whether or not the
    // rate limit lets it, the known kid must not wait.
    wait_for_fetches(app.issuer(), before + 1, Duration::from_secs(3)).await;

    let started = Instant::now();
    get_movies(&app, &app.tokens.assistant).await.ok();
    let waited = started.elapsed();

    assert!(
        waited < Duration::from_secs(2),
        "a known kid waited {waited:?}"
    );
    stuck.abort();
}

#[tokio::test]
async fn the_key_set_is_refreshed_in_the_background_at_its_max_age() {
    let issuer = MockIssuer::start();
    issuer.set_max_age(2);
    let app = spawn_app_with(issuer, &[]).await;
    get_movies(&app, &app.tokens.assistant).await.ok();
    // Spends the refetch that an unknown kid may trigger.
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "kid-unknown"});
    let unknown = keys()
        .primary
        .sign(&signature::RSA_PKCS1_SHA256, &header, &good_claims(&app));
    expect_invalid_token(&get_movies(&app, &unknown).await, "invalid_token");
    app.issuer().publish_rotated_key();
    let fetched = app.issuer().fetches();

    assert!(
        wait_for_fetches(app.issuer(), fetched + 1, Duration::from_secs(20)).await,
        "no background fetch within 20 s of a 2 s max-age"
    );
    let reply = get_movies(&app, &keys().rotated.rs256(&good_claims(&app))).await;

    reply.ok();
}

async fn down_from_the_start(mode: Mode) -> Reply {
    let issuer = MockIssuer::start();
    issuer.set_mode(mode);
    let app = spawn_app_with(issuer, &[]).await;
    get_movies(&app, &app.tokens.assistant).await
}

#[tokio::test]
async fn a_key_set_answering_500_from_the_start_is_a_503() {
    let reply = down_from_the_start(Mode::Error).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn a_key_set_answering_garbage_from_the_start_is_a_503() {
    let reply = down_from_the_start(Mode::Garbage).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn a_key_set_that_hangs_from_the_start_is_a_503_after_a_short_timeout() {
    let started = Instant::now();
    let reply = down_from_the_start(Mode::Hang).await;

    reply.expect_error(503, "auth_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503() {
    let issuer = MockIssuer::start();
    let (_refusing, address) = crate::helpers::refusing_address();
    let closed = format!("http://{address}/.well-known/jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &closed, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
}

#[tokio::test]
async fn the_key_set_fetch_follows_no_redirect() {
    let issuer = MockIssuer::start();
    let redirect = issuer.url("/redirect-jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &redirect, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
    assert_eq!(app.issuer().fetches(), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_huge_key_set_is_refused() {
    let issuer = MockIssuer::start();
    let huge = issuer.url("/huge-jwks.json");
    let app = spawn_app_with_jwks_url(issuer, &huge, &[]).await;

    let reply = get_movies(&app, &app.tokens.assistant).await;

    reply.expect_error(503, "auth_unavailable");
    assert!(
        app.issuer().huge_fetches() >= 1,
        "the huge key set was never asked for"
    );
}

#[tokio::test]
async fn the_key_set_is_fetched_from_the_jwks_url_not_guessed_from_the_issuer() {
    let issuer = MockIssuer::start();
    let other = MockIssuer::start();
    let app = spawn_app_with_jwks_url(issuer, &other.jwks_url(), &[]).await;

    get_movies(&app, &app.tokens.assistant).await.ok();

    assert_eq!(app.issuer().fetches(), 0);
    assert!(other.fetches() >= 1);
}
