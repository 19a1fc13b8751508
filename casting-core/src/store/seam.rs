//! The redb store behind the [`Backend`] seam, with its export and import.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::Store;
use super::audit::kind_code;
use super::record::{ActorRecord, MovieRecord};
use super::tables::{
    ABOUT, ACTORS, AUDIT, CAST, LAST_ACTOR_ID, LAST_AUDIT_ID, LAST_MOVIE_ID, META, MOVIES, RECAST,
    RECORD_SPACE,
};
use crate::audit::{AuditPage, AuditQuery, Versioned};
use crate::backend::import::{ImportCheck, recast_by};
use crate::backend::{Backend, CheckedWrite, Committed, Counts, Item, StoreError};
use crate::error::Error;
use crate::model::{Actor, Movie, RecordKind};
use crate::query::{ActorQuery, MovieQuery, Page, PageRequest};

impl Backend for Store {
    fn movie_versioned(&self, id: u64) -> Result<Option<Versioned<Movie>>, StoreError> {
        Store::movie_versioned(self, id)
    }

    fn actor_versioned(&self, id: u64) -> Result<Option<Versioned<Actor>>, StoreError> {
        Store::actor_versioned(self, id)
    }

    fn movies(&self, request: PageRequest) -> Result<Page<Movie>, StoreError> {
        Store::movies(self, request)
    }

    fn actors(&self, request: PageRequest) -> Result<Page<Actor>, StoreError> {
        Store::actors(self, request)
    }

    fn search_movies(&self, query: &MovieQuery) -> Result<Page<Movie>, StoreError> {
        Store::search_movies(self, query)
    }

    fn search_actors(&self, query: &ActorQuery) -> Result<Page<Actor>, StoreError> {
        Store::search_actors(self, query)
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        Store::counts(self)
    }

    fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        Store::audit(self, query)
    }

    fn commit(
        &self,
        writes: Vec<CheckedWrite>,
    ) -> Result<Vec<Result<Committed, Error>>, StoreError> {
        Store::commit(self, writes)
    }

    fn generation(&self) -> Option<u64> {
        Some(Store::generation(self))
    }

    fn reads_block(&self) -> bool {
        // A read of a few rows from the page cache takes microseconds.
        false
    }

    fn prepare_search(&self) -> Result<(), StoreError> {
        Store::prepare_search(self)
    }

    fn export(
        &self,
        each: &mut dyn FnMut(Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // One read transaction: one snapshot for the whole copy, while
        // writers go on committing.
        let txn = self.guard(|| self.read())?;
        self.guard(|| {
            let cast = txn.open_table(CAST)?;
            for row in txn.open_table(MOVIES)?.iter()? {
                let (id, bytes) = row?;
                let id = id.value();
                let actors = super::read::actors_of(&cast, id)?;
                each(Item::Movie(
                    MovieRecord::decode(bytes.value())?.into_movie(id, actors),
                ))?;
            }
            for row in txn.open_table(ACTORS)?.iter()? {
                let (id, bytes) = row?;
                each(Item::Actor(
                    ActorRecord::decode(bytes.value())?.into_actor(id.value()),
                ))?;
            }
            let audit = txn.open_table(AUDIT)?;
            // The entries of both kinds, merged by id.
            let mut movies = audit.range((0, 0, 0)..=(0, u64::MAX, u64::MAX))?.peekable();
            let mut actors = audit.range((1, 0, 0)..=(1, u64::MAX, u64::MAX))?.peekable();
            loop {
                let movie_next = match movies.peek() {
                    Some(Ok((key, _))) => Some(key.value().1),
                    Some(Err(_)) => Some(0),
                    None => None,
                };
                let actor_next = match actors.peek() {
                    Some(Ok((key, _))) => Some(key.value().1),
                    Some(Err(_)) => Some(0),
                    None => None,
                };
                let row = match (movie_next, actor_next) {
                    (None, None) => break,
                    (Some(m), Some(a)) if a < m => actors.next(),
                    (Some(_), _) => movies.next(),
                    (None, Some(_)) => actors.next(),
                };
                let Some(row) = row else { break };
                let (key, bytes) = row?;
                each(Item::Audit(super::entry::decode(
                    key.value().1,
                    bytes.value(),
                )?))?;
            }
            Ok(())
        })
    }

    fn import(
        &self,
        items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
        replace: bool,
    ) -> Result<Counts, StoreError> {
        let imported = self.guard(|| {
            let txn = self.begin_write()?;
            if replace {
                empty(&txn)?;
            } else {
                refuse_unless_empty(&txn)?;
            }
            let counts = fill(&txn, items)?;
            txn.commit()?;
            Ok(counts)
        });
        // What searches and caches hold is of the store before.
        let _ = self.reopen();
        imported
    }
}

