//! A token replaced without rebuilding the client: for its clones too, and
//! for the pages of a stream not yet fetched; and tokens the client gets
//! itself from a development server's client-credentials endpoint.

use casting_client::{Client, ClientCredentials, Error, PageRequest, UnauthorizedCode};
use casting_core::Role;
use futures_util::TryStreamExt;

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

#[tokio::test]
async fn a_replaced_token_changes_what_the_client_may_do() {
    let server = TestServer::start();
    let client = Client::builder(&server.url)
        .token(server.token(Role::Assistant))
        .build()
        .unwrap();
    let refused = client.create_movie(&movie("Universe", "2010-10-13")).await;
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );

    client.set_token(server.token(Role::Producer)).unwrap();

    let created = client
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    assert_eq!(created.title, "Universe");
}

#[tokio::test]
async fn clones_share_the_token() {
    let server = TestServer::start();
    let client = server.client(Role::Producer);
    let clone = client.clone();

    clone.set_token(server.token(Role::Assistant)).unwrap();
    let refused = client.delete_movie(1).await;
    clone.clear_token();
    let anonymous = client.get_movie(1).await;

    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    assert!(
        matches!(
            anonymous,
            Err(Error::Unauthorized {
                code: UnauthorizedCode::AuthorizationHeaderMissing,
                ..
            })
        ),
        "{anonymous:?}"
    );
}

#[tokio::test]
async fn a_token_replaced_mid_stream_is_used_for_the_next_page() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    for i in 0..6 {
        director
            .create_actor(&actor(&format!("A{i}"), 30, "Female", None))
            .await
            .unwrap();
    }
    let mut actors = director.stream_actors(PageRequest::first(3));
    for _ in 0..3 {
        actors.try_next().await.unwrap().expect("a first page");
    }

    director.set_token("not-a-jwt").unwrap();
    let next = actors.try_next().await;

    assert!(
        matches!(
            next,
            Err(Error::Unauthorized {
                code: UnauthorizedCode::InvalidHeader,
                ..
            })
        ),
        "{next:?}"
    );
}

#[tokio::test]
async fn client_credentials_of_a_development_server_act_as_their_role() {
    let server = TestServer::start();
    let granted = |role: &str| {
        Client::builder(&server.url)
            .client_credentials(
                ClientCredentials::new(
                    format!("{}/oauth/token", server.url),
                    format!("casting-dev-{role}"),
                    "casting-dev-secret",
                )
                .audience("casting-agency"),
            )
            .build()
            .unwrap()
    };

    let refused = granted("assistant")
        .create_movie(&movie("Universe", "2010-10-13"))
        .await;
    let created = granted("producer")
        .create_movie(&movie("Universe", "2010-10-13"))
        .await;

    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    assert_eq!(created.unwrap().title, "Universe");
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_token_error_from_the_development_server() {
    let server = TestServer::start();
    let client = Client::builder(&server.url)
        .client_credentials(ClientCredentials::new(
            format!("{}/oauth/token", server.url),
            "casting-dev-producer",
            "not-the-secret",
        ))
        .build()
        .unwrap();

    let error = client
        .list_movies(PageRequest::default())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Token { status: Some(401), code: Some(code), .. } if code == "invalid_client"),
        "{error:?}"
    );
}
