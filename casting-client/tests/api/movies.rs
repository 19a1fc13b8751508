//! The movie routes, as an executive producer, with what each returns.

use casting_client::{Error, MoviePatch, PageRequest};
use casting_core::Role;

use crate::fixtures::{actor, date, movie};
use crate::server::TestServer;

#[tokio::test]
async fn a_created_movie_comes_back_with_an_id_and_no_actors() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);

    let created = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();

    assert!(created.id > 0);
    assert_eq!(created.title, "Universe");
    assert_eq!(created.release_date, date("2010-10-13"));
    assert!(created.actors.is_empty());
    assert_eq!(producer.get_movie(created.id).await.unwrap(), created);
}

#[tokio::test]
async fn a_movie_lists_the_actors_cast_in_it_in_ascending_order() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let a = producer
        .create_actor(&actor("A", 30, "Female", Some(film.id)))
        .await
        .unwrap();
    let b = producer
        .create_actor(&actor("B", 40, "Male", Some(film.id)))
        .await
        .unwrap();

    assert_eq!(
        producer.get_movie(film.id).await.unwrap().actors,
        [a.id, b.id]
    );
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_it_gives() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();

    let retitled = producer
        .update_movie(
            film.id,
            &MoviePatch {
                title: Some("Multiverse".into()),
                ..MoviePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(retitled.title, "Multiverse");
    assert_eq!(retitled.release_date, film.release_date);

    let redated = producer
        .update_movie(
            film.id,
            &MoviePatch {
                release: Some(date("2011-01-02")),
                ..MoviePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(redated.title, "Multiverse");
    assert_eq!(redated.release_date, date("2011-01-02"));
    assert_eq!(producer.get_movie(film.id).await.unwrap(), redated);
}

#[tokio::test]
async fn the_list_counts_every_movie_and_pages_by_id() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let mut ids = Vec::new();
    for i in 0..5 {
        let film = producer
            .create_movie(&movie(&format!("Film {i}"), "2000-01-01"))
            .await
            .unwrap();
        ids.push(film.id);
    }

    let all = producer.list_movies(PageRequest::default()).await.unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.items.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(all.next, None);

    let first = producer.list_movies(PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.total, 5);
    assert_eq!(first.next, Some(ids[1]));
    let last = producer
        .list_movies(PageRequest::first(3).after(ids[1]))
        .await
        .unwrap();
    assert_eq!(
        last.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        &ids[2..]
    );
    assert_eq!(last.next, None);
}

#[tokio::test]
async fn deleting_a_movie_keeps_its_actors_cast_in_nothing() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let cast = producer
        .create_actor(&actor("A", 30, "Female", Some(film.id)))
        .await
        .unwrap();

    assert_eq!(producer.delete_movie(film.id).await.unwrap(), film.id);

    assert!(
        producer
            .get_movie(film.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(producer.get_actor(cast.id).await.unwrap().movie_id, None);
    assert!(matches!(
        producer.delete_movie(film.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_movie_read_back_can_be_sent_again() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();

    let again = producer
        .create_movie(&casting_client::NewMovie {
            title: film.title.clone(),
            release: film.release_date,
        })
        .await
        .unwrap();

    assert!(again.id > film.id);
    assert_eq!(again.release_date, film.release_date);
}
