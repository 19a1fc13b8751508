//! Reads with their ETag, and writes made only if the record is unchanged:
//! a lost race arrives as `Error::PreconditionFailed` and writes nothing.

use casting_client::{ActorPatch, Error, MoviePatch};
use casting_core::Role;

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

fn age(age: u8) -> ActorPatch {
    ActorPatch {
        age: Some(age),
        ..ActorPatch::default()
    }
}

#[tokio::test]
async fn an_update_on_the_tag_read_succeeds_and_returns_the_new_tag() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    let created = director
        .create_actor(&actor("A", 30, "Female", None))
        .await
        .unwrap();
    let read = director.get_actor_tagged(created.id).await.unwrap();
    assert_eq!(read.record, created);

    let changed = director
        .update_actor_if_unchanged(created.id, &age(31), &read.etag)
        .await
        .unwrap();
    assert_eq!(changed.record.age, 31);
    assert_ne!(changed.etag, read.etag);
    assert_eq!(
        director.get_actor_tagged(created.id).await.unwrap().etag,
        changed.etag
    );
}

#[tokio::test]
async fn an_update_on_a_stale_tag_is_a_precondition_failure_and_writes_nothing() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    let film = producer
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let stale = producer.get_movie_tagged(film.id).await.unwrap();
    let rename = |title: &str| MoviePatch {
        title: Some(title.into()),
        ..MoviePatch::default()
    };
    producer
        .update_movie_if_unchanged(film.id, &rename("Galaxy"), &stale.etag)
        .await
        .unwrap();

    let refused = producer
        .update_movie_if_unchanged(film.id, &rename("Nebula"), &stale.etag)
        .await;
    assert!(
        matches!(refused, Err(Error::PreconditionFailed { .. })),
        "{refused:?}"
    );
    assert_eq!(refused.unwrap_err().status(), Some(412));
    let deleted = producer
        .delete_movie_if_unchanged(film.id, &stale.etag)
        .await;
    assert!(
        matches!(deleted, Err(Error::PreconditionFailed { .. })),
        "{deleted:?}"
    );
    assert_eq!(producer.get_movie(film.id).await.unwrap().title, "Galaxy");
}

#[tokio::test]
async fn a_delete_on_the_current_tag_deletes() {
    let server = TestServer::start();
    let director = server.client(Role::Director);
    let created = director
        .create_actor(&actor("A", 30, "Female", None))
        .await
        .unwrap();
    let read = director.get_actor_tagged(created.id).await.unwrap();
    assert_eq!(
        director
            .delete_actor_if_unchanged(created.id, &read.etag)
            .await
            .unwrap(),
        created.id
    );
    assert!(
        director
            .get_actor(created.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
}
