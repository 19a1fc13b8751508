//! The store checked against a model: two `BTreeMap`s and two id counters
//! that do what the contract says, fed the same random writes. Beside it,
//! pagination and search over random data, the exact search rules, reopening,
//! the schema guard and concurrent use.
//!
//! Every commit is durable, so each test opens its store in a temporary
//! directory on the real disk, and the property tests keep their case counts
//! low enough for the suite to stay quick in a debug build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proptest::collection::vec;
use proptest::prelude::*;
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};
use tempfile::TempDir;

use super::Store;
use super::record::ActorRecord;
use super::schema::CURRENT;
use super::tables::{ACTORS, CAST, LAST_ACTOR_ID, LAST_MOVIE_ID, META, MOVIES, SCHEMA_VERSION};
use crate::backend::{Counts, StoreError, Write, Written};
use crate::error::{Error, RecordKind};
use crate::model::{Actor, ActorPatch, Movie, MoviePatch, NewActor, NewMovie, ReleaseDate};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest};

/// Ids the random writes aim at: 0 never exists, and sequences of up to 40
/// steps create, delete and pass by the others.
const IDS: std::ops::Range<u64> = 0..12;

pub(super) fn temp_path() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casting.redb");
    (dir, path)
}

fn date(s: &str) -> ReleaseDate {
    s.parse().unwrap()
}

fn new_movie(title: &str, release: &str) -> Write {
    Write::CreateMovie(NewMovie {
        title: title.into(),
        release: date(release),
    })
}

fn new_actor(name: &str, age: u8, gender: &str, movie_id: Option<u64>) -> Write {
    Write::CreateActor(NewActor {
        name: name.into(),
        age,
        gender: gender.into(),
        movie_id,
    })
}

fn all_movies(store: &Store) -> Vec<Movie> {
    store.movies(PageRequest::default()).unwrap().items
}

fn all_actors(store: &Store) -> Vec<Actor> {
    store.actors(PageRequest::default()).unwrap().items
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> u64) -> Vec<u64> {
    items.iter().map(id).collect()
}

/// What a write did, in a form both the store and the model can give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Movie(Movie),
    Actor(Actor),
    Deleted(u64),
    NotFound(RecordKind, u64),
    NoSuchMovie,
    /// The input broke a rule of the model's validation; the field is named.
    Invalid(String),
}

fn outcome(result: Result<Written, Error>) -> Outcome {
    match result {
        Ok(Written::Movie(movie)) => Outcome::Movie(movie),
        Ok(Written::Actor(actor)) => Outcome::Actor(actor),
        Ok(Written::Deleted(id)) => Outcome::Deleted(id),
        Err(Error::NotFound { kind, id }) => Outcome::NotFound(kind, id),
        Err(Error::Invalid(invalid)) if invalid.field == "movie_id" => Outcome::NoSuchMovie,
        Err(Error::Invalid(invalid)) => Outcome::Invalid(invalid.field.into_owned()),
        Err(other) => panic!("the store failed: {other}"),
    }
}

/// The contract in its plainest form.
#[derive(Debug, Default)]
struct Model {
    movies: BTreeMap<u64, (String, ReleaseDate)>,
    actors: BTreeMap<u64, Actor>,
    last_movie_id: u64,
    last_actor_id: u64,
}

impl Model {
    fn movie(&self, id: u64) -> Option<Movie> {
        let (title, release) = self.movies.get(&id)?;
        Some(Movie {
            id,
            title: title.clone(),
            release_date: *release,
            actors: self
                .actors
                .values()
                .filter(|a| a.movie_id == Some(id))
                .map(|a| a.id)
                .collect(),
        })
    }

    fn movies(&self) -> Vec<Movie> {
        self.movies
            .keys()
            .filter_map(|&id| self.movie(id))
            .collect()
    }

    fn actors(&self) -> Vec<Actor> {
        self.actors.values().cloned().collect()
    }

    fn counts(&self) -> Counts {
        Counts {
            movies: self.movies.len() as u64,
            actors: self.actors.len() as u64,
        }
    }

