//! Every error the real server gives the SDK, as its variant, with the
//! server's message kept.

use casting_client::{
    ActorPatch, ActorQuery, Client, Error, MoviePatch, PageRequest, UnauthorizedCode,
};
use casting_core::Role;

use crate::fixtures::{actor, movie};
use crate::server::{TestServer, now};

fn unauthorized_code(result: Result<impl std::fmt::Debug, Error>) -> UnauthorizedCode {
    match result {
        Err(Error::Unauthorized { code, message }) => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_without_a_token_is_told_the_header_is_missing() {
    let server = TestServer::start();

    let result = server.anonymous().list_movies(PageRequest::default()).await;

    assert_eq!(
        unauthorized_code(result),
        UnauthorizedCode::AuthorizationHeaderMissing
    );
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_an_invalid_header() {
    let server = TestServer::start();
    let client = Client::builder(&server.url)
        .token("not-a-jwt")
        .build()
        .unwrap();

    let result = client.get_movie(1).await;

    assert_eq!(unauthorized_code(result), UnauthorizedCode::InvalidHeader);
}

#[tokio::test]
async fn an_expired_token_is_token_expired() {
    let server = TestServer::start();
    let expired = server.token_at(Role::Producer, now() - 7200, 60);
    let client = Client::builder(&server.url).token(expired).build().unwrap();

    let result = client.list_actors(PageRequest::default()).await;

    assert_eq!(unauthorized_code(result), UnauthorizedCode::TokenExpired);
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_an_invalid_token() {
    let server = TestServer::start();
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = casting_server::auth::dev::DevIssuer::load_or_create(
        &stranger_dir.path().join("other.redb"),
    )
    .unwrap()
    .token(Role::Producer, now(), 600)
    .unwrap();
    let client = Client::builder(&server.url)
        .token(stranger)
        .build()
        .unwrap();

    let result = client.list_movies(PageRequest::default()).await;

    assert_eq!(unauthorized_code(result), UnauthorizedCode::InvalidToken);
}

#[tokio::test]
async fn a_token_of_another_issuer_is_invalid_claims() {
    let issuer = TestServer::start();
    let verifier = TestServer::verifying(
        "https://someone-else.example/",
        "casting-agency",
        &format!("{}/.well-known/jwks.json", issuer.url),
    );
    let client = Client::builder(&verifier.url)
        .token(issuer.token(Role::Producer))
        .build()
        .unwrap();

    let result = client.list_movies(PageRequest::default()).await;

    assert_eq!(unauthorized_code(result), UnauthorizedCode::InvalidClaims);
}

#[tokio::test]
async fn a_server_that_cannot_fetch_its_keys_is_auth_unavailable() {
    let issuer = TestServer::start();
    let (_closed, address) = crate::fake::refusing_address();
    let jwks_url = format!("http://{address}/jwks.json");
    let verifier = TestServer::verifying("casting-dev", "casting-agency", &jwks_url);
    let client = Client::builder(&verifier.url)
        .token(issuer.token(Role::Producer))
        .build()
        .unwrap();

    let result = client.list_movies(PageRequest::default()).await;

    assert!(
        matches!(&result, Err(Error::AuthUnavailable { message }) if !message.is_empty()),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().status(), Some(503));
}

#[tokio::test]
async fn a_missing_permission_is_forbidden_with_the_servers_message() {
    let server = TestServer::start();

    let error = server
        .client(Role::Assistant)
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap_err();

    let Error::Forbidden { message } = &error else {
        panic!("expected a 403, got {error:?}");
    };
    assert!(message.contains("post:movies"), "{message}");
    assert_eq!(error.status(), Some(403));
    assert!(error.to_string().starts_with("403 permission_denied: "));
}

#[tokio::test]
async fn a_record_that_does_not_exist_is_not_found() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);

    for error in [
        producer.get_movie(999).await.unwrap_err(),
        producer.get_actor(999).await.unwrap_err(),
        producer
            .update_actor(
                999,
                &ActorPatch {
                    age: Some(3),
                    ..ActorPatch::default()
                },
            )
            .await
            .unwrap_err(),
        producer.delete_actor(999).await.unwrap_err(),
    ] {
        assert!(
            matches!(&error, Error::NotFound { message } if message == "resource not found"),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_field_is_invalid_and_named() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();

    let cases = [
        (
            producer
                .create_movie(&movie("   ", "2010-10-13"))
                .await
                .map(drop),
            "title",
        ),
        (
            producer
                .create_actor(&actor("A", 151, "Female", None))
                .await
                .map(drop),
            "age",
        ),
        (
            producer
                .create_actor(&actor("A", 30, &"x".repeat(65), None))
                .await
                .map(drop),
            "gender",
        ),
        (
            producer
                .update_movie(film.id, &MoviePatch::default())
                .await
                .map(drop),
            "body",
        ),
    ];
    for (result, field) in cases {
        let Err(Error::Invalid {
            field: Some(named),
            message,
        }) = result
        else {
            panic!("expected a 422 naming {field}, got {result:?}");
        };
        assert_eq!(named, field);
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
}

#[tokio::test]
async fn a_malformed_query_parameter_is_a_bad_request() {
    let server = TestServer::start();
    let assistant = server.client(Role::Assistant);

    let zero = assistant
        .list_movies(PageRequest::first(0))
        .await
        .unwrap_err();
    let huge = assistant
        .list_actors(PageRequest::first(1001))
        .await
        .unwrap_err();
    let blank = assistant
        .search_actors(&ActorQuery {
            gender: Some(" ".into()),
            ..ActorQuery::default()
        })
        .await
        .unwrap_err();

    for (error, parameter) in [(zero, "limit"), (huge, "limit"), (blank, "gender")] {
        let Error::BadRequest { message } = &error else {
            panic!("expected a 400, got {error:?}");
        };
        assert!(message.contains(parameter), "{message}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_payload_too_large() {
    let server = TestServer::start();

    let error = server
        .client(Role::Producer)
        .create_movie(&movie(&"x".repeat(70 * 1024), "2010-10-13"))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::PayloadTooLarge { message } if message.contains("65536")),
        "{error:?}"
    );
}
