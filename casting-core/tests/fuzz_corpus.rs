//! The checks of the `body`, `release_date`, `store` and `store_file` fuzz
//! targets, and
//! the regression tests that replay their corpus (`fuzz/corpus/<target>/`)
//! through them, so every case the fuzzer kept is run by `cargo test`.
//!
//! The checks live here only: the fuzz crate includes this file as a module
//! (`fuzz/src/lib.rs`), and each target is one call to [`check_body`],
//! [`check_release_date`], [`check_store`] or [`check_store_file`]. A
//! check panics on a finding;
//! any input, even one that decodes to nothing useful, is a valid input.
//!
//! - `body`: bytes as a request body, through the four `from_json` decoders.
//! - `release_date`: bytes as a string, through `ReleaseDate`'s parser and
//!   printer.
//! - `store`: bytes decoded as up to [`MAX_STEPS`] writes, batches, reopens,
//!   lists and searches, run against a [`Store`] in a temporary directory
//!   and against [`Model`], two `BTreeMap`s that do what the contract says,
//!   compared after every step (as redb checks itself against a `BTreeMap`).
//! - `store_file`: bytes decoded as up to [`MAX_PATCHES`] patches to a valid
//!   store file, at rest or under the open store, which is opened and given
//!   every read, writes, a batch and a reopen (`support/damaged_store.rs`):
//!   nothing may panic out of casting-core, and every error must read as
//!   the contract says.

// The whole file is test code: a panic is how a check reports a finding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;

use casting_core::{
    Actor, ActorPatch, ActorQuery, Counts, Error, InvalidField, Movie, MoviePatch, MovieQuery,
    NewActor, NewMovie, Page, PageRequest, RecordKind, ReleaseDate, Store, Write, Written,
};
use serde_json::Value;

#[path = "support/damaged_store.rs"]
pub mod damaged_store;

// ---------------------------------------------------------------- body

/// Fields a client may send back from a record it read; the contract says
/// they are ignored.
const READ_ONLY: [&str; 2] = ["id", "actors"];

/// Reads `data` as a JSON body and runs it through the four decoders.
///
/// An accepted body passes its `validate()` and the contract's rules, a
/// created record round-trips through `serde_json::to_value` and
/// `from_json`, a body good for a create is good for a patch, read-only
/// fields change nothing, and a refusal names the field at fault.
pub fn check_body(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let stripped = without_read_only(&body);

    let new_movie = NewMovie::from_json(&body);
    let movie_patch = MoviePatch::from_json(&body);
    let new_actor = NewActor::from_json(&body);
    let actor_patch = ActorPatch::from_json(&body);

    names_a_field(&body, &new_movie, &["title", "release"]);
    names_a_field(&body, &movie_patch, &[]);
    names_a_field(&body, &new_actor, &["name", "age", "gender"]);
    names_a_field(&body, &actor_patch, &[]);

    assert_eq!(
        NewMovie::from_json(&stripped),
        new_movie,
        "id/actors mattered"
    );
    assert_eq!(
        MoviePatch::from_json(&stripped),
        movie_patch,
        "id/actors mattered"
    );
    assert_eq!(
        NewActor::from_json(&stripped),
        new_actor,
        "id/actors mattered"
    );
    assert_eq!(
        ActorPatch::from_json(&stripped),
        actor_patch,
        "id/actors mattered"
    );

    if let Ok(movie) = &new_movie {
        assert_eq!(movie.validate(), Ok(()), "{movie:?}");
        assert_text_rule(&movie.title, 200);
        round_trips(movie, NewMovie::from_json);
        assert!(
            movie_patch.is_ok(),
            "a create body is refused as a patch: {movie_patch:?}"
        );
    }
    if let Ok(patch) = &movie_patch {
        assert_eq!(patch.validate(), Ok(()), "{patch:?}");
        assert!(
            patch.title.is_some() || patch.release.is_some(),
            "empty patch accepted"
        );
        if let Some(title) = &patch.title {
            assert_text_rule(title, 200);
        }
        round_trips(patch, MoviePatch::from_json);
    }
    if let Ok(actor) = &new_actor {
        assert_eq!(actor.validate(), Ok(()), "{actor:?}");
        assert_text_rule(&actor.name, 200);
        assert_text_rule(&actor.gender, 64);
        assert!(actor.age <= 150, "{actor:?}");
        assert_ne!(actor.movie_id, Some(0), "movie id 0 accepted");
        round_trips(actor, NewActor::from_json);
        assert!(
            actor_patch.is_ok(),
            "a create body is refused as a patch: {actor_patch:?}"
        );
    }
    if let Ok(patch) = &actor_patch {
        assert_eq!(patch.validate(), Ok(()), "{patch:?}");
        assert_ne!(*patch, ActorPatch::default(), "empty patch accepted");
        if let Some(name) = &patch.name {
            assert_text_rule(name, 200);
        }
        if let Some(gender) = &patch.gender {
            assert_text_rule(gender, 64);
        }
        assert!(patch.age.is_none_or(|age| age <= 150), "{patch:?}");
        assert_ne!(patch.movie_id, Some(Some(0)), "movie id 0 accepted");
        round_trips(patch, ActorPatch::from_json);
    }
}

