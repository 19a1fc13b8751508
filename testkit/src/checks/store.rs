//! The check of the `store` fuzz target: bytes decoded as up to
//! [`MAX_STEPS`] writes, batches, reopens, lists and searches, run against
//! a [`Store`] in a temporary directory and against [`Model`], compared
//! after every step (as redb checks itself against a `BTreeMap`).

use casting_core::{
    ActorPatch, ActorQuery, MoviePatch, MovieQuery, NewActor, NewMovie, PageRequest, ReleaseDate,
    Store, Write,
};

use crate::bytes::Bytes;
use crate::damaged_store;
use crate::model::{Model, Outcome, outcome};

/// The most steps one input decodes to. Every write step is one durable
/// commit, so sequences stay short.
pub const MAX_STEPS: usize = 16;
/// The most writes in one batch step.
const MAX_BATCH: usize = 4;

/// Ids the steps aim at: 0 never exists, the small ones are created,
/// deleted and passed by, and `u64::MAX` is far beyond any.
const IDS: [u64; 14] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, u64::MAX];

/// Letters for titles, names and searches: a few ASCII ones in both cases
/// and non-ASCII ones whose case mapping is unusual (`é`/`É`, the Kelvin
/// sign, the dotted capital I, `ß` and its capital, sigma), so that
/// case-insensitive search is exercised beyond ASCII.
const LETTERS: [char; 16] = [
    'a', 'b', 'k', 'i', 'A', 'B', 'K', 'I', ' ', 'é', 'É', '\u{212A}', '\u{130}', 'ß', '\u{1E9E}',
    'Σ',
];

const GENDERS: [&str; 5] = ["Male", "male", "Female", "FEMALE", "Other"];

/// One step of a store sequence.
#[derive(Debug, Clone)]
pub enum Step {
    /// A write in its own transaction.
    One(Write),
    /// Writes sharing one transaction.
    Batch(Vec<Write>),
    /// Dropping the store and opening the file again.
    Reopen,
    /// `Store::reopen`, the recovery after a storage failure.
    ReopenInPlace,
    /// A page of `GET /movies`.
    Movies(PageRequest),
    /// A page of `GET /actors`.
    Actors(PageRequest),
    /// A page of `GET /movies/search`.
    SearchMovies(MovieQuery),
    /// A page of `GET /actors/search`.
    SearchActors(ActorQuery),
}

fn text(input: &mut Bytes) -> String {
    let len = input.byte();
    if len % 8 == 7 {
        // Now and then any text at all.
        let n = usize::from(input.byte() % 12);
        return String::from_utf8_lossy(input.take(n)).into_owned();
    }
    (0..len % 7).map(|_| input.pick(&LETTERS)).collect()
}

fn release(input: &mut Bytes) -> ReleaseDate {
    let (year, month, day) = input.pick(&[
        (2000, 1, 1),
        (2000, 1, 2),
        (2000, 2, 1),
        (2001, 1, 1),
        (2001, 1, 2),
        (2003, 12, 31),
        (1, 1, 1),
        (9999, 12, 31),
    ]);
    ReleaseDate::new(year, month, day).unwrap()
}

fn gender(input: &mut Bytes) -> String {
    match input.byte() % 4 {
        0 => text(input),
        _ => input.pick(&GENDERS).to_owned(),
    }
}

fn id(input: &mut Bytes) -> u64 {
    input.pick(&IDS)
}

fn page(input: &mut Bytes) -> PageRequest {
    // Limits within the contract's 1 to 1000.
    let limit = match input.byte() % 8 {
        0 => None,
        7 => Some(1000),
        n => Some(u32::from(n)),
    };
    PageRequest {
        limit,
        after: input.option(id),
    }
}

fn write(input: &mut Bytes) -> Write {
    match input.byte() % 6 {
        0 => Write::CreateMovie(NewMovie {
            title: text(input),
            release: release(input),
        }),
        1 => Write::UpdateMovie(
            id(input),
            MoviePatch {
                title: input.option(text),
                release: input.option(release),
            },
        ),
        2 => Write::DeleteMovie(id(input)),
        3 => Write::CreateActor(NewActor {
            name: text(input),
            age: input.byte(),
            gender: gender(input),
            movie_id: input.option(id),
        }),
        4 => Write::UpdateActor(
            id(input),
            ActorPatch {
                name: input.option(text),
                age: input.option(Bytes::byte),
                gender: input.option(gender),
                movie_id: input.option(|input| input.option(id)),
            },
        ),
        _ => Write::DeleteActor(id(input)),
    }
}

