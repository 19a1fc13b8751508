//! Token verification against a mock Auth0, one concern a file: the
//! header, signature and algorithms ([`tokens`]), the claims ([`claims`]),
//! and fetching the key set ([`key_set`]); with the `WWW-Authenticate`
//! answers each gives.

use serde_json::Value;

use crate::helpers::{Reply, TestApp, send};
use reqwest::Method;

mod claims;
mod key_set;
mod tokens;

/// GET /movies with a raw `Authorization` header value.
pub(super) async fn with_authorization(app: &TestApp, value: &str) -> Reply {
    send(
        app.request(Method::GET, "/movies")
            .header("authorization", value),
    )
    .await
}

pub(super) async fn get_movies(app: &TestApp, token: &str) -> Reply {
    app.get("/movies", token).await
}

pub(super) fn good_claims(app: &TestApp) -> Value {
    app.issuer().claims(&["get:movies"])
}

#[track_caller]
pub(super) fn expect_invalid_token(reply: &Reply, code: &str) {
    reply.expect_error(401, code);
    let challenge = reply.www_authenticate();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "WWW-Authenticate {challenge:?} is not Bearer error=\"invalid_token\""
    );
}