fn without_read_only(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        for key in READ_ONLY {
            object.remove(key);
        }
    }
    body
}

/// A refusal names `body`, a field the body has, or a required one it lacks.
fn names_a_field<T: Debug>(body: &Value, result: &Result<T, InvalidField>, required: &[&str]) {
    let Err(error) = result else { return };
    let field = error.field.as_ref();
    assert!(
        field == "body" || body.get(field).is_some() || required.contains(&field),
        "the error names {field:?}, which is not in the body: {error}"
    );
    assert!(
        !error.reason.is_empty(),
        "an error without a reason: {error:?}"
    );
}

/// The contract's rule for `title`, `name` and `gender`.
fn assert_text_rule(text: &str, max_chars: usize) {
    assert!(!text.trim().is_empty(), "blank text accepted: {text:?}");
    assert!(
        text.chars().count() <= max_chars,
        "over {max_chars} characters accepted: {text:?}"
    );
}

fn round_trips<T: serde::Serialize + PartialEq + Debug>(
    input: &T,
    from_json: fn(&Value) -> Result<T, InvalidField>,
) {
    let value = serde_json::to_value(input).unwrap();
    assert_eq!(from_json(&value).as_ref(), Ok(input), "sent as {value}");
}

// ---------------------------------------------------------------- release_date

/// Parses `data` as a release date. A date it accepts is within years 1 to
/// 9999, keeps the calendar day that was written, prints as the RFC 9110
/// IMF-fixdate of that day at midnight (as jiff's strftime spells it) and parses back
/// to itself from that, from `YYYY-MM-DD`, through serde and through its
/// ordinal.
pub fn check_release_date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(date) = text.parse::<ReleaseDate>() else {
        return;
    };
    assert!(
        (ReleaseDate::MIN..=ReleaseDate::MAX).contains(&date),
        "{date:?}"
    );

    let shown = date.to_string();
    let civil = jiff::civil::date(date.year(), date.month(), date.day());
    // jiff's timestamps stop short of 9999-12-31, so the IMF-fixdate is
    // spelled with its strftime, which knows weekdays and month names.
    let imf = jiff::fmt::strtime::format("%a, %d %b %Y 00:00:00 GMT", civil).unwrap();
    assert_eq!(shown, imf, "not the IMF-fixdate of {date:?}");
    assert_eq!(
        shown.parse::<ReleaseDate>(),
        Ok(date),
        "{shown:?} does not parse back"
    );

    let iso = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
    assert_eq!(iso.parse::<ReleaseDate>(), Ok(date), "{iso:?}");
    // A date-time keeps the day as written, whatever its offset.
    let trimmed = text.trim();
    if trimmed.len() >= 10
        && trimmed.as_bytes()[..10]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'-')
    {
        assert_eq!(&trimmed[..10], iso, "{text:?} kept another day");
    }

    let json = serde_json::to_string(&date).unwrap();
    assert_eq!(serde_json::from_str::<ReleaseDate>(&json).unwrap(), date);
    assert_eq!(ReleaseDate::from_ordinal(date.to_ordinal()), Ok(date));
}

// ---------------------------------------------------------------- store

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

