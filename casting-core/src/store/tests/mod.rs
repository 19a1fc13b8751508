//! The store's unit tests, which need its internals: its tables, its
//! handle, its guard against panics in redb. Split by concern; the tests of
//! the store against the reference model, which need only its public API,
//! are integration tests (`casting-core/tests/store_model.rs`, with the
//! model in `casting-testkit`).
//!
//! Every commit is durable, so each test opens its store in a temporary
//! directory on the real disk.

use std::collections::BTreeSet;
use std::path::PathBuf;

use redb::ReadableTable;
use tempfile::TempDir;

use super::Store;
use super::record::ActorRecord;
use super::tables::{ACTORS, CAST, META, MOVIES};
use crate::backend::{Write, Written};
use crate::error::Error;
use crate::model::{Actor, Movie, NewActor, NewMovie, ReleaseDate};
use crate::query::{Page, PageRequest};

mod concurrency;
mod pages;
mod recovery;
mod schema;
mod search;
mod strategy;
mod writes;

pub(super) use strategy::write;

pub(super) fn temp_path() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casting.redb");
    (dir, path)
}

pub(super) fn date(s: &str) -> ReleaseDate {
    s.parse().unwrap()
}

pub(super) fn new_movie(title: &str, release: &str) -> Write {
    Write::CreateMovie(NewMovie {
        title: title.into(),
        release: date(release),
    })
}

pub(super) fn new_actor(name: &str, age: u8, gender: &str, movie_id: Option<u64>) -> Write {
    Write::CreateActor(NewActor {
        name: name.into(),
        age,
        gender: gender.into(),
        movie_id,
    })
}

pub(super) fn all_movies(store: &Store) -> Vec<Movie> {
    store.movies(PageRequest::default()).unwrap().items
}

pub(super) fn all_actors(store: &Store) -> Vec<Actor> {
    store.actors(PageRequest::default()).unwrap().items
}

pub(super) fn ids<T>(items: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
    items.iter().map(id).collect()
}

/// A store holding `writes`, all of which must succeed.
pub(super) fn store_with(writes: Vec<Write>) -> (TempDir, Store) {
    let (dir, path) = temp_path();
    let store = Store::open(path).unwrap();
    for result in store
        .write_batch(&crate::Principal::owner(), writes)
        .unwrap()
    {
        result.unwrap();
    }
    (dir, store)
}

pub(super) fn actor_names(page: Page<Actor>) -> Vec<String> {
    page.items.into_iter().map(|a| a.name).collect()
}

pub(super) fn movie_titles(page: Page<Movie>) -> Vec<String> {
    page.items.into_iter().map(|m| m.title).collect()
}

/// The last id a sequence gave, read from the meta table.
pub(super) fn last_id(store: &Store, key: &str) -> u64 {
    let txn = store.read().unwrap();
    let meta = txn.open_table(META).unwrap();
    meta.get(key).unwrap().map_or(0, |v| v.value())
}

/// Checks, within one read snapshot, that every actor's movie exists and
/// that the cast table lists exactly the actors whose `movie_id` names a
/// movie: what a reader of any single call relies on.
pub(super) fn assert_snapshot_consistent(store: &Store) {
    let txn = store.read().unwrap();
    let movies = txn.open_table(MOVIES).unwrap();
    let actors = txn.open_table(ACTORS).unwrap();
    let cast = txn.open_table(CAST).unwrap();
    let mut expected = BTreeSet::new();
    for entry in actors.iter().unwrap() {
        let (id, bytes) = entry.unwrap();
        let record = ActorRecord::decode(bytes.value()).unwrap();
        if let Some(movie_id) = record.movie_id {
            assert!(
                movies.get(movie_id).unwrap().is_some(),
                "actor {} is cast in movie {movie_id}, which does not exist",
                id.value()
            );
            expected.insert((movie_id, id.value()));
        }
    }
    let listed: BTreeSet<(u64, u64)> = cast
        .iter()
        .unwrap()
        .map(|entry| entry.unwrap().0.value())
        .collect();
    assert_eq!(listed, expected, "the cast table disagrees with the actors");
}

/// Whether `result` is the refusal of an actor's `movie_id` that names no
/// movie.
pub(super) fn no_such_movie(result: &Result<Written, Error>) -> bool {
    matches!(result, Err(Error::Invalid(invalid)) if invalid.field == "movie_id")
}
