//! Writes: each is checked before it changes anything, so a batch of
//! independent writes can share one transaction and one durable commit, and
//! a write that is refused leaves its batch-mates untouched.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use redb::{ReadableTable, Table, WriteTransaction};

use super::read::actors_of;
use super::record::{ActorRecord, MovieRecord};
use super::tables::{ACTORS, CAST, LAST_ACTOR_ID, LAST_MOVIE_ID, META, MOVIES};
use super::{Store, StoreError};
use crate::error::{Error, RecordKind};
use crate::model::{Actor, ActorPatch, InvalidField, Movie, MoviePatch, NewActor, NewMovie};

/// One write to the store. Inputs are taken as given: validating them is
/// the caller's part (the [`Agency`](crate::Agency) does it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Creates a movie with the next movie id.
    CreateMovie(NewMovie),
    /// Changes the given fields of a movie.
    UpdateMovie(u64, MoviePatch),
    /// Deletes a movie and takes its actors off it.
    DeleteMovie(u64),
    /// Creates an actor with the next actor id.
    CreateActor(NewActor),
    /// Changes the given fields of an actor.
    UpdateActor(u64, ActorPatch),
    /// Deletes an actor.
    DeleteActor(u64),
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The movie as created or changed.
    Movie(Movie),
    /// The actor as created or changed.
    Actor(Actor),
    /// The id of the deleted record.
    Deleted(u64),
}

impl Written {
    /// The movie, if the write made or changed one.
    pub fn into_movie(self) -> Option<Movie> {
        match self {
            Written::Movie(movie) => Some(movie),
            _ => None,
        }
    }

    /// The actor, if the write made or changed one.
    pub fn into_actor(self) -> Option<Actor> {
        match self {
            Written::Actor(actor) => Some(actor),
            _ => None,
        }
    }

    /// The id, if the write deleted a record.
    pub fn into_deleted(self) -> Option<u64> {
        match self {
            Written::Deleted(id) => Some(id),
            _ => None,
        }
    }
}

/// What a delete removes, which its result (an id) does not say.
enum Deleted {
    Movie(u64),
    Actor(u64),
}

impl Deleted {
    fn of(write: &Write) -> Option<Self> {
        match write {
            Write::DeleteMovie(id) => Some(Deleted::Movie(*id)),
            Write::DeleteActor(id) => Some(Deleted::Actor(*id)),
            _ => None,
        }
    }
}

/// The tables of one write transaction.
struct Tables<'txn> {
    movies: Table<'txn, u64, &'static [u8]>,
    actors: Table<'txn, u64, &'static [u8]>,
    cast: Table<'txn, (u64, u64), ()>,
    meta: Table<'txn, &'static str, u64>,
}

