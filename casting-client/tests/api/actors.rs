//! The actor routes, as a casting director, with what each returns.

use casting_client::{ActorPatch, Error, PageRequest};
use casting_core::Role;

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

#[tokio::test]
async fn a_created_actor_comes_back_with_an_id() {
    let server = TestServer::start();
    let director = server.client(Role::Director);

    let created = director
        .create_actor(&actor("Robert Downey Jr", 44, "Male", None))
        .await
        .unwrap();

    assert!(created.id > 0);
    assert_eq!(
        (created.name.as_str(), created.age, created.gender.as_str()),
        ("Robert Downey Jr", 44, "Male")
    );
    assert_eq!(created.movie_id, None);
    assert_eq!(director.get_actor(created.id).await.unwrap(), created);
}

#[tokio::test]
async fn a_patch_can_cast_an_actor_and_take_it_off_again() {
    let server = TestServer::start();
    let film = server
        .client(Role::Producer)
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let director = server.client(Role::Director);
    let created = director
        .create_actor(&actor("A", 30, "Female", None))
        .await
        .unwrap();

    let cast = director
        .update_actor(
            created.id,
            &ActorPatch {
                movie_id: Some(Some(film.id)),
                age: Some(31),
                ..ActorPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (cast.movie_id, cast.age, cast.name.as_str()),
        (Some(film.id), 31, "A")
    );
    assert_eq!(
        director.get_movie(film.id).await.unwrap().actors,
        [created.id]
    );

    let uncast = director
        .update_actor(
            created.id,
            &ActorPatch {
                movie_id: Some(None),
                ..ActorPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(uncast.movie_id, None);
    assert!(director.get_movie(film.id).await.unwrap().actors.is_empty());
}

#[tokio::test]
async fn a_deleted_actor_is_gone_and_its_id_is_not_reused() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    let first = director
        .create_actor(&actor("A", 30, "Female", None))
        .await
        .unwrap();

    assert_eq!(director.delete_actor(first.id).await.unwrap(), first.id);
    assert!(
        director
            .get_actor(first.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        director
            .delete_actor(first.id)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let second = director
        .create_actor(&actor("B", 30, "Male", None))
        .await
        .unwrap();
    assert!(second.id > first.id);
}

#[tokio::test]
async fn the_actor_list_counts_every_actor_and_pages_by_id() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    for i in 0..4 {
        director
            .create_actor(&actor(&format!("Actor {i}"), 20 + i, "Female", None))
            .await
            .unwrap();
    }

    let all = director.list_actors(PageRequest::default()).await.unwrap();
    assert_eq!((all.items.len(), all.total, all.next), (4, 4, None));
    let page = director.list_actors(PageRequest::first(3)).await.unwrap();
    assert_eq!((page.items.len(), page.total), (3, 4));
    assert_eq!(page.next, Some(page.items[2].id));
}

#[tokio::test]
async fn an_actor_cast_in_a_movie_that_does_not_exist_is_invalid_naming_movie_id() {
    let server = TestServer::start();
    let director = server.client(Role::Director);

    let error = director
        .create_actor(&actor("A", 30, "Female", Some(999)))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Invalid { field: Some(f), .. } if f == "movie_id"),
        "{error:?}"
    );
}
