//! Canned answers of a token endpoint and of the API's movie routes, for
//! fakes that play both (see `fake.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use casting_client::{Client, ClientCredentials};
use serde_json::json;

use crate::fake::{Fake, Reply, Seen, envelope, response};

/// The path of the fakes' token endpoint.
pub(crate) const TOKEN_PATH: &str = "/oauth/token";

/// The client secret of the tests; it must never show in an error.
pub(crate) const SECRET: &str = "s3cr3t-of-the-tests";

/// A token endpoint's success answer.
pub(crate) fn token_answer(token: &str, expires_in: u64) -> Reply {
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in});
    response("200 OK", "application/json", &[], &body.to_string())
}

/// A token endpoint's error answer (RFC 6749 section 5.2).
pub(crate) fn token_refusal(status: &str, error: &str, description: &str) -> Reply {
    let body = json!({"error": error, "error_description": description});
    response(status, "application/json", &[], &body.to_string())
}

/// The movie every fake API serves.
pub(crate) fn movie_json() -> serde_json::Value {
    json!({"id": 1, "title": "Universe", "release_date": "Wed, 13 Oct 2010 00:00:00 GMT", "actors": []})
}

/// `GET /movies/1` answered.
pub(crate) fn one_movie() -> Reply {
    let body = json!({"success": true, "movie": movie_json()});
    response("200 OK", "application/json", &[], &body.to_string())
}

/// `POST /movies` answered.
pub(crate) fn movie_added() -> Reply {
    let body = json!({"success": true, "message": "movie added successfully", "movie added": movie_json()});
    response("200 OK", "application/json", &[], &body.to_string())
}

/// A 401 `invalid_token`, as the API answers a token it refuses.
pub(crate) fn refused_token() -> Reply {
    envelope(
        "401 Unauthorized",
        "invalid_token",
        "invalid token",
        &["WWW-Authenticate: Bearer error=\"invalid_token\""],
    )
}

/// A fake that is both a token endpoint, answering the n-th token request
/// (from 1) with `token(n)`, and an API, answering with `api(request)`.
pub(crate) async fn issuer_and_api(
    token: impl Fn(usize) -> Reply + Send + Sync + 'static,
    api: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Fake {
    let issued = Arc::new(AtomicUsize::new(0));
    Fake::serve(move |request| {
        if request.path() == TOKEN_PATH {
            token(issued.fetch_add(1, Ordering::SeqCst) + 1)
        } else {
            api(request)
        }
    })
    .await
}

/// Tokens `token-1`, `token-2`, ... each valid for `expires_in` seconds.
pub(crate) fn numbered_tokens(expires_in: u64) -> impl Fn(usize) -> Reply + Send + Sync {
    move |n| token_answer(&format!("token-{n}"), expires_in)
}

/// The credentials of the tests, for the token endpoint of `fake`.
pub(crate) fn credentials(fake: &Fake) -> ClientCredentials {
    ClientCredentials::new(
        format!("{}{TOKEN_PATH}", fake.url),
        "machine-client",
        SECRET,
    )
    .audience("casting-agency")
}

/// A client of `fake`'s API with the credentials of its token endpoint.
pub(crate) fn granted_client(fake: &Fake) -> Client {
    Client::builder(&fake.url)
        .client_credentials(credentials(fake))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client")
}

/// The requests `fake` got at its token endpoint.
pub(crate) fn token_requests(fake: &Fake) -> Vec<Seen> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path() == TOKEN_PATH)
        .collect()
}

/// The requests `fake` got at its API.
pub(crate) fn api_requests(fake: &Fake) -> Vec<Seen> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path() != TOKEN_PATH)
        .collect()
}
