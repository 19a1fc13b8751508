//! Concurrent use: writers get unique ids in order while readers see
//! consistent snapshots.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{all_actors, all_movies, assert_snapshot_consistent, new_actor, new_movie, temp_path};
use crate::backend::{Counts, Write, Written};
use crate::query::PageRequest;
use crate::store::Store;

/// What one writer thread created, in the order its writes returned.
#[derive(Default)]
struct Created {
    movies: Vec<u64>,
    actors: Vec<u64>,
    deleted_movies: Vec<u64>,
}

fn writer(store: &Store, thread: usize, rounds: usize) -> Created {
    let mut created = Created::default();
    for round in 0..rounds {
        let Ok(Written::Movie(movie)) = store.write(
            &crate::Principal::owner(),
            new_movie(&format!("t{thread} r{round}"), "2001-01-01"),
        ) else {
            panic!("a movie create was refused");
        };
        created.movies.push(movie.id);
        // Half the actors arrive alone, half in a batch of two.
        let batch = vec![
            new_actor(&format!("t{thread} a{round}"), 30, "Male", Some(movie.id)),
            new_actor(&format!("t{thread} b{round}"), 31, "Female", Some(movie.id)),
        ];
        let results = if round % 2 == 0 {
            store
                .write_batch(&crate::Principal::owner(), batch)
                .unwrap()
        } else {
            batch
                .into_iter()
                .map(|w| store.write(&crate::Principal::owner(), w))
                .collect()
        };
        for result in results {
            let Ok(Written::Actor(actor)) = result else {
                panic!("an actor create was refused");
            };
            created.actors.push(actor.id);
        }
        if round % 3 == 2 {
            store
                .write(&crate::Principal::owner(), Write::DeleteMovie(movie.id))
                .unwrap();
            created.deleted_movies.push(movie.id);
        }
    }
    created
}

/// Checks what one reader sees in single calls, each its own snapshot.
fn read_once(store: &Store) {
    let movies = store.movies(PageRequest::default()).unwrap();
    assert_eq!(movies.total, movies.items.len() as u64);
    assert!(movies.items.windows(2).all(|w| w[0].id < w[1].id));
    for movie in &movies.items {
        assert!(movie.actors.windows(2).all(|w| w[0] < w[1]), "{movie:?}");
    }
    let actors = store.actors(PageRequest::default()).unwrap();
    assert_eq!(actors.total, actors.items.len() as u64);
    assert!(actors.items.windows(2).all(|w| w[0].id < w[1].id));
    assert_snapshot_consistent(store);
}

#[test]
fn concurrent_writers_get_unique_ids_while_readers_see_consistent_snapshots() {
    const WRITERS: usize = 3;
    const ROUNDS: usize = 9;
    let (_dir, path) = temp_path();
    let store = Arc::new(Store::open(path).unwrap());
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Acquire) {
                    read_once(&store);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|thread| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || writer(&store, thread, ROUNDS))
        })
        .collect();
    let created: Vec<Created> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    done.store(true, Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0, "a reader never read");
    }

    for c in &created {
        assert!(c.movies.windows(2).all(|w| w[0] < w[1]));
        assert!(c.actors.windows(2).all(|w| w[0] < w[1]));
    }
    // No write was refused, so the ids given are exactly 1 to the count.
    let movie_ids: BTreeSet<u64> = created.iter().flat_map(|c| c.movies.clone()).collect();
    let actor_ids: BTreeSet<u64> = created.iter().flat_map(|c| c.actors.clone()).collect();
    let movies = (WRITERS * ROUNDS) as u64;
    assert_eq!(movie_ids, (1..=movies).collect());
    assert_eq!(actor_ids, (1..=2 * movies).collect());

    let deleted: BTreeSet<u64> = created
        .iter()
        .flat_map(|c| c.deleted_movies.clone())
        .collect();
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            movies: movies - deleted.len() as u64,
            actors: 2 * movies,
        }
    );
    for actor in all_actors(&store) {
        if let Some(movie_id) = actor.movie_id {
            assert!(!deleted.contains(&movie_id), "{actor:?}");
        }
    }
    let cast: usize = all_movies(&store).iter().map(|m| m.actors.len()).sum();
    assert_eq!(cast, 2 * (movies as usize - deleted.len()));
    assert_snapshot_consistent(&store);
}
