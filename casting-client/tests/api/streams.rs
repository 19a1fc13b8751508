//! Lists and searches walked as streams over a few thousand records, made
//! through the SDK concurrently; and a server killed while a stream is
//! being read.

use std::time::Duration;

use casting_client::{Actor, ActorQuery, Client, Error, MovieQuery, PageRequest};
use casting_core::Role;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

/// Requests in flight at once while filling the store.
const CONCURRENCY: usize = 16;

/// How long any one stream test may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(120);

/// Creates `count` actors as `client`, `CONCURRENCY` at a time, half of
/// them `Female`, half `Male`. Returns them in ascending id order.
async fn create_actors(client: &Client, count: usize) -> Vec<Actor> {
    let mut actors: Vec<Actor> = stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            async move {
                let gender = if i % 2 == 0 { "Female" } else { "Male" };
                client
                    .create_actor(&actor(&format!("Actor {i}"), (i % 100) as u8, gender, None))
                    .await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
        .unwrap();
    actors.sort_unstable_by_key(|a| a.id);
    actors
}

fn ids(actors: &[Actor]) -> Vec<u64> {
    actors.iter().map(|a| a.id).collect()
}

#[tokio::test]
async fn a_stream_walks_two_thousand_actors_page_by_page_in_id_order() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    let created = create_actors(&director, 2000).await;
    assert_eq!(created.len(), 2000);

    let streamed: Vec<u64> = tokio::time::timeout(
        BOUND,
        server
            .client(Role::Assistant)
            .stream_actors(PageRequest::first(97))
            .map_ok(|a| a.id)
            .try_collect(),
    )
    .await
    .expect("the stream ends")
    .unwrap();

    assert_eq!(streamed, ids(&created));
}

#[tokio::test]
async fn a_search_stream_yields_every_match_and_nothing_else() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    let created = create_actors(&director, 2000).await;
    let expected: Vec<Actor> = created
        .into_iter()
        .filter(|a| a.gender == "Female")
        .collect();
    assert_eq!(expected.len(), 1000);

    let streamed: Vec<_> = tokio::time::timeout(
        BOUND,
        director
            .stream_actor_search(ActorQuery {
                gender: Some("female".into()),
                page: PageRequest::first(250),
                ..ActorQuery::default()
            })
            .try_collect::<Vec<_>>(),
    )
    .await
    .expect("the stream ends")
    .unwrap();

    assert_eq!(streamed, expected);
}

#[tokio::test]
async fn movie_streams_start_after_the_given_id_and_use_the_default_page_size() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let mut ids: Vec<u64> = stream::iter(0..250)
        .map(|i| {
            let producer = producer.clone();
            async move {
                producer
                    .create_movie(&movie(&format!("Film {i}"), "2001-02-03"))
                    .await
                    .map(|m| m.id)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
        .unwrap();
    ids.sort_unstable();

    let all: Vec<u64> = producer
        .stream_movies(PageRequest::default())
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ids);

    let after: Vec<u64> = producer
        .stream_movies(PageRequest {
            limit: Some(7),
            after: Some(ids[99]),
        })
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, &ids[100..]);

    let found: Vec<u64> = producer
        .stream_movie_search(MovieQuery {
            q: Some("film 1".into()),
            page: PageRequest::first(5),
            ..MovieQuery::default()
        })
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    // "Film 1", "Film 10".."Film 19", "Film 100".."Film 199".
    assert_eq!(found.len(), 1 + 10 + 100);
}

#[tokio::test]
async fn an_empty_list_streams_nothing() {
    let server = TestServer::start();

    let count = server
        .client(Role::Assistant)
        .stream_movies(PageRequest::first(10))
        .count()
        .await;

    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_server_killed_mid_stream_ends_the_stream_with_a_transport_error() {
    let mut server = TestServer::start();
    let created = create_actors(&server.client(Role::Director), 600).await;
    let client = Client::builder(&server.url)
        .token(server.token(Role::Assistant))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut actors = client.stream_actors(PageRequest::first(50));

    let outcome = tokio::time::timeout(BOUND, async {
        let mut seen = Vec::new();
        while seen.len() < 120 {
            seen.push(actors.try_next().await.unwrap().expect("more actors").id);
        }
        server.kill();
        let error = loop {
            match actors.next().await {
                Some(Ok(actor)) => seen.push(actor.id),
                Some(Err(error)) => break error,
                None => panic!("the stream ended without an error"),
            }
        };
        (seen, error, actors.next().await.is_none())
    })
    .await
    .expect("no hang: the stream fails within the bound");

    let (seen, error, ended) = outcome;
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(ended, "the stream ends after its error");
    assert_eq!(seen, ids(&created[..seen.len()]));
    assert!(seen.len() < created.len());
}
