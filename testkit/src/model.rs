//! The store's reference model: the contract in its plainest form, two
//! `BTreeMap`s and two id counters, which the store is checked against by
//! the model-based tests (`casting-core/tests/store_model.rs`) and the
//! `store` fuzz target ([`crate::checks::store`]).

use std::collections::{BTreeMap, BTreeSet};

use casting_core::{
    Actor, ActorQuery, Counts, Error, Movie, MovieQuery, Page, PageRequest, RecordKind,
    ReleaseDate, Write, Written,
};

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

/// The [`Outcome`] of a store's answer to a write. Any error other than a
/// refusal the contract names is a failure of the store, and panics.
pub fn outcome(result: Result<Written, Error>) -> Outcome {
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
    /// The movie `id`, with its cast in ascending order, as the store shows it.
    pub fn movie(&self, id: u64) -> Option<Movie> {
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

    /// Every movie, ascending by id.
    pub fn movies(&self) -> Vec<Movie> {
        self.movies
            .keys()
            .filter_map(|&id| self.movie(id))
            .collect()
    }

    /// The actor `id`.
    pub fn actor(&self, id: u64) -> Option<Actor> {
        self.actors.get(&id).cloned()
    }

    /// Every actor, ascending by id.
    pub fn actors(&self) -> Vec<Actor> {
        self.actors.values().cloned().collect()
    }

    /// The last movie id given, 0 before the first: ids are never reused.
    pub fn last_movie_id(&self) -> u64 {
        self.last_movie_id
    }

    /// The last actor id given, 0 before the first.
    pub fn last_actor_id(&self) -> u64 {
        self.last_actor_id
    }

    /// The cast as `(movie id, actor id)` pairs: what the store's cast
    /// index must hold.
    pub fn cast(&self) -> BTreeSet<(u64, u64)> {
        self.actors
            .values()
            .filter_map(|a| a.movie_id.map(|m| (m, a.id)))
            .collect()
    }

    /// The page of `GET /movies` that `request` asks for.
    pub fn movies_page(&self, request: PageRequest) -> Page<Movie> {
        let movies = self.movies();
        let total = movies.len() as u64;
        page_of(movies, |m| m.id, request, total)
    }

    /// The page of `GET /actors` that `request` asks for.
    pub fn actors_page(&self, request: PageRequest) -> Page<Actor> {
        let actors = self.actors();
        let total = actors.len() as u64;
        page_of(actors, |a| a.id, request, total)
    }

    /// How many movies and actors there are.
    pub fn counts(&self) -> Counts {
        Counts {
            movies: self.movies.len() as u64,
            actors: self.actors.len() as u64,
        }
    }

    /// Applies `write` as the store must, and says what it did. A write
    /// the input rules refuse ([`casting_core::Agency::check_write`])
    /// changes nothing and is [`Outcome::Invalid`].
    pub fn apply(&mut self, write: &Write) -> Outcome {
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

    /// The page of `GET /movies/search` that `query` asks for.
    pub fn search_movies(&self, query: &MovieQuery) -> Page<Movie> {
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

    /// The page of `GET /actors/search` that `query` asks for.
    pub fn search_actors(&self, query: &ActorQuery) -> Page<Actor> {
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

/// The page of `items` (ascending by id) that `request` asks for, with
/// `total` as its total.
pub fn page_of<T>(items: Vec<T>, id: fn(&T) -> u64, request: PageRequest, total: u64) -> Page<T> {
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