fn not_found(kind: RecordKind, id: u64) -> Error {
    Error::NotFound { kind, id }
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            movies: txn.open_table(MOVIES)?,
            actors: txn.open_table(ACTORS)?,
            cast: txn.open_table(CAST)?,
            meta: txn.open_table(META)?,
        })
    }

    /// The next id of a sequence. Ids are never reused because the last
    /// one given is kept, not derived from the records left.
    fn next_id(&mut self, key: &'static str) -> Result<u64, Error> {
        let last = self
            .meta
            .get(key)
            .map_err(Error::redb)?
            .map_or(0, |v| v.value());
        let id = last.checked_add(1).ok_or(StoreError::IdsExhausted(key))?;
        self.meta.insert(key, id).map_err(Error::redb)?;
        Ok(id)
    }

    fn movie_record(&self, id: u64) -> Result<Option<MovieRecord>, Error> {
        match self.movies.get(id).map_err(Error::redb)? {
            Some(bytes) => Ok(Some(MovieRecord::decode(bytes.value())?)),
            None => Ok(None),
        }
    }

    fn actor_record(&self, id: u64) -> Result<Option<ActorRecord>, Error> {
        match self.actors.get(id).map_err(Error::redb)? {
            Some(bytes) => Ok(Some(ActorRecord::decode(bytes.value())?)),
            None => Ok(None),
        }
    }

    fn check_movie_exists(&self, movie_id: u64) -> Result<(), Error> {
        if self.movies.get(movie_id).map_err(Error::redb)?.is_some() {
            Ok(())
        } else {
            Err(InvalidField::new("movie_id", format!("no movie with id {movie_id}")).into())
        }
    }

    fn movie(&self, id: u64, record: MovieRecord) -> Result<Movie, Error> {
        Ok(record.into_movie(id, actors_of(&self.cast, id)?))
    }

    fn put_movie(&mut self, id: u64, record: &MovieRecord) -> Result<(), Error> {
        self.movies
            .insert(id, record.encode().as_slice())
            .map_err(Error::redb)?;
        Ok(())
    }

    /// Stores an actor and moves its cast entry from `old_movie` to its movie.
    fn put_actor(
        &mut self,
        id: u64,
        record: &ActorRecord,
        old_movie: Option<u64>,
    ) -> Result<(), Error> {
        self.actors
            .insert(id, record.encode().as_slice())
            .map_err(Error::redb)?;
        if old_movie != record.movie_id {
            if let Some(old) = old_movie {
                self.cast.remove((old, id)).map_err(Error::redb)?;
            }
            if let Some(new) = record.movie_id {
                self.cast.insert((new, id), ()).map_err(Error::redb)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, write: Write) -> Result<Written, Error> {
        match write {
            Write::CreateMovie(input) => {
                let id = self.next_id(LAST_MOVIE_ID)?;
                let record = MovieRecord {
                    title: input.title,
                    release: input.release,
                };
                self.put_movie(id, &record)?;
                Ok(Written::Movie(record.into_movie(id, Vec::new())))
            }
            Write::UpdateMovie(id, patch) => {
                let mut record = self
                    .movie_record(id)?
                    .ok_or(not_found(RecordKind::Movie, id))?;
                if let Some(title) = patch.title {
                    record.title = title;
                }
                if let Some(release) = patch.release {
                    record.release = release;
                }
                self.put_movie(id, &record)?;
                self.movie(id, record).map(Written::Movie)
            }
            Write::DeleteMovie(id) => {
                if self.movies.remove(id).map_err(Error::redb)?.is_none() {
                    return Err(not_found(RecordKind::Movie, id));
                }
                for actor_id in actors_of(&self.cast, id)? {
                    let mut record = self.actor_record(actor_id)?.ok_or_else(|| {
                        StoreError::Corrupt(format!("cast names missing actor {actor_id}"))
                    })?;
                    record.movie_id = None;
                    self.put_actor(actor_id, &record, Some(id))?;
                }
                Ok(Written::Deleted(id))
            }
            Write::CreateActor(input) => {
                if let Some(movie_id) = input.movie_id {
                    self.check_movie_exists(movie_id)?;
                }
                let id = self.next_id(LAST_ACTOR_ID)?;
                let record = ActorRecord {
                    name: input.name,
                    age: input.age,
                    gender: input.gender,
                    movie_id: input.movie_id,
                };
                self.put_actor(id, &record, None)?;
                Ok(Written::Actor(record.into_actor(id)))
            }
            Write::UpdateActor(id, patch) => {
                let mut record = self
                    .actor_record(id)?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                if let Some(Some(movie_id)) = patch.movie_id {
                    self.check_movie_exists(movie_id)?;
                }
                let old_movie = record.movie_id;
                if let Some(name) = patch.name {
                    record.name = name;
                }
                if let Some(age) = patch.age {
                    record.age = age;
                }
                if let Some(gender) = patch.gender {
                    record.gender = gender;
                }
                if let Some(movie_id) = patch.movie_id {
                    record.movie_id = movie_id;
                }
                self.put_actor(id, &record, old_movie)?;
                Ok(Written::Actor(record.into_actor(id)))
            }
            Write::DeleteActor(id) => {
                let record = self
                    .actor_record(id)?
                    .ok_or(not_found(RecordKind::Actor, id))?;
                self.actors.remove(id).map_err(Error::redb)?;
                if let Some(movie_id) = record.movie_id {
                    self.cast.remove((movie_id, id)).map_err(Error::redb)?;
                }
                Ok(Written::Deleted(id))
            }
        }
    }
}

impl Store {
    /// Applies one write in its own durable transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing record, [`Error::Invalid`] naming
    /// `movie_id` for a movie that does not exist, [`Error::Storage`] when
    /// the store fails; in every case nothing was written.
    pub fn write(&self, write: Write) -> Result<Written, Error> {
        let mut results = self.write_batch(vec![write])?;
        results.pop().unwrap_or_else(|| {
            Err(StoreError::Corrupt("a batch of one gave no result".into()).into())
        })
    }

    /// Applies independent writes in one transaction with one durable
    /// commit, in order, each with its own result: a refused write changes
    /// nothing and does not stop the others. Results are final once this
    /// returns `Ok`.
    ///
    /// # Errors
    /// When the store fails, the whole batch is rolled back and this error
    /// stands for every write in it.
    pub fn write_batch(
        &self,
        writes: Vec<Write>,
    ) -> Result<Vec<Result<Written, Error>>, StoreError> {
        self.guard(|| self.write_batch_unguarded(writes))
    }

    fn write_batch_unguarded(
        &self,
        writes: Vec<Write>,
    ) -> Result<Vec<Result<Written, Error>>, StoreError> {
        let deletes: Vec<Option<Deleted>> = writes.iter().map(Deleted::of).collect();
        let txn = self.begin_write()?;
        let results = {
            let mut tables = Tables::open(&txn)?;
            let mut results = Vec::with_capacity(writes.len());
            for write in writes {
                match tables.apply(write) {
                    // A refusal is checked before the first change, so the
                    // transaction is as it was; a storage failure may have
                    // left it half-done, so the whole batch goes.
                    Err(Error::Storage(e)) => return Err(e),
                    result => results.push(result),
                }
            }
            results
        };
        txn.commit()?;
        self.update_index(&deletes, &results);
        // Last, so a reader that saw the old generation read older data.
        self.generation.fetch_add(1, Ordering::Release);
        Ok(results)
    }

    /// Brings the actor index in step with a commit.
    fn update_index(&self, deletes: &[Option<Deleted>], results: &[Result<Written, Error>]) {
        let mut guard = self
            .actor_index
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(index) = guard.as_mut() else { return };
        for (deleted, result) in deletes.iter().zip(results) {
            match (deleted, result) {
                (_, Ok(Written::Actor(actor))) => index.upsert(actor),
                (Some(Deleted::Actor(id)), Ok(_)) => index.remove(*id),
                (Some(Deleted::Movie(id)), Ok(_)) => index.unassign(*id),
                _ => {}
            }
        }
    }
}
