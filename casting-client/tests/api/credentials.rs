//! Tokens of the client-credentials grant: fetched once, kept until
//! shortly before they expire, fetched by one request however many calls
//! wait, and replaced once when the API refuses one. Against a fake that
//! is both the token endpoint and the API.

use std::time::Duration;

use casting_client::{Client, Error, UnauthorizedCode};
use futures_util::future::join_all;

use crate::fake::{Fake, Reply};
use crate::fixtures::movie;
use crate::mock::{
    SECRET, api_requests, credentials, granted_client, issuer_and_api, movie_added,
    numbered_tokens, one_movie, refused_token, token_answer, token_refusal, token_requests,
};

/// The bearer token each request to the API carried.
fn bearers(fake: &Fake) -> Vec<String> {
    api_requests(fake)
        .iter()
        .map(|r| r.header("authorization").unwrap_or("none").to_owned())
        .collect()
}

#[tokio::test]
async fn the_first_call_fetches_a_token_and_later_calls_reuse_it() {
    let fake = issuer_and_api(numbered_tokens(3600), |_| one_movie()).await;
    let client = granted_client(&fake);

    for _ in 0..3 {
        client.get_movie(1).await.unwrap();
    }

    assert_eq!(token_requests(&fake).len(), 1);
    assert_eq!(bearers(&fake), ["Bearer token-1"; 3]);
}

#[tokio::test]
async fn the_grant_is_a_form_post_of_the_credentials_and_the_audience() {
    let fake = issuer_and_api(numbered_tokens(3600), |_| one_movie()).await;

    granted_client(&fake).get_movie(1).await.unwrap();

    let requests = token_requests(&fake);
    let grant = &requests[0];
    assert_eq!(grant.method(), "POST");
    assert_eq!(
        grant.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(&grant.body).into_owned().collect();
    pairs.sort();
    let expected = [
        ("audience", "casting-agency"),
        ("client_id", "machine-client"),
        ("client_secret", SECRET),
        ("grant_type", "client_credentials"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    assert_eq!(pairs, expected);
}

#[tokio::test(start_paused = true)]
async fn a_token_is_replaced_shortly_before_it_expires() {
    // 120 s of life with the default 30 s margin: replaced after 90 s.
    let fake = issuer_and_api(numbered_tokens(120), |_| one_movie()).await;
    let client = Client::builder(&fake.url)
        .client_credentials(credentials(&fake))
        .no_timeout()
        .build()
        .unwrap();

    client.get_movie(1).await.unwrap();
    tokio::time::advance(Duration::from_secs(89)).await;
    client.get_movie(1).await.unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    client.get_movie(1).await.unwrap();

    assert_eq!(token_requests(&fake).len(), 2);
    assert_eq!(
        bearers(&fake),
        ["Bearer token-1", "Bearer token-1", "Bearer token-2"]
    );
}

#[tokio::test]
async fn a_hundred_concurrent_calls_make_one_token_request() {
    // A slow token endpoint, so that every call is waiting while the one
    // token request is in flight.
    let fake = issuer_and_api(
        |n| {
            Reply::Delayed(
                Duration::from_millis(300),
                Box::new(token_answer(&format!("token-{n}"), 3600)),
            )
        },
        |_| one_movie(),
    )
    .await;
    let client = granted_client(&fake);

    let results = join_all((0..100).map(|_| {
        let client = client.clone();
        async move { client.get_movie(1).await }
    }))
    .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(token_requests(&fake).len(), 1);
    assert_eq!(bearers(&fake), vec!["Bearer token-1"; 100]);
}

#[tokio::test]
async fn calls_waiting_on_a_failed_token_request_share_its_failure() {
    let fake = issuer_and_api(
        |_| {
            Reply::Delayed(
                Duration::from_millis(300),
                Box::new(token_refusal(
                    "401 Unauthorized",
                    "access_denied",
                    "Unauthorized",
                )),
            )
        },
        |_| one_movie(),
    )
    .await;
    let client = granted_client(&fake);

    let results = join_all((0..20).map(|_| {
        let client = client.clone();
        async move { client.get_movie(1).await }
    }))
    .await;

    assert!(
        results.iter().all(|r| matches!(
            r,
            Err(Error::Token {
                status: Some(401),
                ..
            })
        )),
        "{results:?}"
    );
    assert_eq!(token_requests(&fake).len(), 1);
}

#[tokio::test]
async fn a_refused_grant_is_a_token_error_and_nothing_reaches_the_api() {
    let fake = issuer_and_api(
        |_| token_refusal("403 Forbidden", "access_denied", "Unauthorized"),
        |_| one_movie(),
    )
    .await;

    let error = granted_client(&fake).get_movie(1).await.unwrap_err();

    assert!(
        matches!(&error, Error::Token { status: Some(403), code: Some(code), message }
            if code == "access_denied" && message == "Unauthorized"),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(api_requests(&fake).is_empty());
}

#[tokio::test]
async fn an_answer_that_is_not_a_bearer_token_is_a_token_error() {
    let body = serde_json::json!({"access_token": "t", "token_type": "mac", "expires_in": 60});
    let fake = issuer_and_api(
        move |_| crate::fake::response("200 OK", "application/json", &[], &body.to_string()),
        |_| one_movie(),
    )
    .await;

    let error = granted_client(&fake).get_movie(1).await.unwrap_err();

    assert!(
        matches!(&error, Error::Token { message, .. } if message.contains("mac")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_call_sent_again() {
    let fake = issuer_and_api(numbered_tokens(3600), |request| {
        if request.header("authorization") == Some("Bearer token-1") {
            refused_token()
        } else {
            one_movie()
        }
    })
    .await;

    let found = granted_client(&fake).get_movie(1).await.unwrap();

    assert_eq!(found.id, 1);
    assert_eq!(token_requests(&fake).len(), 2);
    assert_eq!(bearers(&fake), ["Bearer token-1", "Bearer token-2"]);
}

#[tokio::test]
async fn a_post_refused_for_its_token_is_sent_again_with_a_new_one() {
    let fake = issuer_and_api(numbered_tokens(3600), |request| {
        if request.header("authorization") == Some("Bearer token-1") {
            refused_token()
        } else {
            movie_added()
        }
    })
    .await;

    let created = granted_client(&fake)
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();

    assert_eq!(created.title, "Universe");
    let posts = api_requests(&fake);
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body, posts[1].body);
}

#[tokio::test]
async fn a_token_refused_after_a_refresh_is_not_refreshed_again() {
    let fake = issuer_and_api(numbered_tokens(3600), |_| refused_token()).await;

    let error = granted_client(&fake).get_movie(1).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::Unauthorized {
                code: UnauthorizedCode::InvalidToken,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(token_requests(&fake).len(), 2);
    assert_eq!(api_requests(&fake).len(), 2);
}

#[tokio::test]
async fn a_refused_static_token_is_sent_once() {
    let fake = Fake::start(refused_token()).await;
    let client = Client::builder(&fake.url).token("fixed").build().unwrap();

    let error = client.get_movie(1).await.unwrap_err();

    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn a_token_set_by_hand_replaces_the_client_credentials() {
    let fake = issuer_and_api(numbered_tokens(3600), |_| one_movie()).await;
    let client = granted_client(&fake);

    client.set_token("by-hand").unwrap();
    client.get_movie(1).await.unwrap();

    assert!(token_requests(&fake).is_empty());
    assert_eq!(bearers(&fake), ["Bearer by-hand"]);
}