/// A fuzz input read one byte at a time; past its end every byte reads as
/// 0, so every input decodes to something.
pub struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    /// The reader of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes(data)
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next byte.
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    /// The next `n` bytes, or fewer at the end.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }

    /// One of `choices`, chosen by the next byte.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }

    /// `Some` of what `f` reads when the next byte is odd.
    pub fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.byte() % 2 == 1).then(|| f(self))
    }
}

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

/// What a write did, in a form both the store and the model give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The movie as created or changed.
    Movie(Movie),
    /// The actor as created or changed.
    Actor(Actor),
    /// The id deleted.
    Deleted(u64),
    /// No record with that id.
    NotFound(RecordKind, u64),
    /// The actor's `movie_id` names no movie.
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
        Err(other) => panic!("the store failed: {other:?}"),
    }
}

/// The contract in its plainest form: records in `BTreeMap`s, ids from
/// counters that only go up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Model {
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
        let owner = casting_core::Principal::owner();
        if let Err(Error::Invalid(invalid)) =
            casting_core::Agency::check_write(&owner, write.clone())
        {
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

    fn search_movies(&self, query: &MovieQuery) -> Page<Movie> {
        let matching: Vec<Movie> = self
            .movies()
            .into_iter()
            .filter(|m| {
                query
                    .q
                    .as_deref()
                    .is_none_or(|q| contains_ignoring_case(&m.title, q))
                    && query.released_after.is_none_or(|d| m.release_date > d)
                    && query.released_before.is_none_or(|d| m.release_date < d)
            })
            .collect();
        let total = matching.len() as u64;
        page_of(matching, |m| m.id, query.page, total)
    }

    fn search_actors(&self, query: &ActorQuery) -> Page<Actor> {
        let matching: Vec<Actor> = self
            .actors()
            .into_iter()
            .filter(|a| {
                query
                    .q
                    .as_deref()
                    .is_none_or(|q| contains_ignoring_case(&a.name, q))
                    && query
                        .gender
                        .as_deref()
                        .is_none_or(|g| a.gender.to_lowercase() == g.to_lowercase())
                    && query.min_age.is_none_or(|min| a.age >= min)
                    && query.max_age.is_none_or(|max| a.age <= max)
                    && query.movie_id.is_none_or(|m| a.movie_id == Some(m))
            })
            .collect();
        let total = matching.len() as u64;
        page_of(matching, |a| a.id, query.page, total)
    }
}

