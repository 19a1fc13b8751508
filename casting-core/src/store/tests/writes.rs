//! Writes: refusals inside a batch, deletes that uncast, id sequences that
//! survive a reopen.

use super::{
    all_actors, all_movies, assert_snapshot_consistent, new_actor, new_movie, no_such_movie,
    store_with, temp_path,
};
use crate::backend::{Counts, Write, Written};
use crate::error::{Error, RecordKind};
use crate::model::{Actor, ActorPatch, Movie};
use crate::query::ActorQuery;
use crate::store::Store;

#[test]
fn a_refused_write_changes_nothing_while_its_batch_mates_commit() {
    let (_dir, store) = store_with(vec![new_movie("One", "2001-01-01")]);
    let results = store
        .write_batch(
            &crate::Principal::owner(),
            vec![
                new_actor("a", 30, "Male", Some(1)),
                new_actor("ghost", 30, "Male", Some(9)),
                Write::UpdateActor(
                    1,
                    ActorPatch {
                        name: Some("renamed".into()),
                        movie_id: Some(Some(9)),
                        ..ActorPatch::default()
                    },
                ),
                Write::DeleteMovie(9),
                new_actor("b", 30, "Male", None),
            ],
        )
        .unwrap();
    assert_eq!(results.len(), 5, "{results:?}");
    assert!(
        matches!(results[0], Ok(Written::Actor(Actor { id: 1, .. }))),
        "{results:?}"
    );
    assert!(no_such_movie(&results[1]), "{results:?}");
    assert!(no_such_movie(&results[2]), "{results:?}");
    assert!(
        matches!(
            results[3],
            Err(Error::NotFound {
                kind: RecordKind::Movie,
                id: 9
            })
        ),
        "{results:?}"
    );
    // The refused create took no id, and the refused patch left the name.
    assert!(
        matches!(results[4], Ok(Written::Actor(Actor { id: 2, .. }))),
        "{results:?}"
    );
    assert_eq!(store.actor(1).unwrap().unwrap().name, "a");
    assert_eq!(store.movie(1).unwrap().unwrap().actors, [1]);
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            movies: 1,
            actors: 2
        }
    );
}

#[test]
fn deleting_a_movie_takes_its_actors_off_it() {
    let (_dir, store) = store_with(vec![
        new_movie("One", "2001-01-01"),
        new_movie("Two", "2002-02-02"),
        new_actor("a", 30, "Male", Some(1)),
        new_actor("b", 30, "Male", Some(2)),
        new_actor("c", 30, "Male", Some(1)),
    ]);
    // Recasting in the deleted movie, in the same batch, is refused: the
    // movie is gone as soon as the delete runs.
    let results = store
        .write_batch(
            &crate::Principal::owner(),
            vec![
                Write::DeleteMovie(1),
                Write::UpdateActor(
                    2,
                    ActorPatch {
                        movie_id: Some(Some(1)),
                        ..ActorPatch::default()
                    },
                ),
            ],
        )
        .unwrap();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(matches!(results[0], Ok(Written::Deleted(1))), "{results:?}");
    assert!(no_such_movie(&results[1]), "{results:?}");
    let cast: Vec<_> = all_actors(&store).into_iter().map(|a| a.movie_id).collect();
    assert_eq!(cast, [None, Some(2), None]);
    let orphans = store
        .search_actors(&ActorQuery {
            movie_id: Some(1),
            ..ActorQuery::default()
        })
        .unwrap();
    assert_eq!(orphans.total, 0);
    assert_snapshot_consistent(&store);
}

#[test]
fn records_and_id_sequences_survive_reopening() {
    let (_dir, path) = temp_path();
    let (movies, actors) = {
        let store = Store::open(&path).unwrap();
        for write in [
            new_movie("One", "2001-01-01"),
            new_movie("Two", "2002-02-02"),
            new_actor("a", 30, "Male", Some(1)),
            new_actor("b", 31, "Female", Some(2)),
            new_actor("c", 32, "Other", None),
            // The highest id of each sequence goes, so only the kept
            // counter stops it coming back.
            Write::DeleteMovie(2),
            Write::DeleteActor(3),
        ] {
            store.write(&crate::Principal::owner(), write).unwrap();
        }
        (all_movies(&store), all_actors(&store))
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(all_movies(&store), movies);
    assert_eq!(all_actors(&store), actors);
    assert_eq!(actors[1].movie_id, None);
    let movie = store.write(&crate::Principal::owner(), new_movie("Three", "2003-03-03"));
    let actor = store.write(&crate::Principal::owner(), new_actor("d", 33, "Male", None));
    assert!(
        matches!(movie, Ok(Written::Movie(Movie { id: 3, .. }))),
        "{movie:?}"
    );
    assert!(
        matches!(actor, Ok(Written::Actor(Actor { id: 4, .. }))),
        "{actor:?}"
    );
}