    fn apply(&mut self, write: &Write) -> Outcome {
        // The rules of the input are checked before the store sees a
        // write, by the same code the server uses; the model takes them
        // as given and keeps to what the store itself decides.
        let owner = crate::Principal::owner();
        if let Err(Error::Invalid(invalid)) = crate::Agency::check_write(&owner, write.clone()) {
            return Outcome::Invalid(invalid.field.into_owned());
        }
        match write.clone() {
            Write::CreateMovie(input) => {
                self.last_movie_id += 1;
                let id = self.last_movie_id;
                self.movies.insert(id, (input.title, input.release));
                Outcome::Movie(self.movie(id).unwrap())
            }
            Write::UpdateMovie(id, patch) => {
                let Some((title, release)) = self.movies.get_mut(&id) else {
                    return Outcome::NotFound(RecordKind::Movie, id);
                };
                if let Some(new) = patch.title {
                    *title = new;
                }
                if let Some(new) = patch.release {
                    *release = new;
                }
                Outcome::Movie(self.movie(id).unwrap())
            }
            Write::DeleteMovie(id) => {
                if self.movies.remove(&id).is_none() {
                    return Outcome::NotFound(RecordKind::Movie, id);
                }
                for actor in self.actors.values_mut() {
                    if actor.movie_id == Some(id) {
                        actor.movie_id = None;
                    }
                }
                Outcome::Deleted(id)
            }
            Write::CreateActor(input) => {
                if input
                    .movie_id
                    .is_some_and(|m| !self.movies.contains_key(&m))
                {
                    return Outcome::NoSuchMovie;
                }
                self.last_actor_id += 1;
                let actor = Actor {
                    id: self.last_actor_id,
                    name: input.name,
                    age: input.age,
                    gender: input.gender,
                    movie_id: input.movie_id,
                };
                self.actors.insert(actor.id, actor.clone());
                Outcome::Actor(actor)
            }
            Write::UpdateActor(id, patch) => {
                if !self.actors.contains_key(&id) {
                    return Outcome::NotFound(RecordKind::Actor, id);
                }
                if let Some(Some(m)) = patch.movie_id
                    && !self.movies.contains_key(&m)
                {
                    return Outcome::NoSuchMovie;
                }
                let actor = self.actors.get_mut(&id).unwrap();
                if let Some(name) = patch.name {
                    actor.name = name;
                }
                if let Some(gender) = patch.gender {
                    actor.gender = gender;
                }
                actor.age = patch.age.unwrap_or(actor.age);
                actor.movie_id = patch.movie_id.unwrap_or(actor.movie_id);
                Outcome::Actor(actor.clone())
            }
            Write::DeleteActor(id) => match self.actors.remove(&id) {
                Some(_) => Outcome::Deleted(id),
                None => Outcome::NotFound(RecordKind::Actor, id),
            },
        }
    }
}

/// The last id a sequence gave, read from the meta table.
fn last_id(store: &Store, key: &str) -> u64 {
    let txn = store.read().unwrap();
    let meta = txn.open_table(META).unwrap();
    meta.get(key).unwrap().map_or(0, |v| v.value())
}

/// Checks, within one read snapshot, that every actor's movie exists and
/// that the cast table lists exactly the actors whose `movie_id` names a
/// movie: what a reader of any single call relies on.
fn assert_snapshot_consistent(store: &Store) {
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

fn assert_agrees(store: &Store, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(all_movies(store), model.movies());
    prop_assert_eq!(all_actors(store), model.actors());
    prop_assert_eq!(store.counts().unwrap(), model.counts());
    for id in IDS {
        prop_assert_eq!(store.movie(id).unwrap(), model.movie(id));
        prop_assert_eq!(store.actor(id).unwrap(), model.actors.get(&id).cloned());
    }
    prop_assert_eq!(last_id(store, LAST_MOVIE_ID), model.last_movie_id);
    prop_assert_eq!(last_id(store, LAST_ACTOR_ID), model.last_actor_id);
    assert_snapshot_consistent(store);
    Ok(())
}

fn id() -> impl Strategy<Value = u64> {
    IDS
}

/// Titles and names from a few letters in both cases, with a non-ASCII one,
/// so that searches find something and case folding is exercised.
fn text() -> impl Strategy<Value = String> {
    "[a-cA-CéÉ ]{1,6}"
}

fn needle() -> impl Strategy<Value = String> {
    "[a-cA-Cé]{0,2}"
}

/// Few distinct days, so that filters often fall on a record's own date.
fn release() -> impl Strategy<Value = ReleaseDate> {
    (2000i16..2004, 1i8..=2, 1i8..=3).prop_map(|(y, m, d)| ReleaseDate::new(y, m, d).unwrap())
}

fn age() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 28u8..=33, 1 => Just(0), 1 => Just(150)]
}