/// Removes every record and entry, keeping the schema version.
fn empty(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(MOVIES)?.retain(|_, _| false)?;
    txn.open_table(ACTORS)?.retain(|_, _| false)?;
    txn.open_table(CAST)?.retain(|_, _| false)?;
    txn.open_table(AUDIT)?.retain(|_, _| false)?;
    let mut meta = txn.open_table(META)?;
    for key in [LAST_MOVIE_ID, LAST_ACTOR_ID, LAST_AUDIT_ID] {
        meta.remove(key)?;
    }
    Ok(())
}

fn refuse_unless_empty(txn: &WriteTransaction) -> Result<(), StoreError> {
    let movies = txn.open_table(MOVIES)?.len()?;
    let actors = txn.open_table(ACTORS)?.len()?;
    let audit = txn.open_table(AUDIT)?;
    let entries = audit.range((0, 0, 0)..=(1, u64::MAX, u64::MAX))?.count() as u64;
    if movies + actors + entries > 0 {
        return Err(StoreError::NotEmpty {
            movies,
            actors,
            entries,
        });
    }
    Ok(())
}

/// Writes `items` into the empty tables of `txn`.
fn fill(
    txn: &WriteTransaction,
    items: &mut dyn Iterator<Item = Result<Item, StoreError>>,
) -> Result<Counts, StoreError> {
    let mut movies = txn.open_table(MOVIES)?;
    let mut actors = txn.open_table(ACTORS)?;
    let mut cast = txn.open_table(CAST)?;
    let mut audit = txn.open_table(AUDIT)?;
    let mut check = ImportCheck::default();
    let mut counts = Counts::default();
    for item in items {
        let item = item?;
        check.check(&item)?;
        match item {
            Item::Movie(movie) => {
                let record = MovieRecord {
                    title: movie.title,
                    release: movie.release_date,
                };
                movies.insert(movie.id, record.encode().as_slice())?;
                counts.movies += 1;
            }
            Item::Actor(actor) => {
                let record = ActorRecord {
                    name: actor.name,
                    age: actor.age,
                    gender: actor.gender,
                    movie_id: actor.movie_id,
                };
                actors.insert(actor.id, record.encode().as_slice())?;
                if let Some(movie_id) = actor.movie_id {
                    cast.insert((movie_id, actor.id), ())?;
                }
                counts.actors += 1;
            }
            Item::Audit(entry) => {
                let kind = kind_code(entry.kind);
                audit.insert((kind, entry.id, 0), super::entry::encode(&entry).as_slice())?;
                audit.insert((RECORD_SPACE + kind, entry.record, entry.id), ABOUT)?;
                let movie_space = RECORD_SPACE + kind_code(RecordKind::Movie);
                for movie_id in recast_by(&entry) {
                    audit.insert((movie_space, movie_id, entry.id), RECAST)?;
                }
            }
        }
    }
    let mut meta = txn.open_table(META)?;
    meta.insert(LAST_MOVIE_ID, check.last.movie)?;
    meta.insert(LAST_ACTOR_ID, check.last.actor)?;
    meta.insert(LAST_AUDIT_ID, check.last.audit)?;
    Ok(counts)
}