/// The steps `data` stands for: at most [`MAX_STEPS`], each chosen by one
/// byte and built from the bytes after it.
pub fn store_steps(data: &[u8]) -> Vec<Step> {
    let mut input = Bytes::new(data);
    let mut steps = Vec::new();
    while !input.is_empty() && steps.len() < MAX_STEPS {
        let step = match input.byte() % 16 {
            0..=6 => Step::One(write(&mut input)),
            7 | 8 => {
                let n = 2 + usize::from(input.byte()) % (MAX_BATCH - 1);
                Step::Batch((0..n).map(|_| write(&mut input)).collect())
            }
            9 => Step::Reopen,
            10 => Step::Movies(page(&mut input)),
            11 => Step::Actors(page(&mut input)),
            12 => Step::SearchMovies(MovieQuery {
                q: input.option(text),
                released_after: input.option(release),
                released_before: input.option(release),
                page: page(&mut input),
            }),
            13 | 14 => Step::SearchActors(ActorQuery {
                q: input.option(text),
                gender: input.option(gender),
                min_age: input.option(Bytes::byte),
                max_age: input.option(Bytes::byte),
                movie_id: input.option(id),
                page: page(&mut input),
            }),
            _ => Step::ReopenInPlace,
        };
        steps.push(step);
    }
    steps
}

fn assert_agrees(store: &Store, model: &Model, step: usize) {
    let all = PageRequest::default();
    assert_eq!(
        store.movies(all).unwrap().items,
        model.movies(),
        "movies after step {step}"
    );
    assert_eq!(
        store.actors(all).unwrap().items,
        model.actors(),
        "actors after step {step}"
    );
    assert_eq!(
        store.counts().unwrap(),
        model.counts(),
        "counts after step {step}"
    );
    for id in IDS {
        assert_eq!(
            store.movie(id).unwrap(),
            model.movie(id),
            "movie {id} after step {step}"
        );
        assert_eq!(
            store.actor(id).unwrap(),
            model.actor(id),
            "actor {id} after step {step}"
        );
    }
}

/// Runs the steps of `data` against a new store and the model, checking
/// after each that both hold the same records, that every write, list and
/// search gave the same answer, that the store still takes writes, and that
/// its generation moved whenever its records did (the server's response
/// cache relies on that).
pub fn check_store(data: &[u8]) {
    let steps = store_steps(data);
    // On a RAM disk when there is one: every commit is flushed, and the
    // flushes are not what is checked here (`tests/crash.rs` checks those).
    let dir = tempfile::tempdir_in(damaged_store::scratch_dir()).unwrap();
    let path = dir.path().join("casting.redb");
    let mut store = Store::open(&path).unwrap();
    let mut model = Model::default();
    for (n, step) in steps.into_iter().enumerate() {
        let (generation, before) = (store.generation(), model.clone());
        match step {
            Step::One(write) => {
                let expected = model.apply(&write);
                assert_eq!(
                    outcome(store.write(&casting_core::Principal::owner(), write)),
                    expected,
                    "step {n}"
                );
            }
            Step::Batch(writes) => {
                let expected: Vec<Outcome> = writes.iter().map(|w| model.apply(w)).collect();
                let results = store
                    .write_batch(&casting_core::Principal::owner(), writes)
                    .unwrap();
                let outcomes: Vec<Outcome> = results.into_iter().map(outcome).collect();
                assert_eq!(outcomes, expected, "step {n}");
            }
            Step::Reopen => {
                // redb refuses a second handle on an open file.
                drop(store);
                store = Store::open(&path).unwrap();
            }
            Step::ReopenInPlace => store.reopen().unwrap(),
            Step::Movies(request) => {
                let expected = model.movies_page(request);
                let found = store.movies(request).unwrap();
                assert_eq!(found, expected, "step {n}: {request:?}");
            }
            Step::Actors(request) => {
                let expected = model.actors_page(request);
                let found = store.actors(request).unwrap();
                assert_eq!(found, expected, "step {n}: {request:?}");
            }
            Step::SearchMovies(query) => {
                let found = store.search_movies(&query).unwrap();
                assert_eq!(found, model.search_movies(&query), "step {n}: {query:?}");
            }
            Step::SearchActors(query) => {
                let found = store.search_actors(&query).unwrap();
                assert_eq!(found, model.search_actors(&query), "step {n}: {query:?}");
            }
        }
        assert!(store.is_writable(), "step {n} left the store read-only");
        if model != before {
            assert_ne!(store.generation(), generation, "step {n} changed records");
        }
        assert_agrees(&store, &model, n);
    }
}
