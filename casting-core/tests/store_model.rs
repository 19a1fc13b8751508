//! The store checked against the test kit's reference model
//! (`casting_testkit::model`): two `BTreeMap`s and two id counters that do
//! what the contract says, fed the same random writes; and pagination and
//! search over random contents, walked page by page.
//!
//! After every step the store's answers are compared with the model's; after
//! every reopen and at the end of each case, so are its id counters and cast,
//! with the store's meta table and cast index read from a snapshot
//! (`casting_testkit::stored`), so that what the store keeps below its API is
//! held to the model too. (A snapshot per step doubled the suite's time and
//! adds little: a wrong counter shows in the next create's id, a wrong cast
//! in the next read of a movie, and both are checked at every step.)
//!
//! Every commit is durable, so each test opens its store in a temporary
//! directory on the real disk, and the property tests keep their case counts
//! low enough for the suite to stay quick in a debug build.

// The whole crate is a test: a panic is how it reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use casting_core::{Actor, ActorQuery, Movie, MovieQuery, Page, PageRequest, Principal, Store};
use casting_testkit::damaged_store::scratch_dir;
use casting_testkit::model::{Model, outcome};
use casting_testkit::stored::stored;
use casting_testkit::strategy::{IDS, Step, actor_query, contents, movie_query, step};
use proptest::collection::vec;
use proptest::prelude::*;
use tempfile::TempDir;

fn temp_path() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casting.redb");
    (dir, path)
}

/// Checks the store's records and counts against the model's.
fn assert_agrees(store: &Store, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        store.movies(PageRequest::default()).unwrap().items,
        model.movies()
    );
    prop_assert_eq!(
        store.actors(PageRequest::default()).unwrap().items,
        model.actors()
    );
    prop_assert_eq!(store.counts().unwrap(), model.counts());
    for id in IDS {
        prop_assert_eq!(store.movie(id).unwrap(), model.movie(id));
        prop_assert_eq!(store.actor(id).unwrap(), model.actor(id));
    }
    Ok(())
}

/// Checks the store's id counters and cast index against the model's;
/// `scratch` takes the snapshot they are read from.
fn assert_stored_agrees(store: &Store, model: &Model, scratch: &Path) -> Result<(), TestCaseError> {
    let stored = stored(store, scratch);
    prop_assert_eq!(stored.last_movie_id, model.last_movie_id());
    prop_assert_eq!(stored.last_actor_id, model.last_actor_id());
    prop_assert_eq!(stored.cast, model.cast());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_store_agrees_with_the_model_after_every_step(steps in vec(step(), 1..40)) {
        let (_dir, path) = temp_path();
        let scratch = tempfile::tempdir_in(scratch_dir()).unwrap();
        let mut store = Store::open(&path).unwrap();
        let mut model = Model::default();
        for step in steps {
            match step {
                Step::One(write) => {
                    let expected = model.apply(&write);
                    prop_assert_eq!(outcome(store.write(&Principal::owner(), write)), expected);
                }
                Step::Batch(writes) => {
                    let expected: Vec<_> = writes.iter().map(|w| model.apply(w)).collect();
                    let results = store.write_batch(&Principal::owner(), writes).unwrap();
                    prop_assert_eq!(results.into_iter().map(outcome).collect::<Vec<_>>(), expected);
                }
                Step::Reopen => {
                    // redb refuses a second handle on an open file, so the
                    // old one goes first.
                    drop(store);
                    store = Store::open(&path).unwrap();
                    assert_stored_agrees(&store, &model, scratch.path())?;
                }
            }
            assert_agrees(&store, &model)?;
        }
        assert_stored_agrees(&store, &model, scratch.path())?;
    }
}

/// Follows `next` from the first page of `limit` to the last, checking that
/// every page has `total` and that only the last one is short or ends the
/// walk, and returns the records of all pages in the order read.
fn walk<T: std::fmt::Debug>(
    limit: u32,
    total: usize,
    id: impl Fn(&T) -> u64,
    mut fetch: impl FnMut(PageRequest) -> Page<T>,
) -> Vec<T> {
    let mut request = PageRequest::first(limit);
    let mut read = Vec::new();
    // A walk needs at most one page per record, plus one; the bound only
    // turns a runaway loop into a failure.
    for _ in 0..=total + 1 {
        let page = fetch(request);
        assert_eq!(
            page.total, total as u64,
            "total of the page after {request:?}"
        );
        let next = page.next;
        match next {
            Some(after) => {
                assert_eq!(
                    page.items.len(),
                    limit as usize,
                    "a page followed by more is full"
                );
                assert_eq!(page.items.last().map(&id), Some(after));
            }
            None => assert!(page.items.len() <= limit as usize),
        }
        read.extend(page.items);
        match next {
            Some(after) => request = request.after(after),
            None => return read,
        }
    }
    panic!("more pages than records: {read:?}")
}

/// Every match of `query` the model holds, whatever page the query asks for.
fn all_movie_matches(model: &Model, query: &MovieQuery) -> Vec<Movie> {
    let all = MovieQuery {
        page: PageRequest::default(),
        ..query.clone()
    };
    model.search_movies(&all).items
}

/// Every match of `query` the model holds, whatever page the query asks for.
fn all_actor_matches(model: &Model, query: &ActorQuery) -> Vec<Actor> {
    let all = ActorQuery {
        page: PageRequest::default(),
        ..query.clone()
    };
    model.search_actors(&all).items
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pages_return_every_record_once_in_ascending_order(
        writes in contents(),
        limit in 1u32..8,
        movie_query in movie_query(),
        actor_query in actor_query(),
    ) {
        let (_dir, path) = temp_path();
        let store = Store::open(&path).unwrap();
        let mut model = Model::default();
        let expected: Vec<_> = writes.iter().map(|w| model.apply(w)).collect();
        let results = store.write_batch(&Principal::owner(), writes).unwrap();
        prop_assert_eq!(results.into_iter().map(outcome).collect::<Vec<_>>(), expected);

        let movies = model.movies();
        let actors = model.actors();
        let read = walk(limit, movies.len(), |m: &Movie| m.id, |page| store.movies(page).unwrap());
        prop_assert_eq!(read, movies);
        let read = walk(limit, actors.len(), |a: &Actor| a.id, |page| store.actors(page).unwrap());
        prop_assert_eq!(read, actors);

        let matching = all_movie_matches(&model, &movie_query);
        let read = walk(limit, matching.len(), |m: &Movie| m.id, |page| {
            store.search_movies(&MovieQuery { page, ..movie_query.clone() }).unwrap()
        });
        prop_assert_eq!(read, matching);

        let matching = all_actor_matches(&model, &actor_query);
        let read = walk(limit, matching.len(), |a: &Actor| a.id, |page| {
            store.search_actors(&ActorQuery { page, ..actor_query.clone() }).unwrap()
        });
        prop_assert_eq!(read, matching);
    }
}