/// The contract's "matches case-insensitively anywhere": both sides in
/// Unicode lowercase.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The page of `items` (ascending by id) that `request` asks for.
fn page_of<T>(items: Vec<T>, id: fn(&T) -> u64, request: PageRequest, total: u64) -> Page<T> {
    let start = request.after.map_or(1, |after| after.saturating_add(1));
    let mut rest: Vec<T> = items.into_iter().filter(|item| id(item) >= start).collect();
    let limit = request.limit.map_or(usize::MAX, |limit| limit as usize);
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(id) } else { None };
    Page {
        items: rest,
        total,
        next,
    }
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
            model.actors.get(&id).cloned(),
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
                let movies = model.movies();
                let total = movies.len() as u64;
                let expected = page_of(movies, |m| m.id, request, total);
                let found = store.movies(request).unwrap();
                assert_eq!(found, expected, "step {n}: {request:?}");
            }
            Step::Actors(request) => {
                let actors = model.actors();
                let total = actors.len() as u64;
                let expected = page_of(actors, |a| a.id, request, total);
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

// ---------------------------------------------------------------- store file

/// The most patches one `store_file` input makes.
pub const MAX_PATCHES: usize = 16;

/// The most bytes one fill patch writes: four pages.
const MAX_FILL: usize = 4 * 4096;

/// The patches `data` stands for, as `(offset, bytes)`: at most
/// [`MAX_PATCHES`], each an offset (3 bytes, little-endian, modulo `len`,
/// the length of the file), then a byte whose parity chooses between
/// literal bytes (a length byte, then that many bytes) and a fill (2 bytes
/// of length, modulo [`MAX_FILL`], plus one, then the byte to fill with).
/// Literal bytes change a field; a fill wipes a page or several.
pub fn store_file_patches(data: &[u8], len: usize) -> Vec<(usize, Vec<u8>)> {
    let mut input = Bytes::new(data);
    let mut patches = Vec::new();
    while !input.is_empty() && patches.len() < MAX_PATCHES {
        let [a, b, c] = [input.byte(), input.byte(), input.byte()];
        let offset = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
        let offset = offset % len.max(1);
        let bytes = if input.byte().is_multiple_of(2) {
            let n = usize::from(input.byte());
            input.take(n).to_vec()
        } else {
            let n = usize::from(u16::from_le_bytes([input.byte(), input.byte()]));
            vec![input.byte(); n % MAX_FILL + 1]
        };
        patches.push((offset, bytes));
    }
    patches
}

/// Runs every operation on a copy of the valid store file patched by
/// `data`. Its first byte says when the patches land: when even, on the
/// file at rest, where opening verifies every page and so refuses nearly
/// all damage; when odd, under the open store (a failing disk), so the
/// operations meet it while serving. The patches are the rest of `data`.
///
/// Nothing may panic out of casting-core, opening fails with a store
/// error if at all, and every error is one line (a damaged file's names
/// the file and says to restore it). Without patches the store must
/// answer everything: the harness starts from a good file.
pub fn check_store_file(data: &[u8]) -> damaged_store::Report {
    let (when, data) = data.split_first().unwrap_or((&0, data));
    let image = damaged_store::valid_image();
    let patches = store_file_patches(data, image.len());
    let dir = tempfile::tempdir_in(damaged_store::scratch_dir()).unwrap();
    let path = dir.path().join("casting.redb");
    std::fs::write(&path, image).unwrap();
    let damage = || {
        for (offset, bytes) in &patches {
            damaged_store::overwrite(&path, *offset, bytes);
        }
    };
    let report = if when % 2 == 1 {
        damaged_store::exercise_damaged_while_open(&path, damage)
    } else {
        damage();
        damaged_store::exercise(&path)
    };
    if patches.is_empty() {
        assert!(report.opened && report.failed == 0, "{report:?}");
    }
    report
}

// ---------------------------------------------------------------- replay

/// The files of `fuzz/corpus/<target>`, by name.
#[cfg(test)]
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Replays every file of the corpus of `target`, naming the one that fails.
#[cfg(test)]
fn replay(target: &str, mut check: impl FnMut(&[u8])) {
    for (path, data) in corpus(target) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        if let Err(panic) = result {
            eprintln!("{} fails its check", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn every_body_in_the_corpus_passes_the_body_checks() {
    replay("body", check_body);
}

/// The checks above pass vacuously on a corpus whose bodies every decoder
/// refuses, or accepts: this one says each decoder does both.
#[test]
fn the_body_corpus_is_accepted_and_refused_by_every_decoder() {
    let bodies: Vec<Value> = corpus("body")
        .iter()
        .filter_map(|(_, data)| serde_json::from_slice(data).ok())
        .collect();
    let both =
        |decode: &dyn Fn(&Value) -> bool| bodies.iter().any(decode) && !bodies.iter().all(decode);
    assert!(both(&|b| NewMovie::from_json(b).is_ok()));
    assert!(both(&|b| MoviePatch::from_json(b).is_ok()));
    assert!(both(&|b| NewActor::from_json(b).is_ok()));
    assert!(both(&|b| ActorPatch::from_json(b).is_ok()));
}

#[test]
fn every_string_in_the_corpus_passes_the_release_date_checks() {
    replay("release_date", check_release_date);
}

#[test]
fn every_sequence_in_the_corpus_leaves_the_store_agreeing_with_the_model() {
    replay("store", check_store);
}

/// Besides the checks, the corpus must hold files that fail to open, files
/// whose damage is found while serving, and files that answer everything,
/// or the checks would pass vacuously. One test, because each file costs a
/// store's worth of commits.
#[test]
fn every_patch_list_in_the_corpus_leaves_the_store_answering_without_panics() {
    let (mut refused, mut damaged_while_serving, mut answered) = (false, false, false);
    replay("store_file", |data| {
        let report = check_store_file(data);
        refused |= !report.opened;
        damaged_while_serving |= report.opened && report.damaged > 0;
        answered |= report.opened && report.failed == 0;
    });
    assert!(refused, "no file in the corpus fails to open");
    assert!(
        damaged_while_serving,
        "no file's damage is found while serving"
    );
    assert!(answered, "no file answers everything");
}
