//! Both searches, with typed queries, as a casting assistant.

use casting_client::{ActorQuery, MovieQuery, PageRequest};
use casting_core::Role;

use crate::fixtures::{actor, date, movie};
use crate::server::TestServer;

#[tokio::test]
async fn a_movie_search_matches_the_title_ignoring_case_within_the_dates() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let early = producer
        .create_movie(&movie("Universe", "1999-03-31"))
        .await
        .unwrap();
    let late = producer
        .create_movie(&movie("The UNIVERSE Returns", "2012-05-04"))
        .await
        .unwrap();
    producer
        .create_movie(&movie("Galaxy", "2005-01-01"))
        .await
        .unwrap();
    let assistant = server.client(Role::Assistant);

    let by_title = assistant
        .search_movies(&MovieQuery {
            q: Some("universe".into()),
            ..MovieQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_title.total, 2);
    assert_eq!(
        by_title.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [early.id, late.id]
    );

    let in_range = assistant
        .search_movies(&MovieQuery {
            q: Some("universe".into()),
            released_after: Some(date("2000-01-01")),
            released_before: Some(date("2020-01-01")),
            ..MovieQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(in_range.total, 1);
    assert_eq!(in_range.items[0].id, late.id);
}

#[tokio::test]
async fn an_actor_search_holds_every_filter_given() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let wanted = producer
        .create_actor(&actor("Robert Downey Jr", 44, "Male", Some(film.id)))
        .await
        .unwrap();
    producer
        .create_actor(&actor("Robert Young", 20, "Male", Some(film.id)))
        .await
        .unwrap();
    producer
        .create_actor(&actor("Roberta", 44, "Female", Some(film.id)))
        .await
        .unwrap();
    producer
        .create_actor(&actor("Robert Elsewhere", 44, "Male", None))
        .await
        .unwrap();
    let assistant = server.client(Role::Assistant);

    let found = assistant
        .search_actors(&ActorQuery {
            q: Some("ROBERT".into()),
            gender: Some("male".into()),
            min_age: Some(30),
            max_age: Some(50),
            movie_id: Some(film.id),
            ..ActorQuery::default()
        })
        .await
        .unwrap();

    assert_eq!(found.total, 1);
    assert_eq!(found.items, [wanted]);
}

#[tokio::test]
async fn a_search_page_counts_every_match_and_says_where_to_go_next() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    for i in 0..5 {
        director
            .create_actor(&actor(&format!("Extra {i}"), 25, "Female", None))
            .await
            .unwrap();
    }
    director
        .create_actor(&actor("Lead", 25, "Male", None))
        .await
        .unwrap();

    let query = ActorQuery {
        q: Some("extra".into()),
        page: PageRequest::first(2),
        ..ActorQuery::default()
    };
    let first = director.search_actors(&query).await.unwrap();
    assert_eq!((first.items.len(), first.total), (2, 5));
    let next = first.next.expect("more pages");

    let second = director
        .search_actors(&ActorQuery {
            page: PageRequest::first(2).after(next),
            ..query
        })
        .await
        .unwrap();
    assert_eq!(second.total, 5);
    assert!(second.items.iter().all(|a| a.id > next));
}

#[tokio::test]
async fn a_search_without_filters_matches_everything() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    producer
        .create_movie(&movie("One", "2001-01-01"))
        .await
        .unwrap();
    producer
        .create_movie(&movie("Two", "2002-01-01"))
        .await
        .unwrap();

    let found = producer
        .search_movies(&MovieQuery::default())
        .await
        .unwrap();

    assert_eq!((found.items.len(), found.total, found.next), (2, 2, None));
}