fn gender() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["Male", "male", "Female", "FEMALE", "Other"]).prop_map(String::from)
}

fn create_movie() -> impl Strategy<Value = Write> {
    (text(), release()).prop_map(|(title, release)| Write::CreateMovie(NewMovie { title, release }))
}

fn create_actor(movie_id: impl Strategy<Value = u64>) -> impl Strategy<Value = Write> {
    (text(), age(), gender(), prop::option::of(movie_id)).prop_map(
        |(name, age, gender, movie_id)| {
            Write::CreateActor(NewActor {
                name,
                age,
                gender,
                movie_id,
            })
        },
    )
}

pub(super) fn write() -> impl Strategy<Value = Write> {
    let movie_patch = (prop::option::of(text()), prop::option::of(release()))
        .prop_map(|(title, release)| MoviePatch { title, release });
    let actor_patch = (
        prop::option::of(text()),
        prop::option::of(age()),
        prop::option::of(gender()),
        prop::option::of(prop::option::of(id())),
    )
        .prop_map(|(name, age, gender, movie_id)| ActorPatch {
            name,
            age,
            gender,
            movie_id,
        });
    prop_oneof![
        3 => create_movie(),
        1 => (id(), movie_patch).prop_map(|(id, p)| Write::UpdateMovie(id, p)),
        1 => id().prop_map(Write::DeleteMovie),
        4 => create_actor(id()),
        3 => (id(), actor_patch).prop_map(|(id, p)| Write::UpdateActor(id, p)),
        1 => id().prop_map(Write::DeleteActor),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    One(Write),
    Batch(Vec<Write>),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => write().prop_map(Step::One),
        2 => vec(write(), 2..6).prop_map(Step::Batch),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_store_agrees_with_the_model_after_every_step(steps in vec(step(), 1..40)) {
        let (_dir, path) = temp_path();
        let mut store = Store::open(&path).unwrap();
        let mut model = Model::default();
        for step in steps {
            match step {
                Step::One(write) => {
                    let expected = model.apply(&write);
                    prop_assert_eq!(outcome(store.write(&crate::Principal::owner(), write)), expected);
                }
                Step::Batch(writes) => {
                    let expected: Vec<_> = writes.iter().map(|w| model.apply(w)).collect();
                    let results = store.write_batch(&crate::Principal::owner(), writes).unwrap();
                    prop_assert_eq!(results.into_iter().map(outcome).collect::<Vec<_>>(), expected);
                }
                Step::Reopen => {
                    // redb refuses a second handle on an open file, so the
                    // old one goes first.
                    drop(store);
                    store = Store::open(&path).unwrap();
                }
            }
            assert_agrees(&store, &model)?;
        }
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

fn movie_matches(query: &MovieQuery, movie: &Movie) -> bool {
    query
        .q
        .as_ref()
        .is_none_or(|q| movie.title.to_lowercase().contains(&q.to_lowercase()))
        && query.released_after.is_none_or(|d| movie.release_date > d)
        && query.released_before.is_none_or(|d| movie.release_date < d)
}

fn actor_matches(query: &ActorQuery, actor: &Actor) -> bool {
    query
        .q
        .as_ref()
        .is_none_or(|q| actor.name.to_lowercase().contains(&q.to_lowercase()))
        && query
            .gender
            .as_ref()
            .is_none_or(|g| actor.gender.to_lowercase() == g.to_lowercase())
        && query.min_age.is_none_or(|min| actor.age >= min)
        && query.max_age.is_none_or(|max| actor.age <= max)
        && query.movie_id.is_none_or(|m| actor.movie_id == Some(m))
}

/// Random contents written in one batch: movies, actors cast in some of
/// them, then deletions that leave gaps in both id sequences.
fn contents() -> impl Strategy<Value = Vec<Write>> {
    (
        vec(create_movie(), 0..20),
        vec(create_actor(1u64..20), 0..50),
        vec(
            prop_oneof![
                (1u64..20).prop_map(Write::DeleteMovie),
                (1u64..50).prop_map(Write::DeleteActor),
            ],
            0..12,
        ),
    )
        .prop_map(|(movies, actors, deletions)| {
            movies.into_iter().chain(actors).chain(deletions).collect()
        })
}

fn movie_query() -> impl Strategy<Value = MovieQuery> {
    (
        prop::option::of(needle()),
        prop::option::of(release()),
        prop::option::of(release()),
    )
        .prop_map(|(q, released_after, released_before)| MovieQuery {
            q,
            released_after,
            released_before,
            page: PageRequest::default(),
        })
}

fn actor_query() -> impl Strategy<Value = ActorQuery> {
    (
        prop::option::of(needle()),
        prop::option::of(gender()),
        prop::option::of(age()),
        prop::option::of(age()),
        prop::option::of(0u64..21),
    )
        .prop_map(|(q, gender, min_age, max_age, movie_id)| ActorQuery {
            q,
            gender,
            min_age,
            max_age,
            movie_id,
            page: PageRequest::default(),
        })
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
        let results = store.write_batch(&crate::Principal::owner(), writes).unwrap();
        prop_assert_eq!(results.into_iter().map(outcome).collect::<Vec<_>>(), expected);

        let movies = model.movies();
        let actors = model.actors();
        let read = walk(limit, movies.len(), |m: &Movie| m.id, |page| store.movies(page).unwrap());
        prop_assert_eq!(read, movies.clone());
        let read = walk(limit, actors.len(), |a: &Actor| a.id, |page| store.actors(page).unwrap());
        prop_assert_eq!(read, actors.clone());

        let matching: Vec<Movie> =
            movies.into_iter().filter(|m| movie_matches(&movie_query, m)).collect();
        let read = walk(limit, matching.len(), |m: &Movie| m.id, |page| {
            store.search_movies(&MovieQuery { page, ..movie_query.clone() }).unwrap()
        });
        prop_assert_eq!(read, matching);

        let matching: Vec<Actor> =
            actors.into_iter().filter(|a| actor_matches(&actor_query, a)).collect();
        let read = walk(limit, matching.len(), |a: &Actor| a.id, |page| {
            store.search_actors(&ActorQuery { page, ..actor_query.clone() }).unwrap()
        });
        prop_assert_eq!(read, matching);
    }
}

/// A store holding `writes`, all of which must succeed.
fn store_with(writes: Vec<Write>) -> (TempDir, Store) {
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

#[test]
fn the_last_page_has_no_next_even_when_it_is_exactly_full() {
    let (_dir, store) = store_with(
        (0..6)
            .map(|i| new_movie(&format!("m{i}"), "2001-01-01"))
            .collect(),
    );
    let first = store.movies(PageRequest::first(3)).unwrap();
    assert_eq!(
        (ids(&first.items, |m| m.id), first.next),
        (vec![1, 2, 3], Some(3))
    );
    let last = store.movies(PageRequest::first(3).after(3)).unwrap();
    assert_eq!(
        (ids(&last.items, |m| m.id), last.next, last.total),
        (vec![4, 5, 6], None, 6)
    );
    let search = store
        .search_movies(&MovieQuery {
            q: Some("m".into()),
            page: PageRequest::first(3).after(3),
            ..MovieQuery::default()
        })
        .unwrap();
    assert_eq!(
        (search.items.len(), search.next, search.total),
        (3, None, 6)
    );
}

#[test]
fn a_search_total_counts_the_matches_before_the_page_too() {
    let (_dir, store) = store_with(
        (1..=10)
            .map(|i| {
                new_actor(
                    &format!("actor {i}"),
                    30,
                    if i % 2 == 0 { "Male" } else { "Female" },
                    None,
                )
            })
            .collect(),
    );
    let query = ActorQuery {
        gender: Some("male".into()),
        page: PageRequest::first(2).after(6),
        ..ActorQuery::default()
    };
    let page = store.search_actors(&query).unwrap();
    assert_eq!(
        (ids(&page.items, |a| a.id), page.total, page.next),
        (vec![8, 10], 5, None)
    );
}

fn actor_names(page: Page<Actor>) -> Vec<String> {
    page.items.into_iter().map(|a| a.name).collect()
}

fn movie_titles(page: Page<Movie>) -> Vec<String> {
    page.items.into_iter().map(|m| m.title).collect()
}

#[test]
fn q_matches_a_substring_of_the_name_in_any_case() {
    let (_dir, store) = store_with(vec![
        new_actor("Robert Downey Jr", 44, "Male", None),
        new_actor("ÉLODIE Bouchez", 50, "Female", None),
        new_actor("Rob", 30, "Male", None),
    ]);
    let search = |q: &str| {
        actor_names(
            store
                .search_actors(&ActorQuery {
                    q: Some(q.into()),
                    ..ActorQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search("DOWNEY"), ["Robert Downey Jr"]);
    assert_eq!(search("own"), ["Robert Downey Jr"]);
    assert_eq!(search("rob"), ["Robert Downey Jr", "Rob"]);
    assert_eq!(search("élodie"), ["ÉLODIE Bouchez"]);
    assert!(search("robert downey junior").is_empty());
}

#[test]
fn q_matches_a_substring_of_the_title_in_any_case() {
    let (_dir, store) = store_with(vec![
        new_movie("Universe", "2010-10-13"),
        new_movie("The Universal Soldier", "1992-07-10"),
        new_movie("Up", "2009-05-29"),
    ]);
    let search = |q: &str| {
        movie_titles(
            store
                .search_movies(&MovieQuery {
                    q: Some(q.into()),
                    ..MovieQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search("UNIVERS"), ["Universe", "The Universal Soldier"]);
    assert_eq!(search("p"), ["Up"]);
    assert!(search("universes").is_empty());
}

#[test]
fn gender_must_equal_the_whole_gender_ignoring_case() {
    let (_dir, store) = store_with(vec![
        new_actor("a", 30, "Male", None),
        new_actor("b", 30, "Female", None),
        new_actor("c", 30, "MALE", None),
    ]);
    let page = store
        .search_actors(&ActorQuery {
            gender: Some("male".into()),
            ..ActorQuery::default()
        })
        .unwrap();
    // "Female" contains "male" but is not it.
    assert_eq!(actor_names(page), ["a", "c"]);
}

#[test]
fn age_bounds_are_inclusive() {
    let (_dir, store) = store_with(
        [29, 30, 31, 40, 41]
            .into_iter()
            .map(|age| new_actor(&age.to_string(), age, "Male", None))
            .collect(),
    );
    let page = store
        .search_actors(&ActorQuery {
            min_age: Some(30),
            max_age: Some(40),
            ..ActorQuery::default()
        })
        .unwrap();
    assert_eq!(actor_names(page), ["30", "31", "40"]);
}

#[test]
fn movie_id_limits_a_search_to_that_movies_cast() {
    let (_dir, store) = store_with(vec![
        new_movie("One", "2001-01-01"),
        new_movie("Two", "2002-02-02"),
        new_actor("a", 30, "Male", Some(2)),
        new_actor("b", 30, "Male", Some(1)),
        new_actor("c", 30, "Male", Some(2)),
        new_actor("d", 30, "Male", None),
    ]);
    let search = |movie_id| {
        actor_names(
            store
                .search_actors(&ActorQuery {
                    movie_id: Some(movie_id),
                    ..ActorQuery::default()
                })
                .unwrap(),
        )
    };
    assert_eq!(search(2), ["a", "c"]);
    assert_eq!(search(1), ["b"]);
    assert!(search(3).is_empty());
}

#[test]
fn release_bounds_are_strict() {
    let (_dir, store) = store_with(vec![
        new_movie("before", "2000-12-31"),
        new_movie("first", "2001-01-01"),
        new_movie("middle", "2001-06-15"),
        new_movie("last", "2001-12-31"),
        new_movie("after", "2002-01-01"),
    ]);
    let page = store
        .search_movies(&MovieQuery {
            released_after: Some(date("2001-01-01")),
            released_before: Some(date("2001-12-31")),
            ..MovieQuery::default()
        })
        .unwrap();
    assert_eq!(movie_titles(page), ["middle"]);
}

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
    let outcomes: Vec<_> = results.into_iter().map(outcome).collect();
    assert!(matches!(outcomes[0], Outcome::Actor(Actor { id: 1, .. })));
    assert_eq!(outcomes[1], Outcome::NoSuchMovie);
    assert_eq!(outcomes[2], Outcome::NoSuchMovie);
    assert_eq!(outcomes[3], Outcome::NotFound(RecordKind::Movie, 9));
    // The refused create took no id, and the refused patch left the name.
    assert!(matches!(outcomes[4], Outcome::Actor(Actor { id: 2, .. })));
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
    let outcomes: Vec<_> = results.into_iter().map(outcome).collect();
    assert_eq!(outcomes, [Outcome::Deleted(1), Outcome::NoSuchMovie]);
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
    let movie = outcome(store.write(&crate::Principal::owner(), new_movie("Three", "2003-03-03")));
    let actor = outcome(store.write(&crate::Principal::owner(), new_actor("d", 33, "Male", None)));
    assert!(
        matches!(movie, Outcome::Movie(Movie { id: 3, .. })),
        "{movie:?}"
    );
    assert!(
        matches!(actor, Outcome::Actor(Actor { id: 4, .. })),
        "{actor:?}"
    );
}

/// What redb does on a page it cannot make sense of, short of damaging a
/// file (`tests/damaged_file.rs` does that).
fn panic_in_redb(store: &Store) -> Result<(), StoreError> {
    store.guard(|| panic!("internal error: entered unreachable code"))
}

#[test]
fn a_panic_in_redb_is_a_damaged_store_error() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    let error = panic_in_redb(&store).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the store file {} is damaged (redb panicked: internal error: entered unreachable \
             code): restore it from a backup",
            path.display()
        )
    );
}

#[test]
fn after_a_panic_in_redb_the_store_reopens_and_goes_on() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    store
        .write(
            &crate::Principal::owner(),
            new_movie("Before", "2001-01-01"),
        )
        .unwrap();
    store.prepare_search().unwrap();
    let generation = store.generation();
    panic_in_redb(&store).unwrap_err();
    // A reopen moves the generation: the suspect handle is gone.
    assert_ne!(store.generation(), generation);
    assert!(store.is_writable());
    store
        .write(
            &crate::Principal::owner(),
            new_actor("Ann", 30, "Female", Some(1)),
        )
        .unwrap();
    store
        .write(&crate::Principal::owner(), new_movie("After", "2002-02-02"))
        .unwrap();
    let titles: Vec<String> = all_movies(&store).into_iter().map(|m| m.title).collect();
    assert_eq!(titles, ["Before", "After"]);
    let found = store.search_actors(&ActorQuery::default()).unwrap();
    assert_eq!(actor_names(found), ["Ann"]);
}

#[test]
fn a_first_search_on_a_closed_store_reopens_it_without_deadlocking() {
    let (_dir, path) = temp_path();
    let store = Arc::new(Store::open(&path).unwrap());
    store
        .write(
            &crate::Principal::owner(),
            new_actor("Ann", 30, "Female", None),
        )
        .unwrap();
    // As a reopen that failed over a second ago leaves it.
    *store.handle.write().unwrap() = super::Handle::Closed;
    *store.last_reopen.lock().unwrap() = None;
    let (done, finished) = std::sync::mpsc::channel();
    let searcher = Arc::clone(&store);
    std::thread::spawn(move || {
        let found = searcher.search_actors(&ActorQuery::default());
        let _ = done.send(found.map(actor_names));
    });
    let found = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the search never returned");
    assert_eq!(found.unwrap(), ["Ann"]);
}

#[test]
fn a_new_store_records_the_current_schema_version() {
    let (_dir, path) = temp_path();
    let store = Store::open(&path).unwrap();
    assert_eq!(last_id(&store, SCHEMA_VERSION), CURRENT);
}

/// The names of the tables in the file at `path`, with the schema version.
fn file_state(path: &Path) -> (BTreeSet<String>, Option<u64>) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_read().unwrap();
    let tables = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect();
    let version = txn
        .open_table(META)
        .unwrap()
        .get(SCHEMA_VERSION)
        .unwrap()
        .map(|v| v.value());
    (tables, version)
}

#[test]
fn a_store_from_a_newer_build_is_refused_and_left_untouched() {
    let (_dir, path) = temp_path();
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION, CURRENT + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_state(&path);

    let refused = Store::open(&path);
    assert!(
        matches!(
            refused,
            Err(StoreError::NewerSchema { found, supported })
                if found == CURRENT + 1 && supported == CURRENT
        ),
        "{refused:?}"
    );

    let after = file_state(&path);
    assert_eq!(after, before);
    assert_eq!(
        after,
        (BTreeSet::from(["meta".to_owned()]), Some(CURRENT + 1))
    );
}

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
        let Outcome::Movie(movie) = outcome(store.write(
            &crate::Principal::owner(),
            new_movie(&format!("t{thread} r{round}"), "2001-01-01"),
        )) else {
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
            let Outcome::Actor(actor) = outcome(result) else {
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
